/* ptr_track levels and heap-error kinds. In the release library every
 * check folds to a constant 0 and the compiler drops the code. */
#ifndef HAKMEM_CHECK_H
#define HAKMEM_CHECK_H

#include "config.h"
#include "error_kinds.h"

enum hak_check_level { HAK_CHECK_OFF = 0, HAK_CHECK_FAST = 1, HAK_CHECK_FULL = 2 };

/* How a block was allocated, and so how it must be released (full mode
 * keeps it in a live block's record, where free_stack goes unused). */
enum hak_alloc_kind { HAK_ALLOC_MALLOC = 0, HAK_ALLOC_NEW = 1, HAK_ALLOC_NEW_ARRAY = 2 };

enum hak_on_error { HAK_ON_ERROR_ABORT = 0, HAK_ON_ERROR_REPORT = 1, HAK_ON_ERROR_IGNORE = 2 };

#if defined(HAKMEM_CHECKS)
/* The check level and, beside it, whether per-call tracepoints fire
 * (trace_hooks.h hak_tp_per_call): the entry points test both with one
 * 64-bit compare (alloc_fast.h fast_entry). Read and written under their
 * old names. */
union hak_entry_gate {
	struct {
		int level;
		int per_call;
	} f;
	uint64_t word;
};
HAK_INTERNAL extern union hak_entry_gate hak_entry_gate;
#define hak_check_level (hak_entry_gate.f.level)
/* The gate's word at a level with no per-call tracepoint. */
#define HAK_GATE_ONLY(level) ((uint64_t)(level))
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the gate's level is its low half");
/* Picks the per-process key of full mode's free-list links (start-up). */
HAK_INTERNAL void hak_track_init_key(void);
/* Set while this thread prints a report (heap_report.c, stack_print.c). A
 * report can run in the middle of a malloc or free (a damaged link found
 * while a bin is popped): a nested malloc then must not touch the thread
 * cache, or it could pop the same block and hand it out twice. alloc.c
 * sends it to a large span of its own. Here, not in heap_report.c, so that
 * what reads it (alloc.c, stack_print.c, large_check.c) ties no file to
 * the report. */
HAK_INTERNAL extern __thread int hak_in_report __attribute__((tls_model("initial-exec")));
/* The checker's work that the allocator's core starts but does not call
 * by name, which would tie the core to the checker (docs/architecture.md,
 * "Module map"). lifecycle.c fills them first thing at start-up; they are
 * read only on cold paths, in place of the direct call they replace. */
struct hak_quarantined;
struct hak_check_hooks {
	/* tcache.c, first in a thread's teardown: up to max of the thread's
	 * quarantined blocks, checked, in out for tcache.c to free; 0 once
	 * there are none. */
	unsigned (*thread_exit)(struct hak_quarantined *out, unsigned max);
	/* large.c, full mode: resident pages [start, start + bytes) of freed
	 * spans are handed out again (large_check.c). */
	void (*large_reused)(uint8_t *start, size_t bytes);
};
HAK_INTERNAL extern struct hak_check_hooks hak_check_hooks;
/* Relaxed: a thread's first malloc reads the level while another thread's
 * hak_init may write it (env.c); a plain mov all the same. */
#define HAK_CHECKING() HAK_UNLIKELY(HAK_RELAXED_LOAD(hak_check_level) != HAK_CHECK_OFF)
#define HAK_CHECKING_FULL() HAK_UNLIKELY(HAK_RELAXED_LOAD(hak_check_level) == HAK_CHECK_FULL)
#else
#define HAK_CHECKING() 0
#define HAK_CHECKING_FULL() 0
#endif

#endif
