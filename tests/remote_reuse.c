/* Remote frees come home before anything is carved.
 *
 * Steady phase: THREADS threads each keep SLOTS live blocks of one size
 * and, round after round, replace OPS of them; a quarter of the old
 * blocks go to the next thread, which frees them after a barrier, as a
 * server hands requests between workers. The live set is steady, so once
 * warm the allocator has every block it needs in its slabs: the blocks
 * carved after the warm-up must stay well below what the rounds
 * allocate. A refill that carved its current slab before it took the
 * slabs that remote frees had filled kept carving (and touching pages)
 * round after round.
 *
 * Exit phase: a thread allocates blocks and exits while another thread
 * is still freeing them (remote frees into slabs whose owner is gone);
 * then a new thread allocates as many, and must adopt those abandoned
 * slabs rather than carve new ones.
 *
 * Fan-in phase: several threads free, as they come, the blocks one
 * thread keeps allocating (remote frees into the slab it allocates from).
 *
 * Consumer phase: a thread that only frees (blocks another thread
 * allocated) keeps at most about one refill of them in its cache, rather
 * than growing its bin as a thread that also allocates would.
 *
 * usage: remote_reuse [ROUNDS]      exit 0 = reused, 1 = carved */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "linked_check.h"
#include "../bench/xorshift.h"

enum {
	THREADS = 4,
	SLOTS = 600,
	OPS = 400,
	WARMUP = 20,
	BLOCK = 200,    /* one Tiny class (208-byte stride) */
	EXIT_N = 3000,  /* blocks of the thread that exits */
	MIN_ROUNDS = 1, /* a bad ROUNDS argument is refused below */
};

static pthread_barrier_t round_start, round_mid;
static unsigned rounds;
static int failed;

/* inbox[i] is written only by thread i-1, before the barrier that lets
 * thread i read it. */
static struct {
	void *p[OPS];
	unsigned n;
} inbox[THREADS];

static void *sized(size_t n)
{
	char *p = malloc(n);
	if (!p) {
		fprintf(stderr, "remote_reuse: malloc(%zu) failed\n", n);
		exit(1);
	}
	/* Its size at both ends: a block handed out twice shows up. */
	memcpy(p, &n, sizeof n);
	memcpy(p + n - sizeof n, &n, sizeof n);
	return p;
}

static void *fresh(uint32_t *rng)
{
	return sized(BLOCK - (xorshift32(rng) % 8)); /* same class, sizes vary */
}

static void check_free(char *p)
{
	size_t n, m;
	memcpy(&n, p, sizeof n);
	memcpy(&m, p + n - sizeof m, sizeof m);
	if (n != m) {
		fprintf(stderr, "remote_reuse: block %p overwritten\n", (void *)p);
		failed = 1;
	}
	free(p);
}

static uint64_t carved_total(void)
{
	struct hak_stats st;
	uint64_t n = 0;
	hak_stats_get(&st);
	for (unsigned c = 0; c < HAK_STATS_MAX_CLASSES; c++)
		n += st.classes[c].from_carve;
	return n;
}

static uint64_t carved_after_warmup;

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg, next = (me + 1) % THREADS;
	uint32_t rng = 0x9e3779b9u * (me + 1);
	void *slots[SLOTS];

	for (unsigned s = 0; s < SLOTS; s++)
		slots[s] = fresh(&rng);
	for (unsigned r = 0; r < WARMUP + rounds; r++) {
		pthread_barrier_wait(&round_start);
		if (me == 0 && r == WARMUP) carved_after_warmup = carved_total();
		for (unsigned i = 0; i < OPS; i++) {
			unsigned s = xorshift32(&rng) % SLOTS;
			void *old = slots[s];
			slots[s] = fresh(&rng);
			if (i % 4 == 0)
				inbox[next].p[inbox[next].n++] = old;
			else
				check_free(old);
		}
		pthread_barrier_wait(&round_mid);
		for (unsigned i = 0; i < inbox[me].n; i++)
			check_free(inbox[me].p[i]);
		inbox[me].n = 0;
	}
	for (unsigned s = 0; s < SLOTS; s++)
		check_free(slots[s]);
	return NULL;
}

/* ---- the owner takes remote frees before it carves ---- */

enum { OWNED = 1500, TAKE = 600 };
static void *owned[OWNED];

static void *remote_freer(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < OWNED; i += 2)
		check_free(owned[i]);
	return NULL; /* its exit flushes its cache back to the owner's slabs */
}

