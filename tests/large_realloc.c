/* Large realloc through the malloc API, under each library and setting:
 * growth in place into a free neighbour and into a region's untouched
 * end, growth down over the free span before a block (when freed spans
 * stay resident), the room a moved block gets (growth by small steps
 * copies a logarithmic number of times, and buffers growing in turns copy
 * less than twice their final size), mremap growth of blocks with a
 * mapping of their own, and the POSIX edges: realloc(NULL, n),
 * realloc(p, 0), a failed realloc (NULL, ENOMEM, the block intact), and
 * 16-byte alignment of every result.
 *
 * usage: large_realloc      exit 0 = clean, 1 = a check failed */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)

static int failed;

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "large_realloc:%d: ", __LINE__);                           \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failed = 1;                                                                \
		}                                                                                  \
	} while (0)

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 251)
		p[i] = (uint8_t)(i / 251 * 7 + seed);
}

static int intact(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 251)
		if (p[i] != (uint8_t)(i / 251 * 7 + seed)) {
			fprintf(stderr, "large_realloc: byte %zu of %zu is %u\n", i, n, p[i]);
			return 0;
		}
	return 1;
}

/* realloc that must succeed: 16-aligned, usable, contents kept. */
static uint8_t *grow(uint8_t *p, size_t old, size_t n, unsigned seed)
{
	uint8_t *q = realloc(p, n);
	EXPECT(q != NULL, "realloc(%zu -> %zu) failed", old, n);
	if (!q) exit(1);
	EXPECT((uintptr_t)q % 16 == 0, "realloc(%zu -> %zu) = %p, not 16-aligned", old, n,
	       (void *)q);
	EXPECT(malloc_usable_size(q) >= n, "realloc(%zu -> %zu): usable %zu", old, n,
	       malloc_usable_size(q));
	EXPECT(intact(q, old < n ? old : n, seed), "realloc(%zu -> %zu) lost contents", old, n);
	return q;
}

static void in_place_into_free_neighbours(void)
{
	uint8_t *a = malloc(200000), *b = malloc(200000), *g = malloc(100000);
	fill(a, 200000, 1);
	free(b);
	uint8_t *q = grow(a, 200000, 390000, 1);
	EXPECT(q == a, "grew into the free neighbour: %p -> %p, want in place", (void *)a,
	       (void *)q);
	/* The last span taken is followed by the region's untouched pages. */
	uint8_t *t = malloc(100000);
	fill(t, 100000, 2);
	uint8_t *t2 = grow(t, 100000, 8 * MIB, 2);
	EXPECT(t2 == t, "grew into the region's end: %p -> %p, want in place", (void *)t,
	       (void *)t2);
	t2[8 * MIB - 1] = 3;
	free(t2);
	free(q);
	free(g);
}

static void down_over_a_free_span(int cache_on)
{
	uint8_t *x = malloc(300000), *y = malloc(300000), *z = malloc(100000);
	fill(y, 300000, 4);
	free(x);
	uint8_t *q = grow(y, 300000, 400000, 4);
	/* With HAKMEM_LARGE_CACHE_MB=0 the freed span is given back at once,
	 * and a released span is not taken (its pages would fault). */
	if (cache_on)
		EXPECT(q == x, "grew down over the free span before: %p -> %p, want %p", (void *)y,
		       (void *)q, (void *)x);
	fill(q, 400000, 5);
	q = grow(q, 400000, 450000, 5);
	free(q);
	free(z);
}

static void steps_copy_rarely(void)
{
	uint8_t *buf[2] = {malloc(40000), malloc(40000)};
	fill(buf[0], 40000, 6);
	fill(buf[1], 40000, 7);
	size_t n = 40000;
	unsigned moves = 0, steps = 0;
	for (; n + 8192 <= 4 * MIB; n += 8192)
		for (unsigned i = 0; i < 2; i++) {
			uint8_t *q = grow(buf[i], n, n + 8192, 6 + i);
			moves += q != buf[i];
			steps++;
			buf[i] = q;
			fill(q, n + 8192, 6 + i);
		}
	EXPECT(moves <= 60, "%u of %u growth steps moved the buffer", moves, steps);
	free(buf[0]);
	free(buf[1]);
}

/* Eight buffers growing in turns by 8 KiB, each in the others' way: a
 * moved buffer gets twice its span, so all the copies of one add up to
 * less than twice its final size (with a quarter more room they came to
 * nearly five times). */
static void turns_copy_little(void)
{
	enum { N = 8 };
	uint8_t *buf[N];
	size_t n = 40000, copied = 0;
	for (unsigned i = 0; i < N; i++) {
		buf[i] = malloc(n);
		fill(buf[i], n, 11 + i);
	}
	for (; n + 8192 <= 4 * MIB; n += 8192)
		for (unsigned i = 0; i < N; i++) {
			uint8_t *q = grow(buf[i], n, n + 8192, 11 + i);
			if (q != buf[i]) copied += n;
			buf[i] = q;
			fill(q, n + 8192, 11 + i);
		}
	EXPECT(copied < 2 * N * n, "%zu MiB copied growing %u buffers to %zu KiB", copied / MIB, N,
	       n / 1024);
	for (unsigned i = 0; i < N; i++)
		free(buf[i]);
}

static void own_mappings_by_mremap(void)
{
	uint8_t *m = malloc(20 * MIB);
	EXPECT(m != NULL, "malloc(20 MiB)");
	if (!m) return;
	fill(m, 20 * MIB, 8);
	m = grow(m, 20 * MIB, 40 * MIB, 8);
	m[40 * MIB - 1] = 9;
	m = grow(m, 20 * MIB, 24 * MIB, 8);
	free(m);
}

static void posix_edges(void)
{
	uint8_t *p = realloc(NULL, 100000);
	EXPECT(p && (uintptr_t)p % 16 == 0, "realloc(NULL, 100000) = %p", (void *)p);
	if (!p) return;
	fill(p, 100000, 10);
	volatile size_t huge = SIZE_MAX - 4096; /* no compile-time size warning */
	errno = 0;
	void *q = realloc(p, huge);
	EXPECT(q == NULL && errno == ENOMEM, "realloc(p, SIZE_MAX - 4096) = %p, errno %d", q,
	       errno);
	EXPECT(intact(p, 100000, 10), "a failed realloc changed the block");
	p = grow(p, 100000, 100, 10); /* down to a slab class */
	p = grow(p, 100, 70000, 10);  /* and back to a large span */
	EXPECT(realloc(p, 0) == NULL, "realloc(p, 0) != NULL");
}

int main(void)
{
	const char *cache = getenv("HAKMEM_LARGE_CACHE_MB");
	in_place_into_free_neighbours();
	down_over_a_free_span(!cache || strcmp(cache, "0") != 0);
	steps_copy_rarely();
	turns_copy_little();
	own_mappings_by_mremap();
	posix_edges();
	if (failed) return 1;
	printf("large_realloc: clean\n");
	return 0;
}
