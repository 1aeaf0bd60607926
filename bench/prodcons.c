/* prodcons: producer/consumer cross-thread free. P producers each malloc
 * ITEMS blocks of MIN..MAX bytes, fill them and pass them through one
 * bounded queue; C consumers take them, check the fill and free them.
 * Every free is therefore of a block another thread allocated: the remote
 * free path, and the return of memory to the producers, is what is
 * measured. With BATCH > 1 a producer chains BATCH blocks through their
 * first word and queues the chain as one item, as a server hands a batch
 * of requests to a worker: the queue's cost (and the yields of threads
 * that find it full or empty) shrinks BATCH-fold, and the allocator's
 * remote frees are most of what is left. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE                                                                                      \
	"PRODUCERS CONSUMERS ITEMS [MIN MAX [QUEUE [SEED [BATCH]]]]   (ITEMS per producer;"        \
	" 16 1024, QUEUE 1024 slots, SEED 42, BATCH 1)"

/* A bounded multi-producer multi-consumer ring in the manner of Vyukov:
 * each cell's sequence number says whose turn it is, so producers and
 * consumers claim cells with one CAS and never take a lock. A lock would
 * put the mutex, not the allocator, in the measurement. */
struct cell {
	_Atomic size_t seq;
	void *data;
};

static struct {
	struct cell *cells;
	size_t mask;
	_Alignas(64) _Atomic size_t head; /* next cell to fill */
	_Alignas(64) _Atomic size_t tail; /* next cell to drain */
} q;

static int try_push(void *p)
{
	size_t pos = atomic_load_explicit(&q.head, memory_order_relaxed);

	for (;;) {
		struct cell *c = &q.cells[pos & q.mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&q.head, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed)) {
				c->data = p;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return 1;
			}
		} else if (dif < 0) {
			return 0; /* full */
		} else {
			pos = atomic_load_explicit(&q.head, memory_order_relaxed);
		}
	}
}

static int try_pop(void **out)
{
	size_t pos = atomic_load_explicit(&q.tail, memory_order_relaxed);

	for (;;) {
		struct cell *c = &q.cells[pos & q.mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&q.tail, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed)) {
				*out = c->data;
				atomic_store_explicit(&c->seq, pos + q.mask + 1,
				                      memory_order_release);
				return 1;
			}
		} else if (dif < 0) {
			return 0; /* empty */
		} else {
			pos = atomic_load_explicit(&q.tail, memory_order_relaxed);
		}
	}
}

/* Spin briefly, then give the core away: with more threads than cores
 * (2 here), pure spinning would starve the very thread we wait for. */
static void backoff(unsigned *spins)
{
	if (++*spins < 64) return;
	*spins = 0;
	sched_yield();
}

static void push(void *p)
{
	unsigned spins = 0;

	while (!try_push(p))
		backoff(&spins);
}

static void *pop(void)
{
	unsigned spins = 0;
	void *p;

	while (!try_pop(&p))
		backoff(&spins);
	return p;
}

static uint64_t items, min_size, span, batch = 1;
static uint32_t seed;
static pthread_barrier_t start_line;
static atomic_uint_fast64_t bad_blocks;

/* A block starts with the link to the next block of its chain, then its
 * size; the rest is a fill byte that depends on the size, so a consumer
 * can check a block without knowing who made it. */
#define LINK_AT 0
#define SIZE_AT sizeof(void *)
#define FILL_AT (SIZE_AT + sizeof(uint32_t))

static unsigned char fill_of(uint32_t n)
{
	return (unsigned char)(0x5a ^ (n * 131u));
}

