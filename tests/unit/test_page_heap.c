/* The page heap on its own, with 1 MiB regions so a test sees whole
 * regions: spans split from the front, best fit, resident before
 * released; frees merge with free neighbours of the same kind on both
 * sides; spans grow into the free span after them, or down over the
 * free span before them, and give their tail back; resident spans are released past the delay or
 * over the byte limit, and empty regions unmapped. Every test ends with a walk of the regions that
 * checks the free lists against a model of the pages. */
#include "unit.h"
#include "page_heap.h"

#include <errno.h>

#define REGION ((size_t)1 << 20)
#define PG(n) ((size_t)(n)*HAK_PAGE)

static struct hak_page_heap heap;
static struct hak_ph_log log_;

static int setup(void **state)
{
	(void)state;
	/* What the last test left behind, live spans and all. */
	for (unsigned i = 1; i <= HAK_PH_MAX_REGIONS; i++)
		if (heap.regions[i]) munmap(heap.regions[i]->map, heap.regions[i]->map_bytes);
	memset(&heap, 0, sizeof heap);
	heap.region_bytes = REGION;
	log_.n = 0;
	return 0;
}

static uint8_t *take(size_t npages, unsigned *region)
{
	unsigned r = 0;
	uint8_t *p = hak_ph_alloc(&heap, npages, &r, &log_);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % HAK_PAGE, 0);
	if (region) *region = r;
	return p;
}

/* 1 when the last note is kind over [addr, addr + bytes); clears the log. */
static int noted(uint8_t kind, uint8_t *addr, size_t bytes)
{
	int ok = log_.n > 0 && log_.note[log_.n - 1].kind == kind &&
	         log_.note[log_.n - 1].addr == addr && log_.note[log_.n - 1].bytes == bytes;
	log_.n = 0;
	return ok;
}

/* Free spans of a kind, and the pages they hold. */
static unsigned spans(int released, size_t *pages)
{
	unsigned n = 0;
	size_t total = 0;
	for (unsigned b = 0; b < HAK_PH_BINS; b++)
		for (struct hak_ph_span *s = heap.set[released].bins[b]; s; s = s->next) {
			n++;
			total += s->npages;
		}
	if (pages) *pages = total;
	return n;
}

/* Every free span is tagged at both ends, sits in the right bin, and no
 * two free spans of one kind touch (they would have merged). */
static void check_heap(void)
{
	size_t free_pages = 0, resident = 0;
	for (unsigned i = 1; i <= HAK_PH_MAX_REGIONS; i++) {
		struct hak_ph_region *r = heap.regions[i];
		if (!r) continue;
		for (int k = 0; k < 2; k++)
			for (unsigned b = 0; b < HAK_PH_BINS; b++)
				for (struct hak_ph_span *s = heap.set[k].bins[b]; s; s = s->next) {
					if (s->region != r) continue;
					assert_int_equal(s->released, k);
					assert_int_equal(b, s->npages < HAK_PH_BINS - 1
					                        ? s->npages
					                        : HAK_PH_BINS - 1);
					uint32_t tag = (uint32_t)(s - r->desc) + 1;
					assert_int_equal(r->tag[s->first], tag);
					assert_int_equal(r->tag[s->first + s->npages - 1], tag);
					assert_true(s->first + s->npages <= r->npages);
					if (s->first + s->npages < r->npages) {
						uint32_t t = r->tag[s->first + s->npages];
						if (t)
							assert_int_not_equal(
							    r->desc[t - 1].released, k);
					}
					free_pages += s->npages;
					if (!k) resident += s->npages;
				}
	}
	assert_int_equal(heap.free_bytes, PG(free_pages));
	assert_int_equal(heap.resident_bytes, PG(resident));
}

