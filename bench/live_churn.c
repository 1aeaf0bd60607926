/* live_churn: many live blocks of mixed sizes churned by several threads.
 * Each of THREADS threads holds LIVE blocks of MIN..MAX bytes (16 B to
 * 8 KiB by default, log-uniform, so small blocks are the most common and
 * page-sized ones not rare) and OPS times replaces a random one with a
 * block of a new random size. No block changes threads: what is measured
 * is how well each thread's heap reuses the holes it leaves when the live
 * set is large and the sizes vary, which shows in peak RSS and faults as
 * much as in time. Every block carries its size and a tag, checked when it
 * is freed. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "THREADS OPS LIVE [MIN MAX [SEED]]   (16 8192, SEED 42)"

/* The head of every block. */
struct tag {
	uint32_t size;
	uint32_t check;
};

struct worker {
	pthread_t tid;
	uint32_t rng;
	unsigned char **slots;
	uint64_t bad;
};

static uint64_t ops, live, min_size, max_size, bands;
static size_t page;
static pthread_barrier_t start_line, finish_line;

/* Log-uniform: each power-of-two band above MIN equally likely, uniform
 * inside a band. */
static uint32_t draw_size(uint32_t *rng)
{
	uint64_t lo = min_size << (xorshift32(rng) % bands);
	uint64_t hi = 2 * lo - 1 < max_size ? 2 * lo - 1 : max_size;

	return (uint32_t)(lo + xorshift32(rng) % (hi - lo + 1));
}

static uint32_t check_of(uint32_t n)
{
	return n * 2654435761u ^ 0x6b43a9b5u;
}

static unsigned char *new_block(uint32_t *rng)
{
	struct tag t;
	unsigned char *p;

	t.size = draw_size(rng);
	t.check = check_of(t.size);
	p = malloc(t.size);
	if (!p) {
		fprintf(stderr, "live_churn: malloc(%" PRIu32 ") failed\n", t.size);
		exit(1);
	}
	memcpy(p, &t, sizeof(t));
	for (size_t off = page; off < t.size; off += page)
		p[off] = (unsigned char)t.check;
	p[t.size - 1] = (unsigned char)t.check;
	return p;
}

static void retire(struct worker *w, unsigned char *p)
{
	struct tag t;

	memcpy(&t, p, sizeof(t));
	if (t.size < min_size || t.size > max_size || t.check != check_of(t.size) ||
	    p[t.size - 1] != (unsigned char)t.check)
		w->bad++;
	else
		for (size_t off = page; off < t.size; off += page)
			if (p[off] != (unsigned char)t.check) w->bad++;
	free(p);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	/* The live set is set-up, allocated before the clock starts. */
	for (uint64_t s = 0; s < live; s++)
		w->slots[s] = new_block(&w->rng);
	pthread_barrier_wait(&start_line);
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t s = xorshift32(&w->rng) % live;

		retire(w, w->slots[s]);
		w->slots[s] = new_block(&w->rng);
	}
	pthread_barrier_wait(&finish_line);
	for (uint64_t s = 0; s < live; s++)
		retire(w, w->slots[s]);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, bad = 0;
	uint32_t seed = 42;
	struct worker *workers;
	double t0, secs;

	args_init("live_churn", USAGE);
	if (argc != 4 && argc != 6 && argc != 7)
		args_fail("expected 3, 5 or 6 arguments, got %d", argc - 1);
	threads = args_u64("THREADS", argv[1], 1, 1024);
	ops = args_u64("OPS", argv[2], 1, UINT64_C(1) << 40);
	live = args_u64("LIVE", argv[3], 1, UINT64_C(1) << 26);
	min_size = 16;
	max_size = 8192;
	if (argc >= 6) {
		/* Room for the tag, and sizes that fit its 32-bit field. */
		min_size = args_u64("MIN", argv[4], sizeof(struct tag), UINT32_MAX / 2);
		max_size = args_u64("MAX", argv[5], 1, UINT32_MAX / 2);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[5], argv[4]);
	}
	if (argc == 7) seed = (uint32_t)args_u64("SEED", argv[6], 1, UINT32_MAX);
	page = (size_t)sysconf(_SC_PAGESIZE);
	bands = 1;
	while (bands < 31 && (min_size << bands) < max_size)
		bands++;

	workers = measure_array(threads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&finish_line, NULL, (unsigned)threads + 1);
	for (uint64_t t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		/* Distinct, non-zero streams per thread from one seed. */
		w->rng = seed ^ (0x9e3779b9u * (uint32_t)(t + 1));
		if (!w->rng) w->rng = 1;
		w->slots = measure_array(live * sizeof(*w->slots));
		if (pthread_create(&w->tid, NULL, run, w) != 0) {
			fprintf(stderr, "live_churn: pthread_create failed\n");
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
		measure_array_free(workers[t].slots, live * sizeof(*workers[t].slots));
	}
	measure_array_free(workers, threads * sizeof(*workers));
	if (bad) {
		fprintf(stderr, "live_churn: %" PRIu64 " blocks were overwritten\n", bad);
		return 1;
	}
	/* ops = malloc and free calls, all threads: one of each per op. */
	printf("live_churn threads=%" PRIu64 " ops=%" PRIu64 " live=%" PRIu64 " min=%" PRIu64
	       " max=%" PRIu64 " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       threads, ops, live, min_size, max_size, seed,
	       secs > 0 ? 2.0 * (double)ops * (double)threads / secs : 0.0, secs, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
