/* Loading the LTTng provider on demand, and the events that are not tied
 * to one allocator decision (process_stats). */
#include "trace_hooks.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include "env.h"
#include "log.h"
#include "stats.h"
#include "tcache.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const struct hakmem_tp_ops *hak_tp;
int hak_tp_per_call;
__thread int hak_tp_nesting __attribute__((tls_model("initial-exec")));

/* lib/hakmem/libhakmem-tp.so beside the library holding this code. */
static int provider_path(char *buf, size_t len)
{
	const char *env = getenv("HAKMEM_TP_PATH");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	Dl_info info;
	if (!dladdr((void *)provider_path, &info) || !info.dli_fname)
		return -1;
	const char *slash = strrchr(info.dli_fname, '/');
	int dir = slash ? (int)(slash - info.dli_fname) : 1;
	snprintf(buf, len, "%.*s/hakmem/libhakmem-tp.so", dir, slash ? info.dli_fname : ".");
	return 0;
}

static long read_rss_kb(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *sp = strchr(buf, ' ');
	return sp ? strtol(sp + 1, NULL, 10) * (long)(sysconf(_SC_PAGESIZE) / 1024) : 0;
}

void hak_trace_process_stats(void)
{
	if (!hak_tp)
		return;
	struct rusage ru;
	struct hak_class_counters per[HAK_NUM_CLASSES];
	struct hakmem_tp_counters c = {
		.superslabs_mapped = HAK_STAT_LOAD(ss_mapped),
		.superslabs_reused = HAK_STAT_LOAD(ss_reused),
		.superslabs_unmapped = HAK_STAT_LOAD(ss_unmapped),
		.slab_empty = HAK_STAT_LOAD(slab_empty),
		.slab_reuse = HAK_STAT_LOAD(slab_reuse),
		.slab_purge = HAK_STAT_LOAD(slab_purge),
		.large_mapped = HAK_STAT_LOAD(large_mapped),
	};
	hak_tcache_sum_counters(per);
	for (unsigned k = 0; k < HAK_NUM_CLASSES; k++)
		c.refills += per[k].refills;
	getrusage(RUSAGE_SELF, &ru);
	HAK_TP_EMIT(process_stats, (uint64_t)ru.ru_minflt, (uint64_t)ru.ru_majflt, (uint64_t)read_rss_kb(),
		    HAK_STAT_LOAD(mapped_bytes), &c);
}

/* atexit runs before any library's destructors, so liblttng-ust is still
 * whole when the last sample is written. */
static void at_exit_stats(void) { hak_trace_process_stats(); }

void hak_trace_start(void)
{
	const char *v = getenv("HAKMEM_TRACE");
	if (!v || strcmp(v, "1"))
		return;
	char path[4096];
	if (provider_path(path, sizeof path)) {
		hak_log("hakmem: HAKMEM_TRACE=1 but the provider's location is unknown; set "
			"HAKMEM_TP_PATH=/path/to/libhakmem-tp.so. Tracing is off.\n");
		return;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		hak_log("hakmem: HAKMEM_TRACE=1 but the tracepoint provider did not load (%s). Install "
			"liblttng-ust1 and hakmem's lib/hakmem/libhakmem-tp.so, or set HAKMEM_TP_PATH. "
			"Tracing is off.\n",
			dlerror());
		return;
	}
	const struct hakmem_tp_ops *ops = dlsym(h, HAKMEM_TP_OPS_SYMBOL);
	if (!ops || ops->abi_version != HAKMEM_TP_ABI_VERSION) {
		hak_log("hakmem: %s is from another hakmem version (ABI %u, expected %u). Tracing is off.\n",
			path, ops ? ops->abi_version : 0, HAKMEM_TP_ABI_VERSION);
		return;
	}
	v = getenv("HAKMEM_TRACE_PER_CALL");
	hak_tp_per_call = v && !strcmp(v, "1");
	hak_tp = ops;
	atexit(at_exit_stats);
	hak_trace_process_stats();
}
#endif
