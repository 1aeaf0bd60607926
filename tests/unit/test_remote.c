/* Remote frees: the per-slab remote list (slab.h) and the pool's pending
 * stack (pool.c), driven directly. An owned slab takes other threads'
 * blocks with one CAS each and gives them to its owner before any carve;
 * releasing the slab closes the list and counts what it held; a free
 * that finds the pool lock taken leaves its slab's move to the next
 * holder. Tests run in order; each leaves its class's slabs empty. */
#include "pool_util.h"
#include "env.h"

#include <pthread.h>

#define CLS 9 /* Tiny, stride 208 */
#define CLS2 5
#define CLS3 11 /* a fresh slab: nothing on its freelist */
#define PUSHERS 3
#define PER_PUSHER 3000

static struct hak_pool *tiny = &hak_pools[HAK_POOL_TINY];

static int setup(void **state)
{
	(void)state;
	hak_env.purge_delay_ms = -1;
	hak_env.warm_superslabs = 4;
	return 0;
}

static void *chain_end(void *h, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		h = hak_block_next(h);
	return h;
}

static void *remote_head(const struct hak_slab *s)
{
	return HAK_REMOTE_HEAD(__atomic_load_n(&s->remote, __ATOMIC_ACQUIRE));
}

/* A closed list (an unowned slab) refuses a push and is left untouched;
 * an open one takes chains at its head, and collect moves all of them to
 * the freelist, out of used, in one go. */
static void push_and_collect(void **state)
{
	(void)state;
	struct hak_slab *s = acquire(CLS);
	void *h, *t;
	assert_int_equal(take(s, 10, &h, &t), 10);
	assert_int_equal(s->used, 10);
	assert_int_equal(s->remote, HAK_REMOTE_OPEN);

	void *t1 = chain_end(h, 4); /* h..t1: 4 blocks, then 6 */
	void *after_t1 = hak_block_next(t1);
	assert_true(hak_slab_remote_push(s, h, t1, 4));
	assert_ptr_equal(remote_head(s), h);
	assert_int_equal(HAK_REMOTE_COUNT(s->remote), 4);
	assert_true(hak_slab_remote_push(s, after_t1, t, 6));
	assert_ptr_equal(remote_head(s), after_t1);
	assert_int_equal(HAK_REMOTE_COUNT(s->remote), 10); /* the word counts the chain */
	assert_true(s->remote & HAK_REMOTE_OPEN);
	assert_int_equal(s->used, 10); /* out until the owner looks */
	assert_null(s->freelist);

	hak_spin_lock(&s->lock);
	assert_int_equal(hak_slab_remote_collect(s), 10);
	assert_int_equal(hak_slab_remote_collect(s), 0);
	hak_spin_unlock(&s->lock);
	assert_int_equal(s->used, 0);
	assert_int_equal(s->remote, HAK_REMOTE_OPEN); /* still open */
	uint32_t n = 0;
	for (void *p = s->freelist; p; p = hak_block_next(p))
		n++;
	assert_int_equal(n, 10);

	hak_pool_release(s);
	assert_int_equal(s->remote, 0);
	assert_int_equal(s->state, SLAB_EMPTY);
	/* Closed: a push is refused and writes nothing into the block. */
	void *x = s->freelist;
	uintptr_t link = *(uintptr_t *)x;
	assert_false(hak_slab_remote_push(s, x, x, 1));
	assert_int_equal(*(uintptr_t *)x, link);
	check_pool_invariants(HAK_POOL_TINY);
}

/* A chain collected onto a freelist that already holds blocks is linked
 * in front of them (the walk for its tail); onto an empty one it becomes
 * the freelist as it is. Either way used falls by the word's count and
 * every block is there once. */
static void collect_onto_a_freelist(void **state)
{
	(void)state;
	struct hak_slab *s = acquire(CLS);
	void *h, *t, *h2, *t2;
	assert_int_equal(take(s, 7, &h, &t), 7);
	assert_int_equal(take(s, 5, &h2, &t2), 5);
	hak_spin_lock(&s->lock);
	hak_slab_put(s, h2, t2, 5); /* the freelist holds 5 */
	hak_spin_unlock(&s->lock);
	assert_true(hak_slab_remote_push(s, h, t, 7));
	hak_spin_lock(&s->lock);
	assert_int_equal(hak_slab_remote_collect(s), 7);
	hak_spin_unlock(&s->lock);
	assert_int_equal(s->used, 0);
	assert_ptr_equal(s->freelist, h);
	uint32_t n = 0;
	for (void *p = s->freelist; p; p = hak_block_next(p))
		n++;
	assert_int_equal(n, 12);
	hak_pool_release(s);
	assert_int_equal(s->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);
}

/* The owner's take runs the freelist dry, then collects the remote list,
 * and carves only for what is still missing. */
