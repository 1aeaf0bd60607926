/* Malloc conformance: the correctness floor (docs/reference.md), checked
 * through the libc names (which libhakmem*.so overrides) and through the
 * hak_* names. Each test is written once against a table of function
 * pointers and run for both tables.
 *
 * Built with -DCONFORMANCE_GLIBC_BASELINE it runs the libc table only,
 * against glibc itself: that build checks the tests, not the allocator. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#ifndef CONFORMANCE_GLIBC_BASELINE
#include "hakmem.h"
#include "linked_check.h"
#endif

/* Known glibc 2.36 deviations, so the baseline build can skip exactly the
 * checks glibc itself fails. hakmem has no quirks. */
enum {
	QUIRK_LAX_ALIGNED_ALLOC = 1, /* aligned_alloc(3, n) succeeds before glibc 2.38 */
	QUIRK_PVALLOC0_SMALL = 2,    /* pvalloc(0) yields less than a page */
};

struct api {
	const char *name;
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable)(void *);
	long (*heap_check)(void); /* NULL: nothing to check */
	long (*live_large)(void); /* count of live large (mmap'd) blocks */
	unsigned quirks;
};

#define MiB (1024u * 1024u)
#define FAILF(fmt, ...)                                                                            \
	do {                                                                                       \
		print_error("[%s] " fmt "\n", A->name, ##__VA_ARGS__);                             \
		fail();                                                                            \
	} while (0)
#define EXPECT(cond, fmt, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) FAILF("%s: " fmt, #cond, ##__VA_ARGS__);                              \
	} while (0)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}
static int aligned_to(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* A byte pattern keyed by a seed, so two live blocks never look alike
 * and an overlap between them shows up as a mismatch. */
static uint8_t pat(size_t seed, size_t i)
{
	return (uint8_t)((seed * 0x9e3779b1u) ^ (i * 131u) ^ (i >> 8));
}

static void fill(void *p, size_t n, size_t seed)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = pat(seed, i);
}

/* Index of the first wrong byte, or -1. */
static long verify(const void *p, size_t n, size_t seed)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(seed, i)) return (long)i;
	return -1;
}

static long first_nonzero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i]) return (long)i;
	return -1;
}

/* Each test leaves a heap that hak_heap_check() finds clean: a write past
 * an overstated usable size, for one, corrupts a neighbour's header. */
static int heap_check_teardown(void **state)
{
	const struct api *A = *state;
	if (A->heap_check) {
		long problems = A->heap_check();
		if (problems) {
			print_error("[%s] hak_heap_check() found %ld problems\n", A->name,
			            problems);
			return -1;
		}
	}
	return 0;
}

/* Every size 0..4096 at once: 16-aligned, usable >= size, and no two
 * live blocks overlap (each keeps its own pattern until freed). */
static void test_alignment_small(void **state)
{
	const struct api *A = *state;
	enum { N = 4097 };
	static void *blocks[N];

	for (size_t n = 0; n < N; n++) {
		void *p = A->malloc(n);
		EXPECT(p != NULL, "malloc(%zu)", n);
		EXPECT(aligned_to(p, 16), "malloc(%zu) = %p", n, p);
		EXPECT(A->usable(p) >= n, "malloc(%zu): usable %zu", n, A->usable(p));
		fill(p, n, n);
		blocks[n] = p;
	}
	for (size_t n = 0; n < N; n++) {
		long bad = verify(blocks[n], n, n);
		EXPECT(bad < 0, "malloc(%zu) = %p: byte %ld overwritten by another block", n,
		       blocks[n], bad);
		A->free(blocks[n]);
	}
}

/* usable >= request, and all of the usable size is writable. */
static void check_usable(const struct api *A, size_t n)
{
	void *p = A->malloc(n);
	EXPECT(p != NULL, "malloc(%zu)", n);
	EXPECT(aligned_to(p, 16), "malloc(%zu) = %p", n, p);
	size_t u = A->usable(p);
	EXPECT(u >= n, "malloc(%zu): usable %zu", n, u);
	memset(p, 0x5a, u);
	A->free(p);
}

