/* Unit tests of the remote-free explanations (explain.c), fed with
 * synthetic refill events: when carving while freed blocks waited is the
 * explanation (at least HK_REMOTE_WAIT_MIN_FAULTS faults and
 * HK_REMOTE_WAIT_MIN_SHARE of all), what it says for a build that
 * collected remote frees, one that did not and a single thread, and that
 * remote frees collected first are said so. analysis.remote holds the
 * same rule against a real LTTng trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"

#define PID 5151

static struct hk_trace trace = {.host = "h", .name = "t"};

struct run {
	struct hk_state *st;
	uint64_t perf[3]; /* per thread: PID, PID + 1, PID + 2 */
	uint64_t ms;
};

static void start(struct run *r)
{
	memset(r, 0, sizeof *r);
	r->st = hk_state_new();
	r->st->params.storm_window_ns = 10 * 1000000ull;
	r->st->params.storm_threshold = 4.0;
	r->st->params.storm_min_faults = 256;
	r->st->params.churn_window_ns = 100 * 1000000ull;
}

/* A refill of thread `thread` that faulted `faults` pages since its last
 * event, `pages` of them its carving's. */
static void refill(struct run *r, int thread, uint32_t carve, uint32_t pages, uint64_t faults,
                   uint32_t waiting, uint32_t remote)
{
	struct hk_event e = {.type = HK_EV_REFILL, .ts = 1000000000ull + ++r->ms * 1000000ull};
	e.vpid = PID;
	e.vtid = PID + thread;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.perf = r->perf[thread] += faults;
	e.procname = "larsonish";
	e.f[REFILL_CLASS] = 15;
	e.f[REFILL_BLOCK_SIZE] = 1039;
	e.f[REFILL_WANT] = 16;
	e.f[REFILL_GOT] = 16;
	e.f[REFILL_FROM_CARVE] = carve;
	e.f[REFILL_FROM_FREELIST] = 16 - carve;
	e.f[REFILL_NEW_PAGES] = pages;
	e.f[REFILL_REMOTE_WAITING] = waiting;
	e.f[REFILL_FROM_REMOTE] = remote;
	hk_dispatch(r->st, &trace, &e);
}

/* Each thread's first event only sets its fault baseline. */
static void baselines(struct run *r, int threads)
{
	for (int t = 0; t < threads; t++)
		refill(r, t, 0, 0, 0, 0, 0);
}

static struct hk_proc *finish(struct run *r)
{
	hk_state_finish(r->st);
	assert_int_equal(r->st->nprocs, 1);
	return r->st->proc_list[0];
}

static void done(struct run *r)
{
	r->st->traces = NULL; /* the static trace is not theirs to free */
	hk_state_free(r->st);
}

static void assert_says(const struct hk_proc *p, const char *rule, const char *words)
{
	assert_int_equal(p->nexplanations, 1);
	assert_string_equal(p->explanations[0].rule, rule);
	if (!strstr(p->explanations[0].text, words))
		fail_msg("explanation without \"%s\": %s", words, p->explanations[0].text);
}

/* Half the faults carved while 500 freed blocks waited; the other thread
 * collected remote frees off its own slab. */
static void test_waiting_carve_is_the_explanation(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	baselines(&r, 2);
	for (int i = 0; i < 100; i++) {
		refill(&r, 0, 16, 2, 2, 500 - (uint32_t)i, 0);
		refill(&r, 1, 16, 2, 2, 0, 10);
	}
	struct hk_proc *p = finish(&r);
	assert_int_equal(p->remote.collected, 1000);
	assert_int_equal(p->remote.carving_refills, 200);
	assert_int_equal(p->remote.waited_refills, 100);
	assert_int_equal(p->remote.waited_carved, 1600);
	assert_int_equal(p->remote.waited_faults, 200);
	assert_int_equal(p->remote.waiting_max, 500);
	assert_says(p, "remote_wait",
	            "200 of the 400 page faults (50%) came from carving fresh slab space while "
	            "freed blocks waited to come home: 100 refills carved 1600 new blocks while up "
	            "to 500 blocks");
	assert_says(p, "remote_wait", "Refills did collect 1000 remote-freed blocks");
	assert_says(p, "remote_wait", "No HAKMEM_* setting changes that order.");
	done(&r);
}

/* No refill collected a remote free, with several threads: the blocks
 * went to slabs no thread owned; an older hakmem carved before taking
 * any: upgrade. */
