/* reuse: alloc-all / free-all / alloc-again. Round 1 writes MB megabytes
 * of SIZE-byte blocks, so every page really faults; all blocks are then
 * freed in ORDER and the same amount allocated and written again. An
 * allocator that reuses what it was given back faults little in round 2;
 * one that returned the memory to the kernel (or cannot find it again)
 * faults about as much as in round 1. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "MB SIZE ORDER [SEED]   (ORDER: in-order|in|fifo, reverse|lifo, random)"

enum order { ORDER_IN, ORDER_REVERSE, ORDER_RANDOM };

static const char *const order_names[] = {"in-order", "reverse", "random"};

static enum order parse_order(const char *s)
{
	static const struct {
		const char *alias;
		enum order order;
	} aliases[] = {
	    {"in-order", ORDER_IN},     {"in", ORDER_IN},        {"fifo", ORDER_IN},
	    {"reverse", ORDER_REVERSE}, {"lifo", ORDER_REVERSE}, {"random", ORDER_RANDOM},
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(s, aliases[i].alias) == 0) return aliases[i].order;
	args_fail("ORDER must be in-order, reverse or random, got '%s'", s);
}

/* Allocate and fully write N blocks; returns the minor faults it took. */
static uint64_t alloc_round(int round, char **ptrs, size_t n, size_t size)
{
	uint64_t f0 = measure_minflt();
	double t0 = measure_now();

	for (size_t i = 0; i < n; i++) {
		char *p = malloc(size);

		if (!p) {
			fprintf(stderr, "reuse: round %d: malloc(%zu) failed after %zu blocks\n",
			        round, size, i);
			exit(1);
		}
		memset(p, 0x5a, size);
		ptrs[i] = p;
	}
	double secs = measure_now() - t0;
	uint64_t faults = measure_minflt() - f0;

	printf("reuse round=%d phase=alloc blocks=%zu minflt=%" PRIu64 " seconds=%.6f\n", round, n,
	       faults, secs);
	return faults;
}

/* Free in ORDER. Random order shuffles the pointer array in place first
 * (outside the measurement), then frees front to back. */
static void free_round(int round, char **ptrs, size_t n, enum order order, uint32_t *rng)
{
	if (order == ORDER_RANDOM) {
		for (size_t i = n - 1; i > 0; i--) {
			/* 64 bits, since n may exceed 2^32; in two statements
			 * because the order of two calls in one expression is
			 * unspecified, and a seed must name one shuffle. */
			uint64_t r = (uint64_t)xorshift32(rng) << 32;

			r |= xorshift32(rng);
			size_t j = r % (i + 1);
			char *tmp = ptrs[i];

			ptrs[i] = ptrs[j];
			ptrs[j] = tmp;
		}
	}

	uint64_t f0 = measure_minflt();
	double t0 = measure_now();

	if (order == ORDER_REVERSE)
		for (size_t i = n; i-- > 0;)
			free(ptrs[i]);
	else
		for (size_t i = 0; i < n; i++)
			free(ptrs[i]);
	double secs = measure_now() - t0;

	printf("reuse round=%d phase=free order=%s minflt=%" PRIu64 " seconds=%.6f\n", round,
	       order_names[order], measure_minflt() - f0, secs);
}

int main(int argc, char **argv)
{
	uint64_t mb, size, n, r1, r2;
	uint32_t rng = 42;
	enum order order;
	char **ptrs;

	args_init("reuse", USAGE);
	if (argc != 4 && argc != 5) args_fail("expected 3 or 4 arguments, got %d", argc - 1);
	mb = args_u64("MB", argv[1], 1, UINT64_C(1) << 16);
	size = args_u64("SIZE", argv[2], 1, UINT64_C(1) << 30);
	order = parse_order(argv[3]);
	if (argc == 5) rng = (uint32_t)args_u64("SEED", argv[4], 1, UINT32_MAX);
	n = (mb << 20) / size;
	if (n == 0) args_fail("SIZE (%s) is larger than MB (%s) megabytes", argv[2], argv[1]);

	/* mmap'd and pre-touched: the array's own faults stay out of
	 * round 1. */
	ptrs = measure_array(n * sizeof(*ptrs));

	r1 = alloc_round(1, ptrs, n, size);
	free_round(1, ptrs, n, order, &rng);
	r2 = alloc_round(2, ptrs, n, size);
	for (size_t i = 0; i < n; i++)
		free(ptrs[i]);
	measure_array_free(ptrs, n * sizeof(*ptrs));

	/* Lower is better: 0% means round 2 was served entirely from memory
	 * already faulted in by round 1. */
	printf("reuse mb=%" PRIu64 " size=%" PRIu64 " order=%s blocks=%" PRIu64
	       " round1_minflt=%" PRIu64 " round2_minflt=%" PRIu64 " ratio_pct=%.2f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       mb, size, order_names[order], n, r1, r2, 100.0 * (double)r2 / (double)(r1 ? r1 : 1),
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