static void test_usable_size(void **state)
{
	const struct api *A = *state;

	EXPECT(A->usable(NULL) == 0, "usable(NULL) = %zu", A->usable(NULL));
	/* Every size through the Tiny and Mid classes and a bit past them. */
	for (size_t n = 0; n <= 65536; n++)
		check_usable(A, n);
	/* Large: around each power of two, and in between, up to 8 MiB. */
	for (size_t k = 16; k <= 23; k++) {
		size_t b = (size_t)1 << k;
		size_t sizes[] = {b - 1,    b,        b + 1,     b + 4095,
		                  b + 4096, b + 4097, b + b / 3, b + b / 2};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (sizes[i] <= 8 * MiB) check_usable(A, sizes[i]);
	}
	check_usable(A, 8 * MiB);
}

/* calloc must zero blocks that come back dirty from a free. Batches make
 * the reuse real: freed blocks sit in a thread cache or slab freelist and
 * the callocs that follow are served from there. */
static void test_calloc_zeroes_reused(void **state)
{
	const struct api *A = *state;
	static const size_t sizes[] = {1,     8,     15,    16,     24,   100,  256,
	                               512,   1000,  1039,  1040,   2000, 4096, 10000,
	                               32768, 32783, 40000, 100000, MiB};
	enum { BATCH = 32, ROUNDS = 12 };
	void *b[BATCH];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		size_t batch = n >= 100000 ? 4 : BATCH;
		for (size_t i = 0; i < batch; i++) {
			b[i] = A->malloc(n);
			EXPECT(b[i] != NULL, "malloc(%zu)", n);
			memset(b[i], 0xff, A->usable(b[i]));
		}
		for (int r = 0; r < ROUNDS; r++) {
			for (size_t i = 0; i < batch; i++)
				A->free(b[i]);
			for (size_t i = 0; i < batch; i++) {
				/* Vary the factorisation; the product is what counts. */
				b[i] =
				    (r & 1) && n % 4 == 0 ? A->calloc(n / 4, 4) : A->calloc(1, n);
				EXPECT(b[i] != NULL, "calloc(%zu)", n);
				long nz = first_nonzero(b[i], n);
				EXPECT(nz < 0, "calloc(%zu) round %d = %p: byte %ld not zero", n, r,
				       b[i], nz);
				memset(b[i], 0xff, A->usable(b[i]));
			}
		}
		for (size_t i = 0; i < batch; i++)
			A->free(b[i]);
	}
}

static void expect_enomem_null(const struct api *A, void *p, const char *what)
{
	int e = errno;
	if (p) A->free(p);
	EXPECT(p == NULL, "%s returned %p", what, p);
	EXPECT(e == ENOMEM, "%s: errno %d (%s), want ENOMEM", what, e, strerror(e));
}

static void test_calloc_overflow(void **state)
{
	const struct api *A = *state;
	const size_t half = SIZE_MAX / 2 + 1;

	errno = 0;
	expect_enomem_null(A, A->calloc(half, 3), "calloc(SIZE_MAX/2+1, 3)");
	errno = 0;
	expect_enomem_null(A, A->calloc(3, half), "calloc(3, SIZE_MAX/2+1)");
	/* The product wraps to exactly 0: a naive check would hand out malloc(0). */
	errno = 0;
	expect_enomem_null(A, A->calloc(2, half), "calloc(2, SIZE_MAX/2+1)");
	errno = 0;
	expect_enomem_null(A, A->calloc(SIZE_MAX, SIZE_MAX), "calloc(SIZE_MAX, SIZE_MAX)");
	errno = 0;
	expect_enomem_null(A, A->calloc(1, SIZE_MAX), "calloc(1, SIZE_MAX)");

	/* Zero-sized callocs still give unique, freeable pointers. */
	void *a = A->calloc(0, 5), *b = A->calloc(5, 0);
	EXPECT(a != NULL && b != NULL && a != b, "calloc(0,5) = %p, calloc(5,0) = %p", a, b);
	A->free(a);
	A->free(b);
}

