/* HAKMEM_* parsing: the parsers on good and bad strings, and
 * hak_env_load keeping the default (with one warning) on a bad value. */
#include "unit.h"
#include "check.h"
#include "env.h"

#include <errno.h>

static void parse_long_good(void **state)
{
	(void)state;
	long v = 0;
	assert_int_equal(hak_env_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hak_env_parse_long("10", 0, 10, &v), 0); /* max is inclusive */
	assert_int_equal(v, 10);
	assert_int_equal(hak_env_parse_long("-1", -1, 10, &v), 0); /* min is inclusive */
	assert_int_equal(v, -1);
	assert_int_equal(hak_env_parse_long("3600000", -1, 3600000, &v), 0);
	assert_int_equal(v, 3600000);
}

static void parse_long_bad(void **state)
{
	(void)state;
	const char *bad[] = {"",
	                     "abc",
	                     "12x",
	                     "1 ",
	                     "1.5",
	                     "0x10",
	                     "-",
	                     "11",
	                     "-2",
	                     "99999999999999999999",
	                     "-99999999999999999999",
	                     "1,2"};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		long v = 12345;
		if (hak_env_parse_long(bad[i], -1, 10, &v) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v, 12345); /* untouched on failure */
	}
	long v = 7;
	assert_int_equal(hak_env_parse_long(NULL, 0, 10, &v), -1);
	assert_int_equal(v, 7);
}

static void parse_bool(void **state)
{
	(void)state;
	const char *yes[] = {"1", "yes", "on", "true"};
	const char *no[] = {"0", "no", "off", "false"};
	const char *bad[] = {"", "2", "y", "maybe", "1 ", " 1", "truex", "-1"};
	int v;
	for (unsigned i = 0; i < 4; i++) {
		v = -7;
		assert_int_equal(hak_env_parse_bool(yes[i], &v), 0);
		assert_int_equal(v, 1);
		assert_int_equal(hak_env_parse_bool(no[i], &v), 0);
		assert_int_equal(v, 0);
	}
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		v = -7;
		if (hak_env_parse_bool(bad[i], &v) != -1) fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v, -7);
	}
	assert_int_equal(hak_env_parse_bool(NULL, &v), -1);
}