/* The owner fills several slabs and stops inside its current one; another
 * thread frees every other block and exits, so OWNED / 2 blocks sit on
 * the owner's earlier slabs. The owner's next TAKE blocks must come from
 * there, not from its current slab's uncarved tail. */
static int owner_phase(void)
{
	uint32_t rng = 4242;
	pthread_t t;
	for (unsigned i = 0; i < OWNED; i++)
		owned[i] = fresh(&rng);
	if (pthread_create(&t, NULL, remote_freer, NULL)) return 1;
	pthread_join(t, NULL);

	uint64_t before = carved_total();
	static void *again[TAKE];
	for (unsigned i = 0; i < TAKE; i++)
		again[i] = fresh(&rng);
	uint64_t carved = carved_total() - before;
	printf("remote_reuse: owner phase: %u blocks freed by another thread, the owner "
	       "took %u and carved %llu\n",
	       OWNED / 2, TAKE, (unsigned long long)carved);
	for (unsigned i = 0; i < TAKE; i++)
		check_free(again[i]);
	for (unsigned i = 1; i < OWNED; i += 2)
		check_free(owned[i]);
	/* HAKMEM_CHECK=full keeps freed blocks out of reuse for a while (its
	 * quarantine): there, carving is what it should do. */
	const char *check = getenv("HAKMEM_CHECK");
	if (carved && !(check && !strcmp(check, "full"))) {
		fprintf(stderr,
		        "remote_reuse: the owner carved %llu fresh blocks while %u freed ones "
		        "waited in its other slabs\n",
		        (unsigned long long)carved, OWNED / 2);
		return 1;
	}
	return 0;
}

/* ---- owner exit with remote frees in flight ---- */

/* The owner keeps every other block live (exit_kept), so its slabs stay
 * partial: an empty slab could be purged (nocache), and carving it again
 * would say nothing about adoption. */
static void *exit_blocks[EXIT_N], *exit_kept[EXIT_N];
static atomic_uint exit_published;

static void *exiting_owner(void *arg)
{
	uint32_t rng = 12345;
	(void)arg;
	for (unsigned i = 0; i < EXIT_N; i++) {
		exit_kept[i] = fresh(&rng);
		exit_blocks[i] = fresh(&rng);
	}
	/* Published only now: were they freed earlier, this thread would
	 * reuse them itself. Its cache is torn down while the frees go on. */
	atomic_store_explicit(&exit_published, EXIT_N, memory_order_release);
	return NULL;
}

static void *adopter(void *arg)
{
	uint32_t rng = 777;
	void **mine = arg;
	for (unsigned i = 0; i < EXIT_N; i++)
		mine[i] = fresh(&rng);
	for (unsigned i = 0; i < EXIT_N; i++)
		check_free(mine[i]);
	return NULL;
}

static int exit_phase(void)
{
	pthread_t owner, next;
	unsigned freed = 0;
	if (pthread_create(&owner, NULL, exiting_owner, NULL)) return 1;
	while (freed < EXIT_N) {
		unsigned n = atomic_load_explicit(&exit_published, memory_order_acquire);
		while (freed < n)
			check_free(exit_blocks[freed++]);
	}
	pthread_join(owner, NULL);

	static void *mine[EXIT_N];
	uint64_t before = carved_total();
	if (pthread_create(&next, NULL, adopter, mine)) return 1;
	pthread_join(next, NULL);
	uint64_t carved = carved_total() - before;
	for (unsigned i = 0; i < EXIT_N; i++)
		check_free(exit_kept[i]);
	/* The main thread's own bin may keep up to 256 of the freed blocks;
	 * everything else is in the abandoned slabs. */
	printf("remote_reuse: exit phase: %u blocks freed while their owner exited, "
	       "a new thread carved %llu of %u\n",
	       EXIT_N, (unsigned long long)carved, EXIT_N);
	if (carved > EXIT_N / 3) {
		fprintf(stderr,
		        "remote_reuse: the new thread carved %llu blocks: the exited owner's "
		        "slabs were not adopted\n",
		        (unsigned long long)carved);
		return 1;
	}
	return 0;
}

/* ---- many threads free into one owner while it allocates ---- */

/* The owner allocates without pause and hands every block to one of
 * FANIN_FREERS threads, which free them as they come: remote frees land
 * in the slab the owner is allocating from (on its remote list, slab.h)
 * while it takes from it. Each block carries its size at both ends, so a
 * block handed out twice or damaged on a list shows; and since at most
 * FANIN_RING blocks a freer are in flight, plus what the freers' caches
 * hold, the owner must reuse what came back rather than carve. */
