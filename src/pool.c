#include "pool.h"
#include "pool_lists.h"
#include "env.h"
#include "large.h"
#include "os.h"
#include "slab.h"
#include "stats_counters.h"

#include <errno.h>

/* One pool per row of the geometry (geometry.h). */
#define POOL_INIT(k, name, first, count, ssb, slb, hdr)                                            \
	[k] = {.lock = PTHREAD_MUTEX_INITIALIZER,                                                  \
	       .kind = k,                                                                          \
	       .ss_shift = ssb,                                                                    \
	       .slab_shift = slb,                                                                  \
	       .class_first = first,                                                               \
	       .class_count = count},

struct hak_pool hak_pools[HAK_NUM_POOLS] = {HAK_POOLS(POOL_INIT)};

/* ---- SuperSlab life cycle ---- */

static struct hak_superslab *ss_map_new(struct hak_pool *pl, unsigned reason,
                                        struct hak_event_buf *ev)
{
	uint64_t t0 = hak_now_ns();
	struct hak_superslab *ss = hak_superslab_map(pl->kind, pl->ss_shift, pl->slab_shift);
	if (!ss) return NULL;
	sslist_push(&pl->active, ss);
	with_free_add(pl, ss);
	HAK_STAT_ADD(ss_mapped, 1);
	HAK_STAT_ADD(ss_live, 1);
	HAK_STAT_ADD(mapped_bytes, ss->size);
	HAK_STAT_ADD(pages_touched, 1);
	hak_event_add(ev, (struct hak_event){.type = HAK_EV_SS_MMAP,
	                                     .ss_mmap = {.pool = pl->kind,
	                                                 .reason = (uint8_t)reason,
	                                                 .ss = (uintptr_t)ss,
	                                                 .size = ss->size,
	                                                 .ns = hak_now_ns() - t0}});
	return ss;
}

static void ss_unmap(struct hak_pool *pl, struct hak_ss_list *from, struct hak_superslab *ss,
                     unsigned reason, struct hak_event_buf *ev)
{
	sslist_remove(from, ss);
	HAK_STAT_ADD(ss_unmapped, 1);
	HAK_STAT_SUB(ss_live, 1);
	HAK_STAT_SUB(ss_warm, 1);
	HAK_STAT_SUB(mapped_bytes, ss->size);
	hak_event_add(ev, (struct hak_event){.type = HAK_EV_SS_MUNMAP,
	                                     .ss_munmap = {.pool = pl->kind,
	                                                   .reason = (uint8_t)reason,
	                                                   .ss = (uintptr_t)ss,
	                                                   .size = ss->size}});
	hak_superslab_unmap(ss);
}

/* Every slab is FREE or EMPTY: park the SuperSlab, resident, in the warm
 * cache. Unmapping now would make the next burst fault all over again. */
static void ss_to_warm(struct hak_pool *pl, struct hak_superslab *ss, uint64_t now)
{
	for (unsigned i = 0; i < ss->nslabs; i++) {
		struct hak_slab *s = &ss->slabs[i];
		if (s->state == SLAB_EMPTY)
			slist_remove(s->on_purged ? &pl->empty_purged : &pl->empty, s);
		s->on_purged = 0;
		HAK_RELAXED_STORE(s->state, SLAB_FREE);
		hak_slab_set_class(s, HAK_NO_CLASS);
	}
	if (ss->free_slots) with_free_remove(pl, ss);
	ss->free_slots = ss->nslabs == 32 ? 0xffffffffu : (1u << ss->nslabs) - 1;
	ss->home = NULL;
	sslist_remove(&pl->active, ss);
	lru_forget(pl, ss);
	ss->warm = 1;
	ss->warm_since_ns = now;
	sslist_push(&pl->warm, ss);
	HAK_STAT_ADD(ss_warm, 1);
}

