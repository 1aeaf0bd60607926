/* Unit tests of the sink's process model, fed with synthetic events:
 * where an exec starts a new image of a pid (state.c), the storm floor
 * (storms.c), prewarm slabs sized by the pool each refill names
 * (recommend.c, pools.c) and the selection and folding of processes
 * (select.c). The
 * recorded-trace cases in cases_input.py (exec, select) hold the same
 * rules against real LTTng traces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "model_state.h"

#define PID 4242

static struct hk_event ev(enum hk_evtype type, uint64_t ts_ms, int64_t tid, const char *name,
                          uint64_t perf)
{
	struct hk_event e = {.type = type, .ts = 1000000000ull + ts_ms * 1000000ull};
	e.vpid = PID;
	e.vtid = tid;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.perf = perf;
	e.procname = name;
	return e;
}

static struct hk_event stats(uint64_t ts_ms, int64_t tid, const char *name, uint64_t perf,
                             uint64_t refills, uint64_t ss_mapped)
{
	struct hk_event e = ev(HK_EV_PROCESS_STATS, ts_ms, tid, name, perf);
	e.f[STATS_REFILLS] = refills;
	e.f[STATS_SS_MAPPED] = ss_mapped;
	return e;
}

static void refills(struct hk_state *st, uint64_t ts_ms, const char *name, uint64_t *perf, int n)
{
	for (int i = 0; i < n; i++) {
		struct hk_event e = ev(HK_EV_REFILL, ts_ms, PID, name, ++*perf);
		e.f[REFILL_NEW_PAGES] = 1;
		e.f[REFILL_GOT] = 16;
		hk_dispatch(st, &trace, &e);
	}
}

static void dispatch(struct hk_state *st, struct hk_event e)
{
	hk_dispatch(st, &trace, &e);
}

/* bash -c '...; exec python3': the new image's counters restart. */
static void test_exec_counters_restart(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	dispatch(st, stats(0, PID, "bash", 0, 49, 3));
	refills(st, 1, "bash", &perf, 100);
	dispatch(st, stats(2, PID, "bash", perf, 149, 3));
	refills(st, 3, "bash", &perf, 50);
	/* exec: comm, counters and the perf count all start again */
	dispatch(st, stats(10, PID, "python3", 0, 49, 3));
	perf = 0;
	refills(st, 11, "python3", &perf, 30);
	dispatch(st, stats(12, PID, "python3", perf, 79, 3));
	assert_int_equal(st->nprocs, 2);
	struct hk_proc *a = st->proc_list[0], *b = st->proc_list[1];
	assert_string_equal(a->procname, "bash");
	assert_string_equal(b->procname, "python3");
	assert_int_equal(a->pid, PID);
	assert_int_equal(b->pid, PID);
	assert_int_equal(a->image, 1);
	assert_int_equal(b->image, 2);
	assert_ptr_equal(a->exec_into, b);
	assert_ptr_equal(b->exec_from, a);
	assert_int_equal(a->refills, 150);
	assert_int_equal(b->refills, 30);
	struct hk_check c[HK_NCHECKS];
	int exact;
	assert_true(hk_stats_check(a, c, &exact) && exact);
	assert_true(hk_stats_check(b, c, &exact) && exact);
	free_state(st);
}

/* A program exec'ing itself: same name. The counters cannot continue. */
static void test_exec_same_name(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	dispatch(st, stats(0, PID, "prog", 0, 10, 1));
	refills(st, 1, "prog", &perf, 40);
	dispatch(st, stats(2, PID, "prog", perf, 50, 1));
	dispatch(st, stats(3, PID, "prog", 0, 10, 1)); /* fewer refills than 50 */
	assert_int_equal(st->nprocs, 2);
	free_state(st);
}

/* Without perf context, a program exec'ing itself: the counters of the
 * new start-up sample are not below the old one's, but far from covering
 * the events of the one thread since. */
static void test_exec_counters_behind_events(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	struct hk_event e = stats(0, PID, "prog", 0, 10, 1);
	e.has_perf = 0;
	dispatch(st, e);
	for (int i = 0; i < 500; i++) {
		struct hk_event r = ev(HK_EV_REFILL, 1, PID, "prog", 0);
		r.has_perf = 0;
		dispatch(st, r);
	}
	e = stats(2, PID, "prog", 0, 12, 1);
	e.has_perf = 0;
	dispatch(st, e);
	assert_int_equal(st->nprocs, 2);
	free_state(st);
}

/* Threads racing a sample: it read the counters, then other threads'
 * events landed before its own. Not an exec. */
static void test_racing_threads(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf[3] = {0, 0, 0};
	dispatch(st, stats(0, PID, "app", 0, 10, 1));
	for (int i = 0; i < 1000; i++) {
		int k = i % 3;
		struct hk_event r = ev(HK_EV_REFILL, 1, PID + k, "app", ++perf[k]);
		dispatch(st, r);
	}
	dispatch(st, stats(2, PID + 1, "app", ++perf[1], 600, 1)); /* 1000 seen */
	assert_int_equal(st->nprocs, 1);
	free_state(st);
}

