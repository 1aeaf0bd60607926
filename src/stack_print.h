/* The stacks of heap reports: which frames to show (not hakmem's own, not
 * the C start-up's) and how each reads: "#1 main at uaf.c:9 (uaf+0x11c8)",
 * "#2 foo (libfoo.so+0x1234)" or "#3 libfoo.so+0x1234". Every report that
 * prints a stack prints it through here. */
#ifndef HAKMEM_STACK_PRINT_H
#define HAKMEM_STACK_PRINT_H

#include "symbolize.h"

/* Prints "  title:" and frames[0..n), return addresses, innermost first.
 * Safe mid-operation: the symbolizer's mallocs take memory of their own
 * (hak_in_report) and nothing here takes an allocator lock. */
HAK_INTERNAL void hak_stack_print(int fd, const char *title, void *const *frames, unsigned n);
/* The same for a stack depot id (nothing for id 0). */
HAK_INTERNAL void hak_stack_print_id(int fd, const char *title, uint32_t id);

/* The frames worth showing are f[*first..end), end returned: after the
 * last hakmem frame, and up to main or the last frame that is not C
 * start-up. *call_main remembers libc's return address into main once
 * seen (it has no name without libc's debug symbols). */
HAK_INTERNAL unsigned hak_frames_trim(const struct hak_frame *f, unsigned n, unsigned *first,
                                      void **call_main);
/* One frame as its report line, numbered idx; file paths under cwd are
 * shown relative to it. Returns the length, as snprintf. */
HAK_INTERNAL int hak_frame_format(char *buf, size_t cap, unsigned idx, const struct hak_frame *f,
                                  const char *cwd);
/* path relative to dir when it lies under it, else path. */
HAK_INTERNAL const char *hak_path_under(const char *path, const char *dir);

#endif