static void test_reallocarray(void **state)
{
	const struct api *A = *state;
	const size_t half = SIZE_MAX / 2 + 1;

	errno = 0;
	expect_enomem_null(A, A->reallocarray(NULL, half, 3),
	                   "reallocarray(NULL, SIZE_MAX/2+1, 3)");

	void *p = A->malloc(64);
	EXPECT(p != NULL, "malloc(64)");
	fill(p, 64, 7);
	errno = 0;
	void *q = A->reallocarray(p, 2, half);
	int e = errno;
	EXPECT(q == NULL, "reallocarray(p, 2, SIZE_MAX/2+1) = %p", q);
	EXPECT(e == ENOMEM, "reallocarray overflow: errno %d", e);
	/* A failed reallocarray leaves the block alone. */
	EXPECT(verify(p, 64, 7) < 0, "block changed by failed reallocarray");

	q = A->reallocarray(p, 100, 10);
	EXPECT(q != NULL, "reallocarray(p, 100, 10)");
	EXPECT(A->usable(q) >= 1000, "reallocarray(p, 100, 10): usable %zu", A->usable(q));
	EXPECT(verify(q, 64, 7) < 0, "reallocarray lost the content");
	A->free(q);
}

/* Grow through every class boundary and shrink back, checking that the
 * common prefix survives each move. */
static void test_realloc_across_classes(void **state)
{
	const struct api *A = *state;
	static const size_t up[] = {1,    15,   16,    31,    100,     1000,   1039,
	                            1040, 4000, 32768, 40000, 1 << 20, 4 << 20};
	enum { NUP = sizeof(up) / sizeof(up[0]) };
	size_t seq[2 * NUP - 1];
	size_t len = 0;

	for (size_t i = 0; i < NUP; i++)
		seq[len++] = up[i];
	for (size_t i = NUP - 1; i-- > 0;)
		seq[len++] = up[i];

	/* Twice: the second pass runs over recycled blocks. */
	for (int pass = 0; pass < 2; pass++) {
		void *p = A->malloc(seq[0]);
		EXPECT(p != NULL, "malloc(%zu)", seq[0]);
		fill(p, seq[0], 1000);
		for (size_t i = 1; i < len; i++) {
			size_t old = seq[i - 1], n = seq[i];
			void *q = A->realloc(p, n);
			EXPECT(q != NULL, "realloc(%p, %zu -> %zu)", p, old, n);
			EXPECT(aligned_to(q, 16), "realloc(%zu -> %zu) = %p", old, n, q);
			EXPECT(A->usable(q) >= n, "realloc(%zu -> %zu): usable %zu", old, n,
			       A->usable(q));
			size_t keep = old < n ? old : n;
			long bad = verify(q, keep, 1000 + i - 1);
			EXPECT(bad < 0, "realloc(%zu -> %zu) %p -> %p: byte %ld lost", old, n, p, q,
			       bad);
			fill(q, n, 1000 + i);
			p = q;
		}
		A->free(p);
	}

	/* Same size, and shrink-by-one within a class, keep content too. */
	void *p = A->malloc(500);
	fill(p, 500, 3);
	p = A->realloc(p, 500);
	EXPECT(p && verify(p, 500, 3) < 0, "realloc to the same size lost content");
	p = A->realloc(p, 499);
	EXPECT(p && verify(p, 499, 3) < 0, "realloc shrink by one lost content");
	A->free(p);
}

