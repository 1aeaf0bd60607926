/* Where tracepoints fire. libhakmem.so calls the provider through a table
 * that stays NULL unless HAKMEM_TRACE=1 loaded it, so a disabled hook is
 * one load and one predictable branch. Without HAKMEM_TRACE_HOOKS (the
 * release library, or -DHAKMEM_TRACE=OFF) every hook is compiled out. */
#ifndef HAKMEM_TRACE_HOOKS_H
#define HAKMEM_TRACE_HOOKS_H

#include "config.h"
#include "events.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include "../trace/hakmem_tp_abi.h"
#include "check.h"

HAK_INTERNAL extern const struct hakmem_tp_ops *hak_tp;
/* Per-call events on: beside the check level, in one word (check.h). */
#define hak_tp_per_call (hak_entry_gate.f.per_call)

/* Emits one event. LTTng allocates on a thread's first event; an event
 * that allocation causes is queued and emitted right after the one in
 * flight, never recursively (docs/architecture.md, LTTng safety rule 1). Call with no
 * allocator lock held (rule 2). */
HAK_INTERNAL void hak_trace_emit(const struct hak_event *e);
/* An event of start-up (a prewarm), made before the tracer loads: kept
 * and emitted after tracing's first process_stats, or at once after it. */
HAK_INTERNAL void hak_trace_keep(const struct hak_event *e);
/* Per-call events; dropped rather than queued when nested. */
HAK_INTERNAL void hak_trace_call(void *ptr, uint64_t size, int is_free);

#define HAK_TRACE_EVENT(...)                                                                       \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp != NULL)) {                                                \
			struct hak_event e_ = {__VA_ARGS__};                                       \
			hak_trace_emit(&e_);                                                       \
		}                                                                                  \
	} while (0)

/* waiting_ is evaluated only when the event is emitted, so the count costs
 * nothing untraced: pass the call itself (hak_pool_waiting_blocks). */
#define HAK_TRACE_REFILL(cls_, pool_, want_, got_, ffl, fcarve, new_slab_, new_pages_, refault_,   \
                         bsize, fremote, waiting_)                                                 \
	HAK_TRACE_EVENT(.type = HAK_EV_REFILL, .refill = {.cls = (uint8_t)(cls_),                  \
	                                                  .pool = (uint8_t)(pool_),                \
	                                                  .want = (want_),                         \
	                                                  .got = (got_),                           \
	                                                  .from_freelist = (ffl),                  \
	                                                  .from_carve = (fcarve),                  \
	                                                  .new_slab = (uint8_t)(new_slab_),        \
	                                                  .new_pages = (new_pages_),               \
	                                                  .refault = (uint8_t)(refault_),          \
	                                                  .block_size = (bsize),                   \
	                                                  .from_remote = (fremote),                \
	                                                  .remote_waiting = (waiting_)})
#define HAK_TRACE_PREWARM(cls_, pool_, bsize, slabs_, done_, pages_)                               \
	do {                                                                                       \
		struct hak_event e_ = {.type = HAK_EV_PREWARM,                                     \
		                       .prewarm = {.cls = (uint8_t)(cls_),                         \
		                                   .pool = (uint8_t)(pool_),                       \
		                                   .block_size = (bsize),                          \
		                                   .slabs = (slabs_),                              \
		                                   .done = (done_),                                \
		                                   .pages = (pages_)}};                            \
		hak_trace_keep(&e_);                                                               \
	} while (0)
#define HAK_TRACE_LARGE_MMAP(addr_, size_, new_pages_)                                             \
	HAK_TRACE_EVENT(.type = HAK_EV_LARGE_MMAP,                                                 \
	                .large_mmap = {.addr = (addr_),                                            \
	                               .size = (size_),                                            \
	                               .new_pages = (uint32_t)(new_pages_)})
#define HAK_TRACE_LARGE_MUNMAP(addr_, size_)                                                       \
	HAK_TRACE_EVENT(.type = HAK_EV_LARGE_MUNMAP,                                               \
	                .large_munmap = {.addr = (addr_), .size = (size_)})
#define HAK_TRACE_HEAP_ERROR(kind_, addr_, found_, expected_)                                      \
	HAK_TRACE_EVENT(.type = HAK_EV_HEAP_ERROR,                                                 \
	                .heap_error = {.kind = (uint32_t)(kind_),                                  \
	                               .addr = (addr_),                                            \
	                               .found = (uint32_t)(found_),                                \
	                               .expected = (uint32_t)(expected_)})
#define HAK_TRACE_MALLOC(ptr, size)                                                                \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp_per_call)) hak_trace_call(ptr, size, 0);                   \
	} while (0)
#define HAK_TRACE_FREE(ptr)                                                                        \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp_per_call)) hak_trace_call(ptr, 0, 1);                      \
	} while (0)

/* Loads the provider when HAKMEM_TRACE=1 (from a constructor). */
HAK_INTERNAL void hak_trace_start(void);
/* A last hakmem:tick from a thread that emitted events, as it exits. */
HAK_INTERNAL void hak_trace_thread_exit(void);
/* In a fork's child: the samples' lock afresh (trace.c). */
HAK_INTERNAL void hak_trace_fork_child(void);
#define HAK_TRACE_THREAD_EXIT()                                                                    \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp != NULL)) hak_trace_thread_exit();                         \
	} while (0)
#else
#define HAK_TRACE_REFILL(cls, pool, want, got, ffl, fcarve, new_slab, new_pages, refault, bsize,   \
                         fremote, waiting)                                                         \
	((void)0)
#define HAK_TRACE_PREWARM(cls, pool, bsize, slabs, done, pages) ((void)0)
#define HAK_TRACE_LARGE_MMAP(addr, size, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MUNMAP(addr, size) ((void)0)
#define HAK_TRACE_HEAP_ERROR(kind, addr, found, expected) ((void)0)
#define HAK_TRACE_MALLOC(ptr, size) ((void)0)
#define HAK_TRACE_FREE(ptr) ((void)0)
#define HAK_TRACE_THREAD_EXIT() ((void)0)
#endif

#endif
