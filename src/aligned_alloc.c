/* The aligned members of the malloc family: memalign, posix_memalign,
 * aligned_alloc, valloc and pvalloc. Alignments up to a page come from a
 * slab block big enough to hold the aligned span; larger ones, and larger
 * requests, from large.c. */
#include "hakmem.h"
#include "alloc_paths.h"
#include "alloc_kind.h"
#include "asan_hooks.h"
#include "large.h"
#include "lifecycle.h"
#include "size_class.h"

#include <errno.h>
#include <stdint.h>

static void *aligned_alloc_impl(size_t align, size_t n, struct hak_caller caller)
{
	if (align <= HAK_ALIGN) return hak_alloc_for(n, caller);
	if (n > PTRDIFF_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = n + align - HAK_ALIGN;
	if (align <= HAK_PAGE && need <= HAK_MID_MAX) {
		struct got_block g = hak_alloc_class_for(hak_size_class(need), need);
		uint8_t *b = g.p;
		if (!b) return NULL;
		uint8_t *p = (uint8_t *)hak_align_up((uintptr_t)b, align);
		(void)track_class(b, g.cls, (size_t)(p - b) + n, caller);
		if (p != b) {
			*(uintptr_t *)(p - 16) = (uintptr_t)b ^ HAK_ALIGNED_KEY;
			p[-1] = HAK_HDR_ALIGNED;
		}
		HAK_ASAN_UNPOISON(p, n);
		return p;
	}
	hak_init();
	void *p = hak_large_alloc(n, align);
	if (p) HAK_ASAN_UNPOISON(p, n);
	return track_large(p, n, caller);
}

static int is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

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
	return aligned_alloc_impl(align, n, HAK_CALLER_HERE);
}

HAK_API int hak_posix_memalign(void **out, size_t align, size_t n)
{
	if (!is_pow2(align) || align % sizeof(void *)) return EINVAL;
	int saved = errno;
	void *p = aligned_alloc_impl(align, n, HAK_CALLER_HERE);
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
	return aligned_alloc_impl(align, n, HAK_CALLER_HERE);
}

HAK_API void *hak_valloc(size_t n)
{
	return aligned_alloc_impl(HAK_PAGE, n, HAK_CALLER_HERE);
}

HAK_API void *hak_pvalloc(size_t n)
{
	if (n > PTRDIFF_MAX - HAK_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	n = n ? hak_align_up(n, HAK_PAGE) : HAK_PAGE;
	return aligned_alloc_impl(HAK_PAGE, n, HAK_CALLER_HERE);
}

#if defined(HAKMEM_CHECKS)
/* C++'s aligned operator new (cxx_new.c), with the program's caller. */
void *hak_aligned_from(size_t align, size_t n, void *ret, void *frame)
{
	return aligned_alloc_impl(align, n, (struct hak_caller){ret, frame});
}
#endif

HAK_OWN_ENTRY_POINTS((void *)hak_memalign, (void *)hak_posix_memalign, (void *)hak_aligned_alloc,
                     (void *)hak_valloc, (void *)hak_pvalloc)

#if defined(HAKMEM_OVERRIDE)
HAK_ALIAS(memalign, hak_memalign);
HAK_ALIAS(posix_memalign, hak_posix_memalign);
HAK_ALIAS(aligned_alloc, hak_aligned_alloc);
HAK_ALIAS(valloc, hak_valloc);
HAK_ALIAS(pvalloc, hak_pvalloc);
#endif