enum {
	FANIN_FREERS = 3,
	FANIN_N = 60000,
	FANIN_RING = 128,
	FANIN_BLOCK = 96 /* a class no other phase uses */
};

static struct {
	atomic_uint head, tail; /* head: owner writes; tail: the freer */
	void *p[FANIN_RING];
} fanin[FANIN_FREERS];
static atomic_int fanin_done;

static void *fanin_freer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (;;) {
		unsigned t = atomic_load_explicit(&fanin[me].tail, memory_order_relaxed);
		if (t == atomic_load_explicit(&fanin[me].head, memory_order_acquire)) {
			if (atomic_load_explicit(&fanin_done, memory_order_acquire) &&
			    t == atomic_load_explicit(&fanin[me].head, memory_order_acquire))
				return NULL;
			sched_yield();
			continue;
		}
		check_free(fanin[me].p[t % FANIN_RING]);
		atomic_store_explicit(&fanin[me].tail, t + 1, memory_order_release);
	}
}

static int fanin_phase(void)
{
	pthread_t t[FANIN_FREERS];
	uint32_t rng = 99;
	for (unsigned k = 0; k < FANIN_FREERS; k++)
		if (pthread_create(&t[k], NULL, fanin_freer, (void *)(uintptr_t)k)) return 1;
	uint64_t before = carved_total();
	for (unsigned i = 0; i < FANIN_N; i++) {
		unsigned k = i % FANIN_FREERS;
		void *p = sized(FANIN_BLOCK - xorshift32(&rng) % 8);
		unsigned h = atomic_load_explicit(&fanin[k].head, memory_order_relaxed);
		while (h - atomic_load_explicit(&fanin[k].tail, memory_order_acquire) == FANIN_RING)
			sched_yield();
		fanin[k].p[h % FANIN_RING] = p;
		atomic_store_explicit(&fanin[k].head, h + 1, memory_order_release);
	}
	atomic_store_explicit(&fanin_done, 1, memory_order_release);
	for (unsigned k = 0; k < FANIN_FREERS; k++)
		pthread_join(t[k], NULL);
	uint64_t carved = carved_total() - before;
	printf("remote_reuse: fan-in phase: %u threads freed %u blocks one owner allocated "
	       "meanwhile; it carved %llu\n",
	       FANIN_FREERS, FANIN_N, (unsigned long long)carved);
	const char *check = getenv("HAKMEM_CHECK");
	if (carved * 4 > FANIN_N && !(check && !strcmp(check, "full"))) {
		fprintf(stderr,
		        "remote_reuse: the owner carved %llu of %u blocks while at most %u were "
		        "in flight: its remote frees were not reused\n",
		        (unsigned long long)carved, FANIN_N, FANIN_FREERS * FANIN_RING);
		return 1;
	}
	return 0;
}

/* ---- a thread that only frees keeps little ---- */

/* The producer allocates CONSUME_N blocks and hands them over through a
 * ring; the consumer frees each and allocates nothing. Once both are done
 * the producer flushes its own cache (which also takes the consumer's
 * remote frees into its slab), so what the class still holds out of its
 * slabs is the consumer's cache. A bin that grew there (up to 256 KiB)
 * held 77 KiB or more of these blocks, for a thread that never
 * allocates one. */
enum {
	CONSUME_N = 20000,
	CONSUME_RING = 64,
	CONSUME_BLOCK = 600,          /* a class no other phase uses */
	CONSUME_KEEP_BYTES = 64 << 10 /* about one refill */
};

static struct {
	atomic_uint head, tail;
	void *p[CONSUME_RING];
} consume_ring;
static pthread_barrier_t consume_done, consume_flushed, consume_measured;

static void *consumer(void *arg)
{
	(void)arg;
	for (unsigned n = 0; n < CONSUME_N; n++) {
		unsigned t = atomic_load_explicit(&consume_ring.tail, memory_order_relaxed);
		while (t == atomic_load_explicit(&consume_ring.head, memory_order_acquire))
			sched_yield();
		check_free(consume_ring.p[t % CONSUME_RING]);
		atomic_store_explicit(&consume_ring.tail, t + 1, memory_order_release);
	}
	pthread_barrier_wait(&consume_done);
	pthread_barrier_wait(&consume_flushed);
	pthread_barrier_wait(&consume_measured); /* idle until then, its cache alive */
	return NULL;
}

