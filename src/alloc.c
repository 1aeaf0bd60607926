/* The malloc family. The two fast paths (a bin pop and a bin push) are
 * inline here; everything else is a call away. */
#include "hakmem.h"
#include "alloc_fast.h"
#include "alloc_kind.h"
#include "asan_hooks.h"
#include "callsite.h"
#include "heap_report.h"
#include "large.h"
#include "lifecycle.h"
#include "pool.h"
#include "ptr_track.h"
#include "registry.h"
#include "size_class.h"
#include "tcache.h"
#include "trace_hooks.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* A block and the class it came from. */
struct got_block {
	void *p;
	unsigned cls;
};

/* The bin of class c is empty. The process's first malloc gets here before
 * hak_init() has read HAKMEM_SMALLMID, with c taken from the table as it
 * was: the class is looked up again once the table is final, so even that
 * first block comes from the right pool. Costs the fast path nothing. */
static __attribute__((noinline)) struct got_block alloc_miss(unsigned c, size_t n)
{
	if (HAK_UNLIKELY(atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2)) {
		hak_init();
		c = hak_size_class(n);
	}
	void *p = hak_tcache_refill(&hak_tc, c);
	/* Under ptr_track a block is live from here on (the bin pop below
	 * does the same). */
	if (HAK_CHECKING() && p) HAK_RELAXED_STORE(((uint8_t *)p)[-1], hak_hdr_live(c));
	return (struct got_block){p, c};
}

#if defined(HAKMEM_CHECKS)
/* The checked pop (tcache.h) refused the bin of class c, or found it
 * empty. A head whose header is right has a suspect link: taken, and the
 * plain pop follows the link through hak_link_verify, which reports a
 * damaged one and ends the list there. A head whose header alone was
 * damaged (still a free block of c) is taken too; any other is reported
 * (slab.c hak_block_reached_bad) and the bin dropped. */
static __attribute__((noinline)) struct got_block alloc_bin_refused(unsigned c, size_t n)
{
	uint8_t *p = hak_tcache_head(c);
	if (!p) return alloc_miss(c, n);
	uint8_t h = HAK_RELAXED_LOAD(p[-1]);
	if (hak_hdr_class[h ^ HAK_HDR_FREED_BIT] == c) {
		HAK_RELAXED_STORE(p[-1], (uint8_t)(h ^ HAK_HDR_FREED_BIT));
		hak_tcache_pop(c);
		return (struct got_block){p, c};
	}
	if (!hak_block_reached_bad(p, c)) {
		hak_tcache_pop(c);
		HAK_RELAXED_STORE(p[-1], hak_hdr_live(c));
		return (struct got_block){p, c};
	}
	hak_tcache_drop(c);
	return alloc_miss(c, n);
}

/* The pop under ptr_track, out of line: inlined in malloc_general, its
 * registers pushed full mode's frame onto the stack around every
 * hak_track_reuse (fast mode's own malloc, alloc_fast.h, has it inline). */
static __attribute__((noinline)) struct got_block alloc_checked(unsigned c, size_t n)
{
	void *p = hak_tcache_pop_checked(c);
	if (HAK_LIKELY(p != NULL)) return (struct got_block){p, c};
	return alloc_bin_refused(c, n);
}
#endif

/* The fast path: pop the bin of the class of an n-byte request. Under
 * ptr_track the checked pop (tcache.h) takes the head only if its header
 * and link are right, and makes it live. */
static inline __attribute__((always_inline)) struct got_block alloc_class(unsigned c, size_t n)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING()) return alloc_checked(c, n);
#endif
	void *p = hak_tcache_pop(c);
	if (HAK_LIKELY(p != NULL)) return (struct got_block){p, c};
	return alloc_miss(c, n);
}

static inline void free_class(void *p, unsigned c)
{
	hak_tcache_push(p, c);
}

/* Who called the malloc family: the program's return address and frame,
 * for ptr_track's stack depot. Empty in the release library, where an
 * empty struct (GNU C) takes no register: passing it costs nothing. */
