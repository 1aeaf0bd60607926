/* Page-fault attribution (docs/report-rules.md).
 *
 * With the perf context, every hakmem event carries its thread's running
 * fault count, so the faults a thread took between two of its events are
 * known exactly. The allocator's own counts say how many of them it
 * caused: a refill's new_pages were touched by its carving just before
 * the event (cause superslab_carve, or refault_after_purge when refault
 * is 1); a SuperSlab map touches its header page. Each claim is capped at
 * the delta it falls in -- a thread cannot have caused more faults than
 * it took -- and the rest of the delta is "other". A large span's pages
 * fault when the program first touches them, after large_mmap, so they
 * are claimed from the thread's following deltas until used up, newest
 * span first, each charged to its own call site. Hence allocator + other
 * == total, exactly, per thread and per process.
 *
 * hakmem trace puts only the events that can claim (and hakmem:tick, a
 * thread's count at most every 5 ms) on the channel with the counter; the
 * others carry none, close no delta and claim nothing, and their faults
 * fall in the thread's next counted delta.
 *
 * Without it, the allocator's counts are the allocator share and the
 * process_stats minflt samples give the total. */
#include "analysis.h"
#include "callsite.h"

#include <string.h>

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

const char *hk_class_label(const struct hk_proc *p, int cls, char *buf, size_t len)
{
	if (cls >= 0 && cls < HK_NUM_CLASSES && p->block_size[cls])
		snprintf(buf, len, "%u", p->block_size[cls]);
	else
		snprintf(buf, len, "class %d", cls);
	return buf;
}

/* Claims `want` of thread t's pending large pages (want <= its
 * pending_large), newest span first: a program most often touches a block
 * right after it got it. Each span's pages go to its call site. */
static void claim_large(struct hk_proc *p, struct hk_thread *t, uint64_t ts, uint64_t want)
{
	t->pending_large -= want;
	while (want && t->npend) {
		struct hk_pending_span *s = &t->pend[t->npend - 1];
		uint64_t take = min_u64(s->pages, want);
		hk_cs_charge(p, ts, s->cs, HK_CAUSE_LARGE, take, -1);
		s->pages -= take;
		want -= take;
		if (!s->pages) t->npend--;
	}
}

static void pend_span(struct hk_thread *t, uint64_t addr, uint64_t pages, uint64_t cs)
{
	if (!pages) return;
	if (t->npend == HK_PENDING_SPANS) {
		/* full: the oldest span's pages go with the next oldest */
		t->pend[1].pages += t->pend[0].pages;
		memmove(t->pend, t->pend + 1, (HK_PENDING_SPANS - 1) * sizeof *t->pend);
		t->npend--;
	}
	t->pend[t->npend++] = (struct hk_pending_span){.addr = addr, .pages = pages, .cs = cs};
	t->pending_large += pages;
}

/* A span unmapped before all its pages were touched: they never fault.
 * Forgotten on whichever thread mapped it (frees cross threads). */
static void forget_span(struct hk_proc *p, uint64_t addr)
{
	for (size_t i = 0; i < p->threads.cap; i++) {
		if (!p->threads.used[i]) continue;
		struct hk_thread *u = p->threads.vals[i];
		for (unsigned k = 0; k < u->npend; k++) {
			if (u->pend[k].addr != addr) continue;
			u->pending_large -= u->pend[k].pages;
			memmove(&u->pend[k], &u->pend[k + 1], (u->npend - k - 1) * sizeof *u->pend);
			u->npend--;
			return;
		}
	}
}

/* Returns the faults charged to the event's own claim. */
static uint64_t perf_event(struct hk_proc *p, struct hk_thread *t, const struct hk_event *e,
                           enum hk_cause c, uint64_t claim, int cls, uint64_t ss)
{
	if (!t->perf_valid || e->perf < t->perf_last) {
		/* First sample of this thread, or the count went backwards (a
		 * recycled tid): a new measured segment starts here. Faults
		 * before it were never counted, nor are the claims. */
		if (t->perf_valid) t->perf_done += t->perf_last - t->perf_first;
		t->perf_valid = 1;
		t->perf_first = t->perf_last = e->perf;
		t->last_ts = e->ts;
		p->unmeasured_claims += claim;
		return 0;
	}
	uint64_t delta = e->perf - t->perf_last;
	uint64_t mine = min_u64(claim, delta);
	uint64_t rest = delta - mine;
	uint64_t large = min_u64(t->pending_large, rest);
	rest -= large;

