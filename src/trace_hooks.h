/* Where tracepoints fire. libhakmem.so calls the provider through a table
 * that stays NULL unless HAKMEM_TRACE=1 loaded it, so a disabled hook is
 * one load and one predictable branch. Without HAKMEM_TRACE_HOOKS (the
 * release library, or -DHAKMEM_TRACE=OFF) every hook is compiled out. */
#ifndef HAKMEM_TRACE_HOOKS_H
#define HAKMEM_TRACE_HOOKS_H

#include "config.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include "../trace/hakmem_tp_abi.h"

HAK_INTERNAL extern const struct hakmem_tp_ops *hak_tp;
HAK_INTERNAL extern int hak_tp_per_call;
HAK_INTERNAL extern __thread int hak_tp_nesting __attribute__((tls_model("initial-exec")));

/* LTTng allocates on a thread's first event: that malloc must not emit
 * again (DESIGN section 4, rule 1). */
#define HAK_TP_EMIT(method, ...)                                                                   \
	do {                                                                                       \
		const struct hakmem_tp_ops *o_ = hak_tp;                                           \
		if (HAK_UNLIKELY(o_ != NULL) && !hak_tp_nesting) {                                 \
			hak_tp_nesting = 1;                                                        \
			o_->method(__VA_ARGS__);                                                   \
			hak_tp_nesting = 0;                                                        \
		}                                                                                  \
	} while (0)

#define HAK_TRACE_REFILL(cls, pool, want, got, ffl, fcarve, new_slab, new_pages, refault, bsize)           \
	HAK_TP_EMIT(refill, cls, pool, want, got, ffl, fcarve, new_slab, new_pages, refault, bsize)
#define HAK_TRACE_LARGE_MMAP(addr, size, new_pages) HAK_TP_EMIT(large_mmap, addr, size, new_pages)
#define HAK_TRACE_LARGE_MUNMAP(addr, size) HAK_TP_EMIT(large_munmap, addr, size)
#define HAK_TRACE_HEAP_ERROR(kind, addr, found, expected) HAK_TP_EMIT(heap_error, kind, addr, found, expected)
#define HAK_TRACE_MALLOC(ptr, size)                                                                \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp_per_call))                                                 \
			HAK_TP_EMIT(malloc_call, (uint64_t)(uintptr_t)(ptr), size);                \
	} while (0)
#define HAK_TRACE_FREE(ptr)                                                                        \
	do {                                                                                       \
		if (HAK_UNLIKELY(hak_tp_per_call))                                                 \
			HAK_TP_EMIT(free_call, (uint64_t)(uintptr_t)(ptr));                        \
	} while (0)

/* Loads the provider when HAKMEM_TRACE=1 (from a constructor). */
HAK_INTERNAL void hak_trace_start(void);
/* Samples getrusage and /proc for process_stats. */
HAK_INTERNAL void hak_trace_process_stats(void);
#else
#define HAK_TRACE_REFILL(cls, pool, want, got, ffl, fcarve, new_slab, new_pages, refault, bsize) ((void)0)
#define HAK_TRACE_LARGE_MMAP(addr, size, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MUNMAP(addr, size) ((void)0)
#define HAK_TRACE_HEAP_ERROR(kind, addr, found, expected) ((void)0)
#define HAK_TRACE_MALLOC(ptr, size) ((void)0)
#define HAK_TRACE_FREE(ptr) ((void)0)
#endif

#endif
