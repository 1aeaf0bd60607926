/* The small modules under everything: kernel memory calls (os), the
 * allocation-free logger (log), and the event buffer (events). */
#include "unit.h"
#include "events.h"
#include "os.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#define MIB ((size_t)1 << 20)

static void map_aligned(void **state)
{
	(void)state;
	const size_t sizes[][2] = {{2 * MIB, 2 * MIB},
	                           {MIB, MIB},
	                           {64 * 1024, 64 * 1024},
	                           {4 * MIB, 2 * MIB},
	                           {HAK_PAGE, HAK_PAGE}};
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t size = sizes[i][0], align = sizes[i][1];
		uint8_t *p = hak_os_map_aligned(size, align);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % align, 0);
		/* Fresh, zeroed, writable over its whole length, and nothing faulted yet. */
		assert_int_equal(resident_pages(p, size < 1024 * HAK_PAGE ? size : 1024 * HAK_PAGE),
		                 0);
		assert_int_equal(p[0], 0);
		assert_int_equal(p[size - 1], 0);
		p[0] = 1;
		p[size - 1] = 2;
		hak_os_unmap(p, size);
	}
	hak_os_unmap(NULL, HAK_PAGE); /* a no-op */
}

static void map_failures_set_enomem(void **state)
{
	(void)state;
	errno = 0;
	assert_null(hak_os_map_aligned(SIZE_MAX - HAK_PAGE, 2 * MIB)); /* size + align wraps */
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(hak_os_map_aligned((size_t)1 << 62, 2 * MIB)); /* more than the address space */
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(hak_os_map((size_t)1 << 62));
	assert_int_equal(errno, ENOMEM);
}

/* Populating faults the pages in; where the kernel refuses (an unmapped
 * range here, an older kernel's EINVAL elsewhere) errno is left as it was:
 * a realloc that succeeds must not change it. */
static void populate_faults_in_and_keeps_errno(void **state)
{
	(void)state;
	uint8_t *p = hak_os_map(8 * HAK_PAGE);
	assert_non_null(p);
	hak_os_populate(p, 4 * HAK_PAGE);
	assert_int_equal(resident_pages(p, 8 * HAK_PAGE), 4);
	hak_os_unmap(p, 8 * HAK_PAGE);
	errno = 0;
	hak_os_populate(p, 4 * HAK_PAGE); /* unmapped now: madvise fails with ENOMEM */
	assert_int_equal(errno, 0);
}

/* Purged pages read as zero and are no longer resident; the pages around
 * them keep their contents. */
static void purge_gives_pages_back(void **state)
{
	(void)state;
	uint8_t *p = hak_os_map(16 * HAK_PAGE);
	assert_non_null(p);
	memset(p, 0x5a, 16 * HAK_PAGE);
	assert_int_equal(resident_pages(p, 16 * HAK_PAGE), 16);
	hak_os_purge(p + 4 * HAK_PAGE, 8 * HAK_PAGE);
	assert_int_equal(resident_pages(p, 16 * HAK_PAGE), 8);
	assert_int_equal(p[4 * HAK_PAGE], 0);
	assert_int_equal(p[12 * HAK_PAGE - 1], 0);
	assert_int_equal(p[4 * HAK_PAGE - 1], 0x5a);
	assert_int_equal(p[12 * HAK_PAGE], 0x5a);
	hak_os_purge(p, 0); /* nothing */
	assert_int_equal(p[0], 0x5a);
	hak_os_unmap(p, 16 * HAK_PAGE);
}

static void now_is_monotonic_nanoseconds(void **state)
{
	(void)state;
	uint64_t a = hak_now_ns();
	struct timespec ts = {0, 3 * 1000 * 1000};
	nanosleep(&ts, NULL);
	uint64_t b = hak_now_ns();
	assert_true(b - a >= 3 * 1000 * 1000);
	assert_true(b - a < 5ull * 1000 * 1000 * 1000);
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t c = hak_now_ns();
		assert_true(c >= b);
		b = c;
	}
}

/* ---- log ---- */

static void log_goes_to_the_set_fd(void **state)
{
	(void)state;
	struct capture cap;
	capture_begin(&cap);
	assert_int_equal(hak_log_fd(), cap.wr);
	hak_log("hakmem: %s %d %zu %p\n", "word", -5, (size_t)42, (void *)0x10);
	assert_string_equal(capture_end(&cap), "hakmem: word -5 42 0x10\n");
	assert_int_equal(hak_log_fd(), 2);

	int fds[2];
	char buf[256];
	assert_int_equal(pipe(fds), 0);
	hak_log_fd_printf(fds[1], "direct %u\n", 7u);
	close(fds[1]);
	read_pipe(fds[0], buf, sizeof buf);
	close(fds[0]);
	assert_string_equal(buf, "direct 7\n");
}

