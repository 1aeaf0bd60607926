/* random_mixed: the seed's mixed-size workload. A working set of WS slots;
 * each cycle picks a slot at random and frees it if occupied, otherwise
 * fills it with malloc(MIN..MAX) and touches the first byte. Plain malloc
 * and free, so any allocator can be swapped in with LD_PRELOAD. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "CYCLES WS SEED [MIN MAX]"

int main(int argc, char **argv)
{
	uint64_t cycles, ws, min = 16, max = 1039;
	uint32_t seed, state, span;
	char **slots;
	double t0, secs;

	args_init("random_mixed", USAGE);
	if (argc == 5) args_fail("MIN and MAX must be given together");
	if (argc != 4 && argc != 6) args_fail("expected 3 or 5 arguments, got %d", argc - 1);
	cycles = args_u64("CYCLES", argv[1], 1, UINT64_C(1) << 48);
	ws = args_u64("WS", argv[2], 1, UINT64_C(1) << 28);
	/* 0 is the one state xorshift32 never leaves. */
	seed = (uint32_t)args_u64("SEED", argv[3], 1, UINT32_MAX);
	if (argc == 6) {
		/* MIN >= 1 because the first byte is touched. */
		min = args_u64("MIN", argv[4], 1, UINT64_C(1) << 30);
		max = args_u64("MAX", argv[5], 1, UINT64_C(1) << 30);
		if (max < min) args_fail("MAX (%s) must be >= MIN (%s)", argv[5], argv[4]);
	}
	span = (uint32_t)(max - min + 1);

	slots = measure_array(ws * sizeof(*slots));
	state = seed;

	t0 = measure_now();
	for (uint64_t i = 0; i < cycles; i++) {
		uint32_t slot = xorshift32(&state) % (uint32_t)ws;

		if (slots[slot]) {
			free(slots[slot]);
			slots[slot] = NULL;
			continue;
		}
		/* A second draw for the size: reusing the slot's draw would
		 * tie each slot to one size whenever WS and the span share
		 * factors, and make reuse unrealistically easy. */
		size_t n = min + xorshift32(&state) % span;
		char *p = malloc(n);

		if (!p) {
			fprintf(stderr, "random_mixed: malloc(%zu) failed\n", n);
			return 1;
		}
		p[0] = (char)i;
		slots[slot] = p;
	}
	secs = measure_now() - t0;

	for (uint64_t s = 0; s < ws; s++)
		free(slots[s]);
	measure_array_free(slots, ws * sizeof(*slots));

	printf("random_mixed cycles=%" PRIu64 " ws=%" PRIu64 " seed=%" PRIu32 " min=%" PRIu64
	       " max=%" PRIu64 " ops_per_sec=%.0f"
	       " seconds=%.6f minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       cycles, ws, seed, min, max, secs > 0 ? (double)cycles / secs : 0.0, secs,
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
