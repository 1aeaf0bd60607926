/* Recommendations: the rule set of docs/report-rules.md. Each rule names the
 * exact HAKMEM_* settings and what they do to the process's minor faults,
 * estimated from the figures this trace measured: fewer faults ("saves")
 * or the same faults at start-up ("moves"). Rule 4 (Small-Mid) is retired:
 * no workload measured fewer faults with it. Keep docs/report-rules.md in
 * step with this file. */
#include "analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HK_RULE_MIN_FAULTS 64 /* below this a setting is not worth changing */

static struct hk_rec *rec_new(struct hk_proc *p, int rule, enum hk_effect effect)
{
	if (p->nrecs >= HK_RECS_MAX) return NULL;
	struct hk_rec *r = &p->recs[p->nrecs++];
	memset(r, 0, sizeof *r);
	r->rule = rule;
	r->effect = effect;
	return r;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Pages per slab of a class: those of the pool its refill events name,
 * never guessed from the class number (Small-Mid's 1039-byte class has 16
 * pages a slab, not the 64 of the Mid numbers around it). 0 when no
 * refill named a pool the geometry knows: the class gets no advice. */
static uint64_t class_pages_per_slab(const struct hk_proc *p, int k)
{
	return p->class_pool[k] ? hk_pages_per_slab(p->class_pool[k] - 1u) : 0;
}

/* Class k's allocator faults in the fault windows before ts (the windows
 * keep their top classes only, so this is a lower bound). */
static uint64_t class_faults_before(const struct hk_proc *p, int k, uint64_t ts)
{
	const struct hk_windows *ws = &p->win;
	if (!ws->w || !ws->width || ts <= ws->base) return 0;
	size_t end = (size_t)((ts - ws->base) / ws->width);
	if (end > ws->n) end = ws->n;
	uint64_t n = 0;
	for (size_t i = 0; i < end; i++)
		for (int j = 0; j < HK_WIN_TOPK; j++)
			if (ws->w[i].top_faults[j] && ws->w[i].top_cls[j] == k)
				n += ws->w[i].top_faults[j];
	return n;
}

/* Appends to buf at *off, never past len. */
static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	if (*off >= len) return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0) *off += (size_t)n;
}

#define HK_PREWARM_ENTRIES 16 /* HAKMEM_PREWARM takes at most 16 */
#define HK_PREWARM_SLABS 4096 /* and at most 4096 slabs an entry */

/* Rule 1's classes: slabs[k] is the class's new total, 0 when it has none. */
struct prewarm_plan {
	uint64_t slabs[HK_NUM_CLASSES];
	int order[HK_NUM_CLASSES], n;    /* the advised classes, most pages first */
	int kept[HK_NUM_CLASSES], nkept; /* prewarmed, not advised: kept as they ran */
	int raised;                      /* advised classes the process prewarmed */
};

/* HAKMEM_PREWARM replaces the whole list, so the setting names every class
 * the process prewarmed (each takes one of the 16 entries), the advised
 * ones at their new totals, and new classes in what entries are left. */
static uint64_t plan_prewarm(const struct hk_proc *p, const int *cand, int ncand,
                             const uint64_t *need, const uint64_t *pages, struct prewarm_plan *pl)
{
	uint64_t moves = 0;
	int fresh = 0, room = HK_PREWARM_ENTRIES - (int)p->nprewarm;
	for (int i = 0; i < ncand; i++) {
		int k = cand[i];
		uint64_t per = class_pages_per_slab(p, k), cur = p->prewarm[k].slabs;
		if (!cur && fresh >= room) continue;
		if (cur >= HK_PREWARM_SLABS) continue; /* no more to give */
		/* The storm is what the prewarmed slabs left: the total is those
		 * and the slabs still missing. */
		uint64_t total = cur + (need[k] + per - 1) / per;
		pl->slabs[k] = total > HK_PREWARM_SLABS ? HK_PREWARM_SLABS : total;
		pl->order[pl->n++] = k;
		if (cur)
			pl->raised++;
		else
			fresh++;
		moves += pages[k];
	}
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (p->prewarm[k].slabs && !pl->slabs[k]) pl->kept[pl->nkept++] = k;
	return moves;
}

