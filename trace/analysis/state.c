/* Who an event belongs to: trace -> host, (host, vpid) -> process,
 * vtid -> thread. Plus the plain counters (refill sources, slabs, heap
 * errors, process_stats samples) that need no further analysis. */
#include "analysis.h"
#include "callsite.h"

#include <babeltrace2/babeltrace.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Events of one thread that may follow the sample that counted them: the
 * tracer's deferred queue (src/trace.c) and the event in flight. */
#define HK_TRAILING_EVENTS 34

struct hk_state *hk_state_new(void)
{
	return hk_xcalloc(1, sizeof(struct hk_state));
}

static const char *env_string(const bt_trace *t, const char *name)
{
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, name);
	return v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING ? bt_value_string_get(v) : NULL;
}

struct hk_trace *hk_state_trace(struct hk_state *st, const void *key)
{
	if (st->last_bt_trace == key) return st->last_trace;
	struct hk_trace *tr;
	for (tr = st->traces; tr; tr = tr->next)
		if (tr->bt_trace == key) break;
	if (!tr) {
		const bt_trace *t = key;
		tr = hk_xcalloc(1, sizeof *tr);
		/* Our key must outlive any recycling of the trace object. */
		bt_trace_get_ref(t);
		tr->bt_trace = t;
		const char *host = env_string(t, "hostname");
		tr->host = hk_xstrdup(host ? host : "unknown");
		const bt_value *vpid =
		    bt_trace_borrow_environment_entry_value_by_name_const(t, "vpid");
		if (vpid && bt_value_get_type(vpid) == BT_VALUE_TYPE_SIGNED_INTEGER) {
			tr->has_env_vpid = 1;
			tr->env_vpid = bt_value_integer_signed_get(vpid);
		}
		const char *procname = env_string(t, "procname");
		tr->env_procname = procname ? hk_xstrdup(procname) : NULL;
		const char *name = bt_trace_get_name(t);
		tr->name = hk_xstrdup(name ? name : "");
		tr->next = st->traces;
		st->traces = tr;
	}
	st->last_bt_trace = key;
	st->last_trace = tr;
	return tr;
}

/* A stream's name is its file path for src.ctf.fs: the trace directory
 * is its dirname. Other names (is_file 0) are kept whole. */
void hk_state_add_path(struct hk_state *st, const char *stream_name, int is_file)
{
	if (!stream_name || !*stream_name) return;
	const char *slash = is_file ? strrchr(stream_name, '/') : NULL;
	size_t n = slash ? (size_t)(slash - stream_name) : strlen(stream_name);
	for (size_t i = 0; i < st->npaths; i++)
		if (strlen(st->paths[i]) == n && !strncmp(st->paths[i], stream_name, n)) return;
	st->paths = hk_xrealloc(st->paths, (st->npaths + 1) * sizeof *st->paths);
	char *p = hk_xcalloc(1, n + 1);
	memcpy(p, stream_name, n);
	st->paths[st->npaths++] = p;
}

static uint32_t host_index(struct hk_state *st, const char *host)
{
	for (size_t i = 0; i < st->nhosts; i++)
		if (!strcmp(st->hosts[i], host)) return (uint32_t)i;
	st->hosts = hk_xrealloc(st->hosts, (st->nhosts + 1) * sizeof *st->hosts);
	st->hosts[st->nhosts] = hk_xstrdup(host);
	return (uint32_t)st->nhosts++;
}

static struct hk_proc *new_proc(struct hk_state *st, uint32_t h, struct hk_trace *tr,
                                const struct hk_event *e)
{
	struct hk_proc *p = hk_xcalloc(1, sizeof *p);
	p->trace = tr;
	p->host = st->hosts[h];
	p->pid = e->vpid;
	p->image = 1;
	p->first_ts = e->ts;
	p->purge_delay_min_ns = UINT64_MAX;
	hk_win_init(&p->win, e->ts, st->params.storm_window_ns);
	hk_grow((void **)&st->proc_list, &st->capprocs, st->nprocs, sizeof *st->proc_list);
	st->proc_list[st->nprocs++] = p;
	return p;
}

static int is_leader(const struct hk_event *e)
{
	return !e->has_vtid || e->vtid == e->vpid;
}

