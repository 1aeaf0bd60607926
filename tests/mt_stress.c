/* Multi-thread stress: NTHREADS threads do random malloc/realloc/free over
 * mixed sizes for a bounded time. Every block carries a pattern derived
 * from its address and size, verified before each realloc and free, so a
 * block handed out twice or scribbled on by the allocator is caught.
 * About half of the releases go through a shared ring and are freed by
 * whichever thread pops them: cross-thread frees, producer/consumer style.
 *
 * usage: mt_stress [SECONDS] [THREADS]      exit 0 = clean, 1 = mismatch */
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
#include <time.h>

#include "hakmem.h"
#include "linked_check.h"
#include "../bench/xorshift.h"

enum { SLOTS = 2048, RING = 4096, MAX_THREADS = 64 };

struct block {
	uint8_t *p;
	size_t n;
	int owner; /* thread that allocated it */
};

/* The shared ring. A mutex is fine here: the allocator is under test,
 * not the ring. */
static struct {
	pthread_mutex_t lock;
	struct block b[RING];
	size_t head, count;
} ring = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_int failed;
static atomic_int stop;
static atomic_ulong total_ops, cross_frees, local_frees;

/* Addresses travel as integers: the old address of a realloc'd block
 * is only a seed, never dereferenced. */
static uint64_t block_seed(uintptr_t p, size_t n)
{
	uint64_t x = p ^ ((uint64_t)n << 40);
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

/* Bytes of the pattern cycle through the seed, so neighbouring bytes
 * differ and a block's pattern is unlike any other block's. */
static void fill(uint8_t *p, size_t n)
{
	uint64_t s = block_seed((uintptr_t)p, n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(s >> ((i & 7) * 8)) ^ (uint8_t)(i >> 3);
}

/* Checks the first `len` bytes against the pattern that `fill(p0, n0)`
 * wrote (p0 may be a block's old address after a realloc). */
static int verify(const uint8_t *p, size_t len, uintptr_t p0, size_t n0, const char *when)
{
	uint64_t s = block_seed(p0, n0);
	for (size_t i = 0; i < len; i++) {
		uint8_t want = (uint8_t)(s >> ((i & 7) * 8)) ^ (uint8_t)(i >> 3);
		if (p[i] != want) {
			fprintf(
			    stderr,
			    "MISMATCH %s: block %p (size %zu, written at %p size %zu) byte %zu: "
			    "found 0x%02x want 0x%02x\n",
			    when, (void *)p, len, (void *)p0, n0, i, p[i], want);
			atomic_store(&failed, 1);
			atomic_store(&stop, 1);
			return -1;
		}
	}
	return 0;
}

/* Mostly Tiny, some Mid, a few Large: the mix the allocator sees. */
static size_t random_size(uint32_t *rng)
{
	uint32_t r = xorshift32(rng);
	switch (r % 100) {
	case 0 ... 69:
		return (r >> 8) % 1040;
	case 70 ... 94:
		return 1040 + (r >> 8) % (32784 - 1040);
	default:
		return 32784 + (r >> 8) % (512 * 1024);
	}
}

/* One block in sixteen is aligned (16 B to 4 KiB), so aligned pointers
 * are freed, realloc'd and passed across threads too. */
static uint8_t *new_block(size_t n, uint32_t r)
{
	void *p = NULL;
	if (r % 16 == 0) {
		if (posix_memalign(&p, (size_t)16 << (r >> 4) % 9, n)) p = NULL;
	} else {
		p = malloc(n);
	}
	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", n);
		atomic_store(&failed, 1);
		atomic_store(&stop, 1);
		return NULL;
	}
	if (malloc_usable_size(p) < n) {
		fprintf(stderr, "malloc(%zu) = %p: usable %zu\n", n, p, malloc_usable_size(p));
		atomic_store(&failed, 1);
	}
	fill(p, n);
	return p;
}

static void release(struct block b, int self)
{
	int local = b.owner == self;
	if (verify(b.p, b.n, (uintptr_t)b.p, b.n,
	           local ? "before local free" : "before cross-thread free") == 0)
		free(b.p);
	atomic_fetch_add_explicit(local ? &local_frees : &cross_frees, 1, memory_order_relaxed);
}

/* Hand a block to the ring; when the ring is full, free it here. */
static void give(struct block b, int self)
{
	pthread_mutex_lock(&ring.lock);
	if (ring.count < RING) {
		ring.b[(ring.head + ring.count++) % RING] = b;
		pthread_mutex_unlock(&ring.lock);
		return;
	}
	pthread_mutex_unlock(&ring.lock);
	release(b, self);
}

/* Pops the oldest block once more than `keep` are queued: a backlog
 * makes the block popped most likely another thread's. */
static int take(struct block *out, size_t keep)
{
	pthread_mutex_lock(&ring.lock);
	int ok = ring.count > keep;
	if (ok) {
		*out = ring.b[ring.head];
		ring.head = (ring.head + 1) % RING;
		ring.count--;
	}
	pthread_mutex_unlock(&ring.lock);
	return ok;
}

static void *worker(void *arg)
{
	int self = (int)(uintptr_t)arg;
	uint32_t rng = (uint32_t)self * 2654435761u + 1;
	struct block *slot = calloc(SLOTS, sizeof(*slot));
	unsigned long ops = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct block *b = &slot[xorshift32(&rng) % SLOTS];
		uint32_t r = xorshift32(&rng);

		if (!b->p) {
			b->n = random_size(&rng);
			b->p = new_block(b->n, r);
			b->owner = self;
		} else if (r % 8 < 2) {
			/* realloc: the common prefix must survive the move. Not to
			 * 0, which would free the block (glibc semantics). */
			size_t n = random_size(&rng) | 1;
			uintptr_t old = (uintptr_t)b->p;
			if (verify(b->p, b->n, old, b->n, "before realloc")) break;
			uint8_t *q = realloc(b->p, n);
			if (!q) {
				fprintf(stderr, "realloc(%zu) failed\n", n);
				atomic_store(&failed, 1);
				break;
			}
			if (verify(q, n < b->n ? n : b->n, old, b->n, "after realloc")) break;
			fill(q, n);
			b->owner = self;
			b->p = q;
			b->n = n;
		} else if (r % 8 < 4) {
			release(*b, self);
			b->p = NULL;
		} else {
			give(*b, self);
			b->p = NULL;
		}

		/* Consume from the ring at the rate we produce into it. */
		struct block t;
		if (r % 8 >= 4 && take(&t, RING / 4)) release(t, self);
		ops++;
	}

	for (size_t i = 0; i < SLOTS; i++)
		if (slot[i].p) release(slot[i], self);
	free(slot);
	atomic_fetch_add(&total_ops, ops);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t th[MAX_THREADS];

	expect_hakmem_malloc();
	if (nthreads < 1 || nthreads > MAX_THREADS) nthreads = 4;

	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1))) {
			perror("pthread_create");
			return 1;
		}

	double end = now() + seconds;
	while (!atomic_load(&stop) && now() < end) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);

	struct block t;
	while (take(&t, 0))
		release(t, 0);

	long problems = hak_heap_check();
	printf("mt_stress: %d threads, %.1f s, %lu ops, %lu local frees, %lu cross-thread frees, "
	       "heap_check %ld\n",
	       nthreads, seconds, (unsigned long)total_ops, (unsigned long)local_frees,
	       (unsigned long)cross_frees, problems);
	if (problems) {
		fprintf(stderr, "hak_heap_check() found %ld problems\n", problems);
		return 1;
	}
	if (atomic_load(&failed)) return 1;
	/* The test lost its point if almost no frees crossed threads. On a
	 * loaded machine (TSan, 2 cores) one thread can run alone for a time
	 * slice and take its own blocks back, so 1 in 20 is the floor: on a
	 * quiet machine about 1 in 3 cross. */
	if (cross_frees < local_frees / 20) {
		fprintf(stderr, "too few cross-thread frees (%lu of %lu)\n",
		        (unsigned long)cross_frees, (unsigned long)(cross_frees + local_frees));
		return 1;
	}
	return 0;
}