/* The setting, and the action: "prewarm the 783-byte class and raise
 * HAKMEM_PREWARM for the 1039-byte class from 250 to 268 slabs". */
static void prewarm_words(const struct hk_proc *p, const struct prewarm_plan *pl, struct hk_rec *r)
{
	size_t off = 0, aoff = 0;
	append(r->env, sizeof r->env, &off, "HAKMEM_PREWARM=");
	for (int i = 0; i < pl->n; i++)
		append(r->env, sizeof r->env, &off, "%s%u:%llu", i ? "," : "",
		       p->block_size[pl->order[i]], (unsigned long long)pl->slabs[pl->order[i]]);
	for (int i = 0; i < pl->nkept; i++) {
		const struct hk_prewarm *w = &p->prewarm[pl->kept[i]];
		append(r->env, sizeof r->env, &off, ",%u:%u", w->block_size, w->slabs);
	}
	int fresh = pl->n - pl->raised, j = 0;
	if (fresh) append(r->action, sizeof r->action, &aoff, "prewarm the ");
	for (int i = 0; i < pl->n; i++)
		if (!p->prewarm[pl->order[i]].slabs)
			append(r->action, sizeof r->action, &aoff, "%s%u", j++ ? ", " : "",
			       p->block_size[pl->order[i]]);
	if (fresh)
		append(r->action, sizeof r->action, &aoff, "-byte class%s", fresh > 1 ? "es" : "");
	if (pl->raised)
		append(r->action, sizeof r->action, &aoff, "%sraise HAKMEM_PREWARM for the ",
		       fresh ? " and " : "");
	j = 0;
	for (int i = 0; i < pl->n; i++) {
		int k = pl->order[i];
		if (p->prewarm[k].slabs)
			append(r->action, sizeof r->action, &aoff,
			       "%s%u-byte class from %u to %llu slabs", j++ ? ", the " : "",
			       p->block_size[k], p->prewarm[k].slabs,
			       (unsigned long long)pl->slabs[k]);
	}
}

/* Rule 1: storms of fresh carving -> prewarm those classes. Prewarm
 * faults the same pages at start-up: it moves faults, it saves none.
 * The prewarmed slabs go to the first of the class's allocations, so
 * they reach a storm only when the class carved little before it. */
