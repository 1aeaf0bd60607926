/* The JSON report: the keys of docs/reference.md#report-json (other tools rely on them),
 * plus timeline and superslab_lifecycle for viz and a few extras. */
#include "analysis.h"
#include "callsite.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TIMELINE_MAX 2000

/* Length of the valid UTF-8 sequence at c, 0 if invalid. */
static int utf8_len(const unsigned char *c)
{
	int n = c[0] >= 0xf0 && c[0] <= 0xf4  ? 4
	        : c[0] >= 0xe0 && c[0] < 0xf0 ? 3
	        : c[0] >= 0xc2 && c[0] < 0xe0 ? 2
	                                      : 0;
	for (int i = 1; i < n; i++)
		if ((c[i] & 0xc0) != 0x80) return 0;
	return n;
}

/* Strings come from the trace (procname, hostname): a corrupt trace must
 * still give valid JSON, so invalid UTF-8 becomes U+FFFD. */
static void jstr(FILE *o, const char *s)
{
	fputc('"', o);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		switch (*c) {
		case '"':
			fputs("\\\"", o);
			break;
		case '\\':
			fputs("\\\\", o);
			break;
		case '\n':
			fputs("\\n", o);
			break;
		case '\t':
			fputs("\\t", o);
			break;
		default:
			if (*c < 0x20 || *c == 0x7f) {
				fprintf(o, "\\u%04x", *c);
			} else if (*c < 0x80) {
				fputc(*c, o);
			} else {
				int n = utf8_len(c);
				if (n) {
					fwrite(c, 1, (size_t)n, o);
					c += n - 1;
				} else {
					fputs("\\ufffd", o);
				}
			}
		}
	}
	fputc('"', o);
}

void hk_json_str(FILE *o, const char *s)
{
	jstr(o, s);
}

static void jkey(FILE *o, const char *k)
{
	jstr(o, k);
	fputs(": ", o);
}

static void ju64(FILE *o, const char *k, uint64_t v, int comma)
{
	jkey(o, k);
	fprintf(o, "%" PRIu64 "%s", v, comma ? ", " : "");
}

/* 0 means unknown for timestamps */
static void jts(FILE *o, const char *k, uint64_t v, int comma)
{
	jkey(o, k);
	if (v)
		fprintf(o, "%" PRIu64, v);
	else
		fputs("null", o);
	fputs(comma ? ", " : "", o);
}

static void faults_json(FILE *o, const struct hk_proc *p)
{
	char lbl[32];
	fputs("\"faults\": {", o);
	ju64(o, "total", p->faults_total, 1);
	ju64(o, "allocator", p->faults_alloc, 1);
	ju64(o, "other", p->faults_other, 1);
	fputs("\"by_cause\": {", o);
	for (int c = 0; c < HK_CAUSE_OTHER; c++)
		ju64(o, hk_cause_name[c], p->alloc_cause[c], c + 1 < HK_CAUSE_OTHER);
	fputs("}, \"by_class\": {", o);
	int first = 1;
	for (int k = 0; k < HK_NUM_CLASSES; k++) {
		if (!p->alloc_class[k]) continue;
		fputs(first ? "" : ", ", o);
		first = 0;
		ju64(o, hk_class_label(p, k, lbl, sizeof lbl), p->alloc_class[k], 0);
	}
	fputs("}, ", o);
	jkey(o, "source");
	jstr(o, p->source);
	fputs(", \"by_superslab\": [", o);
	for (int i = 0; i < HK_SS_TOP && p->ss_top[i].faults; i++) {
		const struct hk_ss_top *t = &p->ss_top[i];
		fprintf(o, "%s{", i ? ", " : "");
		ju64(o, "ss", t->ss, 1);
		jkey(o, "pool");
		jstr(o, hk_pool_name(t->pool));
		fputs(", ", o);
		jts(o, "map_ns", t->map_ns, 1);
		ju64(o, "faults", t->faults, 1);
		ju64(o, "superslab_carve", t->carve, 1);
		ju64(o, "refault_after_purge", t->refault, 0);
		fputs("}", o);
	}
	fputs("], ", o);
	ju64(o, "superslab_unknown", p->ss_unknown_faults, 1);
	jkey(o, "process_minflt");
	if (p->nstats >= 2 && p->stats_last[STATS_MINFLT] >= p->stats_first[STATS_MINFLT])
		fprintf(o, "%" PRIu64, p->stats_last[STATS_MINFLT] - p->stats_first[STATS_MINFLT]);
	else
		fputs("null", o);
	fputs(", \"allocator_counts\": {", o);
	for (int c = 0; c < HK_CAUSE_OTHER; c++)
		ju64(o, hk_cause_name[c], p->claim_cause[c], 1);
	ju64(o, "unmeasured", p->unmeasured_claims, 0);
	fputs("}}", o);
}

