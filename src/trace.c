/* Loading the LTTng provider on demand, and the events that are not tied
 * to one allocator decision (process_stats). */
#include "trace_hooks.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include "callsite.h"
#include "env.h"
#include "log.h"
#include "stats_counters.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const struct hakmem_tp_ops *hak_tp;

/* process_stats also goes out every this many SuperSlab maps, so a fault
 * storm shows up in the samples even without perf counters. */
#define STATS_EVERY_SS_MAPS 16
#define DEFERRED_MAX 32

struct deferred {
	unsigned head, n;
	struct hak_event ev[DEFERRED_MAX];
};

static __thread int nesting __attribute__((tls_model("initial-exec")));
static __thread struct deferred deferred __attribute__((tls_model("initial-exec")));

/* hakmem:tick, at most this often per thread while it emits events: the
 * events of the channel without the perf context carry no fault count, so
 * the ticks keep a thread's "other" faults in windows no wider than this
 * (half the report's default 10 ms storm window). */
#define TICK_NS 5000000ull
enum { TICK_PERIODIC = 0, TICK_THREAD_EXIT = 1 };
static __thread uint64_t last_tick_ns __attribute__((tls_model("initial-exec")));

/* Events from before the tracer loaded that the analysis needs: the
 * prewarm's, one per HAKMEM_PREWARM entry (at most 16), made in the first
 * malloc, which comes before the constructor that loads the provider (its
 * dlopen mallocs). hak_trace_emit drops what comes before hak_tp, and the
 * nesting queue is per thread, so they wait here, process-wide, and go out
 * right after tracing's first process_stats, which starts an image. */
#define KEPT_MAX 16
static struct hak_event kept[KEPT_MAX];
static unsigned nkept;
static int kept_started; /* set once: later events are emitted at once */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

/* lib/hakmem/libhakmem-tp.so beside the library holding this code. */
static int provider_path(char *buf, size_t len)
{
	const char *env = getenv("HAKMEM_TP_PATH");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	Dl_info info;
	if (!dladdr((void *)provider_path, &info) || !info.dli_fname) return -1;
	const char *slash = strrchr(info.dli_fname, '/');
	int dir = slash ? (int)(slash - info.dli_fname) : 1;
	snprintf(buf, len, "%.*s/hakmem/libhakmem-tp.so", dir, slash ? info.dli_fname : ".");
	return 0;
}

static long read_rss_kb(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return 0;
	buf[n] = 0;
	char *sp = strchr(buf, ' ');
	return sp ? strtol(sp + 1, NULL, 10) * (long)(sysconf(_SC_PAGESIZE) / 1024) : 0;
}

/* One sample at a time: each reads the counters and goes out under this
 * lock, so the trace's samples, in time order, never count backwards. Two
 * threads' samples, each read before the other's went out, could reach the
 * trace out of order, and the analysis takes a count that drops for an
 * exec (trace/analysis/state.c starts_image): it split a process in two
 * (analysis.remote_exit, once, in CI). Never held while an allocator lock
 * is: the tracer's own allocations under it are queued (hak_trace_emit). */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

void hak_trace_fork_child(void)
{
	/* A thread sampling at the fork is not in the child. */
	pthread_mutex_init(&stats_lock, NULL);
}

static void emit_process_stats(const struct hakmem_tp_ops *o)
{
	pthread_mutex_lock(&stats_lock);
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
	hak_counters_sum_classes(per);
	for (unsigned k = 0; k < HAK_NUM_CLASSES; k++)
		c.refills += per[k].refills;
	getrusage(RUSAGE_SELF, &ru);
	o->process_stats((uint64_t)ru.ru_minflt, (uint64_t)ru.ru_majflt, (uint64_t)read_rss_kb(),
	                 HAK_STAT_LOAD(mapped_bytes), &c);
	pthread_mutex_unlock(&stats_lock);
}

