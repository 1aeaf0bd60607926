#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int log_fd = 2;

void hak_log_set_fd(int fd) { log_fd = fd; }
int hak_log_fd(void) { return log_fd; }

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* vsnprintf with plain %d/%s/%p/%zu formats does not allocate in glibc. */
static void vlog(int fd, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n > 0)
		write_all(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	errno = saved;
}

void hak_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(log_fd, fmt, ap);
	va_end(ap);
}

void hak_log_fd_printf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fd, fmt, ap);
	va_end(ap);
}