struct hak_caller {
#if defined(HAKMEM_CHECKS)
	void *ret, *frame;
#endif
};

/* The caller of the entry point this is written in. */
#if defined(HAKMEM_CHECKS)
#define HAK_CALLER_HERE                                                                            \
	((struct hak_caller){__builtin_return_address(0), __builtin_frame_address(0)})
#else
#define HAK_CALLER_HERE ((struct hak_caller){})
#endif

/* ptr_track sees every block leave and come back, with its caller. */
static inline void *track_class(void *p, unsigned cls, size_t n, struct hak_caller caller)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING() && p) return hak_track_on_alloc(p, cls, n, caller.ret, caller.frame);
#endif
	(void)cls, (void)n, (void)caller;
	return p;
}

static inline void *track_large(void *p, size_t n, struct hak_caller caller)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING() && p) return hak_track_on_alloc_large(p, n, caller.ret, caller.frame);
#endif
	(void)n, (void)caller;
	return p;
}

/* A slab block of class c for an n-byte request, seen by ptr_track. Full
 * mode first reuses a block that served its time in the quarantine: its
 * fill is checked once, as it leaves, with its record at hand. */
static inline __attribute__((always_inline)) void *alloc_tracked(unsigned c, size_t n,
                                                                 struct hak_caller caller)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING_FULL()) {
		void *p = hak_track_reuse(c, n, caller.ret, caller.frame);
		if (p) return p;
	}
#endif
	struct got_block g = alloc_class(c, n);
	return track_class(g.p, g.cls, n, caller);
}

static __attribute__((noinline)) void *alloc_big(size_t n, struct hak_caller caller)
{
	if (n <= HAK_MID_MAX) return alloc_tracked(hak_size_class(n), n, caller);
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	hak_init();
	void *p = hak_large_alloc(n, HAK_LARGE_HDR);
	return track_large(p, n, caller);
}

#if defined(HAKMEM_CHECKS)
/* A malloc from inside a heap report (the tracer, the loader): see
 * heap_report.h. Rare, so a span of its own is fine. */
static __attribute__((noinline, cold)) void *alloc_during_report(size_t n)
{
	void *p = hak_large_alloc(n ? n : 1, HAK_LARGE_HDR);
	/* No canary follows the request: full mode's free must not look for
	 * one (each of the symbolizer's frees read as an overflow). */
	if (p) HAK_RELAXED_STORE(hak_large_hdr(p)->requested, hak_large_usable(p));
	return p;
}
#endif

static inline __attribute__((always_inline)) void *malloc_impl(size_t n, struct hak_caller caller)
{
	void *p;
#if defined(HAKMEM_CHECKS)
	if (HAK_UNLIKELY(hak_in_report)) return alloc_during_report(n);
#endif
	if (HAK_LIKELY(n <= HAK_TINY_MAX)) {
		p = alloc_tracked(hak_tiny_class(n), n, caller);
	} else {
		p = alloc_big(n, caller);
	}
#if defined(HAKMEM_ASAN)
	if (p) HAK_ASAN_UNPOISON(p, n);
#endif
	HAK_TRACE_MALLOC(p, n);
	return p;
}

#if defined(HAKMEM_CHECKS)
/* ret and frame apart, not as struct hak_caller: the struct would be
 * spilled on the way in, in full mode's every malloc. */
static __attribute__((noinline)) void *malloc_general(size_t n, void *ret, void *frame)
{
	return malloc_impl(n, (struct hak_caller){ret, frame});
}

/* Full mode's malloc of class c when the stash had no block for it (or
 * refused the one it had): the bin, as alloc_tracked goes on. */
static __attribute__((noinline)) void *malloc_full_bin(unsigned c, size_t n, void *ret, void *frame)
{
	struct got_block g = alloc_class(c, n);
	return track_class(g.p, g.cls, n, (struct hak_caller){ret, frame});
}