/* The pool's events: SuperSlabs and slabs. */
static void dispatch_pool(const struct hakmem_tp_ops *o, const struct hak_event *e)
{
	static unsigned maps;
	const struct hak_ev_ss_mmap *mm = &e->ss_mmap;
	const struct hak_ev_ss_munmap *mu = &e->ss_munmap;
	const struct hak_ev_slab_empty *se = &e->slab_empty;
	const struct hak_ev_slab_reuse *sr = &e->slab_reuse;
	const struct hak_ev_slab_purge *sp = &e->slab_purge;
	switch (e->type) {
	case HAK_EV_SS_MMAP:
		o->superslab_mmap(mm->ss, mm->size, mm->pool, mm->reason, mm->ns, e->callsite);
		if (__atomic_add_fetch(&maps, 1, __ATOMIC_RELAXED) % STATS_EVERY_SS_MAPS == 0)
			emit_process_stats(o);
		break;
	case HAK_EV_SS_MUNMAP:
		o->superslab_munmap(mu->ss, mu->size, mu->pool, mu->reason);
		break;
	case HAK_EV_SS_REUSE:
		o->superslab_reuse(e->ss_reuse.ss, e->ss_reuse.pool);
		break;
	case HAK_EV_SLAB_EMPTY:
		o->slab_empty(se->ss, se->slab, se->cls, se->pool);
		break;
	case HAK_EV_SLAB_REUSE:
		o->slab_reuse(sr->ss, sr->slab, sr->old_class, sr->new_class, sr->resident_pages,
		              sr->pool);
		break;
	case HAK_EV_SLAB_PURGE:
		o->slab_purge(sp->ss, sp->slab, sp->pages, sp->pool);
		break;
	}
}

static void emit_refill(const struct hakmem_tp_ops *o, const struct hak_event *e)
{
	const struct hak_ev_refill *r = &e->refill;
	o->refill(&(struct hakmem_tp_refill){.cls = r->cls,
	                                     .pool = r->pool,
	                                     .want = r->want,
	                                     .got = r->got,
	                                     .from_freelist = r->from_freelist,
	                                     .from_carve = r->from_carve,
	                                     .new_slab = r->new_slab,
	                                     .new_pages = r->new_pages,
	                                     .refault = r->refault,
	                                     .block_size = r->block_size,
	                                     .from_remote = r->from_remote,
	                                     .remote_waiting = r->remote_waiting,
	                                     .callsite = e->callsite});
}

static void dispatch(const struct hakmem_tp_ops *o, const struct hak_event *e)
{
	const struct hak_ev_large_mmap *lm = &e->large_mmap;
	const struct hak_ev_heap_error *he = &e->heap_error;
	switch (e->type) {
	case HAK_EV_REFILL:
		emit_refill(o, e);
		break;
	case HAK_EV_LARGE_MMAP:
		o->large_mmap(lm->addr, lm->size, lm->new_pages, e->callsite);
		break;
	case HAK_EV_LARGE_MUNMAP:
		o->large_munmap(e->large_munmap.addr, e->large_munmap.size);
		break;
	case HAK_EV_HEAP_ERROR:
		o->heap_error(he->kind, he->addr, he->found, he->expected);
		break;
	case HAK_EV_PROCESS_STATS:
		emit_process_stats(o);
		break;
	case HAK_EV_PREWARM:
		o->prewarm(e->prewarm.cls, e->prewarm.block_size, e->prewarm.pool, e->prewarm.slabs,
		           e->prewarm.done, e->prewarm.pages);
		break;
	default:
		dispatch_pool(o, e);
	}
}

/* The events whose pages the program's malloc touched first: they carry
 * its call site. A prewarm runs before the tracer; a refill that carved
 * nothing new touched nothing. */
static int touches_fresh_pages(const struct hak_event *e)
{
	return (e->type == HAK_EV_REFILL && e->refill.new_pages) || e->type == HAK_EV_LARGE_MMAP ||
	       (e->type == HAK_EV_SS_MMAP && e->ss_mmap.reason == HAK_MMAP_REASON_REFILL);
}

static void drain_deferred(const struct hakmem_tp_ops *o)
{
	while (deferred.n) {
		struct hak_event next = deferred.ev[deferred.head];
		deferred.head = (deferred.head + 1) % DEFERRED_MAX;
		deferred.n--;
		dispatch(o, &next);
	}
}

/* After the event, never before: a refill's carving faulted before its
 * event, and a tick in between would take those faults from its claim. */
static void tick_if_due(const struct hakmem_tp_ops *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now - last_tick_ns < TICK_NS) return;
	last_tick_ns = now;
	o->tick(TICK_PERIODIC);
	drain_deferred(o);
}

void hak_trace_thread_exit(void)
{
	const struct hakmem_tp_ops *o = hak_tp;
	if (!o || nesting || !last_tick_ns) return; /* no event from this thread */
	nesting = 1;
	o->tick(TICK_THREAD_EXIT);
	drain_deferred(o);
	nesting = 0;
}

