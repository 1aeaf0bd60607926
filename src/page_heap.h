/* The page heap behind large blocks: spans of whole pages carved from
 * big regions (64 MiB, one mmap each, MAP_NORESERVE) and merged with
 * their free neighbours when they come back, as tcmalloc's and jemalloc's
 * page heaps do. A free span is either resident (its pages were touched
 * and are still there) or released (never touched, or given back with
 * madvise(MADV_DONTNEED)); only spans of one kind merge, so taking a
 * released span is exactly the pages that will fault. Resident spans wait
 * in age order and are released past the purge delay or the byte limit.
 *
 * Not thread-safe: the caller (large.c) holds its lock around every call.
 * Each region keeps its metadata at its start: a tag per page (at the
 * first and last page of a free span, its descriptor's number + 1; 0 at
 * the ends of a span in use) and the descriptors of its free spans. */
#ifndef HAKMEM_PAGE_HEAP_H
#define HAKMEM_PAGE_HEAP_H

#include "config.h"

#define HAK_PH_REGION_BYTES ((size_t)64 << 20)
/* Regions a heap can have (numbers 1..HAK_PH_MAX_REGIONS; 0 means none). */
#define HAK_PH_MAX_REGIONS 4096
/* Free lists by page count: exact for 1..HAK_PH_BINS-2 pages, the last
 * one for everything bigger (searched for the best fit). */
#define HAK_PH_BINS 256

struct hak_ph_span {
	struct hak_ph_span *prev, *next;         /* in its bin */
	struct hak_ph_span *age_prev, *age_next; /* resident spans, oldest first */
	struct hak_ph_region *region;
	uint32_t first, npages; /* data pages of the region */
	uint64_t freed_ns;
	uint8_t released;
};

struct hak_ph_region {
	uint8_t *map;  /* the mapping, metadata first */
	uint8_t *data; /* page 0 of the spans */
	size_t map_bytes;
	uint32_t npages; /* data pages */
	uint32_t number; /* 1..HAK_PH_MAX_REGIONS */
	uint32_t desc_used;
	struct hak_ph_span *desc_spare;
	struct hak_ph_span *desc;
	uint32_t *tag;
};

/* Free spans of one kind (resident or released). */
struct hak_ph_set {
	struct hak_ph_span *bins[HAK_PH_BINS];
	uint64_t nonempty[HAK_PH_BINS / 64];
};

/* What an operation did to the pages, for large.c's events and counts:
 * FRESH pages were handed out that will fault on first touch; RELEASED
 * pages went back to the kernel. */
enum { HAK_PH_FRESH = 1, HAK_PH_RELEASED = 2 };

#define HAK_PH_NOTES 16

struct hak_ph_log {
	unsigned n;
	struct {
		uint8_t kind;
		uint8_t *addr;
		size_t bytes;
	} note[HAK_PH_NOTES];
};

struct hak_page_heap {
	size_t region_bytes; /* 0: HAK_PH_REGION_BYTES */
	unsigned nregions;
	struct hak_ph_set set[2]; /* [0] resident, [1] released */
	struct hak_ph_span *age_head, *age_tail;
	size_t resident_bytes; /* in resident free spans */
	size_t free_bytes;     /* in all free spans */
	struct hak_ph_region *regions[HAK_PH_MAX_REGIONS + 1];
};

/* Pages a single span can have (a region's data pages). */
HAK_INTERNAL size_t hak_ph_max_pages(struct hak_page_heap *h);

/* npages pages, best fit, resident before released, a new region when no
 * free span fits. NULL with errno ENOMEM when no region can be mapped;
 * *region gets the span's region number. */
HAK_INTERNAL uint8_t *hak_ph_alloc(struct hak_page_heap *h, size_t npages, unsigned *region,
                                   struct hak_ph_log *log);
/* The span at base goes back and merges with resident free neighbours. */
HAK_INTERNAL void hak_ph_free(struct hak_page_heap *h, unsigned region, uint8_t *base,
                              size_t npages, uint64_t now);
/* Grows the span at base to new_pages with the free pages after it (a
 * resident span, a released one, or both); 0 when they are too few
 * (nothing changes then). */
HAK_INTERNAL int hak_ph_grow(struct hak_page_heap *h, unsigned region, uint8_t *base,
                             size_t old_pages, size_t new_pages, struct hak_ph_log *log);
/* Grows the span at base to new_pages over the resident free span just
 * before it, when that span is too small to hold new_pages alone (a plain
 * move) and big enough with the span's own pages: the span then starts at
 * the returned address with old_pages + that span's pages, and the caller
 * moves the contents down and gives the surplus back (hak_ph_shrink).
 * NULL when there is no such span (nothing changes then). Growing buffers
 * that block each other's way up fill the holes the others left. */
HAK_INTERNAL uint8_t *hak_ph_grow_down(struct hak_page_heap *h, unsigned region, uint8_t *base,
                                       size_t old_pages, size_t new_pages);
/* Gives the pages past new_pages back, as a free of them. */
HAK_INTERNAL void hak_ph_shrink(struct hak_page_heap *h, unsigned region, uint8_t *base,
                                size_t old_pages, size_t new_pages, uint64_t now);
/* Releases resident free spans, oldest first: those freed delay_ns or more
 * before now (delay_ns < 0: none for age), then more while over
 * keep_bytes. Unmaps a region left wholly free and released when another
 * region is left, or always with unmap_all. Stops when the log is full.
 * Returns the spans released. */
HAK_INTERNAL unsigned hak_ph_purge(struct hak_page_heap *h, uint64_t now, int64_t delay_ns,
                                   size_t keep_bytes, int unmap_all, struct hak_ph_log *log);
/* Calls fn for every resident free span. */
HAK_INTERNAL void hak_ph_foreach_resident(struct hak_page_heap *h,
                                          void (*fn)(uint8_t *base, size_t bytes, void *arg),
                                          void *arg);

#endif