static struct hak_superslab *ss_from_warm(struct hak_pool *pl, struct hak_event_buf *ev)
{
	struct hak_ss_list *l = pl->warm.tail ? &pl->warm : &pl->warm_purged;
	struct hak_superslab *ss = l->tail; /* hottest first */
	if (!ss) return NULL;
	sslist_remove(l, ss);
	ss->warm = 0;
	ss->purged = 0;
	sslist_push(&pl->active, ss);
	with_free_add(pl, ss);
	HAK_STAT_ADD(ss_reused, 1);
	HAK_STAT_SUB(ss_warm, 1);
	hak_event_add(ev, (struct hak_event){.type = HAK_EV_SS_REUSE,
	                                     .ss_reuse = {.pool = pl->kind, .ss = (uintptr_t)ss}});
	return ss;
}

/* ---- slab transitions (pool lock and slab lock held) ---- */

/* The clock is read here only: a slab leaving FULL needs no timestamp. */
static void slab_to_empty(struct hak_pool *pl, struct hak_slab *s, struct hak_event_buf *ev)
{
	uint64_t now = hak_now_ns();
	struct hak_superslab *ss = hak_slab_ss(s);
	if (s->state == SLAB_PARTIAL) partial_remove(pl, s);
	HAK_RELAXED_STORE(s->state, SLAB_EMPTY);
	s->empty_since_ns = now;
	slist_push(&pl->empty, s);
	HAK_STAT_ADD(slab_empty, 1);
	hak_event_add(ev, (struct hak_event){.type = HAK_EV_SLAB_EMPTY,
	                                     .slab_empty = {.pool = pl->kind,
	                                                    .ss = (uintptr_t)ss,
	                                                    .slab = s->index,
	                                                    .cls = s->cls}});
	if (--ss->in_use == 0) ss_to_warm(pl, ss, now);
}

/* Unowned slab: file it where its counts say it belongs. A slab on the
 * pending stack is left to the drain, which files it once it is off the
 * stack: until then it stays out of every list (or on its partial list)
 * and counted in its SuperSlab's in_use, so nothing can unmap it while
 * the stack links it. */
static void slab_classify(struct hak_pool *pl, struct hak_slab *s, struct hak_event_buf *ev)
{
	if (s->pending) return;
	if (s->used == 0) {
		slab_to_empty(pl, s, ev);
	} else if (hak_slab_has_free(s)) {
		if (s->state != SLAB_PARTIAL) {
			HAK_RELAXED_STORE(s->state, SLAB_PARTIAL);
			partial_add(pl, s);
		} else if (!s->returned && s->freelist) {
			/* Filed with only fresh space, freed into since: it moves
			 * to the tail, where refills look before they carve. */
			partial_remove(pl, s);
			partial_add(pl, s);
		}
	} else {
		HAK_RELAXED_STORE(s->state, SLAB_FULL);
	}
}

static void slab_purge(struct hak_pool *pl, struct hak_slab *s, struct hak_event_buf *ev)
{
	struct hak_superslab *ss = hak_slab_ss(s);
	unsigned keep = s->index == 0 ? 1 : 0;
	uint32_t pages = hak_slab_pages_gone(s);
	hak_os_purge(hak_slab_base(ss, s) + (size_t)keep * HAK_PAGE, (size_t)pages * HAK_PAGE);
	HAK_RELAXED_STORE(s->carved, 0);
	s->freelist = NULL;
	slist_remove(&pl->empty, s);
	slist_push(&pl->empty_purged, s);
	s->on_purged = 1;
	HAK_STAT_ADD(slab_purge, 1);
	HAK_STAT_ADD(pages_purged, pages);
	hak_event_add(ev, (struct hak_event){.type = HAK_EV_SLAB_PURGE,
	                                     .slab_purge = {.pool = pl->kind,
	                                                    .ss = (uintptr_t)ss,
	                                                    .slab = s->index,
	                                                    .pages = pages}});
}

/* Gives back what has sat unused past the purge delay: empty slabs are
 * purged; warm SuperSlabs are purged, or unmapped beyond the warm limit.
 * Bounded work per call keeps the pool lock short. */
