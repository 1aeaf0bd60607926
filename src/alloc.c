/* The malloc family. The two fast paths (a bin pop and a bin push) are
 * inline here; everything else is a call away. */
#include "hakmem.h"
#include "large.h"
#include "lifecycle.h"
#include "pool.h"
#include "registry.h"
#include "size_class.h"
#include "tcache.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Aligned pointers inside a slab block: p[-1] is HAK_HDR_ALIGNED and the
 * word at p-16 is the block's address xor this key, so a stray 0x8f byte
 * in user data is not mistaken for one. */
#define ALIGNED_KEY ((uintptr_t)0x5a17ed0b10c4e7a1ull)

static inline void *alloc_class(unsigned c)
{
	struct hak_bin *b = &hak_tc.bins[c];
	void *p = b->head;
	if (HAK_LIKELY(p != NULL)) {
		b->head = hak_block_next(p);
		b->count--;
		return p;
	}
	return hak_tcache_refill(&hak_tc, c);
}

static inline void free_class(void *p, unsigned c)
{
	struct hak_bin *b = &hak_tc.bins[c];
	if (HAK_LIKELY(b->count < b->max)) {
		hak_block_set_next(p, b->head);
		b->head = p;
		b->count++;
		return;
	}
	hak_tcache_free_slow(&hak_tc, p, c);
}

static __attribute__((noinline)) void *alloc_big(size_t n)
{
	if (n <= HAK_MID_MAX)
		return alloc_class(hak_size_class(n));
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	hak_init();
	return hak_large_alloc(n, HAK_LARGE_HDR);
}

HAK_API void *hak_malloc(size_t n)
{
	if (HAK_LIKELY(n <= HAK_TINY_MAX))
		return alloc_class(hak_tiny_class(n));
	return alloc_big(n);
}

/* The slab block holding aligned pointer p, or NULL if p is not one. */
static uint8_t *aligned_block(void *p, unsigned *cls)
{
	unsigned kind = hak_registry_kind(p);
	if (!kind)
		return NULL;
	struct hak_pool *pl = &hak_pools[kind - 1];
	struct hak_superslab *ss = (struct hak_superslab *)((uintptr_t)p & ~(((uintptr_t)1 << pl->ss_shift) - 1));
	struct hak_slab *s = &ss->slabs[((uintptr_t)p - (uintptr_t)ss) >> pl->slab_shift];
	if (s->state == SLAB_FREE || s->cls >= HAK_NUM_CLASSES)
		return NULL;
	uint8_t *data = hak_slab_data(ss, s);
	if ((uint8_t *)p <= data)
		return NULL;
	uint8_t *b = data + ((size_t)((uint8_t *)p - data) / s->stride) * s->stride;
	if (*(uintptr_t *)((uint8_t *)p - 16) != ((uintptr_t)b ^ ALIGNED_KEY))
		return NULL;
	*cls = s->cls;
	return b;
}

static __attribute__((noinline)) void free_special(void *p)
{
	uint8_t h = ((uint8_t *)p)[-1];
	if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC) {
		hak_large_free(p);
		return;
	}
	unsigned c;
	uint8_t *b;
	if (h == HAK_HDR_ALIGNED && (b = aligned_block(p, &c))) {
		free_class(b, c);
		return;
	}
	/* Not ours, or already freed: never write to it. ptr_track reports
	 * these in the full library. */
}

HAK_API void hak_free(void *p)
{
	if (HAK_UNLIKELY(p == NULL))
		return;
	unsigned c = hak_hdr_class[((uint8_t *)p)[-1]];
	if (HAK_LIKELY(c < HAK_NUM_CLASSES)) {
		free_class(p, c);
		return;
	}
	free_special(p);
}

HAK_API size_t hak_malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	uint8_t h = ((uint8_t *)p)[-1];
	unsigned c = hak_hdr_class[h];
	if (c < HAK_NUM_CLASSES)
		return hak_class_usable(c);
	if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC)
		return hak_large_usable(p);
	uint8_t *b;
	if (h == HAK_HDR_ALIGNED && (b = aligned_block(p, &c)))
		return (size_t)(b + hak_class_usable(c) - (uint8_t *)p);
	return 0;
}

HAK_API void *hak_calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = hak_malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