/* env python3: the first image did nothing between its samples, so its
 * counters are no evidence; the new name with a fresh perf count is. */
static void test_exec_by_name(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	dispatch(st, stats(0, PID, "env", 0, 12, 1));
	dispatch(st, stats(1, PID, "python3", 0, 40, 2));
	assert_int_equal(st->nprocs, 2);
	assert_string_equal(st->proc_list[1]->procname, "python3");
	free_state(st);
}

/* Not an exec: a sample that continues the counters, from a thread with
 * its own name, or from the main thread after it renamed itself while
 * its perf count kept going. */
static void test_no_false_exec(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	dispatch(st, stats(0, PID, "server", 0, 10, 1));
	refills(st, 1, "server", &perf, 20);
	dispatch(st, stats(2, PID + 1, "worker", 5, 30, 1)); /* another thread */
	refills(st, 3, "server", &perf, 20);
	perf += 3;
	dispatch(st, stats(4, PID, "server: idle", perf, 50, 2)); /* prctl rename */
	/* a sample a racing thread's refill trails by one */
	refills(st, 5, "server: idle", &perf, 11);
	dispatch(st, stats(6, PID, "server: idle", ++perf, 60, 2));
	assert_int_equal(st->nprocs, 1);
	assert_string_equal(st->proc_list[0]->procname, "server: idle");
	free_state(st);
}

/* A thread's name does not become the process's once the main thread
 * has been seen. */
static void test_main_thread_names_the_process(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	dispatch(st, ev(HK_EV_REFILL, 0, PID + 7, "worker-7", 1));
	refills(st, 1, "daemon", &perf, 2);
	dispatch(st, ev(HK_EV_REFILL, 2, PID + 7, "worker-7", 2));
	assert_string_equal(st->proc_list[0]->procname, "daemon");
	free_state(st);
}

/* Faults at ts_ms on the main thread: refills of n new pages. */
static void faults_at(struct hk_state *st, uint64_t ts_ms, uint64_t *perf, uint64_t n, int64_t pid)
{
	struct hk_event e = ev(HK_EV_REFILL, ts_ms, pid, "p", *perf += n);
	e.vpid = pid;
	e.f[REFILL_NEW_PAGES] = n;
	hk_dispatch(st, &trace, &e);
}

static struct hk_proc *one_proc(struct hk_state *st)
{
	hk_state_finish(st);
	assert_int_equal(st->nprocs, 1);
	return st->proc_list[0];
}

/* A 165 ms helper with 66 faults at start-up has no storm; the same
 * spike with 300 faults in a longer run is one. */
static void test_storm_floor(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	faults_at(st, 0, &perf, 0, PID); /* baseline */
	faults_at(st, 1, &perf, 66, PID);
	for (uint64_t t = 20; t <= 165; t += 10)
		faults_at(st, t, &perf, 1, PID);
	assert_int_equal(one_proc(st)->nstorms, 0);
	free_state(st);

	st = new_state();
	perf = 0;
	faults_at(st, 0, &perf, 0, PID);
	faults_at(st, 1, &perf, 300, PID);
	for (uint64_t t = 20; t <= 165; t += 10)
		faults_at(st, t, &perf, 1, PID);
	assert_int_equal(one_proc(st)->nstorms, 1);
	free_state(st);

	/* the floor is a parameter */
	st = new_state();
	st->params.storm_min_faults = 64;
	perf = 0;
	faults_at(st, 0, &perf, 0, PID);
	faults_at(st, 1, &perf, 66, PID);
	for (uint64_t t = 20; t <= 165; t += 10)
		faults_at(st, t, &perf, 1, PID);
	assert_int_equal(one_proc(st)->nstorms, 1);
	free_state(st);

	/* too short a run (under 10 windows) has no baseline to spike above */
	st = new_state();
	perf = 0;
	faults_at(st, 0, &perf, 0, PID);
	faults_at(st, 1, &perf, 1000, PID);
	for (uint64_t t = 20; t <= 80; t += 10)
		faults_at(st, t, &perf, 1, PID);
	assert_int_equal(one_proc(st)->nstorms, 0);
	free_state(st);
}

/* A carve storm of 1600 pages in one class, its refills naming pool and
 * block size; returns rule 1's setting. */
static const char *prewarm_for(struct hk_state *st, uint64_t cls, uint64_t pool)
{
	uint64_t perf = 0;
	faults_at(st, 0, &perf, 0, PID);
	struct hk_event e = ev(HK_EV_REFILL, 1, PID, "p", perf += 1600);
	e.f[REFILL_CLASS] = cls;
	e.f[REFILL_POOL] = pool;
	e.f[REFILL_BLOCK_SIZE] = 1039;
	e.f[REFILL_NEW_PAGES] = 1600;
	e.f[REFILL_NEW_SLAB] = 1;
	dispatch(st, e);
	for (uint64_t t = 20; t <= 165; t += 10)
		faults_at(st, t, &perf, 1, PID);
	struct hk_proc *p = one_proc(st);
	for (size_t i = 0; i < p->nrecs; i++)
		if (p->recs[i].rule == 1) return p->recs[i].env;
	return "";
}