static void pool_maintain(struct hak_pool *pl, uint64_t now, int force, struct hak_event_buf *ev)
{
	long delay = hak_env.purge_delay_ms;
	if (delay < 0 && !force) return;
	uint64_t due = force ? UINT64_MAX : now - (uint64_t)delay * 1000000u;
	if (!force && now < (uint64_t)delay * 1000000u) return;
	unsigned work = force ? UINT32_MAX : 8;

	while (work && !hak_events_full(ev) && pl->empty.head &&
	       pl->empty.head->empty_since_ns <= due) {
		slab_purge(pl, pl->empty.head, ev);
		work--;
	}
	while (work && !hak_events_full(ev)) {
		struct hak_ss_list *l = pl->warm_purged.head ? &pl->warm_purged : &pl->warm;
		struct hak_superslab *ss = l->head;
		if (!ss || ss->warm_since_ns > due ||
		    pl->warm.n + pl->warm_purged.n <= hak_env.warm_superslabs)
			break;
		ss_unmap(pl, l, ss, HAK_MUNMAP_REASON_WARM_LIMIT, ev);
		work--;
	}
	while (work && !hak_events_full(ev) && pl->warm.head &&
	       pl->warm.head->warm_since_ns <= due) {
		struct hak_superslab *ss = pl->warm.head;
		size_t pages = hak_superslab_purge(ss);
		sslist_remove(&pl->warm, ss);
		sslist_push(&pl->warm_purged, ss);
		HAK_STAT_ADD(slab_purge, 1);
		HAK_STAT_ADD(pages_purged, pages);
		hak_event_add(ev, (struct hak_event){.type = HAK_EV_SLAB_PURGE,
		                                     .slab_purge = {.pool = pl->kind,
		                                                    .ss = (uintptr_t)ss,
		                                                    .slab = 0xff,
		                                                    .pages = (uint32_t)pages}});
		work--;
	}
}

/* ---- pending: transitions a free could not take the pool lock for ----
 *
 * A free that makes an unowned slab leave FULL or reach used == 0 files
 * it under the pool lock if it gets the lock at once; if another thread
 * holds it, the free marks the slab pending and pushes it here, still
 * under the slab lock, and goes on: a free never waits for the pool
 * lock. Every holder of the pool lock that acquires, releases or trims
 * takes the whole stack with one exchange first and files each slab as
 * its counts then say. Pushes only add at the head and the drain takes
 * all, so there is no ABA; the pending flag (slab lock) keeps a slab on
 * the stack once. */

static void pending_push(struct hak_pool *pl, struct hak_slab *s)
{
	s->pending = 1;
	struct hak_slab *old = __atomic_load_n(&pl->pending, __ATOMIC_RELAXED);
	do
		s->pending_next = old;
	while (!__atomic_compare_exchange_n(&pl->pending, &old, s, 1, __ATOMIC_RELEASE,
	                                    __ATOMIC_RELAXED));
}

/* Pool lock held. Stops while ev still has room for the caller's own
 * events (a full buffer drops them) and puts the rest back. */
static void pending_drain(struct hak_pool *pl, struct hak_event_buf *ev)
{
	if (!__atomic_load_n(&pl->pending, __ATOMIC_RELAXED)) return;
	struct hak_slab *s = __atomic_exchange_n(&pl->pending, NULL, __ATOMIC_ACQUIRE);
	while (s && ev->n < HAK_EVENT_BUF / 2) {
		struct hak_slab *next = s->pending_next;
		hak_spin_lock(&s->lock);
		s->pending = 0;
		if (!s->owner && (s->state == SLAB_FULL || s->state == SLAB_PARTIAL))
			slab_classify(pl, s, ev);
		hak_spin_unlock(&s->lock);
		s = next;
	}
	if (!s) return;
	struct hak_slab *last = s;
	while (last->pending_next)
		last = last->pending_next;
	struct hak_slab *old = __atomic_load_n(&pl->pending, __ATOMIC_RELAXED);
	do
		last->pending_next = old;
	while (!__atomic_compare_exchange_n(&pl->pending, &old, s, 1, __ATOMIC_RELEASE,
	                                    __ATOMIC_RELAXED));
}