static void rule_prewarm(struct hk_proc *p)
{
	uint64_t pages[HK_NUM_CLASSES] = {0}, first_ns[HK_NUM_CLASSES] = {0};
	uint64_t carve = 0, storm_faults = 0;
	size_t nstorms = 0;
	const struct hk_storm *first = NULL, *last = NULL;
	for (size_t i = 0; i < p->nstorms; i++) {
		const struct hk_storm *s = &p->storms[i];
		if (s->dominant != HK_CAUSE_CARVE) continue;
		uint64_t alloc = s->cause[HK_CAUSE_CARVE] + s->cause[HK_CAUSE_REFAULT];
		/* classes with at least a tenth of the storm's allocator faults */
		for (int k = 0; k < HK_NUM_CLASSES; k++)
			if (alloc && s->cls_faults[k] * 10 >= alloc) {
				pages[k] += s->cls_faults[k] * s->cause[HK_CAUSE_CARVE] / alloc;
				if (!first_ns[k]) first_ns[k] = s->begin_ns;
			}
		carve += s->cause[HK_CAUSE_CARVE];
		storm_faults += s->faults;
		if (!first) first = s;
		last = s;
		nstorms++;
	}
	if (!nstorms || carve < HK_RULE_MIN_FAULTS / 2) return;
	/* A class that carved more than half its storm faults before its
	 * first storm is left out: its prewarmed slabs would be used up
	 * before the storm. The others get slabs for both. */
	uint64_t need[HK_NUM_CLASSES] = {0};
	int cand[HK_NUM_CLASSES], ncand = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++) {
		if (!pages[k] || !p->block_size[k] || !class_pages_per_slab(p, k)) continue;
		uint64_t before = class_faults_before(p, k, first_ns[k]);
		if (before * 2 > pages[k]) continue;
		need[k] = before + pages[k];
		cand[ncand++] = k;
	}
	for (int i = 1; i < ncand; i++) /* by pages, descending */
		for (int j = i; j > 0 && pages[cand[j]] > pages[cand[j - 1]]; j--) {
			int x = cand[j];
			cand[j] = cand[j - 1];
			cand[j - 1] = x;
		}
	struct prewarm_plan pl;
	memset(&pl, 0, sizeof pl);
	uint64_t moves = plan_prewarm(p, cand, ncand, need, pages, &pl);
	if (moves > carve) moves = carve;
	if (moves < HK_RULE_MIN_FAULTS / 2) return;
	struct hk_rec *r = rec_new(p, 1, HK_EFFECT_MOVES);
	if (!r) return;
	char quiet[64] = "";
	if (first->idle_before_ns >= 10000000ull) /* at least 10 ms */
		snprintf(quiet, sizeof quiet, ", after %.0f ms without faults",
		         ms(first->idle_before_ns));
	prewarm_words(p, &pl, r);
	r->claimed = moves;
	char when[64];
	snprintf(when, sizeof when, "at +%.0f..+%.0f ms", ms(first->begin_ns - p->first_ts),
	         ms(last->end_ns - p->first_ts));
	snprintf(r->claim, sizeof r->claim,
	         "moves ~%llu faults out of the storm%s %s into start-up",
	         (unsigned long long)moves, nstorms > 1 ? "s" : "", when);
	size_t off = 0;
	append(r->why, sizeof r->why, &off,
	       "%zu fault storm%s (%llu faults %s%s) %s dominated by superslab_carve: first "
	       "touches of fresh SuperSlab pages carved for these classes. Prewarming carves and "
	       "faults those slabs at start-up, so about %llu faults leave the storm%s: lower "
	       "latency there. The process takes as many faults in all (they move to start-up, "
	       "they are not saved)",
	       nstorms, nstorms > 1 ? "s" : "", (unsigned long long)storm_faults, when, quiet,
	       nstorms > 1 ? "were" : "was", (unsigned long long)moves, nstorms > 1 ? "s" : "");
	if (pl.raised)
		append(
		    r->why, sizeof r->why, &off,
		    ". The storm is what the process's prewarm left: the setting is the slabs it "
		    "prewarmed plus those still missing");
	if (pl.nkept)
		append(r->why, sizeof r->why, &off,
		       ". HAKMEM_PREWARM replaces the whole list: the classes this rule leaves "
		       "alone keep the slabs they had");
}

/* Rules 2 and 3: memory given back and needed again -> keep it resident
 * longer. Warm SuperSlabs are purged or unmapped when the purge delay
 * passes, whatever HAKMEM_WARM_SUPERSLABS says, so only a longer delay
 * keeps their pages: with churn (rule 2) the setting raises both, without
 * it (rule 3) the delay alone. One recommendation, so the two never
 * claim the same faults. */
