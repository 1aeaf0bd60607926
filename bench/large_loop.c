/* large_loop: large blocks allocated, used and freed in a loop, by several
 * threads at once. Each of ROUNDS times, a thread allocates LIVE blocks of
 * MIN..MAX bytes (log-uniform, 32 KiB to 4 MiB by default), writing a
 * stamp into every page, then frees them all, reading every stamp back
 * first, so a block that two callers got at once is caught. Unlike
 * large_churn (one thread, a random working set) the blocks live for one
 * round, a whole round's worth is freed at once, and sizes change from one
 * round to the next: an allocator that gives freed spans back to the
 * kernel, keeps fewer of them than a round frees, or cannot use a freed
 * span for a request of another size, pays a page fault for every page of
 * every block. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "THREADS ROUNDS [MIN MAX [LIVE [SEED]]]   (32768 4194304, LIVE 16, SEED 42)"

struct block {
	unsigned char *p;
	size_t size;
	uint32_t serial;
};

struct worker {
	pthread_t tid;
	uint32_t rng;
	uint32_t serial;
	struct block *round;
	uint64_t bad;
};

static uint64_t rounds, live, min_size, max_size, bands;
static size_t page;
static pthread_barrier_t start_line, finish_line;

/* Sizes are log-uniform: each power-of-two band above MIN equally likely,
 * uniform inside a band, as buffer sizes in real programs are. */
static size_t draw_size(uint32_t *rng)
{
	uint64_t lo = min_size << (xorshift32(rng) % bands);
	uint64_t hi = 2 * lo - 1 < max_size ? 2 * lo - 1 : max_size;

	return (size_t)(lo + xorshift32(rng) % (hi - lo + 1));
}

static unsigned char stamp(uint32_t serial, size_t off)
{
	return (unsigned char)(serial * 131u + (uint32_t)(off / page) * 7u + 1u);
}

static void take(struct worker *w, struct block *b)
{
	b->size = draw_size(&w->rng);
	b->serial = ++w->serial;
	b->p = malloc(b->size);
	if (!b->p) {
		fprintf(stderr, "large_loop: malloc(%zu) failed\n", b->size);
		exit(1);
	}
	/* One write per page: the program uses the whole block. */
	for (size_t off = 0; off < b->size; off += page)
		b->p[off] = stamp(b->serial, off);
	b->p[b->size - 1] = stamp(b->serial, b->size - 1);
}

static void give_back(struct worker *w, struct block *b)
{
	for (size_t off = 0; off < b->size; off += page)
		if (b->p[off] != stamp(b->serial, off)) w->bad++;
	if (b->p[b->size - 1] != stamp(b->serial, b->size - 1)) w->bad++;
	free(b->p);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start_line);
	for (uint64_t r = 0; r < rounds; r++) {
		for (uint64_t i = 0; i < live; i++)
			take(w, &w->round[i]);
		for (uint64_t i = 0; i < live; i++)
			give_back(w, &w->round[i]);
	}
	pthread_barrier_wait(&finish_line);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, bad = 0;
	uint32_t seed = 42;
	struct worker *workers;
	double t0, secs;

	args_init("large_loop", USAGE);
	if (argc != 3 && argc != 5 && argc != 6 && argc != 7)
		args_fail("expected 2, 4, 5 or 6 arguments, got %d", argc - 1);
	threads = args_u64("THREADS", argv[1], 1, 1024);
	rounds = args_u64("ROUNDS", argv[2], 1, UINT64_C(1) << 40);
	min_size = UINT64_C(32) << 10;
	max_size = UINT64_C(4) << 20;
	if (argc >= 5) {
		min_size = args_u64("MIN", argv[3], 1, UINT64_C(1) << 36);
		max_size = args_u64("MAX", argv[4], 1, UINT64_C(1) << 36);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[4], argv[3]);
	}
	live = argc >= 6 ? args_u64("LIVE", argv[5], 1, UINT64_C(1) << 20) : 16;
	if (argc == 7) seed = (uint32_t)args_u64("SEED", argv[6], 1, UINT32_MAX);
	page = (size_t)sysconf(_SC_PAGESIZE);
	/* Bands [MIN, 2 MIN), ..., the last ending at MAX; the cap keeps
	 * MIN << bands from overflowing. */
	bands = 1;
	while (bands < 27 && (min_size << bands) < max_size)
		bands++;

	workers = measure_array(threads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&finish_line, NULL, (unsigned)threads + 1);
	for (uint64_t t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		/* Distinct, non-zero streams per thread from one seed. */
		w->rng = seed ^ (0x9e3779b9u * (uint32_t)(t + 1));
		if (!w->rng) w->rng = 1;
		w->round = measure_array(live * sizeof(*w->round));
		if (pthread_create(&w->tid, NULL, run, w) != 0) {
			fprintf(stderr, "large_loop: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start_line);
	t0 = measure_now();
	pthread_barrier_wait(&finish_line);
	secs = measure_now() - t0;
	for (uint64_t t = 0; t < threads; t++) {
		pthread_join(workers[t].tid, NULL);
		bad += workers[t].bad;
		measure_array_free(workers[t].round, live * sizeof(*workers[t].round));
	}
	measure_array_free(workers, threads * sizeof(*workers));
	if (bad) {
		fprintf(stderr, "large_loop: %" PRIu64 " page stamps were overwritten\n", bad);
		return 1;
	}
	/* ops = malloc and free calls, all threads: LIVE of each a round. */
	printf("large_loop threads=%" PRIu64 " rounds=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64
	       " live=%" PRIu64 " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       threads, rounds, min_size, max_size, live, seed,
	       secs > 0 ? 2.0 * (double)(rounds * live) * (double)threads / secs : 0.0, secs,
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
