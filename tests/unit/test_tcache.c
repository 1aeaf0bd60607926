/* Thread caches, through hak_malloc/hak_free: refill batches, the flush
 * on overflow, hak_thread_flush, and what thread exit gives back. */
#include "pool_util.h"
#include "tcache.h"

#include <pthread.h>

static struct hak_tcache *tc = NULL;

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1)); /* starts the allocator and this thread's cache */
	tc = &hak_tc;
	assert_int_equal(tc->state, TC_READY);
	return 0;
}

static uint64_t held(unsigned c)
{
	return stats_now().classes[c].blocks_held;
}

/* A miss moves one batch out of the slab: one block to the caller, the
 * rest into the bin. No refill until the bin is dry. */
static void refill_moves_one_batch(void **state)
{
	(void)state;
	/* Classes by request size: with HAKMEM_SMALLMID=1 the 399-byte one is
	 * a Small-Mid class. */
	const size_t sizes[] = {90, 399, 1700, 6000, HAK_MID_MAX};
	for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		unsigned c = hak_size_class(sizes[k]), batch = hak_class_batch(c);
		size_t size = size_of_class(c);
		void *p[64];
		hak_thread_flush();
		assert_int_equal(tc->bins[c].count, 0);
		struct hak_stats st0 = stats_now();

		p[0] = hak_malloc(size);
		assert_non_null(p[0]);
		assert_int_equal(tc->bins[c].count, batch - 1);
		struct hak_stats st = stats_now();
		assert_int_equal(st.classes[c].refills, st0.classes[c].refills + 1);
		assert_int_equal(st.classes[c].refill_blocks, st0.classes[c].refill_blocks + batch);
		assert_int_equal(st.classes[c].blocks_held, st0.classes[c].blocks_held + batch);
		for (unsigned i = 1; i < batch; i++)
			p[i] = hak_malloc(size);
		assert_int_equal(tc->bins[c].count, 0);
		assert_int_equal(stats_now().classes[c].refills, st0.classes[c].refills + 1);
		p[batch] = hak_malloc(size);
		st = stats_now();
		assert_int_equal(st.classes[c].refills, st0.classes[c].refills + 2);
		assert_int_equal(tc->bins[c].count, batch - 1);
		for (unsigned i = 0; i <= batch; i++)
			hak_free(p[i]);
		hak_thread_flush();
		assert_int_equal(held(c), st0.classes[c].blocks_held);
	}
}

/* A bin that overflows below its cap doubles instead of flushing. */
static void bin_grows_before_flushing(void **state)
{
	(void)state;
	const unsigned c =
	    23; /* Mid, 4111 bytes: starts at 32 (two refills), capped at 64 (256 KiB) */
	hak_thread_flush();
	tc->bins[c].max = hak_bin_initial(c);
	uint32_t first = tc->bins[c].max, cap = hak_bin_cap(c);
	assert_int_equal(first, 32);
	assert_int_equal(cap, 64);
	static void *p[160];
	assert_int_equal(hak_size_class(4096), c);
	for (unsigned i = 0; i < 160; i++)
		p[i] = hak_malloc(4096);
	hak_thread_flush();
	uint64_t h0 = held(c);
	for (unsigned i = 0; i <= first; i++)
		hak_free(p[i]);
	assert_int_equal(tc->bins[c].max, 2 * first);
	assert_int_equal(tc->bins[c].count, first + 1); /* nothing flushed */
	assert_int_equal(held(c), h0);
	for (unsigned i = first + 1; i < 160; i++)
		hak_free(p[i]);
	assert_int_equal(tc->bins[c].max, cap);
	assert_true(tc->bins[c].count <= cap);
	hak_thread_flush();
}