static void test_realloc_null_and_zero(void **state)
{
	const struct api *A = *state;

	/* realloc(NULL, n) is malloc(n). */
	static const size_t sizes[] = {0, 1, 100, 1040, 40000, 3 * MiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = A->realloc(NULL, sizes[i]);
		EXPECT(p != NULL, "realloc(NULL, %zu)", sizes[i]);
		EXPECT(aligned_to(p, 16), "realloc(NULL, %zu) = %p", sizes[i], p);
		EXPECT(A->usable(p) >= sizes[i], "realloc(NULL, %zu): usable %zu", sizes[i],
		       A->usable(p));
		memset(p, 1, sizes[i]);
		A->free(p);
	}

	/* realloc(p, 0) frees p and returns NULL, as glibc does. The large
	 * block count shows the free really happened. */
	for (size_t n = 8; n <= 4 * MiB; n *= 8) {
		void *p = A->malloc(n);
		EXPECT(p != NULL, "malloc(%zu)", n);
		void *q = A->realloc(p, 0);
		EXPECT(q == NULL, "realloc(p[%zu], 0) = %p, want NULL", n, q);
	}
	long before = A->live_large();
	void *big = A->malloc(2 * MiB);
	EXPECT(A->live_large() == before + 1, "2 MiB block not counted as live large (%ld -> %ld)",
	       before, A->live_large());
	EXPECT(A->realloc(big, 0) == NULL, "realloc(big, 0) != NULL");
	EXPECT(A->live_large() == before, "realloc(big, 0) did not free it (%ld live, was %ld)",
	       A->live_large(), before);

	/* A failed realloc leaves the block alone (ENOMEM, old content). */
	void *p = A->malloc(100);
	fill(p, 100, 9);
	errno = 0;
	void *q = A->realloc(p, SIZE_MAX - 8);
	int e = errno;
	EXPECT(q == NULL, "realloc(p, SIZE_MAX-8) = %p", q);
	EXPECT(e == ENOMEM, "realloc(p, SIZE_MAX-8): errno %d", e);
	EXPECT(verify(p, 100, 9) < 0, "failed realloc changed the block");
	A->free(p);
}

/* The sizes each aligned allocation is tried with: tiny, mid, large, and
 * the alignment itself plus a bit. */
static size_t aligned_sizes(size_t align, size_t out[8])
{
	size_t n = 0;
	out[n++] = 1;
	out[n++] = 24;
	out[n++] = 100;
	out[n++] = 1040;
	out[n++] = 40000;
	out[n++] = align;
	out[n++] = align + 17;
	out[n++] = 3 * align + 5;
	return n;
}

enum aligned_kind { K_POSIX, K_ALIGNED_ALLOC, K_MEMALIGN };
static const char *const kind_name[] = {"posix_memalign", "aligned_alloc", "memalign"};

static void *aligned_call(const struct api *A, enum aligned_kind k, size_t align, size_t n)
{
	void *p = NULL;
	switch (k) {
	case K_POSIX: {
		int rc = A->posix_memalign(&p, align, n);
		if (rc) {
			FAILF("posix_memalign(%zu, %zu) = %d", align, n, rc);
			return NULL;
		}
		return p;
	}
	case K_ALIGNED_ALLOC:
		return A->aligned_alloc(align, n);
	case K_MEMALIGN:
		return A->memalign(align, n);
	}
	return NULL;
}

/* All sizes of one alignment are live together and patterned, so an
 * aligned block that overlaps another is caught. */
static void check_aligned(const struct api *A, enum aligned_kind k, size_t min_align)
{
	for (size_t align = min_align; align <= 2 * MiB; align *= 2) {
		size_t sizes[8];
		void *blocks[8];
		size_t ns = aligned_sizes(align, sizes);
		for (size_t i = 0; i < ns; i++) {
			void *p = aligned_call(A, k, align, sizes[i]);
			EXPECT(p != NULL, "%s(%zu, %zu)", kind_name[k], align, sizes[i]);
			EXPECT(aligned_to(p, align), "%s(%zu, %zu) = %p misaligned", kind_name[k],
			       align, sizes[i], p);
			EXPECT(aligned_to(p, 16), "%s(%zu, %zu) = %p not 16-aligned", kind_name[k],
			       align, sizes[i], p);
			size_t u = A->usable(p);
			EXPECT(u >= sizes[i], "%s(%zu, %zu): usable %zu", kind_name[k], align,
			       sizes[i], u);
			memset(p, 0x77, u);
			fill(p, sizes[i], align + i);
			blocks[i] = p;
		}
		for (size_t i = 0; i < ns; i++) {
			long bad = verify(blocks[i], sizes[i], align + i);
			EXPECT(bad < 0, "%s(%zu, %zu) = %p: byte %ld overwritten", kind_name[k],
			       align, sizes[i], blocks[i], bad);
			A->free(blocks[i]);
		}
	}
}

