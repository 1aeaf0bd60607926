/* Large spans through large.c: their header, reuse of freed spans from
 * the page heap, its byte limit and purge delay, resize in place and by
 * mremap, alignment, and the live-pointer set. The page heap's own
 * splitting and merging is test_page_heap.c's. */
#include "pool_util.h"
#include "env.h"
#include "large.h"

#include <string.h>

#define MIB ((size_t)1 << 20)

static int setup(void **state)
{
	(void)state;
	hak_env.purge_delay_ms = -1; /* cached spans stay until the test says */
	hak_env.large_cache_mb = 64;
	hak_large_trim(1);
	return 0;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void check_fill(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 31 + seed))
			fail_msg("byte %zu of %zu: 0x%02x, expected 0x%02x", i, n, p[i],
			         (uint8_t)(i * 31 + seed));
}

static void alloc_free_usable(void **state)
{
	(void)state;
	const size_t sizes[] = {HAK_MID_MAX + 1, 40000, 100000, 4096 * 25 - 64, 3 * MIB + 5};
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i];
		struct hak_stats st0 = stats_now();
		uint8_t *p = hak_large_alloc(n, HAK_LARGE_HDR);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % HAK_LARGE_HDR, 0);
		assert_int_equal(p[-1], HAK_HDR_LARGE);
		struct hak_large_hdr *h = hak_large_hdr(p);
		assert_int_equal(h->magic, HAK_LARGE_MAGIC);
		assert_int_equal(h->requested, n);
		assert_ptr_equal(h->base + HAK_LARGE_HDR, p);
		assert_int_equal(h->map_size % HAK_PAGE, 0);
		size_t usable = hak_large_usable(p);
		assert_true(usable >= n);
		assert_true(usable < n + HAK_PAGE); /* no more than page rounding */
		fill(p, usable, i);
		assert_true(hak_large_owns(p));
		assert_false(hak_large_owns(p + 16));
		assert_false(hak_large_owns(p - HAK_LARGE_HDR));
		struct hak_stats st = stats_now();
		assert_int_equal(st.large_live, st0.large_live + 1);
		assert_int_equal(st.large_live_bytes, st0.large_live_bytes + h->map_size);
		check_fill(p, usable, i);
		hak_large_free(p);
		assert_false(hak_large_owns(p));
		st = stats_now();
		assert_int_equal(st.large_live, st0.large_live);
		assert_int_equal(st.large_live_bytes, st0.large_live_bytes);
	}
	int local;
	assert_false(hak_large_owns(&local));
}

/* The live set marks empty slots with 0 and deleted ones with 1; neither
 * value is a pointer it owns. ptr_track asks hak_large_owns() about any
 * pointer a program frees, so these must say no. */
static void owns_rejects_slot_markers(void **state)
{
	(void)state;
	void *p = hak_large_alloc(100000, HAK_LARGE_HDR);
	hak_large_free(p); /* leaves a deleted slot behind */
	void *q = hak_large_alloc(100000, HAK_LARGE_HDR);
	if (hak_large_owns(NULL))
		fail_msg("hak_large_owns(NULL) == 1: table_find() matches the first empty slot "
		         "(value 0)");
	if (hak_large_owns((void *)(uintptr_t)1))
		fail_msg(
		    "hak_large_owns((void *)1) == 1: table_find() matches a tombstone (value 1)");
	hak_large_free(q);
}

/* malloc/free of one size in a loop: one mmap, then the cache. */
static void cache_reuses_spans(void **state)
{
	(void)state;
	struct hak_stats st0 = stats_now();
	void *first = NULL;
	for (unsigned i = 0; i < 50; i++) {
		uint8_t *p = hak_large_alloc(MIB, HAK_LARGE_HDR);
		assert_non_null(p);
		if (!first) first = p;
		assert_ptr_equal(p, first); /* the one cached span, every time */
		p[0] = 1;
		p[MIB - 1] = 2;
		hak_large_free(p);
	}
	struct hak_stats st = stats_now();
	assert_int_equal(st.large_mapped, st0.large_mapped + 1);
	assert_int_equal(st.large_reused, st0.large_reused + 49);
	assert_int_equal(st.large_unmapped, st0.large_unmapped);
	/* The same through hak_malloc/hak_free. */
	for (unsigned i = 0; i < 20; i++)
		hak_free(hak_malloc(MIB));
	st = stats_now();
	assert_int_equal(st.large_mapped, st0.large_mapped + 1);
	assert_int_equal(st.large_reused, st0.large_reused + 69);
	/* mapped_bytes still counts the cached span; trim gives it back. */
	hak_large_trim(1);
	st = stats_now();
	assert_int_equal(st.large_unmapped, st0.large_unmapped + 1);
	assert_int_equal(st.mapped_bytes, st0.mapped_bytes);
}

