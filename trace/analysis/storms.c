/* Fault windows, storms and the timeline.
 *
 * Faults are counted per storm-window-ms window, by cause, with a small
 * per-window top-k of classes. A storm is a run of adjacent windows whose
 * fault count is above storm-threshold x the median of the nonzero
 * windows and at least HK_STORM_MIN_FAULTS, holding at least
 * storm-min-faults faults in all, in a process that ran at least
 * HK_STORM_MIN_WINDOWS windows. Past HK_WIN_MAX windows the
 * array is coarsened (pairs merged, width doubled), so a long trace costs
 * bounded memory; the report gives the width actually used. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#define HK_STORM_MIN_FAULTS 64
/* A median of fewer windows is no baseline: a run that short has no
 * spikes, only its start-up. */
#define HK_STORM_MIN_WINDOWS 10
#define HK_STORMS_MAX 1000

const char *const hk_cause_name[HK_NUM_CAUSES] = {"superslab_carve", "refault_after_purge", "large",
                                                  "other"};

void hk_win_init(struct hk_windows *ws, uint64_t base, uint64_t width)
{
	memset(ws, 0, sizeof *ws);
	ws->base = base;
	ws->width = width ? width : 1;
}

static void topk_add(struct hk_win *w, int cls, uint64_t faults)
{
	int min = 0;
	for (int k = 0; k < HK_WIN_TOPK; k++) {
		if (w->top_faults[k] && w->top_cls[k] == cls) {
			w->top_faults[k] += (uint32_t)faults;
			return;
		}
		if (w->top_faults[k] < w->top_faults[min]) min = k;
	}
	/* Space-saving: a newcomer replaces the smallest entry and inherits
	 * its count, so a class that dominates a window is never lost. */
	w->top_cls[min] = (uint8_t)cls;
	w->top_faults[min] += (uint32_t)faults;
}

/* The same space-saving top-k, for call-site stacks. */
static void topk_add_cs(struct hk_win *w, uint32_t cs, uint64_t faults)
{
	int min = 0;
	for (int k = 0; k < HK_WIN_TOPK; k++) {
		if (w->top_cs_faults[k] && w->top_cs[k] == cs) {
			w->top_cs_faults[k] += (uint32_t)faults;
			return;
		}
		if (w->top_cs_faults[k] < w->top_cs_faults[min]) min = k;
	}
	w->top_cs[min] = cs;
	w->top_cs_faults[min] += (uint32_t)faults;
}

static void coarsen(struct hk_windows *ws)
{
	size_t n = (ws->n + 1) / 2;
	for (size_t i = 0; i < n; i++) {
		struct hk_win a = ws->w[2 * i];
		if (2 * i + 1 < ws->n) {
			const struct hk_win *b = &ws->w[2 * i + 1];
			for (int c = 0; c < HK_NUM_CAUSES; c++)
				a.cause[c] += b->cause[c];
			a.ss_maps += b->ss_maps;
			a.ss_unmaps += b->ss_unmaps;
			for (int k = 0; k < HK_WIN_TOPK; k++)
				if (b->top_faults[k]) topk_add(&a, b->top_cls[k], b->top_faults[k]);
			for (int k = 0; k < HK_WIN_TOPK; k++)
				if (b->top_cs_faults[k])
					topk_add_cs(&a, b->top_cs[k], b->top_cs_faults[k]);
		}
		ws->w[i] = a;
	}
	memset(ws->w + n, 0, (ws->n - n) * sizeof *ws->w);
	ws->n = n;
	ws->width *= 2;
}

static size_t win_index(struct hk_windows *ws, uint64_t ts)
{
	if (ts < ws->base) ts = ws->base;
	uint64_t idx = (ts - ws->base) / ws->width;
	while (idx >= HK_WIN_MAX) {
		coarsen(ws);
		idx = (ts - ws->base) / ws->width;
	}
	if (idx >= ws->n) {
		hk_grow((void **)&ws->w, &ws->cap, idx, sizeof *ws->w);
		ws->n = idx + 1;
	}
	return (size_t)idx;
}

void hk_win_add(struct hk_windows *ws, uint64_t ts, enum hk_cause c, uint64_t faults, int cls)
{
	if (!faults) return;
	size_t i = win_index(ws, ts); /* before reading ws->w: it may move */
	struct hk_win *w = &ws->w[i];
	w->cause[c] += (uint32_t)faults;
	if (cls >= 0 && c != HK_CAUSE_OTHER) topk_add(w, cls, faults);
}

void hk_win_add_cs(struct hk_windows *ws, uint64_t ts, uint32_t cs, uint64_t faults)
{
	if (!faults) return;
	size_t i = win_index(ws, ts);
	topk_add_cs(&ws->w[i], cs, faults);
}

void hk_win_spread(struct hk_windows *ws, uint64_t t0, uint64_t t1, enum hk_cause c, uint64_t n)
{
	if (!n) return;
	size_t i1 = win_index(ws, t1); /* first: it may coarsen the array */
	size_t i0 = t0 < t1 ? win_index(ws, t0) : i1;
	uint64_t span = i1 - i0 + 1, each = n / span, extra = n % span;
	for (size_t i = i0; i <= i1; i++)
		ws->w[i].cause[c] += (uint32_t)(each + (i == i1 ? extra : 0));
}