static void stats_check_json(FILE *o, const struct hk_proc *p)
{
	struct hk_check c[HK_NCHECKS];
	int exact, match = hk_stats_check(p, c, &exact);
	fputs("\"stats_check\": {", o);
	ju64(o, "samples", p->nstats, 1);
	fputs("\"counters\": {", o);
	for (int i = 0; i < HK_NCHECKS; i++) {
		fprintf(o, "%s", i ? ", " : "");
		jkey(o, c[i].name);
		fputs("{", o);
		ju64(o, "events", c[i].events, 1);
		ju64(o, "process_stats", c[i].counters, 1);
		ju64(o, "allocator_total", c[i].total, 0);
		fputs("}", o);
	}
	fprintf(o, "}, \"match\": %s, \"exact\": %s}", match ? "true" : "false",
	        exact ? "true" : "false");
}

/* null when the trace's refills lack the fields (an older provider). */
static void remote_json(FILE *o, const struct hk_proc *p)
{
	const struct hk_remote *r = &p->remote;
	jkey(o, "remote_frees");
	if (!r->known) {
		fputs("null", o);
		return;
	}
	fputs("{", o);
	ju64(o, "collected", r->collected, 1);
	ju64(o, "carving_refills", r->carving_refills, 1);
	ju64(o, "waited_refills", r->waited_refills, 1);
	ju64(o, "waited_carved", r->waited_carved, 1);
	ju64(o, "waited_faults", r->waited_faults, 1);
	ju64(o, "waiting_max", r->waiting_max, 1);
	ju64(o, "waiting_median", r->waiting.n ? hk_hist_quantile(&r->waiting, 0.5) : 0, 0);
	fputs("}", o);
}

/* HAKMEM_PREWARM as the process ran it, one object per class; [] when the
 * trace has no hakmem:prewarm (no prewarm, or an older provider). */
static void prewarm_json(FILE *o, const struct hk_proc *p)
{
	jkey(o, "prewarm");
	fputs("[", o);
	int i = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++) {
		const struct hk_prewarm *w = &p->prewarm[k];
		if (!w->slabs) continue;
		fputs(i++ ? ", {" : "{", o);
		ju64(o, "size", w->block_size, 1);
		ju64(o, "class", (uint64_t)k, 1);
		jkey(o, "pool");
		jstr(o, hk_pool_name(w->pool));
		fputs(", ", o);
		ju64(o, "slabs", w->slabs, 1);
		ju64(o, "done", w->done, 1);
		ju64(o, "pages", w->pages, 0);
		fputs("}", o);
	}
	fputs("]", o);
}