static void parse_prewarm_good(void **state)
{
	(void)state;
	struct hak_prewarm pw[HAK_MAX_PREWARM];
	unsigned n = 99;
	assert_int_equal(hak_env_parse_prewarm("64:4,256:2", pw, HAK_MAX_PREWARM, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pw[0].size, 64);
	assert_int_equal(pw[0].slabs, 4);
	assert_int_equal(pw[1].size, 256);
	assert_int_equal(pw[1].slabs, 2);

	assert_int_equal(hak_env_parse_prewarm("1:1", pw, HAK_MAX_PREWARM, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hak_env_parse_prewarm("32768:4096", pw, HAK_MAX_PREWARM, &n), 0);
	assert_int_equal(pw[0].size, 32768);
	assert_int_equal(pw[0].slabs, 4096);

	/* Exactly the maximum number of entries. */
	char buf[256] = "";
	for (unsigned i = 0; i < HAK_MAX_PREWARM; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%u:1", i ? "," : "",
		         16 * (i + 1));
	assert_int_equal(hak_env_parse_prewarm(buf, pw, HAK_MAX_PREWARM, &n), 0);
	assert_int_equal(n, HAK_MAX_PREWARM);
	assert_int_equal(pw[HAK_MAX_PREWARM - 1].size, 16 * HAK_MAX_PREWARM);
}

static void parse_prewarm_bad(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",                          /* empty */
	    "64:4,",                     /* trailing comma */
	    ",64:4",                     /* leading comma */
	    "64:4,,256:2",               /* empty entry */
	    "64",                        /* no slab count */
	    "64:",                       /* empty slab count */
	    ":4",                        /* empty size */
	    "64:4:2",                    /* junk after the count */
	    "64;4",                      /* wrong separator */
	    "64:4x",                     /* junk */
	    "abc",                       /* junk */
	    "0:4",                       /* zero size */
	    "64:0",                      /* zero slabs */
	    "32769:1",                   /* size above the Mid limit */
	    "64:4097",                   /* too many slabs */
	    "-64:4",                     /* negative size */
	    "64:-4",                     /* negative count */
	    "99999999999999999999999:1", /* overflow */
	    "64:99999999999999999999999",
	};
	struct hak_prewarm pw[HAK_MAX_PREWARM];
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		unsigned n = 99;
		if (hak_env_parse_prewarm(bad[i], pw, HAK_MAX_PREWARM, &n) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(n, 99); /* count untouched on failure */
	}
	unsigned n = 99;
	assert_int_equal(hak_env_parse_prewarm(NULL, pw, HAK_MAX_PREWARM, &n), -1);

	/* One entry more than the caller's array holds. */
	char buf[256] = "";
	for (unsigned i = 0; i <= HAK_MAX_PREWARM; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%u:1", i ? "," : "",
		         16 * (i + 1));
	assert_int_equal(hak_env_parse_prewarm(buf, pw, HAK_MAX_PREWARM, &n), -1);
	assert_int_equal(hak_env_parse_prewarm("64:1,128:1,256:1", pw, 2, &n), -1);
	assert_int_equal(n, 99);
}

/* strtoul accepts a minus sign and negates: "-18446744073709551615" reads
 * as 1. A value with a minus sign is negative whatever it wraps to, and
 * HAKMEM_PREWARM documents SIZE and SLABS as positive. */
static void parse_prewarm_rejects_wrapping_negatives(void **state)
{
	(void)state;
	struct hak_prewarm pw[HAK_MAX_PREWARM];
	const char *bad[] = {"-18446744073709551615:4", "64:-18446744073709551615",
	                     "64:-18446744073709551614", "-0:1"};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		unsigned n = 99;
		if (hak_env_parse_prewarm(bad[i], pw, HAK_MAX_PREWARM, &n) != -1)
			fail_msg("\"%s\" accepted as %u:%u (strtoul negated the value)", bad[i],
			         pw[0].size, pw[0].slabs);
	}
}

/* ---- hak_env_load ---- */

/* The settings themselves; entries past nprewarm are scratch. */
static void assert_env_equal(const struct hak_env *a, const struct hak_env *b)
{
	assert_int_equal(a->stats, b->stats);
	assert_int_equal(a->smallmid, b->smallmid);
	assert_int_equal(a->on_error, b->on_error);
	assert_int_equal(a->check_at_exit, b->check_at_exit);
	assert_int_equal(a->quarantine_kb, b->quarantine_kb);
	assert_int_equal(a->backtrace_unwind, b->backtrace_unwind);
	assert_int_equal(a->warm_superslabs, b->warm_superslabs);
	assert_int_equal(a->purge_delay_ms, b->purge_delay_ms);
	assert_int_equal(a->large_cache_mb, b->large_cache_mb);
	assert_int_equal(a->nprewarm, b->nprewarm);
	assert_memory_equal(a->prewarm, b->prewarm, a->nprewarm * sizeof a->prewarm[0]);
}

static void parse_word(void **state)
{
	(void)state;
	static const char *const words[] = {"off", "fast", "full", NULL};
	assert_int_equal(hak_env_parse_word("off", words), 0);
	assert_int_equal(hak_env_parse_word("full", words), 2);
	assert_int_equal(hak_env_parse_word("FULL", words), -1);
	assert_int_equal(hak_env_parse_word("ful", words), -1);
	assert_int_equal(hak_env_parse_word("fullx", words), -1);
	assert_int_equal(hak_env_parse_word("", words), -1);
	assert_int_equal(hak_env_parse_word(NULL, words), -1);
}

static const char *env_vars[] = {"HAKMEM_STATS",
                                 "HAKMEM_SMALLMID",
                                 "HAKMEM_WARM_SUPERSLABS",
                                 "HAKMEM_PURGE_DELAY_MS",
                                 "HAKMEM_LARGE_CACHE_MB",
                                 "HAKMEM_CHECK",
                                 "HAKMEM_ON_ERROR",
                                 "HAKMEM_CHECK_AT_EXIT",
                                 "HAKMEM_QUARANTINE_KB",
                                 "HAKMEM_BACKTRACE",
                                 "HAKMEM_LOG",
                                 "HAKMEM_PREWARM"};
