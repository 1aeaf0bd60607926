#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *args_prog = "bench";
static const char *args_usage = "";

void args_init(const char *prog, const char *usage)
{
	args_prog = prog;
	args_usage = usage;
}

void args_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", args_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s %s\n", args_prog, args_usage);
	exit(2);
}

uint64_t args_u64(const char *name, const char *text, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	/* strtoull would accept " 12", "-1" (wrapping) and "0x10". */
	if (text[0] < '0' || text[0] > '9')
		args_fail("%s must be a decimal number, got '%s'", name, text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end != '\0') args_fail("%s must be a decimal number, got '%s'", name, text);
	if (errno == ERANGE || v < min || v > max)
		args_fail("%s must be in %llu..%llu, got '%s'", name, (unsigned long long)min,
		          (unsigned long long)max, text);
	return v;
}
