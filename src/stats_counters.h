/* The counter store: the global counters the pools and the large spans
 * write, and each thread's per-class refill counters, which its thread
 * cache registers here. The stats report (stats.c) and the tracer's
 * process_stats (trace.c) read them; the writers know no reader. Slow
 * paths only: the fast paths never touch them. */
#ifndef HAKMEM_STATS_COUNTERS_H
#define HAKMEM_STATS_COUNTERS_H

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

/* One thread's class counters: its thread is the only writer
 * (hak_counter_bump), sums read them with relaxed loads. */
struct hak_thread_counters {
	struct hak_class_counters cls[HAK_NUM_CLASSES];
	struct hak_thread_counters *next, *prev; /* the live threads' list */
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

/* Owner-only increment, as a relaxed store: the same mov on x86-64, and no
 * data race with the sums. */
static inline void hak_counter_bump(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* A thread's counters join the sums when it starts caching, and are
 * folded into the exited threads' totals when it ends. */
HAK_INTERNAL void hak_counters_thread_start(struct hak_thread_counters *t);
HAK_INTERNAL void hak_counters_thread_end(struct hak_thread_counters *t);
/* Per class, the counters of every thread, live and exited. */
HAK_INTERNAL void hak_counters_sum_classes(struct hak_class_counters *out);

/* fork: the child keeps self's counters live (NULL: none) and folds the
 * other threads', which are gone, into the exited totals. */
HAK_INTERNAL void hak_counters_fork_prepare(void);
HAK_INTERNAL void hak_counters_fork_parent(void);
HAK_INTERNAL void hak_counters_fork_child(struct hak_thread_counters *self);

#endif
