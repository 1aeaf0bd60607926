/* sink.hakmem.report: shared types. The sink turns a stream of hakmem
 * events into one report per process (host, vpid). Memory grows with
 * processes, threads, SuperSlabs and trace duration (fault windows),
 * never with the number of events. */
#ifndef HAKMEM_ANALYSIS_H
#define HAKMEM_ANALYSIS_H

#include "../../src/error_kinds.h"
#include "../../src/geometry.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The allocator's geometry is src/geometry.h's; each event names its pool. */
#define HK_NUM_CLASSES 64 /* hakmem uses HAK_NUM_CLASSES (36); room to grow */
#define HK_NUM_POOLS HAK_NUM_POOLS
#define HK_POOL_UNKNOWN HK_NUM_POOLS /* an event's pool names none of the geometry's */
#define HK_PAGE HAK_PAGE
#define HK_NO_SS 0
#define HK_SLABS_MAX HAK_MAX_SLABS_PER_SS
#define HK_SLAB_WHOLE 255 /* slab_purge: the whole warm SuperSlab */

/* ---- parameters ---- */

enum hk_format { HK_FORMAT_TEXT, HK_FORMAT_JSON };

struct hk_params {
	enum hk_format format;
	char *path; /* NULL: stdout */
	uint64_t storm_window_ns;
	double storm_threshold;
	uint64_t storm_min_faults; /* a storm holds at least this many faults in all */
	uint64_t churn_window_ns;
	/* process selection (select.c): which processes are reported, and
	 * which of those are shown in full */
	int has_pid;
	int64_t pid;
	char *process;   /* NULL: any */
	uint64_t top;    /* 0: the folding rule decides */
	char *debug_dir; /* searched before /usr/lib/debug for .build-id/ (callsite_sym.c) */
};

/* Fills p from a babeltrace2 map value. On error returns -1 with a
 * message naming the parameter and the expected type in err. */
struct bt_value;
int hk_params_parse(const struct bt_value *params, struct hk_params *p, char *err, size_t errlen);
void hk_params_free(struct hk_params *p);

/* ---- decoded events ---- */

enum hk_evtype {
	HK_EV_SS_MMAP,
	HK_EV_SS_MUNMAP,
	HK_EV_SS_REUSE,
	HK_EV_REFILL,
	HK_EV_SLAB_EMPTY,
	HK_EV_SLAB_REUSE,
	HK_EV_SLAB_PURGE,
	HK_EV_LARGE_MMAP,
	HK_EV_LARGE_MUNMAP,
	HK_EV_HEAP_ERROR,
	HK_EV_PROCESS_STATS,
	HK_EV_MALLOC,
	HK_EV_FREE,
	HK_EV_TICK,
	HK_EV_PREWARM,
	HK_NUM_EVTYPES,
	HK_EV_FOREIGN = HK_NUM_EVTYPES /* not a hakmem event */
};

extern const char *const hk_evtype_name[HK_NUM_EVTYPES];

/* Payload slots, in the order of field_names[type] (decode.c). A
 * field missing from the trace's metadata reads as 0. */
enum { MMAP_SS, MMAP_SIZE, MMAP_POOL, MMAP_REASON, MMAP_NS, MMAP_CALLSITE };
enum { MUNMAP_SS, MUNMAP_SIZE, MUNMAP_POOL, MUNMAP_REASON };
enum { SSREUSE_SS, SSREUSE_POOL };
enum {
	REFILL_CLASS,
	REFILL_WANT,
	REFILL_GOT,
	REFILL_FROM_FREELIST,
	REFILL_FROM_CARVE,
	REFILL_NEW_SLAB,
	REFILL_NEW_PAGES,
	REFILL_REFAULT,
	REFILL_BLOCK_SIZE,
	REFILL_POOL,
	REFILL_CALLSITE,
	REFILL_FROM_REMOTE,
	REFILL_REMOTE_WAITING,
	REFILL_NFIELDS
};
enum { EMPTY_SS, EMPTY_SLAB, EMPTY_CLASS, EMPTY_POOL };
enum { SREUSE_SS, SREUSE_SLAB, SREUSE_OLD_CLASS, SREUSE_NEW_CLASS, SREUSE_RESIDENT, SREUSE_POOL };
enum { PURGE_SS, PURGE_SLAB, PURGE_PAGES, PURGE_POOL };
enum { LMAP_ADDR, LMAP_SIZE, LMAP_NEW_PAGES, LMAP_CALLSITE };
enum { LUNMAP_ADDR, LUNMAP_SIZE };
enum { HERR_KIND, HERR_ADDR, HERR_FOUND, HERR_EXPECTED };
enum {
	PREWARM_CLASS,
	PREWARM_BLOCK_SIZE,
	PREWARM_POOL,
	PREWARM_SLABS,
	PREWARM_DONE,
	PREWARM_PAGES
};
enum {
	STATS_MINFLT,
	STATS_MAJFLT,
	STATS_RSS_KB,
	STATS_MAPPED_BYTES,
	STATS_SS_MAPPED,
	STATS_SS_REUSED,
	STATS_SS_UNMAPPED,
	STATS_REFILLS,
	STATS_SLAB_EMPTY,
	STATS_SLAB_REUSE,
	STATS_SLAB_PURGE,
	STATS_LARGE_MAPPED,
	STATS_NFIELDS
};
#define HK_MAX_FIELDS                                                                              \
	((int)REFILL_NFIELDS > (int)STATS_NFIELDS ? (int)REFILL_NFIELDS : (int)STATS_NFIELDS)

