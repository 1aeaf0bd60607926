/* The text report: the answer first, then one short section per process. */
#include "analysis.h"
#include "callsite.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}
static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static enum hk_cause top_cause(const struct hk_proc *p)
{
	enum hk_cause best = HK_CAUSE_CARVE;
	for (int c = 1; c < HK_CAUSE_OTHER; c++)
		if (p->alloc_cause[c] > p->alloc_cause[best]) best = (enum hk_cause)c;
	return best;
}

static int top_class(const struct hk_proc *p)
{
	int best = -1;
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (p->alloc_class[k] && (best < 0 || p->alloc_class[k] > p->alloc_class[best]))
			best = k;
	return best;
}

static void answer(FILE *o, const struct hk_proc *p)
{
	char lbl[32];
	fprintf(o, "%s (pid %" PRId64 " on %s): ", p->procname[0] ? p->procname : "?", p->pid,
	        p->host);
	if (!p->faults_total) {
		fputs("no page faults were measured.\n", o);
		return;
	}
	fprintf(o, "%.0f%% of its %" PRIu64 " page faults were caused by the allocator",
	        pct(p->faults_alloc, p->faults_total), p->faults_total);
	if (p->faults_alloc) {
		static const char *const what[HK_CAUSE_OTHER] = {
		    "first touches of fresh SuperSlab pages", "pages refaulted after a purge",
		    "first touches of fresh large spans"};
		enum hk_cause c = top_cause(p);
		int k = top_class(p);
		fprintf(o, ", mostly %s (%s)", hk_cause_name[c], what[c]);
		if (c != HK_CAUSE_LARGE && k >= 0)
			fprintf(o, " in the %s-byte class", hk_class_label(p, k, lbl, sizeof lbl));
	}
	fprintf(o,
	        "; the other %.0f%% came from the program itself (its own first touches, stacks, "
	        "libraries, the tracer). ",
	        pct(p->faults_other, p->faults_total));
	if (p->nrecs)
		fprintf(o, "Do: %s with %s (%s)%s%s.\n", p->recs[0].action, p->recs[0].env,
		        p->recs[0].claim, p->recs[0].where[0] ? "; " : "", p->recs[0].where);
	else if (p->nexplanations && !strcmp(p->explanations[0].rule, "remote_wait"))
		fputs(
		    "No setting would help: see the explanation below (carving while freed blocks "
		    "waited).\n",
		    o);
	else if (pct(p->faults_alloc, p->faults_total) < 20)
		fputs(
		    "No allocator setting would help much: look at the program's own memory use.\n",
		    o);
	else
		fputs("No rule fired: the allocator's faults are first touches of memory the "
		      "program really uses.\n",
		      o);
}

/* "image 2 of 3, exec'd by bash, then exec'd python3": the programs one
 * pid ran, in the order it ran them. */
static void exec_text(FILE *o, const struct hk_proc *p)
{
	if (!p->exec_from && !p->exec_into) return;
	unsigned last = p->image;
	for (const struct hk_proc *q = p->exec_into; q; q = q->exec_into)
		last = q->image;
	fprintf(o, "; image %u of %u", p->image, last);
	if (p->exec_from)
		fprintf(o, ", exec'd by %s",
		        p->exec_from->procname[0] ? p->exec_from->procname : "?");
	if (p->exec_into)
		fprintf(o, ", then exec'd %s",
		        p->exec_into->procname[0] ? p->exec_into->procname : "?");
}

/* Only when threads freed into each other's slabs, or carving went on
 * while freed blocks waited: a one-thread report keeps its lines. */
static void remote_text(FILE *o, const struct hk_proc *p)
{
	const struct hk_remote *r = &p->remote;
	if (!r->collected && !p->nexplanations) return;
	fprintf(o,
	        "Remote frees: %" PRIu64 " blocks collected off remote lists; %" PRIu64
	        " of %" PRIu64 " carving refills carved while freed blocks waited (up to %" PRIu64
	        "), %" PRIu64 " faults\n",
	        r->collected, r->waited_refills, r->carving_refills, r->waiting_max,
	        r->waited_faults);
}

