/* Large blocks from several threads at once: malloc, posix_memalign,
 * realloc (grown and shrunk, in place where the page heap can, by mremap
 * for blocks of their own mapping) and free of 32 KiB to 8 MiB blocks,
 * now and then 16-24 MiB ones, with a third of the frees done by another
 * thread through a shared ring. Each block carries its serial at every
 * 512th byte, checked before every realloc and free,
 * so a span handed out twice, merged while live, or moved without its
 * contents is caught. malloc_usable_size must cover the request.
 *
 * usage: large_stress [ROUNDS] [THREADS]      exit 0 = clean, 1 = mismatch */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "linked_check.h"
#include "../bench/xorshift.h"

enum { SLOTS = 24, RING = 64, MAX_THREADS = 16, STRIDE = 512 };

struct block {
	uint8_t *p;
	size_t n;
	uint32_t serial;
};

static struct {
	pthread_mutex_t lock;
	struct block b[RING];
	unsigned head, count;
} ring = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_int failed;
static atomic_uint serials;
static unsigned rounds = 2000;

/* The serial at every STRIDE-th byte whose 4 bytes fit below n, from the
 * first such position that does not fit below from (what a realloc kept). */
static void stamp(const struct block *b, size_t from)
{
	for (size_t i = 0; i + sizeof b->serial <= b->n; i += STRIDE)
		if (i + sizeof b->serial > from) memcpy(b->p + i, &b->serial, sizeof b->serial);
}

/* The stamps that fit below upto. */
static int check(const struct block *b, size_t upto, const char *when)
{
	for (size_t i = 0; i + sizeof b->serial <= upto; i += STRIDE) {
		uint32_t v;
		memcpy(&v, b->p + i, sizeof v);
		if (v != b->serial) {
			fprintf(stderr,
			        "MISMATCH %s: block %p (%zu bytes, serial %u) at byte %zu: %u\n",
			        when, (void *)b->p, b->n, b->serial, i, v);
			atomic_store(&failed, 1);
			return 0;
		}
	}
	return 1;
}

static size_t random_size(uint32_t *rng)
{
	uint32_t r = xorshift32(rng);
	if (r % 64 == 0) return ((size_t)16 << 20) + (r >> 8) % ((size_t)8 << 20);
	unsigned band = 15 + (r >> 8) % 8; /* 32 KiB .. 8 MiB, log-uniform */
	return ((size_t)1 << band) + (xorshift32(rng) % ((size_t)1 << band));
}

static int fresh(struct block *b, uint32_t *rng)
{
	b->n = random_size(rng);
	uint32_t r = xorshift32(rng);
	if (r % 8 == 0) {
		void *p = NULL;
		size_t align = (size_t)4096 << (r >> 8) % 10; /* 4 KiB .. 2 MiB */
		if (posix_memalign(&p, align, b->n)) p = NULL;
		if (p && (uintptr_t)p % align) {
			fprintf(stderr, "posix_memalign(%zu, %zu) = %p\n", align, b->n, p);
			atomic_store(&failed, 1);
		}
		b->p = p;
	} else {
		b->p = malloc(b->n);
	}
	if (!b->p) {
		fprintf(stderr, "allocation of %zu bytes failed\n", b->n);
		atomic_store(&failed, 1);
		return 0;
	}
	if (malloc_usable_size(b->p) < b->n) {
		fprintf(stderr, "usable %zu < %zu\n", malloc_usable_size(b->p), b->n);
		atomic_store(&failed, 1);
	}
	b->serial = atomic_fetch_add(&serials, 1) + 1;
	stamp(b, 0);
	return 1;
}

static void release(struct block *b)
{
	check(b, b->n, "before free");
	free(b->p);
	b->p = NULL;
}

static void resize(struct block *b, uint32_t *rng)
{
	uint32_t r = xorshift32(rng);
	size_t n = r % 2 ? b->n + b->n / 2 + (r >> 8) % 65536 : b->n / 2 + 32768;
	check(b, b->n, "before realloc");
	uint8_t *q = realloc(b->p, n);
	if (!q) {
		fprintf(stderr, "realloc(%zu) failed\n", n);
		atomic_store(&failed, 1);
		return;
	}
	size_t keep = n < b->n ? n : b->n;
	struct block nb = {q, n, b->serial};
	check(&nb, keep, "after realloc");
	*b = nb;
	stamp(b, keep);
}

static void *worker(void *arg)
{
	uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	struct block slot[SLOTS] = {{0}};
	for (unsigned op = 0; op < rounds && !atomic_load(&failed); op++) {
		struct block *b = &slot[xorshift32(&rng) % SLOTS];
		uint32_t r = xorshift32(&rng);
		if (!b->p) {
			struct block got = {0};
			pthread_mutex_lock(&ring.lock);
			if (ring.count && r % 3 == 0) {
				got = ring.b[ring.head];
				ring.head = (ring.head + 1) % RING;
				ring.count--;
			}
			pthread_mutex_unlock(&ring.lock);
			if (got.p)
				release(&got); /* another thread's block */
			else
				fresh(b, &rng);
		} else if (r % 4 == 0) {
			resize(b, &rng);
		} else if (r % 3 == 0) {
			pthread_mutex_lock(&ring.lock);
			int queued = ring.count < RING;
			if (queued) {
				ring.b[(ring.head + ring.count) % RING] = *b;
				ring.count++;
			}
			pthread_mutex_unlock(&ring.lock);
			if (!queued) release(b);
			b->p = NULL;
		} else {
			release(b);
		}
	}
	for (unsigned i = 0; i < SLOTS; i++)
		if (slot[i].p) release(&slot[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	expect_hakmem_malloc();
	unsigned threads = 4;
	if (argc > 1) rounds = (unsigned)strtoul(argv[1], NULL, 10);
	if (argc > 2) threads = (unsigned)strtoul(argv[2], NULL, 10);
	if (!rounds || !threads || threads > MAX_THREADS) {
		fprintf(stderr, "usage: large_stress [ROUNDS >= 1] [THREADS 1..%d]\n", MAX_THREADS);
		return 2;
	}
	pthread_t t[MAX_THREADS];
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (unsigned i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	while (ring.count) {
		release(&ring.b[ring.head]);
		ring.head = (ring.head + 1) % RING;
		ring.count--;
	}
	if (atomic_load(&failed)) return 1;
	printf("large_stress: %u threads x %u operations, %u blocks, clean\n", threads, rounds,
	       atomic_load(&serials));
	return 0;
}
