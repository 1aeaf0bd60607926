/* ring: blocks passed around a ring of threads. Thread i sends blocks to
 * thread i+1 (the last to the first) through a bounded single-producer
 * single-consumer queue. Each round a thread frees every block it has
 * received and then allocates BATCH new ones of MIN..MAX bytes (16 B to
 * 16 KiB by default, uniform) and sends them on. Every thread is both a
 * producer and a consumer, and every free is of a block another thread
 * allocated, across the small, medium and page-sized classes at once. A
 * thread whose outgoing queue is full frees what it has received while it
 * waits, so the ring cannot deadlock. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "measure.h"
#include "xorshift.h"

#define USAGE "THREADS ROUNDS [MIN MAX [BATCH [SEED]]]   (16 16384, BATCH 32, SEED 42)"

/* The queue from one thread to the next. head is written only by the
 * sender, tail only by the receiver; each on its own cache line. */
struct lane {
	_Alignas(64) _Atomic size_t head;
	_Alignas(64) _Atomic size_t tail;
	_Alignas(64) void **slots;
	/* Set by the sender once it has sent its last block. */
	_Atomic int closed;
};

struct worker {
	pthread_t tid;
	unsigned idx;
	uint32_t rng;
	uint64_t received, bad;
};

static struct lane *lanes;
static struct worker *workers;
static unsigned nthreads;
static uint64_t rounds, batch, min_size, span;
static size_t qmask, page;
static pthread_barrier_t start_line;

static int try_send(struct lane *l, void *p)
{
	size_t head = atomic_load_explicit(&l->head, memory_order_relaxed);

	if (head - atomic_load_explicit(&l->tail, memory_order_acquire) > qmask) return 0;
	l->slots[head & qmask] = p;
	atomic_store_explicit(&l->head, head + 1, memory_order_release);
	return 1;
}

/* The fill depends on the size, which the block's first word holds: the
 * receiver checks a block without being told anything else. */
static unsigned char fill_of(uint32_t n)
{
	return (unsigned char)(0xa5 ^ (n * 151u));
}

static int block_ok(const unsigned char *p)
{
	uint32_t n;

	memcpy(&n, p, sizeof(n));
	if (n < min_size || n >= min_size + span) return 0;
	for (size_t off = page; off < n; off += page)
		if (p[off] != fill_of(n)) return 0;
	return p[sizeof(n)] == fill_of(n) && p[n - 1] == fill_of(n);
}

/* Free everything that has arrived; returns how many blocks that was. */
static size_t drain(struct worker *w, struct lane *in)
{
	size_t tail = atomic_load_explicit(&in->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&in->head, memory_order_acquire);

	for (size_t i = tail; i != head; i++) {
		unsigned char *p = in->slots[i & qmask];

		if (!block_ok(p)) w->bad++;
		free(p);
	}
	atomic_store_explicit(&in->tail, head, memory_order_release);
	w->received += head - tail;
	return head - tail;
}

static unsigned char *new_block(struct worker *w)
{
	uint32_t n = (uint32_t)(min_size + xorshift32(&w->rng) % span);
	unsigned char *p = malloc(n);

	if (!p) {
		fprintf(stderr, "ring: malloc(%" PRIu32 ") failed\n", n);
		exit(1);
	}
	/* The size word, then one byte per page and the last one: the whole
	 * block is used, as a message buffer would be. */
	memcpy(p, &n, sizeof(n));
	p[sizeof(n)] = fill_of(n);
	for (size_t off = page; off < n; off += page)
		p[off] = fill_of(n);
	p[n - 1] = fill_of(n);
	return p;
}

/* Spin briefly, then give the core away: with more threads than cores,
 * pure spinning would starve the thread we wait for. */
