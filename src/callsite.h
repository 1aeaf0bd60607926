/* Call sites of the mallocs that touch fresh pages, for the tracer: the
 * program's stack, written once per process as a hakmem:callsite event
 * and named by id in the fault events (docs/architecture.md, "Call
 * sites"). Only with HAKMEM_TRACE_HOOKS: the release library has none. */
#ifndef HAKMEM_CALLSITE_H
#define HAKMEM_CALLSITE_H

#include "config.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include "../trace/hakmem_tp_abi.h"

/* Loads the unwinder (libgcc_s) and finds hakmem's own code. From
 * hak_trace_start: a constructor, no allocator lock held. */
HAK_INTERNAL void hak_callsite_init(void);
/* The malloc family's entry points, which tell hakmem's frames from the
 * program's when hakmem is linked into it (no module range). From
 * alloc.c, which owns them, before any other constructor: so this file
 * names nothing of alloc.c's. */
HAK_INTERNAL void hak_callsite_own_entries(void *const *fns, unsigned n);
/* The id of the calling thread's stack (the program's frames, hakmem's
 * left out); writes its hakmem:callsite event the first time the
 * process sees it. Call with the tracer's nesting guard set. 0: none. */
HAK_INTERNAL uint64_t hak_callsite_capture(const struct hakmem_tp_ops *o);
#endif

#endif