/* A freed span serves smaller requests from its front (the page heap
 * splits it), the smallest fitting span first: reusing resident pages
 * beats faulting fresh ones. */
static void freed_spans_split(void **state)
{
	(void)state;
	void *p = hak_large_alloc(MIB, HAK_LARGE_HDR);
	void *guard = hak_large_alloc(MIB, HAK_LARGE_HDR);
	void *p4 = hak_large_alloc(4 * MIB, HAK_LARGE_HDR);
	hak_large_free(p4);
	hak_large_free(p);
	struct hak_stats st0 = stats_now();
	void *q = hak_large_alloc(MIB / 3, HAK_LARGE_HDR); /* the 1 MiB span, not the 4 MiB one */
	assert_ptr_equal(q, p);
	assert_int_equal(stats_now().large_reused, st0.large_reused + 1);
	assert_true(hak_large_usable(q) < MIB / 3 + HAK_PAGE); /* split: the rest stays free */
	void *q2 = hak_large_alloc(MIB / 2, HAK_LARGE_HDR);    /* the rest of p's span */
	assert_ptr_equal(q2, (uint8_t *)p + hak_large_hdr(q)->map_size);
	void *r = hak_large_alloc(2 * MIB, HAK_LARGE_HDR);
	assert_ptr_equal(r, p4);
	assert_int_equal(stats_now().large_reused, st0.large_reused + 3);
	assert_int_equal(stats_now().large_mapped, st0.large_mapped);
	/* Nothing resident fits: fresh pages. */
	void *big = hak_large_alloc(8 * MIB, HAK_LARGE_HDR);
	assert_int_equal(stats_now().large_mapped, st0.large_mapped + 1);
	hak_large_free(big);
	hak_large_free(r);
	hak_large_free(q2);
	hak_large_free(q);
	hak_large_free(guard);
	hak_large_trim(1);
}

/* Resident free spans past HAKMEM_LARGE_CACHE_MB are given back, the
 * oldest first. */
static void cache_limit(void **state)
{
	(void)state;
	hak_env.large_cache_mb = 3;
	struct hak_stats st0 = stats_now();
	void *big = hak_large_alloc(4 * MIB, HAK_LARGE_HDR);
	hak_large_free(big);
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped + 1);

	/* Live blocks between them, so the freed spans do not merge. */
	void *a = hak_large_alloc(MIB, HAK_LARGE_HDR), *g1 = hak_large_alloc(40000, HAK_LARGE_HDR);
	void *b = hak_large_alloc(MIB, HAK_LARGE_HDR), *g2 = hak_large_alloc(40000, HAK_LARGE_HDR);
	void *c = hak_large_alloc(MIB, HAK_LARGE_HDR), *g3 = hak_large_alloc(40000, HAK_LARGE_HDR);
	hak_large_free(a);
	hak_large_free(b);
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped + 1);
	hak_large_free(c); /* three spans of 1 MiB + 4 KiB: over 3 MiB, a's goes */
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped + 2);
	/* b's and c's spans are what is left to reuse. */
	void *r1 = hak_large_alloc(MIB, HAK_LARGE_HDR);
	void *r2 = hak_large_alloc(MIB, HAK_LARGE_HDR);
	assert_true((r1 == b && r2 == c) || (r1 == c && r2 == b));
	assert_int_equal(stats_now().large_reused, st0.large_reused + 2);
	hak_large_free(b);
	hak_large_free(c);
	hak_large_free(g1);
	hak_large_free(g2);
	hak_large_free(g3);
	hak_large_trim(1);
	/* No cache at all: a free gives the pages back at once. */
	hak_env.large_cache_mb = 0;
	struct hak_stats st1 = stats_now();
	hak_large_free(hak_large_alloc(MIB, HAK_LARGE_HDR));
	struct hak_stats st2 = stats_now();
	assert_int_equal(st2.large_mapped, st1.large_mapped + 1);
	assert_int_equal(st2.large_unmapped, st1.large_unmapped + 1);
	hak_env.large_cache_mb = 64;
	assert_int_equal(st2.mapped_bytes, st0.mapped_bytes);
}

