#include "env.h"
#include "check.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hak_env hak_env = {
    .stats = 0,
    .warm_superslabs = 4,
    .purge_delay_ms = 1000,
    .large_cache_mb = HAK_LARGE_CACHE_MB_DEFAULT,
    .on_error = HAK_ON_ERROR_ABORT,
    .quarantine_kb = 256,
    .nprewarm = 0,
};

int hak_env_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	if (!s || !*s) return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) return -1;
	*out = v;
	return 0;
}

int hak_env_parse_bool(const char *s, int *out)
{
	if (!s) return -1;
	if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "false"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* "64:4,256:2": request size and slab count, both positive. */
int hak_env_parse_prewarm(const char *s, struct hak_prewarm *out, unsigned max, unsigned *n)
{
	unsigned k = 0;
	if (!s || !*s) return -1;
	while (*s) {
		char *end;
		errno = 0;
		if (*s < '0' || *s > '9') return -1; /* strtoul would accept "-1" as ULONG_MAX */
		unsigned long size = strtoul(s, &end, 10);
		if (errno || end == s || *end != ':' || size == 0 || size > HAK_MID_MAX) return -1;
		s = end + 1;
		if (*s < '0' || *s > '9') return -1;
		unsigned long slabs = strtoul(s, &end, 10);
		if (errno || end == s || slabs == 0 || slabs > 4096 || (*end && *end != ','))
			return -1;
		if (k == max) return -1;
		out[k].size = (uint32_t)size;
		out[k].slabs = (uint32_t)slabs;
		k++;
		s = *end ? end + 1 : end;
		if (*end && !*s) return -1; /* trailing comma */
	}
	*n = k;
	return 0;
}

int hak_env_parse_word(const char *s, const char *const *words)
{
	for (int i = 0; s && words[i]; i++)
		if (!strcmp(s, words[i])) return i;
	return -1;
}

static void warn_bad(const char *name, const char *value, const char *accepted, const char *dflt)
{
	char quoted[256];
	hak_log_quote(quoted, sizeof quoted, value);
	hak_log("hakmem: ignoring %s=\"%s\": expected %s; using the default (%s)\n", name, quoted,
	        accepted, dflt);
}

static void load_long(const char *name, long min, long max, const char *accepted, long *dst)
{
	const char *v = getenv(name);
	long x;
	char dflt[32];
	if (!v) return;
	if (hak_env_parse_long(v, min, max, &x) == 0) {
		*dst = x;
		return;
	}
	snprintf(dflt, sizeof dflt, "%ld", *dst);
	warn_bad(name, v, accepted, dflt);
}

#if defined(HAKMEM_CHECKS)
#define HAKMEM_CHECK_DEFAULT_NAME "fast"
#else
#define HAKMEM_CHECK_DEFAULT_NAME "off"
#endif

/* HAKMEM_LOG, read first: the warnings that follow go where it says. */
static void open_log(void)
{
	const char *v;
	if ((v = getenv("HAKMEM_LOG")) && *v) {
		int fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			char quoted[256];
			int err = errno;
			hak_log_quote(quoted, sizeof quoted, v);
			hak_log(
			    "hakmem: cannot open HAKMEM_LOG=\"%s\" (%s); reports go to stderr\n",
			    quoted, strerrordesc_np(err));
		} else
			hak_log_set_fd(fd);
	}
}

/* HAKMEM_CHECK: the check level (the release library has none). */
static void load_check_level(void)
{
	const char *v;
	static const char *const levels[] = {"off", "fast", "full", NULL};
	if ((v = getenv("HAKMEM_CHECK"))) {
		int lv = hak_env_parse_word(v, levels);
		if (lv < 0)
			warn_bad("HAKMEM_CHECK", v, "off, fast or full", HAKMEM_CHECK_DEFAULT_NAME);
#if defined(HAKMEM_ASAN)
		else if (lv == HAK_CHECK_FULL) {
			hak_log("hakmem: HAKMEM_CHECK=full is not available in the ASan build "
			        "(ASan already checks overflows and use-after-free); using fast\n");
			HAK_RELAXED_STORE(hak_check_level, HAK_CHECK_FAST);
		}
#endif
#if defined(HAKMEM_CHECKS)
		else /* atomic: alloc.c's entry points read it before any other sync */
			HAK_RELAXED_STORE(hak_check_level, lv);
#else
		else if (lv != HAK_CHECK_OFF)
			hak_log("hakmem: HAKMEM_CHECK=%s ignored: libhakmem-release.so has no "
			        "ptr_track; preload libhakmem.so (or use 'hakmem run --check=%s') "
			        "to check\n",
			        v, v);
#endif
	}
}

