/* xorshift32: tiny, fast and identical on every platform, so a seed names
 * the same workload whichever allocator is preloaded. */
#ifndef HAKMEM_BENCH_XORSHIFT_H
#define HAKMEM_BENCH_XORSHIFT_H

#include <stdint.h>

/* The state must never be 0: xorshift maps 0 to 0 forever. */
static inline uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

#endif
