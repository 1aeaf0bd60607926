/* Full mode keeps freed blocks out of circulation for a while, so a write
 * through a dangling pointer lands on the fill pattern and is seen. */
#ifndef HAKMEM_QUARANTINE_H
#define HAKMEM_QUARANTINE_H

#include "config.h"

struct hak_quarantined {
	void *block;
	uint32_t cls;
	uint32_t bytes;
};

#define HAK_QUARANTINE_SLOTS 4096

/* Each thread keeps its own quarantine, bounded by HAKMEM_QUARANTINE_KB.
 * Adds a block; blocks pushed out to stay under HAKMEM_QUARANTINE_KB (and
 * the slot count) are copied to out, at most max of them. Returns how
 * many. With a zero bound the block itself comes straight back. */
HAK_INTERNAL unsigned hak_quarantine_push(struct hak_quarantined q, struct hak_quarantined *out,
                                          unsigned max);
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
HAK_INTERNAL const struct hak_quarantined *hak_quarantine_upcoming(unsigned ahead);

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
