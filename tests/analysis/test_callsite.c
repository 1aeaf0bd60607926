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
#include "callsite.h"

#define PID 77

static struct hk_trace trace = {.host = "h", .name = "t"};

static struct hk_state *new_state(void)
{
	struct hk_state *st = hk_state_new();
	st->params.storm_window_ns = 10 * 1000000ull;
	st->params.storm_threshold = 4.0;
	st->params.storm_min_faults = 256;
	st->params.churn_window_ns = 100 * 1000000ull;
	/* as if the trace had call-site events (their decoding needs babeltrace2) */
	st->cs = hk_xcalloc(1, sizeof *st->cs);
	return st;
}

static void free_state(struct hk_state *st)
{
	st->traces = NULL;
	hk_state_free(st);
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
	struct hk_state *st = new_state();
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
	struct hk_state *st = new_state();
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
	struct hk_state *st = new_state();
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_charged_and_grouped),
	    cmocka_unit_test(test_same_frames_one_site),
	    cmocka_unit_test(test_storm_sites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