static void rule_resident(struct hk_state *st, struct hk_proc *p)
{
	uint64_t refault = p->alloc_cause[HK_CAUSE_REFAULT];
	uint64_t remap = p->remap_gap_faults.n; /* carve faults on re-mapped SuperSlabs */
	int refaults = refault >= HK_RULE_MIN_FAULTS && refault >= p->faults_total / 20;
	int churn = p->ss_churn && remap;
	if (!refaults && !churn) return;
	int known = p->purge_delay_min_ns != UINT64_MAX;
	double cur_ms = known ? ms(p->purge_delay_min_ns) : 1000.0;
	double want = 4.0 * cur_ms;
	uint64_t reuse_p90 = hk_hist_quantile(&p->reuse_gap, 0.9);
	uint64_t remap_p90 = hk_hist_quantile(&p->remap_gap_faults, 0.9);
	if (refaults && ms(reuse_p90) * 1.25 > want) want = ms(reuse_p90) * 1.25;
	if (churn && ms(remap_p90) * 1.25 > want) want = ms(remap_p90) * 1.25;
	uint64_t new_ms = (uint64_t)ceil(want);
	if (new_ms < 10) new_ms = 10;
	if (new_ms > 3600000) new_ms = 3600000;
	uint64_t new_ns = new_ms * 1000000ull;
	double covered = p->reuse_gap.n ? hk_hist_cdf(&p->reuse_gap, new_ns) : 1.0;
	uint64_t kept_refault = (uint64_t)((double)refault * covered);
	uint64_t kept_remap =
	    remap ? (uint64_t)((double)remap * hk_hist_cdf(&p->remap_gap_faults, new_ns)) : 0;
	uint64_t saves = kept_refault + kept_remap;
	if (saves < HK_RULE_MIN_FAULTS) return;
	struct hk_rec *r = rec_new(p, churn ? 2 : 3, HK_EFFECT_SAVES);
	if (!r) return;
	r->claimed = saves;
	snprintf(r->claim, sizeof r->claim, "saves ~%llu faults", (unsigned long long)saves);
	char delay[160];
	snprintf(delay, sizeof delay,
	         "Empty slabs and SuperSlabs were purged %s%.1f ms after emptying (the current "
	         "delay)",
	         known ? "at least " : "(unknown; the default assumed) ", cur_ms);
	char refault_text[256] = "";
	if (refault)
		snprintf(refault_text, sizeof refault_text,
		         " %llu faults (%.0f%% of all) were pages refaulted after a purge, reused "
		         "%.1f ms (90th percentile of %llu reuses) after emptying; %.0f%% of those "
		         "reuses would have found their pages resident.",
		         (unsigned long long)refault,
		         p->faults_total ? 100.0 * (double)refault / (double)p->faults_total : 0,
		         ms(reuse_p90), (unsigned long long)p->reuse_gap.n, 100.0 * covered);
	if (churn) {
		uint64_t need = 0;
		for (int k = 0; k < HK_NUM_POOLS; k++) {
			const struct hk_pool_state *ps = &p->pool[k];
			if (ps->churn && ps->churn_peak + ps->reuse_peak > need)
				need = ps->churn_peak + ps->reuse_peak;
		}
		if (need < 4) need = 4; /* never below the default */
		if (need > 4096) need = 4096;
		snprintf(r->env, sizeof r->env,
		         "HAKMEM_PURGE_DELAY_MS=%llu HAKMEM_WARM_SUPERSLABS=%llu",
		         (unsigned long long)new_ms, (unsigned long long)need);
		snprintf(r->action, sizeof r->action,
		         "keep empty SuperSlabs warm and resident instead of unmapping them");
		snprintf(
		    r->why, sizeof r->why,
		    "%llu of the SuperSlab maps followed an unmap in the same pool within %.0f ms "
		    "(churn), %llu carve faults in all on SuperSlabs mapped while an unmapped one "
		    "was unclaimed; those had been empty %.1f ms (90th percentile). %s.%s With a "
		    "%llu ms delay they stay warm and resident (%llu carve faults and %llu "
		    "refaults not taken); %llu warm SuperSlabs stay mapped after it. A bigger "
		    "warm cache alone keeps no pages: warm SuperSlabs are purged when the delay "
		    "passes",
		    (unsigned long long)p->ss_churn, ms(st->params.churn_window_ns),
		    (unsigned long long)remap, ms(remap_p90), delay, refault_text,
		    (unsigned long long)new_ms, (unsigned long long)kept_remap,
		    (unsigned long long)kept_refault, (unsigned long long)need);
		return;
	}
	snprintf(r->env, sizeof r->env, "HAKMEM_PURGE_DELAY_MS=%llu", (unsigned long long)new_ms);
	snprintf(r->action, sizeof r->action, "purge empty slabs later");
	snprintf(r->why, sizeof r->why,
	         "%s.%s With a %llu ms delay, %llu refaults and %llu carve faults on SuperSlabs "
	         "mapped within that delay of one going empty and unmapped would not happen. "
	         "HAKMEM_PURGE_DELAY_MS=-1 never purges, at the cost of RSS",
	         delay, refault_text, (unsigned long long)new_ms, (unsigned long long)kept_refault,
	         (unsigned long long)kept_remap);
}

