/* Unit tests of rule 1 (recommend.c) for a process that already ran a
 * prewarm (its hakmem:prewarm events, prewarm.c), fed with synthetic
 * events: the storm is what the prewarm left, so the setting names the
 * total (what was prewarmed plus the slabs still missing) and says so, and
 * keeps every other class the process prewarmed, since HAKMEM_PREWARM
 * replaces the whole list; within its 16 entries and 4096 slabs an entry.
 * analysis.storm_smallmid holds the same against a real LTTng trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "model_state.h"

#define PID 6161
#define SM_1039 (HAK_SMALLMID_FIRST + 3) /* Small-Mid's 1039-byte class */

static struct hk_event ev(enum hk_evtype type, uint64_t ts_ms, uint64_t perf)
{
	struct hk_event e = {.type = type, .ts = 1000000000ull + ts_ms * 1000000ull};
	e.vpid = e.vtid = PID;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.perf = perf;
	e.procname = "p";
	return e;
}

/* One HAKMEM_PREWARM entry, on the channel without the fault counter. */
static void prewarm(struct hk_state *st, uint64_t cls, uint64_t size, uint64_t pool, uint64_t slabs)
{
	struct hk_event e = ev(HK_EV_PREWARM, 0, 0);
	e.has_perf = 0;
	e.f[PREWARM_CLASS] = cls;
	e.f[PREWARM_BLOCK_SIZE] = size;
	e.f[PREWARM_POOL] = pool;
	e.f[PREWARM_SLABS] = slabs;
	e.f[PREWARM_DONE] = slabs;
	e.f[PREWARM_PAGES] = slabs * 16;
	hk_dispatch(st, &trace, &e);
}

static void faults_at(struct hk_state *st, uint64_t ts_ms, uint64_t *perf, uint64_t n)
{
	struct hk_event e = ev(HK_EV_REFILL, ts_ms, *perf += n);
	e.f[REFILL_NEW_PAGES] = n;
	hk_dispatch(st, &trace, &e);
}

/* A carve storm of 1600 pages in Small-Mid's 1039-byte class (100 slabs of
 * 16 pages); returns rule 1's recommendation, or NULL. */
static const struct hk_rec *storm(struct hk_state *st)
{
	uint64_t perf = 0;
	faults_at(st, 0, &perf, 0);
	struct hk_event e = ev(HK_EV_REFILL, 1, perf += 1600);
	e.f[REFILL_CLASS] = SM_1039;
	e.f[REFILL_POOL] = HAK_POOL_SMALLMID;
	e.f[REFILL_BLOCK_SIZE] = 1039;
	e.f[REFILL_NEW_PAGES] = 1600;
	e.f[REFILL_NEW_SLAB] = 1;
	hk_dispatch(st, &trace, &e);
	for (uint64_t t = 20; t <= 165; t += 10)
		faults_at(st, t, &perf, 1);
	hk_state_finish(st);
	assert_int_equal(st->nprocs, 1);
	struct hk_proc *p = st->proc_list[0];
	for (size_t i = 0; i < p->nrecs; i++)
		if (p->recs[i].rule == 1) return &p->recs[i];
	return NULL;
}

/* Without a prewarm (or a trace without the event): the slabs missing. */
static void test_no_prewarm(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:100");
	assert_string_equal(r->action, "prewarm the 1039-byte class");
	assert_int_equal(st->proc_list[0]->nprewarm, 0);
	free_state(st);
}

/* The class ran 250 slabs and still stormed 100 slabs' worth: 350. */
static void test_prewarmed_class_gets_the_total(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 250);
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:350");
	assert_string_equal(r->action,
	                    "raise HAKMEM_PREWARM for the 1039-byte class from 250 to 350 slabs");
	assert_int_equal(r->claimed, 1600); /* the storm's faults: the move is the extra */
	assert_non_null(strstr(r->why, "the slabs it prewarmed plus those still missing"));
	const struct hk_prewarm *w = &st->proc_list[0]->prewarm[SM_1039];
	assert_int_equal(w->slabs, 250);
	assert_int_equal(w->done, 250);
	assert_int_equal(w->pages, 4000);
	assert_int_equal(w->pool, HAK_POOL_SMALLMID);
	free_state(st);
}

/* HAKMEM_PREWARM replaces the whole list: the 79-byte class stays. */
static void test_other_classes_are_kept(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	prewarm(st, 4, 79, HAK_POOL_TINY, 3);
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:100,79:3");
	assert_string_equal(r->action, "prewarm the 1039-byte class");
	assert_non_null(strstr(r->why, "replaces the whole list"));
	free_state(st);

	st = new_state();
	prewarm(st, 4, 79, HAK_POOL_TINY, 3);
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 250);
	r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:350,79:3");
	free_state(st);
}

/* Two entries of one class (1000:100,1039:50) prewarmed it 150 slabs. */
static void test_entries_of_one_class_add_up(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 100);
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 50);
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:250");
	assert_non_null(strstr(r->action, "from 150 to 250 slabs"));
	assert_int_equal(st->proc_list[0]->nprewarm, 1);
	free_state(st);
}

/* An entry takes at most 4096 slabs: 4000 + 100 is 4096, and a class at
 * 4096 already gets no advice. */
static void test_at_most_4096_slabs(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 4000);
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_string_equal(r->env, "HAKMEM_PREWARM=1039:4096");
	free_state(st);

	st = new_state();
	prewarm(st, SM_1039, 1039, HAK_POOL_SMALLMID, 4096);
	assert_null(storm(st));
	free_state(st);
}

/* 16 entries: a process that prewarmed 16 other classes has no room for
 * a new one; with 15 it has one, and the setting lists all 16. */
static void test_at_most_16_entries(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	for (unsigned k = 0; k < 16; k++)
		prewarm(st, k, 16 * k + 15, HAK_POOL_TINY, 1);
	assert_null(storm(st));
	free_state(st);

	st = new_state();
	for (unsigned k = 0; k < 15; k++)
		prewarm(st, k, 16 * k + 15, HAK_POOL_TINY, 1);
	const struct hk_rec *r = storm(st);
	assert_non_null(r);
	assert_int_equal(strncmp(r->env, "HAKMEM_PREWARM=1039:100,15:1,31:1,", 34), 0);
	unsigned entries = 1;
	for (const char *c = r->env; *c; c++)
		entries += *c == ',';
	assert_int_equal(entries, 16);
	free_state(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_prewarm),
	    cmocka_unit_test(test_prewarmed_class_gets_the_total),
	    cmocka_unit_test(test_other_classes_are_kept),
	    cmocka_unit_test(test_entries_of_one_class_add_up),
	    cmocka_unit_test(test_at_most_4096_slabs),
	    cmocka_unit_test(test_at_most_16_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
