/* SuperSlab life cycle: maps, reuses, unmaps, lifetimes and churn; which
 * SuperSlab a refill carved from; purge -> reuse gaps for the purge-delay
 * rule; large-span churn. One record per live SuperSlab, plus at most
 * HK_LIFECYCLE_MAX listed incarnations and one lifetime per unmap. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#define HK_UNMAPPED_MAX 4096 /* unclaimed unmaps remembered per pool */

static void lc_open(struct hk_proc *p, struct hk_ss *s)
{
	s->lc_index = -1;
	if (p->nlifecycle >= HK_LIFECYCLE_MAX) {
		p->lifecycle_dropped++;
		return;
	}
	hk_grow((void **)&p->lifecycle, &p->caplifecycle, p->nlifecycle, sizeof *p->lifecycle);
	p->lifecycle[p->nlifecycle] =
	    (struct hk_lifecycle){.ss = s->addr, .map_ns = s->map_ns, .pool = s->pool};
	s->lc_index = (int)p->nlifecycle++;
}

static uint64_t ss_faults(const struct hk_ss *s)
{
	return s->faults[HK_CAUSE_CARVE] + s->faults[HK_CAUSE_REFAULT] + s->faults[HK_CAUSE_LARGE];
}

/* Keeps the HK_SS_TOP SuperSlab incarnations with the most faults. */
static void top_consider(struct hk_proc *p, const struct hk_ss *s)
{
	uint64_t f = ss_faults(s);
	if (!f) return;
	int pos = HK_SS_TOP;
	while (pos > 0 && p->ss_top[pos - 1].faults < f)
		pos--;
	if (pos >= HK_SS_TOP) return;
	memmove(&p->ss_top[pos + 1], &p->ss_top[pos], (HK_SS_TOP - 1 - pos) * sizeof p->ss_top[0]);
	p->ss_top[pos] = (struct hk_ss_top){.ss = s->addr,
	                                    .map_ns = s->map_ns,
	                                    .faults = f,
	                                    .carve = s->faults[HK_CAUSE_CARVE],
	                                    .refault = s->faults[HK_CAUSE_REFAULT],
	                                    .pool = s->pool};
}

static void lc_close(struct hk_proc *p, struct hk_ss *s, uint64_t unmap_ns)
{
	if (s->lc_index >= 0) {
		struct hk_lifecycle *l = &p->lifecycle[s->lc_index];
		l->unmap_ns = unmap_ns;
		l->reuses = s->reuses;
		l->faults = ss_faults(s);
	}
	top_consider(p, s);
}

static struct hk_ss *ss_get(struct hk_proc *p, uint64_t addr, uint32_t pool, int create)
{
	struct hk_ss *s = hk_map_get(&p->ss, addr);
	if (s || !create || !addr) return s;
	/* Mapped before tracing started (or its map event was lost). */
	s = hk_xcalloc(1, sizeof *s);
	s->addr = addr;
	s->pool = pool;
	s->remap_gap_ns = UINT64_MAX;
	hk_map_put(&p->ss, addr, s);
	lc_open(p, s);
	return s;
}

static void fresh_remove(struct hk_pool_state *ps, uint64_t addr)
{
	for (size_t i = ps->nfresh; i-- > 0;)
		if (ps->fresh[i] == addr) {
			memmove(&ps->fresh[i], &ps->fresh[i + 1],
			        (ps->nfresh - i - 1) * sizeof ps->fresh[0]);
			ps->nfresh--;
			return;
		}
}

static void fresh_push(struct hk_pool_state *ps, uint64_t addr)
{
	fresh_remove(ps, addr);
	hk_grow((void **)&ps->fresh, &ps->capfresh, ps->nfresh, sizeof ps->fresh[0]);
	ps->fresh[ps->nfresh++] = addr;
}

static void ss_retire(struct hk_proc *p, struct hk_ss *s, uint64_t ts)
{
	if (s->map_ns && ts >= s->map_ns) {
		hk_grow((void **)&p->lifetimes, &p->caplifetimes, p->nlifetimes,
		        sizeof *p->lifetimes);
		p->lifetimes[p->nlifetimes++] = ts - s->map_ns;
	}
	lc_close(p, s, ts);
	fresh_remove(&p->pool[s->pool], s->addr);
	hk_map_remove(&p->ss, s->addr);
	free(s);
}

/* Drops unmaps that fell out of the churn window. */
static void pend_expire(struct hk_unmap_rec *pend, size_t *n, uint64_t ts, uint64_t window)
{
	size_t k = 0;
	while (k < *n && pend[k].ts + window < ts)
		k++;
	if (k) {
		memmove(pend, pend + k, (*n - k) * sizeof *pend);
		*n -= k;
	}
}