static void proc_json(FILE *o, const struct hk_state *st, const struct hk_proc *p)
{
	char lbl[32];
	fputs("    {", o);
	jkey(o, "pid");
	fprintf(o, "%" PRId64 ", ", p->pid);
	jkey(o, "procname");
	jstr(o, p->procname);
	fputs(", ", o);
	jkey(o, "host");
	jstr(o, p->host);
	fputs(", ", o);
	jkey(o, "trace");
	jstr(o, p->trace ? p->trace->name : "");
	fputs(", ", o);
	ju64(o, "image", p->image, 1);
	jkey(o, "exec_from");
	if (p->exec_from)
		jstr(o, p->exec_from->procname);
	else
		fputs("null", o);
	fputs(", ", o);
	jkey(o, "exec_into");
	if (p->exec_into)
		jstr(o, p->exec_into->procname);
	else
		fputs("null", o);
	fprintf(o, ", \"folded\": %s, ", p->folded ? "true" : "false");
	ju64(o, "events", p->nevents, 1);
	ju64(o, "lost_events_in_trace", p->trace ? p->trace->lost : 0, 1);
	jts(o, "begin_ns", p->first_ts, 1);
	jts(o, "end_ns", p->last_ts, 1);
	fputs("\n     ", o);
	faults_json(o, p);
	fputs(",\n     ", o);
	hk_cs_json(o, p);

	fputs(",\n     \"superslabs\": {", o);
	ju64(o, "mapped", p->ss_mapped, 1);
	ju64(o, "reused", p->ss_reused, 1);
	ju64(o, "unmapped", p->ss_unmapped, 1);
	ju64(o, "churn", p->ss_churn, 1);
	ju64(o, "peak_live", p->ss_peak_live, 1);
	ju64(o, "churn_remap_faults", p->churn_remap_faults, 1);
	ju64(o, "mmap_ns_total", p->mmap_ns_total, 1);
	jkey(o, "lifetime_ns");
	if (p->nlifetimes)
		fprintf(o,
		        "{\"min\": %" PRIu64 ", \"median\": %" PRIu64 ", \"max\": %" PRIu64
		        ", \"count\": %zu}",
		        p->lifetimes[0], p->lifetimes[(p->nlifetimes - 1) / 2],
		        p->lifetimes[p->nlifetimes - 1], p->nlifetimes);
	else
		fputs("null", o);
	fputs("},\n     \"refill\": {", o);
	ju64(o, "count", p->refills, 1);
	ju64(o, "from_freelist", p->from_freelist, 1);
	ju64(o, "from_carve", p->from_carve, 1);
	ju64(o, "new_slab", p->new_slab, 1);
	ju64(o, "blocks", p->blocks, 0);
	fputs("},\n     ", o);
	remote_json(o, p);
	fputs(",\n     \"slabs\": {", o);
	ju64(o, "empty", p->slab_empty, 1);
	ju64(o, "reused", p->slab_reuse, 1);
	ju64(o, "class_changes", p->class_changes, 1);
	ju64(o, "purged", p->slab_purge, 1);
	ju64(o, "pages_purged", p->pages_purged, 1);
	ju64(o, "refaulted_after_purge", p->refault_slabs, 1);
	jkey(o, "purge_delay_observed_ns");
	if (p->purge_delay_min_ns != UINT64_MAX)
		fprintf(o, "%" PRIu64, p->purge_delay_min_ns);
	else
		fputs("null", o);
	fputs("},\n     \"large\": {", o);
	ju64(o, "mapped", p->large_mapped, 1);
	ju64(o, "unmapped", p->large_unmapped, 1);
	ju64(o, "bytes_mapped", p->large_bytes, 1);
	ju64(o, "churn", p->large_churn, 0);
	fputs("},\n     ", o);
	ju64(o, "storm_window_ns", p->storm_window_ns, 1);
	ju64(o, "storm_median_faults", p->storm_median, 1);
	fputs("\"storms\": [", o);
	for (size_t i = 0; i < p->nstorms; i++) {
		const struct hk_storm *s = &p->storms[i];
		fprintf(o, "%s\n       {", i ? "," : "");
		ju64(o, "begin_ns", s->begin_ns, 1);
		ju64(o, "end_ns", s->end_ns, 1);
		ju64(o, "faults", s->faults, 1);
		jkey(o, "cause");
		jstr(o, hk_cause_name[s->dominant]);
		fputs(", ", o);
		jkey(o, "class");
		if (s->top_cls >= 0)
			jstr(o, hk_class_label(p, s->top_cls, lbl, sizeof lbl));
		else
			fputs("null", o);
		fputs(", \"by_cause\": {", o);
		for (int c = 0; c < HK_NUM_CAUSES; c++)
			ju64(o, hk_cause_name[c], s->cause[c], c + 1 < HK_NUM_CAUSES);
		fputs("}, ", o);
		hk_cs_storm_json(o, p, i);
		fputs(", ", o);
		ju64(o, "idle_before_ns", s->idle_before_ns, 0);
		fputs("}", o);
	}
	fputs("],\n     \"heap_errors\": [", o);
	for (size_t i = 0; i < p->nerrors; i++) {
		const struct hk_heap_error *h = &p->errors[i];
		fprintf(o, "%s\n       {", i ? "," : "");
		jkey(o, "kind");
		jstr(o, hk_heap_error_kind(h->kind));
		fputs(", ", o);
		ju64(o, "addr", h->addr, 1);
		ju64(o, "ts_ns", h->ts, 1);
		ju64(o, "found", h->found, 1);
		ju64(o, "expected", h->expected, 0);
		fputs("}", o);
	}
	fputs("], ", o);
	ju64(o, "heap_errors_dropped", p->errors_dropped, 0);
	fputs(",\n     ", o);
	prewarm_json(o, p);
	fputs(",\n     \"recommendations\": [", o);
	for (size_t i = 0; i < p->nrecs; i++) {
		const struct hk_rec *r = &p->recs[i];
		fprintf(o, "%s\n       {", i ? "," : "");
		jkey(o, "action");
		jstr(o, r->action);
		fputs(", ", o);
		jkey(o, "env");
		jstr(o, r->env);
		fputs(", ", o);
		/* effect "moves": the faults happen at start-up instead, none saved */
		jkey(o, "effect");
		jstr(o, r->effect == HK_EFFECT_MOVES ? "moves" : "saves");
		fputs(", ", o);
		ju64(o, "claimed_faults", r->claimed, 1);
		jkey(o, "claim");
		jstr(o, r->claim);
		fputs(", ", o);
		ju64(o, "saves_faults", r->effect == HK_EFFECT_SAVES ? r->claimed : 0, 1);
		jkey(o, "why");
		jstr(o, r->why);
		fputs(", ", o);
		ju64(o, "rule", (uint64_t)r->rule, 1);
		jkey(o, "callsite");
		if (r->where[0])
			jstr(o, r->where);
		else
			fputs("null", o);
		fputs(", ", o);
		jkey(o, "estimate");
		jstr(o, "measured");
		fputs("}", o);
	}
	fputs("],\n     \"explanations\": [", o);
	for (size_t i = 0; i < p->nexplanations; i++) {
		fputs(i ? ", {" : "{", o);
		jkey(o, "rule");
		jstr(o, p->explanations[i].rule);
		fputs(", ", o);
		jkey(o, "text");
		jstr(o, p->explanations[i].text);
		fputs("}", o);
	}
	fputs("],\n     ", o);

	struct hk_tl_bucket *tl;
	uint64_t bucket_ns;
	size_t n = hk_timeline(p, TIMELINE_MAX, &tl, &bucket_ns);
	ju64(o, "timeline_bucket_ns", bucket_ns, 1);
	fputs("\"timeline\": [", o);
	for (size_t i = 0; i < n; i++)
		fprintf(o,
		        "%s{\"t_ns\": %" PRIu64 ", \"faults\": %" PRIu64
		        ", \"allocator_faults\": %" PRIu64 ", \"ss_maps\": %" PRIu64
		        ", \"ss_unmaps\": %" PRIu64 "}",
		        i ? (i % 4 ? ", " : ",\n       ") : "\n       ", tl[i].t_ns, tl[i].faults,
		        tl[i].alloc, tl[i].maps, tl[i].unmaps);
	free(tl);
	fputs("],\n     \"superslab_lifecycle\": [", o);
	for (size_t i = 0; i < p->nlifecycle; i++) {
		const struct hk_lifecycle *l = &p->lifecycle[i];
		fprintf(o, "%s{", i ? (i % 3 ? ", " : ",\n       ") : "\n       ");
		ju64(o, "ss", l->ss, 1);
		jkey(o, "pool");
		jstr(o, hk_pool_name(l->pool));
		fputs(", ", o);
		jts(o, "map_ns", l->map_ns, 1);
		jts(o, "unmap_ns", l->unmap_ns, 1);
		ju64(o, "reuses", l->reuses, 1);
		ju64(o, "faults", l->faults, 0);
		fputs("}", o);
	}
	fputs("], ", o);
	ju64(o, "superslab_lifecycle_dropped", p->lifecycle_dropped, 0);
	fputs(",\n     ", o);
	stats_check_json(o, p);
	fputs(",\n     \"per_call\": {", o);
	ju64(o, "malloc", p->per_call_malloc, 1);
	ju64(o, "free", p->per_call_free, 0);
	fputs("}, \"notes\": [", o);
	for (size_t i = 0; i < p->nnotes; i++) {
		fputs(i ? ", " : "", o);
		jstr(o, p->notes[i]);
	}
	fputs("]}", o);
	(void)st;
}

