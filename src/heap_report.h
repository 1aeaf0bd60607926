/* Heap-error reports: what went wrong, where, and what to do next. */
#ifndef HAKMEM_HEAP_REPORT_H
#define HAKMEM_HEAP_REPORT_H

#include "ptr_track.h"

HAK_INTERNAL const char *hak_error_name(int kind);

/* Set while this thread prints a report. A report can run in the middle of
 * a malloc or free (a damaged link found while a bin is popped): a nested
 * malloc then must not touch the thread cache, or it could pop the same
 * block and hand it out twice. alloc.c sends it to a large span of its own. */
HAK_INTERNAL extern __thread int hak_in_report __attribute__((tls_model("initial-exec")));
/* Prints the report for p, emits hakmem:heap_error and then acts on
 * HAKMEM_ON_ERROR. detail may be NULL. */
HAK_INTERNAL void hak_report_error(int kind, const void *p, const struct hak_ptr_info *info,
                                   const char *detail, void *ret);

#endif
