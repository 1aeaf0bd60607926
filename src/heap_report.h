/* Heap-error reports: what went wrong, where, and what to do next. */
#ifndef HAKMEM_HEAP_REPORT_H
#define HAKMEM_HEAP_REPORT_H

#include "ptr_track.h"

HAK_INTERNAL const char *hak_error_name(int kind);

/* Prints the report for p, emits hakmem:heap_error and then acts on
 * HAKMEM_ON_ERROR. detail may be NULL. */
HAK_INTERNAL void hak_report_error(int kind, const void *p, const struct hak_ptr_info *info,
                                   const char *detail, void *ret);

#endif
