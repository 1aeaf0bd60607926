/* Size classes and header bytes: the lookup tables must agree with the
 * stride table they were generated from. */
#include "unit.h"
#include "size_class.h"

#include <ctype.h>
#include <locale.h>

static size_t class_size(unsigned c)
{
	return hak_class_stride[c] - 16;
}

/* Tiny and Mid classes form one increasing sequence; the Small-Mid ones
 * (a pool of their own, off by default) another. */
static void strides_are_16_multiples_and_increasing(void **state)
{
	(void)state;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		assert_int_equal(hak_class_stride[c] % HAK_ALIGN, 0);
		if (c && c != HAK_SMALLMID_FIRST)
			assert_true(hak_class_stride[c] > hak_class_stride[c - 1]);
	}
	/* Small-Mid serves 256 B to 1 KiB, within its 64 KiB slabs. */
	assert_true(hak_class_usable(HAK_SMALLMID_FIRST) >= HAK_SMALLMID_MIN);
	assert_int_equal(hak_class_usable(HAK_NUM_CLASSES - 1), HAK_TINY_MAX);
	/* The pool limits are the usable sizes of the last class of each pool. */
	assert_int_equal(hak_class_usable(HAK_TINY_CLASSES - 1), HAK_TINY_MAX);
	assert_true(hak_class_usable(HAK_SMALLMID_FIRST - 1) >= HAK_MID_MAX);
	/* A Mid block must fit a Mid slab with room to spare (slab 0 loses a page). */
	for (unsigned c = HAK_TINY_CLASSES; c < HAK_SMALLMID_FIRST; c++)
		assert_true(((1u << HAK_SLAB_SHIFT_MID) - HAK_PAGE) / hak_class_stride[c] >= 2);
}

/* For every size: the class is big enough, and it is the smallest one,
 * except that Mid sizes in (class_size, class_size + 15] of the class
 * below go one class up (hak_mid_index works in 256-byte steps on class
 * sizes, not usable sizes). Nothing else may be skipped. */
static void size_class_is_smallest_fit(void **state)
{
	(void)state;
	unsigned skips = 0;
	for (size_t n = 0; n <= HAK_MID_MAX; n++) {
		unsigned c = hak_size_class(n);
		assert_true(c < HAK_SMALLMID_FIRST); /* the layer is off */
		if (hak_class_usable(c) < n)
			fail_msg("size %zu: class %u usable %zu too small", n, c,
			         hak_class_usable(c));
		if (c == 0 || hak_class_usable(c - 1) < n) continue;
		/* The class below would have fitted: only the documented case. */
		if (!(c > HAK_TINY_CLASSES && n > class_size(c - 1) && n <= class_size(c - 1) + 15))
			fail_msg("size %zu: class %u, but class %u (usable %zu) fits", n, c, c - 1,
			         hak_class_usable(c - 1));
		assert_true(hak_class_usable(c - 2) < n); /* never more than one up */
		skips++;
	}
	/* 15 sizes per Mid class above the first: the deviation is bounded. */
	assert_int_equal(skips, 15 * (HAK_MID_CLASSES - 1));
	assert_int_equal(hak_size_class(HAK_MID_MAX + 1), HAK_NO_CLASS);
	assert_int_equal(hak_size_class((size_t)-1), HAK_NO_CLASS);
}

static void tiny_and_mid_index_tables(void **state)
{
	(void)state;
	/* Tiny: entry i serves n with (n+16)>>4 == i, i.e. n in [16i-16, 16i-1]. */
	for (unsigned i = 1; i < 66; i++) {
		unsigned c = hak_tiny_index[i];
		assert_true(c < HAK_TINY_CLASSES);
		assert_true(hak_class_stride[c] >= 16 * i);
		if (c) assert_true(hak_class_stride[c - 1] < 16 * i);
	}
	assert_int_equal(hak_tiny_class(0), 0);
	assert_int_equal(hak_tiny_class(HAK_TINY_MAX), HAK_TINY_CLASSES - 1);
	/* Mid: entry i serves n with ceil(n/256) == i, for i >= 5 (n >= 1040). */
	for (unsigned i = (HAK_TINY_MAX + 1 + 255) / 256; i < 129; i++) {
		unsigned c = hak_mid_index[i];
		assert_true(c >= HAK_TINY_CLASSES && c < HAK_NUM_CLASSES);
		assert_true(class_size(c) >= 256 * i);
		if (c > HAK_TINY_CLASSES) assert_true(class_size(c - 1) < 256 * i);
	}
}

static void header_bytes_are_high_and_unprintable(void **state)
{
	(void)state;
	setlocale(LC_ALL, "C");
	uint8_t all[2 * HAK_NUM_CLASSES + 2];
	assert_int_equal(hak_hdr_live(HAK_SMALLMID_FIRST + 1), 0xb1);
	unsigned k = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		all[k++] = hak_hdr_live(c);
		all[k++] = hak_hdr_freed(c);
		assert_int_not_equal(hak_hdr_live(c), hak_hdr_freed(c));
	}
	all[k++] = HAK_HDR_LARGE;
	all[k++] = HAK_HDR_ALIGNED;
	for (unsigned i = 0; i < k; i++) {
		assert_true(all[i] >= 0x80);
		assert_false(isprint(all[i]));
		/* No two roles share a byte. */
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(all[i], all[j]);
	}
	assert_int_equal(hak_hdr_live(3), 0xa3);
	assert_int_equal(hak_hdr_live(HAK_TINY_CLASSES + 2), 0x92);
}