struct hk_event {
	enum hk_evtype type;
	uint64_t ts; /* ns from the clock's origin */
	int64_t vpid, vtid;
	int has_vpid, has_vtid, has_perf;
	uint64_t perf;        /* perf_thread_page_fault */
	const char *procname; /* borrowed from the message: valid during dispatch only */
	uint64_t f[HK_MAX_FIELDS];
	uint32_t absent; /* bit i: field i is not in the trace's metadata (it reads 0) */
};

/* ---- small containers (util.c) ---- */

/* Open addressing, linear probing, backward-shift deletion. */
struct hk_map {
	uint64_t *keys;
	void **vals;
	uint8_t *used;
	size_t cap, n;
};
void *hk_map_get(const struct hk_map *m, uint64_t key);
int hk_map_put(struct hk_map *m, uint64_t key, void *val);
void *hk_map_remove(struct hk_map *m, uint64_t key);
void hk_map_free(struct hk_map *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->used[i]) ... */

void *hk_xcalloc(size_t n, size_t size);
void *hk_xrealloc(void *p, size_t size);
char *hk_xstrdup(const char *s);
/* Grows *arr (of elem-size items) so that index `need` fits. */
void hk_grow(void **arr, size_t *cap, size_t need, size_t elem);
int hk_cmp_u64(const void *a, const void *b);

/* Fixed log-scale histogram: bounded memory, ~6% quantile error. */
#define HK_HIST_SUB 16
#define HK_HIST_BUCKETS (64 * HK_HIST_SUB)
struct hk_hist {
	uint64_t n, min, max;
	uint32_t b[HK_HIST_BUCKETS];
};
void hk_hist_add(struct hk_hist *h, uint64_t v);
/* n samples of the same value. */
void hk_hist_add_n(struct hk_hist *h, uint64_t v, uint32_t n);
uint64_t hk_hist_quantile(const struct hk_hist *h, double q);
/* Fraction of the samples <= v (bucket resolution). */
double hk_hist_cdf(const struct hk_hist *h, uint64_t v);

/* ---- fault windows: storms and the timeline (storms.c) ---- */

enum hk_cause { HK_CAUSE_CARVE, HK_CAUSE_REFAULT, HK_CAUSE_LARGE, HK_CAUSE_OTHER, HK_NUM_CAUSES };
extern const char *const hk_cause_name[HK_NUM_CAUSES];

#define HK_WIN_TOPK 4
#define HK_WIN_MAX (1u << 17) /* windows per process (5 MiB) before they are coarsened */
struct hk_win {
	uint32_t cause[HK_NUM_CAUSES];
	uint16_t ss_maps, ss_unmaps;
	uint8_t top_cls[HK_WIN_TOPK]; /* carve+refault faults per class, space-saving top-k */
	uint32_t top_faults[HK_WIN_TOPK];
	uint32_t top_cs[HK_WIN_TOPK]; /* allocator faults per call-site stack (callsite.c) */
	uint32_t top_cs_faults[HK_WIN_TOPK];
};
struct hk_windows {
	uint64_t base, width; /* ns; width doubles each time the array is coarsened */
	struct hk_win *w;
	size_t n, cap;
};
void hk_win_init(struct hk_windows *ws, uint64_t base, uint64_t width);
void hk_win_add(struct hk_windows *ws, uint64_t ts, enum hk_cause c, uint64_t faults, int cls);
/* Spreads n faults evenly over [t0, t1]. */
void hk_win_spread(struct hk_windows *ws, uint64_t t0, uint64_t t1, enum hk_cause c, uint64_t n);
void hk_win_marker(struct hk_windows *ws, uint64_t ts, int is_map);
/* faults of call-site stack cs (an index of the process's stacks) */
void hk_win_add_cs(struct hk_windows *ws, uint64_t ts, uint32_t cs, uint64_t faults);
void hk_win_free(struct hk_windows *ws);
static inline uint64_t hk_win_total(const struct hk_win *w)
{
	return (uint64_t)w->cause[0] + w->cause[1] + w->cause[2] + w->cause[3];
}

