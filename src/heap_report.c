#include "heap_report.h"
#include "check.h"
#include "env.h"
#include "log.h"
#include "stack_print.h"
#include "trace_hooks.h"

#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

/* What the reader should do next, per kind. */
static const char *const advice[] = {
    [HAK_ERR_DOUBLE_FREE] =
        "the block was freed twice; the first free is above when HAKMEM_CHECK=full",
    [HAK_ERR_INVALID_FREE] =
        "the address is inside a hakmem SuperSlab but not a block that was ever handed out",
    [HAK_ERR_INTERIOR_FREE] =
        "the pointer points inside a block, not at its start; free the pointer malloc returned",
    [HAK_ERR_HEADER_CORRUPT] =
        "the byte before the block was overwritten, usually by an overflow of the block before it "
        "or an underflow of this one; rerun with HAKMEM_CHECK=full to catch the write",
    [HAK_ERR_OVERFLOW] =
        "the program wrote past the size it asked for; look at the code that fills this block",
    [HAK_ERR_USE_AFTER_FREE_WRITE] =
        "the program wrote to the block after freeing it; look for code that keeps the pointer "
        "past its free (with HAKMEM_CHECK=full the free stack is printed above)",
    [HAK_ERR_FOREIGN_POINTER] = "hakmem never allocated this address (another allocator's block, a "
                                "stack or static address, or garbage); nothing was written to it",
    [HAK_ERR_MISMATCHED_FREE] =
        "release memory the way it was allocated: malloc with free, new with delete, new[] "
        "with delete[]",
};

const char *hak_error_name(int kind)
{
	return kind > 0 ? hak_error_kind_name((uint32_t)kind) : "unknown";
}

static const char *header_state(uint8_t h)
{
	for (uint32_t k = 0; k < HAK_NUM_POOLS; k++) {
		unsigned live = hak_pool_geom(k)->hdr_live;
		if ((h & 0xf0u) == live) return "live";
		if ((h & 0xf0u) == (live ^ HAK_HDR_FREED_BIT)) return "freed";
	}
	if (h == 0) return "zero";
	if (h >= 0x20 && h < 0x7f) return "ASCII";
	return "not a header";
}

/* What went wrong, where, and what the block was. */
static void describe(int fd, int kind, const void *p, const struct hak_ptr_info *in,
                     const char *detail)
{
	if (in && in->slab)
		hak_log_fd_printf(fd, "hakmem: %s at %p (class %u, superslab %p, slab %u)\n",
		                  hak_error_name(kind), p, in->cls, (void *)in->ss,
		                  in->slab->index);
	else if (in && in->large)
		hak_log_fd_printf(fd, "hakmem: %s at %p (large span)\n", hak_error_name(kind), p);
	else
		hak_log_fd_printf(fd,
		                  "hakmem: %s at %p (no hakmem SuperSlab or large span holds it)\n",
		                  hak_error_name(kind), p);
	if (kind == HAK_ERR_INTERIOR_FREE && in && in->block)
		hak_log_fd_printf(fd, "  the pointer is %zu bytes into the block at %p\n",
		                  (size_t)((const uint8_t *)p - in->block), (void *)in->block);
	else if (in && in->expected && kind != HAK_ERR_OVERFLOW &&
	         kind != HAK_ERR_USE_AFTER_FREE_WRITE && kind != HAK_ERR_MISMATCHED_FREE)
		hak_log_fd_printf(
		    fd, "  header byte at %p: expected 0x%02x (live), found 0x%02x (%s)\n",
		    in->block ? (void *)(in->block - 1) : (void *)((const uint8_t *)p - 1),
		    in->expected, in->found, header_state(in->found));
	if (detail) hak_log_fd_printf(fd, "  %s\n", detail);
	if (in && in->block)
		hak_log_fd_printf(fd, "  block %p: %zu usable bytes%s\n", (void *)in->block,
		                  hak_class_usable(in->cls),
		                  in->block != p && kind != HAK_ERR_INTERIOR_FREE
		                      ? ", reached through an aligned pointer"
		                      : "");
	if (in && in->rec && in->rec->state != TRACK_NONE)
		hak_log_fd_printf(fd, "  requested %u bytes\n", in->rec->requested);
}

void hak_report_error(int kind, const void *p, const struct hak_ptr_info *in, const char *detail,
                      void *ret)
{
	/* hak_init has run: a bad free can be the process's first call, and
	 * its entry point (alloc.c) starts hakmem before the check, so
	 * HAKMEM_LOG and HAKMEM_ON_ERROR apply to it too. */
	HAK_TRACE_HEAP_ERROR(kind, (uintptr_t)p, in ? in->found : 0, in ? in->expected : 0);
	if (hak_env.on_error == HAK_ON_ERROR_IGNORE || hak_in_report) return;
	hak_in_report = 1;
	int fd = hak_log_fd();

	describe(fd, kind, p, in, detail);

	/* The current call, from the malloc-family entry's caller down. */
	void *frames[64];
	int got = backtrace(frames, 64);
	int from = 0;
	for (int i = 0; i < got; i++)
		if (frames[i] == ret) {
			from = i;
			break;
		}
	hak_stack_print(fd, kind == HAK_ERR_USE_AFTER_FREE_WRITE ? "detected at" : "this call",
	                frames + from, (unsigned)(got - from));
	if (in && in->rec) {
		hak_stack_print_id(fd, "allocated at", in->rec->alloc_stack);
		/* A live block's free_stack holds how it was allocated. */
		if (in->rec->state == TRACK_FREED)
			hak_stack_print_id(fd, "first freed at", in->rec->free_stack);
	} else if (hak_check_level != HAK_CHECK_FULL) {
		hak_log_fd_printf(
		    fd,
		    "  (HAKMEM_CHECK=full also records where the block was allocated and freed)\n");
	}
	hak_log_fd_printf(fd, "  what to do: %s\n", advice[kind]);
	if (hak_env.on_error == HAK_ON_ERROR_ABORT)
		hak_log_fd_printf(
		    fd,
		    "  aborting (HAKMEM_ON_ERROR=abort); set HAKMEM_ON_ERROR=report to continue\n");
	hak_in_report = 0;
	if (hak_env.on_error == HAK_ON_ERROR_ABORT) abort();
}