static void backoff(unsigned *spins)
{
	if (++*spins < 64) return;
	*spins = 0;
	sched_yield();
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct lane *out = &lanes[w->idx];
	struct lane *in = &lanes[(w->idx + nthreads - 1) % nthreads];
	unsigned spins = 0;

	pthread_barrier_wait(&start_line);
	for (uint64_t r = 0; r < rounds; r++) {
		drain(w, in);
		for (uint64_t b = 0; b < batch; b++) {
			unsigned char *p = new_block(w);

			while (!try_send(out, p))
				if (!drain(w, in)) backoff(&spins);
		}
	}
	atomic_store_explicit(&out->closed, 1, memory_order_release);
	/* Free what is still coming. closed is read before the queue, so an
	 * empty queue after a closed sender is empty for good. */
	for (;;) {
		int closed = atomic_load_explicit(&in->closed, memory_order_acquire);

		if (!drain(w, in)) {
			if (closed) break;
			backoff(&spins);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, max_size = 16384, qcap, received = 0, bad = 0;
	uint32_t seed = 42;
	double t0, secs;

	args_init("ring", USAGE);
	if (argc != 3 && argc != 5 && argc != 6 && argc != 7)
		args_fail("expected 2, 4, 5 or 6 arguments, got %d", argc - 1);
	threads = args_u64("THREADS", argv[1], 1, 1024);
	rounds = args_u64("ROUNDS", argv[2], 1, UINT64_C(1) << 40);
	min_size = 16;
	if (argc >= 5) {
		/* The size word plus one fill byte to check. */
		min_size = args_u64("MIN", argv[3], sizeof(uint32_t) + 1, UINT32_MAX / 2);
		max_size = args_u64("MAX", argv[4], 1, UINT32_MAX / 2);
		if (max_size < min_size)
			args_fail("MAX (%s) must be >= MIN (%s)", argv[4], argv[3]);
	}
	batch = argc >= 6 ? args_u64("BATCH", argv[5], 1, UINT64_C(1) << 20) : 32;
	if (argc == 7) seed = (uint32_t)args_u64("SEED", argv[6], 1, UINT32_MAX);
	span = max_size - min_size + 1;
	nthreads = (unsigned)threads;
	page = (size_t)sysconf(_SC_PAGESIZE);
	/* Room for sixteen rounds of blocks in flight per lane: slack for a
	 * thread that loses its core for a moment, without which the run
	 * would time the scheduler. */
	for (qcap = 16; qcap < 16 * batch; qcap *= 2)
		;
	qmask = qcap - 1;

	lanes = measure_array(nthreads * sizeof(*lanes));
	workers = measure_array(nthreads * sizeof(*workers));
	pthread_barrier_init(&start_line, NULL, nthreads + 1);
	for (unsigned t = 0; t < nthreads; t++) {
		struct worker *w = &workers[t];

		lanes[t].slots = measure_array(qcap * sizeof(void *));
		w->idx = t;
		/* Distinct, non-zero streams per thread from one seed. */
		w->rng = seed ^ (0x9e3779b9u * (t + 1));
		if (!w->rng) w->rng = 1;
	}
	for (unsigned t = 0; t < nthreads; t++)
		if (pthread_create(&workers[t].tid, NULL, run, &workers[t]) != 0) {
			fprintf(stderr, "ring: pthread_create failed\n");
			return 1;
		}
	pthread_barrier_wait(&start_line);
	t0 = measure_now();
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(workers[t].tid, NULL);
		received += workers[t].received;
		bad += workers[t].bad;
	}
	secs = measure_now() - t0;
	for (unsigned t = 0; t < nthreads; t++)
		measure_array_free(lanes[t].slots, qcap * sizeof(void *));
	measure_array_free(lanes, nthreads * sizeof(*lanes));
	measure_array_free(workers, nthreads * sizeof(*workers));
	if (bad || received != threads * rounds * batch) {
		fprintf(stderr,
		        "ring: %" PRIu64 " blocks arrived corrupted, %" PRIu64 " of %" PRIu64
		        " arrived\n",
		        bad, received, threads * rounds * batch);
		return 1;
	}
	/* ops = malloc and free calls, all threads: one of each per block. */
	printf("ring threads=%u rounds=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64 " batch=%" PRIu64
	       " seed=%" PRIu32 " ops_per_sec=%.0f seconds=%.6f minflt=%" PRIu64
	       " maxrss_kb=%" PRIu64 "\n",
	       nthreads, rounds, min_size, max_size, batch, seed,
	       secs > 0 ? 2.0 * (double)received / secs : 0.0, secs, measure_minflt(),
	       measure_maxrss_kb());
	return 0;
}
