/* hak_stats_get and hak_stats_print: the counters move with the events
 * they count, and the table is printed where it is asked to be. */
#include "pool_util.h"
#include "env.h"
#include "large.h"
#include "stats.h"
#include "tcache.h"

#define MIB ((size_t)1 << 20)

static int group_setup(void **state)
{
	(void)state;
	hak_env.purge_delay_ms = -1;
	return 0;
}

static void empty_process(void **state)
{
	(void)state;
	/* Nothing allocated yet: every counter is zero, the class table full. */
	struct hak_stats st = stats_now();
	assert_int_equal(st.superslabs_mapped, 0);
	assert_int_equal(st.mapped_bytes, 0);
	assert_int_equal(st.large_live, 0);
	assert_int_equal(st.refills, 0);
	assert_int_equal(st.nclasses, HAK_NUM_CLASSES);
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		assert_int_equal(st.classes[c].block_size, hak_class_usable(c));
		assert_int_equal(st.classes[c].pool, hak_class_pool(c));
		assert_int_equal(st.classes[c].blocks_held, 0);
	}
}

static void slab_counters_follow_mallocs(void **state)
{
	(void)state;
	const unsigned c = 3;
	struct hak_stats st0 = stats_now();
	void *p[100];
	for (unsigned i = 0; i < 100; i++)
		p[i] = hak_malloc(hak_class_usable(c));
	struct hak_stats st = stats_now();
	unsigned batch = hak_class_batch(c), refills = (100 + batch - 1) / batch;
	assert_int_equal(st.classes[c].refills - st0.classes[c].refills, refills);
	assert_int_equal(st.classes[c].refill_blocks - st0.classes[c].refill_blocks,
	                 refills * batch);
	assert_int_equal(st.classes[c].from_carve - st0.classes[c].from_carve, refills * batch);
	assert_int_equal(st.classes[c].blocks_held - st0.classes[c].blocks_held, refills * batch);
	assert_int_equal(st.classes[c].new_slabs - st0.classes[c].new_slabs, 1);
	assert_int_equal(st.classes[c].slabs_live, 1);
	assert_int_equal(st.refills - st0.refills, refills);
	assert_int_equal(st.superslabs_mapped, 1);
	assert_int_equal(st.superslabs_live, 1);
	/* 112 blocks of 64 bytes from slab 0 (after the header page): 2 pages. */
	assert_int_equal(
	    st.classes[c].pages_touched - st0.classes[c].pages_touched,
	    (HAK_PAGE + refills * batch * hak_class_stride[c] + HAK_PAGE - 1) / HAK_PAGE - 1);
	/* The total: per-class carve pages plus the SuperSlab header page. */
	uint64_t carve = 0;
	for (unsigned k = 0; k < HAK_NUM_CLASSES; k++)
		carve += st.classes[k].pages_touched;
	assert_int_equal(st.pages_touched, carve + st.superslabs_live);

	for (unsigned i = 0; i < 100; i++)
		hak_free(p[i]);
	/* What the bin still caches counts as held; overflow went home. */
	assert_int_equal(stats_now().classes[c].blocks_held,
	                 st0.classes[c].blocks_held + hak_tc.bins[c].count);
	hak_thread_flush();
	assert_int_equal(stats_now().classes[c].blocks_held, st0.classes[c].blocks_held);
}

/* mapped_bytes is SuperSlabs plus large spans, live or cached. */
static void mapped_bytes_adds_up(void **state)
{
	(void)state;
	hak_large_trim(1);
	struct hak_stats st0 = stats_now();
	void *big = hak_malloc(3 * MIB);
	void *mid = hak_malloc(20000);
	struct hak_stats st = stats_now();
	assert_int_equal(st.large_live, st0.large_live + 1);
	assert_int_equal(st.large_mapped, st0.large_mapped + 1);
	assert_int_equal(st.large_live_bytes - st0.large_live_bytes, hak_large_hdr(big)->map_size);
	assert_int_equal(st.mapped_bytes, st.superslabs_live * ((size_t)1 << HAK_SS_SHIFT_TINY) +
	                                      st.large_live_bytes);
	hak_free(big);
	st = stats_now();
	assert_int_equal(st.large_live, st0.large_live);
	assert_int_equal(st.large_live_bytes, st0.large_live_bytes);
	hak_free(hak_malloc(3 * MIB)); /* from the cache */
	st = stats_now();
	assert_int_equal(st.large_reused, st0.large_reused + 1);
	hak_large_trim(1);
	st = stats_now();
	assert_int_equal(st.large_unmapped, st0.large_unmapped + 1);
	assert_int_equal(st.mapped_bytes, st.superslabs_live * ((size_t)1 << HAK_SS_SHIFT_TINY));
	hak_free(mid);
}