static void test_posix_memalign(void **state)
{
	check_aligned(*state, K_POSIX, sizeof(void *));
}
static void test_aligned_alloc(void **state)
{
	check_aligned(*state, K_ALIGNED_ALLOC, 1);
}
static void test_memalign(void **state)
{
	check_aligned(*state, K_MEMALIGN, 1);
}

/* An aligned pointer may sit inside a bigger block; realloc and
 * usable_size must find the block from it and keep the content. */
static void test_realloc_aligned(void **state)
{
	const struct api *A = *state;
	static const size_t sizes[] = {1, 100, 1000, 5000, 40000, 300000};

	for (size_t align = 32; align <= 256 * 1024; align *= 4) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			void *p = A->memalign(align, n);
			EXPECT(p != NULL && aligned_to(p, align), "memalign(%zu, %zu) = %p", align,
			       n, p);
			fill(p, n, align ^ n);
			size_t grow = n * 3 + 7, shrink = n / 2 + 1;
			void *q = A->realloc(p, grow);
			EXPECT(q != NULL && A->usable(q) >= grow,
			       "realloc(memalign(%zu, %zu), %zu)", align, n, grow);
			long bad = verify(q, n, align ^ n);
			EXPECT(bad < 0, "realloc(memalign(%zu, %zu), %zu): byte %ld lost", align, n,
			       grow, bad);
			fill(q, grow, 1 + (align ^ n));
			A->free(q);

			p = A->memalign(align, n);
			EXPECT(p != NULL, "memalign(%zu, %zu)", align, n);
			fill(p, n, align ^ n);
			q = A->realloc(p, shrink);
			EXPECT(q != NULL && A->usable(q) >= shrink,
			       "realloc(memalign(%zu, %zu), %zu)", align, n, shrink);
			bad = verify(q, shrink, align ^ n);
			EXPECT(bad < 0, "realloc(memalign(%zu, %zu), %zu): byte %ld lost", align, n,
			       shrink, bad);
			A->free(q);
		}
	}
}

