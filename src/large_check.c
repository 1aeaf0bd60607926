/* Full mode: a freed large span that stays resident in the page heap
 * carries the freed fill in its first HAK_FILL_MAX bytes, like a
 * quarantined slab block, so a write through a dangling pointer is seen
 * when its pages are handed out again and at exit. Its 64-byte header outlives the free and
 * keeps the records: reserved[0] the allocation stack, reserved[1] the
 * free stack (while live, how it was allocated: enum hak_alloc_kind) and
 * reserved[2] a mark saying the fill was laid. A span given back to the
 * kernel needs none of this: its pages come back zeroed, mark and all. */
#include "check.h"
#include "fill.h"
#include "heap_report.h"
#include "large.h"
#include "ptr_track.h"
#include "quarantine.h"

#include <stdio.h>
#include <string.h>

#define FREED_MARK 0x66726565644c7267ull /* "freedLrg", xor the span's base */

void hak_large_freed_arm(void *p, uint32_t free_stack)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	/* Blocks placed past their span's first 64 bytes (aligned) are not armed. */
	if ((uint8_t *)p != h->base + HAK_LARGE_HDR) return;
	h->reserved[1] = free_stack;
	h->reserved[2] = FREED_MARK ^ (uintptr_t)h->base;
	hak_fill(p, HAK_FILL_MAX, HAK_FILL_FREED);
}

/* What a dangling write left, copied out with the span's records, so it is
 * reported with no lock held and without reading the span again. */
struct large_damage {
	uint8_t *p;
	size_t requested;
	uint32_t alloc_stack, free_stack;
	struct hak_fill_damage d;
};

/* 1 (and x filled) when the freed block whose header is at base had its
 * fill written; the fill is re-armed so the same write is not reported
 * twice. */
static int find_damage(uint8_t *base, struct large_damage *x)
{
	struct hak_large_hdr *h = (struct hak_large_hdr *)base;
	uint8_t *p = base + HAK_LARGE_HDR;
	if (h->reserved[2] != (FREED_MARK ^ (uintptr_t)base) ||
	    !hak_fill_damage_find(p, 0, 0, HAK_FILL_MAX, &x->d))
		return 0;
	x->p = p;
	x->requested = h->requested;
	x->alloc_stack = (uint32_t)h->reserved[0];
	x->free_stack = (uint32_t)h->reserved[1];
	memset(p + x->d.first, HAK_FILL_FREED, x->d.last - x->d.first + 1);
	return 1;
}

static void report(const struct large_damage *x, const char *when)
{
	struct hak_track_rec rec = {.requested = x->requested > UINT32_MAX ? UINT32_MAX
	                                                                   : (uint32_t)x->requested,
	                            .alloc_stack = x->alloc_stack,
	                            .free_stack = x->free_stack,
	                            .state = TRACK_FREED};
	struct hak_ptr_info in = {.error = HAK_ERR_USE_AFTER_FREE_WRITE,
	                          .large = 1,
	                          .index = -1,
	                          .found = x->d.dump[0],
	                          .expected = HAK_FILL_FREED,
	                          .rec = &rec};
	char hex[3 * HAK_DAMAGE_DUMP + 8], detail[320];
	size_t len = x->d.last - x->d.first + 1, at = 0;
	for (unsigned k = 0; k < x->d.ndump; k++)
		at += (size_t)snprintf(hex + at, sizeof hex - at, " %02x", x->d.dump[k]);
	if (len > x->d.ndump) snprintf(hex + at, sizeof hex - at, " ...");
	snprintf(detail, sizeof detail,
	         "bytes %u..%u of a freed large block written after free (%zu-byte range; the "
	         "fill is 0x%02x), seen %s; found:%s",
	         x->d.first, x->d.last, len, HAK_FILL_FREED, when, hex);
	hak_report_error(HAK_ERR_USE_AFTER_FREE_WRITE, x->p, &in, detail, NULL);
}

#define DAMAGE_MAX 8

struct damage_list {
	long count;
	struct large_damage x[DAMAGE_MAX];
};

static void collect(uint8_t *base, void *arg)
{
	struct damage_list *l = arg;
	struct large_damage x;
	if (!find_damage(base, &x)) return;
	if (l->count < DAMAGE_MAX) l->x[l->count] = x;
	l->count++;
}

/* A freed span's header is at a page start (page_heap.c hands out whole
 * pages), so the marks of every freed span merged into a free span are
 * found by looking at each page's start. Marks are cleared here: the pages
 * are about to hold a block again. */
void hak_large_check_reused_pages(uint8_t *start, size_t bytes)
{
	struct damage_list l = {.count = 0};
	for (size_t off = 0; off < bytes; off += HAK_PAGE) {
		struct hak_large_hdr *h = (struct hak_large_hdr *)(start + off);
		if (h->reserved[2] != (FREED_MARK ^ (uintptr_t)h)) continue;
		/* A report's own mallocs may take a span: it is not checked then. */
		if (!hak_in_report) collect(start + off, &l);
		h->reserved[2] = 0;
	}
	for (long i = 0; i < l.count && i < DAMAGE_MAX; i++)
		report(&l.x[i], "when the span was handed out again");
}

long hak_large_check_cached(const char *when)
{
	struct damage_list l = {.count = 0};
	hak_large_foreach_cached(collect, &l);
	for (long i = 0; i < l.count && i < DAMAGE_MAX; i++)
		report(&l.x[i], when);
	return l.count;
}