	p->alloc_cause[c] += mine;
	p->alloc_cause[HK_CAUSE_LARGE] += large;
	p->alloc_cause[HK_CAUSE_OTHER] += rest;
	if (cls >= 0) p->alloc_class[cls] += mine;
	if (c != HK_CAUSE_LARGE) hk_lc_charge(p, ss, c, mine);

	hk_win_add(&p->win, e->ts, c, mine, cls);
	hk_win_add(&p->win, e->ts, HK_CAUSE_LARGE, large, -1);
	hk_cs_charge(p, e->ts, hk_cs_of(e), c, mine, cls);
	claim_large(p, t, e->ts, large);
	/* Faults of unknown origin happened somewhere since the thread's
	 * previous event: spread them over that interval. */
	hk_win_spread(&p->win, t->last_ts, e->ts, HK_CAUSE_OTHER, rest);
	t->perf_last = e->perf;
	t->last_ts = e->ts;
	return mine;
}

/* An event without the count in a process whose other events have it
 * (two channels). A claim here comes from a session that put a claiming
 * event on the channel without the counter: its faults are in the
 * thread's next counted delta, as other. */
static void uncounted_event(struct hk_proc *p, uint64_t claim)
{
	p->unmeasured_claims += claim;
	p->uncounted_claims += claim;
}

static void fallback_event(struct hk_proc *p, const struct hk_event *e, enum hk_cause c,
                           uint64_t claim, int cls)
{
	p->alloc_cause[c] += claim;
	if (cls >= 0) p->alloc_class[cls] += claim;
	p->fb_claims += claim;
	hk_win_add(&p->win, e->ts, c, claim, cls);
	hk_cs_charge(p, e->ts, hk_cs_of(e), c, claim, cls);
	if (e->type != HK_EV_PROCESS_STATS) return;
	/* Between two samples, minflt minus the allocator's own count is
	 * what the rest of the program took. */
	uint64_t minflt = e->f[STATS_MINFLT];
	if (p->fb_valid && minflt >= p->fb_minflt) {
		uint64_t delta = minflt - p->fb_minflt;
		uint64_t claims = p->fb_claims - p->fb_claims_at_stats;
		uint64_t rest = delta - min_u64(delta, claims);
		hk_win_spread(&p->win, p->fb_ts, e->ts, HK_CAUSE_OTHER, rest);
	}
	p->fb_valid = 1;
	p->fb_minflt = minflt;
	p->fb_ts = e->ts;
	p->fb_claims_at_stats = p->fb_claims;
}