static void take_collects_before_carving(void **state)
{
	(void)state;
	struct hak_slab *s = acquire(CLS3);
	void *h, *t, *h2, *t2;
	struct hak_take tk;
	assert_int_equal(take(s, 8, &h, &t), 8);
	uint32_t carved = s->carved;
	hak_pool_return_blocks(s, h, t, 8); /* another thread's flush: the remote list */
	assert_ptr_equal(remote_head(s), h);

	hak_spin_lock(&s->lock);
	hak_slab_take(hak_slab_ss(s), s, 6, &h2, &t2, &tk);
	hak_spin_unlock(&s->lock);
	assert_int_equal(tk.got, 6);
	assert_int_equal(tk.from_remote, 8);
	assert_int_equal(tk.from_freelist, 6);
	assert_int_equal(tk.from_carve, 0);
	assert_int_equal(s->carved, carved);
	assert_int_equal(s->used, 6);

	/* 2 left on the freelist, 4 more wanted: the rest is carved. */
	void *h3, *t3;
	hak_spin_lock(&s->lock);
	hak_slab_take(hak_slab_ss(s), s, 6, &h3, &t3, &tk);
	hak_spin_unlock(&s->lock);
	assert_int_equal(tk.from_freelist, 2);
	assert_int_equal(tk.from_remote, 0);
	assert_int_equal(tk.from_carve, 4);

	hak_pool_release(s);
	hak_pool_return_blocks(s, h2, t2, 6);
	hak_pool_return_blocks(s, h3, t3, 6);
	assert_int_equal(s->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);
}

/* The owner lets the slab go (thread exit) with blocks on the list: the
 * close counts them, and with nothing else out the slab is empty. */
static void release_with_blocks_waiting(void **state)
{
	(void)state;
	struct hak_slab *s = acquire(CLS);
	void *h, *t;
	assert_int_equal(take(s, 12, &h, &t), 12);
	void *mid = chain_end(h, 6), *rest = hak_block_next(mid);
	hak_pool_return_blocks(s, h, mid, 6);
	hak_pool_release(s); /* 6 back on the list, 6 still out: partial */
	assert_int_equal(s->state, SLAB_PARTIAL);
	assert_int_equal(s->used, 6);
	assert_int_equal(s->remote, 0);
	/* Unowned now: the push is refused and the slab lock path files it. */
	hak_pool_return_blocks(s, rest, t, 6);
	assert_int_equal(s->state, SLAB_EMPTY);
	assert_int_equal(s->used, 0);
	check_pool_invariants(HAK_POOL_TINY);
}

struct pusher_arg {
	void **blocks;
	unsigned n;
	struct hak_slab *s;
	atomic_int *go;
};

static void *pusher(void *arg)
{
	struct pusher_arg *a = arg;
	while (!atomic_load(a->go))
		;
	for (unsigned i = 0; i < a->n; i++)
		hak_pool_return_blocks(a->s, a->blocks[i], a->blocks[i], 1);
	return NULL;
}

/* Several threads free into one slab while its owner keeps taking: every
 * block comes back exactly once, none is carved twice, and once the
 * owner has collected everything, used is what it holds. */
static void many_threads_free_into_one_owner(void **state)
{
	(void)state;
	struct hak_slab *s = acquire(CLS2);
	uint32_t cap = s->capacity;
	assert_true(cap >= PUSHERS * 100);
	unsigned per = (cap / 2) / PUSHERS;
	static void *blocks[PUSHERS][PER_PUSHER];
	assert_true(per <= PER_PUSHER);
	for (unsigned k = 0; k < PUSHERS; k++)
		for (unsigned i = 0; i < per; i++) {
			void *h, *t;
			assert_int_equal(take(s, 1, &h, &t), 1);
			blocks[k][i] = h;
		}
	atomic_int go = 0;
	pthread_t th[PUSHERS];
	struct pusher_arg args[PUSHERS];
	for (unsigned k = 0; k < PUSHERS; k++) {
		args[k] = (struct pusher_arg){blocks[k], per, s, &go};
		assert_int_equal(pthread_create(&th[k], NULL, pusher, &args[k]), 0);
	}
	atomic_store(&go, 1);
	/* The owner allocates meanwhile: each take sees the list as it is. */
	uint8_t *seen = calloc(cap, 1);
	assert_non_null(seen);
	static void *taken[4096];
	unsigned ntaken = 0;
	uint32_t from_remote = 0;
	for (unsigned round = 0; round < 400 && ntaken + 16 <= 4096; round++) {
		void *h, *t;
		struct hak_take tk;
		hak_spin_lock(&s->lock);
		hak_slab_take_ex(hak_slab_ss(s), s, 4, 0, &h, &t, &tk);
		hak_spin_unlock(&s->lock);
		from_remote += tk.from_remote;
		for (void *p = h; tk.got; p = hak_block_next(p)) {
			long i = hak_slab_block_index(hak_slab_ss(s), s, p);
			assert_true(i >= 0);
			assert_int_equal(seen[i], 0); /* handed out once */
			seen[i] = 1;
			taken[ntaken++] = p;
			if (p == t) break;
		}
	}
	for (unsigned k = 0; k < PUSHERS; k++)
		pthread_join(th[k], NULL);
	hak_spin_lock(&s->lock);
	from_remote += hak_slab_remote_collect(s);
	hak_spin_unlock(&s->lock);
	assert_int_equal(from_remote, PUSHERS * per);
	assert_int_equal(s->used, ntaken);
	assert_int_equal(s->carved, PUSHERS * per);
	/* The freelist holds exactly the pushed blocks nobody took. */
	uint32_t n = 0;
	for (void *p = s->freelist; p; p = hak_block_next(p)) {
		long i = hak_slab_block_index(hak_slab_ss(s), s, p);
		assert_int_equal(seen[i], 0);
		seen[i] = 2;
		n++;
	}
	assert_int_equal(n + ntaken, PUSHERS * per);
	free(seen);

	hak_pool_release(s);
	for (unsigned i = 0; i < ntaken; i++)
		hak_pool_return_blocks(s, taken[i], taken[i], 1);
	assert_int_equal(s->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);
}