/* ---- acquisition: partial, empty, free slot, warm, mmap ---- */

static struct hak_slab *take_empty(struct hak_pool *pl, unsigned cls, struct hak_event_buf *ev)
{
	struct hak_slab_list *l = pl->empty.tail ? &pl->empty : &pl->empty_purged;
	struct hak_slab *s = l->tail, *pick = NULL, *near = NULL;
	/* Prefer a slab already formatted for cls (no re-carve), then one in a
	 * SuperSlab this class used lately (its slabs stay together, so the
	 * SuperSlab can empty as a whole), then the most recently emptied. */
	for (unsigned i = 0; s && i < 8; i++, s = s->prev) {
		if (s->cls == cls) {
			pick = s;
			break;
		}
		if (!near && lru_has(pl, cls, hak_slab_ss(s))) near = s;
	}
	if (!pick) pick = near ? near : l->tail;
	if (!pick) return NULL;
	slist_remove(l, pick);
	pick->on_purged = 0;
	unsigned old = pick->cls;
	struct hak_superslab *ss = hak_slab_ss(pick);
	if (old != cls) hak_slab_format(ss, pick, cls);
	ss->in_use++;
	HAK_STAT_ADD(slab_reuse, 1);
	if (old != cls) HAK_STAT_ADD(slab_class_changes, 1);
	hak_event_add(ev,
	              (struct hak_event){.type = HAK_EV_SLAB_REUSE,
	                                 .slab_reuse = {.pool = pl->kind,
	                                                .ss = (uintptr_t)ss,
	                                                .slab = pick->index,
	                                                .old_class = (uint8_t)old,
	                                                .new_class = (uint8_t)cls,
	                                                .resident_pages = pick->touched_pages}});
	return pick;
}

/* A SuperSlab's free slots go to one thread, its home, while it has any:
 * threads that carve fresh slabs at once then fault in different 2 MiB
 * regions, each under its own page-table lock, rather than all in one
 * (docs/architecture.md, "Homes"). The owner's home,
 * else a SuperSlab with no home, which becomes the owner's; NULL when
 * every one with a free slot is another thread's. owner NULL (prewarm)
 * takes only those with no home, and claims none. */
static struct hak_superslab *home_with_free(struct hak_pool *pl, const void *owner)
{
	struct hak_superslab *open = NULL;
	for (struct hak_superslab *ss = pl->with_free; ss; ss = ss->free_next) {
		if (ss->home == owner) return ss;
		if (!open && !ss->home) open = ss;
	}
	return open;
}

/* A free slot of the owner's home (home_with_free), or with any_home set
 * (no memory for a SuperSlab of its own), of any SuperSlab. */
static struct hak_slab *take_free_slot(struct hak_pool *pl, unsigned cls, const void *owner,
                                       int any_home)
{
	struct hak_superslab *ss = any_home ? pl->with_free : home_with_free(pl, owner);
	if (!ss) return NULL;
	if (!ss->home) ss->home = owner;
	unsigned i = (unsigned)__builtin_ctz(ss->free_slots);
	ss->free_slots &= ~(1u << i);
	if (!ss->free_slots) with_free_remove(pl, ss);
	struct hak_slab *s = &ss->slabs[i];
	hak_slab_format(ss, s, cls);
	ss->in_use++;
	return s;
}

/* Partial (unless fresh_only: prewarm must not take back what it filed),
 * empty, free slot, warm SuperSlab, mmap. */
static struct hak_slab *pool_find_slab(struct hak_pool *pl, unsigned cls, unsigned reason,
                                       int fresh_only, const void *owner, struct hak_event_buf *ev)
{
	struct hak_slab *s = fresh_only ? NULL : partial_list(pl, cls)->tail;
	if (s)
		partial_remove(pl, s);
	else if (!(s = take_empty(pl, cls, ev)) && !(s = take_free_slot(pl, cls, owner, 0)) &&
	         (ss_from_warm(pl, ev) || ss_map_new(pl, reason, ev)))
		s = take_free_slot(pl, cls, owner, 0);
	if (!s) s = take_free_slot(pl, cls, owner, 1);
	if (s) lru_touch(pl, cls, hak_slab_ss(s));
	return s;
}

