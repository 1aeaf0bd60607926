#include "tcache.h"
#include "check.h"
#include "pool.h"
#include "quarantine.h"
#include "trace_hooks.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

__thread struct hak_tcache hak_tc __attribute__((tls_model("initial-exec")));

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_tcache *list_head;
static pthread_key_t exit_key;

/* Marks a slab taken for a single block outside any thread cache. */
static char direct_owner;

/* ---- single blocks, for threads without a usable cache ---- */

static void *direct_alloc(unsigned cls)
{
	struct hak_slab *s = hak_pool_acquire(cls, &direct_owner);
	if (!s) return NULL;
	void *head, *tail;
	struct hak_take t;
	do {
		hak_spin_lock(&s->lock);
		hak_slab_take(hak_slab_ss(s), s, 1, &head, &tail, &t);
		hak_spin_unlock(&s->lock);
	} while (t.got && hak_block_own_bad(head, cls)); /* reported; it leaks */
	hak_pool_release(s);
	if (!t.got) errno = ENOMEM;
	return t.got ? head : NULL;
}

static void direct_free(void *p, unsigned cls)
{
	struct hak_superslab *ss;
	struct hak_slab *s = hak_block_slab(p, cls, &ss);
	hak_pool_return_blocks(s, p, p, 1);
}

/* ---- set-up and thread exit ---- */

#if defined(HAKMEM_CHECKS)
void hak_tcache_free_batch(const struct hak_quarantined *q, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		hak_tcache_free_block(q[i].block, q[i].cls);
}

/* ptr_track's quarantine, a checked batch at a time, into the bins that
 * are flushed next. */
static void quarantine_to_bins(void)
{
	struct hak_quarantined out[64];
	unsigned n;
	while ((n = hak_check_hooks.thread_exit(out, 64)))
		hak_tcache_free_batch(out, n);
}
#endif

static void tcache_teardown(void *arg)
{
	struct hak_tcache *tc = arg;
#if defined(HAKMEM_CHECKS)
	quarantine_to_bins();
#endif
	hak_tcache_flush_all(tc);
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		tc->bins[c].max = 0;
		if (tc->cur[c]) {
			hak_pool_release(tc->cur[c]);
			tc->cur[c] = NULL;
		}
	}
	hak_pool_forget_home(tc);
	hak_counters_thread_end(&tc->ctr);
	pthread_mutex_lock(&list_lock);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		list_head = tc->next;
	if (tc->next) tc->next->prev = tc->prev;
	pthread_mutex_unlock(&list_lock);
	/* Frees from later destructors of this thread go straight to slabs. */
	tc->state = TC_DEAD;
	/* After the flush's events. This key is created before liblttng-ust
	 * loads, so its destructor runs before LTTng closes the thread's perf
	 * counter. */
	HAK_TRACE_THREAD_EXIT();
}

void hak_tcache_global_init(void)
{
	pthread_key_create(&exit_key, tcache_teardown);
}

/* pthread_getattr_np may allocate: callers are still in TC_INIT, so
 * those allocations take the direct path. */
static void find_stack_bounds(struct hak_tcache *tc)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr)) return;
	if (!pthread_attr_getstack(&attr, &addr, &size)) {
		tc->stack_lo = (uintptr_t)addr;
		tc->stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

/* Returns 1 when tc is ready to cache blocks. */
static int tcache_ready(struct hak_tcache *tc)
{
	if (HAK_LIKELY(tc->state == TC_READY)) return 1;
	if (tc->state != TC_UNINIT) return 0; /* exiting, or re-entered from our own set-up */
	/* hak_init has run: the entry points (alloc.c) start it before any
	 * block exists to cache. */
	tc->state = TC_INIT;
	/* Batches and bins sized in bytes (hak_bin_initial, hak_bin_cap), taken
	 * once here so that a refill or an overflow does not divide. */
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		tc->batch[c] = (uint16_t)hak_class_batch(c);
		tc->cap[c] = (uint16_t)hak_bin_cap(c);
		tc->bins[c].max = hak_bin_initial(c);
	}
	pthread_mutex_lock(&list_lock);
	tc->next = list_head;
	tc->prev = NULL;
	if (list_head) list_head->prev = tc;
	list_head = tc;
	pthread_mutex_unlock(&list_lock);
	hak_counters_thread_start(&tc->ctr);
	pthread_setspecific(exit_key, tc);
	if (HAK_CHECKING_FULL()) find_stack_bounds(tc);
	tc->state = TC_READY;
	return 1;
}

