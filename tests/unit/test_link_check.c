/* Free-list links under ptr_track (fast, and full without quarantine): a
 * dangling write over a freed block's link is reported before the link is
 * followed, on every path that follows one (bin pop, refill from a slab
 * freelist, flush), and in report or ignore mode the list is cut and the
 * process goes on with consistent counts. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "tcache.h"

/* Each test uses its own class, so the bins it damages are its own. */
static void *must_malloc(size_t n)
{
	void *p = hak_malloc(n);
	assert_non_null(p);
	return p;
}

static uint32_t bin_length(unsigned cls)
{
	uint32_t n = 0;
	for (void *p = hak_tc.bins[cls].head; p && n < 100000; p = hak_block_next(p))
		n++;
	return n;
}

/* After a cut: the class still works, the bin's count matches its list,
 * and the heap check is clean. */
static void expect_healthy(size_t size)
{
	unsigned cls = hak_size_class(size);
	void *p[300];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 300; i++)
			p[i] = must_malloc(size);
		for (int i = 0; i < 300; i++)
			hak_free(p[i]);
	}
	assert_int_equal(bin_length(cls), hak_tc.bins[cls].count);
	assert_int_equal(hak_heap_check(), 0);
}

static const char *run_captured(struct capture *cap, void (*fn)(size_t), size_t size)
{
	capture_begin(cap);
	fn(size);
	return capture_end(cap);
}

/* The program: the whole freed block overwritten, then two pops. */
static void overwrite_and_pop(size_t size)
{
	void *keep = must_malloc(size); /* the bin holds more than one block */
	char *p = must_malloc(size);
	hak_free(keep);
	hak_free(p);
	memset(p, 0x41, size);
	void *a = must_malloc(size); /* p itself; its link is checked here */
	void *b = must_malloc(size); /* must not be 0x4141414141414141 */
	assert_ptr_equal(a, p);
	assert_true(hak_registry_kind(b));
	hak_free(a);
	hak_free(b);
}

static void bin_pop_reports_and_cuts(void **state)
{
	(void)state;
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	struct capture cap;
	const char *out = run_captured(&cap, overwrite_and_pop, 64);
	assert_non_null(strstr(out, "hakmem: use-after-free-write at 0x"));
	assert_non_null(strstr(out, "(class 4, superslab 0x"));
	assert_non_null(strstr(out, "free-list link"));
	expect_healthy(64);
}

static void ignore_mode_cuts_silently(void **state)
{
	(void)state;
	hak_env.on_error = HAK_ON_ERROR_IGNORE;
	struct capture cap;
	const char *out = run_captured(&cap, overwrite_and_pop, 90);
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	assert_string_equal(out, "");
	expect_healthy(90);
}

/* A link rewritten with a valid encoding, to a block in use: still not a
 * free block, so never handed out twice. */
static void forged_link_to_live_block(size_t size)
{
	char *live = must_malloc(size);
	char *p = must_malloc(size);
	hak_free(p);
	hak_block_set_next(p, live);
	assert_ptr_equal(must_malloc(size), p);
	void *b = must_malloc(size);
	assert_ptr_not_equal(b, live);
	hak_free(b);
	hak_free(p);
	hak_free(live);
}

static void link_to_live_block_rejected(void **state)
{
	(void)state;
	struct capture cap;
	const char *out = run_captured(&cap, forged_link_to_live_block, 100);
	assert_non_null(strstr(out, "that is in use"));
	expect_healthy(100);
}

/* Only the freed block's own header byte damaged (an overflow of the block
 * before it): its link is fine and is followed, not reported. */
static void own_header_damage(size_t size)
{
	char *a = must_malloc(size), *b = must_malloc(size);
	hak_free(a);
	hak_free(b); /* bin: b -> a */
	b[-1] = 'A';
	assert_ptr_equal(must_malloc(size), b);
	assert_ptr_equal(must_malloc(size), a);
	hak_free(a);
	hak_free(b);
}

static void own_header_damage_is_not_link_damage(void **state)
{
	(void)state;
	struct capture cap;
	const char *out = run_captured(&cap, own_header_damage, 130);
	assert_string_equal(out, "");
	expect_healthy(130);
}

/* Blocks flushed to their slab's freelist; a link there overwritten; the
 * refill that takes them follows the links. */
static void slab_freelist_damage(size_t size)
{
	enum { N = 40 };
	char *p[N];
	for (int i = 0; i < N; i++)
		p[i] = must_malloc(size);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	hak_thread_flush();
	struct hak_superslab *ss;
	struct hak_slab *s = hak_block_slab(p[0], hak_size_class(size), &ss);
	char *f = s->freelist;
	assert_non_null(f);
	f = hak_block_next(hak_block_next(f));
	memset(f, 0x41, sizeof(void *));
	for (int i = 0; i < N; i++)
		p[i] = must_malloc(size);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
}

static void refill_from_slab_freelist_checked(void **state)
{
	(void)state;
	struct capture cap;
	const char *out = run_captured(&cap, slab_freelist_damage, 160);
	assert_non_null(strstr(out, "hakmem: use-after-free-write at 0x"));
	expect_healthy(160);
}

/* A link deep in a bin overwritten; the flush walks it. */
static void flush_chain_damage(size_t size)
{
	enum { N = 20 };
	char *p[N];
	for (int i = 0; i < N; i++)
		p[i] = must_malloc(size);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	memset(p[5], 0x41, sizeof(void *));
	hak_thread_flush();
}

static void flush_chain_checked(void **state)
{
	(void)state;
	struct capture cap;
	const char *out = run_captured(&cap, flush_chain_damage, 200);
	assert_non_null(strstr(out, "hakmem: use-after-free-write at 0x"));
	assert_int_equal(hak_tc.bins[hak_size_class(200)].count, 0);
	expect_healthy(200);
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));   /* settings read */
	hak_env.quarantine_kb = 0; /* full mode: frees go straight to the bins */
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bin_pop_reports_and_cuts),
	    cmocka_unit_test(ignore_mode_cuts_silently),
	    cmocka_unit_test(link_to_live_block_rejected),
	    cmocka_unit_test(own_header_damage_is_not_link_damage),
	    cmocka_unit_test(refill_from_slab_freelist_checked),
	    cmocka_unit_test(flush_chain_checked),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
