/* Fast mode's inline proofs (alloc_fast.h, superslab.h, slab.h, check.h):
 * the block-boundary-and-carve proof by the odd part's inverse, the
 * one-compare link range test, the entry gate, and the inline free on
 * real slabs of every class, interior and uncarved pointers included. */
#include "pool_util.h"
#include "alloc_fast.h"
#include "check.h"

#include <stdlib.h>

/* Every offset around a slab of every class: the inverse's index is below
 * carved exactly when the offset is a carved block's start, and is then
 * its index. Strides 32, 64 and 96 have more than four factors of 2. */
static void carved_index_is_exact(void **state)
{
	(void)state;
	struct hak_superslab *ss = calloc(1, sizeof *ss);
	assert_non_null(ss);
	for (unsigned cls = 0; cls < HAK_NUM_CLASSES; cls++) {
		ss->slab_shift = cls >= HAK_TINY_CLASSES && cls < HAK_SMALLMID_FIRST ? 18 : 16;
		struct hak_slab *s = &ss->slabs[1];
		s->data_offset = HAK_ALIGN;
		hak_slab_format(ss, s, cls);
		assert_int_equal((uint32_t)((s->stride >> s->stride_tz) * s->odd_inv), 1);
		s->carved = s->capacity / 2 + 1;
		long size = 1l << ss->slab_shift;
		for (long off = -4096; off < size + 4096; off++) {
			size_t idx = hak_slab_carved_index(s, (size_t)off);
			int start = off >= 0 && off % s->stride == 0 && off / s->stride < s->carved;
			if (start)
				assert_int_equal(idx, (size_t)(off / s->stride));
			else if (idx < s->carved)
				fail_msg("class %u offset %ld taken for block %zu", cls, off, idx);
		}
	}
	free(ss);
}

/* The link test is pure arithmetic: p need not be mapped. */
static void link_range_edges(void **state)
{
	(void)state;
	const uintptr_t g = (uintptr_t)1 << HAK_REG_GRAIN_SHIFT, base = 0x7f1234500000ull;
	const void *p = (const void *)(base + 4096);
	assert_int_equal(base % g, 0);
	static const struct {
		uintptr_t v;
		int off;
	} cases[] = {
	    {0, 1},           /* end of a list: off the inline test */
	    {base, 1},        /* the grain's first byte: v[-1] is outside it */
	    {base + 16, 0},   /* first block a grain can start */
	    {base + 4096, 0}, /* p itself */
	    {base + (1 << 20) - 16, 0},
	    {base + (1 << 20), 1}, /* the next grain's first byte */
	    {base + (1 << 20) + 16, 1},
	    {base - 16, 1},
	    {base + 4104, 1}, /* not 16-aligned */
	    {base + 4097, 1},
	    {base + 4096 + (1ull << 40), 1},
	    {~(uintptr_t)15, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (hak_link_off_grain(p, cases[i].v) != cases[i].off)
			fail_msg("link %#lx from %p: expected %d", (unsigned long)cases[i].v, p,
			         cases[i].off);
}

/* Per-call tracepoints and the level share one word: either one off the
 * fast setting sends malloc and free to the general paths. */
static void entry_gate(void **state)
{
	(void)state;
	int level = hak_check_level;
	hak_check_level = HAK_CHECK_FAST;
	assert_true(fast_entry());
	assert_false(full_entry());
#if defined(HAKMEM_TRACE_HOOKS)
	hak_tp_per_call = 1;
	assert_false(fast_entry());
	hak_check_level = HAK_CHECK_FULL;
	assert_false(full_entry());
	hak_tp_per_call = 0;
	assert_true(full_entry());
#endif
	hak_check_level = HAK_CHECK_OFF;
	assert_false(fast_entry());
	hak_check_level = level;
}

/* One carved block of each class, live: the inline free refuses every
 * pointer inside it but its start, the carved block after it while it is
 * still uncarved, and writes nothing when it refuses. */
static void inline_free_takes_only_block_starts(void **state)
{
	(void)state;
	if (hak_check_level != HAK_CHECK_FAST) skip();
	for (unsigned cls = 0; cls < HAK_SMALLMID_FIRST; cls++) {
		struct hak_slab *s = acquire(cls);
		void *head, *tail;
		assert_int_equal(take(s, 1, &head, &tail), 1);
		uint8_t *b = head;
		uint32_t stride = s->stride;
		b[-1] = hak_hdr_live(cls);
		b[stride - 1] = hak_hdr_live(cls); /* as if the next block were live */
		for (uint32_t off = 1; off < stride; off++) {
			uint8_t keep = b[off - 1];
			b[off - 1] = hak_hdr_live(cls); /* a user byte that looks like one */
			assert_int_equal(free_fast_checked(b + off), 0);
			assert_int_equal(b[off - 1], hak_hdr_live(cls));
			b[off - 1] = keep;
		}
		if (HAK_RELAXED_LOAD(s->carved) == 1)
			assert_int_equal(free_fast_checked(b + stride), 0);
		assert_int_equal(b[stride - 1], hak_hdr_live(cls));
		b[stride - 1] = 0;
		uint32_t count = hak_tc.bins[cls].count;
		assert_int_equal(free_fast_checked(b), 1);
		assert_int_equal(b[-1], hak_hdr_freed(cls));
		assert_int_equal(hak_tc.bins[cls].count, count + 1);
		assert_int_equal(free_fast_checked(b), 0); /* double free: the general path's */
		assert_ptr_equal(hak_tcache_pop_checked(cls), b);
		assert_int_equal(b[-1], hak_hdr_live(cls));
		b[-1] = hak_hdr_freed(cls);
		hak_pool_return_blocks(s, b, b, 1);
		hak_pool_release(s);
	}
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1)); /* settings read, thread cache ready */
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(carved_index_is_exact),
	    cmocka_unit_test(link_range_edges),
	    cmocka_unit_test(entry_gate),
	    cmocka_unit_test(inline_free_takes_only_block_starts),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