/* Full mode's slab malloc: malloc_impl's path (alloc_tracked: the stash,
 * then the bin) without the general path's frame; the rest as any malloc.
 * A call of its own, so that fast mode's inline path keeps no register
 * for it. */
static __attribute__((noinline)) void *malloc_full(size_t n, void *ret, void *frame)
{
	if (HAK_UNLIKELY(hak_in_report) || HAK_UNLIKELY(n > HAK_MID_MAX))
		return malloc_general(n, ret, frame);
	unsigned c = hak_size_class(n);
	void *p = hak_track_reuse(c, n, ret, frame);
	if (HAK_UNLIKELY(p == NULL)) p = malloc_full_bin(c, n, ret, frame);
#if defined(HAKMEM_ASAN)
	if (p) HAK_ASAN_UNPOISON(p, n);
#endif
	return p;
}
#endif

HAK_API void *hak_malloc(size_t n)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_LIKELY(fast_entry()) && HAK_LIKELY(!hak_in_report) &&
	    HAK_LIKELY(n <= HAK_MID_MAX)) {
		void *p = malloc_fast(hak_size_class(n), n);
		if (HAK_LIKELY(p != NULL)) return p;
	}
	/* One call for the rest, so fast mode's path sets up no frame. */
	return (full_entry() ? malloc_full : malloc_general)(n, __builtin_return_address(0),
	                                                     __builtin_frame_address(0));
#else
	return malloc_impl(n, HAK_CALLER_HERE);
#endif
}

/* The slab block holding aligned pointer p, or NULL if p is not one. */
static uint8_t *aligned_block(void *p, unsigned *cls)
{
	unsigned kind = hak_registry_kind(p);
	if (!kind) return NULL;
	struct hak_superslab *ss;
	struct hak_slab *s = hak_addr_slab(p, kind, &ss);
	if (s->state == SLAB_FREE || s->cls >= HAK_NUM_CLASSES) return NULL;
	uint8_t *data = hak_slab_data(ss, s);
	if ((uint8_t *)p <= data) return NULL;
	uint8_t *b = data + hak_slab_div(s, (size_t)((uint8_t *)p - data)) * s->stride;
	if (*(uintptr_t *)((uint8_t *)p - 16) != ((uintptr_t)b ^ HAK_ALIGNED_KEY)) return NULL;
	*cls = s->cls;
	return b;
}

/* A large block's free: poisoned in the ASan flavour, then to large.c. */
static void free_large(void *p)
{
	HAK_ASAN_POISON(p, hak_large_usable(p));
	hak_large_free(p);
}

static __attribute__((noinline)) void free_special(void *p)
{
	uint8_t h = ((uint8_t *)p)[-1];
	if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC) {
		free_large(p);
		return;
	}
	unsigned c;
	uint8_t *b;
	if (h == HAK_HDR_ALIGNED && (b = aligned_block(p, &c))) {
		HAK_ASAN_POISON(b, hak_class_usable(c));
		free_class(b, c);
		return;
	}
	/* Not ours, or already freed: never write to it. ptr_track reports
	 * these in the full library. */
}

/* free without checks: the release library, and HAKMEM_CHECK=off. */
static inline __attribute__((always_inline)) void free_plain(void *p)
{
	unsigned c = hak_hdr_class[((uint8_t *)p)[-1]];
	if (HAK_LIKELY(c < HAK_NUM_CLASSES)) {
		HAK_ASAN_POISON(p, hak_class_usable(c));
		free_class(p, c);
		return;
	}
	free_special(p);
}

#if defined(HAKMEM_CHECKS)
/* ptr_track's verdict carried out: the checks free nothing themselves. */
static __attribute__((noinline)) void free_released(struct hak_track_verdict v)
{
	struct hak_quarantined batch[HAK_TRACK_BATCH];
	switch (v.what) {
	case HAK_RELEASE_SLAB:
		HAK_RELAXED_STORE(((uint8_t *)v.block)[-1], hak_hdr_freed(v.n));
		hak_tcache_free_block(v.block, v.n);
		break;
	case HAK_RELEASE_LARGE:
		free_large(v.block);
		break;
	case HAK_RELEASE_BATCH:
		/* A free that this one causes (a report's) may fill ptr_track's
		 * batch again. */
		memcpy(batch, v.block, v.n * sizeof *batch);
		hak_tcache_free_batch(batch, v.n);
		break;
	}
}

