/* Unit tests of faults by call site (trace/analysis/callsite*.c) on
 * synthetic events: claims are charged to the stack each event names,
 * stacks with the same name are grouped, most faults first; a stack the
 * trace never defined, or one in no known binary, is listed but never
 * named in the advice. analysis.callsite_* hold the same against real
 * traces, with symbolization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "model_state.h"
#include "callsite.h"

#define PID 77

/* as if the trace had call-site events (their decoding needs babeltrace2) */
static struct hk_state *new_cs_state(void)
{
	struct hk_state *st = new_state();
	st->cs = hk_xcalloc(1, sizeof *st->cs);
	return st;
}

static void refill(struct hk_state *st, uint64_t ts_ms, uint64_t perf, uint64_t pages,
                   uint64_t callsite)
{
	struct hk_event e = {.type = HK_EV_REFILL, .ts = 1000000000ull + ts_ms * 1000000ull};
	e.vpid = e.vtid = PID;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.perf = perf;
	e.procname = "prog";
	e.f[REFILL_NEW_PAGES] = pages;
	e.f[REFILL_GOT] = 16;
	e.f[REFILL_BLOCK_SIZE] = 271;
	e.f[REFILL_CLASS] = 10;
	e.f[REFILL_CALLSITE] = callsite;
	hk_dispatch(st, &trace, &e);
}

/* What a hakmem:callsite event records: the stack's frames. */
static void define(struct hk_proc *p, uint64_t id, uint64_t frame)
{
	uintptr_t i = (uintptr_t)hk_map_get(&p->cs->by_id, id);
	assert_true(i > 0);
	struct hk_stack *s = &p->cs->stacks[i - 1];
	s->ts = 1;
	s->n = 1;
	s->frames[0] = frame;
}

static void test_charged_and_grouped(void **state)
{
	(void)state;
	struct hk_state *st = new_cs_state();
	refill(st, 0, 100, 3, 0xa); /* a thread's first event: the baseline */
	refill(st, 1, 110, 10, 0xa);
	refill(st, 2, 115, 5, 0xb);
	refill(st, 3, 125, 10, 0xa);
	refill(st, 4, 128, 3, 0xc); /* never defined */
	refill(st, 5, 130, 2, 0);   /* no call site (the tracer's own) */
	struct hk_proc *p = st->proc_list[0];
	define(p, 0xa, 0x1000);
	define(p, 0xb, 0x2000);
	hk_state_finish(st);
	const struct hk_cs_proc *c = p->cs;
	assert_int_equal(c->faults, p->faults_alloc);
	assert_int_equal(c->faults, 30);
	assert_int_equal(c->ngroups, 4);
	assert_string_equal(c->groups[0].name, "0x1000");
	assert_int_equal(c->groups[0].faults, 20);
	assert_int_equal(c->groups[0].cls[10], 20);
	assert_string_equal(c->groups[1].name, "0x2000");
	assert_int_equal(c->groups[1].faults, 5);
	assert_string_equal(c->groups[2].name, "(call site not in the trace)");
	assert_int_equal(c->groups[2].faults, 3);
	assert_int_equal(c->unnamed, 5);
	free_state(st);
}

static void test_same_frames_one_site(void **state)
{
	(void)state;
	struct hk_state *st = new_cs_state();
	refill(st, 0, 100, 1, 0xa);
	refill(st, 1, 104, 4, 0xa);
	refill(st, 2, 110, 6, 0xb);
	struct hk_proc *p = st->proc_list[0];
	/* two stacks (different callers) with the same innermost frame */
	define(p, 0xa, 0x1000);
	define(p, 0xb, 0x1000);
	hk_state_finish(st);
	assert_int_equal(p->cs->ngroups, 1);
	assert_int_equal(p->cs->groups[0].faults, 10);
	assert_int_equal(p->cs->groups[0].nstacks, 2);
	free_state(st);
}

/* A 3 s run with a burst of carving in one window: the storm names its
 * top call site; the advice does not name one it cannot place in a
 * binary (no state dump here). */