void hk_attr_event(struct hk_state *st, struct hk_proc *p, struct hk_thread *t,
                   const struct hk_event *e)
{
	(void)st;
	const uint64_t *f = e->f;
	enum hk_cause c = HK_CAUSE_CARVE;
	uint64_t claim = 0, ss = HK_NO_SS;
	int cls = -1, pend = 0;

	switch (e->type) {
	case HK_EV_REFILL:
		if (f[REFILL_CLASS] < HK_NUM_CLASSES) {
			cls = (int)f[REFILL_CLASS];
			if (f[REFILL_BLOCK_SIZE])
				p->block_size[cls] = (uint32_t)f[REFILL_BLOCK_SIZE];
			if (f[REFILL_POOL] < HK_NUM_POOLS)
				p->class_pool[cls] = (uint8_t)(1 + f[REFILL_POOL]);
		}
		ss = hk_lc_refill_ss(p, t, e);
		claim = f[REFILL_NEW_PAGES];
		c = f[REFILL_REFAULT] ? HK_CAUSE_REFAULT : HK_CAUSE_CARVE;
		break;
	case HK_EV_SS_MMAP:
		claim = 1; /* the header page, written by the map itself */
		ss = f[MMAP_SS];
		break;
	case HK_EV_LARGE_MMAP:
		if (e->has_perf || p->has_perf) {
			/* claimed from the thread's next counted deltas, after
			 * this event's own (it holds the touches of the spans
			 * before) */
			pend = 1;
		} else {
			c = HK_CAUSE_LARGE;
			claim = f[LMAP_NEW_PAGES];
		}
		p->claim_cause[HK_CAUSE_LARGE] += f[LMAP_NEW_PAGES];
		break;
	default:
		break;
	}
	if (c != HK_CAUSE_LARGE) {
		p->claim_cause[c] += claim;
		if (cls >= 0) p->claim_class[cls] += claim;
	}
	uint64_t charged = 0;
	if (e->has_perf) {
		charged = perf_event(p, t, e, c, claim, cls, ss);
	} else if (p->has_perf) {
		uncounted_event(p, claim);
	} else {
		fallback_event(p, e, c, claim, cls);
		charged = claim;
	}
	if (e->type == HK_EV_REFILL) hk_remote_refill(p, e, charged);
	/* After the delta was claimed (it may hold the last touches of the
	 * span): what is still pending of an unmapped span never faults. */
	if (e->type == HK_EV_LARGE_MUNMAP) forget_span(p, f[LUNMAP_ADDR]);
	if (pend) pend_span(t, f[LMAP_ADDR], f[LMAP_NEW_PAGES], hk_cs_of(e));
}

void hk_attr_finish(struct hk_state *st, struct hk_proc *p)
{
	(void)st;
	uint64_t alloc = p->alloc_cause[HK_CAUSE_CARVE] + p->alloc_cause[HK_CAUSE_REFAULT] +
	                 p->alloc_cause[HK_CAUSE_LARGE];
	if (p->has_perf) {
		p->source = "perf-context";
		uint64_t total = 0;
		for (size_t i = 0; i < p->threads.cap; i++) {
			if (!p->threads.used[i]) continue;
			const struct hk_thread *t = p->threads.vals[i];
			if (t->perf_valid) total += t->perf_done + t->perf_last - t->perf_first;
		}
		p->faults_total = total;
		p->faults_alloc = alloc;
		p->faults_other = p->alloc_cause[HK_CAUSE_OTHER];
		if (p->uncounted_claims)
			hk_proc_note(p,
			             "%llu allocator page touches were on events without the "
			             "perf_thread_page_fault context: their faults count as other",
			             (unsigned long long)p->uncounted_claims);
		return;
	}
	p->source = "allocator-counts";
	uint64_t span =
	    p->nstats >= 2 && p->stats_last[STATS_MINFLT] >= p->stats_first[STATS_MINFLT]
	        ? p->stats_last[STATS_MINFLT] - p->stats_first[STATS_MINFLT]
	        : 0;
	if (p->nstats < 2) {
		p->faults_total = alloc;
		hk_proc_note(
		    p,
		    "no perf_thread_page_fault context and fewer than two process_stats samples: "
		    "the total is the allocator's own count, other faults are unknown");
	} else {
		p->faults_total = span;
		hk_proc_note(p, "no perf_thread_page_fault context: total = process_stats minflt "
		                "(last - first), "
		                "allocator share = the allocator's own page counts (large spans "
		                "count every page mapped)");
	}
	if (alloc > p->faults_total) {
		/* The allocator's counts are page touches, an upper bound: scale
		 * them down to the measured total, keeping the proportions. */
		uint64_t done = 0;
		for (int k = 0; k < HK_CAUSE_OTHER; k++) {
			p->alloc_cause[k] = alloc ? p->alloc_cause[k] * p->faults_total / alloc : 0;
			done += p->alloc_cause[k];
		}
		p->alloc_cause[HK_CAUSE_CARVE] += p->faults_total - done;
		for (int k = 0; k < HK_NUM_CLASSES; k++)
			p->alloc_class[k] = p->alloc_class[k] * p->faults_total / alloc;
		alloc = p->faults_total;
	}
	p->faults_alloc = alloc;
	p->faults_other = p->faults_total - alloc;
	p->alloc_cause[HK_CAUSE_OTHER] = p->faults_other;
}