/* Does process_stats sample e start a new program image of p's pid (an
 * exec)? The vpid stays; what changes (docs/report-rules.md, "Processes"):
 * - the allocator's counters restart with the new image: a counter below
 *   the image's last sample cannot be the same image (the counters only
 *   grow). With one thread, also one below the last sample plus the
 *   events of its kind seen since: only that thread's queue of events the
 *   tracer's own allocations caused (src/trace.c, at most 32) may trail
 *   its counter steps. With more threads, any number of events may land
 *   between a sample's reading of the counters and its own timestamp;
 * - LTTng-UST opens a new perf counter for the main thread, which starts
 *   from 0 again: the main thread's count goes backwards;
 * - the kernel renames the process after the file exec'd: a main thread
 *   sample with a new procname and a fresh perf count (0) or none.
 * An image's first hakmem event is always this start-up sample: the
 * tracer is off until hakmem's constructor emits it. */
static int starts_image(const struct hk_proc *p, const struct hk_event *e)
{
	static const struct {
		int field;
		enum hk_evtype ev;
	} counted[] = {
	    {STATS_SS_MAPPED, HK_EV_SS_MMAP},     {STATS_SS_REUSED, HK_EV_SS_REUSE},
	    {STATS_SS_UNMAPPED, HK_EV_SS_MUNMAP}, {STATS_REFILLS, HK_EV_REFILL},
	    {STATS_SLAB_EMPTY, HK_EV_SLAB_EMPTY}, {STATS_SLAB_REUSE, HK_EV_SLAB_REUSE},
	    {STATS_SLAB_PURGE, HK_EV_SLAB_PURGE}, {STATS_LARGE_MAPPED, HK_EV_LARGE_MMAP},
	};
	if (!p->nevents) return 0;
	int64_t tid = e->has_vtid ? e->vtid : e->vpid;
	int alone = p->threads.n == 1 && hk_map_get(&p->threads, (uint64_t)tid);
	for (size_t i = 0; p->nstats && i < sizeof counted / sizeof counted[0]; i++) {
		uint64_t now = e->f[counted[i].field], last = p->stats_last[counted[i].field];
		uint64_t seen = p->nev[counted[i].ev] - p->nev_at_last[counted[i].ev];
		if (now < last || (alone && now - last + HK_TRAILING_EVENTS < seen)) return 1;
	}
	if (!is_leader(e)) return 0;
	const struct hk_thread *t = hk_map_get(&p->threads, (uint64_t)e->vpid);
	if (e->has_perf && t && t->perf_valid && e->perf < t->perf_last) return 1;
	return p->leader_seen && e->procname && (!e->has_perf || e->perf == 0) &&
	       strncmp(p->procname, e->procname, sizeof p->procname - 1);
}

struct hk_proc *hk_state_proc(struct hk_state *st, struct hk_trace *tr, const struct hk_event *e)
{
	struct hk_proc *p = st->last_proc;
	if (p && p->pid == e->vpid && (p->trace == tr || !strcmp(p->host, tr->host)) &&
	    e->type != HK_EV_PROCESS_STATS)
		return p;
	/* Processes are keyed by (host, vpid): one process may write to
	 * several traces (per-UID buffers of 32- and 64-bit, relayd). */
	uint32_t h = host_index(st, tr->host);
	uint64_t key = (uint64_t)h << 32 | (uint32_t)e->vpid;
	p = hk_map_get(&st->procs, key);
	if (!p) {
		p = new_proc(st, h, tr, e);
		hk_map_put(&st->procs, key, p);
	} else if (e->type == HK_EV_PROCESS_STATS && starts_image(p, e)) {
		struct hk_proc *next = new_proc(st, h, tr, e);
		next->image = p->image + 1;
		next->exec_from = p;
		p->exec_into = next;
		hk_map_put(&st->procs, key, next);
		p = next;
	}
	p->trace = tr;
	st->last_proc = p;
	return p;
}