/* What the checks do on an error and keep: reports, leaks, the
 * quarantine, the stacks. */
static void load_checks(void)
{
	const char *v;
	long x;
	load_check_level();
	static const char *const actions[] = {"abort", "report", "ignore", NULL};
	if ((v = getenv("HAKMEM_ON_ERROR"))) {
		int a = hak_env_parse_word(v, actions);
		if (a < 0)
			warn_bad("HAKMEM_ON_ERROR", v, "abort, report or ignore", "abort");
		else
			hak_env.on_error = a;
	}
	if ((v = getenv("HAKMEM_CHECK_AT_EXIT")) && hak_env_parse_bool(v, &hak_env.check_at_exit))
		warn_bad("HAKMEM_CHECK_AT_EXIT", v, "0 or 1", "0");

	if ((v = getenv("HAKMEM_LEAKS")) && hak_env_parse_bool(v, &hak_env.leaks))
		warn_bad("HAKMEM_LEAKS", v, "0 or 1", "0");
#if defined(HAKMEM_CHECKS)
	if (hak_env.leaks && hak_check_level != HAK_CHECK_FULL)
		hak_log(
		    "hakmem: HAKMEM_LEAKS=1 needs HAKMEM_CHECK=full (only full mode records who "
		    "allocated each block); no leak list will be printed\n");
#else
	if (hak_env.leaks)
		hak_log("hakmem: HAKMEM_LEAKS=1 ignored: libhakmem-release.so has no ptr_track; "
		        "preload libhakmem.so with HAKMEM_CHECK=full (or use 'hakmem run "
		        "--check=full') to list leaks\n");
#endif

	x = hak_env.quarantine_kb;
	load_long("HAKMEM_QUARANTINE_KB", 0, 1 << 22, "kilobytes from 0 to 4194304", &x);
	hak_env.quarantine_kb = (unsigned)x;

	static const char *const unwinders[] = {"fast", "unwind", NULL};
	if ((v = getenv("HAKMEM_BACKTRACE"))) {
		int b = hak_env_parse_word(v, unwinders);
		if (b < 0)
			warn_bad("HAKMEM_BACKTRACE", v,
			         "fast (frame pointers) or unwind (exact, slow)", "fast");
		else
			hak_env.backtrace_unwind = b;
	}
}

void hak_env_load(void)
{
	const char *v;
	long x;

	open_log();

	/* Read by trace.c (full library); only "1" turns it on. */
	for (const char *const *t = (const char *const[]){"HAKMEM_TRACE", "HAKMEM_TRACE_PER_CALL",
	                                                  "HAKMEM_TRACE_CALLSITES", NULL};
	     *t; t++)
		if ((v = getenv(*t)) && *v && strcmp(v, "0") && strcmp(v, "1"))
			warn_bad(*t, v, "0 or 1 (set by hakmem trace)", "0");

	if ((v = getenv("HAKMEM_STATS")) && hak_env_parse_bool(v, &hak_env.stats))
		warn_bad("HAKMEM_STATS", v, "0 or 1", "0");

	if ((v = getenv("HAKMEM_SMALLMID")) && hak_env_parse_bool(v, &hak_env.smallmid))
		warn_bad("HAKMEM_SMALLMID", v, "0 or 1", "0");

	x = hak_env.warm_superslabs;
	load_long("HAKMEM_WARM_SUPERSLABS", 0, 4096, "a count from 0 to 4096", &x);
	hak_env.warm_superslabs = (unsigned)x;

	load_long("HAKMEM_PURGE_DELAY_MS", -1, 3600000,
	          "milliseconds from 0 to 3600000, or -1 to never purge", &hak_env.purge_delay_ms);

	load_long("HAKMEM_LARGE_CACHE_MB", -1, 1 << 20,
	          "megabytes from 0 to 1048576, or -1 for no limit", &hak_env.large_cache_mb);

	load_checks();

	if ((v = getenv("HAKMEM_PREWARM")) &&
	    hak_env_parse_prewarm(v, hak_env.prewarm, HAK_MAX_PREWARM, &hak_env.nprewarm)) {
		hak_env.nprewarm = 0;
		warn_bad("HAKMEM_PREWARM", v,
		         "SIZE:SLABS[,SIZE:SLABS...] with SIZE 1..32768 bytes and SLABS 1..4096, "
		         "at most 16 entries, e.g. 64:4,256:2",
		         "no prewarm");
	}
}