/* The prewarm the process ran, as HAKMEM_PREWARM entries: its faults came
 * before tracing, so they are in none of the figures above. */
static void prewarm_text(FILE *o, const struct hk_proc *p)
{
	if (!p->nprewarm) return;
	fputs("Prewarm at start-up (before tracing):", o);
	int i = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++) {
		const struct hk_prewarm *w = &p->prewarm[k];
		if (!w->slabs) continue;
		fprintf(o, "%s %u:%u (%s", i++ ? "," : "", w->block_size, w->slabs,
		        hk_pool_name(w->pool));
		if (w->done < w->slabs) fprintf(o, ", %u slabs mapped", w->done);
		fprintf(o, ", %" PRIu64 " pages)", w->pages);
	}
	fputc('\n', o);
}

static void proc_text(FILE *o, const struct hk_state *st, const struct hk_proc *p)
{
	char lbl[32];
	fprintf(o, "\n== %s, pid %" PRId64 " on %s (%" PRIu64 " events, %.3f s",
	        p->procname[0] ? p->procname : "?", p->pid, p->host, p->nevents,
	        (double)(p->last_ts - p->first_ts) / 1e9);
	exec_text(o, p);
	fputs(") ==\n", o);
	fprintf(o, "Page faults (%s): %" PRIu64 " total\n", p->source, p->faults_total);
	fprintf(o, "  allocator %10" PRIu64 "  %5.1f%%\n", p->faults_alloc,
	        pct(p->faults_alloc, p->faults_total));
	for (int c = 0; c < HK_CAUSE_OTHER; c++)
		fprintf(o, "    %-20s %10" PRIu64 "\n", hk_cause_name[c], p->alloc_cause[c]);
	fprintf(o, "  other     %10" PRIu64 "  %5.1f%%\n", p->faults_other,
	        pct(p->faults_other, p->faults_total));

	int order[HK_NUM_CLASSES], n = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (p->alloc_class[k]) order[n++] = k;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && p->alloc_class[order[j]] > p->alloc_class[order[j - 1]];
		     j--) {
			int x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	if (n) {
		fputs("  top classes:", o);
		for (int i = 0; i < n && i < 6; i++)
			fprintf(o, "%s %s B %" PRIu64, i ? "," : "",
			        hk_class_label(p, order[i], lbl, sizeof lbl),
			        p->alloc_class[order[i]]);
		fputc('\n', o);
	}
	if (p->ss_top[0].faults) {
		fputs("  top SuperSlabs:", o);
		for (int i = 0; i < HK_SS_TOP && p->ss_top[i].faults; i++)
			fprintf(o, "%s 0x%" PRIx64 " (%s) %" PRIu64, i ? "," : "", p->ss_top[i].ss,
			        hk_pool_name(p->ss_top[i].pool), p->ss_top[i].faults);
		fputc('\n', o);
	}
	hk_cs_text(o, p);
	prewarm_text(o, p);

	fprintf(o,
	        "SuperSlabs: mapped %" PRIu64 ", reused %" PRIu64 ", unmapped %" PRIu64
	        ", churn %" PRIu64 ", peak live %" PRIu64,
	        p->ss_mapped, p->ss_reused, p->ss_unmapped, p->ss_churn, p->ss_peak_live);
	if (p->nlifetimes)
		fprintf(o, "; lifetime min/median/max %.1f/%.1f/%.1f ms", ms(p->lifetimes[0]),
		        ms(p->lifetimes[(p->nlifetimes - 1) / 2]),
		        ms(p->lifetimes[p->nlifetimes - 1]));
	fputc('\n', o);
	fprintf(o,
	        "Refills: %" PRIu64 "; blocks from freelist %" PRIu64 ", carved %" PRIu64
	        "; new slabs %" PRIu64 "\n",
	        p->refills, p->from_freelist, p->from_carve, p->new_slab);
	remote_text(o, p);
	fprintf(o,
	        "Slabs: empty %" PRIu64 ", reused %" PRIu64 ", class changes %" PRIu64
	        ", purged %" PRIu64 " (%" PRIu64 " pages)\n",
	        p->slab_empty, p->slab_reuse, p->class_changes, p->slab_purge, p->pages_purged);
	if (p->large_mapped || p->large_unmapped)
		fprintf(o,
		        "Large spans: mapped %" PRIu64 " (%" PRIu64 " KiB), unmapped %" PRIu64
		        ", churn %" PRIu64 "\n",
		        p->large_mapped, p->large_bytes / 1024, p->large_unmapped, p->large_churn);

	fprintf(o,
	        "Storms (%.0f ms windows, > %.1f x median %" PRIu64 " faults and >= 64; >= %" PRIu64
	        " in all): %zu\n",
	        ms(p->storm_window_ns), st->params.storm_threshold, p->storm_median,
	        st->params.storm_min_faults, p->nstorms);
	for (size_t i = 0; i < p->nstorms && i < 10; i++) {
		const struct hk_storm *s = &p->storms[i];
		fprintf(o, "  +%.0f..+%.0f ms: %" PRIu64 " faults, %s",
		        ms(s->begin_ns - p->first_ts), ms(s->end_ns - p->first_ts), s->faults,
		        hk_cause_name[s->dominant]);
		if (s->top_cls >= 0 && s->dominant != HK_CAUSE_OTHER &&
		    s->dominant != HK_CAUSE_LARGE)
			fprintf(o, ", mostly %s B", hk_class_label(p, s->top_cls, lbl, sizeof lbl));
		hk_cs_storm_text(o, p, i);
		fputc('\n', o);
	}
	if (p->nstorms > 10) fprintf(o, "  ... %zu more in the JSON report\n", p->nstorms - 10);

	if (!p->nerrors) {
		fputs("Heap errors: none\n", o);
	} else {
		fprintf(o, "Heap errors: %zu\n", p->nerrors + p->errors_dropped);
		for (size_t i = 0; i < p->nerrors && i < 10; i++)
			fprintf(o, "  %s at 0x%" PRIx64 " (+%.3f ms)\n",
			        hk_heap_error_kind(p->errors[i].kind), p->errors[i].addr,
			        ms(p->errors[i].ts - p->first_ts));
	}

	if (!p->nrecs) {
		fputs("Recommendations: none\n", o);
	} else {
		fputs("Recommendations:\n", o);
		for (size_t i = 0; i < p->nrecs; i++) {
			const struct hk_rec *r = &p->recs[i];
			fprintf(o, "  %zu. %s: %s  (%s)\n     why: %s\n", i + 1, r->action, r->env,
			        r->claim, r->why);
			if (r->where[0]) fprintf(o, "     where: %s\n", r->where);
		}
	}
	if (p->nstats >= 2) {
		struct hk_check c[HK_NCHECKS];
		int exact, match = hk_stats_check(p, c, &exact);
		if (exact) {
			fprintf(o,
			        "Check against process_stats: the event counts match the "
			        "allocator's counters (%" PRIu64 " samples)\n",
			        p->nstats);
		} else {
			(void)match;
			fputs("Check against process_stats: MISMATCH", o);
			for (int i = 0; i < HK_NCHECKS; i++)
				if (c[i].events != c[i].counters)
					fprintf(o,
					        " %s: %" PRIu64 " events vs %" PRIu64 " counted;",
					        c[i].name, c[i].events, c[i].counters);
			fputs(" (lost events are missing, and threads still running when the last "
			      "sample was taken "
			      "can race between a counter and its event)\n",
			      o);
		}
	}
	for (size_t i = 0; i < p->nexplanations; i++)
		fprintf(o, "Explanation: %s\n", p->explanations[i].text);
	for (size_t i = 0; i < p->nnotes; i++)
		fprintf(o, "Note: %s\n", p->notes[i]);
}