static void on_mmap(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                    const struct hk_event *e)
{
	uint64_t addr = e->f[MMAP_SS];
	uint32_t pool = hk_event_pool(e);
	struct hk_pool_state *ps = &p->pool[pool];
	struct hk_ss *old = hk_map_get(&p->ss, addr);
	if (old) /* its unmap was lost: close the old incarnation here */
		ss_retire(p, old, e->ts);
	p->ss_mapped++;
	p->pools_seen |= 1u << pool;
	p->mmap_ns_total += e->f[MMAP_NS];
	if (++p->ss_live > p->ss_peak_live) p->ss_peak_live = p->ss_live;
	struct hk_ss *s = hk_xcalloc(1, sizeof *s);
	s->addr = addr;
	s->pool = pool;
	s->map_ns = e->ts;
	s->remap_gap_ns = UINT64_MAX;
	if (ps->nunmapped) {
		uint64_t empty_ns = ps->unmapped_empty_ns[--ps->nunmapped];
		s->remap_gap_ns = e->ts >= empty_ns ? e->ts - empty_ns : 0;
	}
	s->slots_left = hk_slabs_per_ss(pool, e->f[MMAP_SIZE]);
	hk_map_put(&p->ss, addr, s);
	lc_open(p, s);
	/* Churn: a SuperSlab given back to the kernel shortly before this one
	 * was needed. Pending unmaps still in the window are what a bigger
	 * warm cache would have kept. */
	pend_expire(ps->pend, &ps->npend, e->ts, st->params.churn_window_ns);
	if (ps->npend) {
		if (ps->npend > ps->churn_peak) ps->churn_peak = ps->npend;
		memmove(ps->pend, ps->pend + 1, (ps->npend - 1) * sizeof *ps->pend);
		ps->npend--;
		ps->churn++;
		p->ss_churn++;
		s->churned = 1;
	}
	fresh_push(ps, addr);
	t->fresh_ss[pool] = addr;
	hk_win_marker(&p->win, e->ts, 1);
}

static void on_munmap(struct hk_state *st, struct hk_proc *p, const struct hk_event *e)
{
	uint64_t addr = e->f[MUNMAP_SS];
	struct hk_ss *s = hk_map_get(&p->ss, addr);
	uint32_t pool = hk_event_pool(e);
	struct hk_pool_state *ps = &p->pool[pool];
	p->ss_unmapped++;
	if (p->ss_live) p->ss_live--;
	ps->last_unmap_ns = e->ts;
	pend_expire(ps->pend, &ps->npend, e->ts, st->params.churn_window_ns);
	hk_grow((void **)&ps->pend, &ps->cappend, ps->npend, sizeof *ps->pend);
	ps->pend[ps->npend++] = (struct hk_unmap_rec){.ts = e->ts, .size = e->f[MUNMAP_SIZE]};
	if (!s) s = ss_get(p, addr, pool, 1);
	/* It went warm at its last slab_empty (unknown: at the unmap, the
	 * shortest gap); the warm cache purges or unmaps after the delay. */
	if (ps->nunmapped == HK_UNMAPPED_MAX) {
		memmove(ps->unmapped_empty_ns, ps->unmapped_empty_ns + 1,
		        (ps->nunmapped - 1) * sizeof *ps->unmapped_empty_ns);
		ps->nunmapped--;
	}
	hk_grow((void **)&ps->unmapped_empty_ns, &ps->capunmapped, ps->nunmapped,
	        sizeof *ps->unmapped_empty_ns);
	ps->unmapped_empty_ns[ps->nunmapped++] =
	    s->last_empty_ns && s->last_empty_ns <= e->ts ? s->last_empty_ns : e->ts;
	ss_retire(p, s, e->ts);
	hk_win_marker(&p->win, e->ts, 0);
}