struct hk_storm {
	uint64_t begin_ns, end_ns, faults;
	uint64_t cause[HK_NUM_CAUSES];
	enum hk_cause dominant;
	int top_cls;                         /* class with most allocator faults, -1 if none */
	uint64_t cls_faults[HK_NUM_CLASSES]; /* approximate (top-k per window) */
	uint64_t idle_before_ns;             /* since the previous window with faults */
};

/* ---- SuperSlabs (lifecycle.c) ---- */

struct hk_ss {
	uint64_t addr;
	uint32_t pool;
	uint32_t slots_left; /* never-used slab slots (carve target model) */
	uint64_t map_ns;     /* 0: mapped before the trace started */
	uint32_t reuses;
	int churned; /* mapped within churn-window of an unmap in its pool */
	/* Mapped while an unmapped SuperSlab of its pool was unclaimed: the
	 * time since that one went wholly empty (a purge delay this long
	 * would have kept it resident). UINT64_MAX: none. */
	uint64_t remap_gap_ns;
	int lc_index;                   /* index in proc->lifecycle, -1 if not listed */
	uint64_t faults[HK_NUM_CAUSES]; /* allocator faults charged to it */
	uint64_t last_empty_ns, purge_all_ns;
	uint64_t slab_empty_ns[HK_SLABS_MAX];
	uint8_t slab_purged[HK_SLABS_MAX];
};

struct hk_lifecycle {
	uint64_t ss, map_ns, unmap_ns; /* 0: unknown / still mapped */
	uint32_t pool, reuses;
	uint64_t faults;
};

struct hk_ss_top {
	uint64_t ss, map_ns, faults, carve, refault;
	uint32_t pool;
};
#define HK_SS_TOP 5
#define HK_LIFECYCLE_MAX 500

struct hk_unmap_rec {
	uint64_t ts;
	uint64_t size;
};

struct hk_pool_state {
	/* never-used slot stack: SuperSlabs mapped or reused, most recent last */
	uint64_t *fresh;
	size_t nfresh, capfresh;
	/* unmaps not yet matched by a map, oldest first (churn) */
	struct hk_unmap_rec *pend;
	size_t npend, cappend;
	uint64_t churn, churn_peak;
	/* superslab_reuse events within the churn window: a lower bound of
	 * the warm cache's current size */
	uint64_t *reuse_ts;
	size_t nreuse, capreuse;
	uint64_t reuse_peak;
	uint64_t last_unmap_ns; /* 0: none yet */
	/* When each unmapped SuperSlab went wholly empty, latest last; a map
	 * claims the latest (the warm cache hands out the hottest first) */
	uint64_t *unmapped_empty_ns;
	size_t nunmapped, capunmapped;
};

/* ---- per thread / per process (state.c) ---- */

/* A large span mapped by a thread whose first touches are still to come
 * (attribution.c). */
struct hk_pending_span {
	uint64_t addr, pages, cs; /* cs: the call site of its malloc */
};
#define HK_PENDING_SPANS 16

struct hk_thread {
	int64_t vtid;
	int perf_valid;
	uint64_t perf_first, perf_last, perf_done; /* perf_done: closed segments (tid reuse) */
	uint64_t last_ts;
	uint64_t pending_large;              /* fresh large-span pages not yet seen faulting */
	uint64_t cur_ss[HK_NUM_CLASSES];     /* SuperSlab of the slab being carved */
	uint64_t reuse_ss[HK_NUM_CLASSES];   /* slab_reuse seen since the last refill */
	uint64_t fresh_ss[HK_NUM_POOLS + 1]; /* mmap/reuse by this thread since its last refill */
	/* pending_large by span, oldest first; they sum to pending_large */
	struct hk_pending_span pend[HK_PENDING_SPANS];
	unsigned npend;
};

