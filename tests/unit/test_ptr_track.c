/* ptr_track checks a free and frees nothing: it says what to free (a slab
 * block for its bin, a large block for large.c, the blocks that left the
 * quarantine, or nothing), and the bins and the large spans stay as they
 * were until alloc.c acts on it. Runs with HAKMEM_CHECK=fast and full. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "large.h"
#include "ptr_track.h"
#include "quarantine.h"
#include "tcache.h"

static struct hak_track_verdict checked_free(void *p)
{
	return hak_track_free_as(p, HAK_ALLOC_MALLOC, __builtin_return_address(0),
	                         __builtin_frame_address(0));
}

static uint64_t bins_total(void)
{
	uint64_t n = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
		n += hak_tc.bins[c].count;
	return n;
}

/* What alloc.c does with a slab block the checks hand back. */
static void free_slab_block(void *b, unsigned cls)
{
	((uint8_t *)b)[-1] = hak_hdr_freed(cls);
	hak_tcache_free_block(b, cls);
}

/* Fast mode: a slab block comes back live, for its bin; an aligned
 * pointer comes back as the block that holds it. */
static void slab_block_is_handed_back(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FAST) skip();
	const unsigned c = hak_size_class(100);
	uint8_t *p = hak_malloc(100);
	uint64_t bins = bins_total();
	struct hak_track_verdict v = checked_free(p);
	assert_int_equal(v.what, HAK_RELEASE_SLAB);
	assert_ptr_equal(v.block, p);
	assert_int_equal(v.n, c);
	assert_int_equal(bins_total(), bins);
	assert_int_equal(p[-1], hak_hdr_live(c));
	free_slab_block(v.block, v.n);
	assert_int_equal(bins_total(), bins + 1);

	uint8_t *a = hak_aligned_alloc(256, 100);
	bins = bins_total();
	v = checked_free(a);
	assert_int_equal(v.what, HAK_RELEASE_SLAB);
	uint8_t *b = v.block;
	assert_true(b <= a && a < b + hak_class_usable(v.n));
	assert_int_equal(b[-1], hak_hdr_live(v.n));
	assert_int_equal(bins_total(), bins);
	free_slab_block(b, v.n);
}

/* Full mode: a slab block is filled and quarantined; nothing to free. */
static void slab_block_is_quarantined(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FULL) skip();
	const unsigned c = hak_size_class(100);
	uint8_t *p = hak_malloc(100);
	uint64_t bins = bins_total();
	unsigned held = hak_quarantine_count();
	struct hak_track_verdict v = checked_free(p);
	assert_int_equal(v.what, HAK_RELEASE_NONE);
	assert_int_equal(bins_total(), bins);
	assert_int_equal(hak_quarantine_count(), held + 1);
	assert_int_equal(p[-1], hak_hdr_freed(c));
	assert_int_equal(p[20], HAK_FILL_FREED);
}

/* Full mode, no quarantine: the block leaves as it enters, checked, and
 * comes back in the batch; the bins take it only from alloc.c. */
static void batch_is_handed_back(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FULL) skip();
	const unsigned c = hak_size_class(100);
	uint8_t *p = hak_malloc(100);
	hak_env.quarantine_kb = 0;
	uint64_t bins = bins_total();
	struct hak_track_verdict v = checked_free(p);
	hak_env.quarantine_kb = 256;
	assert_int_equal(v.what, HAK_RELEASE_BATCH);
	assert_int_equal(v.n, 1);
	const struct hak_quarantined *q = v.block;
	assert_ptr_equal(q[0].block, p);
	assert_int_equal(q[0].cls, c);
	assert_int_equal(bins_total(), bins);
	assert_int_equal(p[-1], hak_hdr_freed(c));
	struct hak_quarantined copy = q[0];
	hak_tcache_free_batch(&copy, 1);
	assert_int_equal(bins_total(), bins + 1);
	assert_ptr_equal(hak_tcache_head(c), p);
}