/* ---- refill and flush ---- */

static int budget_trim(struct hak_tcache *tc);

void *hak_tcache_refill(struct hak_tcache *tc, unsigned cls)
{
	if (!tcache_ready(tc)) return direct_alloc(cls);

	unsigned want = tc->batch[cls];
	struct hak_slab *s = tc->cur[cls];
	unsigned new_slab = 0;
	void *head, *tail;
	struct hak_take t;
	for (;;) {
		if (s) {
			/* Blocks freed back to other slabs of the class (remote frees,
			 * flushes) come before fresh pages: a slab carves only when
			 * no partial slab holds any, or when it was just taken with
			 * no freed block of its own (the best the pool had). */
			hak_spin_lock(&s->lock);
			int carve = !hak_pool_has_returned(cls) || (new_slab && !s->freelist);
			/* A freelist of at least a batch that fits the bin is taken
			 * whole, without walking its links (they end in NULL). An
			 * empty one takes the remote chain first (counted in its
			 * word, slab.h), so that a chain that other threads
			 * returned goes to the bin the same way. */
			tail = NULL;
			uint32_t early = s->freelist ? 0 : hak_slab_remote_collect(s);
			if (!hak_slab_take_freelist(s, want, tc->cap[cls] + 1u, &head, &t))
				hak_slab_take_ex(hak_slab_ss(s), s, want, carve, &head, &tail, &t);
			t.from_remote += early;
			hak_spin_unlock(&s->lock);
			/* A bad first block (reported) is dropped with its chain. */
			if (t.got && hak_block_own_bad(head, cls)) continue;
			if (t.got) break;
			/* Spent, or only fresh space left: it goes back to the pool
			 * (partial, behind the slabs with freed blocks, or full,
			 * until another thread's frees revive it). */
			hak_pool_release(s);
		}
		s = tc->cur[cls] = hak_pool_acquire(cls, tc);
		if (!s) return NULL;
		new_slab = 1;
		hak_counter_bump(&tc->ctr.cls[cls].new_slabs, 1);
	}
	struct hak_class_counters *k = &tc->ctr.cls[cls];
	hak_counter_bump(&k->refills, 1);
	hak_counter_bump(&k->refill_blocks, t.got);
	hak_counter_bump(&k->from_freelist, t.from_freelist);
	hak_counter_bump(&k->from_carve, t.from_carve);
	hak_counter_bump(&k->pages_touched, t.new_pages);
	/* Traced only: what a carve left waiting on the class's partial slabs. */
	HAK_TRACE_REFILL(cls, hak_class_pool(cls), want, t.got, t.from_freelist, t.from_carve,
	                 new_slab, t.new_pages, t.refault, (uint32_t)hak_class_usable(cls),
	                 t.from_remote, t.from_carve ? hak_pool_waiting_blocks(cls) : 0);
	(void)new_slab;

	tc->keep_credit[cls] = HAK_BIN_KEEP_CREDIT;
	if (t.got > 1) {
		struct hak_bin *b = &tc->bins[cls];
		/* The bin is empty here (malloc found its head NULL), so the count
		 * is set, not added to: that also heals a count left stale when
		 * full mode cut the list at a damaged link. */
		if (tail) hak_block_set_next(tail, NULL);
		b->head = hak_block_next(head);
		b->count = t.got - 1;
		if (b->count > b->max) b->max = b->count; /* a whole freelist, within the cap */
		/* More than a batch: a whole freelist, up to a cap's worth. */
		if (t.got > want) budget_trim(tc);
	}
	return head;
}