/* The process parameters, what they left out (not in "processes"), and
 * the folded processes (in "processes", marked "folded"). */
static void selection_json(FILE *o, const struct hk_state *st)
{
	const struct hk_params *prm = &st->params;
	fputs("\"selection\": {\"pid\": ", o);
	if (prm->has_pid)
		fprintf(o, "%" PRId64, prm->pid);
	else
		fputs("null", o);
	fputs(", \"process\": ", o);
	if (prm->process)
		jstr(o, prm->process);
	else
		fputs("null", o);
	fputs(", \"top\": ", o);
	if (prm->top)
		fprintf(o, "%" PRIu64, prm->top);
	else
		fputs("null", o);
	fputs(", ", o);
	ju64(o, "processes_left_out", st->nunselected, 1);
	char names[512];
	hk_folded_names(st, names, sizeof names);
	fputs("\"folded\": {", o);
	ju64(o, "processes", st->nfolded, 1);
	ju64(o, "faults", st->folded_faults, 1);
	jkey(o, "names");
	jstr(o, names);
	fputs(", ", o);
	jkey(o, "rule");
	if (prm->top)
		fprintf(o, "\"all but the %" PRIu64 " processes with the most faults\"", prm->top);
	else if (prm->has_pid || prm->process)
		fputs("\"none: processes picked by pid or name are shown in full\"", o);
	else
		fprintf(
		    o,
		    "\"under %.0f%% of the faults of all processes and under %d faults, no heap "
		    "error, not the process with the most faults\"",
		    HK_FOLD_SHARE * 100, HK_FOLD_MAX_FAULTS);
	fputs("}},\n ", o);
}

