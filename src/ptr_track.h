/* ptr_track: every pointer handed to free or realloc is proven to be a
 * live block of ours before a byte of it is written (docs/guide-heap-corruption.md).
 * Only the full library has it; see check.h. */
#ifndef HAKMEM_PTR_TRACK_H
#define HAKMEM_PTR_TRACK_H

#include "ptr_inspect.h"
#include "quarantine.h"

#define HAK_FILL_FREED 0xdfu
#define HAK_FILL_CANARY 0xcbu
/* Full mode fills the first HAK_FILL_MAX bytes of a freed block and guards
 * HAK_CANARY_MAX bytes of slack: dangling writes and short overruns land
 * there, and the cost stays flat whatever the block size. An overrun that
 * reaches the end of the block hits the next header, checked as well. */
#define HAK_FILL_MAX 128u
#define HAK_CANARY_MAX 32u

/* Full mode: the canary after a large block's request; 1 if reported. */
HAK_INTERNAL int hak_track_large_canary(void *p, struct hak_ptr_info *in, void *ret);

/* Checked entry points, used by alloc.c while HAK_CHECKING(). */
HAK_INTERNAL void *hak_track_on_alloc_full(void *p, unsigned cls, size_t n, void *ret, void *frame);

/* A block leaves the allocator (its live header already written: by the
 * checked pop, tcache.h, or after a refill, alloc.c). */
static inline void *hak_track_on_alloc(void *p, unsigned cls, size_t n, void *ret, void *frame)
{
	if (HAK_CHECKING_FULL()) return hak_track_on_alloc_full(p, cls, n, ret, frame);
	return p;
}
/* Full mode, before the bin: a block of class cls that served its time
 * in the quarantine, checked and handed out for an n-byte request (as
 * hak_track_on_alloc would), or NULL. */
HAK_INTERNAL void *hak_track_reuse(unsigned cls, size_t n, void *ret, void *frame);
HAK_INTERNAL void *hak_track_on_alloc_large(void *p, size_t n, void *ret, void *frame);
/* What a free does once the checks are done. The checks free nothing
 * themselves: alloc.c frees what the verdict names, through the thread
 * cache or large.c (docs/architecture.md, "Module map"). */
enum hak_track_release {
	HAK_RELEASE_NONE = 0, /* quarantined, or reported and left alone */
	HAK_RELEASE_SLAB,     /* block, still live, of class n: to its bin */
	HAK_RELEASE_LARGE,    /* block, a large one: to large.c */
	HAK_RELEASE_BATCH,    /* block holds n struct hak_quarantined that left
	                       * the quarantine, checked: to their bins. The
	                       * thread's next free under the checks may write
	                       * there: copied out first. */
};
struct hak_track_verdict {
	void *block;
	uint32_t what; /* enum hak_track_release */
	uint32_t n;
};
/* Blocks that one free may send on from the quarantine. */
#define HAK_TRACK_BATCH 16
/* Checks a free of p (kind: how the caller releases it, enum
 * hak_alloc_kind: free, delete, delete[]; full mode reports a block
 * allocated another way) and says what to free. */
HAK_INTERNAL struct hak_track_verdict hak_track_free_as(void *p, unsigned kind, void *ret,
                                                        void *frame);
/* 0 and info filled for a live block; otherwise reported, nonzero. */
HAK_INTERNAL int hak_track_check_live(void *p, struct hak_ptr_info *info, void *ret, void *frame);
/* realloc in place: a block keeps its records, with a new size. */
HAK_INTERNAL void hak_track_resized(void *p, struct hak_ptr_info *info, size_t n);

/* fork: the locks of the stack depot and the recent-large ring. */
HAK_INTERNAL void hak_track_fork_prepare(void);
HAK_INTERNAL void hak_track_fork_parent(void);
HAK_INTERNAL void hak_track_fork_child(void);

/* A thread exits (tcache.c, through hak_check_hooks): up to max of its
 * quarantined blocks in out, each checked as it leaves, for the caller to
 * free; 0 once the quarantine is empty. */
HAK_INTERNAL unsigned hak_track_thread_exit(struct hak_quarantined *out, unsigned max);

#endif