static void *producer(void *arg)
{
	uint32_t rng = seed ^ (0x9e3779b9u * (uint32_t)(uintptr_t)arg);

	if (!rng) rng = 1;
	unsigned char *chain = NULL;
	uint64_t chained = 0;

	pthread_barrier_wait(&start_line);
	for (uint64_t i = 0; i < items; i++) {
		uint32_t n = (uint32_t)(min_size + xorshift32(&rng) % span);
		unsigned char *p = malloc(n);

		if (!p) {
			fprintf(stderr, "prodcons: malloc(%" PRIu32 ") failed\n", n);
			exit(1);
		}
		memset(p, fill_of(n), n);
		memcpy(p + LINK_AT, &chain, sizeof(chain));
		memcpy(p + SIZE_AT, &n, sizeof(n));
		chain = p;
		if (++chained == batch || i == items - 1) {
			push(chain);
			chain = NULL;
			chained = 0;
		}
	}
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t bad = 0;

	(void)arg;
	pthread_barrier_wait(&start_line);
	for (;;) {
		unsigned char *p = pop();

		if (!p) break; /* end of work: main pushes one NULL per consumer */
		while (p) {
			unsigned char *next;
			uint32_t n;

			memcpy(&next, p + LINK_AT, sizeof(next));
			memcpy(&n, p + SIZE_AT, sizeof(n));
			if (n < min_size || n >= min_size + span || p[n - 1] != fill_of(n) ||
			    p[FILL_AT] != fill_of(n))
				bad++;
			free(p);
			p = next;
		}
	}
	atomic_fetch_add(&bad_blocks, bad);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t np, nc, max_size = 1024, qcap = 1024;
	pthread_t *tids;
	double t0, secs;

	args_init("prodcons", USAGE);
	if (argc != 4 && argc != 6 && argc != 7 && argc != 8 && argc != 9)
		args_fail("expected 3, 5, 6, 7 or 8 arguments, got %d", argc - 1);
	np = args_u64("PRODUCERS", argv[1], 1, 512);
	nc = args_u64("CONSUMERS", argv[2], 1, 512);
	items = args_u64("ITEMS", argv[3], 1, UINT64_C(1) << 40);
	min_size = 16;
	seed = 42;
	if (argc >= 6) {
		/* The link and the size word plus one fill byte to check. */
		min_size = args_u64("MIN", argv[4], FILL_AT + 1, UINT32_MAX);
		max_size = args_u64("MAX", argv[5], 1, UINT32_MAX);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[5], argv[4]);
	}
	if (argc >= 7) {
		qcap = args_u64("QUEUE", argv[6], 2, UINT64_C(1) << 24);
		if (qcap & (qcap - 1)) args_fail("QUEUE must be a power of two, got %s", argv[6]);
	}
	if (argc >= 8) seed = (uint32_t)args_u64("SEED", argv[7], 1, UINT32_MAX);
	if (argc == 9) batch = args_u64("BATCH", argv[8], 1, UINT64_C(1) << 20);
	span = max_size - min_size + 1;

	q.cells = measure_array(qcap * sizeof(*q.cells));
	q.mask = qcap - 1;
	for (size_t i = 0; i < qcap; i++)
		atomic_init(&q.cells[i].seq, i);
	tids = measure_array((np + nc) * sizeof(*tids));

	pthread_barrier_init(&start_line, NULL, (unsigned)(np + nc + 1));
	for (uint64_t t = 0; t < np + nc; t++)
		if (pthread_create(&tids[t], NULL, t < np ? producer : consumer,
		                   (void *)(uintptr_t)(t + 1)) != 0) {
			fprintf(stderr, "prodcons: pthread_create failed\n");
			return 1;
		}
	pthread_barrier_wait(&start_line);
	t0 = measure_now();
	for (uint64_t t = 0; t < np; t++)
		pthread_join(tids[t], NULL);
	for (uint64_t t = 0; t < nc; t++)
		push(NULL);
	for (uint64_t t = np; t < np + nc; t++)
		pthread_join(tids[t], NULL);
	secs = measure_now() - t0;

	measure_array_free(tids, (np + nc) * sizeof(*tids));
	measure_array_free(q.cells, qcap * sizeof(*q.cells));
	if (atomic_load(&bad_blocks)) {
		fprintf(stderr, "prodcons: %" PRIuFAST64 " blocks arrived corrupted\n",
		        (uint_fast64_t)atomic_load(&bad_blocks));
		return 1;
	}
	/* ops = malloc and free calls: one of each per item. */
	printf("prodcons producers=%" PRIu64 " consumers=%" PRIu64 " items=%" PRIu64 " min=%" PRIu64
	       " max=%" PRIu64 " queue=%" PRIu64 " seed=%" PRIu32 " batch=%" PRIu64
	       " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       np, nc, items, min_size, max_size, qcap, seed, batch,
	       secs > 0 ? 2.0 * (double)(np * items) / secs : 0.0, secs, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
