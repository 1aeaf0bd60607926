/* The shared pool: where a thread gets its next slab and where slabs go
 * when they empty. One pool per SuperSlab geometry (Tiny, Mid, Small-Mid),
 * each under its own lock; the fast paths never come here. */
#ifndef HAKMEM_POOL_H
#define HAKMEM_POOL_H

#include "events.h"
#include "superslab.h"

#include <pthread.h>
#include <stdatomic.h>

struct hak_slab_list {
	struct hak_slab *head, *tail;
	uint32_t n;
};

struct hak_ss_list {
	struct hak_superslab *head, *tail;
	uint32_t n;
};

#define HAK_POOL_LRU 4

struct hak_pool {
	pthread_mutex_t lock;
	uint8_t kind;
	uint8_t ss_shift;
	uint8_t slab_shift;
	uint8_t class_first;
	uint8_t class_count;
	struct hak_slab_list partial[16]; /* per class, unowned slabs with free blocks */
	/* Per class, the partial slabs filed with blocks on their freelist
	 * (freed back, often by other threads): a refill takes those before
	 * it carves. Written under the lock, read without it. */
	atomic_uint with_returned[16];
	struct hak_slab_list empty;        /* used == 0, pages resident; oldest first */
	struct hak_slab_list empty_purged; /* used == 0, pages given back */
	struct hak_ss_list active;         /* SuperSlabs in service */
	struct hak_ss_list warm;           /* wholly empty, resident; oldest first */
	struct hak_ss_list warm_purged;    /* wholly empty, purged, still mapped */
	struct hak_superslab *with_free;   /* active SuperSlabs with a SLAB_FREE slot */
	/* Per class, the SuperSlabs it took slabs from lately, newest first: a
	 * class's slabs stay together, so its SuperSlabs empty together. */
	struct hak_superslab *lru[16][HAK_POOL_LRU];
	/* Slabs whose move (out of FULL, or to empty) a free found due while
	 * another thread held the lock: pushed lock-free, filed by the next
	 * holder (pool.c, "pending"). */
	struct hak_slab *pending;
};

HAK_INTERNAL extern struct hak_pool hak_pools[HAK_NUM_POOLS];

static inline struct hak_pool *hak_pool_of_class(unsigned cls)
{
	return &hak_pools[hak_class_pool(cls)];
}

/* Some unowned slab of class cls holds freed blocks: better taken than
 * carving fresh ones. A hint, read without the pool lock. */
static inline int hak_pool_has_returned(unsigned cls)
{
	const struct hak_pool *pl = hak_pool_of_class(cls);
	return atomic_load_explicit(&pl->with_returned[cls - pl->class_first],
	                            memory_order_relaxed) != 0;
}

/* A slab of class cls, SLAB_OWNED by owner, or NULL (errno ENOMEM). */
HAK_INTERNAL struct hak_slab *hak_pool_acquire(unsigned cls, void *owner);
/* The owner is done with s: it goes to the partial or empty list, or
 * waits as full until a free makes room. */
HAK_INTERNAL void hak_pool_release(struct hak_slab *s);
/* The thread cache owner's SuperSlabs are no longer its home (thread exit;
 * NULL: every thread's, in a fork's child). */
HAK_INTERNAL void hak_pool_forget_home(const void *owner);
/* Returns a chain of n blocks to slab s (any thread). */
HAK_INTERNAL void hak_pool_return_blocks(struct hak_slab *s, void *head, void *tail, uint32_t n);
/* Maps, formats and faults in slabs of class cls, left on its partial list.
 * Returns the slabs done (fewer when memory ran out) and, when pages is not
 * NULL, the pages it faulted in. */
HAK_INTERNAL unsigned hak_pool_prewarm(unsigned cls, unsigned slabs, uint64_t *pages);
/* Purges and unmaps whatever is due now, or everything when force. */
HAK_INTERNAL void hak_pool_trim(int force);

#if defined(HAKMEM_TRACE_HOOKS)
/* A carving refill's remote_waiting (hakmem:refill): the freed blocks on
 * the partial slabs of class cls, which it could have taken instead.
 * Takes the pool lock: call with no allocator lock held, and only to
 * emit the event. */
HAK_INTERNAL uint32_t hak_pool_waiting_blocks(unsigned cls);
#endif

HAK_INTERNAL void hak_pools_lock_all(void);
HAK_INTERNAL void hak_pools_unlock_all(void);
HAK_INTERNAL void hak_pools_reinit_locks(void);

#endif