/* A full bin keeps its newest half and gives the older half back. */
static void overflow_flush_keeps_newest(void **state)
{
	(void)state;
	const unsigned c = 7, n = 300;
	/* Start with the bin grown to its cap: from there it flushes. */
	assert_int_equal(hak_bin_initial(c), 64);
	assert_true(hak_bin_initial(c) >= 4 * hak_class_batch(c));
	tc->bins[c].max = hak_bin_cap(c);
	uint32_t max = tc->bins[c].max;
	assert_int_equal(max, 256);
	static void *p[300];
	hak_thread_flush();
	for (unsigned i = 0; i < n; i++)
		p[i] = hak_malloc(hak_class_usable(c));
	hak_thread_flush();
	uint64_t h0 = held(c);

	for (unsigned i = 0; i < max; i++)
		hak_free(p[i]);
	assert_int_equal(tc->bins[c].count, max);
	assert_int_equal(held(c), h0); /* still out: cached blocks count as held */
	hak_free(p[max]);
	assert_int_equal(tc->bins[c].count, max / 2 + 1);
	assert_int_equal(held(c), h0 - max / 2);
	/* The bin, newest first: p[max], p[max-1], ..., p[max/2]. */
	void *q = tc->bins[c].head;
	for (unsigned i = 0; i <= max / 2; i++, q = hak_block_next(q))
		assert_ptr_equal(q, p[max - i]);
	assert_null(q);
	/* The older half went to their slab: the next refill finds them. */
	struct hak_superslab *ss;
	struct hak_slab *s = hak_block_slab(p[0], c, &ss);
	unsigned on_freelist = 0;
	for (void *f = s->freelist; f; f = hak_block_next(f))
		for (unsigned i = 0; i < max / 2; i++)
			on_freelist += f == p[i];
	assert_int_equal(on_freelist, max / 2);

	/* Pops come back LIFO, then a refill takes the freelist first: the
	 * whole of it, in one step, since it holds more than a batch and fits
	 * the bin. */
	for (unsigned i = 0; i <= max / 2; i++)
		assert_ptr_equal(hak_malloc(hak_class_usable(c)), p[max - i]);
	assert_ptr_equal(tc->cur[c], s);
	uint32_t listed = s->carved - s->used;
	assert_in_range(listed, max / 2, max);
	struct hak_stats st0 = stats_now();
	void *r = hak_malloc(hak_class_usable(c));
	struct hak_stats st = stats_now();
	assert_int_equal(st.classes[c].from_freelist - st0.classes[c].from_freelist, listed);
	assert_int_equal(st.classes[c].from_carve, st0.classes[c].from_carve);
	assert_int_equal(tc->bins[c].count, listed - 1);
	assert_null(s->freelist);
	/* r came from p[0..max/2-1], which went back to the slab; the others
	 * of them now sit in the bin. The rest are still the test's. */
	int from_flushed = 0;
	for (unsigned i = 0; i < max / 2; i++)
		from_flushed |= r == p[i];
	assert_true(from_flushed);
	hak_free(r);
	for (unsigned i = max / 2; i < n; i++)
		hak_free(p[i]);
	hak_thread_flush();
	assert_int_equal(tc->bins[c].count, 0);
	assert_int_equal(held(c), h0 - n);
}

/* A bin that overflows HAK_BIN_KEEP_CREDIT times without a refill belongs
 * to a thread that frees more of the class than it allocates: it falls
 * back to one batch and flushes whole. A refill lets it grow again. */
