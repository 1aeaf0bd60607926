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

/* Full ptr_track encodes every free-list link with a per-process key and
 * the link's own address, so a dangling write into a freed block yields a
 * link that fails to decode (and is reported) instead of being followed. */
HAK_INTERNAL extern uintptr_t hak_link_key;
HAK_INTERNAL void *hak_link_corrupt(void *p, uintptr_t decoded);

static inline void *hak_block_next(void *p)
{
	if (HAK_CHECKING_FULL()) {
		uintptr_t v = *(uintptr_t *)p ^ hak_link_key ^ ((uintptr_t)p >> 4);
		if (HAK_UNLIKELY(v && ((v & (HAK_ALIGN - 1)) || !hak_registry_kind((void *)v))))
			return hak_link_corrupt(p, v);
		return (void *)v;
	}
	return *(void **)p;
}

static inline void hak_block_set_next(void *p, void *next)
{
	if (HAK_CHECKING_FULL())
		*(uintptr_t *)p = (uintptr_t)next ^ hak_link_key ^ ((uintptr_t)p >> 4);
	else
		*(void **)p = next;
}
#else
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
 * unset); fills *t. */
HAK_INTERNAL void hak_slab_take(struct hak_superslab *ss, struct hak_slab *s, unsigned want,
                                void **head, void **tail, struct hak_take *t);
/* Pushes a chain of n blocks (tail's next is overwritten). */
static inline void hak_slab_put(struct hak_slab *s, void *head, void *tail, uint32_t n)
{
	hak_block_set_next(tail, s->freelist);
	s->freelist = head;
	/* Relaxed store: hak_stats_get reads it without the slab lock. */
	__atomic_store_n(&s->used, s->used - n, __ATOMIC_RELAXED);
}

#endif