static void *producer(void *arg)
{
	uint32_t rng = 31337;
	(void)arg;
	for (unsigned n = 0; n < CONSUME_N; n++) {
		void *p = sized(CONSUME_BLOCK - xorshift32(&rng) % 8);
		unsigned h = atomic_load_explicit(&consume_ring.head, memory_order_relaxed);
		while (h - atomic_load_explicit(&consume_ring.tail, memory_order_acquire) ==
		       CONSUME_RING)
			sched_yield();
		consume_ring.p[h % CONSUME_RING] = p;
		atomic_store_explicit(&consume_ring.head, h + 1, memory_order_release);
	}
	pthread_barrier_wait(&consume_done);
	hak_thread_flush();
	pthread_barrier_wait(&consume_flushed);
	pthread_barrier_wait(&consume_measured);
	return NULL;
}

/* Blocks out of their slabs in the class that serves n bytes (in either
 * pool: with HAKMEM_SMALLMID=1 two classes have that size). */
static uint64_t held_of_size(size_t n)
{
	struct hak_stats st;
	hak_stats_get(&st);
	uint32_t size = UINT32_MAX;
	uint64_t held = 0;
	for (unsigned c = 0; c < st.nclasses && c < HAK_STATS_MAX_CLASSES; c++)
		if (st.classes[c].block_size >= n && st.classes[c].block_size < size)
			size = st.classes[c].block_size;
	for (unsigned c = 0; c < st.nclasses && c < HAK_STATS_MAX_CLASSES; c++)
		if (st.classes[c].block_size == size) held += st.classes[c].blocks_held;
	return held;
}

static int consumer_phase(void)
{
	pthread_t prod, cons;
	pthread_barrier_init(&consume_done, NULL, 3);
	pthread_barrier_init(&consume_flushed, NULL, 3);
	pthread_barrier_init(&consume_measured, NULL, 3);
	if (pthread_create(&cons, NULL, consumer, NULL) ||
	    pthread_create(&prod, NULL, producer, NULL))
		return 1;
	pthread_barrier_wait(&consume_done);
	pthread_barrier_wait(&consume_flushed);
	uint64_t held = held_of_size(CONSUME_BLOCK);
	pthread_barrier_wait(&consume_measured);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	printf("remote_reuse: consumer phase: a thread freed %u blocks of %u bytes another "
	       "thread allocated; it still caches %llu (%llu bytes)\n",
	       CONSUME_N, CONSUME_BLOCK, (unsigned long long)held,
	       (unsigned long long)held * CONSUME_BLOCK);
	const char *check = getenv("HAKMEM_CHECK");
	if (held * CONSUME_BLOCK > CONSUME_KEEP_BYTES && !(check && !strcmp(check, "full"))) {
		fprintf(stderr,
		        "remote_reuse: a thread that only frees still caches %llu blocks "
		        "(%llu bytes, more than %u): its bin grew as if it allocated\n",
		        (unsigned long long)held, (unsigned long long)held * CONSUME_BLOCK,
		        CONSUME_KEEP_BYTES);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];
	char *end = NULL;

	expect_hakmem_malloc();
	rounds = 200;
	if (argc > 1) {
		unsigned long v = strtoul(argv[1], &end, 10);
		if (!*argv[1] || *end || v < MIN_ROUNDS || v > 100000) {
			fprintf(stderr, "remote_reuse: ROUNDS must be 1..100000, got '%s'\n",
			        argv[1]);
			return 2;
		}
		rounds = (unsigned)v;
	}
	/* First, on a fresh heap: no other slab of the class has free space. */
	if (owner_phase()) failed = 1;
	pthread_barrier_init(&round_start, NULL, THREADS);
	pthread_barrier_init(&round_mid, NULL, THREADS);
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i)) {
			fprintf(stderr, "remote_reuse: pthread_create failed\n");
			return 1;
		}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	uint64_t carved = carved_total() - carved_after_warmup;
	uint64_t allocated = (uint64_t)THREADS * OPS * rounds;
	printf("remote_reuse: steady phase: %u threads, %u live blocks each, %llu allocated "
	       "after warm-up, %llu carved\n",
	       THREADS, SLOTS, (unsigned long long)allocated, (unsigned long long)carved);
	/* Reused blocks: carving stays a small fraction of what is allocated
	 * (the thread caches' bins settle their depth in the first rounds). */
	if (carved * 50 > allocated) {
		fprintf(stderr,
		        "remote_reuse: %llu blocks carved for a steady live set (more than 2%% of "
		        "%llu allocated): remote frees were not reused\n",
		        (unsigned long long)carved, (unsigned long long)allocated);
		failed = 1;
	}
	if (exit_phase()) failed = 1;
	if (fanin_phase()) failed = 1;
	if (consumer_phase()) failed = 1;
	return failed;
}