static void bin_without_refills_shrinks(void **state)
{
	(void)state;
	const unsigned c = 7, n = 1400; /* 144 bytes: 64 blocks at first, 256 at the cap */
	static void *p[1400];
	uint32_t first = hak_bin_initial(c), cap = hak_bin_cap(c), batch = hak_class_batch(c);
	hak_thread_flush();
	for (unsigned i = 0; i < n; i++)
		p[i] = hak_malloc(hak_class_usable(c));
	hak_thread_flush();
	/* (a refill that took a whole freelist may have raised it) */
	tc->bins[c].max = first;
	uint64_t h0 = held(c);
	/* Two overflows on the way to cap frees double the bin to its cap,
	 * then the others of the HAK_BIN_KEEP_CREDIT each keep half: after
	 * 256 + 6 * 128 = 1024 frees the bin still keeps blocks. */
	assert_int_equal(cap, 4 * first);
	unsigned i = 0;
	for (; i < cap + (HAK_BIN_KEEP_CREDIT - 2) * cap / 2; i++)
		hak_free(p[i]);
	assert_int_equal(tc->bins[c].max, cap);
	assert_int_equal(tc->bins[c].count, cap);
	/* The next overflow finds no credit left: everything goes home. */
	hak_free(p[i++]);
	assert_int_equal(tc->bins[c].max, batch);
	assert_int_equal(tc->bins[c].count, 1);
	assert_int_equal(held(c), h0 - (i - 1));
	for (; i < n; i++)
		hak_free(p[i]);
	assert_true(tc->bins[c].count <= batch);
	assert_int_equal(tc->keep_credit[c], 0);
	/* A refill: the thread allocates from the class again, so its next
	 * overflows may grow the bin once more. */
	hak_thread_flush();
	void *q = hak_malloc(hak_class_usable(c));
	assert_int_equal(tc->keep_credit[c], HAK_BIN_KEEP_CREDIT);
	hak_free(q);
	hak_thread_flush();
	assert_int_equal(held(c), h0 - n);
}

/* Bins and refill batches are budgets in bytes, turned into blocks per
 * class (docs/architecture.md, "Thread cache bins"). */
static uint32_t nearest(uint32_t bytes, unsigned c)
{
	return (bytes + hak_class_stride[c] / 2) / hak_class_stride[c];
}

static void bins_sized_in_bytes(void **state)
{
	(void)state;
	uint64_t bound = 0, bound_no_smallmid = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		uint32_t stride = hak_class_stride[c], batch = hak_class_batch(c);
		uint32_t first = hak_bin_initial(c), cap = hak_bin_cap(c);
		/* A refill: about 64 KiB, 2 to 16 blocks. */
		assert_in_range(batch, HAK_REFILL_MIN_BLOCKS, HAK_REFILL_MAX_BLOCKS);
		if (batch > HAK_REFILL_MIN_BLOCKS && batch < HAK_REFILL_MAX_BLOCKS)
			assert_int_equal(batch, nearest(HAK_REFILL_BYTES, c));
		/* The first bound: about 64 KiB, 2 batches to 64 blocks. */
		assert_true(first >= 2 * batch);
		assert_true(first <= HAK_BIN_INITIAL_MAX_BLOCKS || first == 2 * batch);
		if (first > 2 * batch && first < HAK_BIN_INITIAL_MAX_BLOCKS)
			assert_int_equal(first, nearest(HAK_BIN_INITIAL_BYTES, c));
		/* The cap: about 256 KiB, at most 256 blocks. */
		assert_in_range(cap, first, HAK_BIN_MAX_BLOCKS);
		if (cap > first && cap < HAK_BIN_MAX_BLOCKS)
			assert_int_equal(cap, nearest(HAK_BIN_BYTES, c));
		assert_true((uint64_t)cap * stride <= HAK_BIN_BYTES + stride / 2);
		/* What the refill and the overflow read: the same, set once. */
		assert_int_equal(tc->batch[c], batch);
		assert_int_equal(tc->cap[c], cap);
		bound += (uint64_t)cap * stride;
		if (c < HAK_SMALLMID_FIRST) bound_no_smallmid += (uint64_t)cap * stride;
	}
	/* The thread cache's bound (docs/architecture.md): 5.1 MiB, 5.7 MiB
	 * with the Small-Mid bins; it was 8.6 MiB with bins sized in blocks. */
	assert_true(bound_no_smallmid <= HAK_TCACHE_MAX_BYTES);
	assert_true(bound <= HAK_TCACHE_MAX_BYTES_SMALLMID);
	/* What the byte budget is for: 4 KiB bins deep enough for a burst of
	 * 64 frees (fixed-4096), 16 KiB refills of 4 blocks, not 2 (ring). */
	assert_true(hak_bin_cap(hak_size_class(4096)) >= 64);
	assert_int_equal(hak_class_batch(hak_size_class(16384)), 4);
	assert_int_equal(hak_bin_cap(hak_size_class(64)), 256);
	assert_int_equal(hak_class_batch(hak_size_class(64)), 16);
}