/* What the pid/process parameters picked, and what they left out. */
static void selection_text(FILE *o, const struct hk_state *st)
{
	const struct hk_params *prm = &st->params;
	if (!prm->has_pid && !prm->process) {
		fputs("\nAnswer: ", o);
		return;
	}
	fputs("\nProcesses", o);
	if (prm->has_pid) fprintf(o, " with pid %" PRId64, prm->pid);
	if (prm->process) fprintf(o, "%s named %s", prm->has_pid ? " and" : "", prm->process);
	fprintf(o, ": %zu of %zu", st->nprocs - st->nunselected, st->nprocs);
	if (st->nprocs == st->nunselected)
		fputs(" (none: 'hakmem report' without --pid and --process lists them all)", o);
	fputs("\nAnswer: ", o);
	if (st->nprocs == st->nunselected) fputs("no process selected.\n", o);
}

/* One line for the folded processes: how many, their faults, their
 * names, and how to see them. */
static void folded_text(FILE *o, const struct hk_state *st)
{
	if (!st->nfolded) return;
	uint64_t most = 0;
	for (size_t i = 0; i < st->nprocs; i++)
		if (st->proc_list[i]->folded && st->proc_list[i]->faults_total > most)
			most = st->proc_list[i]->faults_total;
	char names[512];
	hk_folded_names(st, names, sizeof names);
	double share = pct(most, st->selected_faults);
	fprintf(o, "%zu more process%s with %" PRIu64 " faults in all (", st->nfolded,
	        st->nfolded == 1 ? "" : "es", st->folded_faults);
	if (share < 1)
		fputs(st->nfolded == 1 ? "under 1%" : "under 1% each", o);
	else
		fprintf(o, "%s%.0f%%", st->nfolded == 1 ? "" : "at most ", share);
	fprintf(o, "): %s; --top N or --pid PID to see %s\n", names,
	        st->nfolded == 1 ? "it" : "them");
}

