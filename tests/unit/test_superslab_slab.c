/* SuperSlabs and slabs, driven directly (not through the pool): mapping,
 * formatting, carving, page accounting, freelist order and purge. */
#include "unit.h"
#include "check.h"
#include "registry.h"
#include "slab.h"
#include "superslab.h"

static struct hak_superslab *map_tiny(void)
{
	struct hak_superslab *ss =
	    hak_superslab_map(HAK_POOL_TINY, HAK_SS_SHIFT_TINY, HAK_SLAB_SHIFT_TINY);
	assert_non_null(ss);
	/* Residency checks below count 4 KiB pages: keep THP out of it. */
	madvise(ss, ss->size, MADV_NOHUGEPAGE);
	return ss;
}

static void map_gives_aligned_registered_superslab(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	size_t size = (size_t)1 << HAK_SS_SHIFT_TINY;
	assert_int_equal((uintptr_t)ss & (size - 1), 0);
	assert_int_equal(ss->size, size);
	assert_int_equal(ss->magic, HAK_SS_MAGIC);
	assert_int_equal(ss->pool, HAK_POOL_TINY);
	assert_int_equal(ss->nslabs, size >> HAK_SLAB_SHIFT_TINY);
	assert_int_equal(ss->free_slots, 0xffffffffu);
	assert_int_equal(ss->in_use, 0);
	assert_int_equal(hak_registry_kind(ss), HAK_POOL_TINY + 1);
	assert_int_equal(hak_registry_kind((uint8_t *)ss + size - 1), HAK_POOL_TINY + 1);
	for (unsigned i = 0; i < ss->nslabs; i++) {
		struct hak_slab *s = &ss->slabs[i];
		assert_int_equal(s->index, i);
		assert_int_equal(s->state, SLAB_FREE);
		assert_int_equal(s->cls, HAK_NO_CLASS);
		assert_ptr_equal(hak_slab_ss(s), ss);
		assert_ptr_equal(hak_slab_base(ss, s),
		                 (uint8_t *)ss + ((size_t)i << HAK_SLAB_SHIFT_TINY));
		/* Slab 0 shares the header page; the others start after a 16-byte pad. */
		assert_int_equal(s->data_offset, i == 0 ? HAK_PAGE : HAK_ALIGN);
		assert_int_equal(s->touched_pages, i == 0 ? 1 : 0);
	}
	/* Only the header page was written. */
	assert_int_equal(resident_pages(ss, 64 * HAK_PAGE), 1);

	hak_superslab_unmap(ss);
	assert_int_equal(hak_registry_kind(ss), 0);
}

static void mid_superslab_geometry(void **state)
{
	(void)state;
	struct hak_superslab *ss =
	    hak_superslab_map(HAK_POOL_MID, HAK_SS_SHIFT_MID, HAK_SLAB_SHIFT_MID);
	assert_non_null(ss);
	assert_int_equal(ss->nslabs, 1u << (HAK_SS_SHIFT_MID - HAK_SLAB_SHIFT_MID));
	assert_int_equal(ss->free_slots, (1u << ss->nslabs) - 1);
	assert_int_equal(hak_ss_slab_size(ss), 1u << HAK_SLAB_SHIFT_MID);
	assert_int_equal(hak_registry_kind(ss), HAK_POOL_MID + 1);
	hak_superslab_unmap(ss);
	assert_int_equal(hak_registry_kind(ss), 0);
}