/* A message longer than the stack buffer is cut, not overflowed. */
static void log_truncates_long_messages(void **state)
{
	(void)state;
	static char big[4000];
	memset(big, 'x', sizeof big - 1);
	struct capture cap;
	capture_begin(&cap);
	hak_log("%s", big);
	const char *out = capture_end(&cap);
	assert_int_equal(strlen(out), 1023);
	assert_int_equal(strspn(out, "x"), 1023);
}

/* A cut line still ends in its newline, so the next report starts a line
 * of its own (bug: the newline was cut with the rest). */
static void log_cut_line_keeps_its_newline(void **state)
{
	(void)state;
	static char big[3000];
	memset(big, 'y', sizeof big - 1);
	struct capture cap;
	capture_begin(&cap);
	hak_log("hakmem: %s\n", big);
	hak_log("next\n");
	const char *out = capture_end(&cap);
	const char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl - out, 1022);
	assert_memory_equal(nl - 3, "...", 3);
	assert_string_equal(nl + 1, "next\n");
}

/* Untrusted values (environment) are quoted: no raw newline or control
 * byte reaches the log, quotes are escaped, long values are cut. */
static void log_quote_escapes_and_cuts(void **state)
{
	(void)state;
	char q[256];
	hak_log_quote(q, sizeof q, "1\nhakmem: double-free at 0x1234");
	assert_string_equal(q, "1\\x0ahakmem: double-free at 0x1234");
	hak_log_quote(q, sizeof q, "a\"b\\c\x7f\xff\t");
	assert_string_equal(q, "a\\\"b\\\\c\\x7f\\xff\\x09");
	hak_log_quote(q, sizeof q, "");
	assert_string_equal(q, "");
	static char big[5000];
	memset(big, '\n', sizeof big - 1);
	size_t n = hak_log_quote(q, sizeof q, big);
	assert_true(n < sizeof q);
	assert_int_equal(strlen(q), n);
	assert_null(strchr(q, '\n'));
	assert_memory_equal(q + n - 3, "...", 3);
}

/* Logging must not disturb errno (the allocator logs on paths that also
 * set errno for the caller), and a dead fd is not fatal. */
static void log_keeps_errno_and_survives_bad_fd(void **state)
{
	(void)state;
	struct capture cap;
	capture_begin(&cap);
	errno = ENOMEM;
	hak_log("x\n");
	assert_int_equal(errno, ENOMEM);
	capture_end(&cap);
	errno = EINVAL;
	hak_log_fd_printf(-1, "to nowhere\n");
	assert_int_equal(errno, EINVAL);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	hak_log_fd_printf(fds[1], "reader gone\n"); /* EPIPE, ignored */
	close(fds[1]);
}

/* ---- events ---- */

static void event_buffer_bounded_and_emptied(void **state)
{
	(void)state;
	struct hak_event_buf b;
	b.n = 0;
	assert_false(hak_events_full(&b));
	for (unsigned i = 0; i < HAK_EVENT_BUF + 5; i++)
		hak_event_add(&b, (struct hak_event){.type = HAK_EV_SLAB_EMPTY,
		                                     .slab_empty = {.slab = (uint8_t)i, .ss = i}});
	/* The full library records events; extra ones are dropped, not overrun. */
	assert_int_equal(b.n, HAK_EVENT_BUF);
	assert_true(hak_events_full(&b));
	for (unsigned i = 0; i < HAK_EVENT_BUF; i++) {
		assert_int_equal(b.ev[i].slab_empty.slab, i);
		assert_int_equal(b.ev[i].slab_empty.ss, i);
		assert_int_equal(b.ev[i].type, HAK_EV_SLAB_EMPTY);
	}
	/* Emitting (no tracer attached) leaves the buffer empty for reuse. */
	hak_events_emit(&b);
	assert_int_equal(b.n, 0);
	assert_false(hak_events_full(&b));
	hak_event_add(&b, (struct hak_event){.type = HAK_EV_SS_MMAP, .ss_mmap = {.size = 2 * MIB}});
	assert_int_equal(b.n, 1);
	assert_int_equal(b.ev[0].ss_mmap.size, 2 * MIB);
	hak_events_emit(&b);
	assert_int_equal(b.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(map_aligned),
	    cmocka_unit_test(map_failures_set_enomem),
	    cmocka_unit_test(purge_gives_pages_back),
	    cmocka_unit_test(populate_faults_in_and_keeps_errno),
	    cmocka_unit_test(now_is_monotonic_nanoseconds),
	    cmocka_unit_test(log_goes_to_the_set_fd),
	    cmocka_unit_test(log_truncates_long_messages),
	    cmocka_unit_test(log_cut_line_keeps_its_newline),
	    cmocka_unit_test(log_quote_escapes_and_cuts),
	    cmocka_unit_test(log_keeps_errno_and_survives_bad_fd),
	    cmocka_unit_test(event_buffer_bounded_and_emptied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
