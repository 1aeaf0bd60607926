/* Explanations: findings the report states in plain words because no
 * HAKMEM_* setting would change them (docs/report-rules.md, "Remote
 * frees"). A refill that carves fresh slab space while blocks that threads
 * freed sit resident and unused on other slabs of its class faults in
 * pages it did not need: the refill event says how many such blocks there
 * were (remote_waiting), and how many remote frees it collected off its own
 * slab first (from_remote). */
#include "analysis.h"

#include <string.h>

void hk_remote_refill(struct hk_proc *p, const struct hk_event *e, uint64_t faults)
{
	/* A provider without the fields says nothing either way. */
	if (e->absent & (1u << REFILL_REMOTE_WAITING)) return;
	struct hk_remote *r = &p->remote;
	const uint64_t *f = e->f;
	r->known = 1;
	r->collected += f[REFILL_FROM_REMOTE];
	if (!f[REFILL_FROM_CARVE]) return;
	r->carving_refills++;
	uint64_t waiting = f[REFILL_REMOTE_WAITING];
	if (!waiting) return;
	r->waited_refills++;
	r->waited_carved += f[REFILL_FROM_CARVE];
	r->waited_faults += faults;
	if (waiting > r->waiting_max) r->waiting_max = waiting;
	hk_hist_add(&r->waiting, waiting);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static struct hk_explanation *explanation(struct hk_proc *p, const char *rule)
{
	if (p->nexplanations >= HK_EXPLANATIONS_MAX) return NULL;
	struct hk_explanation *x = &p->explanations[p->nexplanations++];
	memset(x, 0, sizeof *x);
	x->rule = rule;
	return x;
}

/* The faults of the carving done while blocks waited, never more than the
 * carving faults in all (the fallback scales those down to the total). */
static uint64_t waited_faults(const struct hk_proc *p)
{
	uint64_t carve = p->alloc_cause[HK_CAUSE_CARVE] + p->alloc_cause[HK_CAUSE_REFAULT];
	return p->remote.waited_faults < carve ? p->remote.waited_faults : carve;
}

static void remote_wait(struct hk_proc *p, uint64_t n)
{
	const struct hk_remote *r = &p->remote;
	struct hk_explanation *x = explanation(p, "remote_wait");
	if (!x) return;
	size_t off = (size_t)snprintf(
	    x->text, sizeof x->text,
	    "%llu of the %llu page faults (%.0f%%) came from carving fresh slab space while freed "
	    "blocks waited to come home: %llu refills carved %llu new blocks while up to %llu "
	    "blocks of the same class (median %llu) that threads had freed sat resident and unused "
	    "on partial slabs. Taking those first would have touched no new page.",
	    (unsigned long long)n, (unsigned long long)p->faults_total, pct(n, p->faults_total),
	    (unsigned long long)r->waited_refills, (unsigned long long)r->waited_carved,
	    (unsigned long long)r->waiting_max,
	    (unsigned long long)hk_hist_quantile(&r->waiting, 0.5));
	if (off >= sizeof x->text) return;
	if (p->threads.n < 2)
		snprintf(
		    x->text + off, sizeof x->text - off,
		    " With one thread, they were its own blocks, flushed from its cache to slabs "
		    "it had let go. No HAKMEM_* setting changes the order in which a refill "
		    "takes slabs.");
	else if (!r->collected)
		snprintf(
		    x->text + off, sizeof x->text - off,
		    " No refill collected a remote free off its own slab: the waiting blocks were "
		    "freed into slabs their owners had let go or left at exit. No HAKMEM_* "
		    "setting changes the order in which a refill takes slabs. A hakmem older "
		    "than the remote lists (docs/architecture.md, \"Remote frees\") carves "
		    "before it takes any slab with freed blocks: upgrading fixes that.");
	else
		snprintf(
		    x->text + off, sizeof x->text - off,
		    " Refills did collect %llu remote-freed blocks off their own slabs first; "
		    "the waiting ones were on slabs no thread owned, which a refill takes only "
		    "when its own slab is spent. No HAKMEM_* setting changes that order.",
		    (unsigned long long)r->collected);
}

static void remote_home(struct hk_proc *p, uint64_t n)
{
	const struct hk_remote *r = &p->remote;
	struct hk_explanation *x = explanation(p, "remote_home");
	if (!x) return;
	snprintf(x->text, sizeof x->text,
	         "Remote frees came home before anything was carved: refills collected %llu blocks "
	         "that other threads had freed into their slabs and used them before fresh space. "
	         "Carving while freed blocks waited on other slabs caused %llu of the %llu page "
	         "faults (%.0f%%, %llu refills), under the %.0f%% that would make it a cause.",
	         (unsigned long long)r->collected, (unsigned long long)n,
	         (unsigned long long)p->faults_total, pct(n, p->faults_total),
	         (unsigned long long)r->waited_refills, 100.0 * HK_REMOTE_WAIT_MIN_SHARE);
}

void hk_explain(struct hk_proc *p)
{
	if (!p->remote.known) return;
	uint64_t n = p->remote.waited_faults = waited_faults(p);
	if (!p->faults_total) return;
	if (n >= HK_REMOTE_WAIT_MIN_FAULTS &&
	    (double)n >= HK_REMOTE_WAIT_MIN_SHARE * (double)p->faults_total)
		remote_wait(p, n);
	else if (p->remote.collected)
		remote_home(p, n);
}