/* With no limit (the default), a round of large blocks freed together
 * stays resident however big, and the next round reuses every span: a
 * fixed 64 MiB gave 16 of these 80 MiB back, to fault in again. */
static void default_cache_keeps_a_round(void **state)
{
	(void)state;
	enum { ROUND = 20 };
	void *b[ROUND];
	hak_env.large_cache_mb = HAK_LARGE_CACHE_MB_DEFAULT;
	for (unsigned round = 0; round < 2; round++) {
		struct hak_stats st0 = stats_now();
		for (unsigned i = 0; i < ROUND; i++)
			b[i] = hak_large_alloc(4 * MIB - HAK_PAGE, HAK_LARGE_HDR);
		struct hak_stats st1 = stats_now();
		if (round) {
			assert_int_equal(st1.large_mapped, st0.large_mapped);
			assert_int_equal(st1.large_reused, st0.large_reused + ROUND);
		}
		for (unsigned i = 0; i < ROUND; i++)
			hak_large_free(b[i]);
		assert_int_equal(stats_now().large_unmapped, st1.large_unmapped);
	}
	hak_env.large_cache_mb = 64;
	hak_large_trim(1);
}

/* With no limit on the cache, a program that stops making large blocks
 * still gives back the spans it freed last: past the purge delay, a pool
 * taking a slab gives them back (hak_large_maintain_idle). Before, only a
 * later large operation did, and with no limit nothing else would. */
static void idle_spans_go_back_when_a_slab_is_taken(void **state)
{
	(void)state;
	hak_env.large_cache_mb = HAK_LARGE_CACHE_MB_DEFAULT;
	hak_env.purge_delay_ms = 30;
	struct hak_stats st0 = stats_now();
	hak_large_free(hak_large_alloc(4 * MIB, HAK_LARGE_HDR));
	/* Before the delay, taking a slab leaves the span resident. */
	struct hak_slab *s = acquire(hak_size_class(64));
	hak_pool_release(s);
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped);
	usleep(40 * 1000);
	s = acquire(hak_size_class(64));
	hak_pool_release(s);
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped + 1);
	hak_env.purge_delay_ms = -1;
	hak_env.large_cache_mb = 64;
	hak_large_trim(1);
}

/* With the purge delay passed, a free also evicts what sat too long. */
static void cache_purge_delay(void **state)
{
	(void)state;
	struct hak_stats st0 = stats_now();
	void *a = hak_large_alloc(MIB, HAK_LARGE_HDR);
	hak_large_free(a);
	hak_env.purge_delay_ms = 0;
	hak_large_trim(0);
	assert_int_equal(stats_now().large_unmapped, st0.large_unmapped + 1);
	hak_env.purge_delay_ms = -1;
}

static void resize_in_place(void **state)
{
	(void)state;
	uint8_t *p = hak_large_alloc(100000, HAK_LARGE_HDR);
	size_t usable = hak_large_usable(p);
	fill(p, 100000, 7);
	/* Within the span: in place, requested updated. */
	assert_ptr_equal(hak_large_resize(p, usable), p);
	assert_int_equal(hak_large_hdr(p)->requested, usable);
	/* Shrinking gives the tail pages back... */
	struct hak_stats st0 = stats_now();
	assert_ptr_equal(hak_large_resize(p, 40000), p);
	assert_true(hak_large_usable(p) < 40000 + HAK_PAGE);
	size_t cut = usable - hak_large_usable(p);
	assert_int_equal(stats_now().large_live_bytes, st0.large_live_bytes - cut);
	check_fill(p, 40000, 7);
	/* ...and growing takes them again, and the free pages after them. */
	assert_ptr_equal(hak_large_resize(p, 3 * MIB), p);
	assert_true(hak_large_usable(p) >= 3 * MIB);
	check_fill(p, 40000, 7);
	p[3 * MIB - 1] = 1;
	/* A live block right after: growing needs a copy. */
	void *next = hak_large_alloc(50000, HAK_LARGE_HDR);
	assert_ptr_equal(hak_large_hdr(next)->base,
	                 hak_large_hdr(p)->base + hak_large_hdr(p)->map_size);
	assert_null(hak_large_resize(p, 4 * MIB));
	assert_int_equal(hak_large_hdr(p)->requested, 3 * MIB);
	hak_large_free(next);
	hak_large_free(p);
	hak_large_trim(1);
}

