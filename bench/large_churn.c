/* large_churn: large-block malloc/touch/free. A working set of WS slots
 * as in random_mixed: each op picks a slot and frees its block if it has
 * one, else allocates MIN..MAX bytes (64 KiB to 8 MiB by default) and
 * writes one byte in every page of it. Sizes are log-uniform (each
 * power-of-two band equally likely, uniform inside a band), as buffer
 * sizes in real programs are. Whether an allocator keeps freed spans
 * mapped or hands them back to the kernel shows in both the time and the
 * minor faults. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "OPS WS [MIN MAX [SEED]]   (65536 8388608, SEED 42 by default)"

int main(int argc, char **argv)
{
	uint64_t ops, ws, min = UINT64_C(64) << 10, max = UINT64_C(8) << 20, bands;
	uint32_t seed = 42, state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char **slots;
	double t0, secs;

	args_init("large_churn", USAGE);
	if (argc != 3 && argc != 5 && argc != 6)
		args_fail("expected 2, 4 or 5 arguments, got %d", argc - 1);
	ops = args_u64("OPS", argv[1], 1, UINT64_C(1) << 40);
	ws = args_u64("WS", argv[2], 1, UINT64_C(1) << 24);
	if (argc >= 5) {
		min = args_u64("MIN", argv[3], 1, UINT64_C(1) << 40);
		max = args_u64("MAX", argv[4], 1, UINT64_C(1) << 40);
		if (max < min) args_fail("MAX (%s) must be >= MIN (%s)", argv[4], argv[3]);
	}
	if (argc == 6) seed = (uint32_t)args_u64("SEED", argv[5], 1, UINT32_MAX);
	/* Bands [MIN, 2 MIN), [2 MIN, 4 MIN), ..., the last one ending at
	 * MAX; at least one. The cap keeps MIN << bands from overflowing. */
	bands = 1;
	while (bands < 23 && (min << bands) < max)
		bands++;

	slots = measure_array(ws * sizeof(*slots));
	state = seed;

	t0 = measure_now();
	for (uint64_t i = 0; i < ops; i++) {
		uint32_t s = xorshift32(&state) % (uint32_t)ws;

		if (slots[s]) {
			free(slots[s]);
			slots[s] = NULL;
			continue;
		}
		uint64_t lo = min << (xorshift32(&state) % bands);
		uint64_t hi = 2 * lo - 1 < max ? 2 * lo - 1 : max;
		size_t n = (size_t)(lo + xorshift32(&state) % (hi - lo + 1));
		char *p = malloc(n);

		if (!p) {
			fprintf(stderr, "large_churn: malloc(%zu) failed\n", n);
			return 1;
		}
		/* One write per page: the program uses the whole block, so an
		 * allocator that returned the memory pays a fault per page. */
		for (size_t off = 0; off < n; off += page)
			p[off] = (char)i;
		p[n - 1] = (char)i;
		slots[s] = p;
	}
	secs = measure_now() - t0;

	for (uint64_t s = 0; s < ws; s++)
		free(slots[s]);
	measure_array_free(slots, ws * sizeof(*slots));

	/* ops = malloc and free calls, as in random_mixed. */
	printf("large_churn ops=%" PRIu64 " ws=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64
	       " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       ops, ws, min, max, seed, secs > 0 ? (double)ops / secs : 0.0, secs, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