/* Prewarm slabs are counted in pages of the pool the refills name, never
 * of the class number's: 1039-byte Small-Mid class 35 has 64 KiB slabs
 * (16 pages), Mid 256 KiB ones (64 pages); a pool the geometry does not
 * know gets no advice. */
static void test_prewarm_pages_from_the_events_pool(void **state)
{
	(void)state;
	static const struct {
		uint64_t cls, pool;
		const char *env;
	} cases[] = {
	    {HAK_SMALLMID_FIRST + 3, HAK_POOL_SMALLMID, "HAKMEM_PREWARM=1039:100"},
	    {HAK_SMALLMID_FIRST + 3, HAK_POOL_MID, "HAKMEM_PREWARM=1039:25"},
	    {HAK_TINY_CLASSES + 2, HAK_POOL_SMALLMID, "HAKMEM_PREWARM=1039:100"},
	    {HAK_TINY_CLASSES + 2, HAK_POOL_TINY, "HAKMEM_PREWARM=1039:100"},
	    {HAK_SMALLMID_FIRST + 3, HK_POOL_UNKNOWN, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hk_state *st = new_state();
		assert_string_equal(prewarm_for(st, cases[i].cls, cases[i].pool), cases[i].env);
		free_state(st);
	}
}

/* One big process and small ones: the small ones fold; --top, --pid and
 * --process change that. */
static struct hk_state *three_procs(void)
{
	struct hk_state *st = new_state();
	static const struct {
		int64_t pid;
		uint64_t faults;
	} procs[] = {{100, 50000}, {200, 400}, {300, 900}, {400, 2000}};
	for (size_t i = 0; i < 4; i++) {
		uint64_t perf = 0;
		faults_at(st, 0, &perf, 0, procs[i].pid);
		faults_at(st, 1, &perf, procs[i].faults, procs[i].pid);
	}
	return st;
}

static void test_folding(void **state)
{
	(void)state;
	struct hk_state *st = three_procs();
	hk_state_finish(st);
	assert_int_equal(st->nprocs, 4);
	/* most faults first; 400 and 900 are under 5% and 1000: folded;
	 * 2000 is under 5% but not under 1000 faults: shown */
	assert_int_equal(st->proc_list[0]->pid, 100);
	assert_false(st->proc_list[0]->folded);
	assert_int_equal(st->proc_list[1]->pid, 400);
	assert_false(st->proc_list[1]->folded);
	assert_true(st->proc_list[2]->folded);
	assert_true(st->proc_list[3]->folded);
	assert_int_equal(st->nfolded, 2);
	assert_int_equal(st->folded_faults, 1300);
	char names[64];
	hk_folded_names(st, names, sizeof names);
	assert_string_equal(names, "p x2");

	st->params.top = 1;
	hk_select(st);
	assert_int_equal(st->nfolded, 3);
	assert_false(st->proc_list[0]->folded);

	st->params.top = 0;
	st->params.has_pid = 1;
	st->params.pid = 200;
	hk_select(st);
	assert_int_equal(st->nunselected, 3);
	assert_int_equal(st->nfolded, 0);
	assert_true(st->proc_list[3]->selected && !st->proc_list[3]->folded);
	free_state(st);
}

static void test_heap_error_never_folds(void **state)
{
	(void)state;
	struct hk_state *st = three_procs();
	struct hk_event e = ev(HK_EV_HEAP_ERROR, 2, 300, "p", 0);
	e.vpid = 300;
	e.has_perf = 0;
	hk_dispatch(st, &trace, &e);
	hk_state_finish(st);
	assert_int_equal(st->proc_list[2]->pid, 300);
	assert_false(st->proc_list[2]->folded);
	free_state(st);
}

static void test_process_name_match(void **state)
{
	(void)state;
	struct hk_state *st = new_state();
	uint64_t perf = 0;
	struct hk_event e = ev(HK_EV_REFILL, 0, PID, "very_long_progr", ++perf);
	hk_dispatch(st, &trace, &e);
	st->params.process = "very_long_program_name"; /* the kernel keeps 15 bytes */
	hk_state_finish(st);
	assert_true(st->proc_list[0]->selected);
	st->params.process = "very";
	hk_select(st);
	assert_false(st->proc_list[0]->selected);
	st->params.process = NULL;
	free_state(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exec_counters_restart),
	    cmocka_unit_test(test_exec_same_name),
	    cmocka_unit_test(test_exec_by_name),
	    cmocka_unit_test(test_exec_counters_behind_events),
	    cmocka_unit_test(test_racing_threads),
	    cmocka_unit_test(test_no_false_exec),
	    cmocka_unit_test(test_main_thread_names_the_process),
	    cmocka_unit_test(test_storm_floor),
	    cmocka_unit_test(test_prewarm_pages_from_the_events_pool),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_heap_error_never_folds),
	    cmocka_unit_test(test_process_name_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