/* Allocate a mix, free it all, flush: every class is back where it was. */
/* A thread that frees and allocates many classes fills their bins; the
 * bins together stay near HAK_TCACHE_BUDGET_BYTES (1.3 MiB), where each
 * would grow to its cap (about 6 MiB before the budget). */
static uint64_t bin_bytes(void)
{
	uint64_t total = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
		total += (uint64_t)tc->bins[c].count * hak_class_stride[c];
	return total;
}

static void bins_stay_within_the_budget(void **state)
{
	(void)state;
	enum { CLASSES = HAK_SMALLMID_FIRST, PER = 260 };
	static void *p[CLASSES][PER];
	hak_thread_flush();
	uint64_t h0[CLASSES];
	for (unsigned c = 0; c < CLASSES; c++)
		h0[c] = held(c);
	for (unsigned c = 0; c < CLASSES; c++)
		for (unsigned i = 0; i < hak_bin_cap(c); i++)
			p[c][i] = hak_malloc(hak_class_usable(c));
	/* Round robin, as such a thread frees: every bin fills at once. */
	uint64_t most = 0;
	for (unsigned i = 0; i < PER; i++)
		for (unsigned c = 0; c < CLASSES; c++) {
			if (i >= hak_bin_cap(c)) continue;
			hak_free(p[c][i]);
			uint64_t b = bin_bytes();
			if (b > most) most = b;
		}
	print_message("bins peaked at %llu KiB\n", (unsigned long long)(most >> 10));
	/* Between two checks the bins below their bound still fill. */
	assert_true(most <= HAK_TCACHE_BUDGET_BYTES / 2 * 3);
	hak_thread_flush();
	for (unsigned c = 0; c < CLASSES; c++)
		assert_int_equal(held(c), h0[c]);
}

static void thread_flush_returns_everything(void **state)
{
	(void)state;
	enum { N = 3000 };
	static void *p[N];
	hak_thread_flush();
	struct hak_stats st0 = stats_now();
	for (unsigned i = 0; i < N; i++) {
		size_t size = (i * 7919u) % (HAK_MID_MAX + 1);
		p[i] = hak_malloc(size);
		assert_non_null(p[i]);
		memset(p[i], (int)i, size < 64 ? size : 64);
	}
	for (unsigned i = 0; i < N; i++)
		hak_free(p[(i * 13) % N]); /* N is not a multiple of 13: a permutation */
	unsigned cached = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
		cached += tc->bins[c].count;
	assert_true(cached > 0);
	hak_thread_flush();
	struct hak_stats st = stats_now();
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		assert_int_equal(tc->bins[c].count, 0);
		assert_null(tc->bins[c].head);
		assert_int_equal(st.classes[c].blocks_held, st0.classes[c].blocks_held);
	}
	check_pool_invariants(HAK_POOL_TINY);
	check_pool_invariants(HAK_POOL_MID);
}

/* ---- threads ---- */

struct worker {
	unsigned cls, nalloc, keep; /* keep: blocks handed to the joiner */
	void **out;
	size_t size;
	struct hak_tcache *tc;
	uint64_t refills;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *p[512];
	size_t size = w->size;
	for (unsigned i = 0; i < w->nalloc; i++) {
		p[i] = hak_malloc(size);
		memset(p[i], 0x77, size);
	}
	for (unsigned i = 0; i < w->keep; i++)
		w->out[i] = p[i];
	for (unsigned i = w->keep; i < w->nalloc; i++)
		hak_free(p[i]);
	w->tc = &hak_tc;
	w->refills = hak_tc.ctr.cls[w->cls].refills;
	return NULL;
}