struct hk_heap_error {
	uint32_t kind;
	uint64_t addr, ts;
	uint32_t found, expected;
};
#define HK_HEAP_ERRORS_MAX 1000

struct hk_trace;

/* What HAKMEM_PREWARM did for one class at start-up (prewarm.c), from its
 * hakmem:prewarm events: entries of the same class add up. */
struct hk_prewarm {
	uint32_t slabs, done; /* asked, mapped */
	uint32_t block_size;
	uint32_t pool; /* HK_POOL_UNKNOWN when the event names none */
	uint64_t pages;
};

/* Remote frees and the carving that went on while freed blocks waited
 * (explain.c; docs/report-rules.md, "Remote frees"). */
struct hk_remote {
	int known;                /* some refill carried remote_waiting */
	uint64_t collected;       /* from_remote: blocks other threads freed, collected at refill */
	uint64_t carving_refills; /* refills that carved (with the field) */
	uint64_t waited_refills;  /* ... while freed blocks waited on partial slabs */
	uint64_t waited_carved;   /* blocks those refills carved */
	uint64_t waited_faults;   /* faults attributed to those refills */
	uint64_t waiting_max;
	struct hk_hist waiting; /* remote_waiting of the refills that carved while blocks waited */
};

/* A finding in plain words, with no setting to measure (unlike a
 * recommendation): "remote_wait" or "remote_home". */
struct hk_explanation {
	const char *rule;
	char text[1024];
};
#define HK_EXPLANATIONS_MAX 2

/* What a recommendation claims for the process's whole-run minor faults:
 * fewer of them, or the same number at another time (start-up). */
enum hk_effect { HK_EFFECT_SAVES, HK_EFFECT_MOVES };

struct hk_rec {
	int rule;
	enum hk_effect effect;
	char action[256];
	char env[256];    /* one or more space-separated VAR=VALUE settings */
	uint64_t claimed; /* the faults saved or moved */
	char claim[192];  /* "saves ~N faults" or "moves ~N faults out of ... into start-up" */
	char why[768];
	char where[320]; /* "most of the storm comes from `f (file.c:12)`", or "" */
};
#define HK_RECS_MAX 8

struct hk_proc {
	struct hk_trace *trace;
	const char *host;
	int64_t pid;
	char procname[64];
	int leader_seen;           /* procname is the main thread's (vtid == vpid) */
	unsigned image;            /* 1, 2, ...: the pid's program images (exec) */
	struct hk_proc *exec_from; /* the image this one replaced, NULL if none */
	struct hk_proc *exec_into; /* the image that replaced this one */
	int selected, folded;      /* select.c */
	uint64_t first_ts, last_ts;
	uint64_t nevents, nev[HK_NUM_EVTYPES];

	struct hk_map threads;
	struct hk_thread *last_thread;
	int has_perf, lacks_perf; /* events with / without the perf context */

	/* attribution (attribution.c) */
	uint64_t alloc_cause[HK_NUM_CAUSES]; /* [OTHER] is the remainder */
	uint64_t alloc_class[HK_NUM_CLASSES];
	uint64_t claim_cause[HK_NUM_CAUSES]; /* raw allocator counts, uncapped */
	uint64_t claim_class[HK_NUM_CLASSES];
	uint64_t unmeasured_claims; /* claims before a thread's first perf sample */
	uint64_t uncounted_claims;  /* claims of events without the perf context (in unmeasured) */
	uint64_t ss_unknown_faults; /* carve faults whose SuperSlab is unknown */
	uint32_t block_size[HK_NUM_CLASSES];
	uint8_t class_pool[HK_NUM_CLASSES]; /* 1 + the pool its refills name; 0: unknown */
	struct hk_windows win;

	/* process_stats samples */
	uint64_t nstats;
	uint64_t stats_first[STATS_NFIELDS], stats_last[STATS_NFIELDS];
	uint64_t stats_first_ts, stats_last_ts;
	uint64_t nev_at_first[HK_NUM_EVTYPES], nev_at_last[HK_NUM_EVTYPES];
	/* fallback (no perf context): minflt deltas between samples */
	uint64_t fb_claims, fb_claims_at_stats, fb_minflt, fb_ts;
	int fb_valid;

