/* One slab: freelist first, then carve fresh blocks (bump). The caller
 * holds the slab lock for every function here. */
#ifndef HAKMEM_SLAB_H
#define HAKMEM_SLAB_H

#include "superslab.h"

struct hak_take {
	uint32_t got;
	uint32_t from_freelist;
	uint32_t from_carve;
	uint32_t new_pages; /* pages first touched (or refaulted) by this carve */
	uint32_t refault;   /* new_pages were given back by a purge earlier */
};

#if defined(HAKMEM_CHECKS)
#include "check.h"
#include "registry.h"

/* Under ptr_track (fast and full) every free-list link is stored xor a
 * per-process key and the link's own address, and checked before it is
 * followed, so a dangling write into a freed block's first word is
 * reported, never followed (docs/architecture.md, "Free"). The inline
 * check: the decoded next block is 16-aligned, not the first byte of a
 * 1 MiB grain (so next[-1] is mapped), in p's grain or a registered one,
 * and carries the same freed header as p. Anything else goes to
 * hak_link_verify, which either accepts the link (p's own header was the
 * damaged one) or reports it. The release library and HAKMEM_CHECK=off
 * keep plain links. */
HAK_INTERNAL extern uintptr_t hak_link_key;
HAK_INTERNAL void *hak_link_verify(void *p, uintptr_t decoded);
HAK_INTERNAL void *hak_link_corrupt(void *p, uintptr_t decoded, const char *why);

/* The decoded link of p, unchecked (the heap check validates it itself). */
static inline uintptr_t hak_block_link(const void *p)
{
	if (HAK_CHECKING()) return *(const uintptr_t *)p ^ hak_link_key ^ ((uintptr_t)p >> 4);
	return *(const uintptr_t *)p;
}

static inline int hak_link_suspect(const void *p, uintptr_t v)
{
	const uintptr_t grain = ((uintptr_t)1 << HAK_REG_GRAIN_SHIFT) - 1;
	if ((v & (HAK_ALIGN - 1)) || !(v & grain)) return 1;
	/* p is a checked block: v in p's own 1 MiB grain needs no lookup. */
	if (((v ^ (uintptr_t)p) >> HAK_REG_GRAIN_SHIFT) && !hak_registry_kind((void *)v)) return 1;
	return HAK_RELAXED_LOAD(((const uint8_t *)v)[-1]) !=
	       HAK_RELAXED_LOAD(((const uint8_t *)p)[-1]);
}

static inline void *hak_block_next(void *p)
{
	if (HAK_CHECKING()) {
		uintptr_t v = hak_block_link(p);
		if (HAK_UNLIKELY(v && hak_link_suspect(p, v))) return hak_link_verify(p, v);
		return (void *)v;
	}
	return *(void **)p;
}

static inline void hak_block_set_next(void *p, void *next)
{
	if (HAK_CHECKING())
		*(uintptr_t *)p = (uintptr_t)next ^ hak_link_key ^ ((uintptr_t)p >> 4);
	else
		*(void **)p = next;
}
#else
static inline uintptr_t hak_block_link(const void *p)
{
	return *(const uintptr_t *)p;
}
static inline void *hak_block_next(void *p)
{
	return *(void **)p;
}
static inline void hak_block_set_next(void *p, void *next)
{
	*(void **)p = next;
}
#endif

static inline int hak_slab_has_free(const struct hak_slab *s)
{
	return s->freelist != NULL || s->carved < s->capacity;
}

HAK_INTERNAL void hak_slab_format(struct hak_superslab *ss, struct hak_slab *s, unsigned cls);
/* Takes up to want blocks into a list *head..*tail (tail's next is left
 * unset): the freelist first, then, when carve is set, fresh blocks from
 * the uncarved tail. Fills *t. */
HAK_INTERNAL void hak_slab_take_ex(struct hak_superslab *ss, struct hak_slab *s, unsigned want,
                                   int carve, void **head, void **tail, struct hak_take *t);
static inline void hak_slab_take(struct hak_superslab *ss, struct hak_slab *s, unsigned want,
                                 void **head, void **tail, struct hak_take *t)
{
	hak_slab_take_ex(ss, s, want, 1, head, tail, t);
}
/* Pushes a chain of n blocks (tail's next is overwritten). */
static inline void hak_slab_put(struct hak_slab *s, void *head, void *tail, uint32_t n)
{
	hak_block_set_next(tail, s->freelist);
	s->freelist = head;
	/* Relaxed store: hak_stats_get reads it without the slab lock. */
	__atomic_store_n(&s->used, s->used - n, __ATOMIC_RELAXED);
}

#endif