/* Small-Mid: 1 MiB, aligned to 1 MiB, 16 slabs of 64 KiB. */
static void smallmid_superslab_geometry(void **state)
{
	(void)state;
	struct hak_superslab *ss =
	    hak_superslab_map(HAK_POOL_SMALLMID, HAK_SS_SHIFT_SMALLMID, HAK_SLAB_SHIFT_SMALLMID);
	assert_non_null(ss);
	assert_int_equal(ss->size, (size_t)1 << 20);
	assert_int_equal((uintptr_t)ss & (ss->size - 1), 0);
	assert_int_equal(ss->nslabs, 16);
	assert_int_equal(ss->free_slots, 0xffffu);
	assert_int_equal(hak_registry_kind(ss), HAK_POOL_SMALLMID + 1);
	assert_int_equal(hak_registry_kind((uint8_t *)ss + ss->size - 1), HAK_POOL_SMALLMID + 1);
	/* The grain next door is not this SuperSlab's. */
	assert_int_equal(hak_registry_kind((uint8_t *)ss + ss->size), 0);
	struct hak_slab *s = &ss->slabs[15];
	hak_slab_format(ss, s, HAK_SMALLMID_FIRST + 1);
	void *head, *tail;
	struct hak_take t;
	hak_slab_take(ss, s, 4, &head, &tail, &t);
	assert_int_equal(t.got, 4);
	assert_int_equal(((uint8_t *)head)[-1], HAK_CHECKING() ? 0xf1 : 0xb1);
	assert_true((uint8_t *)tail < (uint8_t *)ss + ss->size);
	hak_superslab_unmap(ss);
	assert_int_equal(hak_registry_kind(ss), 0);
}

/* Capacity is the most blocks that fit: the last block's usable bytes
 * end inside the slab, and one more block would not. */
/* The SuperSlab's unit map (hak_unit_class, the release free's class)
 * follows every slab's class: mapped with none, formatted, formatted
 * again for another class, and given up; every 64 KiB unit of a 256 KiB
 * Mid slab, and no unit of its neighbours. */
static void unit_map_follows_slab_class(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_superslab *mid =
	    hak_superslab_map(HAK_POOL_MID, HAK_SS_SHIFT_MID, HAK_SLAB_SHIFT_MID);
	assert_non_null(mid);
	for (unsigned u = 0; u < HAK_MAX_SLABS_PER_SS; u++) {
		assert_int_equal(hak_unit_class((uint8_t *)ss + ((size_t)u << HAK_UNIT_SHIFT)),
		                 HAK_NO_CLASS);
		assert_int_equal(hak_unit_class((uint8_t *)mid + ((size_t)u << HAK_UNIT_SHIFT)),
		                 HAK_NO_CLASS);
	}
	const unsigned tiny = hak_size_class(64), mid_a = hak_size_class(4000),
	               mid_b = hak_size_class(9000);
	hak_slab_format(ss, &ss->slabs[5], tiny);
	hak_slab_format(mid, &mid->slabs[2], mid_a);
	for (unsigned k = 0; k < 2; k++) {
		unsigned want = k ? mid_b : mid_a;
		for (unsigned u = 0; u < HAK_MAX_SLABS_PER_SS; u++) {
			uint8_t *t = (uint8_t *)ss + ((size_t)u << HAK_UNIT_SHIFT) + 4099;
			uint8_t *m = (uint8_t *)mid + ((size_t)u << HAK_UNIT_SHIFT) + 4099;
			assert_int_equal(hak_unit_class(t), u == 5 ? tiny : HAK_NO_CLASS);
			/* Units 8..11 are Mid slab 2. */
			assert_int_equal(hak_unit_class(m), u / 4 == 2 ? want : HAK_NO_CLASS);
		}
		hak_slab_format(mid, &mid->slabs[2], mid_b);
	}
	hak_slab_set_class(&mid->slabs[2], HAK_NO_CLASS);
	assert_int_equal(hak_unit_class((uint8_t *)mid + (9u << HAK_UNIT_SHIFT)), HAK_NO_CLASS);
	hak_superslab_unmap(mid);
	hak_superslab_unmap(ss);
}