static struct hak_env saved_env;
static int saved_level;

static int env_setup(void **state)
{
	(void)state;
	saved_env = hak_env;
	saved_level = hak_check_level;
	for (unsigned i = 0; i < sizeof env_vars / sizeof *env_vars; i++)
		unsetenv(env_vars[i]);
	return 0;
}

static int env_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof env_vars / sizeof *env_vars; i++)
		unsetenv(env_vars[i]);
	hak_env = saved_env;
	hak_check_level = saved_level;
	return 0;
}

/* Loads with only name=value set; returns the captured log. */
static const char *load_with(struct capture *cap, const char *name, const char *value)
{
	setenv(name, value, 1);
	capture_begin(cap);
	hak_env_load();
	const char *out = capture_end(cap);
	unsetenv(name);
	return out;
}

static void load_defaults_without_environment(void **state)
{
	(void)state;
	struct capture cap;
	capture_begin(&cap);
	hak_env_load();
	assert_string_equal(capture_end(&cap), "");
	assert_env_equal(&hak_env, &saved_env);
}

static void load_good_values(void **state)
{
	(void)state;
	struct capture cap;
	assert_string_equal(load_with(&cap, "HAKMEM_STATS", "yes"), "");
	assert_int_equal(hak_env.stats, 1);
	assert_string_equal(load_with(&cap, "HAKMEM_WARM_SUPERSLABS", "0"), "");
	assert_int_equal(hak_env.warm_superslabs, 0);
	assert_string_equal(load_with(&cap, "HAKMEM_PURGE_DELAY_MS", "-1"), "");
	assert_int_equal(hak_env.purge_delay_ms, -1);
	assert_string_equal(load_with(&cap, "HAKMEM_LARGE_CACHE_MB", "1048576"), "");
	assert_int_equal(hak_env.large_cache_mb, 1048576);
	assert_string_equal(load_with(&cap, "HAKMEM_LARGE_CACHE_MB", "-1"), "");
	assert_int_equal(hak_env.large_cache_mb, -1);
	assert_string_equal(load_with(&cap, "HAKMEM_PREWARM", "64:4,1024:1"), "");
	assert_int_equal(hak_env.nprewarm, 2);
	assert_int_equal(hak_env.prewarm[1].size, 1024);
	assert_string_equal(load_with(&cap, "HAKMEM_SMALLMID", "1"), "");
	assert_int_equal(hak_env.smallmid, 1);
	assert_string_equal(load_with(&cap, "HAKMEM_ON_ERROR", "ignore"), "");
	assert_int_equal(hak_env.on_error, HAK_ON_ERROR_IGNORE);
	assert_string_equal(load_with(&cap, "HAKMEM_CHECK_AT_EXIT", "on"), "");
	assert_int_equal(hak_env.check_at_exit, 1);
	assert_string_equal(load_with(&cap, "HAKMEM_QUARANTINE_KB", "0"), "");
	assert_int_equal(hak_env.quarantine_kb, 0);
	assert_string_equal(load_with(&cap, "HAKMEM_BACKTRACE", "unwind"), "");
	assert_int_equal(hak_env.backtrace_unwind, 1);
	/* The full library honours every level (the ASan one maps full to fast). */
	assert_string_equal(load_with(&cap, "HAKMEM_CHECK", "off"), "");
	assert_int_equal(hak_check_level, HAK_CHECK_OFF);
	load_with(&cap, "HAKMEM_CHECK", "full");
	assert_true(hak_check_level == HAK_CHECK_FULL || hak_check_level == HAK_CHECK_FAST);
}

/* One bad value: exactly one line, naming the variable and the value,
 * and the setting keeps what it had. */
static void expect_one_warning(const char *name, const char *value)
{
	struct capture cap;
	struct hak_env before = hak_env;
	const char *out = load_with(&cap, name, value);
	if (count_lines(out) != 1 || !strstr(out, name) || !strstr(out, value) ||
	    strncmp(out, "hakmem: ", 8) != 0)
		fail_msg("%s=%s: expected one warning naming it, got \"%s\"", name, value, out);
	assert_env_equal(&hak_env, &before);
}