struct hak_slab *hak_pool_acquire(unsigned cls, void *owner)
{
	struct hak_pool *pl = hak_pool_of_class(cls);
	struct hak_event_buf ev;
	ev.n = 0;
	pthread_mutex_lock(&pl->lock);
	pending_drain(pl, &ev);
	uint64_t now = hak_now_ns();
	pool_maintain(pl, now, 0, &ev);
	struct hak_slab *s = pool_find_slab(pl, cls, HAK_MMAP_REASON_REFILL, 0, owner, &ev);
	if (s) {
		hak_spin_lock(&s->lock);
		HAK_RELAXED_STORE(s->state, SLAB_OWNED);
		HAK_RELAXED_STORE(s->owner, owner); /* return_chain reads it unlocked */
		hak_slab_remote_open(s);
		hak_spin_unlock(&s->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	hak_events_emit(&ev);
	/* The large cache has no limit by default: a program that goes on
	 * taking slabs but no longer makes large blocks still gives back the
	 * spans it freed last, once the delay has passed. */
	hak_large_maintain_idle(now);
	if (!s) errno = ENOMEM;
	return s;
}

void hak_pool_release(struct hak_slab *s)
{
	struct hak_pool *pl = hak_pool_of_class(s->cls);
	struct hak_event_buf ev;
	ev.n = 0;
	pthread_mutex_lock(&pl->lock);
	pending_drain(pl, &ev);
	hak_spin_lock(&s->lock);
	/* From here a remote free takes the slab lock: what the list holds
	 * now is the last of it, and it counts before the slab is filed. */
	hak_slab_remote_close(s);
	HAK_RELAXED_STORE(s->owner, NULL);
	HAK_RELAXED_STORE(s->state, SLAB_FULL);
	slab_classify(pl, s, &ev);
	hak_spin_unlock(&s->lock);
	pthread_mutex_unlock(&pl->lock);
	hak_events_emit(&ev);
}

void hak_pool_return_blocks(struct hak_slab *s, void *head, void *tail, uint32_t n)
{
	/* A thread's current slab: one CAS, no lock (slab.h). */
	if (hak_slab_remote_push(s, head, tail, n)) return;
	hak_spin_lock(&s->lock);
	hak_slab_put(s, head, tail, n);
	/* Only an unowned slab that just left FULL, reached zero, or got its
	 * first freed blocks while filed with only fresh space moves. */
	int moves = !s->owner && !s->pending &&
	            (s->used == 0 || s->state == SLAB_FULL ||
	             (s->state == SLAB_PARTIAL && !HAK_RELAXED_LOAD(s->returned)));
	if (!moves) {
		hak_spin_unlock(&s->lock);
		return;
	}
	/* Lock order is pool then slab: with the slab lock held, only a try. */
	struct hak_pool *pl = hak_pool_of_class(s->cls);
	if (pthread_mutex_trylock(&pl->lock)) {
		pending_push(pl, s);
		hak_spin_unlock(&s->lock);
		return;
	}
	struct hak_event_buf ev;
	ev.n = 0;
	slab_classify(pl, s, &ev);
	int emptied = s->state == SLAB_EMPTY;
	hak_spin_unlock(&s->lock);
	pending_drain(pl, &ev);
	if (emptied) /* the only transition that can make something due */
		pool_maintain(pl, hak_now_ns(), 0, &ev);
	pthread_mutex_unlock(&pl->lock);
	hak_events_emit(&ev);
}

unsigned hak_pool_prewarm(unsigned cls, unsigned slabs, uint64_t *pages)
{
	struct hak_pool *pl = hak_pool_of_class(cls);
	unsigned done = 0;
	uint64_t faulted = 0;
	for (unsigned i = 0; i < slabs; i++) {
		struct hak_event_buf ev;
		ev.n = 0;
		pthread_mutex_lock(&pl->lock);
		struct hak_slab *s = pool_find_slab(pl, cls, HAK_MMAP_REASON_PREWARM, 1, NULL, &ev);
		if (s) {
			struct hak_superslab *ss = hak_slab_ss(s);
			size_t npages = hak_ss_slab_size(ss) / HAK_PAGE;
			volatile uint8_t *base = hak_slab_base(ss, s);
			/* Fault the pages in now, off the hot path. */
			for (size_t pg = s->touched_pages; pg < npages; pg++)
				base[pg * HAK_PAGE + HAK_PAGE - 1] = 0;
			HAK_STAT_ADD(pages_touched, npages - s->touched_pages);
			faulted += npages - s->touched_pages;
			s->touched_pages = (uint32_t)npages;
			s->purged = 0;
			/* Partial even though used == 0: prewarmed slabs are never
			 * purged before their first use. */
			hak_spin_lock(&s->lock);
			HAK_RELAXED_STORE(s->owner, NULL);
			HAK_RELAXED_STORE(s->state, SLAB_PARTIAL);
			slist_push(partial_list(pl, cls), s);
			hak_spin_unlock(&s->lock);
			done++;
		}
		pthread_mutex_unlock(&pl->lock);
		hak_events_emit(&ev);
		if (!s) break;
	}
	if (pages) *pages = faulted;
	return done;
}

void hak_pool_trim(int force)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		struct hak_pool *pl = &hak_pools[k];
		struct hak_event_buf ev;
		unsigned n;
		do { /* maintain stops when its event buffer is full: go again */
			ev.n = 0;
			pthread_mutex_lock(&pl->lock);
			pending_drain(pl, &ev);
			pool_maintain(pl, hak_now_ns(), force, &ev);
			n = ev.n;
			pthread_mutex_unlock(&pl->lock);
			hak_events_emit(&ev);
		} while (n == HAK_EVENT_BUF);
	}
}

