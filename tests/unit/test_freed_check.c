/* Full mode's checks of freed blocks: a block leaving the quarantine, and
 * the check at exit over every thread's quarantine and every freed block on
 * a free list. Each report says which bytes were written and what they now
 * hold. Runs with HAKMEM_CHECK=full. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "leaks.h"
#include "quarantine.h"

#include <pthread.h>

static const char *checked_at_exit(struct capture *cap, long *bad)
{
	capture_begin(cap);
	*bad = hak_heap_check_freed("at exit", 1);
	return capture_end(cap);
}

static void leaving_quarantine_says_what_was_written(void **state)
{
	(void)state;
	hak_env.quarantine_kb = 1; /* 1024 bytes: a dozen 64-byte frees push it out */
	char *p = hak_malloc(64);
	hak_free(p);
	memcpy(p + 10, "ABCD", 4);
	struct capture cap;
	capture_begin(&cap);
	for (int i = 0; i < 40; i++)
		hak_free(hak_malloc(64));
	const char *out = capture_end(&cap);
	char want[64];
	snprintf(want, sizeof want, "hakmem: use-after-free-write at %p", (void *)p);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "bytes 10..13 written after free (4-byte range"));
	assert_non_null(strstr(out, "as it left the quarantine; found: 41 42 43 44\n"));
	assert_non_null(strstr(out, "first freed at:"));
	long bad;
	out = checked_at_exit(&cap, &bad);
	assert_int_equal(bad, 0); /* re-armed after the report: said once */
	hak_env.quarantine_kb = 256;
}

static pthread_barrier_t written, checked;

static void *free_write_and_wait(void *arg)
{
	char *p = hak_malloc(64);
	hak_free(p);
	memset(p, 0x41, 64);
	*(char **)arg = p;
	pthread_barrier_wait(&written);
	pthread_barrier_wait(&checked); /* alive, its quarantine with it */
	return NULL;
}

static void exit_check_sees_other_threads_quarantine(void **state)
{
	(void)state;
	char *p;
	pthread_t t;
	pthread_barrier_init(&written, NULL, 2);
	pthread_barrier_init(&checked, NULL, 2);
	pthread_create(&t, NULL, free_write_and_wait, &p);
	pthread_barrier_wait(&written);
	struct capture cap;
	long bad;
	const char *out = checked_at_exit(&cap, &bad);
	pthread_barrier_wait(&checked);
	pthread_join(t, NULL);
	assert_int_equal(bad, 1);
	char want[64];
	snprintf(want, sizeof want, "hakmem: use-after-free-write at %p", (void *)p);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "bytes 0..63 written after free (64-byte range"));
	assert_non_null(strstr(out, "seen at exit; found: 41 41 41 41 41 41 41 41 41 41 41 41 "
	                            "41 41 41 41 ...\n"));
	assert_non_null(strstr(out, "allocated at:"));
}

/* Not in any quarantine: straight to the thread's bin, link in its first
 * word, the fill after it. */
static void exit_check_sees_freed_block_in_bin(void **state)
{
	(void)state;
	hak_env.quarantine_kb = 0;
	char *p = hak_malloc(100);
	hak_free(p);
	p[20] = 'y';
	struct capture cap;
	long bad;
	const char *out = checked_at_exit(&cap, &bad);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(out, "bytes 20..20 written after free (1-byte range"));
	assert_non_null(strstr(out, "found: 79\n"));
	out = checked_at_exit(&cap, &bad);
	assert_int_equal(bad, 0);
	assert_string_equal(out, "");
	hak_env.quarantine_kb = 256;
}

/* A 200-byte block pushed out of the ring by 64-byte frees waits in its
 * class's stash: still quarantined, so a write into it is seen at exit,
 * and again (once re-armed and written anew) as a malloc takes it. */
static char *stashed_block(void)
{
	hak_env.quarantine_kb = 1; /* 1024 bytes */
	char *small[40];
	for (int i = 0; i < 40; i++)
		small[i] = hak_malloc(64);
	char *p = hak_malloc(200);
	hak_free(p);
	for (int i = 0; i < 40; i++)
		hak_free(small[i]);
	return p;
}

static void exit_check_sees_stashed_block(void **state)
{
	(void)state;
	char *p = stashed_block();
	struct hak_qstash *st = &hak_my_ring->stash[hak_size_class(200)];
	assert_true(st->count >= 1);
	assert_ptr_equal(st->e[st->count - 1].block, p); /* its newest */
	p[100] = 'z';
	struct capture cap;
	long bad;
	const char *out = checked_at_exit(&cap, &bad);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(out, "bytes 100..100 written after free (1-byte range"));
	assert_non_null(strstr(out, "seen at exit; found: 7a\n"));
	p[0] = 'y';
	capture_begin(&cap);
	char *again = hak_malloc(200);
	out = capture_end(&cap);
	assert_ptr_equal(again, p);
	assert_non_null(strstr(out, "bytes 0..0 written after free (1-byte range"));
	assert_non_null(strstr(out, "as it left the quarantine; found: 79\n"));
	assert_non_null(strstr(out, "first freed at:"));
	hak_free(again);
	hak_env.quarantine_kb = 256;
}

static void clean_heap_is_silent(void **state)
{
	(void)state;
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = hak_malloc((size_t)(i * 37 % 3000) + 1);
	for (int i = 0; i < 100; i += 2)
		hak_free(p[i]);
	struct capture cap;
	long bad;
	const char *out = checked_at_exit(&cap, &bad);
	assert_int_equal(bad, 0);
	assert_string_equal(out, "");
	for (int i = 1; i < 100; i += 2)
		hak_free(p[i]);
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	if (hak_check_level != HAK_CHECK_FULL) {
		fprintf(stderr, "test_freed_check needs HAKMEM_CHECK=full\n");
		return -1;
	}
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(leaving_quarantine_says_what_was_written),
	    cmocka_unit_test(exit_check_sees_other_threads_quarantine),
	    cmocka_unit_test(exit_check_sees_freed_block_in_bin),
	    cmocka_unit_test(exit_check_sees_stashed_block),
	    cmocka_unit_test(clean_heap_is_silent),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