/* Rule 5: large spans unmapped and mapped again -> no limit on the span
 * cache (HAK_LARGE_CACHE_MB_DEFAULT, -1). A trace does not say what limit
 * the run had, so the setting lifts it rather than naming a size that
 * might be smaller. The cache also gives a span back once the purge delay
 * has passed since its free, so the setting names a delay too unless the
 * trace shows one long enough for the re-maps. */
static void rule_large_cache(struct hk_state *st, struct hk_proc *p)
{
	uint64_t large = p->alloc_cause[HK_CAUSE_LARGE];
	if (!p->large_churn || large < HK_RULE_MIN_FAULTS) return;
	uint64_t mb = (p->large_churn_peak_bytes + (1u << 20) - 1) >> 20;
	struct hk_rec *r = rec_new(p, 5, HK_EFFECT_SAVES);
	if (!r) return;
	r->claimed = large < p->large_churn_pages ? large : p->large_churn_pages;
	snprintf(r->claim, sizeof r->claim, "saves ~%llu faults", (unsigned long long)r->claimed);
	double gap_ms = ms(hk_hist_quantile(&p->large_gap, 0.9)) * 1.25;
	int known = p->purge_delay_min_ns != UINT64_MAX;
	double cur_ms = known ? ms(p->purge_delay_min_ns) : 0;
	char delay[224] = "";
	if (known && cur_ms >= gap_ms) {
		snprintf(r->env, sizeof r->env, "HAKMEM_LARGE_CACHE_MB=%d",
		         HAK_LARGE_CACHE_MB_DEFAULT);
	} else {
		/* unknown: the default (1000) or the re-maps' need, whichever is longer */
		uint64_t d = (uint64_t)ceil(gap_ms);
		if (!known && d < 1000) d = 1000;
		if (d < 10) d = 10;
		snprintf(r->env, sizeof r->env,
		         "HAKMEM_LARGE_CACHE_MB=%d HAKMEM_PURGE_DELAY_MS=%llu",
		         HAK_LARGE_CACHE_MB_DEFAULT, (unsigned long long)d);
		if (known)
			snprintf(
			    delay, sizeof delay,
			    " The purge delay (at least %.1f ms, from the slab purges) would give "
			    "the cached spans back before then: the setting raises it to %llu ms.",
			    cur_ms, (unsigned long long)d);
		else
			snprintf(
			    delay, sizeof delay,
			    " The cache gives spans back when the purge delay passes, and no purge "
			    "in the trace shows the delay: the setting names %llu ms (the default "
			    "is 1000).",
			    (unsigned long long)d);
	}
	snprintf(r->action, sizeof r->action,
	         "keep freed large spans until the purge delay, with no size limit");
	snprintf(r->why, sizeof r->why,
	         "%llu large spans were mapped within %.0f ms of a large unmap (up to %llu MiB "
	         "unmapped and needed again at once, %.1f ms after the unmap: 90th percentile); "
	         "each fresh span faults in every page it uses. A limit on the cache (-1, none, "
	         "is the default) gives spans back that the program needs again. Saves at most "
	         "%llu faults.%s",
	         (unsigned long long)p->large_churn, ms(st->params.churn_window_ns),
	         (unsigned long long)mb, gap_ms / 1.25, (unsigned long long)r->claimed, delay);
}

static int by_claim(const void *a, const void *b)
{
	const struct hk_rec *x = a, *y = b;
	if (x->effect != y->effect) /* fewer faults before faults moved */
		return (int)x->effect - (int)y->effect;
	return x->claimed < y->claimed ? 1 : x->claimed > y->claimed ? -1 : x->rule - y->rule;
}

void hk_recommend(struct hk_state *st, struct hk_proc *p)
{
	rule_prewarm(p);
	rule_resident(st, p);
	rule_large_cache(st, p);
	qsort(p->recs, p->nrecs, sizeof p->recs[0], by_claim);
}