void hk_output_text(struct hk_state *st, FILE *o)
{
	fprintf(o, "hakmem report: %zu trace%s", st->npaths, st->npaths == 1 ? "" : "s");
	for (size_t i = 0; i < st->npaths && i < 4; i++)
		fprintf(o, "%s%s", i ? ", " : " (", st->paths[i]);
	if (st->npaths) fprintf(o, "%s)", st->npaths > 4 ? ", ..." : "");
	fprintf(o, ", %" PRIu64 " hakmem events, %" PRIu64 " lost\n", st->events, st->lost);
	if (st->incomplete)
		fputs("WARNING: the trace could not be read to its end (see the babeltrace2 "
		      "error); the figures below "
		      "cover only the events read before the failure.\n",
		      o);
	if (st->lost || st->lost_unknown_msgs)
		fprintf(o,
		        "WARNING: the tracer discarded %" PRIu64
		        " events%s (buffers too small). Fault totals from the "
		        "perf context stay exact, but faults the lost events caused count as "
		        "\"other\", and the event "
		        "counts, storms and SuperSlab figures are lower bounds.\n",
		        st->lost, st->lost_unknown_msgs ? " or more" : "");
	if (!st->events) {
		fputs("no hakmem events in ", o);
		if (!st->npaths) fputs("the trace", o);
		for (size_t i = 0; i < st->npaths; i++)
			fprintf(o, "%s%s", i ? ", " : "", st->paths[i]);
		fputs(": was the program run with HAKMEM_TRACE=1 and libhakmem.so preloaded, with "
		      "the 'hakmem:*' events "
		      "enabled?\n",
		      o);
		return;
	}
	selection_text(o, st);
	size_t shown = 0;
	for (size_t i = 0; i < st->nprocs; i++)
		if (st->proc_list[i]->selected && !st->proc_list[i]->folded) {
			if (shown < 3) answer(o, st->proc_list[i]);
			shown++;
		}
	if (shown > 3) fprintf(o, "(%zu more processes below)\n", shown - 3);
	folded_text(o, st);
	for (size_t i = 0; i < st->nprocs; i++)
		if (st->proc_list[i]->selected && !st->proc_list[i]->folded)
			proc_text(o, st, st->proc_list[i]);
}