/* A block that cannot grow up moves down over the resident free span just
 * before it: contents and header come along, the live set follows, and
 * the block keeps twice what it had as room. */
static void resize_moves_down(void **state)
{
	(void)state;
	/* a's pages and b's hold b's room, with 5 pages to spare. */
	uint8_t *a = hak_large_alloc(220000, HAK_LARGE_HDR);
	uint8_t *b = hak_large_alloc(200000, HAK_LARGE_HDR);
	void *c = hak_large_alloc(50000, HAK_LARGE_HDR); /* b cannot grow up */
	assert_ptr_equal(hak_large_hdr(b)->base,
	                 hak_large_hdr(a)->base + hak_large_hdr(a)->map_size);
	size_t old = hak_large_hdr(b)->map_size;
	fill(b, hak_large_usable(b), 3);
	size_t kept = hak_large_usable(b);
	hak_large_free(a);
	struct hak_stats st0 = stats_now();
	uint8_t *q = hak_large_resize(b, 250000);
	assert_ptr_equal(q, a);
	check_fill(q, kept, 3);
	struct hak_large_hdr *h = hak_large_hdr(q);
	assert_int_equal(h->magic, HAK_LARGE_MAGIC);
	assert_int_equal(q[-1], HAK_HDR_LARGE);
	assert_ptr_equal(h->base + HAK_LARGE_HDR, q);
	assert_int_equal(h->requested, 250000);
	assert_int_equal(h->map_size, old * HAK_LARGE_GROWTH);
	assert_true(hak_large_owns(q));
	assert_false(hak_large_owns(b));
	struct hak_stats st = stats_now();
	assert_int_equal(st.large_live, st0.large_live);
	assert_int_equal(st.large_live_bytes, st0.large_live_bytes + h->map_size - old);
	assert_int_equal(st.large_mapped, st0.large_mapped); /* resident pages only */
	/* The room: the next steps stay in place. */
	assert_ptr_equal(hak_large_resize(q, hak_large_usable(q)), q);
	hak_large_free(q);
	hak_large_free(c);
	hak_large_trim(1);
}

/* A block that must move to grow gets twice the span it had
 * (hak_large_alloc_grown). Growth inside that room keeps the span, however
 * much room is left, as does a shrink by less than a quarter; a bigger
 * shrink gives the tail back. Growth by small steps then copies a
 * logarithmic number of times. */
static void growth_keeps_room(void **state)
{
	(void)state;
	uint8_t *p = hak_large_alloc(200000, HAK_LARGE_HDR);
	size_t old = hak_large_hdr(p)->map_size;
	uint8_t *q = hak_large_alloc_grown(p, 210000);
	assert_non_null(q);
	struct hak_large_hdr *h = hak_large_hdr(q);
	assert_int_equal(h->requested, 210000);
	assert_int_equal(h->map_size, old * HAK_LARGE_GROWTH);
	hak_large_free(p);
	size_t map = h->map_size;
	/* Growing inside the room: half of it is still free, and stays. */
	assert_ptr_equal(hak_large_resize(q, 250000), q);
	assert_int_equal(h->map_size, map);
	assert_int_equal(h->requested, 250000);
	assert_ptr_equal(hak_large_resize(q, hak_large_usable(q)), q);
	assert_int_equal(h->map_size, map);
	size_t small = hak_large_usable(q) - map / HAK_LARGE_SHRINK_KEEP + HAK_PAGE;
	assert_ptr_equal(hak_large_resize(q, small), q);
	assert_int_equal(h->map_size, map); /* a small shrink keeps the room */
	assert_int_equal(h->requested, small);
	assert_ptr_equal(hak_large_resize(q, 100000), q);
	assert_true(h->map_size < 100000 + HAK_LARGE_HDR + HAK_PAGE); /* a big one does not */
	hak_large_free(q);
	/* Two buffers growing in turns by 8 KiB from 40 KB to 4 MiB, each in
	 * the other's way: 500 steps, far fewer moves. */
	uint8_t *buf[2] = {hak_malloc(40000), hak_malloc(40000)};
	unsigned moves = 0;
	for (size_t n = 40000 + 8192; n <= 4 * MIB; n += 8192)
		for (unsigned i = 0; i < 2; i++) {
			buf[i][n - 8192 - 1] = (uint8_t)i;
			uint8_t *r = hak_realloc(buf[i], n);
			assert_non_null(r);
			assert_int_equal(r[n - 8192 - 1], i);
			moves += r != buf[i];
			buf[i] = r;
		}
	if (moves > 40) fail_msg("%u moves in 1000 growth steps", moves);
	hak_free(buf[0]);
	hak_free(buf[1]);
	hak_large_trim(1);
}

