/* Recommendations: the rule set of docs/report-rules.md. Each rule names one exact
 * HAKMEM_* setting and estimates the faults it saves from the figures
 * this trace measured; keep docs/report-rules.md in step with this file. */
#include "analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HK_RULE_MIN_FAULTS 64 /* below this a setting is not worth changing */

static struct hk_rec *rec_new(struct hk_proc *p, int rule)
{
	if (p->nrecs >= HK_RECS_MAX) return NULL;
	struct hk_rec *r = &p->recs[p->nrecs++];
	memset(r, 0, sizeof *r);
	r->rule = rule;
	return r;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Rule 1: storms of fresh carving -> prewarm those classes. */
static void rule_prewarm(struct hk_proc *p)
{
	uint64_t pages[HK_NUM_CLASSES] = {0}, carve = 0, storm_faults = 0;
	size_t nstorms = 0;
	const struct hk_storm *first = NULL;
	for (size_t i = 0; i < p->nstorms; i++) {
		const struct hk_storm *s = &p->storms[i];
		if (s->dominant != HK_CAUSE_CARVE) continue;
		uint64_t alloc = s->cause[HK_CAUSE_CARVE] + s->cause[HK_CAUSE_REFAULT];
		/* classes with at least a tenth of the storm's allocator faults */
		for (int k = 0; k < HK_NUM_CLASSES; k++)
			if (alloc && s->cls_faults[k] * 10 >= alloc)
				pages[k] += s->cls_faults[k] * s->cause[HK_CAUSE_CARVE] / alloc;
		carve += s->cause[HK_CAUSE_CARVE];
		storm_faults += s->faults;
		if (!first) first = s;
		nstorms++;
	}
	if (!nstorms || carve < HK_RULE_MIN_FAULTS / 2) return;
	int order[HK_NUM_CLASSES], n = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (pages[k] && p->block_size[k]) order[n++] = k;
	for (int i = 1; i < n; i++) /* by pages, descending */
		for (int j = i; j > 0 && pages[order[j]] > pages[order[j - 1]]; j--) {
			int x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	if (n > 16) /* HAKMEM_PREWARM takes at most 16 entries */
		n = 16;
	if (!n) return;
	struct hk_rec *r = rec_new(p, 1);
	if (!r) return;
	char quiet[64] = "";
	if (first->idle_before_ns >= 10000000ull) /* at least 10 ms */
		snprintf(quiet, sizeof quiet, ", after %.0f ms without faults",
		         ms(first->idle_before_ns));
	uint64_t saves = 0;
	size_t off = (size_t)snprintf(r->env, sizeof r->env, "HAKMEM_PREWARM=");
	char classes[160] = "";
	size_t coff = 0;
	for (int i = 0; i < n; i++) {
		int k = order[i];
		uint64_t per = hk_pages_per_slab(k < 16 ? 0 : 1);
		uint64_t slabs = (pages[k] + per - 1) / per;
		if (slabs > 4096) slabs = 4096;
		if (off < sizeof r->env)
			off += (size_t)snprintf(r->env + off, sizeof r->env - off, "%s%u:%llu",
			                        i ? "," : "", p->block_size[k],
			                        (unsigned long long)slabs);
		if (coff < sizeof classes)
			coff += (size_t)snprintf(classes + coff, sizeof classes - coff, "%s%u",
			                         i ? ", " : "", p->block_size[k]);
		saves += pages[k];
	}
	if (saves > carve) saves = carve;
	r->saves = saves;
	snprintf(r->action, sizeof r->action, "prewarm the %s-byte class%s", classes,
	         n > 1 ? "es" : "");
	snprintf(r->why, sizeof r->why,
	         "%zu fault storm%s (%llu faults, the first at +%.0f ms%s) %s dominated by "
	         "superslab_carve: first touches of fresh SuperSlab pages carved for these "
	         "classes. Prewarming "
	         "carves and faults those slabs at start-up, so about %llu faults leave the "
	         "storm%s (they move to "
	         "start-up rather than disappear)",
	         nstorms, nstorms > 1 ? "s" : "", (unsigned long long)storm_faults,
	         ms(first->begin_ns - p->first_ts), quiet, nstorms > 1 ? "were" : "was",
	         (unsigned long long)saves, nstorms > 1 ? "s" : "");
}

/* Rule 2: SuperSlab churn -> a bigger warm cache. */
static void rule_churn(struct hk_state *st, struct hk_proc *p)
{
	if (!p->ss_churn) return;
	uint64_t need = 0, churn_peak = 0, reuse_peak = 0;
	for (int k = 0; k < HK_NUM_POOLS; k++) {
		const struct hk_pool_state *ps = &p->pool[k];
		if (!ps->churn) continue;
		if (ps->churn_peak + ps->reuse_peak > need) {
			need = ps->churn_peak + ps->reuse_peak;
			churn_peak = ps->churn_peak;
			reuse_peak = ps->reuse_peak;
		}
	}
	uint64_t saves = p->churn_remap_faults;
	const char *how = "carve faults measured on the re-mapped SuperSlabs";
	if (!saves && p->ss_mapped) {
		saves = p->ss_churn * p->alloc_cause[HK_CAUSE_CARVE] / p->ss_mapped;
		how = "re-maps x the average carve faults per mapped SuperSlab";
	}
	struct hk_rec *r = rec_new(p, 2);
	if (!r) return;
	if (need > 4096) need = 4096;
	r->saves = saves;
	snprintf(r->env, sizeof r->env, "HAKMEM_WARM_SUPERSLABS=%llu", (unsigned long long)need);
	snprintf(r->action, sizeof r->action,
	         "keep more empty SuperSlabs warm instead of unmapping them");
	char warm[160] = "";
	if (reuse_peak)
		snprintf(warm, sizeof warm,
		         ", and the warm cache already handed out up to %llu within one window",
		         (unsigned long long)reuse_peak);
	snprintf(r->why, sizeof r->why,
	         "%llu SuperSlab map%s followed an unmap in the same pool within %.0f ms (churn); "
	         "up to %llu were "
	         "unmapped and then needed again at once%s, so a warm cache of %llu would have "
	         "served the re-maps "
	         "from resident memory. Saves about %llu faults (%s)",
	         (unsigned long long)p->ss_churn, p->ss_churn > 1 ? "s" : "",
	         ms(st->params.churn_window_ns), (unsigned long long)churn_peak, warm,
	         (unsigned long long)need, (unsigned long long)saves, how);
}

/* Rule 3: refaults after purge -> purge later. */
static void rule_purge_delay(struct hk_proc *p)
{
	uint64_t refault = p->alloc_cause[HK_CAUSE_REFAULT];
	uint64_t floor = p->faults_total / 20; /* 5% */
	if (refault < HK_RULE_MIN_FAULTS || refault < floor) return;
	int known = p->purge_delay_min_ns != UINT64_MAX;
	double cur_ms = known ? ms(p->purge_delay_min_ns) : 1000.0;
	uint64_t gap = hk_hist_quantile(&p->reuse_gap, 0.9);
	double want = 4.0 * cur_ms;
	if (ms(gap) * 1.25 > want) want = ms(gap) * 1.25;
	uint64_t new_ms = (uint64_t)ceil(want);
	if (new_ms < 10) new_ms = 10;
	if (new_ms > 3600000) new_ms = 3600000;
	double covered = p->reuse_gap.n ? hk_hist_cdf(&p->reuse_gap, new_ms * 1000000ull) : 1.0;
	/* The delay also keeps wholly empty SuperSlabs mapped: a SuperSlab
	 * mapped sooner than that after an unmap would have been a warm one. */
	uint64_t remap = p->remap_gap_faults.n
	                     ? (uint64_t)((double)p->remap_gap_faults.n *
	                                  hk_hist_cdf(&p->remap_gap_faults, new_ms * 1000000ull))
	                     : 0;
	struct hk_rec *r = rec_new(p, 3);
	if (!r) return;
	r->saves = (uint64_t)((double)refault * covered) + remap;
	snprintf(r->env, sizeof r->env, "HAKMEM_PURGE_DELAY_MS=%llu", (unsigned long long)new_ms);
	snprintf(r->action, sizeof r->action, "purge empty slabs later");
	snprintf(r->why, sizeof r->why,
	         "%llu faults (%.0f%% of all) were pages refaulted after a purge. Slabs sat empty "
	         "%s%.1f ms before "
	         "being purged (the current delay) and were reused %.1f ms (90th percentile of "
	         "%llu reuses) after "
	         "emptying; with a %llu ms delay %.0f%% of those reuses would have found their "
	         "pages resident, and "
	         "%llu carve faults on SuperSlabs mapped within that delay of an unmap would not "
	         "happen. "
	         "HAKMEM_PURGE_DELAY_MS=-1 never purges, at the cost of RSS",
	         (unsigned long long)refault,
	         p->faults_total ? 100.0 * (double)refault / (double)p->faults_total : 0,
	         known ? "at least " : "(unknown; default assumed) ", cur_ms, ms(gap),
	         (unsigned long long)p->reuse_gap.n, (unsigned long long)new_ms, 100.0 * covered,
	         (unsigned long long)remap);
}

/* Rule 4: carving in the 256 B..1 KiB classes dominates -> try Small-Mid. */
static void rule_smallmid(struct hk_proc *p)
{
	if (p->pools_seen & (1u << 2)) return; /* already on */
	uint64_t sm = 0, all = p->alloc_cause[HK_CAUSE_CARVE] + p->alloc_cause[HK_CAUSE_REFAULT];
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (p->block_size[k] >= 256 && p->block_size[k] <= 1040) sm += p->alloc_class[k];
	if (sm < HK_RULE_MIN_FAULTS || sm * 2 <= all) return;
	struct hk_rec *r = rec_new(p, 4);
	if (!r) return;
	r->saves = sm / 2;
	r->rough = 1;
	snprintf(r->env, sizeof r->env, "HAKMEM_SMALLMID=1");
	snprintf(r->action, sizeof r->action, "try the Small-Mid layer for 256 B..1 KiB blocks");
	snprintf(r->why, sizeof r->why,
	         "%llu of the %llu carve faults (%.0f%%) were in the 256 B..1 KiB classes, which "
	         "the Small-Mid layer "
	         "serves from its own 1 MiB SuperSlabs with per-class LRU. The saving is a rough "
	         "estimate (half of "
	         "those faults); measure it with 'hakmem report' on a run with the setting",
	         (unsigned long long)sm, (unsigned long long)all,
	         all ? 100.0 * (double)sm / (double)all : 0);
}

/* Rule 5: large spans unmapped and mapped again -> a bigger span cache. */
static void rule_large_cache(struct hk_state *st, struct hk_proc *p)
{
	uint64_t large = p->alloc_cause[HK_CAUSE_LARGE];
	if (!p->large_churn || large < HK_RULE_MIN_FAULTS) return;
	uint64_t mb = (p->large_churn_peak_bytes + (1u << 20) - 1) >> 20;
	uint64_t want = 64; /* the default */
	while (want < 64 + mb)
		want *= 2;
	struct hk_rec *r = rec_new(p, 5);
	if (!r) return;
	r->saves = large < p->large_churn_pages ? large : p->large_churn_pages;
	snprintf(r->env, sizeof r->env, "HAKMEM_LARGE_CACHE_MB=%llu", (unsigned long long)want);
	snprintf(r->action, sizeof r->action, "cache more freed large spans");
	snprintf(r->why, sizeof r->why,
	         "%llu large spans were mapped within %.0f ms of a large unmap (up to %llu MiB "
	         "unmapped and needed "
	         "again at once); each fresh span faults in every page it uses. Saves at most %llu "
	         "faults",
	         (unsigned long long)p->large_churn, ms(st->params.churn_window_ns),
	         (unsigned long long)mb, (unsigned long long)r->saves);
}

static int by_saves(const void *a, const void *b)
{
	const struct hk_rec *x = a, *y = b;
	if (x->rough != y->rough) /* measured savings first */
		return x->rough - y->rough;
	return x->saves < y->saves ? 1 : x->saves > y->saves ? -1 : x->rule - y->rule;
}

void hk_recommend(struct hk_state *st, struct hk_proc *p)
{
	rule_prewarm(p);
	rule_churn(st, p);
	rule_purge_delay(p);
	rule_smallmid(p);
	rule_large_cache(st, p);
	qsort(p->recs, p->nrecs, sizeof p->recs[0], by_saves);
}
