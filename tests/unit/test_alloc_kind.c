/* Full mode's allocation kinds: a block marked as new or new[] (as C++'s
 * operator new does) and released another way is reported as
 * mismatched-free with both kinds named, then freed (report mode); the
 * matching release is silent. Slab blocks, aligned pointers and large
 * spans. Runs with HAKMEM_CHECK=full. */
#include "unit.h"
#include "alloc_kind.h"
#include "env.h"

#include "hakmem.h"

static const char *released(void *p, unsigned how)
{
	static struct capture cap;
	capture_begin(&cap);
	hak_free_from(p, how, __builtin_return_address(0), __builtin_frame_address(0));
	return capture_end(&cap);
}

static void mismatch_is_reported_with_both_kinds(void **state)
{
	(void)state;
	static const size_t sizes[] = {32, 1000, 20000, 300000};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *p = hak_malloc(sizes[i]);
		hak_track_set_kind(p, HAK_ALLOC_NEW_ARRAY);
		const char *out = released(p, HAK_ALLOC_MALLOC);
		char want[64];
		snprintf(want, sizeof want, "hakmem: mismatched-free at %p", p);
		assert_non_null(strstr(out, want));
		assert_non_null(strstr(out, "allocated with new[], released with free()\n"));
		assert_non_null(strstr(out, "allocated at:"));
		assert_null(strstr(out, "first freed at:"));

		void *q = hak_malloc(sizes[i]);
		out = released(q, HAK_ALLOC_NEW);
		assert_non_null(strstr(out, "allocated with malloc(), released with delete\n"));

		void *r = hak_malloc(sizes[i]);
		hak_track_set_kind(r, HAK_ALLOC_NEW);
		out = released(r, HAK_ALLOC_NEW_ARRAY);
		assert_non_null(strstr(out, "allocated with new, released with delete[]\n"));
	}
}

static void matching_release_is_silent(void **state)
{
	(void)state;
	for (size_t n = 1; n < 400000; n = n * 5 + 3) {
		void *p = hak_malloc(n);
		hak_track_set_kind(p, HAK_ALLOC_NEW);
		assert_string_equal(released(p, HAK_ALLOC_NEW), "");
		p = hak_malloc(n);
		hak_track_set_kind(p, HAK_ALLOC_NEW_ARRAY);
		assert_string_equal(released(p, HAK_ALLOC_NEW_ARRAY), "");
		assert_string_equal(released(hak_malloc(n), HAK_ALLOC_MALLOC), "");
		void *a = hak_aligned_alloc(256, n);
		hak_track_set_kind(a, HAK_ALLOC_NEW);
		assert_string_equal(released(a, HAK_ALLOC_NEW), "");
	}
}

/* A block handed out again by malloc is a malloc block, whatever it was. */
static void reuse_forgets_the_kind(void **state)
{
	(void)state;
	for (size_t n = 48; n < 400000; n *= 7) {
		void *p = hak_malloc(n);
		hak_track_set_kind(p, HAK_ALLOC_NEW_ARRAY);
		assert_string_equal(released(p, HAK_ALLOC_NEW_ARRAY), "");
		hak_thread_flush();
		void *q = hak_malloc(n);
		assert_string_equal(released(q, HAK_ALLOC_MALLOC), "");
	}
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
	    cmocka_unit_test(mismatch_is_reported_with_both_kinds),
	    cmocka_unit_test(matching_release_is_silent),
	    cmocka_unit_test(reuse_forgets_the_kind),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