static void test_aligned_einval(void **state)
{
	const struct api *A = *state;

	/* posix_memalign: not a power of two, or not a multiple of
	 * sizeof(void *). *out must not be touched. */
	static const size_t bad_posix[] = {0, 1, 2, 4, 3, 24, 48, 100, 4097, SIZE_MAX / 2 + 2};
	for (size_t i = 0; i < sizeof(bad_posix) / sizeof(bad_posix[0]); i++) {
		void *sentinel = (void *)(uintptr_t)0x5eed;
		void *out = sentinel;
		int rc = A->posix_memalign(&out, bad_posix[i], 64);
		EXPECT(rc == EINVAL, "posix_memalign(align %zu) = %d, want EINVAL", bad_posix[i],
		       rc);
		EXPECT(out == sentinel, "posix_memalign(align %zu) wrote *out = %p", bad_posix[i],
		       out);
	}

	/* posix_memalign returns ENOMEM for a size that cannot be served. */
	void *out = NULL;
	int rc = A->posix_memalign(&out, 64, SIZE_MAX - 100);
	EXPECT(rc == ENOMEM, "posix_memalign(64, SIZE_MAX-100) = %d, want ENOMEM", rc);

	if (!(A->quirks & QUIRK_LAX_ALIGNED_ALLOC)) {
		static const size_t bad_aa[] = {0, 3, 24, 48, 100, 4097};
		for (size_t i = 0; i < sizeof(bad_aa) / sizeof(bad_aa[0]); i++) {
			errno = 0;
			void *p = A->aligned_alloc(bad_aa[i], 64);
			int e = errno;
			if (p) A->free(p);
			EXPECT(p == NULL, "aligned_alloc(%zu, 64) = %p, want NULL", bad_aa[i], p);
			EXPECT(e == EINVAL, "aligned_alloc(%zu, 64): errno %d, want EINVAL",
			       bad_aa[i], e);
		}
	}

	/* memalign rounds a bad alignment up to the next power of two. */
	static const struct {
		size_t align, size, want;
	} up[] = {{24, 100, 32},
	          {48, 10, 64},
	          {100, 1, 128},
	          {3000, 100, 4096},
	          {5000, 1, 8192},
	          {100000, 10, 131072},
	          {(1 << 20) + 1, 64, 2 << 20}};
	for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		void *p = A->memalign(up[i].align, up[i].size);
		EXPECT(p != NULL, "memalign(%zu, %zu)", up[i].align, up[i].size);
		EXPECT(aligned_to(p, up[i].want), "memalign(%zu, %zu) = %p, want %zu-aligned",
		       up[i].align, up[i].size, p, up[i].want);
		EXPECT(A->usable(p) >= up[i].size, "memalign(%zu, %zu): usable %zu", up[i].align,
		       up[i].size, A->usable(p));
		memset(p, 0x11, up[i].size);
		A->free(p);
	}

	/* Alignment padding must not overflow the size computation. */
	errno = 0;
	expect_enomem_null(A, A->memalign(4096, SIZE_MAX - 100), "memalign(4096, SIZE_MAX-100)");
	errno = 0;
	expect_enomem_null(A, A->aligned_alloc(MiB, SIZE_MAX - MiB / 2),
	                   "aligned_alloc(1 MiB, SIZE_MAX - 512 KiB)");
}

static void test_valloc_pvalloc(void **state)
{
	const struct api *A = *state;
	const size_t pg = page_size();
	static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 40000, 100000, 3 * MiB};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		void *p = A->valloc(n);
		EXPECT(p != NULL && aligned_to(p, pg), "valloc(%zu) = %p", n, p);
		EXPECT(A->usable(p) >= n, "valloc(%zu): usable %zu", n, A->usable(p));
		memset(p, 0x22, n);
		A->free(p);

		size_t rounded = (n + pg - 1) / pg * pg;
		p = A->pvalloc(n);
		EXPECT(p != NULL && aligned_to(p, pg), "pvalloc(%zu) = %p", n, p);
		EXPECT(A->usable(p) >= rounded, "pvalloc(%zu): usable %zu < %zu", n, A->usable(p),
		       rounded);
		memset(p, 0x33, rounded);
		A->free(p);
	}

	void *p = A->pvalloc(0);
	EXPECT(p != NULL && aligned_to(p, pg), "pvalloc(0) = %p", p);
	if (!(A->quirks & QUIRK_PVALLOC0_SMALL)) {
		EXPECT(A->usable(p) >= pg, "pvalloc(0): usable %zu, want a page", A->usable(p));
		memset(p, 0x44, pg);
	}
	A->free(p);
}

static void test_errno_and_edges(void **state)
{
	const struct api *A = *state;
	/* Sizes near SIZE_MAX also catch overflow when rounding to a class,
	 * adding a header or rounding to pages. volatile: keep them opaque. */
	volatile size_t huge[] = {SIZE_MAX,
	                          SIZE_MAX - 1,
	                          SIZE_MAX - 16,
	                          SIZE_MAX - 4096,
	                          (size_t)PTRDIFF_MAX + 1,
	                          (size_t)PTRDIFF_MAX};
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "malloc(%zu)", huge[i]);
		errno = 0;
		expect_enomem_null(A, A->malloc(huge[i]), what);
	}

	A->free(NULL);

	/* malloc(0): unique, aligned, freeable pointers. */
	enum { N = 64 };
	void *z[N];
	for (int i = 0; i < N; i++) {
		z[i] = A->malloc(0);
		EXPECT(z[i] != NULL && aligned_to(z[i], 16), "malloc(0) = %p", z[i]);
		for (int j = 0; j < i; j++)
			EXPECT(z[i] != z[j], "malloc(0) returned %p twice", z[i]);
	}
	for (int i = 0; i < N; i++)
		A->free(z[i]);
}