/* A free that would move an unowned slab while another thread holds the
 * pool lock does not wait: the slab goes on the pending stack, stays
 * where it was (and counted in its SuperSlab) and the next holder files
 * it. Here the test holds the lock itself. */
static void pending_when_pool_lock_is_taken(void **state)
{
	(void)state;
	struct hak_slab *a = acquire(CLS);
	uint32_t cap = a->capacity;
	void *h, *t;
	assert_int_equal(take(a, cap, &h, &t), cap);
	hak_pool_release(a);
	assert_int_equal(a->state, SLAB_FULL);
	struct hak_superslab *ss = hak_slab_ss(a);
	uint32_t in_use = ss->in_use;

	void *rest = hak_block_next(h);
	pthread_mutex_lock(&tiny->lock);
	hak_pool_return_blocks(a, h, h, 1); /* leaves FULL: pending */
	assert_int_equal(a->pending, 1);
	assert_int_equal(a->state, SLAB_FULL);
	assert_ptr_equal(__atomic_load_n(&tiny->pending, __ATOMIC_ACQUIRE), a);
	hak_pool_return_blocks(a, rest, t, cap - 1); /* all back: still pending, once */
	assert_int_equal(a->used, 0);
	assert_int_equal(a->state, SLAB_FULL);
	assert_null(a->pending_next);
	assert_int_equal(ss->in_use, in_use);
	pthread_mutex_unlock(&tiny->lock);

	/* The next holder (a trim here) files it: empty. */
	hak_pool_trim(0);
	assert_int_equal(a->pending, 0);
	assert_null(__atomic_load_n(&tiny->pending, __ATOMIC_ACQUIRE));
	assert_int_equal(a->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);
}

/* The next acquire drains the stack before it looks for a slab: the
 * pending slab, emptied meanwhile, is filed empty and handed out again. */
static void pending_drained_by_next_acquire(void **state)
{
	(void)state;
	struct hak_slab *a = acquire(CLS);
	void *h, *t, *h2, *t2;
	assert_int_equal(take(a, 4, &h, &t), 4);
	hak_pool_release(a);
	assert_int_equal(a->state, SLAB_PARTIAL);
	pthread_mutex_lock(&tiny->lock);
	hak_pool_return_blocks(a, h, t, 4); /* used 0: pending, still on its partial list */
	assert_int_equal(a->pending, 1);
	assert_int_equal(a->state, SLAB_PARTIAL);
	pthread_mutex_unlock(&tiny->lock);
	struct hak_slab *b = acquire(CLS);
	assert_int_equal(a->pending, 0);
	assert_ptr_equal(b, a);
	assert_int_equal(take(b, 2, &h2, &t2), 2);
	hak_pool_release(b);
	hak_pool_return_blocks(b, h2, t2, 2);
	assert_int_equal(b->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);
}

int main(void)
{
	/* Held throughout, so the SuperSlab stays active and emptied slabs
	 * stay EMPTY rather than FREE in a warm SuperSlab. */
	struct hak_slab *keep = hak_pool_acquire(CLS + 1, &test_owner);
	if (!keep) return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(push_and_collect, setup),
	    cmocka_unit_test_setup(collect_onto_a_freelist, setup),
	    cmocka_unit_test_setup(take_collects_before_carving, setup),
	    cmocka_unit_test_setup(release_with_blocks_waiting, setup),
	    cmocka_unit_test_setup(many_threads_free_into_one_owner, setup),
	    cmocka_unit_test_setup(pending_when_pool_lock_is_taken, setup),
	    cmocka_unit_test_setup(pending_drained_by_next_acquire, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
