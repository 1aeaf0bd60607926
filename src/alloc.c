/* The malloc family. The two fast paths (a bin pop and a bin push) are
 * inline here; everything else is a call away. */
#include "hakmem.h"
#include "alloc_fast.h"
#include "alloc_kind.h"
#include "alloc_paths.h"
#include "asan_hooks.h"
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
		hak_tcache_free_block(b, c);
		return;
	}
	/* Not ours, or already freed: never write to it. ptr_track reports
	 * these in the full library. */
}

/* free without checks: the release library, and HAKMEM_CHECK=off. */
static inline __attribute__((always_inline)) void free_plain(void *p)
{
	uint8_t h = ((uint8_t *)p)[-1];
	if (hak_tcache_push_run(p, h)) return;
	/* A live Tiny or Mid block (headers 0x90..0xaf) takes its class from
	 * its SuperSlab's map, a line that stays hot, not from the header,
	 * which a program freeing at random has let go cold: only this branch
	 * waits for the header, and the CPU predicts it. A bin chosen by the
	 * header held every later access to the thread cache until the header
	 * came (docs/benchmarks.md, "The release free reads no cold line"). */
	if (HAK_LIKELY((uint8_t)(h - HAK_HDR_MID) < 2 * 16)) {
		unsigned c = hak_unit_class(p);
		hak_tcache_count_run(h, c);
		hak_tcache_free_block(p, c);
		return;
	}
	unsigned c = hak_hdr_class[h];
	if (HAK_LIKELY(c < HAK_NUM_CLASSES)) { /* Small-Mid */
		hak_tcache_count_run(h, c);
		hak_tcache_free_block(p, c);
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

size_t hak_usable_size_of(void *p)
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
	size_t u = hak_usable_size_of(p);
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

void *hak_alloc_for(size_t n, struct hak_caller caller)
{
	return malloc_impl(n, caller);
}

struct got_block hak_alloc_class_for(unsigned c, size_t n)
{
	return alloc_class(c, n);
}

#if defined(HAKMEM_CHECKS)
void hak_free_tracked(void *p, unsigned kind, void *ret, void *frame)
{
	free_tracked(p, kind, ret, frame);
}
#endif

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

#if defined(HAKMEM_CHECKS)
/* C++ operator new and delete (cxx_new.c): the malloc family's paths, with
 * the stack taken from the program's call to new or delete, and delete
 * saying how the block must have been allocated (enum hak_alloc_kind). */
void *hak_malloc_from(size_t n, void *ret, void *frame)
{
	return malloc_impl(n, (struct hak_caller){ret, frame});
}

void hak_free_from(void *p, unsigned kind, void *ret, void *frame)
{
	if (p != NULL) free_general(p, kind, ret, frame);
}
#endif

HAK_OWN_ENTRY_POINTS((void *)hak_malloc, (void *)hak_calloc)

#if defined(HAKMEM_OVERRIDE)
HAK_ALIAS(malloc, hak_malloc);
HAK_ALIAS(free, hak_free);
HAK_ALIAS(calloc, hak_calloc);
HAK_ALIAS(malloc_usable_size, hak_malloc_usable_size);
HAK_ALIAS(cfree, hak_free);
HAK_ALIAS(malloc_trim, hak_malloc_trim);
#endif
