/* Full mode keeps freed blocks out of circulation for a while, so a write
 * through a dangling pointer lands on the fill pattern and is seen. */
#ifndef HAKMEM_QUARANTINE_H
#define HAKMEM_QUARANTINE_H

#include "config.h"
#include "env.h"
#include "geometry.h"
#include "lock.h"

#include <stdatomic.h>

struct hak_quarantined {
	void *block;
	void *rec; /* its ptr_track record (or NULL): fetched ahead of its hand-out */
	uint32_t cls;
	uint32_t bytes;
};

#define HAK_QUARANTINE_SLOTS 4096

/* Blocks that have served their time in the ring wait here, per class,
 * for a malloc of their class, which takes one and checks its fill as it
 * leaves: one pass over the fill, and the record comes along (no lookup).
 * Still quarantined (checked at exit); a stash that is full sends the
 * block on to the bins, checked, as before. */
#define HAK_STASH_SLOTS 16
struct hak_qstash {
	_Atomic unsigned count; /* only the owner writes it */
	unsigned cap;           /* 2..HAK_STASH_SLOTS: up to 32 KiB of blocks */
	struct {
		_Atomic(void *) block; /* NULL once taken (checkers skip it) */
		void *rec;
	} e[HAK_STASH_SLOTS];
};

/* One thread's ring (quarantine.c says how it is shared with checkers).
 * Here so that a push under the bound, the common case, is inline. */
struct hak_qring {
	hak_spin_t lock;               /* the checks, and the owner while one is on */
	_Atomic unsigned owner_busy;   /* the owner is moving head or taking from a stash */
	_Atomic unsigned checking;     /* a check is on (always, without hak_asym_fence) */
	struct hak_qring *next, *prev; /* all rings, under the list lock */
	_Atomic unsigned tail;         /* next slot to fill; only the owner writes it */
	unsigned head;                 /* oldest; moves only under lock */
	size_t bytes;                  /* owner only */
	struct hak_qstash stash[HAK_NUM_CLASSES];
	struct hak_quarantined slot[HAK_QUARANTINE_SLOTS];
};

HAK_INTERNAL extern __thread struct hak_qring *hak_my_ring
    __attribute__((tls_model("initial-exec")));

/* Each thread keeps its own quarantine, bounded by HAKMEM_QUARANTINE_KB.
 * Adds a block, with no lock while under the bound. A push that finds the
 * quarantine at its bound (bytes or slots) pushes the oldest blocks out
 * down to 15/16 of it, in one batch with checkers kept out, copied to out
 * (at most max of them). Returns how many. With a zero bound (or a block
 * bigger than it) the block itself comes straight back. */
HAK_INTERNAL unsigned hak_quarantine_push_slow(struct hak_quarantined q,
                                               struct hak_quarantined *out, unsigned max);
/* The push's common case, under the bound: 1 if q went in (no lock),
 * 0 if the caller must take hak_quarantine_push_slow. */