struct hk_thread *hk_proc_thread(struct hk_proc *p, int64_t vtid)
{
	if (p->last_thread && p->last_thread->vtid == vtid) return p->last_thread;
	struct hk_thread *t = hk_map_get(&p->threads, (uint64_t)vtid);
	if (!t) {
		t = hk_xcalloc(1, sizeof *t);
		t->vtid = vtid;
		hk_map_put(&p->threads, (uint64_t)vtid, t);
	}
	return p->last_thread = t;
}

void hk_proc_note(struct hk_proc *p, const char *fmt, ...)
{
	if (p->nnotes >= sizeof p->notes / sizeof p->notes[0]) return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], sizeof p->notes[0], fmt, ap);
	va_end(ap);
}

static void count_plain(struct hk_proc *p, const struct hk_event *e)
{
	const uint64_t *f = e->f;
	switch (e->type) {
	case HK_EV_REFILL:
		p->refills++;
		p->from_freelist += f[REFILL_FROM_FREELIST];
		p->from_carve += f[REFILL_FROM_CARVE];
		p->new_slab += f[REFILL_NEW_SLAB] ? 1 : 0;
		p->blocks += f[REFILL_GOT];
		break;
	case HK_EV_SLAB_EMPTY:
		p->slab_empty++;
		break;
	case HK_EV_SLAB_REUSE:
		p->slab_reuse++;
		if (f[SREUSE_OLD_CLASS] != f[SREUSE_NEW_CLASS] &&
		    f[SREUSE_OLD_CLASS] < HK_NUM_CLASSES)
			p->class_changes++;
		break;
	case HK_EV_SLAB_PURGE:
		p->slab_purge++;
		break;
	case HK_EV_HEAP_ERROR:
		if (p->nerrors >= HK_HEAP_ERRORS_MAX) {
			p->errors_dropped++;
			break;
		}
		hk_grow((void **)&p->errors, &p->caperrors, p->nerrors, sizeof *p->errors);
		p->errors[p->nerrors++] =
		    (struct hk_heap_error){.kind = (uint32_t)f[HERR_KIND],
		                           .addr = f[HERR_ADDR],
		                           .ts = e->ts,
		                           .found = (uint32_t)f[HERR_FOUND],
		                           .expected = (uint32_t)f[HERR_EXPECTED]};
		break;
	case HK_EV_PROCESS_STATS:
		/* The counters are totals since process start: the first and last
		 * samples bracket the events we can check them against. */
		if (!p->nstats++) {
			memcpy(p->stats_first, f, sizeof p->stats_first);
			memcpy(p->nev_at_first, p->nev, sizeof p->nev_at_first);
			p->stats_first_ts = e->ts;
		}
		memcpy(p->stats_last, f, sizeof p->stats_last);
		memcpy(p->nev_at_last, p->nev, sizeof p->nev_at_last);
		p->stats_last_ts = e->ts;
		break;
	case HK_EV_MALLOC:
		p->per_call_malloc++;
		break;
	case HK_EV_FREE:
		p->per_call_free++;
		break;
	case HK_EV_PREWARM:
		hk_prewarm_event(p, e);
		break;
	default:
		break;
	}
}

void hk_dispatch(struct hk_state *st, struct hk_trace *tr, const struct hk_event *e)
{
	struct hk_proc *p = hk_state_proc(st, tr, e);
	st->events++;
	p->nevents++;
	p->nev[e->type]++;
	if (e->ts > p->last_ts) p->last_ts = e->ts;
	struct hk_thread *prev = p->last_thread;
	struct hk_thread *t = hk_proc_thread(p, e->has_vtid ? e->vtid : e->vpid);
	/* The main thread's name is the process's (threads may name
	 * themselves); another thread's only until the main thread shows up.
	 * Compared when the thread changes and at samples: a flat per-event
	 * cost, and a rename (prctl) shows at the next sample. */
	int leader = is_leader(e);
	if (e->procname && (!p->procname[0] || t != prev || e->type == HK_EV_PROCESS_STATS) &&
	    (leader || !p->leader_seen) &&
	    strncmp(p->procname, e->procname, sizeof p->procname - 1)) {
		/* printable ASCII only: a corrupt trace must not garble the report */
		size_t i = 0;
		for (; e->procname[i] && i < sizeof p->procname - 1; i++)
			p->procname[i] =
			    e->procname[i] >= 0x20 && e->procname[i] < 0x7f ? e->procname[i] : '?';
		p->procname[i] = 0;
	}
	if (leader && e->procname) p->leader_seen = 1;
	if (e->has_perf)
		p->has_perf = 1;
	else
		p->lacks_perf = 1;
	count_plain(p, e);
	hk_lc_event(st, p, t, e);
	hk_attr_event(st, p, t, e);
}

