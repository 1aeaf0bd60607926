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
};

/* superslab_mmap reasons */
enum { HAK_MMAP_REASON_REFILL = 0, HAK_MMAP_REASON_PREWARM = 1 };
/* superslab_munmap reasons */
enum {
	HAK_MUNMAP_REASON_WARM_LIMIT = 0,
	HAK_MUNMAP_REASON_PURGE_DELAY = 1,
	HAK_MUNMAP_REASON_FAILED = 2
};

struct hak_event {
	uint8_t type;
	uint8_t pool;
	uint8_t reason;
	uint8_t slab;
	uint8_t old_class;
	uint8_t new_class;
	uint8_t new_slab;
	uint8_t refault;
	uint32_t pages; /* slab events; refill: new_pages; large_mmap: new pages */
	uint32_t want, got, from_freelist, from_carve, block_size; /* refill */
	uintptr_t ss;      /* also large addr, heap_error addr */
	uint64_t size;     /* heap_error: found << 8 | expected */
	uint64_t ns;       /* heap_error: kind */
	uint64_t callsite; /* hakmem:callsite id, set as the event is emitted */
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
