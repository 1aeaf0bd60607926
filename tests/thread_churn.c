/* Thread churn: thousands of short-lived threads, a wave of a few at a
 * time, each allocating a few hundred small blocks. Each thread frees most
 * of its blocks, frees some that an earlier (by now dead) thread left
 * behind, and leaves some of its own for a later thread.
 *
 * If an exiting thread's caches or slabs were not returned, memory would
 * grow with the number of threads. So the test bounds peak RSS, the live
 * SuperSlab count across the run, and the blocks still held at the end.
 *
 * usage: thread_churn [THREADS] [WAVE]      exit 0 = bounded, 1 = not */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hakmem.h"
#include "linked_check.h"
#include "../bench/xorshift.h"

enum {
	PER_THREAD = 300,
	LEAVE = 16, /* blocks each thread leaves for a later one */
	MAX_RSS_KIB = 256 * 1024,
	MAX_SUPERSLABS = 64,    /* 128 MiB of 2 MiB SuperSlabs */
	MAX_HELD_AT_END = 1000, /* a leak of even one block per thread exceeds it */
};

/* Blocks in transit between threads. Bounded: a thread leaves blocks only
 * after taking as many, except while the pile fills up. */
static struct {
	pthread_mutex_t lock;
	void *p[4 * LEAVE * 64];
	size_t n;
} pile = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int failed;

static void *churn(void *arg)
{
	uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u | 1;
	void *mine[PER_THREAD];

	/* Free what dead threads left: remote frees into slabs whose owner
	 * has exited. */
	pthread_mutex_lock(&pile.lock);
	for (int i = 0; i < LEAVE && pile.n; i++)
		free(pile.p[--pile.n]);
	pthread_mutex_unlock(&pile.lock);

	for (int i = 0; i < PER_THREAD; i++) {
		uint32_t r = xorshift32(&rng);
		/* Mostly Tiny, one in ten Mid. */
		size_t n = r % 10 ? 1 + (r >> 8) % 1024 : 1040 + (r >> 8) % 16384;
		mine[i] = malloc(n);
		if (!mine[i]) {
			fprintf(stderr, "malloc(%zu) failed\n", n);
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		memset(mine[i], (int)i, n);
	}

	int left = 0;
	pthread_mutex_lock(&pile.lock);
	while (left < LEAVE && pile.n < sizeof(pile.p) / sizeof(pile.p[0]))
		pile.p[pile.n++] = mine[left++];
	pthread_mutex_unlock(&pile.lock);
	for (int i = PER_THREAD - 1; i >= left; i--)
		free(mine[i]);
	return NULL;
}

static long vm_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
	if (f) fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 5000;
	int wave = argc > 2 ? atoi(argv[2]) : 8;
	pthread_t th[64];
	pthread_attr_t attr;
	struct hak_stats *st = malloc(sizeof(*st));
	uint64_t max_ss = 0;
	long max_rss = 0;

	expect_hakmem_malloc();
	if (wave < 1 || wave > 64) wave = 8;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);

	for (int started = 0; started < total;) {
		int n = total - started < wave ? total - started : wave;
		for (int i = 0; i < n; i++)
			if (pthread_create(&th[i], &attr, churn,
			                   (void *)(uintptr_t)(started + i + 1))) {
				perror("pthread_create");
				return 1;
			}
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		started += n;

		hak_stats_get(st);
		if (st->superslabs_live > max_ss) max_ss = st->superslabs_live;
		long rss = vm_rss_kib();
		if (rss > max_rss) max_rss = rss;
	}

	while (pile.n)
		free(pile.p[--pile.n]);
	hak_thread_flush();
	hak_stats_get(st);

	uint64_t held = 0;
	for (uint32_t c = 0; c < st->nclasses && c < HAK_STATS_MAX_CLASSES; c++)
		held += st->classes[c].blocks_held;

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long problems = hak_heap_check();

	printf("thread_churn: %d threads in waves of %d: peak RSS %ld KiB (VmRSS max %ld KiB), "
	       "superslabs live max %llu now %llu (mapped %llu, unmapped %llu), blocks held at end "
	       "%llu, heap_check %ld\n",
	       total, wave, ru.ru_maxrss, max_rss, (unsigned long long)max_ss,
	       (unsigned long long)st->superslabs_live, (unsigned long long)st->superslabs_mapped,
	       (unsigned long long)st->superslabs_unmapped, (unsigned long long)held, problems);

	if (failed) return 1;
	if (ru.ru_maxrss > MAX_RSS_KIB) {
		fprintf(stderr, "FAIL: peak RSS %ld KiB > %d KiB: memory grows with thread count\n",
		        ru.ru_maxrss, MAX_RSS_KIB);
		failed = 1;
	}
	if (max_ss > MAX_SUPERSLABS) {
		fprintf(stderr,
		        "FAIL: %llu SuperSlabs live at once > %d: exited threads keep slabs\n",
		        (unsigned long long)max_ss, MAX_SUPERSLABS);
		failed = 1;
	}
	if (held > MAX_HELD_AT_END) {
		fprintf(stderr,
		        "FAIL: %llu blocks still held after every thread exited > %d: "
		        "thread caches not returned at exit\n",
		        (unsigned long long)held, MAX_HELD_AT_END);
		failed = 1;
	}
	if (problems) {
		fprintf(stderr, "FAIL: hak_heap_check() found %ld problems\n", problems);
		failed = 1;
	}
	free(st);
	return failed;
}
