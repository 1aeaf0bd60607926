/* Diagnostics that never allocate: format on the stack, write(2). */
#ifndef HAKMEM_LOG_H
#define HAKMEM_LOG_H

#include "config.h"

HAK_INTERNAL void hak_log_set_fd(int fd);
HAK_INTERNAL int hak_log_fd(void);
HAK_INTERNAL void hak_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
HAK_INTERNAL void hak_log_fd_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
