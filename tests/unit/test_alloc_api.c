/* The hak_* malloc family as an embedder sees it. ctest runs this program
 * at each ptr_track level (HAKMEM_CHECK=off|fast|full); the expectations
 * that differ between levels say so. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "large.h"
#include "registry.h"
#include "tcache.h"

#include <errno.h>
#include <pthread.h>

#define MIB ((size_t)1 << 20)

static int level;

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1)); /* reads HAKMEM_CHECK */
	level = hak_check_level;
	hak_env.purge_delay_ms = -1;
	return 0;
}

/* The slab block holding p, and its class; NULL for large blocks. */
static uint8_t *block_of(void *p, unsigned *cls)
{
	unsigned kind = hak_registry_kind(p);
	if (!kind) return NULL;
	struct hak_pool *pl = &hak_pools[kind - 1];
	struct hak_superslab *ss =
	    (struct hak_superslab *)((uintptr_t)p & ~(((uintptr_t)1 << pl->ss_shift) - 1));
	struct hak_slab *s = &ss->slabs[((uintptr_t)p - (uintptr_t)ss) >> pl->slab_shift];
	uint8_t *data = hak_slab_data(ss, s);
	*cls = s->cls;
	return data + ((size_t)((uint8_t *)p - data) / s->stride) * s->stride;
}

/* Usable size: the block's bytes from p; in full mode exactly what was
 * asked for (the rest is canary), large blocks included. */
static void check_usable(void *p, size_t n)
{
	size_t u = hak_malloc_usable_size(p);
	assert_true(u >= n);
	unsigned c;
	uint8_t *b = block_of(p, &c);
	if (b && level == HAK_CHECK_FULL)
		assert_int_equal(u, n);
	else if (b)
		assert_int_equal(u, (size_t)(b + hak_class_usable(c) - (uint8_t *)p));
	else if (level == HAK_CHECK_FULL)
		assert_int_equal(u, n);
	else
		assert_int_equal(u, hak_large_usable(p));
}

static void sizes_alignment_and_usable(void **state)
{
	(void)state;
	assert_int_equal(hak_malloc_usable_size(NULL), 0);
	for (size_t n = 0; n <= 3 * MIB; n = n < 2048 ? n + 1 : n < 70000 ? n + 97 : n * 2 + 4093) {
		uint8_t *p = hak_malloc(n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % HAK_ALIGN, 0);
		check_usable(p, n);
		memset(p, 0xa5, n);
		unsigned c;
		if (n <= HAK_MID_MAX) {
			assert_ptr_equal(block_of(p, &c), p);
			assert_int_equal(c, hak_size_class(n));
			assert_int_equal(p[-1], hak_hdr_live(c));
		} else {
			assert_null(block_of(p, &c));
			assert_int_equal(p[-1], HAK_HDR_LARGE);
		}
		hak_free(p);
	}
}