static void format_capacity(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	for (unsigned c = 0; c < HAK_TINY_CLASSES; c++)
		for (unsigned i = 0; i < 2; i++) {
			struct hak_slab *s = &ss->slabs[i];
			hak_slab_format(ss, s, c);
			size_t slab = hak_ss_slab_size(ss);
			assert_int_equal(s->cls, c);
			assert_int_equal(s->stride, hak_class_stride[c]);
			assert_int_equal(s->carved, 0);
			assert_int_equal(s->used, 0);
			assert_null(s->freelist);
			size_t last_end = s->data_offset + (size_t)s->capacity * s->stride - 1;
			assert_true(last_end <= slab);
			assert_true(last_end + s->stride > slab);
			assert_true(hak_slab_has_free(s));
		}
	/* Mid classes in a 256 KiB slab. */
	struct hak_superslab *mid =
	    hak_superslab_map(HAK_POOL_MID, HAK_SS_SHIFT_MID, HAK_SLAB_SHIFT_MID);
	assert_non_null(mid);
	for (unsigned c = HAK_TINY_CLASSES; c < HAK_NUM_CLASSES; c++) {
		hak_slab_format(mid, &mid->slabs[1], c);
		assert_int_equal(mid->slabs[1].capacity,
		                 ((1u << HAK_SLAB_SHIFT_MID) - HAK_ALIGN) / hak_class_stride[c]);
		hak_slab_format(mid, &mid->slabs[0], c);
		assert_int_equal(mid->slabs[0].capacity,
		                 ((1u << HAK_SLAB_SHIFT_MID) - HAK_PAGE) / hak_class_stride[c]);
	}
	hak_superslab_unmap(mid);
	hak_superslab_unmap(ss);
}

/* Carving writes the live header, or under ptr_track the freed one: a
 * block becomes live only when malloc hands it out. */
static uint8_t carved_hdr(unsigned cls)
{
	return HAK_CHECKING() ? hak_hdr_freed(cls) : hak_hdr_live(cls);
}

/* Walks a taken chain of n blocks; checks order, alignment and headers. */
static void check_chain(struct hak_superslab *ss, struct hak_slab *s, void *head, void *tail,
                        unsigned n, uint32_t first_index)
{
	uint8_t *data = hak_slab_data(ss, s);
	void *p = head;
	for (unsigned k = 0; k < n; k++) {
		assert_int_equal((uintptr_t)p % HAK_ALIGN, 0);
		assert_ptr_equal(p, data + (size_t)(first_index + k) * s->stride);
		assert_int_equal(((uint8_t *)p)[-1], carved_hdr(s->cls));
		assert_int_equal(hak_slab_block_index(ss, s, p), first_index + k);
		if (k + 1 < n) p = hak_block_next(p);
	}
	assert_ptr_equal(p, tail);
}

static void take_carves_with_headers_and_counts_pages(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[3];
	unsigned cls = 3; /* stride 64: 64 blocks per page */
	hak_slab_format(ss, s, cls);
	void *head, *tail;
	struct hak_take t;

	hak_slab_take(ss, s, 5, &head, &tail, &t);
	assert_int_equal(t.got, 5);
	assert_int_equal(t.from_carve, 5);
	assert_int_equal(t.from_freelist, 0);
	assert_int_equal(t.new_pages, 1);
	assert_int_equal(t.refault, 0);
	assert_int_equal(s->carved, 5);
	assert_int_equal(s->used, 5);
	check_chain(ss, s, head, tail, 5, 0);

	/* Same page again: nothing new. */
	hak_slab_take(ss, s, 5, &head, &tail, &t);
	assert_int_equal(t.got, 5);
	assert_int_equal(t.new_pages, 0);
	check_chain(ss, s, head, tail, 5, 5);

	/* Carve up to block 200: its bytes end on page 3 (0-based). Use every
	 * byte of every block as a caller would, then let the kernel say
	 * which pages are resident: new_pages must match. */
	hak_slab_take(ss, s, 190, &head, &tail, &t);
	assert_int_equal(t.got, 190);
	check_chain(ss, s, head, tail, 190, 10);
	uint8_t *base = hak_slab_base(ss, s);
	uint8_t *data = hak_slab_data(ss, s);
	for (uint32_t i = 0; i < s->carved; i++)
		memset(data + (size_t)i * s->stride, 0x5a, hak_class_usable(cls));
	size_t resident = resident_pages(base, hak_ss_slab_size(ss));
	assert_int_equal(1 + t.new_pages, resident);
	assert_int_equal(s->touched_pages, resident);
	/* Writing the blocks did not disturb the headers. */
	for (uint32_t i = 0; i < s->carved; i++)
		assert_int_equal(data[(size_t)i * s->stride - 1], carved_hdr(cls));
	hak_superslab_unmap(ss);
}

