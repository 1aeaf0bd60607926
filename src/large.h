/* Large blocks: spans of whole pages from the page heap (page_heap.h),
 * split and merged there, or, from HAK_LARGE_OWN_MAP bytes up, a mapping
 * of their own that realloc resizes with mremap. The 64 bytes before the
 * user pointer hold the span's metadata; its last byte is the
 * HAK_HDR_LARGE header. */
#ifndef HAKMEM_LARGE_H
#define HAKMEM_LARGE_H

#include "config.h"

#define HAK_LARGE_MAGIC 0x68616b6d4c617267ull /* "hakmLarg" */

/* Spans of this many bytes or more get a mapping of their own: a page-heap
 * region (64 MiB) would hold too few of them, and mremap grows them
 * without a copy. */
#define HAK_LARGE_OWN_MAP ((size_t)16 << 20)

struct hak_large_hdr {
	uint64_t magic;
	uint8_t *base;    /* start of the mapping */
	size_t map_size;  /* bytes mapped */
	size_t requested; /* bytes asked for */
	uint64_t reserved[3];
	uint16_t region; /* page-heap region number; 0: a mapping of its own */
	uint8_t pad[5];
	uint8_t tag; /* HAK_HDR_LARGE; sits at p-1 */
};

_Static_assert(sizeof(struct hak_large_hdr) == HAK_LARGE_HDR, "large header is 64 bytes");

static inline struct hak_large_hdr *hak_large_hdr(void *p)
{
	return (struct hak_large_hdr *)p - 1;
}

static inline size_t hak_large_usable(void *p)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	return (size_t)(h->base + h->map_size - (uint8_t *)p);
}

/* align is a power of two; <= 64 means no constraint beyond 64. */
HAK_INTERNAL void *hak_large_alloc(size_t n, size_t align);
HAK_INTERNAL void hak_large_free(void *p);
/* A realloc that must move a block to grow it gives the new one a span
 * HAK_LARGE_GROWTH times the old one at least, as a vector doubles: a
 * buffer grown by small steps is then copied a logarithmic number of
 * times, and all its copies add up to about its final size. Room taken
 * from fresh pages costs nothing until it is touched. */
#define HAK_LARGE_GROWTH 2
/* A new block of n bytes for old's contents to move to (the caller copies
 * and frees old): with the room above; NULL with errno ENOMEM. */
HAK_INTERNAL void *hak_large_alloc_grown(void *old, size_t n);
/* A shrink below the block's last request gives the tail back only when
 * that frees more than 1/HAK_LARGE_SHRINK_KEEP of the span; growth inside
 * the room never gives it back. */
#define HAK_LARGE_SHRINK_KEEP 4
/* Resizes in place, down over the free span before it, or by mremap (the
 * block may move then); NULL when the caller must copy. */
HAK_INTERNAL void *hak_large_resize(void *p, size_t n);
/* 1 when p is the user pointer of a live large block (hash lookup). */
HAK_INTERNAL int hak_large_owns(const void *p);
/* Calls fn for every live large block, under the large lock. */
HAK_INTERNAL void hak_large_foreach(void (*fn)(void *p, void *arg), void *arg);
HAK_INTERNAL void hak_large_trim(int force);
/* Gives back resident free spans past the purge delay when the oldest is
 * due, for callers that are not large operations (a pool taking a slab):
 * with no limit on the cache, a program that stops making large blocks
 * would otherwise keep what it freed last. One relaxed load when nothing
 * is due; a trylock, never a wait, when something is. */
HAK_INTERNAL void hak_large_maintain_idle(uint64_t now);

/* Calls fn for the start of every page of the resident free spans, under
 * the large lock (full mode's exit check): fn must not call into the
 * allocator. */
HAK_INTERNAL void hak_large_foreach_cached(void (*fn)(uint8_t *base, void *arg), void *arg);

/* Full mode (large_check.c): a freed span that stays resident carries
 * the freed fill in its first HAK_FILL_MAX bytes and its stacks in its
 * header; a write through a dangling pointer is reported when its pages
 * are handed out again or at exit. */
HAK_INTERNAL void hak_large_freed_arm(void *p, uint32_t free_stack);
/* Resident pages [start, start + bytes) handed out again, before a block
 * is placed there: every freed span inside is checked, then disarmed. */
HAK_INTERNAL void hak_large_check_reused_pages(uint8_t *start, size_t bytes);
#if defined(HAKMEM_CHECKS)
#include "check.h"
/* What large.c calls: the same, through hak_check_hooks, so that the
 * spans' code names nothing of their checker's. */
static inline void hak_large_check_reused(uint8_t *start, size_t bytes)
{
	hak_check_hooks.large_reused(start, bytes);
}
#endif
/* Every resident free span; returns how many were written (each reported). */
HAK_INTERNAL long hak_large_check_cached(const char *when);

HAK_INTERNAL void hak_large_fork_prepare(void);
HAK_INTERNAL void hak_large_fork_parent(void);
HAK_INTERNAL void hak_large_fork_child(void);

#endif