/* No slab may still be owned by an exited thread's cache. */
static void assert_no_slab_owned_by(const void *owner)
{
	for (unsigned k = 0; k < 2; k++) {
		struct hak_pool *pl = &hak_pools[k];
		pthread_mutex_lock(&pl->lock);
		for (struct hak_superslab *ss = pl->active.head; ss; ss = ss->next)
			for (unsigned i = 0; i < ss->nslabs; i++)
				assert_ptr_not_equal(ss->slabs[i].owner, owner);
		pthread_mutex_unlock(&pl->lock);
	}
}

static void thread_exit_returns_caches(void **state)
{
	(void)state;
	const unsigned c = 9;
	hak_thread_flush();
	struct hak_stats st0 = stats_now();
	struct worker w = {.cls = c, .nalloc = 300, .size = size_of_class(c)};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	struct hak_stats st = stats_now();
	assert_int_equal(st.classes[c].blocks_held, st0.classes[c].blocks_held);
	assert_no_slab_owned_by(w.tc);
	/* The exited thread's refills still count. */
	assert_true(w.refills >= 300 / hak_class_batch(c));
	assert_int_equal(st.classes[c].refills, st0.classes[c].refills + w.refills);
	check_pool_invariants(HAK_POOL_TINY);
}

/* Blocks outlive their thread; freed here, they go home to its slabs. */
static void blocks_freed_by_another_thread(void **state)
{
	(void)state;
	const unsigned c = HAK_TINY_CLASSES + 2;
	void *kept[100];
	hak_thread_flush();
	struct hak_stats st0 = stats_now();
	struct worker w = {
	    .cls = c, .nalloc = 150, .keep = 100, .out = kept, .size = size_of_class(c)};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* Only the blocks it handed over are still out. */
	assert_int_equal(held(c), st0.classes[c].blocks_held + 100);
	for (unsigned i = 0; i < 100; i++) {
		uint8_t *b = kept[i];
		assert_int_equal(b[0], 0x77);
		assert_int_equal(b[size_of_class(c) - 1], 0x77);
		hak_free(kept[i]);
	}
	hak_thread_flush();
	assert_int_equal(held(c), st0.classes[c].blocks_held);
	check_pool_invariants(HAK_POOL_MID);
}

/* A thread-exit destructor that runs after the cache's own teardown still
 * allocates and frees, straight from and to the slabs. */
static pthread_key_t late_key;
static struct {
	int state;
	int ok;
	uint32_t bin_count, bin_max;
} late;

static void late_destructor(void *arg)
{
	(void)arg;
	late.state = hak_tc.state;
	char *p = hak_malloc(100);
	late.ok = p != NULL;
	if (p) {
		memset(p, 1, 100);
		hak_free(p);
	}
	late.bin_count = hak_tc.bins[hak_size_class(100)].count;
	late.bin_max = hak_tc.bins[hak_size_class(100)].max;
}

static void *late_main(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(100)); /* this thread's cache is live */
	pthread_setspecific(late_key, (void *)1);
	return NULL;
}

static void frees_after_thread_teardown_go_to_slabs(void **state)
{
	(void)state;
	const unsigned c = hak_size_class(100);
	/* Created after the allocator's own key: glibc runs it later. */
	assert_int_equal(pthread_key_create(&late_key, late_destructor), 0);
	hak_thread_flush();
	uint64_t h0 = held(c);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, late_main, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(late.state, TC_DEAD);
	assert_true(late.ok);
	assert_int_equal(late.bin_count, 0);
	assert_int_equal(late.bin_max, 0);
	assert_int_equal(held(c), h0);
	pthread_key_delete(late_key);
	check_pool_invariants(HAK_POOL_TINY);
}

