/* fixed: fixed-size malloc/free churn over a working set. WS blocks of
 * SIZE bytes stay live; each round frees up to BATCH of them, picked at
 * random, and allocates their replacements. A batch larger than one makes
 * the allocator hand out blocks other than the one just freed, and lets a
 * thread cache overflow and refill as real programs make it do. Every new
 * block has its first and last byte written. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "SIZE PAIRS WS [BATCH [SEED]]   (BATCH 64 or WS if less, SEED 42)"

static char *new_block(size_t size, uint64_t tag)
{
	char *p = malloc(size);

	if (!p) {
		fprintf(stderr, "fixed: malloc(%zu) failed\n", size);
		exit(1);
	}
	p[0] = (char)tag;
	p[size - 1] = (char)tag;
	return p;
}

int main(int argc, char **argv)
{
	uint64_t size, pairs, ws, batch = 64, done = 0;
	uint32_t seed = 42, state;
	char **slots;
	uint32_t *freed;
	double t0, secs;

	args_init("fixed", USAGE);
	if (argc < 4 || argc > 6) args_fail("expected 3 to 5 arguments, got %d", argc - 1);
	size = args_u64("SIZE", argv[1], 1, UINT64_C(1) << 30);
	pairs = args_u64("PAIRS", argv[2], 1, UINT64_C(1) << 48);
	ws = args_u64("WS", argv[3], 1, UINT64_C(1) << 28);
	if (argc >= 5) {
		batch = args_u64("BATCH", argv[4], 1, UINT64_C(1) << 20);
		if (batch > ws) args_fail("BATCH (%s) must not exceed WS (%s)", argv[4], argv[3]);
	} else if (batch > ws) {
		batch = ws; /* the default, for a small working set */
	}
	if (argc == 6) seed = (uint32_t)args_u64("SEED", argv[5], 1, UINT32_MAX);

	slots = measure_array(ws * sizeof(*slots));
	freed = measure_array(batch * sizeof(*freed));
	state = seed;

	/* Filling the working set is set-up, not churn: untimed. */
	for (uint64_t s = 0; s < ws; s++)
		slots[s] = new_block(size, s);

	t0 = measure_now();
	while (done < pairs) {
		uint64_t want = pairs - done < batch ? pairs - done : batch;
		uint32_t n = 0;

		/* Draws may repeat a slot; a repeat is skipped, so a round
		 * frees slightly fewer than BATCH and the count stays exact. */
		for (uint64_t k = 0; k < want; k++) {
			uint32_t s = xorshift32(&state) % (uint32_t)ws;

			if (!slots[s]) continue;
			free(slots[s]);
			slots[s] = NULL;
			freed[n++] = s;
		}
		for (uint32_t k = 0; k < n; k++)
			slots[freed[k]] = new_block(size, done + k);
		done += n;
	}
	secs = measure_now() - t0;

	for (uint64_t s = 0; s < ws; s++)
		free(slots[s]);
	measure_array_free(freed, batch * sizeof(*freed));
	measure_array_free(slots, ws * sizeof(*slots));

	/* ops = malloc and free calls, as in random_mixed. */
	printf("fixed size=%" PRIu64 " pairs=%" PRIu64 " ws=%" PRIu64 " batch=%" PRIu64
	       " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       size, pairs, ws, batch, seed, secs > 0 ? 2.0 * (double)pairs / secs : 0.0, secs,
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