/* Page accounting for every Tiny class: carve in batches and compare the
 * sum of new_pages with what the kernel says is resident. */
static void new_pages_match_residency_for_all_classes(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
		struct hak_slab *s = &ss->slabs[1 + c];
		hak_slab_format(ss, s, c);
		uint8_t *data = hak_slab_data(ss, s);
		uint32_t sum = 0;
		for (;;) {
			void *head, *tail;
			struct hak_take t;
			uint32_t before = s->carved;
			hak_slab_take(ss, s, hak_class_batch(c), &head, &tail, &t);
			if (!t.got) break;
			for (uint32_t i = before; i < s->carved; i++)
				memset(data + (size_t)i * s->stride, 1, hak_class_usable(c));
			sum += t.new_pages;
			assert_int_equal(
			    sum, resident_pages(hak_slab_base(ss, s), hak_ss_slab_size(ss)));
		}
		assert_int_equal(s->carved, s->capacity);
		assert_int_equal(s->used, s->capacity);
		assert_false(hak_slab_has_free(s));
		assert_int_equal(sum, s->touched_pages);
	}
	hak_superslab_unmap(ss);
}

static void slab0_starts_after_header_page(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[0];
	hak_slab_format(ss, s, 0);
	void *head, *tail;
	struct hak_take t;
	hak_slab_take(ss, s, 1, &head, &tail, &t);
	assert_ptr_equal(head, (uint8_t *)ss + HAK_PAGE);
	/* Block 0's header is the header page's last byte. */
	assert_int_equal(((uint8_t *)ss)[HAK_PAGE - 1], carved_hdr(0));
	assert_int_equal(t.new_pages, 1); /* page 1; page 0 was already counted */
	assert_int_equal(s->touched_pages, 2);
	assert_int_equal(ss->magic, HAK_SS_MAGIC);
	hak_superslab_unmap(ss);
}

static void freelist_first_then_carve(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[2];
	hak_slab_format(ss, s, 5);
	void *head, *tail;
	struct hak_take t;
	hak_slab_take(ss, s, 8, &head, &tail, &t);
	void *blk[8];
	blk[0] = head;
	for (int i = 1; i < 8; i++)
		blk[i] = hak_block_next(blk[i - 1]);

	/* Give back blocks 6 and 2 as a chain 6 -> 2. */
	hak_block_set_next(blk[6], blk[2]);
	hak_slab_put(s, blk[6], blk[2], 2);
	assert_int_equal(s->used, 6);
	assert_ptr_equal(s->freelist, blk[6]);
	hak_block_set_next(blk[4], NULL);
	hak_slab_put(s, blk[4], blk[4], 1); /* freelist: 4 -> 6 -> 2 */
	assert_int_equal(s->used, 5);

	hak_slab_take(ss, s, 5, &head, &tail, &t);
	assert_int_equal(t.got, 5);
	assert_int_equal(t.from_freelist, 3);
	assert_int_equal(t.from_carve, 2);
	assert_int_equal(t.new_pages, 0);
	void *p = head;
	void *want[] = {blk[4], blk[6], blk[2]};
	for (int i = 0; i < 3; i++, p = hak_block_next(p))
		assert_ptr_equal(p, want[i]);
	assert_ptr_equal(p, hak_slab_data(ss, s) + 8 * s->stride); /* then fresh blocks 8, 9 */
	assert_ptr_equal(hak_block_next(p), tail);
	assert_null(s->freelist);
	assert_int_equal(s->used, 10);
	assert_int_equal(s->carved, 10);

	/* A take that wants fewer than the freelist has leaves the rest. */
	hak_block_set_next(blk[0], blk[1]);
	hak_block_set_next(blk[1], blk[3]);
	hak_slab_put(s, blk[0], blk[3], 3);
	hak_slab_take(ss, s, 2, &head, &tail, &t);
	assert_int_equal(t.from_freelist, 2);
	assert_int_equal(t.from_carve, 0);
	assert_ptr_equal(head, blk[0]);
	assert_ptr_equal(tail, blk[1]);
	assert_ptr_equal(s->freelist, blk[3]);
	hak_superslab_unmap(ss);
}