static void splits_best_fit_resident_first(void **state)
{
	(void)state;
	unsigned r;
	uint8_t *a = take(10, &r);
	assert_int_equal(r, 1);
	assert_true(noted(HAK_PH_FRESH, a, PG(10))); /* a new region: fresh pages */
	uint8_t *b = take(20, NULL);
	assert_ptr_equal(b, a + PG(10)); /* carved right after a */
	uint8_t *c = take(3, NULL);
	assert_ptr_equal(c, b + PG(20));
	log_.n = 0;
	hak_ph_free(&heap, 1, a, 10, 1);
	hak_ph_free(&heap, 1, c, 3, 1);
	/* 3 pages: c's span fits exactly and beats a's bigger one. */
	assert_ptr_equal(take(3, NULL), c);
	assert_int_equal(log_.n, 0); /* resident: nothing faults */
	/* 4 pages: the front of a's span; its other 6 pages stay free. */
	assert_ptr_equal(take(4, NULL), a);
	assert_int_equal(log_.n, 0);
	size_t pages;
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 6);
	assert_ptr_equal(take(6, NULL), a + PG(4));
	/* Nothing resident left: the released rest of the region. */
	uint8_t *d = take(7, NULL);
	assert_ptr_equal(d, c + PG(3));
	assert_true(noted(HAK_PH_FRESH, d, PG(7)));
	check_heap();
}

static void frees_merge_both_sides(void **state)
{
	(void)state;
	uint8_t *a = take(5, NULL), *b = take(6, NULL), *c = take(7, NULL), *d = take(1, NULL);
	hak_ph_free(&heap, 1, a, 5, 1);
	hak_ph_free(&heap, 1, c, 7, 2);
	assert_int_equal(spans(0, NULL), 2);
	check_heap();
	hak_ph_free(&heap, 1, b, 6, 3); /* joins a's span and c's */
	size_t pages;
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 18);
	check_heap();
	log_.n = 0;
	assert_ptr_equal(take(18, NULL), a); /* one span again, nothing fresh */
	assert_int_equal(log_.n, 0);
	/* A resident span does not merge with the released pages beside it:
	 * the next allocation must know which pages fault. */
	hak_ph_free(&heap, 1, d, 1, 4);
	assert_int_equal(spans(0, NULL), 1);
	assert_int_equal(spans(1, NULL), 1);
	check_heap();
	hak_ph_free(&heap, 1, a, 18, 5); /* the left neighbour this time */
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 19);
	check_heap();
}

static void grows_and_shrinks_in_place(void **state)
{
	(void)state;
	uint8_t *a = take(10, NULL), *b = take(10, NULL), *c = take(2, NULL);
	memset(a, 0x5a, PG(10));
	hak_ph_free(&heap, 1, b, 10, 1);
	log_.n = 0;
	assert_true(hak_ph_grow(&heap, 1, a, 10, 15, &log_));
	assert_int_equal(log_.n, 0); /* b's pages were resident */
	assert_int_equal(a[PG(10) - 1], 0x5a);
	size_t pages;
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 5);
	/* The free span after a holds 5 pages and c follows: 11 more do not
	 * fit, and nothing changes. */
	assert_false(hak_ph_grow(&heap, 1, a, 15, 26, &log_));
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 5);
	check_heap();
	/* Shrinking gives the tail back, merged with the free span after. */
	hak_ph_shrink(&heap, 1, a, 15, 8, 2);
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 12);
	assert_ptr_equal(take(12, NULL), a + PG(8));
	check_heap();
	/* c is followed by the region's released pages: growing into them
	 * notes them as fresh. */
	assert_true(hak_ph_grow(&heap, 1, c, 2, 30, &log_));
	assert_true(noted(HAK_PH_FRESH, c + PG(2), PG(28)));
	/* No free span after a at all. */
	assert_false(hak_ph_grow(&heap, 1, a, 8, 9, &log_));
	check_heap();
	/* A resident span then released pages: growing takes both, and only
	 * the released ones are fresh. */
	uint8_t *d = c + PG(30), *e = take(6, NULL);
	assert_ptr_equal(e, d);
	log_.n = 0;
	hak_ph_free(&heap, 1, e + PG(2), 4, 3);
	hak_ph_shrink(&heap, 1, e, 2, 1, 3); /* e: 1 page, then 5 resident */
	assert_true(hak_ph_grow(&heap, 1, e, 1, 9, &log_));
	assert_true(noted(HAK_PH_FRESH, e + PG(6), PG(3)));
	check_heap();
}