/* A class whose slab holds 7 blocks: refills move on to new slabs, and
 * every block is distinct and of the class. */
static void refill_moves_to_a_new_slab_when_spent(void **state)
{
	(void)state;
	const unsigned c = HAK_SMALLMID_FIRST - 1;
	enum { N = 30 };
	void *p[N];
	hak_thread_flush();
	struct hak_stats st0 = stats_now();
	for (unsigned i = 0; i < N; i++) {
		p[i] = hak_malloc(HAK_MID_MAX);
		assert_non_null(p[i]);
		assert_int_equal(((uint8_t *)p[i])[-1], hak_hdr_live(c));
		for (unsigned j = 0; j < i; j++)
			assert_ptr_not_equal(p[i], p[j]);
	}
	struct hak_stats st = stats_now();
	unsigned cap = ((1u << HAK_SLAB_SHIFT_MID) - HAK_ALIGN) / hak_class_stride[c];
	assert_true(st.classes[c].new_slabs - st0.classes[c].new_slabs >= N / cap);
	for (unsigned i = 0; i < N; i++)
		hak_free(p[i]);
	hak_thread_flush();
	assert_int_equal(held(c), st0.classes[c].blocks_held);
	check_pool_invariants(HAK_POOL_MID);
}

/* The pops (tcache.h) own the bin's head and count: the plain pop takes
 * the newest block and follows its link; an empty bin gives NULL. */
static void pop_takes_the_newest(void **state)
{
	(void)state;
	const unsigned c = hak_size_class(200);
	hak_thread_flush();
	assert_null(hak_tcache_pop(c));
	assert_int_equal(tc->bins[c].count, 0);
	void *a = hak_malloc(200), *b = hak_malloc(200); /* a refill: the rest in the bin */
	uint32_t n = tc->bins[c].count;
	hak_free(a);
	hak_free(b);
	assert_int_equal(tc->bins[c].count, n + 2);
	assert_ptr_equal(hak_tcache_pop(c), b);
	assert_int_equal(tc->bins[c].count, n + 1);
	assert_ptr_equal(hak_tcache_pop(c), a);
	assert_int_equal(tc->bins[c].count, n);
	for (uint32_t i = 0; i < n; i++)
		assert_non_null(hak_tcache_pop(c));
	assert_null(hak_tcache_pop(c));
	assert_int_equal(tc->bins[c].count, 0);
	/* Their blocks stay out of the bin (the test's); a and b go back. */
	hak_tcache_push(a, c);
	hak_tcache_push(b, c);
	assert_ptr_equal(hak_tcache_pop(c), b);
	assert_ptr_equal(hak_tcache_pop(c), a);
	assert_null(hak_tcache_pop(c));
	hak_tcache_push(a, c);
	hak_thread_flush();
}

/* The checked pop takes the head only when its header is the freed one of
 * the class and its link is in range, and makes it live; a refused head
 * (wrong header, a link into no SuperSlab) stays as it was, bin and
 * header untouched. Dropping a bin empties it. */
