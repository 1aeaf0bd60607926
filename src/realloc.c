/* realloc and reallocarray: a block stays where it is when the new size
 * fits its class (and does not waste more than half of it), a large block
 * resizes in place where large.c can, and anything else moves. */
#include "hakmem.h"
#include "alloc_paths.h"
#include "asan_hooks.h"
#include "large.h"
#include "lifecycle.h"
#include "size_class.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* ASan flavour: only the first n bytes of a resized block are addressable. */
static inline void asan_resized(void *p, size_t usable, size_t n)
{
	HAK_ASAN_POISON(p, usable);
	HAK_ASAN_UNPOISON(p, n);
	(void)p, (void)usable, (void)n;
}

/* A large block moved to a bigger span with growth room; under ASan its
 * first n bytes are addressable before the old contents are copied in. */
static void *large_grown(void *old, size_t n)
{
	void *q = hak_large_alloc_grown(old, n);
	if (q) HAK_ASAN_UNPOISON(q, n);
	return q;
}

#if defined(HAKMEM_CHECKS)
/* realloc under ptr_track: the old pointer is proven live first. */
static void *realloc_checked(void *p, size_t n, struct hak_caller caller)
{
	struct hak_ptr_info in;
	hak_init(); /* a bad pointer's report follows the settings, even as the first call */
	if (hak_track_check_live(p, &in, caller.ret, caller.frame))
		return NULL; /* reported; the bad pointer is left alone */
	if (!in.large && n <= in.usable && (n > in.usable / 2 || hak_size_class(n) == in.cls)) {
		hak_track_resized(p, &in, n);
		asan_resized(p, in.usable, n);
		return p;
	}
	if (in.large && HAK_CHECKING_FULL())
		hak_track_large_canary(p, &in, caller.ret); /* reports an overrun, then goes on */
	if (in.large && (n > HAK_MID_MAX || n > in.usable / 2)) {
		void *q = hak_large_resize(p, n);
		if (q) {
			asan_resized(q, hak_large_usable(q), n);
			return track_large(q, n, caller); /* a new canary after the new size */
		}
	}
	HAK_ASAN_UNPOISON(p, in.usable);
	size_t keep = in.usable;
	if (in.large && HAK_CHECKING_FULL()) keep = hak_large_hdr(p)->requested;
	if (in.rec && in.rec->state == TRACK_LIVE)
		keep = in.rec->requested - (size_t)((uint8_t *)p - in.block);
	void *q = in.large && n > in.usable ? track_large(large_grown(p, n), n, caller)
	                                    : hak_alloc_for(n, caller);
	if (!q) return NULL;
	memcpy(q, p, n < keep ? n : keep);
	hak_free_tracked(p, HAK_ALLOC_MALLOC, caller.ret, caller.frame);
	return q;
}
#endif

HAK_API void *hak_realloc(void *p, size_t n)
{
	if (!p) return hak_alloc_for(n, HAK_CALLER_HERE);
	if (n == 0) {
		hak_free(p); /* glibc: realloc(p, 0) frees and returns NULL */
		return NULL;
	}
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING()) return realloc_checked(p, n, HAK_CALLER_HERE);
#endif
	uint8_t h = ((uint8_t *)p)[-1];
	unsigned c = hak_hdr_class[h];
	size_t usable;
	int large = 0;
	if (c < HAK_NUM_CLASSES) {
		usable = hak_class_usable(c);
		/* Fits: stay, unless shrinking would waste more than half. */
		if (n <= usable && (n > usable / 2 || hak_size_class(n) == c)) {
			asan_resized(p, usable, n);
			return p;
		}
	} else if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC) {
		usable = hak_large_usable(p);
		large = 1;
		if (n > HAK_MID_MAX || n > usable / 2) {
			void *q = hak_large_resize(p, n);
			if (q) {
				asan_resized(q, hak_large_usable(q), n);
				return q;
			}
		}
	} else {
		usable = hak_usable_size_of(p);
		if (!usable) return NULL; /* not ours: leave it alone */
		if (n <= usable) {
			asan_resized(p, usable, n);
			return p;
		}
	}
	HAK_ASAN_UNPOISON(p, usable);
	void *q = large && n > usable ? large_grown(p, n) : hak_alloc_for(n, HAK_CALLER_HERE);
	if (!q) return NULL; /* the old block stays valid, as POSIX asks */
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

HAK_OWN_ENTRY_POINTS((void *)hak_realloc, (void *)hak_reallocarray)

#if defined(HAKMEM_OVERRIDE)
HAK_ALIAS(realloc, hak_realloc);
HAK_ALIAS(reallocarray, hak_reallocarray);
#endif
