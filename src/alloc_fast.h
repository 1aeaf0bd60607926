/* The full library's malloc and free at HAKMEM_CHECK=fast, inline: the
 * checks fast mode makes on every call (docs/guide-heap-corruption.md)
 * and nothing else: no caller captured, no register saved, the level read
 * once. Anything these paths do not expect goes to alloc.c's general
 * paths, which check again and report. Included by alloc.c only. */
#ifndef HAKMEM_ALLOC_FAST_H
#define HAKMEM_ALLOC_FAST_H

#if defined(HAKMEM_CHECKS)
#include "check.h"
#include "registry.h"
#include "slab_lookup.h"
#include "slab.h"
#include "tcache.h"
#include "trace_hooks.h"

/* HAKMEM_CHECK=fast with no per-call tracepoint: the one setting whose
 * malloc and free take the inline paths below. Tested once per call;
 * every other setting, and anything those paths do not expect, goes to
 * the general paths (malloc_impl, free_general), which check again. */
static inline int fast_entry(void)
{
	/* Level and per-call flag in one compare (check.h). Relaxed: a
	 * thread's first malloc reads it while another thread's hak_init may
	 * write it (env.c). */
	return HAK_LIKELY(HAK_RELAXED_LOAD(hak_entry_gate.word) == HAK_GATE_ONLY(HAK_CHECK_FAST));
}

/* HAKMEM_CHECK=full with no per-call tracepoint, tested once fast_entry
 * has failed: its malloc tries the quarantine's stash first, without the
 * general path (alloc.c malloc_full). */
static inline int full_entry(void)
{
	return HAK_RELAXED_LOAD(hak_entry_gate.word) == HAK_GATE_ONLY(HAK_CHECK_FULL);
}

/* Fast mode's malloc of a slab class: the thread cache's checked pop
 * (tcache.h). NULL when the bin is empty, or its head's header or link is
 * wrong: malloc_impl then refills, or finds the same fault again and
 * reports it. */
static inline __attribute__((always_inline)) void *malloc_fast(unsigned c, size_t n)
{
	void *p = hak_tcache_pop_checked(c);
	if (HAK_LIKELY(p != NULL)) HAK_ASAN_UNPOISON(p, n);
	(void)n;
	return p;
}

/* ptr_track fast level, inline for the common case: p is the start of a
 * carved block of a registered SuperSlab and its header says live, of the
 * slab's class. Anything else returns 0, having written nothing, and goes
 * to hak_track_free_as, which says why. The caller knows the level is fast. */
static inline __attribute__((always_inline)) int free_fast_checked(void *p)
{
	uint8_t *u = p;
	size_t off;
	struct hak_slab *s = hak_ptr_slab_off(p, &off);
	if (HAK_UNLIKELY(!s)) return 0;
	unsigned cls = s->cls;
	/* p below block 0 wraps off past 2^63, which no carved index * stride
	 * (< 2^32) equals: one compare proves boundary and carve. */
	size_t idx = hak_slab_carved_index(s, off);
	if (HAK_UNLIKELY(idx >= HAK_RELAXED_LOAD(s->carved))) return 0;
	/* A carved block's start: its header is mapped. */
	uint8_t h = HAK_RELAXED_LOAD(u[-1]);
	if (HAK_UNLIKELY(h != HAK_RELAXED_LOAD(s->live_hdr))) return 0;
	HAK_RELAXED_STORE(u[-1], (uint8_t)(h ^ HAK_HDR_FREED_BIT));
	HAK_ASAN_POISON(p, hak_class_usable(cls));
	hak_tcache_push_keyed(p, cls);
	return 1;
}

#endif

#endif