/* A block moved to fresh pages to grow has the pages its contents are
 * copied into faulted in at once, before the copy; its room is left
 * untouched (it costs no memory until used). */
static void grown_copy_pages_populated(void **state)
{
	(void)state;
	hak_large_trim(1); /* every free span released: the next ones are fresh */
	uint8_t *p = hak_large_alloc(300000, HAK_LARGE_HDR);
	fill(p, 300000, 9);
	void *next = hak_large_alloc(50000, HAK_LARGE_HDR); /* p cannot grow in place */
	uint8_t *q = hak_large_alloc_grown(p, 310000);
	assert_non_null(q);
	struct hak_large_hdr *h = hak_large_hdr(q);
	size_t copy = hak_align_up(HAK_LARGE_HDR + hak_large_usable(p), HAK_PAGE) / HAK_PAGE;
	size_t span = h->map_size / HAK_PAGE;
	assert_true(span > copy);
	assert_int_equal(resident_pages(h->base, copy * HAK_PAGE), copy);
	assert_int_equal(resident_pages(h->base + copy * HAK_PAGE, (span - copy) * HAK_PAGE), 0);
	memcpy(q, p, 300000);
	check_fill(q, 300000, 9);
	hak_large_free(p);
	hak_large_free(next);
	hak_large_free(q);
	hak_large_trim(1);
}

/* From HAK_LARGE_OWN_MAP up a block has a mapping of its own, and mremap
 * resizes it: contents kept, the live set and the counts follow. */
static void resize_by_mremap(void **state)
{
	(void)state;
	struct hak_stats st0 = stats_now();
	uint8_t *p = hak_large_alloc(HAK_LARGE_OWN_MAP, HAK_LARGE_HDR);
	assert_non_null(p);
	assert_int_equal(hak_large_hdr(p)->region, 0);
	fill(p, 100000, 7);
	struct hak_stats st = stats_now();
	assert_int_equal(st.large_mapped, st0.large_mapped + 1);
	size_t old_map = hak_large_hdr(p)->map_size;
	uint8_t *q = hak_large_resize(p, 3 * HAK_LARGE_OWN_MAP);
	assert_non_null(q);
	assert_ptr_equal(hak_large_hdr(q)->base + HAK_LARGE_HDR, q);
	assert_true(hak_large_usable(q) >= 3 * HAK_LARGE_OWN_MAP);
	assert_int_equal(q[-1], HAK_HDR_LARGE);
	check_fill(q, 100000, 7);
	q[3 * HAK_LARGE_OWN_MAP - 1] = 1;
	assert_true(hak_large_owns(q));
	if (q != p) assert_false(hak_large_owns(p));
	struct hak_stats st2 = stats_now();
	size_t grow = hak_large_hdr(q)->map_size - old_map;
	/* The pages mremap added fault on first touch: a large_mmap of them. */
	assert_int_equal(st2.large_mapped, st.large_mapped + 1);
	assert_int_equal(st2.mapped_bytes, st.mapped_bytes + grow);
	assert_int_equal(st2.large_live_bytes, st.large_live_bytes + grow);
	assert_int_equal(st2.large_live, st.large_live);
	hak_large_free(q);
	assert_false(hak_large_owns(q));
	st2 = stats_now();
	assert_int_equal(st2.mapped_bytes, st0.mapped_bytes); /* unmapped at once */
	assert_int_equal(st2.large_unmapped, st0.large_unmapped + 1);
}

