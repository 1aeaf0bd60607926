#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_fd = 2;

void hak_log_set_fd(int fd)
{
	log_fd = fd;
}
int hak_log_fd(void)
{
	return log_fd;
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return;
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
	if (n <= 0) {
		errno = saved;
		return;
	}
	if ((size_t)n >= sizeof buf) {
		/* Cut, but keep the line whole so the next report starts on its own line. */
		static const char cut[] = "...\n";
		n = sizeof buf - 1;
		if (fmt[strlen(fmt) - 1] == '\n')
			memcpy(buf + n - (sizeof cut - 1), cut, sizeof cut - 1);
	}
	write_all(fd, buf, (size_t)n);
	errno = saved;
}

size_t hak_log_quote(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, limit = 160; /* enough to recognise the value */
	for (; *s && o + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (o >= limit) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = 0;
	return o;
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