static void enomem_on_impossible_sizes(void **state)
{
	(void)state;
	const size_t huge[] = {SIZE_MAX, SIZE_MAX - HAK_PAGE, (size_t)PTRDIFF_MAX + 1,
	                       (size_t)PTRDIFF_MAX, (size_t)1 << 62};
	for (unsigned i = 0; i < sizeof huge / sizeof *huge; i++) {
		errno = 0;
		assert_null(hak_malloc(huge[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(hak_memalign(64, huge[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(hak_aligned_alloc(4096, huge[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(hak_valloc(huge[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(hak_pvalloc(huge[i]));
		assert_int_equal(errno, ENOMEM);
		void *out = (void *)0x1234;
		errno = 77;
		assert_int_equal(hak_posix_memalign(&out, 64, huge[i]), ENOMEM);
		assert_int_equal(errno, 77); /* posix_memalign reports, errno untouched */
		assert_ptr_equal(out, (void *)0x1234);
	}
}

static void calloc_and_reallocarray_overflow(void **state)
{
	(void)state;
	const size_t pairs[][2] = {{SIZE_MAX / 2 + 1, 2},
	                           {SIZE_MAX, SIZE_MAX},
	                           {(size_t)1 << 32, (size_t)1 << 32},
	                           {3, SIZE_MAX / 3 + 1}};
	for (unsigned i = 0; i < 4; i++) {
		errno = 0;
		assert_null(hak_calloc(pairs[i][0], pairs[i][1]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(hak_calloc(pairs[i][1], pairs[i][0]));
		assert_int_equal(errno, ENOMEM);
	}
	char *p = hak_malloc(64);
	strcpy(p, "still here");
	errno = 0;
	assert_null(hak_reallocarray(p, SIZE_MAX / 2 + 1, 2));
	assert_int_equal(errno, ENOMEM);
	assert_string_equal(p, "still here");
	p = hak_reallocarray(p, 100, 10);
	assert_non_null(p);
	assert_string_equal(p, "still here");
	assert_true(hak_malloc_usable_size(p) >= 1000);
	hak_free(p);
	/* Zero elements is a valid, freeable allocation. */
	void *z = hak_calloc(0, 16);
	assert_non_null(z);
	hak_free(z);
}

/* calloc zeroes even a recycled dirty block or span. */
static void calloc_zeroes(void **state)
{
	(void)state;
	const size_t sizes[] = {1, 24, 1000, 5000, 32768, 100000, 2 * MIB};
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i];
		for (unsigned k = 0; k < 3; k++) {
			uint8_t *d = hak_malloc(n);
			memset(d, 0xff, n);
			hak_free(d);
		}
		uint8_t *p = hak_calloc(1, n);
		assert_non_null(p);
		for (size_t j = 0; j < n; j++)
			if (p[j]) fail_msg("calloc(1, %zu): byte %zu is 0x%02x", n, j, p[j]);
		hak_free(p);
	}
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed);
}

static void check_fill(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 131 + seed))
			fail_msg("byte %zu of %zu lost: 0x%02x", i, n, p[i]);
}

/* Grow and shrink through Tiny, Mid and Large: the common prefix stays. */
static void realloc_keeps_contents(void **state)
{
	(void)state;
	const size_t steps[] = {10,     500,     1039,  1040, 5000, 32768, 32769,
	                        100000, 3 * MIB, 20000, 100,  8,    70000, 1};
	size_t cur = 0;
	uint8_t *p = NULL;
	for (unsigned i = 0; i < sizeof steps / sizeof *steps; i++) {
		size_t n = steps[i];
		uint8_t *q = hak_realloc(p, n);
		assert_non_null(q);
		assert_int_equal((uintptr_t)q % HAK_ALIGN, 0);
		check_fill(q, cur < n ? cur : n, 3);
		fill(q, n, 3);
		check_usable(q, n);
		p = q;
		cur = n;
	}
	hak_free(p);
}

static void realloc_edges(void **state)
{
	(void)state;
	/* NULL is malloc; size 0 frees and returns NULL. */
	uint8_t *p = hak_realloc(NULL, 50);
	assert_non_null(p);
	hak_thread_flush();
	uint64_t held = stats_now().classes[hak_size_class(50)].blocks_held;
	assert_null(hak_realloc(p, 0));
	hak_thread_flush();
	if (level != HAK_CHECK_FULL) /* full mode quarantines the block first */
		assert_int_equal(stats_now().classes[hak_size_class(50)].blocks_held, held - 1);

	/* Growing inside the class stays put. */
	p = hak_malloc(20);
	fill(p, 20, 1);
	size_t usable = hak_class_usable(hak_size_class(20));
	assert_ptr_equal(hak_realloc(p, usable), p);
	check_fill(p, 20, 1);
	hak_free(p);

	/* A large block grows in place up to its span, then by mremap. */
	p = hak_malloc(100000);
	fill(p, 100000, 2);
	size_t span_usable = hak_large_usable(p);
	assert_ptr_equal(hak_realloc(p, span_usable), p);
	uint8_t *q = hak_realloc(p, 10 * MIB);
	assert_non_null(q);
	check_fill(q, 100000, 2);
	q[10 * MIB - 1] = 9;
	hak_free(q);

	/* Failure leaves the old block alone. */
	const size_t olds[] = {100, 20000, 200000};
	for (unsigned i = 0; i < 3; i++) {
		p = hak_malloc(olds[i]);
		fill(p, olds[i], 4);
		errno = 0;
		assert_null(hak_realloc(p, SIZE_MAX));
		assert_int_equal(errno, ENOMEM);
		assert_null(hak_realloc(p, (size_t)PTRDIFF_MAX + 1));
		check_fill(p, olds[i], 4);
		hak_free(p);
	}
}

/* realloc of an over-aligned large block to an impossible size must fail:
 * hak_large_resize computes (p - base) + n, which wraps when p sits more
 * than two pages into its mapping. */
static void realloc_huge_on_aligned_large_block(void **state)
{
	(void)state;
	uint8_t *p = hak_memalign(MIB, 40000);
	assert_non_null(p);
	if ((size_t)(p - hak_large_hdr(p)->base) <= 2 * HAK_PAGE) {
		hak_free(p);
		skip();
	}
	fill(p, 40000, 5);
	errno = 0;
	void *q = hak_realloc(p, SIZE_MAX - 2 * HAK_PAGE);
	if (q)
		fail_msg("realloc(p, SIZE_MAX - 8192) returned %p (p = %p) instead of NULL/ENOMEM",
		         q, (void *)p);
	assert_int_equal(errno, ENOMEM);
	check_fill(p, 40000, 5);
	hak_free(p);
}

/* One aligned allocation: alignment, the 0x8f marker when the pointer is
 * not the block start, usable size to the block's end, and a free that
 * gives back the block itself. */
static void check_aligned(uint8_t *p, size_t align, size_t n)
{
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % align, 0);
	check_usable(p, n);
	memset(p, 0x3c, n);
	unsigned c;
	uint8_t *b = block_of(p, &c);
	if (!b) {
		assert_int_equal(p[-1], HAK_HDR_LARGE);
		assert_true(hak_large_owns(p));
		hak_free(p);
		assert_false(hak_large_owns(p));
		return;
	}
	assert_true(hak_class_usable(c) >= n + (size_t)(p - b));
	if (b != p) {
		assert_int_equal(p[-1], HAK_HDR_ALIGNED);
		assert_int_equal(*(uintptr_t *)(p - 16), (uintptr_t)b ^ HAK_ALIGNED_KEY);
	}
	assert_int_equal(b[-1], hak_hdr_live(c));
	hak_free(p);
	if (level != HAK_CHECK_OFF) assert_int_equal(b[-1], hak_hdr_freed(c));
	if (level != HAK_CHECK_FULL) {
		/* LIFO thread cache: the freed block is the next one of its class. */
		void *again = hak_malloc(size_of_class(c));
		assert_ptr_equal(again, b);
		hak_free(again);
	}
}

static void aligned_family(void **state)
{
	(void)state;
	const size_t sizes[] = {1, 16, 100, 1000, 4000, 20000, 40000};
	for (size_t a = 32; a <= 2 * MIB; a <<= 1)
		for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
			size_t n = sizes[i];
			check_aligned(hak_memalign(a, n), a, n);
			check_aligned(hak_aligned_alloc(a, n), a, n);
			void *p = NULL;
			assert_int_equal(hak_posix_memalign(&p, a, n), 0);
			check_aligned(p, a, n);
		}
	/* Small alignments are plain mallocs. */
	for (size_t a = 1; a <= HAK_ALIGN; a <<= 1)
		check_aligned(hak_memalign(a, 40), HAK_ALIGN, 40);
	check_aligned(hak_valloc(100), HAK_PAGE, 100);
	check_aligned(hak_valloc(40000), HAK_PAGE, 40000);
	uint8_t *pv = hak_pvalloc(0);
	assert_true(hak_malloc_usable_size(pv) >= HAK_PAGE || level == HAK_CHECK_FULL);
	check_aligned(pv, HAK_PAGE, HAK_PAGE);
	check_aligned(hak_pvalloc(5000), HAK_PAGE, 2 * HAK_PAGE);
	/* glibc rounds a memalign alignment up to a power of two. */
	check_aligned(hak_memalign(48, 100), 64, 100);
	check_aligned(hak_memalign(100, 100), 128, 100);
	check_aligned(hak_memalign(3000, 10), 4096, 10);
}

static void alignment_errors(void **state)
{
	(void)state;
	void *p = (void *)0x1234;
	assert_int_equal(hak_posix_memalign(&p, 24, 10), EINVAL);
	assert_int_equal(hak_posix_memalign(&p, 0, 10), EINVAL);
	assert_int_equal(hak_posix_memalign(&p, 4, 10), EINVAL); /* below sizeof(void *) */
	assert_ptr_equal(p, (void *)0x1234);
	errno = 0;
	assert_null(hak_aligned_alloc(3, 10));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(hak_aligned_alloc(0, 10));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(hak_memalign(((size_t)1 << 63) + 1, 10));
	assert_int_equal(errno, EINVAL);
}

/* Realloc of an aligned pointer: stays when it fits, keeps contents when
 * it moves, and the old block is really given back. */
static void realloc_aligned_pointer(void **state)
{
	(void)state;
	uint8_t *p = hak_memalign(256, 300);
	fill(p, 300, 8);
	unsigned c;
	uint8_t *b = block_of(p, &c);
	size_t to_end = (size_t)(b + hak_class_usable(c) - p);
	assert_ptr_equal(hak_realloc(p, to_end), p);
	uint8_t *q = hak_realloc(p, 5000);
	assert_non_null(q);
	check_fill(q, 300, 8);
	hak_free(q);
}

/* Memory the allocator does not own is never written to. */
static void foreign_pointers_untouched(void **state)
{
	(void)state;
	_Alignas(16) uint8_t buf[64];
	const uint8_t hdrs[] = {0x00, 'A', HAK_HDR_LARGE, HAK_HDR_ALIGNED};
	int saved_on_error = hak_env.on_error;
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	for (unsigned i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
		memset(buf, 0x55, sizeof buf);
		buf[15] = hdrs[i];
		uint8_t before[64];
		memcpy(before, buf, sizeof buf);
		struct capture cap;
		capture_begin(&cap);
		hak_free(buf + 16);
		const char *out = capture_end(&cap);
		assert_memory_equal(buf, before, sizeof buf);
		if (level != HAK_CHECK_OFF) assert_non_null(strstr(out, "hakmem: foreign-pointer"));
		assert_int_equal(hak_malloc_usable_size(buf + 16), 0);
	}
	hak_env.on_error = saved_on_error;
}

/* Full mode keeps per-block records that survive while a slab keeps its
 * class. A purged slab has lost its blocks' fill pattern (its pages read
 * as zero), so the records saying "freed, filled" must go with it, or the
 * first block carved again is reported as written after free. */
static void *use_one_block_and_exit(void *arg)
{
	/* A block kept past the exit keeps the thread's SuperSlab (its own:
	 * pool.c homes) in use, so the emptied slab stays a slab of it. */
	void *keep = hak_malloc(16);
	hak_free(hak_malloc((size_t)(uintptr_t)arg));
	return keep; /* exit: quarantine drained, blocks and slab handed back */
}

static void purged_slab_reused_without_false_reports(void **state)
{
	(void)state;
	if (level != HAK_CHECK_FULL) skip();
	/* A Tiny class (Small-Mid or not) that nothing here used before. */
	const size_t n = 150;
	unsigned c = hak_size_class(n);
	struct hak_pool *pl = hak_pool_of_class(c);
	pthread_t t;
	void *keep;
	assert_int_equal(pthread_create(&t, NULL, use_one_block_and_exit, (void *)(uintptr_t)n), 0);
	assert_int_equal(pthread_join(t, &keep), 0);
	assert_non_null(keep);
	/* Its slab sits empty; purge it. */
	long saved_delay = hak_env.purge_delay_ms;
	hak_env.purge_delay_ms = 0;
	hak_pool_trim(0);
	hak_env.purge_delay_ms = saved_delay;
	assert_true(pl->empty_purged.n >= 1);
	assert_int_equal(pl->empty_purged.tail->cls, c);

	int saved_on_error = hak_env.on_error;
	hak_env.on_error = HAK_ON_ERROR_REPORT;
	struct capture cap;
	capture_begin(&cap);
	void *p = hak_malloc(n);
	const char *out = capture_end(&cap);
	hak_env.on_error = saved_on_error;
	if (*out)
		fail_msg("malloc(%zu) from the purged slab reported: %.*s", n,
		         (int)strcspn(out, "\n"), out);
	hak_free(p);
	hak_free(keep);
}

/* With HAKMEM_SMALLMID=1, 256..1039-byte requests come from the 1 MiB
 * Small-Mid SuperSlabs with 0xb0 headers; smaller ones stay Tiny. */
static void smallmid_routing(void **state)
{
	(void)state;
	uint8_t *small = hak_malloc(200), *sm = hak_malloc(300), *top = hak_malloc(HAK_TINY_MAX);
	assert_int_equal(small[-1] & 0xf0, 0xa0);
	assert_int_equal(hak_registry_kind(small), HAK_POOL_TINY + 1);
	uint8_t *both[] = {sm, top};
	for (unsigned i = 0; i < 2; i++) {
		uint8_t *p = both[i];
		if (!hak_smallmid_enabled) {
			assert_int_equal(p[-1] & 0xf0, 0xa0);
			continue;
		}
		assert_int_equal(p[-1] & 0xf0, 0xb0);
		assert_int_equal(hak_registry_kind(p), HAK_POOL_SMALLMID + 1);
		struct hak_superslab *ss =
		    (struct hak_superslab *)((uintptr_t)p & ~(((uintptr_t)1 << 20) - 1));
		assert_int_equal(ss->magic, HAK_SS_MAGIC);
		assert_int_equal(ss->size, (size_t)1 << 20);
		assert_int_equal(ss->nslabs, 16);
		check_usable(p, i ? HAK_TINY_MAX : 300);
	}
	memset(sm, 1, 300);
	memset(top, 2, HAK_TINY_MAX);
	/* Aligned and realloc'd Small-Mid blocks behave like any other. */
	check_aligned(hak_memalign(256, 400), 256, 400);
	uint8_t *r = hak_realloc(sm, 900);
	assert_int_equal(r[299], 1);
	assert_int_equal(hak_heap_check(), 0);
	hak_free(small);
	hak_free(r);
	hak_free(top);
}

static void version_string(void **state)
{
	(void)state;
	assert_string_equal(hak_version(), HAKMEM_VERSION_STRING " (full)");
}

/* malloc_trim gives back now what the purge delay would later: every
 * empty slab, and warm SuperSlabs beyond the limit. It once stopped after
 * its first full event buffer. */
static void malloc_trim_gives_back_everything(void **state)
{
	(void)state;
	enum { N = 60000 };
	static void *a[N];
	for (int i = 0; i < N; i++)
		assert_non_null(a[i] = hak_malloc(200));
	for (int i = 0; i < N; i++)
		hak_free(a[i]);
	struct hak_stats before, after;
	hak_stats_get(&before);
	assert_int_equal(hak_malloc_trim(0), 1);
	hak_stats_get(&after);
	assert_true(after.pages_purged > before.pages_purged);
	assert_true(after.superslabs_warm <= hak_env.warm_superslabs);
	/* Nothing resident is left in the warm cache. */
	assert_true(after.superslabs_warm == 0 || after.pages_purged - before.pages_purged > 1000);
	assert_int_equal(hak_heap_check(), 0);
	/* And the heap still works. */
	void *p = hak_malloc(200);
	assert_non_null(p);
	hak_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        purged_slab_reused_without_false_reports), /* first: needs a fresh pool */
	    cmocka_unit_test(sizes_alignment_and_usable),
	    cmocka_unit_test(enomem_on_impossible_sizes),
	    cmocka_unit_test(calloc_and_reallocarray_overflow),
	    cmocka_unit_test(calloc_zeroes),
	    cmocka_unit_test(realloc_keeps_contents),
	    cmocka_unit_test(realloc_edges),
	    cmocka_unit_test(realloc_aligned_pointer),
	    cmocka_unit_test(aligned_family),
	    cmocka_unit_test(alignment_errors),
	    cmocka_unit_test(foreign_pointers_untouched),
	    cmocka_unit_test(smallmid_routing),
	    cmocka_unit_test(version_string),
	    cmocka_unit_test(realloc_huge_on_aligned_large_block),
	    cmocka_unit_test(malloc_trim_gives_back_everything),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