#if defined(HAKMEM_TRACE_HOOKS)
uint32_t hak_pool_waiting_blocks(unsigned cls)
{
	struct hak_pool *pl = hak_pool_of_class(cls);
	uint32_t n = 0;
	pthread_mutex_lock(&pl->lock);
	/* Unowned slabs: their remote lists are closed, so every carved block
	 * that is not out is on the freelist. */
	for (const struct hak_slab *s = partial_list(pl, cls)->head; s; s = s->next)
		n += HAK_RELAXED_LOAD(s->carved) - __atomic_load_n(&s->used, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pl->lock);
	return n;
}
#endif

/* A thread's homes (home_with_free) become anyone's when it exits, or
 * (owner NULL) in a fork's child, whose other threads are gone. */
void hak_pool_forget_home(const void *owner)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		struct hak_pool *pl = &hak_pools[k];
		pthread_mutex_lock(&pl->lock);
		for (struct hak_superslab *ss = pl->with_free; ss; ss = ss->free_next)
			if (!owner || ss->home == owner) ss->home = NULL;
		pthread_mutex_unlock(&pl->lock);
	}
}

/* ---- fork ---- */

static void lock_all_slabs(struct hak_ss_list *l, int lock)
{
	for (struct hak_superslab *ss = l->head; ss; ss = ss->next)
		for (unsigned i = 0; i < ss->nslabs; i++) {
			if (lock)
				hak_spin_lock(&ss->slabs[i].lock);
			else
				hak_spin_unlock(&ss->slabs[i].lock);
		}
}

void hak_pools_lock_all(void)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		pthread_mutex_lock(&hak_pools[k].lock);
		lock_all_slabs(&hak_pools[k].active, 1);
	}
}

void hak_pools_unlock_all(void)
{
	for (unsigned k = HAK_NUM_POOLS; k-- > 0;) {
		lock_all_slabs(&hak_pools[k].active, 0);
		pthread_mutex_unlock(&hak_pools[k].lock);
	}
}

void hak_pools_reinit_locks(void)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		lock_all_slabs(&hak_pools[k].active, 0);
		pthread_mutex_init(&hak_pools[k].lock, NULL);
	}
	hak_pool_forget_home(NULL);
}