void hk_win_marker(struct hk_windows *ws, uint64_t ts, int is_map)
{
	size_t i = win_index(ws, ts);
	struct hk_win *w = &ws->w[i];
	if (is_map) {
		if (w->ss_maps < UINT16_MAX) w->ss_maps++;
	} else if (w->ss_unmaps < UINT16_MAX) {
		w->ss_unmaps++;
	}
}

void hk_win_free(struct hk_windows *ws)
{
	free(ws->w);
	memset(ws, 0, sizeof *ws);
}

static void storm_add_window(struct hk_storm *s, const struct hk_win *w)
{
	for (int c = 0; c < HK_NUM_CAUSES; c++)
		s->cause[c] += w->cause[c];
	s->faults += hk_win_total(w);
	for (int k = 0; k < HK_WIN_TOPK; k++)
		if (w->top_faults[k] && w->top_cls[k] < HK_NUM_CLASSES)
			s->cls_faults[w->top_cls[k]] += w->top_faults[k];
}

/* Ends the storm s, the last of p->storms: dropped if it holds fewer
 * than storm-min-faults faults (a few dozen faults of a short script's
 * start-up are no storm, whatever their rate). */
static void storm_close(const struct hk_state *st, struct hk_proc *p, struct hk_storm *s)
{
	if (s->faults < st->params.storm_min_faults) {
		p->nstorms--;
		return;
	}
	s->dominant = HK_CAUSE_CARVE;
	for (int c = 1; c < HK_NUM_CAUSES; c++)
		if (s->cause[c] > s->cause[s->dominant]) s->dominant = (enum hk_cause)c;
	s->top_cls = -1;
	uint64_t best = 0;
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (s->cls_faults[k] > best) {
			best = s->cls_faults[k];
			s->top_cls = k;
		}
	/* top-k counts may overestimate: never above the allocator's faults */
	uint64_t alloc = s->cause[HK_CAUSE_CARVE] + s->cause[HK_CAUSE_REFAULT];
	for (int k = 0; k < HK_NUM_CLASSES; k++)
		if (s->cls_faults[k] > alloc) s->cls_faults[k] = alloc;
}

void hk_storms_finish(struct hk_state *st, struct hk_proc *p)
{
	const struct hk_windows *ws = &p->win;
	p->storm_window_ns = ws->width;
	uint64_t *nz = hk_xcalloc(ws->n ? ws->n : 1, sizeof *nz);
	size_t nnz = 0;
	for (size_t i = 0; i < ws->n; i++) {
		uint64_t t = hk_win_total(&ws->w[i]);
		if (t) nz[nnz++] = t;
	}
	if (!nnz) {
		free(nz);
		return;
	}
	qsort(nz, nnz, sizeof *nz, hk_cmp_u64);
	p->storm_median = nz[(nnz - 1) / 2];
	free(nz);

	/* Too short to have a baseline: whatever it did is not a spike. */
	if ((p->last_ts - p->first_ts) / ws->width < HK_STORM_MIN_WINDOWS) return;
	double limit = st->params.storm_threshold * (double)p->storm_median;
	size_t cap = 0, prev_nz = SIZE_MAX;
	struct hk_storm *cur = NULL;
	for (size_t i = 0; i < ws->n; i++) {
		uint64_t t = hk_win_total(&ws->w[i]);
		int hot = (double)t > limit && t >= HK_STORM_MIN_FAULTS;
		if (!hot) {
			if (cur) {
				storm_close(st, p, cur);
				cur = NULL;
			}
			if (t) prev_nz = i;
			continue;
		}
		if (!cur) {
			if (p->nstorms >= HK_STORMS_MAX) continue;
			hk_grow((void **)&p->storms, &cap, p->nstorms, sizeof *p->storms);
			cur = &p->storms[p->nstorms++];
			memset(cur, 0, sizeof *cur);
			cur->begin_ns = ws->base + i * ws->width;
			/* idle time before the storm: since the last window with any
			 * fault, or since the process's first event */
			size_t from = prev_nz == SIZE_MAX ? 0 : prev_nz + 1;
			cur->idle_before_ns = (i - from) * ws->width;
		}
		cur->end_ns = ws->base + (i + 1) * ws->width;
		storm_add_window(cur, &ws->w[i]);
		prev_nz = i;
	}
	if (cur) storm_close(st, p, cur);
}

size_t hk_timeline(const struct hk_proc *p, size_t max, struct hk_tl_bucket **out,
                   uint64_t *bucket_ns)
{
	const struct hk_windows *ws = &p->win;
	size_t per = ws->n > max ? (ws->n + max - 1) / max : 1;
	size_t nb = (ws->n + per - 1) / per;
	struct hk_tl_bucket *b = hk_xcalloc(nb ? nb : 1, sizeof *b);
	for (size_t i = 0; i < ws->n; i++) {
		struct hk_tl_bucket *x = &b[i / per];
		const struct hk_win *w = &ws->w[i];
		x->faults += hk_win_total(w);
		x->alloc += (uint64_t)w->cause[HK_CAUSE_CARVE] + w->cause[HK_CAUSE_REFAULT] +
		            w->cause[HK_CAUSE_LARGE];
		x->maps += w->ss_maps;
		x->unmaps += w->ss_unmaps;
	}
	for (size_t i = 0; i < nb; i++)
		b[i].t_ns = ws->base + i * per * ws->width;
	*out = b;
	*bucket_ns = per * ws->width;
	return nb;
}