static void hdr_class_maps_live_headers_only(void **state)
{
	(void)state;
	unsigned live = 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		assert_int_equal(hak_hdr_class[hak_hdr_live(c)], c);
		assert_int_equal(hak_hdr_class[hak_hdr_freed(c)], HAK_NO_CLASS);
	}
	for (unsigned b = 0; b < 256; b++) {
		unsigned c = hak_hdr_class[b];
		if (c == HAK_NO_CLASS) continue;
		assert_true(c < HAK_NUM_CLASSES);
		assert_int_equal(hak_hdr_live(c), b);
		live++;
	}
	assert_int_equal(live, HAK_NUM_CLASSES);
	assert_int_equal(hak_hdr_class[HAK_HDR_LARGE], HAK_NO_CLASS);
	assert_int_equal(hak_hdr_class[HAK_HDR_ALIGNED], HAK_NO_CLASS);
	assert_int_equal(hak_hdr_class[0x00], HAK_NO_CLASS);
	for (unsigned b = 0x20; b < 0x7f; b++)
		assert_int_equal(hak_hdr_class[b], HAK_NO_CLASS);
	/* Small-Mid has 4 classes: 0xb0..0xb3; the rest of the nibble is junk. */
	for (unsigned b = HAK_HDR_SMALLMID; b < HAK_HDR_SMALLMID + 16; b++)
		assert_int_equal(hak_hdr_class[b], b - HAK_HDR_SMALLMID < HAK_SMALLMID_CLASSES
		                                       ? HAK_SMALLMID_FIRST + (b - HAK_HDR_SMALLMID)
		                                       : HAK_NO_CLASS);
}

static void batches_within_bounds(void **state)
{
	(void)state;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		unsigned b = hak_class_batch(c);
		assert_in_range(b, 2, 16);
		if (hak_class_pool(c) != HAK_POOL_MID)
			assert_in_range(
			    b, 8, 16); /* Tiny and Small-Mid refill 8 to 16 (docs/reference.md) */
		if (c && c != HAK_SMALLMID_FIRST)
			assert_true(b <=
			            hak_class_batch(c - 1)); /* bigger blocks, smaller batches */
		/* Two batches (the bin bound) always fit one slab. */
		unsigned shift =
		    hak_class_pool(c) == HAK_POOL_MID ? HAK_SLAB_SHIFT_MID : HAK_SLAB_SHIFT_TINY;
		assert_true(2 * b * hak_class_stride[c] <= (1u << shift) - HAK_PAGE);
	}
}

static void pool_of_class(void **state)
{
	(void)state;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++)
		assert_int_equal(hak_class_pool(c), c < HAK_TINY_CLASSES     ? HAK_POOL_TINY
		                                    : c < HAK_SMALLMID_FIRST ? HAK_POOL_MID
		                                                             : HAK_POOL_SMALLMID);
}

/* HAKMEM_SMALLMID=1 routes requests of 256 bytes and up (to 1039) to the
 * nearest Small-Mid class that holds them; smaller requests keep their
 * Tiny class. Runs last: it rewrites the table. */
static void smallmid_enable_reroutes(void **state)
{
	(void)state;
	unsigned before[HAK_MID_MAX + 1];
	for (size_t n = 0; n <= HAK_MID_MAX; n++)
		before[n] = hak_size_class(n);
	hak_smallmid_enable();
	assert_true(hak_smallmid_enabled);
	unsigned moved = 0;
	for (size_t n = 0; n <= HAK_MID_MAX; n++) {
		unsigned c = hak_size_class(n), t = before[n];
		assert_true(hak_class_usable(c) >= n);
		if (n > HAK_TINY_MAX || n < HAK_SMALLMID_MIN) {
			assert_int_equal(c, t);
			continue;
		}
		assert_int_equal(hak_class_pool(c), HAK_POOL_SMALLMID);
		if (c > HAK_SMALLMID_FIRST)
			assert_true(hak_class_usable(c - 1) < n); /* the nearest one */
		moved++;
	}
	assert_int_equal(moved, HAK_TINY_MAX + 1 - HAK_SMALLMID_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(strides_are_16_multiples_and_increasing),
	    cmocka_unit_test(size_class_is_smallest_fit),
	    cmocka_unit_test(tiny_and_mid_index_tables),
	    cmocka_unit_test(header_bytes_are_high_and_unprintable),
	    cmocka_unit_test(hdr_class_maps_live_headers_only),
	    cmocka_unit_test(batches_within_bounds),
	    cmocka_unit_test(pool_of_class),
	    cmocka_unit_test(smallmid_enable_reroutes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
