/* HAKMEM_LEAKS: the blocks still allocated, grouped by allocation stack,
 * largest total first, large blocks included. Runs with HAKMEM_CHECK=full. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "leaks.h"

static void *held[16];

/* Three call sites, so three allocation stacks. Not tail calls (the
 * return address is then the site's own, whatever the loop around it). */
#define SITE(name, n)                                                                              \
	static __attribute__((noinline)) void *name(void)                                          \
	{                                                                                          \
		void *p = hak_malloc(n);                                                           \
		__asm__ volatile("" : : "r"(p) : "memory");                                        \
		return p;                                                                          \
	}
SITE(site_small, 100)
SITE(site_mid, 5000)
SITE(site_large, 100000)

static void grouped_by_stack_largest_first(void **state)
{
	(void)state;
	/* Bounds the compiler cannot see: a loop it unrolled would call each
	 * site from several places, each a stack of its own. */
	static volatile int three = 3, five = 5;
	for (int i = 0; i < three; i++)
		held[i] = site_small();
	for (int i = 3; i < five; i++)
		held[i] = site_mid();
	held[5] = site_large();
	hak_free(hak_malloc(64)); /* freed: not listed */

	struct hak_leak_group g[8];
	struct hak_leak_totals tot;
	size_t n = hak_leaks_collect(g, 8, &tot);
	assert_int_equal(n, 3);
	assert_int_equal(tot.groups, 3);
	assert_int_equal(tot.count, 6);
	assert_int_equal(tot.bytes, 100000 + 2 * 5000 + 3 * 100);
	assert_int_equal(g[0].bytes, 100000);
	assert_int_equal(g[0].count, 1);
	assert_int_equal(g[1].bytes, 10000);
	assert_int_equal(g[1].count, 2);
	assert_int_equal(g[2].bytes, 300);
	assert_int_equal(g[2].count, 3);
	assert_true(g[0].stack && g[1].stack && g[2].stack);
	assert_true(g[0].stack != g[1].stack && g[1].stack != g[2].stack);

	/* Fewer slots than groups: the largest ones, and the totals of all. */
	n = hak_leaks_collect(g, 1, &tot);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].bytes, 100000);
	assert_int_equal(tot.groups, 3);
}

static void report_lists_each_group(void **state)
{
	(void)state;
	struct capture cap;
	capture_begin(&cap);
	hak_leaks_report();
	const char *out = capture_end(&cap);
	const char *a =
	    strstr(out, "hakmem: leak of 100000 byte(s) in 1 object(s) still allocated at exit");
	const char *b =
	    strstr(out, "hakmem: leak of 10000 byte(s) in 2 object(s) still allocated at exit");
	const char *c =
	    strstr(out, "hakmem: leak of 300 byte(s) in 3 object(s) still allocated at exit");
	assert_true(a && b && c && a < b && b < c);
	assert_non_null(strstr(out, "  allocated from:\n    #0 "));
	assert_non_null(strstr(out, "hakmem: SUMMARY: 110300 byte(s) in 6 object(s) still "
	                            "allocated at exit"));
}

static void nothing_left_nothing_listed(void **state)
{
	(void)state;
	for (int i = 0; i < 6; i++)
		hak_free(held[i]);
	struct hak_leak_group g[8];
	struct hak_leak_totals tot;
	assert_int_equal(hak_leaks_collect(g, 8, &tot), 0);
	assert_int_equal(tot.count, 0);
	struct capture cap;
	capture_begin(&cap);
	hak_leaks_report();
	assert_string_equal(capture_end(&cap), "hakmem: no blocks still allocated at exit\n");
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	if (hak_check_level != HAK_CHECK_FULL) {
		fprintf(stderr, "test_leaks needs HAKMEM_CHECK=full\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grouped_by_stack_largest_first),
	    cmocka_unit_test(report_lists_each_group),
	    cmocka_unit_test(nothing_left_nothing_listed),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