/* A freelist of lo..hi blocks is taken whole, in one step: its links are
 * not read (a damaged one in the middle is not noticed here; the bin pop
 * that reaches it checks it). Outside lo..hi nothing is taken. */
static void take_freelist_whole_without_walking(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[4];
	hak_slab_format(ss, s, 6);
	void *head, *tail, *got;
	struct hak_take t;
	hak_slab_take(ss, s, 10, &head, &tail, &t);
	hak_slab_put(s, head, tail, 10); /* tail's next becomes the empty freelist */
	assert_int_equal(s->carved - s->used, 10);

	assert_false(hak_slab_take_freelist(s, 11, 64, &got, &t)); /* shorter than a batch */
	assert_false(hak_slab_take_freelist(s, 2, 9, &got, &t));   /* more than the bin holds */
	assert_ptr_equal(s->freelist, head);
	assert_int_equal(s->used, 0);

	void *third = hak_block_next(hak_block_next(head));
	uintptr_t saved = *(uintptr_t *)third;
	*(uintptr_t *)third = 0x8; /* a link no walk could follow */
	assert_true(hak_slab_take_freelist(s, 10, 10, &got, &t));
	assert_ptr_equal(got, head);
	assert_int_equal(t.got, 10);
	assert_int_equal(t.from_freelist, 10);
	assert_int_equal(t.from_carve, 0);
	assert_int_equal(t.new_pages, 0);
	assert_null(s->freelist);
	assert_int_equal(s->used, s->carved);
	*(uintptr_t *)third = saved;
	unsigned n = 0;
	for (void *p = got; p; p = hak_block_next(p))
		n++;
	assert_int_equal(n, 10); /* and the list ends in NULL */

	assert_false(hak_slab_take_freelist(s, 1, 64, &got, &t)); /* empty */
	hak_superslab_unmap(ss);
}

static void take_stops_at_capacity(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[5];
	hak_slab_format(ss, s, 15); /* 1040-byte stride: 63 blocks, exactly filling the slab */
	void *head, *tail;
	struct hak_take t;
	hak_slab_take(ss, s, s->capacity + 10, &head, &tail, &t);
	assert_int_equal(t.got, s->capacity);
	assert_int_equal(s->touched_pages, hak_ss_slab_size(ss) / HAK_PAGE);
	void *last = tail;
	hak_slab_take(ss, s, 4, &head, &tail, &t);
	assert_int_equal(t.got, 0);
	assert_int_equal(t.new_pages, 0);
	assert_null(head);
	assert_false(hak_slab_has_free(s));
	hak_slab_put(s, last, last, 1);
	assert_true(hak_slab_has_free(s));
	hak_superslab_unmap(ss);
}

static void block_index(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	struct hak_slab *s = &ss->slabs[1];
	hak_slab_format(ss, s, 7); /* stride 144 */
	uint8_t *data = hak_slab_data(ss, s);
	assert_int_equal(hak_slab_block_index(ss, s, data), 0);
	assert_int_equal(hak_slab_block_index(ss, s, data + 144 * 7), 7);
	assert_int_equal(hak_slab_block_index(ss, s, data + 144 * 7 + 16), -1); /* interior */
	assert_int_equal(hak_slab_block_index(ss, s, data - 16), -1);
	assert_int_equal(hak_slab_block_index(ss, s, data + (size_t)144 * s->capacity), -1);
	hak_superslab_unmap(ss);
}