/* The block after p in a list of class cls. Under ptr_track each block is
 * checked as it is reached (slab.h hak_block_own_bad): a bad one is
 * reported and the list ends at p, so a flush never writes into it or
 * returns it to a slab. */
static inline void *next_checked(void *p, unsigned cls)
{
	void *q = hak_block_next(p);
	if (q && hak_block_own_bad(q, cls)) {
		hak_block_set_next(p, NULL);
		return NULL;
	}
	return q;
}

/* Returns a detached chain to the slabs, one lock round or one remote
 * push (slab.h) per run of blocks from the same slab. */
static void return_chain(void *p, unsigned cls)
{
	while (p) {
		struct hak_superslab *ss;
		struct hak_slab *s = hak_block_slab(p, cls, &ss);
		void *head = p, *tail = p;
		uint32_t n = 1;
		p = next_checked(p, cls);
		while (p) {
			struct hak_superslab *ss2;
			if (hak_block_slab(p, cls, &ss2) != s) break;
			tail = p;
			n++;
			p = next_checked(p, cls);
		}
		if (HAK_RELAXED_LOAD(s->owner) == (void *)&hak_tc) {
			/* This thread's current slab: only this thread lets it go, so
			 * its freelist takes the run as it is (no walk to count it
			 * later, as a remote list would need). */
			hak_spin_lock(&s->lock);
			hak_slab_put(s, head, tail, n);
			hak_spin_unlock(&s->lock);
		} else {
			hak_pool_return_blocks(s, head, tail, n);
		}
	}
}

/* Keeps the newest `keep` blocks (they are the cache-hot ones). */
static void flush_bin(struct hak_bin *b, unsigned cls, uint32_t keep)
{
	if (b->count <= keep) return;
	if (b->head && hak_block_own_bad(b->head, cls)) {
		b->head = NULL; /* reported: the bin's blocks leak */
		b->count = 0;
		return;
	}
	void *chain;
	if (keep == 0) {
		chain = b->head;
		b->head = NULL;
	} else {
		void *last = b->head;
		for (uint32_t i = 1; i < keep && last; i++)
			last = next_checked(last, cls);
		if (!last) {
			/* Shorter than its count: ptr_track cut it at a damaged link
			 * (already reported). Nothing to flush; recount. */
			uint32_t n = 0;
			for (void *q = b->head; q; q = hak_block_next(q))
				n++;
			b->count = n;
			return;
		}
		chain = next_checked(last, cls);
		hak_block_set_next(last, NULL);
	}
	b->count = keep;
	return_chain(chain, cls);
}

/* The per-thread budget (HAK_TCACHE_BUDGET_BYTES): the bins' bytes are
 * summed only here, on the slow paths, so the push and pop count nothing.
 * Over the budget, the bins holding the most bytes give their older half
 * back and halve their bound (not below two batches), until the bins hold
 * 3/4 of it: every class that a thread both frees and allocates drifts up
 * (bench/ring), and the bounds stop the drift from coming back unseen.
 * Returns 1 when the thread was over its budget. */
static int budget_trim(struct hak_tcache *tc)
{
	uint64_t total = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
		total += (uint64_t)tc->bins[c].count * hak_class_stride[c];
	if (HAK_LIKELY(total <= HAK_TCACHE_BUDGET_BYTES)) return 0;
	/* Bounded: a bin cut short by ptr_track may not give back its count. */
	for (unsigned round = 0; round < 4 * HAK_NUM_CLASSES; round++) {
		if (total <= HAK_TCACHE_BUDGET_BYTES / 4 * 3) break;
		unsigned big = 0;
		uint64_t most = 0;
		for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
			uint64_t bytes = (uint64_t)tc->bins[c].count * hak_class_stride[c];
			if (bytes > most) {
				most = bytes;
				big = c;
			}
		}
		if (!most) break;
		struct hak_bin *b = &tc->bins[big];
		flush_bin(b, big, b->count / 2);
		total -= most - (uint64_t)b->count * hak_class_stride[big];
		uint32_t floor = 2u * tc->batch[big];
		b->max = b->max / 2 > floor ? b->max / 2 : floor;
	}
	return 1;
}