static void alignment_up_to_2mib(void **state)
{
	(void)state;
	for (size_t a = 128; a <= 2 * MIB; a <<= 1) {
		uint8_t *p = hak_large_alloc(50000, a);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % a, 0);
		assert_int_equal(p[-1], HAK_HDR_LARGE);
		assert_true(hak_large_usable(p) >= 50000);
		assert_true(hak_large_owns(p));
		memset(p, 0xab, 50000);
		/* Shrinking works in place; growing past the largest span a
		 * region holds needs a copy (the pointer is never the span's
		 * first: base + 64 is not 128-aligned). */
		assert_ptr_equal(hak_large_resize(p, 1000), p);
		assert_true(hak_large_usable(p) >= 1000);
		assert_null(hak_large_resize(p, 64 * MIB));
		hak_large_free(p);
		assert_false(hak_large_owns(p));
	}
	/* The spans went back to the page heap: the next one reuses them. */
	struct hak_stats st0 = stats_now();
	hak_large_free(hak_large_alloc(50000, 4096));
	assert_int_equal(stats_now().large_reused, st0.large_reused + 1);
}

/* hak_large_resize on an aligned span whose pointer sits more than two
 * pages into its mapping: (p - base) + n must not wrap around. */
static void resize_huge_on_aligned_span_fails(void **state)
{
	(void)state;
	uint8_t *p = hak_large_alloc(40000, MIB);
	assert_non_null(p);
	struct hak_large_hdr *h = hak_large_hdr(p);
	size_t off = (size_t)(p - h->base);
	if (off <= 2 * HAK_PAGE) { /* rare: mapping already 1 MiB-aligned - 4 KiB */
		hak_large_free(p);
		skip();
	}
	size_t map = h->map_size;
	void *q = hak_large_resize(p, SIZE_MAX - 2 * HAK_PAGE);
	if (q)
		fail_msg("hak_large_resize(p, SIZE_MAX - 8192) returned %p for a span of %zu bytes "
		         "with p %zu bytes "
		         "in: the need computation (p - base) + n wrapped around, and requested is "
		         "now %zu",
		         q, map, off, h->requested);
	hak_large_free(p);
}

struct seen {
	void *want[5];
	unsigned hits, total;
};

static void count_live(void *p, void *arg)
{
	struct seen *acc = arg;
	acc->total++;
	for (unsigned i = 0; i < 5; i++)
		acc->hits += p == acc->want[i];
}

static void foreach_sees_live_blocks(void **state)
{
	(void)state;
	struct seen acc = {.hits = 0};
	struct hak_stats st0 = stats_now();
	for (unsigned i = 0; i < 5; i++)
		acc.want[i] = hak_large_alloc(50000 + i * 10000, i % 2 ? 4096 : HAK_LARGE_HDR);
	hak_large_foreach(count_live, &acc);
	assert_int_equal(acc.hits, 5);
	assert_int_equal(acc.total, st0.large_live + 5);
	for (unsigned i = 0; i < 5; i += 2)
		hak_large_free(acc.want[i]);
	acc.hits = acc.total = 0;
	hak_large_foreach(count_live, &acc);
	assert_int_equal(acc.hits, 2);
	hak_large_free(acc.want[1]);
	hak_large_free(acc.want[3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(alloc_free_usable, setup),
	    cmocka_unit_test_setup(owns_rejects_slot_markers, setup),
	    cmocka_unit_test_setup(cache_reuses_spans, setup),
	    cmocka_unit_test_setup(freed_spans_split, setup),
	    cmocka_unit_test_setup(cache_limit, setup),
	    cmocka_unit_test_setup(default_cache_keeps_a_round, setup),
	    cmocka_unit_test_setup(idle_spans_go_back_when_a_slab_is_taken, setup),
	    cmocka_unit_test_setup(cache_purge_delay, setup),
	    cmocka_unit_test_setup(resize_in_place, setup),
	    cmocka_unit_test_setup(grown_copy_pages_populated, setup),
	    cmocka_unit_test_setup(resize_moves_down, setup),
	    cmocka_unit_test_setup(growth_keeps_room, setup),
	    cmocka_unit_test_setup(resize_by_mremap, setup),
	    cmocka_unit_test_setup(alignment_up_to_2mib, setup),
	    cmocka_unit_test_setup(resize_huge_on_aligned_span_fails, setup),
	    cmocka_unit_test_setup(foreach_sees_live_blocks, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