	/* SuperSlabs (lifecycle.c) */
	struct hk_map ss;
	struct hk_pool_state pool[HK_NUM_POOLS + 1]; /* [HK_POOL_UNKNOWN]: events naming no pool */
	struct hk_lifecycle *lifecycle;
	size_t nlifecycle, caplifecycle, lifecycle_dropped;
	uint64_t *lifetimes;
	size_t nlifetimes, caplifetimes;
	struct hk_ss_top ss_top[HK_SS_TOP];
	uint64_t ss_mapped, ss_reused, ss_unmapped, ss_churn, ss_peak_live, ss_live;
	uint64_t churn_remap_faults; /* carve faults on SuperSlabs mapped by churn */
	uint64_t mmap_ns_total;
	uint32_t pools_seen; /* bit per pool */

	/* purge / refault */
	uint64_t purges, pages_purged, purge_delay_min_ns;
	struct hk_hist reuse_gap; /* empty -> reuse of purged slabs */
	/* Carve faults on SuperSlabs mapped while an unmapped one of their
	 * pool was unclaimed, by the time since that one went wholly empty:
	 * a purge delay longer than that keeps it warm and resident. */
	struct hk_hist remap_gap_faults;
	uint64_t refault_slabs;

	/* large spans */
	uint64_t large_mapped, large_unmapped, large_bytes, large_churn, large_churn_pages;
	struct hk_unmap_rec *large_pend;
	size_t nlarge_pend, caplarge_pend;
	uint64_t large_churn_peak_bytes;
	struct hk_hist large_gap; /* churned large maps: time since the unmap they replaced */

	/* refill / slabs */
	uint64_t refills, from_freelist, from_carve, new_slab, blocks;
	uint64_t slab_empty, slab_reuse, class_changes, slab_purge;
	uint64_t per_call_malloc, per_call_free;

	struct hk_heap_error *errors;
	size_t nerrors, caperrors, errors_dropped;

	/* results, filled by hk_state_finish */
	uint64_t faults_total, faults_alloc, faults_other;
	const char *source; /* "perf-context" | "allocator-counts" */
	struct hk_storm *storms;
	size_t nstorms;
	uint64_t storm_median, storm_window_ns;
	struct hk_rec recs[HK_RECS_MAX];
	size_t nrecs;
	char notes[4][256];
	size_t nnotes;
	struct hk_remote remote;
	struct hk_explanation explanations[HK_EXPLANATIONS_MAX];
	size_t nexplanations;
	struct hk_cs_proc *cs; /* faults by call site (callsite.c) */
	/* HAKMEM_PREWARM as the process ran it, by class; nprewarm classes */
	struct hk_prewarm prewarm[HK_NUM_CLASSES];
	unsigned nprewarm;
};

struct hk_trace {
	const void *bt_trace; /* owned reference (bt_trace_put_ref in hk_state_free) */
	char *host;
	char *path;
	char *name;
	/* per-PID buffers (lttng --buffers-pid) put the process in the
	 * environment: used when the events lack the vpid/procname context */
	int has_env_vpid;
	int64_t env_vpid;
	char *env_procname;
	uint64_t lost;         /* discarded events */
	uint64_t lost_unknown; /* discarded-events messages without a count */
	struct hk_trace *next;
};

struct hk_state {
	struct hk_params params;
	struct hk_trace *traces;
	struct hk_trace *last_trace;
	const void *last_bt_trace;
	char **hosts;
	size_t nhosts;
	struct hk_map procs;        /* key: host index << 32 | vpid */
	struct hk_proc **proc_list; /* every process image, most faults first when finished */
	size_t nprocs, capprocs;
	/* select.c: processes left out by pid/process, and the folded ones */
	size_t nunselected, nfolded;
	uint64_t folded_faults, selected_faults;
	struct hk_proc *last_proc;
	uint64_t events, foreign_events, lost, lost_unknown_msgs;
	char **paths;
	size_t npaths;
	struct hk_cs_state *cs; /* binaries and call sites (callsite.c) */
	int incomplete;         /* the upstream iterator failed */
	int finished;
};

struct hk_state *hk_state_new(void);
void hk_state_free(struct hk_state *st);
struct hk_trace *hk_state_trace(struct hk_state *st, const void *bt_trace); /* state.c, creates */
void hk_state_add_path(struct hk_state *st, const char *stream_name, int is_file);
struct hk_proc *hk_state_proc(struct hk_state *st, struct hk_trace *tr, const struct hk_event *e);
struct hk_thread *hk_proc_thread(struct hk_proc *p, int64_t vtid);