void hk_output_json(struct hk_state *st, FILE *o)
{
	fputs("{\"traces\": [", o);
	for (size_t i = 0; i < st->npaths; i++) {
		fputs(i ? ", " : "", o);
		jstr(o, st->paths[i]);
	}
	fputs("],\n ", o);
	ju64(o, "events", st->events, 1);
	ju64(o, "lost_events", st->lost, 1);
	ju64(o, "lost_event_messages_without_count", st->lost_unknown_msgs, 1);
	ju64(o, "other_events", st->foreign_events, 1);
	fprintf(o, "\"incomplete\": %s,\n ", st->incomplete ? "true" : "false");
	fprintf(o,
	        "\"parameters\": {\"storm_window_ms\": %.3f, \"storm_threshold\": %g, "
	        "\"storm_min_faults\": %" PRIu64 ", \"churn_window_ms\": %.3f},\n ",
	        (double)st->params.storm_window_ns / 1e6, st->params.storm_threshold,
	        st->params.storm_min_faults, (double)st->params.churn_window_ns / 1e6);
	selection_json(o, st);
	if (!st->events) {
		jkey(o, "note");
		fputs("\"no hakmem events in the trace\",\n ", o);
	}
	fputs("\"processes\": [\n", o);
	size_t left = st->nprocs - st->nunselected;
	for (size_t i = 0; i < st->nprocs; i++) {
		if (!st->proc_list[i]->selected) continue;
		proc_json(o, st, st->proc_list[i]);
		fputs(--left ? ",\n" : "\n", o);
	}
	fputs("]}\n", o);
}
