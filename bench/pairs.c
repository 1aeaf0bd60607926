/* pairs: N malloc(SIZE)+free pairs of one block, the allocator's fast path
 * and nothing else. The loop itself is a handful of instructions, so
 * under callgrind (see callgrind_pairs) the instructions of N and 2N
 * pairs differ by N times the allocator's cost of one pair. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "measure.h"

#define USAGE "N SIZE"

int main(int argc, char **argv)
{
	uint64_t n, size;
	double t0, secs;

	args_init("pairs", USAGE);
	if (argc != 3) args_fail("expected 2 arguments, got %d", argc - 1);
	n = args_u64("N", argv[1], 1, UINT64_C(1) << 40);
	size = args_u64("SIZE", argv[2], 1, UINT64_C(1) << 30);

	t0 = measure_now();
	for (uint64_t i = 0; i < n; i++) {
		/* volatile: the block is really used, and each pair really
		 * happens (with -fno-builtin-malloc the compiler could not
		 * drop it anyway). */
		volatile char *p = malloc(size);

		if (!p) {
			fprintf(stderr, "pairs: malloc(%" PRIu64 ") failed\n", size);
			return 1;
		}
		p[0] = 1;
		free((void *)p);
	}
	secs = measure_now() - t0;

	/* ops = malloc and free calls, as everywhere in bench/. */
	printf("pairs n=%" PRIu64 " size=%" PRIu64 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       n, size, secs > 0 ? 2.0 * (double)n / secs : 0.0, secs, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
