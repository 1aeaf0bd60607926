/* bursts: long-lived blocks freed in bursts, as a program that builds up
 * state and drops a whole piece of it at once (a cache flush, a closed
 * session, a parsed document thrown away). Each of THREADS threads holds
 * GENS generations of BLOCKS blocks of MIN..MAX bytes (16 B to 4 KiB by
 * default, log-uniform). Each round it allocates a new generation, then
 * frees one of the older generations, chosen at random, in one burst, in
 * the order it was allocated. So blocks live for a random number of rounds,
 * memory grows by a generation and falls back, and the next generation's
 * mixed sizes must fit into the holes of the one freed. Every block
 * carries its size and a tag, checked when it is freed. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "THREADS ROUNDS GENS BLOCKS [MIN MAX [SEED]]   (16 4096, SEED 42)"

struct tag {
	uint32_t size;
	uint32_t check;
};

struct worker {
	pthread_t tid;
	uint32_t rng;
	/* GENS + 1 generations of BLOCKS pointers: the held ones and the
	 * one being built. */
	unsigned char **gens;
	uint64_t bad;
};

static uint64_t rounds, ngens, nblocks, min_size, max_size, bands;
static pthread_barrier_t start_line, finish_line;

/* Log-uniform: each power-of-two band above MIN equally likely. */
static uint32_t draw_size(uint32_t *rng)
{
	uint64_t lo = min_size << (xorshift32(rng) % bands);
	uint64_t hi = 2 * lo - 1 < max_size ? 2 * lo - 1 : max_size;

	return (uint32_t)(lo + xorshift32(rng) % (hi - lo + 1));
}

static uint32_t check_of(uint32_t n)
{
	return n * 2246822519u ^ 0x2c1b3c6du;
}

static void build(uint32_t *rng, unsigned char **gen)
{
	for (uint64_t b = 0; b < nblocks; b++) {
		struct tag t;
		unsigned char *p;

		t.size = draw_size(rng);
		t.check = check_of(t.size);
		p = malloc(t.size);
		if (!p) {
			fprintf(stderr, "bursts: malloc(%" PRIu32 ") failed\n", t.size);
			exit(1);
		}
		/* The head and the tail: a small object's fields. */
		memcpy(p, &t, sizeof(t));
		p[t.size - 1] = (unsigned char)t.check;
		gen[b] = p;
	}
}

static void burst(struct worker *w, unsigned char **gen)
{
	for (uint64_t b = 0; b < nblocks; b++) {
		unsigned char *p = gen[b];
		struct tag t;

		memcpy(&t, p, sizeof(t));
		if (t.size < min_size || t.size > max_size || t.check != check_of(t.size) ||
		    p[t.size - 1] != (unsigned char)t.check)
			w->bad++;
		free(p);
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t building = ngens; /* the spare generation */

	/* The first GENS generations are set-up, before the clock. */
	for (uint64_t g = 0; g < ngens; g++)
		build(&w->rng, &w->gens[g * nblocks]);
	pthread_barrier_wait(&start_line);
	for (uint64_t r = 0; r < rounds; r++) {
		/* Any held generation but the new one; its slot is the next
		 * round's spare. */
		uint64_t victim = (building + 1 + xorshift32(&w->rng) % ngens) % (ngens + 1);

		build(&w->rng, &w->gens[building * nblocks]);
		burst(w, &w->gens[victim * nblocks]);
		building = victim;
	}
	pthread_barrier_wait(&finish_line);
	for (uint64_t g = 0; g <= ngens; g++)
		if (g != building) burst(w, &w->gens[g * nblocks]);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, bad = 0;
	uint32_t seed = 42;
	struct worker *workers;
	size_t slots_bytes;
	double t0, secs;

	args_init("bursts", USAGE);
	if (argc != 5 && argc != 7 && argc != 8)
		args_fail("expected 4, 6 or 7 arguments, got %d", argc - 1);
	threads = args_u64("THREADS", argv[1], 1, 1024);
	rounds = args_u64("ROUNDS", argv[2], 1, UINT64_C(1) << 40);
	ngens = args_u64("GENS", argv[3], 1, UINT64_C(1) << 16);
	nblocks = args_u64("BLOCKS", argv[4], 1, UINT64_C(1) << 24);
	min_size = 16;
	max_size = 4096;
	if (argc >= 7) {
		min_size = args_u64("MIN", argv[5], sizeof(struct tag), UINT32_MAX / 2);
		max_size = args_u64("MAX", argv[6], 1, UINT32_MAX / 2);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[6], argv[5]);
	}
	if (argc == 8) seed = (uint32_t)args_u64("SEED", argv[7], 1, UINT32_MAX);
	bands = 1;
	while (bands < 31 && (min_size << bands) < max_size)
		bands++;
	slots_bytes = (ngens + 1) * nblocks * sizeof(unsigned char *);

	workers = measure_array(threads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&finish_line, NULL, (unsigned)threads + 1);
	for (uint64_t t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		/* Distinct, non-zero streams per thread from one seed. */
		w->rng = seed ^ (0x9e3779b9u * (uint32_t)(t + 1));
		if (!w->rng) w->rng = 1;
		w->gens = measure_array(slots_bytes);
		if (pthread_create(&w->tid, NULL, run, w) != 0) {
			fprintf(stderr, "bursts: pthread_create failed\n");
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
		measure_array_free(workers[t].gens, slots_bytes);
	}
	measure_array_free(workers, threads * sizeof(*workers));
	if (bad) {
		fprintf(stderr, "bursts: %" PRIu64 " blocks were overwritten\n", bad);
		return 1;
	}
	/* ops = malloc and free calls, all threads: BLOCKS of each a round. */
	printf("bursts threads=%" PRIu64 " rounds=%" PRIu64 " gens=%" PRIu64 " blocks=%" PRIu64
	       " min=%" PRIu64 " max=%" PRIu64 " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f"
	       " minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       threads, rounds, ngens, nblocks, min_size, max_size, seed,
	       secs > 0 ? 2.0 * (double)(rounds * nblocks) * (double)threads / secs : 0.0, secs,
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