static void load_bad_values_warn_and_keep_default(void **state)
{
	(void)state;
	expect_one_warning("HAKMEM_STATS", "2");
	expect_one_warning("HAKMEM_STATS", "");
	expect_one_warning("HAKMEM_WARM_SUPERSLABS", "-1");
	expect_one_warning("HAKMEM_WARM_SUPERSLABS", "4097");
	expect_one_warning("HAKMEM_WARM_SUPERSLABS", "many");
	expect_one_warning("HAKMEM_PURGE_DELAY_MS", "-2");
	expect_one_warning("HAKMEM_PURGE_DELAY_MS", "3600001");
	expect_one_warning("HAKMEM_PURGE_DELAY_MS", "10ms");
	expect_one_warning("HAKMEM_LARGE_CACHE_MB", "1048577");
	expect_one_warning("HAKMEM_LARGE_CACHE_MB", "-2");
	expect_one_warning("HAKMEM_LARGE_CACHE_MB", "99999999999999999999999");
	expect_one_warning("HAKMEM_PREWARM", "64:4,");
	expect_one_warning("HAKMEM_PREWARM", "64");
	expect_one_warning("HAKMEM_SMALLMID", "maybe");
	expect_one_warning("HAKMEM_CHECK", "paranoid");
	expect_one_warning("HAKMEM_ON_ERROR", "explode");
	expect_one_warning("HAKMEM_CHECK_AT_EXIT", "2");
	expect_one_warning("HAKMEM_QUARANTINE_KB", "-1");
	expect_one_warning("HAKMEM_QUARANTINE_KB", "4194305");
	expect_one_warning("HAKMEM_BACKTRACE", "slow");
	assert_int_equal(hak_check_level, saved_level);
	assert_int_equal(hak_env.warm_superslabs, saved_env.warm_superslabs);
	assert_int_equal(hak_env.purge_delay_ms, saved_env.purge_delay_ms);
}

/* A bad HAKMEM_PREWARM after a good one: no half-parsed entries survive. */
static void load_bad_prewarm_clears_entries(void **state)
{
	(void)state;
	struct capture cap;
	load_with(&cap, "HAKMEM_PREWARM", "64:1");
	assert_int_equal(hak_env.nprewarm, 1);
	const char *out = load_with(&cap, "HAKMEM_PREWARM", "128:1,256:0");
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "HAKMEM_PREWARM"));
	assert_int_equal(hak_env.nprewarm, 0);
}

/* Two bad variables: one warning each, in one load. */
static void load_two_bad_values(void **state)
{
	(void)state;
	struct capture cap;
	setenv("HAKMEM_WARM_SUPERSLABS", "x", 1);
	setenv("HAKMEM_LARGE_CACHE_MB", "y", 1);
	capture_begin(&cap);
	hak_env_load();
	const char *out = capture_end(&cap);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "HAKMEM_WARM_SUPERSLABS"));
	assert_non_null(strstr(out, "HAKMEM_LARGE_CACHE_MB"));
	assert_int_equal(hak_env.warm_superslabs, saved_env.warm_superslabs);
	assert_int_equal(hak_env.large_cache_mb, saved_env.large_cache_mb);
}

/* HAKMEM_LOG sends the allocator's messages to a file, appended. */
static void load_log_file(void **state)
{
	(void)state;
	char path[] = "/tmp/hakmem-unit-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "before\n", 7), 7);
	int saved_fd = hak_log_fd();
	setenv("HAKMEM_LOG", path, 1);
	setenv("HAKMEM_PREWARM", "junk", 1); /* read after HAKMEM_LOG: warned into the file */
	hak_env_load();
	int log_fd = hak_log_fd();
	hak_log_set_fd(saved_fd);
	assert_int_not_equal(log_fd, saved_fd);
	close(log_fd);
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = 0;
	assert_true(strncmp(buf, "before\nhakmem: ignoring HAKMEM_PREWARM=\"junk\"", 44) == 0);
	assert_int_equal(count_lines(buf), 2);
}

