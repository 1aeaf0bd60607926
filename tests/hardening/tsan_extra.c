/* ThreadSanitizer workload for what mt_stress and thread_churn leave
 * out: hak_heap_check(), hak_stats_get() and hak_thread_flush() while
 * other threads allocate; large blocks grown by realloc on one thread and
 * freed on another; aligned blocks freed remotely; threads that exit while
 * their blocks are still being freed elsewhere (their slabs are orphaned).
 * Built against the hak_* API of a TSan-instrumented allocator.
 *
 * usage: tsan_extra [ROUNDS] [THREADS]     exit 0 = clean */
#include "hakmem.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../bench/xorshift.h"

#define PASS 64

static struct {
	pthread_mutex_t lock;
	void *p[PASS * 16];
	size_t n[PASS * 16];
	unsigned count;
} box = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_int stop, failed;

static void put(void *p, size_t n)
{
	pthread_mutex_lock(&box.lock);
	if (box.count < PASS * 16) {
		box.p[box.count] = p;
		box.n[box.count++] = n;
		p = NULL;
	}
	pthread_mutex_unlock(&box.lock);
	if (p) hak_free(p);
}

static void *get(size_t *n)
{
	void *p = NULL;
	pthread_mutex_lock(&box.lock);
	if (box.count) {
		p = box.p[--box.count];
		*n = box.n[box.count];
	}
	pthread_mutex_unlock(&box.lock);
	return p;
}

static void check_fill(uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i += 61)
		if (p[i] != v) {
			fprintf(stderr, "FAIL: block %p byte %zu is 0x%02x, want 0x%02x\n",
			        (void *)p, i, p[i], v);
			atomic_store(&failed, 1);
			return;
		}
}

/* Short-lived: allocates, hands half away, exits holding the rest in its
 * thread cache (returned at exit). */
static void *mortal(void *arg)
{
	uint32_t r = (uint32_t)(uintptr_t)arg * 2654435761u | 1;
	void *mine[64];
	for (int i = 0; i < 64; i++) {
		size_t n;
		switch (xorshift32(&r) % 8) {
		case 0:
			n = 32768 + xorshift32(&r) % 300000;
			break; /* large */
		case 1:
			n = 1040 + xorshift32(&r) % 31000;
			break; /* Mid */
		default:
			n = xorshift32(&r) % 1040;
			break; /* Tiny */
		}
		uint8_t *p;
		if (xorshift32(&r) % 5 == 0) {
			void *q = NULL;
			if (hak_posix_memalign(&q, (size_t)64 << (xorshift32(&r) % 7), n)) {
				atomic_store(&failed, 1);
				return NULL;
			}
			p = q;
		} else {
			p = hak_malloc(n);
		}
		if (!p) {
			atomic_store(&failed, 1);
			return NULL;
		}
		memset(p, (uint8_t)n, n);
		if (i % 2) put(p, n);
		mine[i] = p;
		if (i % 2 == 0 && xorshift32(&r) % 3 == 0) {
			/* grow it: Tiny -> Mid -> large, in place or moved */
			size_t m = n * 2 + 40000;
			uint8_t *q = hak_realloc(p, m);
			if (!q) {
				atomic_store(&failed, 1);
				return NULL;
			}
			check_fill(q, n, (uint8_t)n);
			memset(q, (uint8_t)m, m);
			put(q, m);
			mine[i] = NULL;
		}
	}
	for (int i = 0; i < 64; i += 2)
		if (mine[i]) hak_free(mine[i]);
	/* something to return to the slabs at exit */
	for (int i = 0; i < 20; i++)
		hak_free(hak_malloc(16 + (size_t)i * 48));
	return NULL;
}

/* Frees what the mortal threads handed away: remote frees into slabs whose
 * owner may have exited. */
static void *reaper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		size_t n;
		uint8_t *p = get(&n);
		if (!p) {
			sched_yield();
			continue;
		}
		check_fill(p, n, (uint8_t)n);
		hak_free(p);
	}
	return NULL;
}

/* Walks the heap and reads statistics while the others run. */
static void *monitor(void *arg)
{
	(void)arg;
	struct hak_stats *st = hak_malloc(sizeof *st);
	while (!atomic_load(&stop)) {
		long bad = hak_heap_check();
		if (bad) {
			fprintf(stderr, "FAIL: hak_heap_check() = %ld while threads run\n", bad);
			atomic_store(&failed, 1);
		}
		hak_stats_get(st);
		hak_thread_flush();
		sched_yield();
	}
	hak_free(st);
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t rp, mon, th[16];
	if (nthreads > 16) nthreads = 16;
	pthread_create(&rp, NULL, reaper, NULL);
	pthread_create(&mon, NULL, monitor, NULL);
	for (int round = 0; round < rounds && !atomic_load(&failed); round++) {
		for (int i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, mortal,
			               (void *)(uintptr_t)(round * 16 + i + 1));
		for (int i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
	}
	atomic_store(&stop, 1);
	pthread_join(rp, NULL);
	pthread_join(mon, NULL);
	size_t n;
	void *p;
	while ((p = get(&n)))
		hak_free(p);
	hak_thread_flush();
	long bad = hak_heap_check();
	printf("tsan_extra: %d rounds of %d threads, heap_check %ld\n", rounds, nthreads, bad);
	return bad || atomic_load(&failed);
}