static void checked_pop_refuses_without_writing(void **state)
{
	(void)state;
#if defined(HAKMEM_CHECKS)
	if (!HAK_CHECKING()) skip();
	const unsigned c = hak_size_class(200);
	hak_thread_flush();
	assert_null(hak_tcache_pop_checked(c));
	uint8_t *a = hak_malloc(200), *b = hak_malloc(200);
	uint32_t n = tc->bins[c].count;
	hak_free(a);
	hak_free(b);
	assert_ptr_equal(hak_tcache_head(c), b);

	b[-1] = 'A';
	assert_null(hak_tcache_pop_checked(c));
	assert_ptr_equal(hak_tcache_head(c), b);
	assert_int_equal(tc->bins[c].count, n + 2);
	assert_int_equal(b[-1], 'A');
	b[-1] = hak_hdr_freed(c);

	uintptr_t link;
	memcpy(&link, b, sizeof link);
	memset(b, 0x41, sizeof link);
	assert_null(hak_tcache_pop_checked(c));
	assert_ptr_equal(hak_tcache_head(c), b);
	assert_int_equal(tc->bins[c].count, n + 2);
	assert_int_equal(b[-1], hak_hdr_freed(c));
	memcpy(b, &link, sizeof link);

	assert_ptr_equal(hak_tcache_pop_checked(c), b);
	assert_int_equal(b[-1], hak_hdr_live(c));
	assert_ptr_equal(hak_tcache_head(c), a);
	assert_int_equal(tc->bins[c].count, n + 1);
	hak_free(b);
	hak_tcache_drop(c);
	assert_null(hak_tcache_head(c));
	assert_int_equal(tc->bins[c].count, 0);
	/* The dropped bin's blocks leak, as a reported bin's do. */
#else
	skip();
#endif
}

/* Whether free takes the release path (free_plain): HAKMEM_CHECK=off. */
static int plain_frees(void)
{
#if defined(HAKMEM_CHECKS)
	return hak_check_level == HAK_CHECK_OFF;
#else
	return 1;
#endif
}

/* n blocks of the 64-byte class freed in a row: a run, on the release
 * path. */
static void free_a_run(void **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = hak_malloc(64);
	for (unsigned i = 0; i < n; i++)
		hak_free(p[i]);
	if (plain_frees()) assert_true(tc->run_len >= HAK_FREE_RUN);
}

/* The release free's runs (tcache.h hak_tcache_push_run): once a run of
 * one class holds, a block of another class, an aligned block or a large
 * one still goes where its own header says, and ends the run. */
static void free_runs_end_at_another_header(void **state)
{
	(void)state;
	const unsigned a = hak_size_class(64), b = hak_size_class(4000);
	void *run[HAK_FREE_RUN + 4];
	void *other = hak_malloc(4000), *aligned = hak_aligned_alloc(256, 64);
	void *large = hak_malloc(1u << 20);
	assert_non_null(other);
	assert_non_null(aligned);
	assert_non_null(large);
	assert_int_equal((uintptr_t)aligned % 256, 0);

	free_a_run(run, HAK_FREE_RUN + 4);
	uint32_t na = tc->bins[a].count, nb = tc->bins[b].count;
	hak_free(other);
	assert_int_equal(tc->bins[a].count, na);
	assert_int_equal(tc->bins[b].count, nb + 1);
	assert_ptr_equal(hak_tcache_head(b), other);
	if (plain_frees()) assert_int_equal(tc->run_len, 0);

	/* The aligned block's header is not a class's: it goes back as the
	 * slab block that holds it, never as itself. */
	free_a_run(run, HAK_FREE_RUN + 4);
	na = tc->bins[a].count;
	hak_free(aligned);
	assert_ptr_not_equal(hak_tcache_head(a), aligned);
	assert_ptr_equal(hak_tcache_head(a), run[HAK_FREE_RUN + 3]);
	assert_int_equal(tc->bins[a].count, na);

	free_a_run(run, HAK_FREE_RUN + 4);
	na = tc->bins[a].count;
	hak_free(large);
	assert_ptr_equal(hak_tcache_head(a), run[HAK_FREE_RUN + 3]);
	assert_int_equal(tc->bins[a].count, na);

	/* And the run's own class still comes back newest first. */
	assert_ptr_equal(hak_malloc(64), run[HAK_FREE_RUN + 3]);
	assert_ptr_equal(hak_malloc(4000), other);
	hak_free(other);
	hak_free(run[HAK_FREE_RUN + 3]);
	hak_thread_flush();
}

/* Small-Mid blocks (1 MiB SuperSlabs, outside the unit map) take their
 * class from the header on the release path, and still make runs: a row
 * of frees of one Small-Mid class goes through hak_tcache_push_run. Runs
 * only where the release path and the layer are both on. */
