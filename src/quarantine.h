/* Full mode keeps freed blocks out of circulation for a while, so a write
 * through a dangling pointer lands on the fill pattern and is seen. */
#ifndef HAKMEM_QUARANTINE_H
#define HAKMEM_QUARANTINE_H

#include "config.h"
#include "env.h"
#include "lock.h"

#include <stdatomic.h>

struct hak_quarantined {
	void *block;
	void *rec; /* its ptr_track record (or NULL): fetched ahead of its hand-out */
	uint32_t cls;
	uint32_t bytes;
};

#define HAK_QUARANTINE_SLOTS 4096

/* One thread's ring (quarantine.c says how it is shared with checkers).
 * Here so that a push under the bound, the common case, is inline. */
struct hak_qring {
	hak_spin_t lock;               /* pops (owner) and the checks */
	struct hak_qring *next, *prev; /* all rings, under the list lock */
	_Atomic unsigned tail;         /* next slot to fill; only the owner writes it */
	unsigned head;                 /* oldest; moves only under lock */
	size_t bytes;                  /* owner only */
	struct hak_quarantined slot[HAK_QUARANTINE_SLOTS];
};

HAK_INTERNAL extern __thread struct hak_qring *hak_my_ring
    __attribute__((tls_model("initial-exec")));

/* Each thread keeps its own quarantine, bounded by HAKMEM_QUARANTINE_KB.
 * Adds a block, with no lock while under the bound. A push that finds the
 * quarantine at its bound (bytes or slots) pushes the oldest blocks out
 * down to 15/16 of it, in one batch under the ring's lock, copied to out
 * (at most max of them). Returns how many. With a zero bound (or a block
 * bigger than it) the block itself comes straight back. */
HAK_INTERNAL unsigned hak_quarantine_push_slow(struct hak_quarantined q,
                                               struct hak_quarantined *out, unsigned max);
static inline unsigned hak_quarantine_push(struct hak_quarantined q, struct hak_quarantined *out,
                                           unsigned max)
{
	struct hak_qring *r = hak_my_ring;
	if (HAK_UNLIKELY(!r)) return hak_quarantine_push_slow(q, out, max);
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (HAK_UNLIKELY(t - r->head >= HAK_QUARANTINE_SLOTS ||
	                 r->bytes + q.bytes > ((size_t)hak_env.quarantine_kb << 10)))
		return hak_quarantine_push_slow(q, out, max);
	r->slot[t & (HAK_QUARANTINE_SLOTS - 1)] = q;
	/* Release: a checker that sees the new tail sees the entry and the
	 * block's fill, written before. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	r->bytes += q.bytes;
	return 0;
}
/* Takes up to max blocks out of the calling thread's quarantine (thread
 * exit); the ring itself goes once it is empty. */
HAK_INTERNAL unsigned hak_quarantine_drain(struct hak_quarantined *out, unsigned max);
/* Calls fn on every block in every thread's quarantine, under the
 * quarantine locks: fn must not call into the allocator. */
HAK_INTERNAL void hak_quarantine_foreach(void (*fn)(const struct hak_quarantined *q, void *arg),
                                         void *arg);
/* The calling thread's quarantine. */
HAK_INTERNAL size_t hak_quarantine_bytes(void);
HAK_INTERNAL unsigned hak_quarantine_count(void);
/* The block that leaves the calling thread's quarantine ahead pops from
 * now (the oldest is 0), or NULL: full mode fetches it into the cache
 * before its fill is read. Valid until the thread's next push or drain. */
static inline const struct hak_quarantined *hak_quarantine_upcoming(unsigned ahead)
{
	struct hak_qring *r = hak_my_ring;
	if (!r || atomic_load_explicit(&r->tail, memory_order_relaxed) - r->head <= ahead)
		return NULL;
	return &r->slot[(r->head + ahead) & (HAK_QUARANTINE_SLOTS - 1)];
}

/* fork: every ring's lock, taken first (before ptr_track's). */
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
