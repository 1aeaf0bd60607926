/* What the malloc family's three files share: alloc.c (malloc, free,
 * calloc, malloc_usable_size), realloc.c and aligned_alloc.c. malloc's and
 * free's paths stay inline in alloc.c, where the fast paths are; the other
 * two reach them through one call each. */
#ifndef HAKMEM_ALLOC_PATHS_H
#define HAKMEM_ALLOC_PATHS_H

#include "callsite.h"
#include "check.h"
#include "config.h"
#include "ptr_track.h"

#include <stddef.h>

/* A block and the class it came from. */
struct got_block {
	void *p;
	unsigned cls;
};

/* Who called the malloc family: the program's return address and frame,
 * for ptr_track's stack depot. Empty in the release library, where an
 * empty struct (GNU C) takes no register: passing it costs nothing. */
struct hak_caller {
#if defined(HAKMEM_CHECKS)
	void *ret, *frame;
#endif
};

/* The caller of the entry point this is written in. */
#if defined(HAKMEM_CHECKS)
#define HAK_CALLER_HERE                                                                            \
	((struct hak_caller){__builtin_return_address(0), __builtin_frame_address(0)})
#else
#define HAK_CALLER_HERE ((struct hak_caller){})
#endif

/* ptr_track sees every block leave and come back, with its caller. */
static inline void *track_class(void *p, unsigned cls, size_t n, struct hak_caller caller)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING() && p) return hak_track_on_alloc(p, cls, n, caller.ret, caller.frame);
#endif
	(void)cls, (void)n, (void)caller;
	return p;
}

static inline void *track_large(void *p, size_t n, struct hak_caller caller)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING() && p) return hak_track_on_alloc_large(p, n, caller.ret, caller.frame);
#endif
	(void)n, (void)caller;
	return p;
}

/* malloc's path for n bytes (a slab or a large block), seen by ptr_track
 * as allocated by caller. */
HAK_INTERNAL void *hak_alloc_for(size_t n, struct hak_caller caller);
/* A block of class c from the thread cache for an n-byte request, not yet
 * seen by ptr_track (track_class). */
HAK_INTERNAL struct got_block hak_alloc_class_for(unsigned c, size_t n);
/* What malloc_usable_size(p) returns; 0 for a pointer that is not ours. */
HAK_INTERNAL size_t hak_usable_size_of(void *p);
#if defined(HAKMEM_CHECKS)
/* free's checked path for p, released as kind says (enum hak_alloc_kind),
 * without the per-call tracepoint. */
HAK_INTERNAL void hak_free_tracked(void *p, unsigned kind, void *ret, void *frame);
#endif

/* callsite.c leaves hakmem's own frames out of a call site: by the
 * library's range, or, when hakmem is linked into the program, by the
 * entry points each file hands over here, before every other constructor
 * (priority 101), so that no traced malloc comes first. Per file: a static
 * link pulls in only the files the program calls. */
#if defined(HAKMEM_TRACE_HOOKS)
#define HAK_OWN_ENTRY_POINTS(...)                                                                  \
	__attribute__((constructor(101))) static void give_entry_points(void)                      \
	{                                                                                          \
		void *const fns[] = {__VA_ARGS__};                                                 \
		hak_callsite_own_entries(fns, sizeof fns / sizeof *fns);                           \
	}
#else
#define HAK_OWN_ENTRY_POINTS(...)
#endif

#if defined(HAKMEM_OVERRIDE)
/* The libc names are aliases of the hak_* functions (one body, no extra
 * call on the fast path); an alias must sit beside its target. */
#define HAK_ALIAS(name, target)                                                                    \
	extern __typeof(target) name __attribute__((alias(#target), visibility("default")))
#endif

#endif
