/* The counter store: the sums over the threads' class counters see live
 * threads and keep what exited threads counted, and a fork's child keeps
 * only its own thread live. Driven by hand, without thread caches. */
#include "unit.h"
#include "stats_counters.h"

static struct hak_thread_counters a, b;

static uint64_t refills_of(unsigned cls)
{
	struct hak_class_counters sum[HAK_NUM_CLASSES];
	hak_counters_sum_classes(sum);
	return sum[cls].refills;
}

static void live_threads_are_summed(void **state)
{
	(void)state;
	uint64_t before = refills_of(5);
	hak_counters_thread_start(&a);
	hak_counters_thread_start(&b);
	hak_counter_bump(&a.cls[5].refills, 3);
	hak_counter_bump(&b.cls[5].refills, 4);
	hak_counter_bump(&b.cls[6].refill_blocks, 9);
	assert_int_equal(refills_of(5), before + 7);
	struct hak_class_counters sum[HAK_NUM_CLASSES];
	hak_counters_sum_classes(sum);
	assert_int_equal(sum[6].refill_blocks, 9);
	assert_int_equal(sum[6].refills, 0);
	hak_counters_thread_end(&a);
	hak_counters_thread_end(&b);
}

static void exited_threads_still_count(void **state)
{
	(void)state;
	uint64_t before = refills_of(7);
	struct hak_thread_counters t = {0};
	hak_counters_thread_start(&t);
	hak_counter_bump(&t.cls[7].refills, 5);
	hak_counters_thread_end(&t);
	/* Counted once, not twice, and no longer read from t. */
	memset(&t, 0xff, sizeof t);
	assert_int_equal(refills_of(7), before + 5);
}

static void fork_child_keeps_only_itself_live(void **state)
{
	(void)state;
	struct hak_thread_counters self = {0}, other = {0};
	hak_counters_thread_start(&self);
	hak_counters_thread_start(&other);
	uint64_t before = refills_of(8);
	hak_counter_bump(&self.cls[8].refills, 1);
	hak_counter_bump(&other.cls[8].refills, 2);
	hak_counters_fork_prepare();
	hak_counters_fork_child(&self); /* as the child of a fork would */
	/* The other thread is gone: its counts stay, its memory is not read. */
	memset(&other, 0xff, sizeof other);
	hak_counter_bump(&self.cls[8].refills, 10);
	assert_int_equal(refills_of(8), before + 13);
	assert_null(self.next);
	hak_counters_thread_end(&self);
	assert_int_equal(refills_of(8), before + 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(live_threads_are_summed),
	    cmocka_unit_test(exited_threads_still_count),
	    cmocka_unit_test(fork_child_keeps_only_itself_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