static void load_log_file_unopenable(void **state)
{
	(void)state;
	struct capture cap;
	const char *out = load_with(&cap, "HAKMEM_LOG", "/nonexistent-dir/hakmem.log");
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "HAKMEM_LOG=\"/nonexistent-dir/hakmem.log\""));
	assert_int_equal(hak_log_fd(), 2); /* still stderr */
	/* Set but empty: ignored. */
	assert_string_equal(load_with(&cap, "HAKMEM_LOG", ""), "");
}

/* With no log fd redirection the warning goes to stderr (fd 2). */
/* A value is printed escaped: its newline cannot start a forged report
 * line (bug: values were printed raw), and a long one is cut. */
static void bad_value_is_quoted_on_one_line(void **state)
{
	(void)state;
	struct capture cap;
	const char *out =
	    load_with(&cap, "HAKMEM_CHECK", "1\nhakmem: double-free at 0x1234 (forged)");
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "HAKMEM_CHECK=\"1\\x0ahakmem: double-free"));
	static char big[4000];
	memset(big, 'z', sizeof big - 1);
	out = load_with(&cap, "HAKMEM_WARM_SUPERSLABS", big);
	assert_int_equal(count_lines(out), 1);
	assert_true(strlen(out) < 400);
	assert_non_null(strstr(out, "using the default"));
}

/* HAKMEM_TRACE is read by trace.c, but a bad value is reported here, after
 * HAKMEM_LOG (bug: it went to stderr whatever HAKMEM_LOG said). */
static void trace_values_checked(void **state)
{
	(void)state;
	struct capture cap;
	assert_string_equal(load_with(&cap, "HAKMEM_TRACE", "0"), "");
	assert_string_equal(load_with(&cap, "HAKMEM_TRACE", "1"), "");
	const char *out = load_with(&cap, "HAKMEM_TRACE", "yes");
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "HAKMEM_TRACE=\"yes\""));
	out = load_with(&cap, "HAKMEM_TRACE_PER_CALL", "2");
	assert_non_null(strstr(out, "HAKMEM_TRACE_PER_CALL=\"2\""));
}

static void warning_goes_to_stderr_by_default(void **state)
{
	(void)state;
	int fds[2];
	char buf[1024];
	assert_int_equal(hak_log_fd(), 2);
	assert_int_equal(pipe(fds), 0);
	int saved = dup(2);
	dup2(fds[1], 2);
	setenv("HAKMEM_PURGE_DELAY_MS", "soon", 1);
	hak_env_load();
	unsetenv("HAKMEM_PURGE_DELAY_MS");
	dup2(saved, 2);
	close(saved);
	close(fds[1]);
	read_pipe(fds[0], buf, sizeof buf);
	close(fds[0]);
	assert_int_equal(count_lines(buf), 1);
	assert_non_null(strstr(buf, "HAKMEM_PURGE_DELAY_MS"));
	assert_int_equal(hak_env.purge_delay_ms, saved_env.purge_delay_ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_long_good),
	    cmocka_unit_test(parse_long_bad),
	    cmocka_unit_test(parse_bool),
	    cmocka_unit_test(parse_prewarm_good),
	    cmocka_unit_test(parse_prewarm_bad),
	    cmocka_unit_test(parse_prewarm_rejects_wrapping_negatives),
	    cmocka_unit_test(parse_word),
	    cmocka_unit_test_setup_teardown(load_defaults_without_environment, env_setup,
	                                    env_teardown),
	    cmocka_unit_test_setup_teardown(load_good_values, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(load_bad_values_warn_and_keep_default, env_setup,
	                                    env_teardown),
	    cmocka_unit_test_setup_teardown(load_bad_prewarm_clears_entries, env_setup,
	                                    env_teardown),
	    cmocka_unit_test_setup_teardown(load_two_bad_values, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(load_log_file, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(load_log_file_unopenable, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(bad_value_is_quoted_on_one_line, env_setup,
	                                    env_teardown),
	    cmocka_unit_test_setup_teardown(trace_values_checked, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(warning_goes_to_stderr_by_default, env_setup,
	                                    env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