void hak_trace_emit(const struct hak_event *e)
{
	const struct hakmem_tp_ops *o = hak_tp;
	if (!o) return;
	if (nesting) {
		/* The tracer itself allocated: queue, emit after the current one. */
		if (deferred.n < DEFERRED_MAX)
			deferred.ev[(deferred.head + deferred.n++) % DEFERRED_MAX] = *e;
		return;
	}
	nesting = 1;
	struct hak_event here;
	if (touches_fresh_pages(e)) {
		/* Under the guard: a malloc the unwinder makes is queued. Queued
		 * events (the tracer's own mallocs) get no call site. */
		here = *e;
		here.callsite = hak_callsite_capture(o);
		e = &here;
	}
	dispatch(o, e);
	drain_deferred(o);
	tick_if_due(o);
	nesting = 0;
}

void hak_trace_call(void *ptr, uint64_t size, int is_free)
{
	const struct hakmem_tp_ops *o = hak_tp;
	if (!o || nesting) return;
	nesting = 1;
	if (is_free)
		o->free_call((uint64_t)(uintptr_t)ptr);
	else
		o->malloc_call((uint64_t)(uintptr_t)ptr, size);
	nesting = 0;
}

static void process_stats_now(void)
{
	struct hak_event e = {.type = HAK_EV_PROCESS_STATS};
	hak_trace_emit(&e);
}

void hak_trace_keep(const struct hak_event *e)
{
	pthread_mutex_lock(&kept_lock);
	int started = kept_started;
	if (!started && nkept < KEPT_MAX) kept[nkept++] = *e;
	pthread_mutex_unlock(&kept_lock);
	if (started) hak_trace_emit(e);
}

/* Nothing is added once kept_started is set: the array is read unlocked. */
static void emit_kept(void)
{
	pthread_mutex_lock(&kept_lock);
	kept_started = 1;
	unsigned n = nkept;
	nkept = 0;
	pthread_mutex_unlock(&kept_lock);
	for (unsigned i = 0; i < n; i++)
		hak_trace_emit(&kept[i]);
}

/* Registered from a shared library, atexit runs in that library's own
 * destructor slot, before liblttng-ust's (loaded later). The last sample is
 * the last event: liblttng-ust's destructor still allocates, and events
 * after the sample would spoil the count check. */
static void at_exit_stats(void)
{
	process_stats_now();
	hak_tp = NULL;
}

void hak_trace_start(void)
{
	/* A bad value is reported by hak_env_load, which knows HAKMEM_LOG. */
	const char *v = getenv("HAKMEM_TRACE");
	if (!v || strcmp(v, "1")) return;
	char path[4096];
	if (provider_path(path, sizeof path)) {
		hak_log("hakmem: HAKMEM_TRACE=1 but the provider's location is unknown; set "
		        "HAKMEM_TP_PATH=/path/to/libhakmem-tp.so. Tracing is off.\n");
		return;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		hak_log("hakmem: HAKMEM_TRACE=1 but the tracepoint provider did not load (%s). "
		        "Install liblttng-ust1 and hakmem's lib/hakmem/libhakmem-tp.so, or set "
		        "HAKMEM_TP_PATH. Tracing is off.\n",
		        dlerror());
		return;
	}
	const struct hakmem_tp_ops *ops = dlsym(h, HAKMEM_TP_OPS_SYMBOL);
	if (!ops || ops->abi_version != HAKMEM_TP_ABI_VERSION) {
		hak_log("hakmem: %s is from another hakmem version (ABI %u, expected %u). Tracing "
		        "is off.\n",
		        path, ops ? ops->abi_version : 0, HAKMEM_TP_ABI_VERSION);
		return;
	}
	v = getenv("HAKMEM_TRACE_PER_CALL");
	hak_tp_per_call = v && !strcmp(v, "1");
	/* HAKMEM_TRACE_CALLSITES=0: fault events without call sites. */
	v = getenv("HAKMEM_TRACE_CALLSITES");
	if (!v || strcmp(v, "0")) hak_callsite_init();
	hak_tp = ops;
	atexit(at_exit_stats);
	process_stats_now();
	emit_kept();
}

#if defined(HAKMEM_OVERRIDE)
/* With the perf page-fault context, an event between fork and
 * liblttng-ust-fork's after-fork clean-up in the child reads the parent's
 * perf page and crashes (LTTng-UST 2.13). Our own atfork handler and the
 * frees during that clean-up allocate, so the forking thread queues its
 * events until the fork in line (liblttng-ust-fork's, then libc's) returns. */
#include <sys/types.h>
HAK_API pid_t fork(void)
{
	static pid_t (*next)(void);
	if (!next) next = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
	int saved = nesting;
	nesting = 1;
	pid_t r = next();
	nesting = saved;
	return r;
}
#endif
#endif