static void test_storm_sites(void **state)
{
	(void)state;
	struct hk_state *st = new_cs_state();
	uint64_t perf = 0;
	for (int ms = 0; ms <= 3000; ms += 10)
		refill(st, (uint64_t)ms, perf += 2, 2, 0xb);
	for (int i = 0; i < 40; i++)
		refill(st, 1500, perf += 64, 64, 0xa);
	struct hk_proc *p = st->proc_list[0];
	define(p, 0xa, 0x1000);
	define(p, 0xb, 0x2000);
	hk_state_finish(st);
	assert_true(p->nstorms >= 1);
	const struct hk_cs_storm *s = &p->cs->storm[0];
	assert_string_equal(hk_cs_group_name(p, s->group[0]), "0x1000");
	assert_int_equal(s->faults[0], 40 * 64);
	assert_int_equal(p->cs->groups[0].nstorms, 1);
	for (size_t i = 0; i < p->nrecs; i++)
		assert_string_equal(p->recs[i].where, "");
	free_state(st);
}

/* A counted event of thread vtid with no claim of its own (a tick), a
 * large map or a large unmap. */
static void large_event(struct hk_state *st, int type, int64_t vtid, uint64_t ts_ms, uint64_t perf,
                        uint64_t addr, uint64_t pages, uint64_t callsite)
{
	struct hk_event e = {.type = type, .ts = 1000000000ull + ts_ms * 1000000ull};
	e.vpid = PID;
	e.vtid = vtid;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.perf = perf;
	e.procname = "prog";
	if (type == HK_EV_LARGE_MMAP) {
		e.f[LMAP_ADDR] = addr;
		e.f[LMAP_SIZE] = pages * HK_PAGE;
		e.f[LMAP_NEW_PAGES] = pages;
		e.f[LMAP_CALLSITE] = callsite;
	} else if (type == HK_EV_LARGE_MUNMAP) {
		e.f[LUNMAP_ADDR] = addr;
		e.f[LUNMAP_SIZE] = pages * HK_PAGE;
	}
	hk_dispatch(st, &trace, &e);
}

static uint64_t group_faults(const struct hk_proc *p, const char *name)
{
	for (size_t i = 0; i < p->cs->ngroups; i++)
		if (!strcmp(p->cs->groups[i].name, name)) return p->cs->groups[i].faults;
	return 0;
}

/* Large spans pending first touches at once: each keeps its own call
 * site (the newest span is taken first), and an unmap forgets only what
 * is left of that span, on the thread that mapped it. */
static void test_large_spans_by_site(void **state)
{
	(void)state;
	struct hk_state *st = new_cs_state();
	const int64_t t1 = PID, t2 = PID + 1;
	large_event(st, HK_EV_TICK, t1, 0, 100, 0, 0, 0); /* baseline */
	large_event(st, HK_EV_LARGE_MMAP, t1, 1, 100, 0xa000000, 100, 0xa);
	large_event(st, HK_EV_LARGE_MMAP, t1, 2, 100, 0xb000000, 50, 0xb);
	large_event(st, HK_EV_TICK, t1, 3, 180, 0, 0, 0); /* 80 faults: B's 50, then 30 of A */
	large_event(st, HK_EV_LARGE_MUNMAP, t1, 4, 180, 0xa000000, 100, 0);
	large_event(st, HK_EV_TICK, t1, 5, 200, 0, 0, 0); /* A's 70 left were forgotten */
	/* a span mapped by t1 and freed by t2, untouched */
	large_event(st, HK_EV_LARGE_MMAP, t1, 6, 200, 0xc000000, 30, 0xa);
	large_event(st, HK_EV_TICK, t2, 6, 1000, 0, 0, 0);
	large_event(st, HK_EV_LARGE_MUNMAP, t2, 7, 1000, 0xc000000, 30, 0);
	large_event(st, HK_EV_TICK, t1, 8, 230, 0, 0, 0); /* not C's: other */
	struct hk_proc *p = st->proc_list[0];
	define(p, 0xa, 0x1000);
	define(p, 0xb, 0x2000);
	hk_state_finish(st);
	assert_int_equal(p->faults_total, 130);
	assert_int_equal(p->alloc_cause[HK_CAUSE_LARGE], 80);
	assert_int_equal(p->faults_alloc + p->faults_other, p->faults_total);
	assert_int_equal(group_faults(p, "0x2000"), 50);
	assert_int_equal(group_faults(p, "0x1000"), 30);
	free_state(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_charged_and_grouped),
	    cmocka_unit_test(test_same_frames_one_site),
	    cmocka_unit_test(test_storm_sites),
	    cmocka_unit_test(test_large_spans_by_site),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