/* Both levels: a large block comes back for large.c, still its own. */
static void large_block_is_handed_back(void **state)
{
	(void)state;
	uint8_t *p = hak_malloc(1 << 20);
	struct hak_track_verdict v = checked_free(p);
	assert_int_equal(v.what, HAK_RELEASE_LARGE);
	assert_ptr_equal(v.block, p);
	assert_true(hak_large_owns(p));
	assert_int_equal(hak_large_hdr(p)->magic, HAK_LARGE_MAGIC);
	hak_large_free(p);
	assert_false(hak_large_owns(p));
}

/* Both levels: a double free is reported and left alone. */
static void bad_free_frees_nothing(void **state)
{
	(void)state;
	void *p = hak_malloc(100);
	hak_free(p);
	uint64_t bins = bins_total();
	unsigned held = hak_quarantine_count();
	struct capture cap;
	capture_begin(&cap);
	struct hak_track_verdict v = checked_free(p);
	const char *out = capture_end(&cap);
	assert_int_equal(v.what, HAK_RELEASE_NONE);
	assert_non_null(strstr(out, "hakmem: double-free at "));
	assert_int_equal(bins_total(), bins);
	assert_int_equal(hak_quarantine_count(), held);
}

/* Thread exit: the quarantine comes back in batches, each block checked
 * and still freed, for the thread cache to free; 0 once it is empty. */
static void thread_exit_hands_back_the_quarantine(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FULL) skip();
	for (int i = 0; i < 100; i++)
		hak_free(hak_malloc((size_t)(16 + i * 8)));
	uint64_t bins = bins_total();
	struct hak_quarantined out[64];
	unsigned n, total = 0;
	while ((n = hak_track_thread_exit(out, 64))) {
		assert_int_equal(bins_total(), bins);
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(((uint8_t *)out[i].block)[-1], hak_hdr_freed(out[i].cls));
		hak_tcache_free_batch(out, n);
		bins = bins_total();
		total += n;
	}
	assert_true(total >= 100);
	assert_int_equal(hak_quarantine_count(), 0);
}

/* Full mode: a 200-byte block pushed out of the ring by 64-byte frees,
 * waiting in its class's stash. */
static uint8_t *stashed_block(void)
{
	hak_env.quarantine_kb = 1;
	uint8_t *small[40];
	for (int i = 0; i < 40; i++)
		small[i] = hak_malloc(64);
	uint8_t *p = hak_malloc(200);
	hak_free(p);
	for (int i = 0; i < 40; i++)
		hak_free(small[i]);
	hak_env.quarantine_kb = 256;
	struct hak_qstash *st = &hak_my_ring->stash[hak_size_class(200)];
	assert_ptr_equal(st->e[st->count - 1].block, p);
	return p;
}

/* A stashed block whose header alone was damaged is handed out all the
 * same; one whose header says in use is reported and left alone, and the
 * bin, which never held it, keeps its blocks. */
static void stashed_block_with_a_bad_header(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FULL) skip();
	const unsigned c = hak_size_class(200);
	uint8_t *p = stashed_block();
	p[-1] = 'A';
	struct capture cap;
	capture_begin(&cap);
	uint8_t *q = hak_malloc(200);
	assert_string_equal(capture_end(&cap), "");
	assert_ptr_equal(q, p);
	assert_int_equal(p[-1], hak_hdr_live(c));
	hak_free(q);

	p = stashed_block();
	void *head = hak_tcache_head(c); /* the rest of a refill */
	assert_non_null(head);
	p[-1] = hak_hdr_live(c);
	capture_begin(&cap);
	q = hak_malloc(200);
	const char *out = capture_end(&cap);
	assert_non_null(strstr(out, "hakmem: use-after-free-write at "));
	assert_ptr_equal(q, head);
	assert_int_equal(p[-1], hak_hdr_live(c));
	hak_free(q);
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(slab_block_is_handed_back),
	    cmocka_unit_test(slab_block_is_quarantined),
	    cmocka_unit_test(batch_is_handed_back),
	    cmocka_unit_test(large_block_is_handed_back),
	    cmocka_unit_test(bad_free_frees_nothing),
	    cmocka_unit_test(thread_exit_hands_back_the_quarantine),
	    cmocka_unit_test(stashed_block_with_a_bad_header),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
