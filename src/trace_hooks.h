/* Where tracepoints fire. Without HAKMEM_TRACE_HOOKS (the release
 * library, or -DHAKMEM_TRACE=OFF) every hook compiles to nothing. */
#ifndef HAKMEM_TRACE_HOOKS_H
#define HAKMEM_TRACE_HOOKS_H

#if defined(HAKMEM_TRACE_HOOKS)
/* The LTTng provider arrives with the tracing issue; until then the hooks
 * are empty in every build. */
#define HAK_TRACE_REFILL(cls, want, got, from_freelist, from_carve, new_slab, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MMAP(addr, size, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MUNMAP(addr, size) ((void)0)
#define HAK_TRACE_POOL_EVENT(ev) ((void)(ev))
#define HAK_TRACE_HEAP_ERROR(kind, addr, found, expected) ((void)0)
#else
#define HAK_TRACE_REFILL(cls, want, got, from_freelist, from_carve, new_slab, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MMAP(addr, size, new_pages) ((void)0)
#define HAK_TRACE_LARGE_MUNMAP(addr, size) ((void)0)
#define HAK_TRACE_HEAP_ERROR(kind, addr, found, expected) ((void)0)
#endif

#endif