static void on_ss_reuse(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                        const struct hk_event *e)
{
	uint32_t pool = hk_event_pool(e);
	struct hk_ss *s = ss_get(p, e->f[SSREUSE_SS], pool, 1);
	struct hk_pool_state *ps = &p->pool[pool];
	if (!s) return;
	p->ss_reused++;
	p->pools_seen |= 1u << pool;
	s->reuses++;
	s->slots_left = hk_slabs_per_ss(pool, 0);
	if (s->purge_all_ns && s->last_empty_ns && e->ts >= s->last_empty_ns) {
		hk_hist_add(&p->reuse_gap, e->ts - s->last_empty_ns);
		p->refault_slabs++;
	}
	s->purge_all_ns = 0;
	memset(s->slab_purged, 0, sizeof s->slab_purged);
	fresh_push(ps, s->addr);
	t->fresh_ss[pool] = s->addr;
	/* How many SuperSlabs the warm cache handed out within one churn
	 * window: a lower bound of the cache's configured size. */
	size_t k = 0;
	while (k < ps->nreuse && ps->reuse_ts[k] + st->params.churn_window_ns < e->ts)
		k++;
	memmove(ps->reuse_ts, ps->reuse_ts + k, (ps->nreuse - k) * sizeof *ps->reuse_ts);
	ps->nreuse -= k;
	hk_grow((void **)&ps->reuse_ts, &ps->capreuse, ps->nreuse, sizeof *ps->reuse_ts);
	ps->reuse_ts[ps->nreuse++] = e->ts;
	if (ps->nreuse > ps->reuse_peak) ps->reuse_peak = ps->nreuse;
}

static void on_slab_purge(struct hk_proc *p, const struct hk_event *e)
{
	uint32_t slab = (uint32_t)e->f[PURGE_SLAB];
	struct hk_ss *s = ss_get(p, e->f[PURGE_SS], hk_event_pool(e), 1);
	p->purges++;
	p->pages_purged += e->f[PURGE_PAGES];
	if (!s) return;
	uint64_t since = 0;
	if (slab == HK_SLAB_WHOLE) {
		s->purge_all_ns = e->ts;
		since = s->last_empty_ns;
	} else if (slab < HK_SLABS_MAX) {
		s->slab_purged[slab] = 1;
		since = s->slab_empty_ns[slab];
	}
	/* The shortest empty -> purge interval approximates the configured
	 * HAKMEM_PURGE_DELAY_MS (purges run lazily, never early). */
	if (since && e->ts >= since && e->ts - since < p->purge_delay_min_ns)
		p->purge_delay_min_ns = e->ts - since;
}

static void on_large(struct hk_state *st, struct hk_proc *p, const struct hk_event *e)
{
	pend_expire(p->large_pend, &p->nlarge_pend, e->ts, st->params.churn_window_ns);
	if (e->type == HK_EV_LARGE_MUNMAP) {
		p->large_unmapped++;
		hk_grow((void **)&p->large_pend, &p->caplarge_pend, p->nlarge_pend,
		        sizeof *p->large_pend);
		p->large_pend[p->nlarge_pend++] =
		    (struct hk_unmap_rec){.ts = e->ts, .size = e->f[LUNMAP_SIZE]};
		return;
	}
	p->large_mapped++;
	p->large_bytes += e->f[LMAP_SIZE];
	if (p->nlarge_pend) {
		uint64_t bytes = 0;
		for (size_t i = 0; i < p->nlarge_pend; i++)
			bytes += p->large_pend[i].size;
		if (bytes > p->large_churn_peak_bytes) p->large_churn_peak_bytes = bytes;
		hk_hist_add(&p->large_gap, e->ts - p->large_pend[0].ts);
		/* A span given back comes back in pieces: the page heap merges
		 * what it gives back, and each map splits what it needs off it.
		 * So the map's fresh pages are matched against the bytes of the
		 * oldest pending unmaps (FIFO), not against one unmap each: one
		 * each claimed a quarter of what a 4 MiB cache saved on rounds of
		 * eight 1 MiB blocks (analysis.large_merged). */
		uint64_t want = e->f[LMAP_NEW_PAGES] * HK_PAGE, took = 0;
		while (took < want && p->nlarge_pend) {
			uint64_t k = want - took < p->large_pend[0].size ? want - took
			                                                 : p->large_pend[0].size;
			took += k;
			p->large_pend[0].size -= k;
			if (!p->large_pend[0].size) {
				memmove(p->large_pend, p->large_pend + 1,
				        (p->nlarge_pend - 1) * sizeof *p->large_pend);
				p->nlarge_pend--;
			}
		}
		p->large_churn++;
		p->large_churn_pages += took / HK_PAGE;
	}
}

