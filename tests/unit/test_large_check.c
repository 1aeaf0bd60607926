/* Full mode's freed large spans: one the cache keeps carries the freed
 * fill, so a write through a dangling pointer is reported when the span is
 * handed out again (malloc, calloc, realloc) and by the check at exit, with
 * what was written and the block's allocation and free stacks. Runs with
 * HAKMEM_CHECK=full. */
#include "unit.h"
#include "check.h"
#include "env.h"
#include "large.h"

#include "hakmem.h"

#define BIG (100 * 1024)

static void reuse_reports_the_write(void **state)
{
	(void)state;
	char *p = hak_malloc(BIG);
	hak_free(p);
	memcpy(p + 100, "zzzz", 4);
	struct capture cap;
	capture_begin(&cap);
	char *q = hak_malloc(BIG);
	const char *out = capture_end(&cap);
	assert_ptr_equal(q, p); /* the cached span came back */
	char want[64];
	snprintf(want, sizeof want, "hakmem: use-after-free-write at %p (large span)", (void *)p);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "bytes 100..103 of a freed large block written after free"));
	assert_non_null(strstr(out, "when the span was handed out again; found: 7a 7a 7a 7a\n"));
	assert_non_null(strstr(out, "requested 102400 bytes"));
	assert_non_null(strstr(out, "allocated at:"));
	assert_non_null(strstr(out, "first freed at:"));
	hak_free(q);
}

static void calloc_reuse_reports_then_zeroes(void **state)
{
	(void)state;
	char *p = hak_malloc(BIG);
	hak_free(p);
	p[0] = 1; /* the first word too: a large span has no free-list link */
	struct capture cap;
	capture_begin(&cap);
	char *q = hak_calloc(1, BIG - 4096);
	const char *out = capture_end(&cap);
	assert_ptr_equal(q, p);
	assert_non_null(strstr(out, "bytes 0..0 of a freed large block"));
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(q[i], 0);
	hak_free(q);
}

static void realloc_reuse_reports(void **state)
{
	(void)state;
	char *p = hak_malloc(BIG);
	hak_free(p);
	p[127] = 2; /* the last byte of the fill */
	struct capture cap;
	capture_begin(&cap);
	char *q = hak_realloc(hak_malloc(16), BIG);
	const char *out = capture_end(&cap);
	assert_ptr_equal(q, p);
	assert_non_null(strstr(out, "bytes 127..127 of a freed large block"));
	hak_free(q);
}

static void exit_check_reports_once(void **state)
{
	(void)state;
	char *p = hak_malloc(BIG);
	hak_free(p);
	memset(p + 8, 0x41, 8);
	struct capture cap;
	capture_begin(&cap);
	long bad = hak_large_check_cached("at exit");
	const char *out = capture_end(&cap);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(out, "bytes 8..15 of a freed large block written after free (8-byte "
	                            "range; the fill is 0xdf), seen at exit; found: 41 41"));
	assert_non_null(strstr(out, "first freed at:"));
	/* Re-armed after the report: the next check is clean. */
	capture_begin(&cap);
	assert_int_equal(hak_large_check_cached("at exit"), 0);
	capture_end(&cap);
	/* The heap check's pass over freed blocks sees cached spans too. */
	p = hak_malloc(BIG);
	hak_free(p);
	p[64] = 0;
	capture_begin(&cap);
	bad = hak_heap_check();
	out = capture_end(&cap);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(out, "bytes 64..64 of a freed large block"));
	assert_non_null(strstr(out, "seen by the heap check"));
}

static void clean_spans_are_silent(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		char *p = hak_malloc(BIG + (size_t)i * 8192);
		memset(p, 'x', BIG);
		hak_free(p);
	}
	struct capture cap;
	capture_begin(&cap);
	assert_int_equal(hak_large_check_cached("at exit"), 0);
	char *q = hak_malloc(BIG);
	const char *out = capture_end(&cap);
	assert_null(strstr(out, "hakmem:"));
	hak_free(q);
}

/* Freed spans merge and split in the page heap, so a freed block's header
 * can end up inside another block. A span merged into the pages a freed
 * block left is found by its page and disarmed when those pages are handed
 * out, whole or to a realloc growing in place; a write there afterwards is
 * the new block's own and must not be reported. */
static void merged_spans_are_disarmed_when_reused(void **state)
{
	(void)state;
	hak_large_trim(1); /* carve from released pages only: in address order */
	char *a = hak_malloc(BIG), *x = hak_malloc(BIG), *b = hak_malloc(BIG), *g = hak_malloc(BIG);
	assert_ptr_equal(x, a + 26 * 4096);
	assert_ptr_equal(b, x + 26 * 4096);
	hak_free(x);
	hak_large_trim(1); /* x's pages go back: released, then b's resident */
	hak_free(b);
	struct capture cap;
	capture_begin(&cap);
	/* Grows over x's released pages and into b's: b's header is inside. */
	char *a2 = hak_realloc(a, 3 * BIG);
	assert_ptr_equal(a2, a);
	memset(b, 'b', 4); /* a2's own bytes now, where b's fill was */
	hak_free(a2);
	/* a's span, b's old header and all, handed out again. */
	char *c = hak_malloc(3 * BIG);
	assert_ptr_equal(c, a);
	hak_free(c);
	const char *out = capture_end(&cap);
	assert_null(strstr(out, "hakmem:"));
	hak_free(g);
	/* The other way round: b's resident pages first, then released ones. */
	hak_large_trim(1);
	a = hak_malloc(BIG), b = hak_malloc(BIG), x = hak_malloc(BIG), g = hak_malloc(BIG);
	assert_ptr_equal(b, a + 26 * 4096);
	assert_ptr_equal(x, b + 26 * 4096);
	hak_free(x);
	hak_large_trim(1);
	hak_free(b);
	capture_begin(&cap);
	a2 = hak_realloc(a, 3 * BIG);
	assert_ptr_equal(a2, a);
	memset(b, 'b', 4); /* a2's own bytes now, where b's fill was */
	hak_free(a2);
	hak_free(hak_malloc(3 * BIG));
	out = capture_end(&cap);
	assert_null(strstr(out, "hakmem:"));
	hak_free(g);
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	if (hak_check_level != HAK_CHECK_FULL) {
		fprintf(stderr, "run with HAKMEM_CHECK=full\n");
		return -1;
	}
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reuse_reports_the_write),
	    cmocka_unit_test(calloc_reuse_reports_then_zeroes),
	    cmocka_unit_test(realloc_reuse_reports),
	    cmocka_unit_test(exit_check_reports_once),
	    cmocka_unit_test(clean_spans_are_silent),
	    cmocka_unit_test(merged_spans_are_disarmed_when_reused),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
