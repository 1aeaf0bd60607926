/* hak_heap_check(): a clean heap passes; each kind of damage to a
 * test-owned slab or span is found, and the heap is clean again once the
 * damage is repaired. Runs at ptr_track levels off and fast. */
#include "pool_util.h"
#include "check.h"
#include "large.h"
#include "registry.h"
#include "tcache.h"

enum { N = 40 };
static uint8_t *blk[N];
static const size_t SIZE = 72; /* class 4, stride 80 */

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	return 0;
}

/* Runs the check with its log captured; returns the count and the log. */
static long checked(struct capture *cap, const char **out)
{
	capture_begin(cap);
	long bad = hak_heap_check();
	*out = capture_end(cap);
	return bad;
}

static void expect_clean(void)
{
	struct capture cap;
	const char *out;
	long bad = checked(&cap, &out);
	if (bad) fail_msg("heap check found %ld problems on a clean heap:\n%s", bad, out);
	assert_string_equal(out, "");
}

/* Runs the check on a damaged heap: at least one problem, each logged. */
static void expect_damage(const char *what)
{
	struct capture cap;
	const char *out;
	long bad = checked(&cap, &out);
	if (bad <= 0) fail_msg("heap check missed: %s", what);
	assert_true(count_lines(out) >= (unsigned)bad);
	assert_non_null(strstr(out, "hakmem: heap-check: "));
}

/* N blocks of one class, all freed and flushed back to their slab's
 * freelist, where the heap check walks them. */
static int setup_freed(void **state)
{
	(void)state;
	for (unsigned i = 0; i < N; i++)
		blk[i] = hak_malloc(SIZE);
	for (unsigned i = 0; i < N; i++)
		hak_free(blk[i]);
	hak_thread_flush();
	return 0;
}

static void clean_heap(void **state)
{
	(void)state;
	void *p[200];
	for (unsigned i = 0; i < 200; i++)
		p[i] = hak_malloc((i * 997) % 70000);
	expect_clean();
	for (unsigned i = 0; i < 200; i += 2)
		hak_free(p[i]);
	expect_clean();
	hak_thread_flush();
	expect_clean();
	for (unsigned i = 1; i < 200; i += 2)
		hak_free(p[i]);
	hak_thread_flush();
	expect_clean();
}

/* A block on a slab freelist, for the damage tests. */
static uint8_t *a_free_block(struct hak_slab **sp)
{
	struct hak_superslab *ss;
	struct hak_slab *s = hak_block_slab(blk[0], hak_size_class(SIZE), &ss);
	assert_non_null(s->freelist);
	*sp = s;
	return s->freelist;
}

static void corrupt_free_block_header(void **state)
{
	(void)state;
	struct hak_slab *s;
	uint8_t *f = a_free_block(&s);
	expect_clean();
	uint8_t saved = f[-1];
	f[-1] = 'A'; /* an off-by-one string write */
	expect_damage("an ASCII header on a free block");
	f[-1] = 0;
	expect_damage("a NUL header on a free block");
	f[-1] = hak_hdr_live(s->cls + 1); /* a header of another class */
	expect_damage("another class's header on a free block");
	f[-1] = saved;
	expect_clean();
}

static void corrupt_freelist_link(void **state)
{
	(void)state;
	struct hak_slab *s;
	uint8_t *f = a_free_block(&s);
	void *saved = hak_block_next(f);
	hak_block_set_next(f, f + 8); /* inside a block */
	expect_damage("a freelist link into the middle of a block");
	hak_block_set_next(f,
	                   f + (size_t)s->stride * (s->capacity + 1)); /* past the slab's blocks */
	expect_damage("a freelist link past the carved blocks");
	hak_block_set_next(f, f); /* a cycle */
	expect_damage("a freelist cycle");
	int local;
	hak_block_set_next(f, &local);
	expect_damage("a freelist link out of the slab");
	hak_block_set_next(f, saved);
	expect_clean();
}

/* A use-after-free write over the link of the freelist's last block. */
static void corrupt_freelist_tail(void **state)
{
	(void)state;
	struct hak_slab *s;
	uint8_t *f = a_free_block(&s);
	while (hak_block_next(f))
		f = hak_block_next(f);
	memset(f, 0x41, sizeof(void *));
	expect_damage("a freelist tail overwritten with text");
	hak_block_set_next(f, NULL);
	expect_clean();
}

/* An overflow from a live block into its neighbour's header. */
static void corrupt_live_block_header(void **state)
{
	(void)state;
	uint8_t *p = hak_malloc(SIZE);
	uint8_t *q = hak_malloc(SIZE);
	uint8_t saved = q[-1];
	q[-1] = '\n';
	expect_damage("a live block's header overwritten");
	q[-1] = saved;
	expect_clean();
	hak_free(p);
	hak_free(q);
}

/* Counts that cannot be: more in use than carved. */
static void corrupt_slab_counts(void **state)
{
	(void)state;
	struct hak_slab *s;
	a_free_block(&s);
	hak_spin_lock(&s->lock);
	uint32_t saved = s->used;
	s->used = s->carved + 1;
	hak_spin_unlock(&s->lock);
	expect_damage("used above carved");
	hak_spin_lock(&s->lock);
	s->used = s->carved; /* with the freelist too, more than carved */
	hak_spin_unlock(&s->lock);
	expect_damage("freelist + used above carved");
	hak_spin_lock(&s->lock);
	s->used = saved;
	hak_spin_unlock(&s->lock);
	expect_clean();
}

static void corrupt_superslab_magic(void **state)
{
	(void)state;
	struct hak_slab *s;
	a_free_block(&s);
	struct hak_superslab *ss = hak_slab_ss(s);
	ss->magic ^= 1;
	expect_damage("a SuperSlab magic");
	ss->magic ^= 1;
	expect_clean();
}

static void corrupt_large_header(void **state)
{
	(void)state;
	uint8_t *p = hak_malloc(200000);
	struct hak_large_hdr *h = hak_large_hdr(p);
	expect_clean();
	h->tag = 'x';
	expect_damage("a large span's tag byte");
	h->tag = HAK_HDR_LARGE;
	size_t req = h->requested;
	h->requested = h->map_size + 1;
	expect_damage("a large span's requested size");
	h->requested = req;
	expect_clean();
	hak_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(clean_heap),
	    cmocka_unit_test_setup(corrupt_free_block_header, setup_freed),
	    cmocka_unit_test_setup(corrupt_freelist_link, setup_freed),
	    cmocka_unit_test_setup(corrupt_freelist_tail, setup_freed),
	    cmocka_unit_test(corrupt_live_block_header),
	    cmocka_unit_test_setup(corrupt_slab_counts, setup_freed),
	    cmocka_unit_test_setup(corrupt_superslab_magic, setup_freed),
	    cmocka_unit_test(corrupt_large_header),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