static void smallmid_frees_make_runs(void **state)
{
	(void)state;
	if (!plain_frees() || !hak_smallmid_enabled) skip();
	const unsigned c = hak_size_class(500);
	assert_true(c >= HAK_SMALLMID_FIRST);
	void *p[HAK_FREE_RUN + 4];
	for (unsigned i = 0; i < HAK_FREE_RUN + 4; i++)
		assert_non_null(p[i] = hak_malloc(500));
	for (unsigned i = 0; i < HAK_FREE_RUN + 4; i++)
		hak_free(p[i]);
	assert_true(tc->run_len >= HAK_FREE_RUN);
	assert_int_equal(tc->run_cls, c);
	assert_ptr_equal(hak_tcache_head(c), p[HAK_FREE_RUN + 3]);
	hak_thread_flush();
}

/* On the release path, frees of mixed classes that make no run take their
 * class from the SuperSlab's unit map: each block reaches its own bin,
 * Tiny and Mid alike, and an aligned pointer inside a block still goes
 * back as that block. */
static void mixed_frees_reach_their_bins(void **state)
{
	(void)state;
	const unsigned c[3] = {hak_size_class(48), hak_size_class(3000), hak_size_class(700)};
	enum { N = 8 };
	void *p[N][3];
	for (unsigned i = 0; i < N; i++)
		for (unsigned k = 0; k < 3; k++)
			assert_non_null(p[i][k] = hak_malloc(k == 0 ? 48 : k == 1 ? 3000 : 700));
	void *aligned = hak_aligned_alloc(256, 16);
	assert_non_null(aligned);
	assert_int_equal((uintptr_t)aligned % 256, 0);
	for (unsigned i = 0; i < N; i++)
		for (unsigned k = 0; k < 3; k++) {
			uint32_t n = tc->bins[c[k]].count;
			hak_free(p[i][k]);
			assert_ptr_equal(hak_tcache_head(c[k]), p[i][k]);
			assert_int_equal(tc->bins[c[k]].count, n + 1);
			if (plain_frees()) assert_true(tc->run_len < HAK_FREE_RUN);
		}
	/* Not pushed as itself: the three bins keep their heads. */
	hak_free(aligned);
	for (unsigned k = 0; k < 3; k++)
		assert_ptr_equal(hak_tcache_head(c[k]), p[N - 1][k]);
	for (unsigned i = N; i-- > 0;)
		for (unsigned k = 0; k < 3; k++)
			assert_ptr_equal(hak_malloc(k == 0 ? 48 : k == 1 ? 3000 : 700), p[i][k]);
	for (unsigned i = 0; i < N; i++)
		for (unsigned k = 0; k < 3; k++)
			hak_free(p[i][k]);
	hak_thread_flush();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refill_moves_one_batch),
	    cmocka_unit_test(bin_grows_before_flushing),
	    cmocka_unit_test(overflow_flush_keeps_newest),
	    cmocka_unit_test(bin_without_refills_shrinks),
	    cmocka_unit_test(bins_sized_in_bytes),
	    cmocka_unit_test(bins_stay_within_the_budget),
	    cmocka_unit_test(thread_flush_returns_everything),
	    cmocka_unit_test(thread_exit_returns_caches),
	    cmocka_unit_test(blocks_freed_by_another_thread),
	    cmocka_unit_test(frees_after_thread_teardown_go_to_slabs),
	    cmocka_unit_test(refill_moves_to_a_new_slab_when_spent),
	    cmocka_unit_test(pop_takes_the_newest),
	    cmocka_unit_test(checked_pop_refuses_without_writing),
	    cmocka_unit_test(free_runs_end_at_another_header),
	    cmocka_unit_test(mixed_frees_reach_their_bins),
	    cmocka_unit_test(smallmid_frees_make_runs),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
