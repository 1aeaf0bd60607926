/* Diagnostics that never allocate: format on the stack, write(2). */
#ifndef HAKMEM_LOG_H
#define HAKMEM_LOG_H

#include "config.h"

#include <stddef.h>

HAK_INTERNAL void hak_log_set_fd(int fd);
HAK_INTERNAL int hak_log_fd(void);
/* An untrusted string made safe for one log line: quotes, backslashes and
 * control bytes escaped (a newline must not forge a report line), cut at
 * about 160 bytes. Returns its length; dst needs cap >= 176. */
HAK_INTERNAL size_t hak_log_quote(char *dst, size_t cap, const char *s);
HAK_INTERNAL void hak_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
HAK_INTERNAL void hak_log_fd_printf(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
