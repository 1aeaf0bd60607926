/* larson: a server-style multi-thread workload after Larson and Krishnan.
 * Each of T threads owns SLOTS live blocks of MIN..MAX bytes and, OPS
 * times, replaces a random one with a new block of a random size. Like a
 * server passing requests between workers, XFER percent of the replaced
 * blocks are not freed by their owner but handed to another thread, which
 * frees them: the allocator sees remote frees all the time. The amount of
 * work is fixed (not a time limit), so every allocator does the same
 * calls and the figures compare. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "THREADS OPS SLOTS [MIN MAX [XFER [SEED]]]   (16 1024, XFER 10%, SEED 42)"

/* How often (in replacements) a thread frees what others handed it. */
#define DRAIN_EVERY 64

/* A handed-over block carries its own link in its first bytes, so the
 * hand-over allocates nothing. */
struct gift {
	struct gift *next;
};

struct worker {
	pthread_t tid;
	unsigned idx;
	uint32_t rng;
	char **slots;
	uint64_t remote_frees;
	/* Treiber stack of blocks other threads gave us; own cache line so
	 * pushes do not slow the owner's other fields. */
	_Alignas(64) _Atomic(struct gift *) inbox;
	char pad[64 - sizeof(struct gift *)];
};

static struct worker *workers;
static unsigned nthreads;
static uint64_t ops, nslots, min_size, span, xfer_pct;
static pthread_barrier_t start_line, finish_line, teardown;

static char *new_block(struct worker *w)
{
	size_t n = min_size + xorshift32(&w->rng) % span;
	char *p = malloc(n);

	if (!p) {
		fprintf(stderr, "larson: malloc(%zu) failed\n", n);
		exit(1);
	}
	p[0] = (char)n;
	return p;
}

static void give(struct worker *to, char *p)
{
	struct gift *g = (struct gift *)p;
	struct gift *head = atomic_load_explicit(&to->inbox, memory_order_relaxed);

	/* Push-only with take-all on the other side: no ABA to worry about. */
	do
		g->next = head;
	while (!atomic_compare_exchange_weak_explicit(&to->inbox, &head, g, memory_order_release,
	                                              memory_order_relaxed));
}

static void drain(struct worker *w)
{
	struct gift *g = atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);

	while (g) {
		struct gift *next = g->next;

		free(g);
		w->remote_frees++;
		g = next;
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;

	/* The initial blocks are set-up: allocated before the clock starts. */
	for (uint64_t s = 0; s < nslots; s++)
		w->slots[s] = new_block(w);
	pthread_barrier_wait(&start_line);

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t s = xorshift32(&w->rng) % nslots;
		char *old = w->slots[s];

		w->slots[s] = new_block(w);
		if (nthreads > 1 && xorshift32(&w->rng) % 100 < xfer_pct) {
			/* Anyone but ourselves. */
			unsigned to =
			    (w->idx + 1 + xorshift32(&w->rng) % (nthreads - 1)) % nthreads;

			give(&workers[to], old);
		} else {
			free(old);
		}
		if (i % DRAIN_EVERY == DRAIN_EVERY - 1) drain(w);
	}
	pthread_barrier_wait(&finish_line);

	/* Untimed: wait until nobody can give us more, then clean up. */
	pthread_barrier_wait(&teardown);
	drain(w);
	for (uint64_t s = 0; s < nslots; s++)
		free(w->slots[s]);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, max_size = 1024, remote = 0;
	uint32_t seed = 42;
	double t0, secs;

	args_init("larson", USAGE);
	if (argc != 4 && argc != 6 && argc != 7 && argc != 8)
		args_fail("expected 3, 5, 6 or 7 arguments, got %d", argc - 1);
	threads = args_u64("THREADS", argv[1], 1, 1024);
	ops = args_u64("OPS", argv[2], 1, UINT64_C(1) << 40);
	nslots = args_u64("SLOTS", argv[3], 1, UINT64_C(1) << 24);
	min_size = 16;
	if (argc >= 6) {
		/* At least a pointer: a handed-over block holds its link. */
		min_size = args_u64("MIN", argv[4], sizeof(struct gift), UINT64_C(1) << 30);
		max_size = args_u64("MAX", argv[5], 1, UINT64_C(1) << 30);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[5], argv[4]);
	}
	xfer_pct = argc >= 7 ? args_u64("XFER", argv[6], 0, 100) : 10;
	if (argc == 8) seed = (uint32_t)args_u64("SEED", argv[7], 1, UINT32_MAX);
	span = max_size - min_size + 1;
	nthreads = (unsigned)threads;

	workers = measure_array(nthreads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, nthreads + 1);
	pthread_barrier_init(&finish_line, NULL, nthreads + 1);
	pthread_barrier_init(&teardown, NULL, nthreads + 1);
	for (unsigned t = 0; t < nthreads; t++) {
		struct worker *w = &workers[t];

		w->idx = t;
		/* Distinct, non-zero streams per thread from one seed. */
		w->rng = seed ^ (0x9e3779b9u * (t + 1));
		if (!w->rng) w->rng = 1;
		w->slots = measure_array(nslots * sizeof(*w->slots));
		atomic_init(&w->inbox, NULL);
		if (pthread_create(&w->tid, NULL, run, w) != 0) {
			fprintf(stderr, "larson: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start_line);
	t0 = measure_now();
	pthread_barrier_wait(&finish_line);
	secs = measure_now() - t0;
	pthread_barrier_wait(&teardown);
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(workers[t].tid, NULL);
		remote += workers[t].remote_frees;
		measure_array_free(workers[t].slots, nslots * sizeof(*workers[t].slots));
	}

	/* ops = malloc and free calls, all threads: each replacement is one
	 * of each. A few handed-over blocks (at most DRAIN_EVERY per thread)
	 * are freed after the clock stops; against millions that is noise. */
	printf("larson threads=%u ops=%" PRIu64 " slots=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64
	       " xfer_pct=%" PRIu64 " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f"
	       " remote_frees=%" PRIu64 " minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       nthreads, ops, nslots, min_size, max_size, xfer_pct, seed,
	       secs > 0 ? 2.0 * (double)ops * nthreads / secs : 0.0, secs, remote, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