/* Purge gives back every slab page but the header page, resets the
 * high-water marks and flags the refaults that will follow. */
static void purge_resets_pages(void **state)
{
	(void)state;
	struct hak_superslab *ss = map_tiny();
	void *head, *tail;
	struct hak_take t;
	uint32_t expect = 0;
	for (unsigned i = 0; i < 4; i++) {
		struct hak_slab *s = &ss->slabs[i];
		hak_slab_format(ss, s, 10);
		hak_slab_take(ss, s, 40, &head, &tail, &t);
		expect += s->touched_pages - (i == 0);
	}
	/* A stray write in a slab nobody carved is given back too. */
	((uint8_t *)hak_slab_base(ss, &ss->slabs[9]))[100] = 1;
	size_t before = resident_pages(ss, 4 * hak_ss_slab_size(ss));
	assert_int_equal(before, expect + 1);

	size_t pages = hak_superslab_purge(ss);
	assert_int_equal(pages, expect);
	assert_int_equal(ss->purged, 1);
	for (unsigned i = 0; i < ss->nslabs; i++) {
		assert_int_equal(ss->slabs[i].touched_pages, i == 0 ? 1 : 0);
		if (i < 4) /* slabs that gave pages back expect refaults */
			assert_int_equal(ss->slabs[i].purged, 1);
	}
	assert_int_equal(resident_pages(ss, 4 * hak_ss_slab_size(ss)), 1);
	assert_int_equal(resident_pages(hak_slab_base(ss, &ss->slabs[9]), HAK_PAGE), 0);
	/* The header survived: the magic is still there. */
	assert_int_equal(ss->magic, HAK_SS_MAGIC);

	/* Carving again reports refaults. */
	struct hak_slab *s = &ss->slabs[1];
	hak_slab_format(ss, s, 10);
	hak_slab_take(ss, s, 1, &head, &tail, &t);
	assert_int_equal(t.new_pages, 1);
	assert_int_equal(t.refault, 1);
	hak_superslab_unmap(ss);
}

/* Without ptr_track carved blocks are live at once (0xa0|c); with it they
 * stay freed (0xe0|c) until malloc marks them. */
static void carve_header_follows_check_level(void **state)
{
	(void)state;
	int saved = hak_check_level;
	struct hak_superslab *ss = map_tiny();
	void *head, *tail;
	struct hak_take t;
	const int levels[] = {HAK_CHECK_OFF, HAK_CHECK_FAST};
	for (unsigned k = 0; k < 2; k++) {
		hak_check_level = levels[k];
		struct hak_slab *s = &ss->slabs[1 + k];
		hak_slab_format(ss, s, 6);
		hak_slab_take(ss, s, 3, &head, &tail, &t);
		assert_int_equal(t.got, 3);
		for (void *p = head;; p = hak_block_next(p)) {
			assert_int_equal(((uint8_t *)p)[-1], k == 0 ? 0xa6 : 0xe6);
			if (p == tail) break;
		}
	}
	hak_check_level = saved;
	hak_superslab_unmap(ss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(map_gives_aligned_registered_superslab),
	    cmocka_unit_test(mid_superslab_geometry),
	    cmocka_unit_test(smallmid_superslab_geometry),
	    cmocka_unit_test(unit_map_follows_slab_class),
	    cmocka_unit_test(format_capacity),
	    cmocka_unit_test(take_carves_with_headers_and_counts_pages),
	    cmocka_unit_test(new_pages_match_residency_for_all_classes),
	    cmocka_unit_test(slab0_starts_after_header_page),
	    cmocka_unit_test(freelist_first_then_carve),
	    cmocka_unit_test(take_freelist_whole_without_walking),
	    cmocka_unit_test(take_stops_at_capacity),
	    cmocka_unit_test(block_index),
	    cmocka_unit_test(purge_resets_pages),
	    cmocka_unit_test(carve_header_follows_check_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