static void *aligned_alloc_impl(size_t align, size_t n)
{
	if (align <= HAK_ALIGN)
		return hak_malloc(n);
	if (n > PTRDIFF_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = n + align - HAK_ALIGN;
	if (align <= HAK_PAGE && need <= HAK_MID_MAX) {
		unsigned c = hak_size_class(need);
		uint8_t *b = alloc_class(c);
		if (!b || ((uintptr_t)b & (align - 1)) == 0)
			return b;
		uint8_t *p = (uint8_t *)hak_align_up((uintptr_t)b, align);
		*(uintptr_t *)(p - 16) = (uintptr_t)b ^ ALIGNED_KEY;
		p[-1] = HAK_HDR_ALIGNED;
		return p;
	}
	hak_init();
	return hak_large_alloc(n, align);
}

static int is_pow2(size_t x) { return x && !(x & (x - 1)); }

HAK_API void *hak_memalign(size_t align, size_t n)
{
	/* glibc: a non-power-of-two alignment is rounded up. */
	if (align > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (!is_pow2(align)) {
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return aligned_alloc_impl(align, n);
}

HAK_API int hak_posix_memalign(void **out, size_t align, size_t n)
{
	if (!is_pow2(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = aligned_alloc_impl(align, n);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

HAK_API void *hak_aligned_alloc(size_t align, size_t n)
{
	if (!is_pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_alloc_impl(align, n);
}

HAK_API void *hak_valloc(size_t n) { return aligned_alloc_impl(HAK_PAGE, n); }

HAK_API void *hak_pvalloc(size_t n)
{
	if (n > PTRDIFF_MAX - HAK_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	n = n ? hak_align_up(n, HAK_PAGE) : HAK_PAGE;
	return aligned_alloc_impl(HAK_PAGE, n);
}

HAK_API void *hak_realloc(void *p, size_t n)
{
	if (!p)
		return hak_malloc(n);
	if (n == 0) {
		hak_free(p); /* glibc: realloc(p, 0) frees and returns NULL */
		return NULL;
	}
	uint8_t h = ((uint8_t *)p)[-1];
	unsigned c = hak_hdr_class[h];
	size_t usable;
	if (c < HAK_NUM_CLASSES) {
		usable = hak_class_usable(c);
		/* Fits: stay, unless shrinking would waste more than half. */
		if (n <= usable && (n > usable / 2 || hak_size_class(n) == c))
			return p;
	} else if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC) {
		usable = hak_large_usable(p);
		if (n > HAK_MID_MAX || n > usable / 2) {
			void *q = hak_large_resize(p, n);
			if (q)
				return q;
		}
	} else {
		usable = hak_malloc_usable_size(p);
		if (!usable)
			return NULL; /* not ours: leave it alone */
		if (n <= usable)
			return p;
	}
	void *q = hak_malloc(n);
	if (!q)
		return NULL; /* the old block stays valid, as POSIX asks */
	memcpy(q, p, n < usable ? n : usable);
	hak_free(p);
	return q;
}

HAK_API void *hak_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return hak_realloc(p, n);
}

HAK_API void hak_thread_flush(void) { hak_tcache_flush_all(&hak_tc); }

HAK_API const char *hak_version(void)
{
#if defined(HAKMEM_RELEASE)
	return HAKMEM_VERSION_STRING " (release)";
#else
	return HAKMEM_VERSION_STRING " (full)";
#endif
}

#if defined(HAKMEM_OVERRIDE)
/* The libc names are aliases of the hak_* functions: one body, no extra
 * call on the fast path. */
#define HAK_ALIAS(name, target) extern __typeof(target) name __attribute__((alias(#target), visibility("default")))
HAK_ALIAS(malloc, hak_malloc);
HAK_ALIAS(free, hak_free);
HAK_ALIAS(calloc, hak_calloc);
HAK_ALIAS(realloc, hak_realloc);
HAK_ALIAS(reallocarray, hak_reallocarray);
HAK_ALIAS(memalign, hak_memalign);
HAK_ALIAS(posix_memalign, hak_posix_memalign);
HAK_ALIAS(aligned_alloc, hak_aligned_alloc);
HAK_ALIAS(valloc, hak_valloc);
HAK_ALIAS(pvalloc, hak_pvalloc);
HAK_ALIAS(malloc_usable_size, hak_malloc_usable_size);
HAK_ALIAS(cfree, hak_free);
#endif
