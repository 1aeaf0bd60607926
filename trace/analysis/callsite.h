/* Faults by call site: which of the program's mallocs made the allocator
 * touch fresh pages (docs/report-rules.md, "Call sites").
 *
 * hakmem writes each distinct stack once per process (hakmem:callsite
 * {id, frames}) and names it by id in refill, superslab_mmap and
 * large_mmap. LTTng-UST's state dump (lttng_ust_statedump:*) and dlopen
 * tracking (lttng_ust_dl:*) say which binary was loaded where, with its
 * build id and debug link. After the trace is read, the stacks with
 * faults are symbolized offline by libdw (callsite_sym.c) and grouped by
 * the frame that names the call site. */
#ifndef HAKMEM_ANALYSIS_CALLSITE_H
#define HAKMEM_ANALYSIS_CALLSITE_H

#include "analysis.h"

#include <babeltrace2/babeltrace.h>

#define HK_CS_FRAMES 8
#define HK_CS_TOP 10      /* call sites in the text report and the storms' rows */
#define HK_CS_STORM_TOP 3 /* call sites named per storm */
#define HK_CS_NAME 256

/* One binary mapped in a process (state dump or dlopen). */
struct hk_module {
	uint64_t baddr, memsz;
	uint64_t from_ts, until_ts; /* until_ts: dlclose or the next state dump; UINT64_MAX */
	char *path;
	uint8_t build_id[64];
	unsigned build_id_len;
	char *debug_link;
	uint32_t crc;
	int is_pic;
};

/* A frame as the report names it. */
struct hk_frame_name {
	const struct hk_module *mod; /* NULL: in no known binary */
	uint64_t offset;             /* the address minus the module's base */
	char function[HK_CS_NAME];   /* "" when unknown */
	char file[HK_CS_NAME];       /* "" without line information */
	int line;
};

/* A distinct stack of one process, and the faults charged to it. */
struct hk_stack {
	uint64_t id, ts; /* ts: when its hakmem:callsite was seen (0: never) */
	unsigned n;
	uint64_t frames[HK_CS_FRAMES];
	uint64_t faults, cause[HK_NUM_CAUSES];
	uint32_t cls[HK_NUM_CLASSES];
	int group; /* index in hk_cs_proc.groups, after grouping */
};

/* Stacks grouped by the frame that names the call site. */
struct hk_cs_group {
	char name[2 * HK_CS_NAME + 64]; /* "load_index (index.c:212)" or "module+0x1a2b" */
	struct hk_frame_name site;
	uint64_t faults, cause[HK_NUM_CAUSES];
	uint64_t cls[HK_NUM_CLASSES];
	size_t best_stack; /* the stack with most faults: the one shown */
	size_t nstacks;
	uint32_t *storms; /* storm indexes it took part in */
	size_t nstorms, capstorms;
	struct hk_frame_name stack[HK_CS_FRAMES]; /* best_stack, symbolized */
	unsigned nstack;
};

struct hk_cs_storm {
	int group[HK_CS_STORM_TOP]; /* -1: none */
	uint64_t faults[HK_CS_STORM_TOP];
};

struct hk_cs_proc {
	struct hk_map by_id;     /* id -> index + 1 into stacks */
	struct hk_stack *stacks; /* stacks[0]: faults without a call site */
	size_t nstacks, capstacks;
	struct hk_cs_group *groups; /* most faults first, after hk_cs_finish */
	size_t ngroups;
	struct hk_cs_storm *storm; /* one per p->storms */
	uint64_t faults, unnamed;  /* allocator faults charged; of those without a stack */
	uint64_t undefined;        /* ids named by events, never defined */
	int symbolized;
};

/* Per vpid: the binaries it mapped, in the order seen. */
struct hk_vmap {
	struct hk_module *m;
	size_t n, cap;
	uint64_t dump_ts; /* the current state dump's start */
};

struct hk_cs_state {
	struct hk_map vmaps; /* hash(host) << 32 | vpid -> struct hk_vmap */
	/* event classes seen: what each is, for the foreign events */
	const bt_event_class **ec;
	uint8_t *kind;
	size_t nec, capec;
	uint64_t modules, stacks_seen;
	char **debug_dirs;
	size_t ndebug_dirs;
	struct hk_sym *sym;
};

/* A foreign event (not decoded by decode.c): returns 1 if it was a call
 * site, state dump or dlopen event, which it records. */
int hk_cs_event(struct hk_state *st, const bt_message *msg);
/* The call-site id a fault event carries (0: none). */
uint64_t hk_cs_of(const struct hk_event *e);
/* An allocator claim: faults of cause c (class cls, -1 none) at ts,
 * caused by the malloc of call-site id cs (0: unknown). */
void hk_cs_charge(struct hk_proc *p, uint64_t ts, uint64_t cs, enum hk_cause c, uint64_t faults,
                  int cls);
/* The binary holding addr in process (host, vpid) at time ts, or NULL. */
const struct hk_module *hk_cs_module(struct hk_state *st, const char *host, int64_t vpid,
                                     uint64_t addr, uint64_t ts);
/* After the storms and rules: symbolize, group, storms' call sites, and
 * the call site the first recommendation names. */
void hk_cs_finish(struct hk_state *st, struct hk_proc *p);
void hk_cs_free(struct hk_state *st);
void hk_cs_proc_free(struct hk_proc *p);
/* "load_index (index.c:212)" of group g. */
const char *hk_cs_group_name(const struct hk_proc *p, int g);

/* A malloc wrapper's name (zmalloc, xrealloc, PyMem_Malloc, g_strdup...):
 * its caller is the call site. */
int hk_cs_wrapper_name(const char *function);

/* callsite_sym.c: offline symbolization with libdw. */
struct hk_sym *hk_sym_new(char **debug_dirs, size_t n);
void hk_sym_free(struct hk_sym *s);
/* Names the return address addr (the call is at addr - 1) in module m:
 * with want_line, the innermost inlined function and its file:line, or,
 * when that is a malloc wrapper inlined into its caller, the caller at
 * the line of the wrapper's call. */
void hk_sym_frame(struct hk_sym *s, const struct hk_module *m, uint64_t addr,
                  struct hk_frame_name *out, int want_line);

/* callsite_out.c */
void hk_cs_text(FILE *o, const struct hk_proc *p);
void hk_cs_storm_text(FILE *o, const struct hk_proc *p, size_t storm);
void hk_cs_json(FILE *o, const struct hk_proc *p);
void hk_cs_storm_json(FILE *o, const struct hk_proc *p, size_t storm);

#endif
