/* coldstart: the cold-start storm. A fresh process starts THREADS threads
 * that together allocate MB megabytes of MIN..MAX-byte blocks as fast as
 * they can, writing the first byte of each, and free nothing until the
 * end. Nothing can be reused, so every page the allocator hands out is a
 * page the kernel must fault in: this is where the seed spent 70% of its
 * time in page faults. Reports allocations per second and the minor
 * faults of the allocation phase. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "[THREADS [MB [MIN MAX [SEED]]]]   (4 64 16 1024 42 by default)"

struct worker {
	pthread_t tid;
	uint32_t seed;
	uint64_t count; /* blocks this thread allocates */
	char **ptrs;
};

static uint64_t min_size, span;
static pthread_barrier_t start_line, finish_line, teardown;

static size_t next_size(uint32_t *rng)
{
	return min_size + xorshift32(rng) % span;
}

/* How many blocks of the seeded size sequence fill BYTES: counted up
 * front, so the pointer array can be mapped and touched before timing. */
static uint64_t blocks_for(uint32_t seed, uint64_t bytes)
{
	uint32_t rng = seed;
	uint64_t n = 0, sum = 0;

	while (sum < bytes) {
		sum += next_size(&rng);
		n++;
	}
	return n;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint32_t rng = w->seed;

	pthread_barrier_wait(&start_line);
	for (uint64_t i = 0; i < w->count; i++) {
		size_t n = next_size(&rng);
		char *p = malloc(n);

		if (!p) {
			fprintf(stderr, "coldstart: malloc(%zu) failed after %" PRIu64 " blocks\n",
			        n, i);
			exit(1);
		}
		p[0] = (char)i;
		w->ptrs[i] = p;
	}
	pthread_barrier_wait(&finish_line);

	pthread_barrier_wait(&teardown);
	for (uint64_t i = 0; i < w->count; i++)
		free(w->ptrs[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads = 4, mb = 64, max_size = 1024, total = 0, f0, faults;
	uint32_t seed = 42;
	struct worker *workers;
	double t0, secs;

	args_init("coldstart", USAGE);
	/* Every argument has a default: bare `coldstart` is the storm the
	 * seed saw (bench/demo traces it that way). */
	if (argc == 4) args_fail("MIN and MAX must be given together");
	if (argc > 6) args_fail("expected at most 5 arguments, got %d", argc - 1);
	if (argc >= 2) threads = args_u64("THREADS", argv[1], 1, 1024);
	if (argc >= 3) mb = args_u64("MB", argv[2], 1, UINT64_C(1) << 16);
	min_size = 16;
	if (argc >= 5) {
		min_size = args_u64("MIN", argv[3], 1, UINT64_C(1) << 30);
		max_size = args_u64("MAX", argv[4], 1, UINT64_C(1) << 30);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[4], argv[3]);
	}
	if (argc == 6) seed = (uint32_t)args_u64("SEED", argv[5], 1, UINT32_MAX);
	span = max_size - min_size + 1;

	workers = measure_array(threads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&finish_line, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&teardown, NULL, (unsigned)threads + 1);
	for (uint64_t t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		w->seed = seed ^ (0x9e3779b9u * (uint32_t)(t + 1));
		if (!w->seed) w->seed = 1;
		/* Equal shares of MB; the last block may overshoot a little. */
		w->count = blocks_for(w->seed, (mb << 20) / threads);
		w->ptrs = measure_array(w->count * sizeof(*w->ptrs));
		total += w->count;
		if (pthread_create(&w->tid, NULL, run, w) != 0) {
			fprintf(stderr, "coldstart: pthread_create failed\n");
			return 1;
		}
	}

	/* Thread creation (stacks, and each allocator's per-thread set-up
	 * where it is eager) happened above: only the storm is timed. The
	 * clock starts before the workers are released: read after the
	 * barrier, it started whenever this thread next got a core, with 4
	 * workers on 2 cores often milliseconds into the storm (up to a
	 * third of mimalloc's faults fell before it). */
	f0 = measure_minflt();
	t0 = measure_now();
	pthread_barrier_wait(&start_line);
	pthread_barrier_wait(&finish_line);
	secs = measure_now() - t0;
	faults = measure_minflt() - f0;
	pthread_barrier_wait(&teardown);
	for (uint64_t t = 0; t < threads; t++) {
		pthread_join(workers[t].tid, NULL);
		measure_array_free(workers[t].ptrs, workers[t].count * sizeof(*workers[t].ptrs));
	}

	/* ops = mallocs of the storm; the frees are after it, untimed. */
	printf("coldstart threads=%" PRIu64 " mb=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64
	       " seed=%" PRIu32 " blocks=%" PRIu64 " ops_per_sec=%.0f seconds=%.6f"
	       " storm_minflt=%" PRIu64 " minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       threads, mb, min_size, max_size, seed, total, secs > 0 ? (double)total / secs : 0.0,
	       secs, faults, measure_minflt(), measure_maxrss_kb());
	return 0;
}