static void test_no_collection_says_upgrade(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	baselines(&r, 3);
	for (int i = 0; i < 50; i++)
		for (int t = 0; t < 3; t++)
			refill(&r, t, 16, 2, 2, t == 2 ? 0 : 300, 0);
	struct hk_proc *p = finish(&r);
	assert_int_equal(p->remote.collected, 0);
	assert_says(p, "remote_wait", "200 of the 300 page faults (67%)");
	assert_says(p, "remote_wait", "No refill collected a remote free off its own slab");
	assert_says(p, "remote_wait",
	            "carves before it takes any slab with freed blocks: upgrading");
	done(&r);
}

static void test_one_thread(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	baselines(&r, 1);
	for (int i = 0; i < 40; i++)
		refill(&r, 0, 16, 2, 2, 40, 0);
	struct hk_proc *p = finish(&r);
	assert_says(p, "remote_wait", "80 of the 80 page faults (100%)");
	assert_says(p, "remote_wait", "With one thread, they were its own blocks");
	done(&r);
}

/* Under the 64-fault floor, or under 5% of all: remote frees that came
 * home are said so, with the small figure. */
static void test_remote_frees_came_home(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	baselines(&r, 2);
	for (int i = 0; i < 31; i++)
		refill(&r, 0, 16, 2, 2, 100, 0); /* 62 faults: under the floor */
	for (int i = 0; i < 20; i++)
		refill(&r, 1, 0, 0, 0, 0, 16);
	struct hk_proc *p = finish(&r);
	assert_int_equal(p->remote.waited_faults, 62);
	assert_says(p, "remote_home",
	            "Remote frees came home before anything was carved: refills collected 320 "
	            "blocks");
	assert_says(p, "remote_home", "caused 62 of the 62 page faults (100%, 31 refills)");
	done(&r);

	start(&r);
	baselines(&r, 2);
	for (int i = 0; i < 99; i++)
		refill(&r, 0, 16, 1, 1, 100, 0); /* 99 faults while blocks waited */
	refill(&r, 1, 16, 1901, 1901, 0, 16);    /* of 2000: 4.95% */
	p = finish(&r);
	assert_says(p, "remote_home", "caused 99 of the 2000 page faults (5%, 99 refills)");
	done(&r);

	start(&r);
	baselines(&r, 2);
	for (int i = 0; i < 100; i++)
		refill(&r, 0, 16, 1, 1, 100, 0); /* 100 of 2000: 5% exactly */
	refill(&r, 1, 16, 1900, 1900, 0, 16);
	p = finish(&r);
	assert_says(p, "remote_wait", "100 of the 2000 page faults (5%)");
	done(&r);
}

/* A refill claims no more than the faults its thread took (a huge page
 * covers many): the waited faults are those charged, not the pages. */
static void test_waited_faults_are_charged_faults(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	baselines(&r, 2);
	for (int i = 0; i < 100; i++)
		refill(&r, 0, 16, 8, 1, 700, 0);
	refill(&r, 1, 0, 0, 0, 0, 16);
	struct hk_proc *p = finish(&r);
	assert_int_equal(p->remote.waited_faults, 100);
	assert_says(p, "remote_wait", "100 of the 100 page faults");
	done(&r);
}

/* A trace from a provider without the fields: no figure, no words. */
static void test_older_provider_says_nothing(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	struct hk_event e = {.type = HK_EV_REFILL, .ts = 1000000000ull};
	e.vpid = e.vtid = PID;
	e.has_vpid = e.has_vtid = e.has_perf = 1;
	e.procname = "old";
	e.absent = 1u << REFILL_FROM_REMOTE | 1u << REFILL_REMOTE_WAITING;
	for (int i = 0; i < 200; i++) {
		e.ts += 1000000;
		e.perf += 2;
		e.f[REFILL_FROM_CARVE] = 16;
		e.f[REFILL_NEW_PAGES] = 2;
		hk_dispatch(r.st, &trace, &e);
	}
	struct hk_proc *p = finish(&r);
	assert_false(p->remote.known);
	assert_int_equal(p->nexplanations, 0);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_waiting_carve_is_the_explanation),
	    cmocka_unit_test(test_no_collection_says_upgrade),
	    cmocka_unit_test(test_one_thread),
	    cmocka_unit_test(test_remote_frees_came_home),
	    cmocka_unit_test(test_waited_faults_are_charged_faults),
	    cmocka_unit_test(test_older_provider_says_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