/* Reads what hak_stats_print wrote to a pipe. */
static const char *print_to_pipe(char *buf, size_t cap)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	hak_stats_print(fds[1]);
	close(fds[1]);
	read_pipe(fds[0], buf, cap);
	close(fds[0]);
	return buf;
}

static void print_writes_the_table(void **state)
{
	(void)state;
	static char buf[65536];
	void *p = hak_malloc(200);  /* a Tiny class */
	void *q = hak_malloc(5000); /* a Mid class */
	unsigned cp = hak_size_class(200), cq = hak_size_class(5000);
	print_to_pipe(buf, sizeof buf);
	const char *head = "hakmem stats (" HAKMEM_VERSION_STRING " (full))\n";
	assert_true(strncmp(buf, head, strlen(head)) == 0);
	assert_non_null(strstr(buf, "pool"));
	assert_non_null(strstr(buf, "block_bytes"));
	assert_non_null(strstr(buf, "refills"));
	/* The rows of the two classes: pool, class, block size, blocks held,
	 * in the table's columns. */
	struct hak_stats st = stats_now();
	char row[128];
	snprintf(row, sizeof row, "\n%-9s %6u %12u %10llu ", "tiny", cp,
	         (unsigned)hak_class_usable(cp), (unsigned long long)st.classes[cp].blocks_held);
	if (!strstr(buf, row)) fail_msg("no row \"%s\" in:\n%s", row + 1, buf);
	snprintf(row, sizeof row, "\n%-9s %6u %12u %10llu ", "mid", cq,
	         (unsigned)hak_class_usable(cq), (unsigned long long)st.classes[cq].blocks_held);
	if (!strstr(buf, row)) fail_msg("no row \"%s\" in:\n%s", row + 1, buf);
	/* Classes never used have no row. */
	snprintf(row, sizeof row, "\n%-9s %6u ", "tiny", 15u);
	assert_null(strstr(buf, row));
	char line[128];
	snprintf(line, sizeof line, "superslabs: mapped %llu ",
	         (unsigned long long)st.superslabs_mapped);
	assert_non_null(strstr(buf, line));
	assert_non_null(strstr(buf, "\nslabs: empty "));
	assert_non_null(strstr(buf, "\nlarge: mapped "));
	assert_non_null(strstr(buf, "\npages first touched "));
	hak_free(p);
	hak_free(q);
}

/* HAKMEM_STATS=1 prints the same table to the log at exit. */
static void at_exit_prints_only_when_asked(void **state)
{
	(void)state;
	struct capture cap;
	hak_env.stats = 0;
	capture_begin(&cap);
	hak_stats_at_exit();
	assert_string_equal(capture_end(&cap), "");
	hak_env.stats = 1;
	capture_begin(&cap);
	hak_stats_at_exit();
	const char *out = capture_end(&cap);
	hak_env.stats = 0;
	assert_true(strncmp(out, "hakmem stats (", 14) == 0);
	assert_non_null(strstr(out, "superslabs: mapped"));
}

/* Blocks of a thread that exited are still in the table. */
static void *worker(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < 50; i++)
		hak_free(hak_malloc(700));
	return NULL;
}

static void exited_threads_still_count(void **state)
{
	(void)state;
	unsigned c = hak_size_class(700);
	struct hak_stats st0 = stats_now();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, worker, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	struct hak_stats st = stats_now();
	assert_true(st.classes[c].refills > st0.classes[c].refills);
	assert_int_equal(st.classes[c].blocks_held, st0.classes[c].blocks_held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_process),
	    cmocka_unit_test(slab_counters_follow_mallocs),
	    cmocka_unit_test(mapped_bytes_adds_up),
	    cmocka_unit_test(print_writes_the_table),
	    cmocka_unit_test(at_exit_prints_only_when_asked),
	    cmocka_unit_test(exited_threads_still_count),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