void hak_tcache_free_slow(struct hak_tcache *tc, void *p, unsigned cls)
{
	if (!tcache_ready(tc)) {
		direct_free(p, cls);
		return;
	}
	struct hak_bin *b = &tc->bins[cls];
	if (b->count >= b->max) {
		uint32_t cap = tc->cap[cls];
		if (!tc->keep_credit[cls]) {
			/* Overflowing again and again without a refill: this thread
			 * frees more of the class than it allocates (a consumer of
			 * other threads' blocks). Kept blocks would only hold memory:
			 * all go home, where their owners reuse them before carving,
			 * and the bin shrinks to one refill's batch. */
			b->max = tc->batch[cls];
			flush_bin(b, cls, 0);
		} else if (budget_trim(tc)) {
			/* Over the budget: no growing; the trim may have made room. */
			if (b->count >= b->max) flush_bin(b, cls, b->max / 2);
		} else if (b->max < cap) {
			/* A program that frees in bursts grows its bins, up to the
			 * cap, rather than flushing and refilling on every burst. */
			b->max = b->max * 2 < cap ? b->max * 2 : cap;
		} else {
			flush_bin(b, cls, b->max / 2);
		}
		if (tc->keep_credit[cls]) tc->keep_credit[cls]--;
	}
	hak_block_set_next(p, b->head);
	b->head = p;
	b->count++;
}

uint32_t hak_bin_cap(unsigned cls)
{
	return hak_blocks_in(HAK_BIN_BYTES, hak_class_stride[cls], hak_bin_initial(cls),
	                     HAK_BIN_MAX_BLOCKS);
}

uint32_t hak_bin_initial(unsigned cls)
{
	return hak_blocks_in(HAK_BIN_INITIAL_BYTES, hak_class_stride[cls], 2 * hak_class_batch(cls),
	                     HAK_BIN_INITIAL_MAX_BLOCKS);
}

void hak_tcache_flush_all(struct hak_tcache *tc)
{
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		flush_bin(&tc->bins[c], c, 0);
		/* What other threads freed into the current slab counts as
		 * returned once this thread has flushed. */
		struct hak_slab *s = tc->cur[c];
		if (s && HAK_RELAXED_LOAD(s->remote) > HAK_REMOTE_OPEN) {
			hak_spin_lock(&s->lock);
			hak_slab_remote_collect(s);
			hak_spin_unlock(&s->lock);
		}
	}
}

/* ---- fork ---- */

void hak_tcache_fork_prepare(void)
{
	pthread_mutex_lock(&list_lock);
	hak_counters_fork_prepare();
}
void hak_tcache_fork_parent(void)
{
	hak_counters_fork_parent();
	pthread_mutex_unlock(&list_lock);
}

/* Only the forking thread lives on in the child: hand the other threads'
 * current slabs back to the pool so their free space is not lost. Blocks
 * in their bins stay counted as used, as they would in any allocator. */
void hak_tcache_fork_child(void)
{
	pthread_mutex_init(&list_lock, NULL);
	struct hak_tcache *self = &hak_tc;
	struct hak_tcache *tc = list_head;
	while (tc) {
		struct hak_tcache *next = tc->next;
		if (tc != self) {
			for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
				if (tc->cur[c]) hak_pool_release(tc->cur[c]);
		}
		tc = next;
	}
	list_head = NULL;
	hak_counters_fork_child(self->state == TC_READY ? &self->ctr : NULL);
	if (self->state == TC_READY) {
		self->next = self->prev = NULL;
		list_head = self;
	}
}