/* Most faults first: the report answers for the process that matters. */
static int by_faults(const void *a, const void *b)
{
	const struct hk_proc *x = *(struct hk_proc *const *)a, *y = *(struct hk_proc *const *)b;
	if (x->faults_total != y->faults_total) return x->faults_total < y->faults_total ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void hk_state_finish(struct hk_state *st)
{
	if (st->finished) return;
	st->finished = 1;
	for (size_t i = 0; i < st->nprocs; i++) {
		struct hk_proc *p = st->proc_list[i];
		hk_attr_finish(st, p);
		hk_lc_finish(st, p);
		hk_storms_finish(st, p);
		hk_recommend(st, p);
		hk_explain(p);
		hk_cs_finish(st, p);
	}
	qsort(st->proc_list, st->nprocs, sizeof *st->proc_list, by_faults);
	hk_select(st);
}

void hk_state_free(struct hk_state *st)
{
	if (!st) return;
	for (size_t i = 0; i < st->nprocs; i++) {
		struct hk_proc *p = st->proc_list[i];
		for (size_t j = 0; j < p->threads.cap; j++)
			if (p->threads.used[j]) free(p->threads.vals[j]);
		hk_map_free(&p->threads);
		hk_lc_free(p);
		hk_win_free(&p->win);
		free(p->errors);
		free(p->storms);
		hk_cs_proc_free(p);
		free(p);
	}
	free(st->proc_list);
	hk_map_free(&st->procs);
	hk_cs_free(st);
	for (struct hk_trace *tr = st->traces, *next; tr; tr = next) {
		next = tr->next;
		bt_trace_put_ref(tr->bt_trace);
		free(tr->host);
		free(tr->name);
		free(tr->path);
		free(tr->env_procname);
		free(tr);
	}
	for (size_t i = 0; i < st->nhosts; i++)
		free(st->hosts[i]);
	free(st->hosts);
	for (size_t i = 0; i < st->npaths; i++)
		free(st->paths[i]);
	free(st->paths);
	hk_params_free(&st->params);
	free(st);
}

const char *hk_heap_error_kind(uint32_t kind)
{
	return hak_error_kind_name(kind);
}

int hk_stats_check(const struct hk_proc *p, struct hk_check out[HK_NCHECKS], int *exact)
{
	static const struct {
		const char *name;
		int field;
		enum hk_evtype ev;
	} map[HK_NCHECKS] = {
	    {"superslabs_mapped", STATS_SS_MAPPED, HK_EV_SS_MMAP},
	    {"superslabs_reused", STATS_SS_REUSED, HK_EV_SS_REUSE},
	    {"superslabs_unmapped", STATS_SS_UNMAPPED, HK_EV_SS_MUNMAP},
	    {"refills", STATS_REFILLS, HK_EV_REFILL},
	    {"slab_empty", STATS_SLAB_EMPTY, HK_EV_SLAB_EMPTY},
	    {"slab_reuse", STATS_SLAB_REUSE, HK_EV_SLAB_REUSE},
	    {"slab_purge", STATS_SLAB_PURGE, HK_EV_SLAB_PURGE},
	    {"large_mapped", STATS_LARGE_MAPPED, HK_EV_LARGE_MMAP},
	};
	int ok = p->nstats >= 2;
	*exact = ok;
	for (int i = 0; i < HK_NCHECKS; i++) {
		out[i].name = map[i].name;
		out[i].events = p->nev_at_last[map[i].ev] - p->nev_at_first[map[i].ev];
		out[i].counters = p->stats_last[map[i].field] - p->stats_first[map[i].field];
		out[i].total = p->stats_last[map[i].field];
		if (out[i].events == out[i].counters) continue;
		/* Events the tracer's own allocations cause are queued and emitted
		 * after the one in flight, so every counter step has its event. */
		*exact = 0;
		ok = 0;
	}
	return ok;
}