/* One decoded event into all the analyses. */
void hk_dispatch(struct hk_state *st, struct hk_trace *tr, const struct hk_event *e);

/* attribution.c */
void hk_attr_event(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                   const struct hk_event *e);
void hk_attr_finish(struct hk_state *st, struct hk_proc *p);
const char *hk_class_label(const struct hk_proc *p, int cls, char *buf, size_t len);

/* lifecycle.c */
void hk_lc_event(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                 const struct hk_event *e);
/* The SuperSlab a refill carved from (heuristic; see docs/report-rules.md). */
uint64_t hk_lc_refill_ss(struct hk_proc *p, struct hk_thread *t, const struct hk_event *e);
void hk_lc_charge(struct hk_proc *p, uint64_t ss, enum hk_cause c, uint64_t faults);
void hk_lc_finish(struct hk_state *st, struct hk_proc *p);
void hk_lc_free(struct hk_proc *p);

/* pools.c: the geometry of the pool an event names (src/geometry.h). A
 * class's pool is never inferred from its number: HAKMEM_SMALLMID moves
 * the same sizes to another pool. */
/* The event's pool field, or HK_POOL_UNKNOWN (no such field, or a number
 * the geometry does not know). */
uint32_t hk_event_pool(const struct hk_event *e);
const char *hk_pool_name(uint32_t pool);
/* 0 for HK_POOL_UNKNOWN. */
uint64_t hk_pages_per_slab(uint32_t pool);
/* Slabs in a SuperSlab of ss_bytes (0: the pool's size), at least 1. */
uint32_t hk_slabs_per_ss(uint32_t pool, uint64_t ss_bytes);

/* storms.c */
void hk_storms_finish(struct hk_state *st, struct hk_proc *p);
struct hk_tl_bucket {
	uint64_t t_ns, faults, alloc, maps, unmaps;
};
/* The windows merged into at most max buckets (caller frees *out). */
size_t hk_timeline(const struct hk_proc *p, size_t max, struct hk_tl_bucket **out,
                   uint64_t *bucket_ns);

/* prewarm.c: a hakmem:prewarm event into p->prewarm. */
void hk_prewarm_event(struct hk_proc *p, const struct hk_event *e);

/* recommend.c */
void hk_recommend(struct hk_state *st, struct hk_proc *p);

/* explain.c: the remote-free figures of a refill, and the explanations. */
void hk_remote_refill(struct hk_proc *p, const struct hk_event *e, uint64_t faults);
void hk_explain(struct hk_proc *p);
/* Carving faults while freed blocks waited: at least this many, and this
 * share of all faults, make them the explanation. */
#define HK_REMOTE_WAIT_MIN_FAULTS 64
#define HK_REMOTE_WAIT_MIN_SHARE 0.05

/* output */
void hk_output_text(struct hk_state *st, FILE *out);
void hk_output_json(struct hk_state *st, FILE *out);
/* A JSON string (invalid UTF-8 becomes U+FFFD), for callsite_out.c. */
void hk_json_str(FILE *out, const char *s);
const char *hk_heap_error_kind(uint32_t kind);
void hk_proc_note(struct hk_proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* process_stats cross-check: counter deltas between the first and last
 * samples against the events seen in between. */
struct hk_check {
	const char *name;
	uint64_t events, counters, total;
};
#define HK_NCHECKS 8
/* Returns 1 if all match; *exact is 0 when only the tolerated refill gap
 * (the tracer's own first-event mallocs, never traced) differs. */
int hk_stats_check(const struct hk_proc *p, struct hk_check out[HK_NCHECKS], int *exact);

/* All per-process results (attribution, lifecycle, storms, rules). */
void hk_state_finish(struct hk_state *st);

/* select.c: marks the processes the pid/process parameters select and
 * folds the minor ones (docs/report-rules.md, "Processes"). Run after
 * the processes are sorted by faults. */
void hk_select(struct hk_state *st);
/* Fold processes below this share of the selected processes' faults and
 * below HK_FOLD_MAX_FAULTS faults. */
#define HK_FOLD_SHARE 0.05
#define HK_FOLD_MAX_FAULTS 1000
/* "bash x12, python3 x25": the folded processes by name, most first. */
void hk_folded_names(const struct hk_state *st, char *buf, size_t len);

#endif