static void purges_after_the_delay(void **state)
{
	(void)state;
	uint8_t *a = take(4, NULL), *b = take(4, NULL), *c = take(4, NULL), *d = take(4, NULL);
	memset(a, 1, PG(16));
	log_.n = 0;
	hak_ph_free(&heap, 1, a, 4, 1000);
	hak_ph_free(&heap, 1, c, 4, 2000);
	/* Not old enough, and under the byte limit: nothing. */
	assert_int_equal(hak_ph_purge(&heap, 1500, 1000, PG(8), 0, &log_), 0);
	assert_int_equal(log_.n, 0);
	/* a's span has waited 1000 ns: given back, zeroed. */
	assert_int_equal(hak_ph_purge(&heap, 2000, 1000, PG(8), 0, &log_), 1);
	assert_true(noted(HAK_PH_RELEASED, a, PG(4)));
	assert_int_equal(heap.resident_bytes, PG(4));
	assert_int_equal(resident_pages(a, PG(4)), 0);
	assert_int_equal(a[0], 0);
	check_heap();
	/* Over the byte limit, whatever the delay (-1: none for age). */
	assert_int_equal(hak_ph_purge(&heap, 2001, -1, PG(4), 0, &log_), 0);
	assert_int_equal(hak_ph_purge(&heap, 2001, -1, PG(3), 0, &log_), 1);
	assert_true(noted(HAK_PH_RELEASED, c, PG(4)));
	/* A released span merges with released neighbours: b's and d's pages
	 * come back fresh, as one span with the rest of the region. */
	hak_ph_free(&heap, 1, b, 4, 3000);
	hak_ph_free(&heap, 1, d, 4, 3000);
	assert_int_equal(hak_ph_purge(&heap, 3000, 0, 0, 0, &log_), 2);
	log_.n = 0;
	assert_int_equal(spans(1, NULL), 1);
	assert_int_equal(spans(0, NULL), 0);
	assert_int_equal(heap.nregions, 1); /* the last region stays mapped */
	uint8_t *all = take(hak_ph_max_pages(&heap), NULL);
	assert_ptr_equal(all, a);
	assert_true(noted(HAK_PH_FRESH, a, PG(hak_ph_max_pages(&heap))));
	check_heap();
}

static void regions_come_and_go(void **state)
{
	(void)state;
	size_t max = hak_ph_max_pages(&heap);
	assert_true(max > 200 && max < REGION / HAK_PAGE);
	unsigned r1, r2;
	uint8_t *a = take(max - 10, &r1);
	uint8_t *b = take(20, &r2); /* does not fit in the first region */
	assert_int_equal(r1, 1);
	assert_int_equal(r2, 2);
	assert_int_equal(heap.nregions, 2);
	assert_ptr_equal(take(10, &r1), a + PG(max - 10)); /* the first one's rest */
	assert_int_equal(r1, 1);
	errno = 0;
	unsigned r;
	assert_null(hak_ph_alloc(&heap, max + 1, &r, &log_));
	assert_int_equal(errno, ENOMEM);
	hak_ph_free(&heap, 2, b, 20, 1);
	/* Region 2 empties when b's span is released; region 1 stays. */
	hak_ph_purge(&heap, 1, 0, 0, 0, &log_);
	assert_int_equal(heap.nregions, 1);
	assert_null(heap.regions[2]);
	check_heap();
	hak_ph_free(&heap, 1, a + PG(max - 10), 10, 1);
	hak_ph_free(&heap, 1, a, max - 10, 1);
	hak_ph_purge(&heap, 2, 0, 0, 0, &log_);
	assert_int_equal(heap.nregions, 1); /* the last one is kept... */
	hak_ph_purge(&heap, 2, 0, 0, 1, &log_);
	assert_int_equal(heap.nregions, 0); /* ...unless asked */
	assert_int_equal(heap.free_bytes, 0);
}

/* A span that cannot grow up takes the resident free span just before it
 * (too small to hold the grown span alone) and starts there; the caller
 * moves the contents down and gives the surplus back. */