static inline int hak_quarantine_try_push(struct hak_quarantined q)
{
	struct hak_qring *r = hak_my_ring;
	if (HAK_UNLIKELY(!r)) return 0;
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t bytes = r->bytes + q.bytes;
	if (HAK_UNLIKELY(t - r->head >= HAK_QUARANTINE_SLOTS ||
	                 bytes > ((size_t)hak_env.quarantine_kb << 10)))
		return 0;
	r->slot[t & (HAK_QUARANTINE_SLOTS - 1)] = q;
	/* Release: a checker that sees the new tail sees the entry and the
	 * block's fill, written before. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	r->bytes = bytes;
	return 1;
}
static inline unsigned hak_quarantine_push(struct hak_quarantined q, struct hak_quarantined *out,
                                           unsigned max)
{
	if (HAK_LIKELY(hak_quarantine_try_push(q))) return 0;
	return hak_quarantine_push_slow(q, out, max);
}
/* hak_quarantine_push_slow, but the blocks that leave the ring wait in
 * their class's stash where it has room; returns (in out) only the rest,
 * for the caller to free on. A block that never entered the ring (a zero
 * bound, a block over it) comes back as before. */
HAK_INTERNAL unsigned hak_quarantine_push_stash(struct hak_quarantined q,
                                                struct hak_quarantined *out, unsigned max);
/* The owner's side of the exclusion of checkers (quarantine.c): around
 * every move of head and every take from a stash. A checker sets
 * checking, runs the heavy side of hak_asym_fence, then waits for
 * owner_busy to clear: either the owner saw checking and waits on the
 * lock the checker holds, or the checker sees the owner's move whole. No
 * locked instruction here: one cost more than the rest of a malloc, for
 * it waited for the last free's fill stores to reach the cache. */
HAK_INTERNAL int hak_qring_enter_locked(struct hak_qring *r);
static inline int hak_qring_enter(struct hak_qring *r)
{
	atomic_store_explicit(&r->owner_busy, 1, memory_order_relaxed);
	/* The store and the load keep their order in the compiler; the
	 * checker's heavy fence keeps it in the machine. */
	atomic_signal_fence(memory_order_seq_cst);
	if (HAK_LIKELY(!atomic_load_explicit(&r->checking, memory_order_acquire))) return 0;
	return hak_qring_enter_locked(r);
}
static inline void hak_qring_leave(struct hak_qring *r, int locked)
{
	if (HAK_LIKELY(!locked))
		atomic_store_explicit(&r->owner_busy, 0, memory_order_release);
	else
		hak_spin_unlock(&r->lock);
}

/* A block of class cls from the calling thread's stash (its newest: all
 * have served their time), with its record, or NULL. Taken inside
 * hak_qring_enter: once the program writes into a taken block, no checker
 * is reading it (and no checker reads a block the owner may free on, down
 * to its unmapping). */
static inline void *hak_quarantine_take(unsigned cls, void **rec)
{
	struct hak_qring *r = hak_my_ring;
	if (HAK_UNLIKELY(!r)) return NULL;
	struct hak_qstash *st = &r->stash[cls];
	unsigned k = atomic_load_explicit(&st->count, memory_order_relaxed);
	if (!k) return NULL;
	k--;
	int locked = hak_qring_enter(r);
	void *b = atomic_load_explicit(&st->e[k].block, memory_order_relaxed);
	*rec = st->e[k].rec;
	atomic_store_explicit(&st->e[k].block, NULL, memory_order_relaxed);
	atomic_store_explicit(&st->count, k, memory_order_relaxed);
	hak_qring_leave(r, locked);
	/* The next one this class takes: it went cold in the ring. */
	if (k) __builtin_prefetch(atomic_load_explicit(&st->e[k - 1].block, memory_order_relaxed));
	return b;
}
/* Takes up to max blocks out of the calling thread's quarantine (thread
 * exit), its stashes first; the ring itself goes once it is empty. */
HAK_INTERNAL unsigned hak_quarantine_drain(struct hak_quarantined *out, unsigned max);
/* Calls fn on every block in every thread's quarantine, under the
 * quarantine locks: fn must not call into the allocator. */
HAK_INTERNAL void hak_quarantine_foreach(void (*fn)(const struct hak_quarantined *q, void *arg),
                                         void *arg);
/* The calling thread's quarantine. */
HAK_INTERNAL size_t hak_quarantine_bytes(void);
HAK_INTERNAL unsigned hak_quarantine_count(void);
/* fork: every ring held as a check holds it, first (before ptr_track's
 * locks): no owner is inside hak_qring_enter across fork. */
HAK_INTERNAL void hak_quarantine_fork_prepare(void);
HAK_INTERNAL void hak_quarantine_fork_parent(void);
HAK_INTERNAL void hak_quarantine_fork_child(void);

/* ---- what a dangling write left in a freed block's fill ---- */

#define HAK_DAMAGE_DUMP 16

struct hak_fill_damage {
	uint8_t *block;
	unsigned cls;
	uint32_t first, last;          /* offsets of the first and last changed bytes */
	uint8_t dump[HAK_DAMAGE_DUMP]; /* the bytes found from first on */
	unsigned ndump;
};

/* 1 (and d filled) when bytes [from, to) of block b, of class cls, are not
 * all the freed fill. Reads only; safe under any lock. */
HAK_INTERNAL int hak_fill_damage_find(uint8_t *b, unsigned cls, size_t from, size_t to,
                                      struct hak_fill_damage *d);
/* Reports a use-after-free-write with what was written, where (when says
 * when it was seen) and the block's stacks, then re-arms the fill so the
 * same write is not reported twice. Call with no allocator lock held. */
HAK_INTERNAL void hak_fill_damage_report(const struct hak_fill_damage *d, const char *when,
                                         void *ret);
/* A block leaves the quarantine for the free lists: its whole fill is
 * checked (the link is about to overwrite the first word). 1 if damaged. */
HAK_INTERNAL int hak_quarantine_check_leaving(void *block, unsigned cls);
/* End of a full-mode run (or hak_heap_check): every block in every
 * thread's quarantine must still carry its fill. Returns the damaged
 * count, each one reported. */
HAK_INTERNAL long hak_quarantine_check_all(const char *when);

#endif
