/* Allocator events are recorded while locks are held and emitted after
 * they are dropped: a tracer may allocate, and must never find us holding
 * a lock (docs/architecture.md, LTTng safety rule 2). */
#ifndef HAKMEM_EVENTS_H
#define HAKMEM_EVENTS_H

#include "config.h"

enum hak_event_type {
	HAK_EV_SS_MMAP,
	HAK_EV_SS_MUNMAP,
	HAK_EV_SS_REUSE,
	HAK_EV_SLAB_EMPTY,
	HAK_EV_SLAB_REUSE,
	HAK_EV_SLAB_PURGE,
	/* Not from the pool, but emitted (and deferred) the same way. */
	HAK_EV_REFILL,
	HAK_EV_LARGE_MMAP,
	HAK_EV_LARGE_MUNMAP,
	HAK_EV_HEAP_ERROR,
	HAK_EV_PROCESS_STATS,
	/* One HAKMEM_PREWARM entry, done before the tracer loaded: kept until
	 * it starts (hak_trace_keep). */
	HAK_EV_PREWARM,
};

/* superslab_mmap reasons */
enum { HAK_MMAP_REASON_REFILL = 0, HAK_MMAP_REASON_PREWARM = 1 };
/* superslab_munmap reasons */
enum {
	HAK_MUNMAP_REASON_WARM_LIMIT = 0,
	HAK_MUNMAP_REASON_PURGE_DELAY = 1,
	HAK_MUNMAP_REASON_FAILED = 2
};

/* One payload per event type, its fields named as the tracepoint's
 * (trace/hakmem_tp.h). */
struct hak_ev_ss_mmap {
	uintptr_t ss;
	uint64_t size, ns; /* ns: how long the map took */
	uint8_t pool, reason;
};
struct hak_ev_ss_munmap {
	uintptr_t ss;
	uint64_t size;
	uint8_t pool, reason;
};
struct hak_ev_ss_reuse {
	uintptr_t ss;
	uint8_t pool;
};
struct hak_ev_slab_empty {
	uintptr_t ss;
	uint8_t pool, slab, cls;
};
struct hak_ev_slab_reuse {
	uintptr_t ss;
	uint32_t resident_pages;
	uint8_t pool, slab, old_class, new_class;
};
struct hak_ev_slab_purge {
	uintptr_t ss;
	uint32_t pages;
	uint8_t pool, slab; /* slab 0xff: the whole SuperSlab */
};
struct hak_ev_refill {
	uint32_t want, got, from_freelist, from_carve, new_pages, block_size;
	uint32_t from_remote;    /* collected off the slab's remote list into its freelist */
	uint32_t remote_waiting; /* a carving refill: freed blocks on the class's partial slabs */
	uint8_t cls, pool, new_slab, refault;
};
struct hak_ev_large_mmap {
	uintptr_t addr;
	uint64_t size;
	uint32_t new_pages;
};
struct hak_ev_large_munmap {
	uintptr_t addr;
	uint64_t size;
};
struct hak_ev_heap_error {
	uintptr_t addr;
	uint32_t kind, found, expected; /* found and expected: header bytes */
};
struct hak_ev_prewarm {
	uint64_t pages;       /* pages the prewarm faulted in */
	uint32_t block_size;  /* the class's usable bytes */
	uint32_t slabs, done; /* asked by HAKMEM_PREWARM, and mapped */
	uint8_t cls, pool;
};

struct hak_event {
	uint8_t type;      /* enum hak_event_type: which member of the union */
	uint64_t callsite; /* hakmem:callsite id, set as the event is emitted */
	union {
		struct hak_ev_ss_mmap ss_mmap;
		struct hak_ev_ss_munmap ss_munmap;
		struct hak_ev_ss_reuse ss_reuse;
		struct hak_ev_slab_empty slab_empty;
		struct hak_ev_slab_reuse slab_reuse;
		struct hak_ev_slab_purge slab_purge;
		struct hak_ev_refill refill;
		struct hak_ev_large_mmap large_mmap;
		struct hak_ev_large_munmap large_munmap;
		struct hak_ev_heap_error heap_error;
		struct hak_ev_prewarm prewarm;
	};
};

#define HAK_EVENT_BUF 24

struct hak_event_buf {
	unsigned n;
	struct hak_event ev[HAK_EVENT_BUF];
};

static inline int hak_events_full(const struct hak_event_buf *b)
{
	return b->n >= HAK_EVENT_BUF;
}

static inline void hak_event_add(struct hak_event_buf *b, struct hak_event e)
{
#if !defined(HAKMEM_RELEASE)
	if (b->n < HAK_EVENT_BUF) b->ev[b->n++] = e;
#else
	(void)b;
	(void)e;
#endif
}

/* Emits recorded events; call with no allocator lock held. */
#if defined(HAKMEM_TRACE_HOOKS)
HAK_INTERNAL void hak_events_emit(struct hak_event_buf *b);
#else
static inline void hak_events_emit(struct hak_event_buf *b)
{
	b->n = 0;
}
#endif

#endif