/* ---- the two tables ---- */

#ifdef CONFORMANCE_GLIBC_BASELINE
#if __GLIBC_PREREQ(2, 38)
#define GLIBC_QUIRKS QUIRK_PVALLOC0_SMALL
#else
#define GLIBC_QUIRKS (QUIRK_PVALLOC0_SMALL | QUIRK_LAX_ALIGNED_ALLOC)
#endif
static long glibc_live_large(void)
{
	return (long)mallinfo2().hblks;
}
#else
static long hak_live_large(void)
{
	struct hak_stats s;
	hak_stats_get(&s);
	return (long)s.large_live;
}
#endif

static struct api libc_api = {
    .name = "libc",
    .malloc = malloc,
    .free = free,
    .calloc = calloc,
    .realloc = realloc,
    .reallocarray = reallocarray,
    .memalign = memalign,
    .posix_memalign = posix_memalign,
    .aligned_alloc = aligned_alloc,
    .valloc = valloc,
    .pvalloc = pvalloc,
    .usable = malloc_usable_size,
#ifdef CONFORMANCE_GLIBC_BASELINE
    .live_large = glibc_live_large,
    .quirks = GLIBC_QUIRKS,
#else
    .heap_check = hak_heap_check,
    .live_large = hak_live_large,
#endif
};

#ifndef CONFORMANCE_GLIBC_BASELINE
static struct api hak_api = {
    .name = "hak",
    .malloc = hak_malloc,
    .free = hak_free,
    .calloc = hak_calloc,
    .realloc = hak_realloc,
    .reallocarray = hak_reallocarray,
    .memalign = hak_memalign,
    .posix_memalign = hak_posix_memalign,
    .aligned_alloc = hak_aligned_alloc,
    .valloc = hak_valloc,
    .pvalloc = hak_pvalloc,
    .usable = hak_malloc_usable_size,
    .heap_check = hak_heap_check,
    .live_large = hak_live_large,
};
#endif

#define T(f, api) cmocka_unit_test_prestate_setup_teardown(f, NULL, heap_check_teardown, &api)
#define CONFORMANCE_TESTS(api)                                                                     \
	{                                                                                          \
		T(test_alignment_small, api), T(test_usable_size, api),                            \
		    T(test_calloc_zeroes_reused, api), T(test_calloc_overflow, api),               \
		    T(test_reallocarray, api), T(test_realloc_across_classes, api),                \
		    T(test_realloc_null_and_zero, api), T(test_posix_memalign, api),               \
		    T(test_aligned_alloc, api), T(test_memalign, api),                             \
		    T(test_realloc_aligned, api), T(test_aligned_einval, api),                     \
		    T(test_valloc_pvalloc, api), T(test_errno_and_edges, api),                     \
	}

int main(void)
{
	int failed = 0;
	const struct CMUnitTest libc_tests[] = CONFORMANCE_TESTS(libc_api);
	/* CONFORMANCE_FILTER=test_memalign (or a * pattern) runs a subset. */
	const char *filter = getenv("CONFORMANCE_FILTER");

	if (filter && *filter) cmocka_set_test_filter(filter);

#ifdef CONFORMANCE_GLIBC_BASELINE
	/* A fixed threshold keeps 2 MiB blocks mmap'd, so hblks counts them. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#else
	expect_hakmem_malloc();
#endif
	failed += cmocka_run_group_tests_name("conformance (libc names)", libc_tests, NULL, NULL);
#ifndef CONFORMANCE_GLIBC_BASELINE
	const struct CMUnitTest hak_tests[] = CONFORMANCE_TESTS(hak_api);
	failed += cmocka_run_group_tests_name("conformance (hak_* names)", hak_tests, NULL, NULL);
#endif
	return failed ? 1 : 0;
}