uint64_t hk_lc_refill_ss(struct hk_proc *p, struct hk_thread *t, const struct hk_event *e)
{
	uint64_t cls = e->f[REFILL_CLASS];
	if (cls >= HK_NUM_CLASSES) return HK_NO_SS;
	if (!e->f[REFILL_NEW_SLAB]) {
		t->reuse_ss[cls] = HK_NO_SS;
		return t->cur_ss[cls];
	}
	/* A new slab came from (in the pool's order) a partial slab, an empty
	 * slab (slab_reuse names it), or a never-used slot of the SuperSlab
	 * the pool mapped or reused last (no event: modelled by a stack of
	 * SuperSlabs with free slots). A partial slab is not named anywhere:
	 * it has freelist blocks, and its SuperSlab stays unknown. */
	uint64_t ss = HK_NO_SS;
	uint32_t pool = hk_event_pool(e);
	if (t->reuse_ss[cls]) {
		ss = t->reuse_ss[cls];
	} else if (!e->f[REFILL_FROM_FREELIST]) {
		struct hk_pool_state *ps = &p->pool[pool];
		while (ps->nfresh) {
			struct hk_ss *s = hk_map_get(&p->ss, ps->fresh[ps->nfresh - 1]);
			if (s && s->slots_left) {
				ss = s->addr;
				if (!--s->slots_left) ps->nfresh--;
				break;
			}
			ps->nfresh--;
		}
		if (!ss && t->fresh_ss[pool]) ss = t->fresh_ss[pool];
	}
	t->reuse_ss[cls] = HK_NO_SS;
	t->fresh_ss[pool] = HK_NO_SS;
	return t->cur_ss[cls] = ss;
}

void hk_lc_charge(struct hk_proc *p, uint64_t ss, enum hk_cause c, uint64_t faults)
{
	if (!faults) return;
	struct hk_ss *s = ss ? hk_map_get(&p->ss, ss) : NULL;
	if (!s) {
		p->ss_unknown_faults += faults;
		return;
	}
	s->faults[c] += faults;
	if (s->churned && c == HK_CAUSE_CARVE) p->churn_remap_faults += faults;
	if (s->remap_gap_ns != UINT64_MAX && c == HK_CAUSE_CARVE)
		hk_hist_add_n(&p->remap_gap_faults, s->remap_gap_ns, (uint32_t)faults);
}

void hk_lc_event(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                 const struct hk_event *e)
{
	const uint64_t *f = e->f;
	struct hk_ss *s;
	switch (e->type) {
	case HK_EV_SS_MMAP:
		on_mmap(st, p, t, e);
		break;
	case HK_EV_SS_MUNMAP:
		on_munmap(st, p, e);
		break;
	case HK_EV_SS_REUSE:
		on_ss_reuse(st, p, t, e);
		break;
	case HK_EV_SLAB_EMPTY:
		s = ss_get(p, f[EMPTY_SS], hk_event_pool(e), 1);
		if (s && f[EMPTY_SLAB] < HK_SLABS_MAX) {
			s->slab_empty_ns[f[EMPTY_SLAB]] = e->ts;
			s->last_empty_ns = e->ts;
		}
		break;
	case HK_EV_SLAB_REUSE:
		s = ss_get(p, f[SREUSE_SS], hk_event_pool(e), 1);
		if (f[SREUSE_NEW_CLASS] < HK_NUM_CLASSES)
			t->reuse_ss[f[SREUSE_NEW_CLASS]] = f[SREUSE_SS];
		if (s && f[SREUSE_SLAB] < HK_SLABS_MAX && s->slab_purged[f[SREUSE_SLAB]]) {
			uint64_t since = s->slab_empty_ns[f[SREUSE_SLAB]];
			if (since && e->ts >= since) hk_hist_add(&p->reuse_gap, e->ts - since);
			s->slab_purged[f[SREUSE_SLAB]] = 0;
			p->refault_slabs++;
		}
		break;
	case HK_EV_SLAB_PURGE:
		on_slab_purge(p, e);
		break;
	case HK_EV_LARGE_MMAP:
	case HK_EV_LARGE_MUNMAP:
		on_large(st, p, e);
		break;
	default:
		break;
	}
}

void hk_lc_finish(struct hk_state *st, struct hk_proc *p)
{
	(void)st;
	for (size_t i = 0; i < p->ss.cap; i++)
		if (p->ss.used[i]) lc_close(p, p->ss.vals[i], 0);
	qsort(p->lifetimes, p->nlifetimes, sizeof *p->lifetimes, hk_cmp_u64);
}

void hk_lc_free(struct hk_proc *p)
{
	for (size_t i = 0; i < p->ss.cap; i++)
		if (p->ss.used[i]) free(p->ss.vals[i]);
	hk_map_free(&p->ss);
	for (int k = 0; k <= HK_POOL_UNKNOWN; k++) {
		free(p->pool[k].fresh);
		free(p->pool[k].pend);
		free(p->pool[k].reuse_ts);
		free(p->pool[k].unmapped_empty_ns);
	}
	free(p->lifecycle);
	free(p->lifetimes);
	free(p->large_pend);
}