/* A free under ptr_track: checked, then freed as the verdict says. */
static inline __attribute__((always_inline)) void free_tracked(void *p, unsigned kind, void *ret,
                                                               void *frame)
{
	struct hak_track_verdict v = hak_track_free_as(p, kind, ret, frame);
	if (HAK_UNLIKELY(v.what != HAK_RELEASE_NONE)) free_released(v);
}

/* Every free but fast mode's common case, past the tracepoint: as it was
 * before fast mode had an inline path (free_fast_checked runs again and
 * fails again, writing nothing, before the report). */
static inline __attribute__((always_inline)) void free_untraced(void *p, unsigned kind, void *ret,
                                                                void *frame)
{
	if (HAK_CHECKING()) {
		/* Before hak_init the level is fast: a bad free can be the
		 * process's first call, and its report must follow the settings. */
		if (HAK_LIKELY(hak_check_level == HAK_CHECK_FAST)) {
			if (free_fast_checked(p)) return;
			hak_init();
		}
		free_tracked(p, kind, ret, frame);
		return;
	}
	free_plain(p);
}

#if defined(HAKMEM_TRACE_HOOKS)
/* Out of line: inline, the tracepoint's call made every free that gets
 * here save its arguments in registers of its own. */
static __attribute__((noinline, cold)) void free_traced(void *p, unsigned kind, void *ret,
                                                        void *frame)
{
	hak_trace_call(p, 0, 1);
	free_untraced(p, kind, ret, frame);
}
#endif

/* kind: how the caller releases p (enum hak_alloc_kind). */
static __attribute__((noinline)) void free_general(void *p, unsigned kind, void *ret, void *frame)
{
#if defined(HAKMEM_TRACE_HOOKS)
	if (HAK_UNLIKELY(hak_tp_per_call)) {
		free_traced(p, kind, ret, frame);
		return;
	}
#endif
	free_untraced(p, kind, ret, frame);
}
#endif

HAK_API void hak_free(void *p)
{
#if defined(HAKMEM_CHECKS)
	/* NULL fails the inline checks (the registry has no grain 0), so
	 * fast mode tests it off its way. */
	if (HAK_LIKELY(fast_entry()) && HAK_LIKELY(free_fast_checked(p))) return;
	if (HAK_UNLIKELY(p == NULL)) return;
	free_general(p, HAK_ALLOC_MALLOC, __builtin_return_address(0), __builtin_frame_address(0));
#else
	if (HAK_UNLIKELY(p == NULL)) return;
	free_plain(p);
#endif
}

static size_t usable_size(void *p)
{
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING()) {
		struct hak_ptr_info in;
		hak_track_inspect(p, &in);
		if (in.error) return 0;
		/* Full mode guards the slack with a canary: report only what was
		 * asked for, so code that trusts this size never trips it. */
		if (in.rec && in.rec->state == TRACK_LIVE)
			return in.rec->requested - (size_t)((uint8_t *)p - in.block);
		if (in.large && HAK_CHECKING_FULL()) return hak_large_hdr(p)->requested;
		return in.usable;
	}
#endif
	uint8_t h = ((uint8_t *)p)[-1];
	unsigned c = hak_hdr_class[h];
	if (c < HAK_NUM_CLASSES) return hak_class_usable(c);
	if (h == HAK_HDR_LARGE && hak_large_hdr(p)->magic == HAK_LARGE_MAGIC)
		return hak_large_usable(p);
	uint8_t *b;
	if (h == HAK_HDR_ALIGNED && (b = aligned_block(p, &c)))
		return (size_t)(b + hak_class_usable(c) - (uint8_t *)p);
	return 0;
}

