/* Global counters. Slow paths only: the fast paths never touch them. */
#ifndef HAKMEM_STATS_H
#define HAKMEM_STATS_H

#include "config.h"
#include <stdatomic.h>

struct hak_class_counters {
	uint64_t refills;
	uint64_t refill_blocks;
	uint64_t from_freelist;
	uint64_t from_carve;
	uint64_t new_slabs;
	uint64_t pages_touched;
};

struct hak_counters {
	_Atomic uint64_t ss_mapped, ss_reused, ss_unmapped, ss_live, ss_warm;
	_Atomic uint64_t slab_empty, slab_reuse, slab_class_changes, slab_purge, pages_purged;
	_Atomic uint64_t large_mapped, large_unmapped, large_reused, large_live, large_live_bytes;
	_Atomic uint64_t mapped_bytes;
	_Atomic uint64_t pages_touched;
};

HAK_INTERNAL extern struct hak_counters hak_ctr;

#define HAK_STAT_ADD(field, v) atomic_fetch_add_explicit(&hak_ctr.field, (v), memory_order_relaxed)
#define HAK_STAT_LOAD(field) atomic_load_explicit(&hak_ctr.field, memory_order_relaxed)
#define HAK_STAT_SUB(field, v) atomic_fetch_sub_explicit(&hak_ctr.field, (v), memory_order_relaxed)

HAK_INTERNAL void hak_stats_at_exit(void);

#endif
