/* What full mode finds in the heap at exit: blocks still allocated
 * (HAKMEM_LEAKS=1) and freed blocks written after free. */
#ifndef HAKMEM_LEAKS_H
#define HAKMEM_LEAKS_H

#include "ptr_track.h"

/* Blocks still allocated, by allocation stack. */
struct hak_leak_group {
	uint32_t stack; /* stack depot id; 0 when not recorded */
	uint32_t count;
	uint64_t bytes; /* bytes requested */
};

struct hak_leak_totals {
	uint64_t bytes, count;
	size_t groups;
};

/* heap_check.c: calls fn for every carved block of every formatted slab
 * that has full-mode records, record state not TRACK_NONE, under the pool
 * and slab locks (fn must not call the allocator). */
HAK_INTERNAL void hak_heap_each_tracked(void (*fn)(uint8_t *block, unsigned cls,
                                                   struct hak_track_rec *rec, void *arg),
                                        void *arg);
/* heap_check.c, full mode: every thread's quarantine must still carry its
 * fill and the calling thread's bins their links; with on_lists, every
 * freed block on a free list too (from byte 8: its first word is the link).
 * That last walk reads blocks other threads may be handing out: only at
 * exit. Each damaged block is reported (when says when it was seen: "at
 * exit"); returns how many. */
HAK_INTERNAL long hak_heap_check_freed(const char *when, int on_lists);

/* The live blocks (slab and large), grouped by allocation stack, largest
 * total first: up to max groups into out; *tot gets the totals of all.
 * Returns the number written. Full mode only (elsewhere nothing is
 * recorded and it returns 0). */
HAK_INTERNAL size_t hak_leaks_collect(struct hak_leak_group *out, size_t max,
                                      struct hak_leak_totals *tot);
/* HAKMEM_LEAKS=1 at exit: prints the groups to the log. */
HAK_INTERNAL void hak_leaks_report(void);

#endif