HAK_API size_t hak_malloc_usable_size(void *p)
{
	if (!p) return 0;
	size_t u = usable_size(p);
	/* glibc lets the program use all of it: the ASan flavour must too. */
	HAK_ASAN_UNPOISON(p, u);
	return u;
}

HAK_API void *hak_calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = malloc_impl(n, HAK_CALLER_HERE);
	if (p) memset(p, 0, n);
	return p;
}

static void *aligned_alloc_impl(size_t align, size_t n, struct hak_caller caller)
{
	if (align <= HAK_ALIGN) return malloc_impl(n, caller);
	if (n > PTRDIFF_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = n + align - HAK_ALIGN;
	if (align <= HAK_PAGE && need <= HAK_MID_MAX) {
		struct got_block g = alloc_class(hak_size_class(need), need);
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
	                                    : malloc_impl(n, caller);
	if (!q) return NULL;
	memcpy(q, p, n < keep ? n : keep);
	free_tracked(p, HAK_ALLOC_MALLOC, caller.ret, caller.frame);
	return q;
}
#endif

HAK_API void *hak_realloc(void *p, size_t n)
{
	if (!p) return malloc_impl(n, HAK_CALLER_HERE);
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
		usable = usable_size(p);
		if (!usable) return NULL; /* not ours: leave it alone */
		if (n <= usable) {
			asan_resized(p, usable, n);
			return p;
		}
	}
	HAK_ASAN_UNPOISON(p, usable);
	void *q = large && n > usable ? large_grown(p, n) : malloc_impl(n, HAK_CALLER_HERE);
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

HAK_API void hak_thread_flush(void)
{
	hak_tcache_flush_all(&hak_tc);
}

/* glibc's malloc_trim: give back now what the purge delay would give back
 * later. Returns 1 when memory may have been released. */
HAK_API int hak_malloc_trim(size_t pad)
{
	(void)pad; /* hakmem keeps no heap top to pad */
	hak_tcache_flush_all(&hak_tc);
	hak_pool_trim(1);
	hak_large_trim(1);
	return 1;
}

#if defined(HAKMEM_TRACE_HOOKS)
/* callsite.c leaves hakmem's own frames out of a call site: by the
 * library's range, or, when hakmem is linked into the program, by these
 * entry points. Handed over before every other constructor (priority
 * 101), so that no traced malloc comes first. */
__attribute__((constructor(101))) static void give_entry_points(void)
{
	void *const fns[] = {
	    (void *)hak_malloc,        (void *)hak_calloc,   (void *)hak_realloc,
	    (void *)hak_reallocarray,  (void *)hak_memalign, (void *)hak_posix_memalign,
	    (void *)hak_aligned_alloc, (void *)hak_valloc,   (void *)hak_pvalloc};
	hak_callsite_own_entries(fns, sizeof fns / sizeof *fns);
}
#endif

#if defined(HAKMEM_CHECKS)
/* C++ operator new and delete (cxx_new.c): the malloc family's paths, with
 * the stack taken from the program's call to new or delete, and delete
 * saying how the block must have been allocated (enum hak_alloc_kind). */
void *hak_malloc_from(size_t n, void *ret, void *frame)
{
	return malloc_impl(n, (struct hak_caller){ret, frame});
}

void *hak_aligned_from(size_t align, size_t n, void *ret, void *frame)
{
	return aligned_alloc_impl(align, n, (struct hak_caller){ret, frame});
}

void hak_free_from(void *p, unsigned kind, void *ret, void *frame)
{
	if (p != NULL) free_general(p, kind, ret, frame);
}
#endif

#if defined(HAKMEM_OVERRIDE)
/* The libc names are aliases of the hak_* functions: one body, no extra
 * call on the fast path. */
#define HAK_ALIAS(name, target)                                                                    \
	extern __typeof(target) name __attribute__((alias(#target), visibility("default")))
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
HAK_ALIAS(malloc_trim, hak_malloc_trim);
#endif