static void grows_down_over_the_free_span_before(void **state)
{
	(void)state;
	uint8_t *a = take(6, NULL), *b = take(10, NULL), *c = take(2, NULL);
	memset(b, 0x5b, PG(10));
	hak_ph_free(&heap, 1, a, 6, 1);
	/* 6 + 10 pages: 17 do not fit, 12 do. */
	assert_null(hak_ph_grow_down(&heap, 1, b, 10, 17));
	assert_int_equal(spans(0, NULL), 1);
	check_heap();
	assert_ptr_equal(hak_ph_grow_down(&heap, 1, b, 10, 12), a);
	assert_int_equal(spans(0, NULL), 0); /* the span before is the block's now */
	memmove(a, b, PG(10));
	hak_ph_shrink(&heap, 1, a, 16, 12, 2);
	size_t pages;
	assert_int_equal(spans(0, &pages), 1);
	assert_int_equal(pages, 4);
	assert_int_equal(a[PG(10) - 1], 0x5b);
	check_heap();
	/* A free span big enough for the grown block alone is a plain move's
	 * (nothing changes); a span in use before is no way down either. */
	hak_ph_free(&heap, 1, c, 2, 3); /* merges with the released tail */
	uint8_t *d = take(20, NULL), *e = take(3, NULL);
	take(1, NULL);
	hak_ph_free(&heap, 1, d, 20, 4);
	assert_null(hak_ph_grow_down(&heap, 1, e, 3, 6));
	assert_null(hak_ph_grow_down(&heap, 1, a, 12, 13));
	check_heap();
	/* A released span before is not taken: its pages would fault. */
	hak_ph_purge(&heap, 5, 0, 0, 0, &log_);
	log_.n = 0;
	assert_null(hak_ph_grow_down(&heap, 1, e, 3, 22));
	check_heap();
}

/* Random allocations, frees, grows and shrinks against a model of who
 * owns each block; blocks carry their owner's byte. */
#define SLOTS 64

static void random_ops_keep_the_invariants(void **state)
{
	(void)state;
	struct {
		uint8_t *p;
		size_t pages;
		unsigned region;
	} slot[SLOTS] = {{0}};
	uint32_t x = 12345;
	unsigned downs = 0;
	for (unsigned op = 0; op < 20000; op++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		unsigned i = x % SLOTS;
		size_t want = 1 + (x >> 8) % ((x >> 20) % 4 ? 16 : 200);
		if (!slot[i].p) {
			slot[i].p = take(want, &slot[i].region);
			slot[i].pages = want;
			memset(slot[i].p, (int)i, PG(want));
		} else if ((x >> 28) % 4 == 0) {
			size_t old = slot[i].pages;
			if (want < old) {
				hak_ph_shrink(&heap, slot[i].region, slot[i].p, old, want, op);
				slot[i].pages = want;
			} else if (want > old && hak_ph_grow(&heap, slot[i].region, slot[i].p, old,
			                                     want, &log_)) {
				memset(slot[i].p + PG(old), (int)i, PG(want - old));
				slot[i].pages = want;
			} else if (want > old) {
				uint8_t *to =
				    hak_ph_grow_down(&heap, slot[i].region, slot[i].p, old, want);
				if (to) {
					size_t span = old + (size_t)(slot[i].p - to) / HAK_PAGE;
					memset(to, (int)i, PG(want));
					if (span > want)
						hak_ph_shrink(&heap, slot[i].region, to, span, want,
						              op);
					slot[i].p = to;
					slot[i].pages = want;
					downs++;
				}
			}
		} else {
			for (size_t k = 0; k < slot[i].pages; k++)
				assert_int_equal(slot[i].p[PG(k) + k % HAK_PAGE], i);
			hak_ph_free(&heap, slot[i].region, slot[i].p, slot[i].pages, op);
			slot[i].p = NULL;
		}
		log_.n = 0;
		if (op % 97 == 0) hak_ph_purge(&heap, op, 500, PG(200), 0, &log_);
		log_.n = 0;
		if (op % 1000 == 0) check_heap();
	}
	check_heap();
	assert_true(downs > 10); /* the moves down were exercised */
	for (unsigned i = 0; i < SLOTS; i++)
		if (slot[i].p) hak_ph_free(&heap, slot[i].region, slot[i].p, slot[i].pages, 1);
	check_heap();
	do /* a full log stops a purge: the caller comes back */
		log_.n = 0;
	while (hak_ph_purge(&heap, 1, 0, 0, 1, &log_));
	assert_int_equal(heap.nregions, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(splits_best_fit_resident_first, setup),
	    cmocka_unit_test_setup(frees_merge_both_sides, setup),
	    cmocka_unit_test_setup(grows_and_shrinks_in_place, setup),
	    cmocka_unit_test_setup(grows_down_over_the_free_span_before, setup),
	    cmocka_unit_test_setup(purges_after_the_delay, setup),
	    cmocka_unit_test_setup(regions_come_and_go, setup),
	    cmocka_unit_test_setup(random_ops_keep_the_invariants, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
