/* The pool's lists, all under the pool lock (partial_add also under the
 * slab's): slab and SuperSlab lists, the SuperSlabs with free slots, the
 * per-class LRU of SuperSlabs and the partial lists. Only pool.c uses them. */
#ifndef HAKMEM_POOL_LISTS_H
#define HAKMEM_POOL_LISTS_H

#include "pool.h"
#include "superslab.h"

#include <stdatomic.h>

/* ---- intrusive lists ---- */

static inline void slist_push(struct hak_slab_list *l, struct hak_slab *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

static inline void slist_remove(struct hak_slab_list *l, struct hak_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->next = s->prev = NULL;
	l->n--;
}

static inline void sslist_push(struct hak_ss_list *l, struct hak_superslab *ss)
{
	ss->next = NULL;
	ss->prev = l->tail;
	if (l->tail)
		l->tail->next = ss;
	else
		l->head = ss;
	l->tail = ss;
	l->n++;
}

static inline void sslist_remove(struct hak_ss_list *l, struct hak_superslab *ss)
{
	if (ss->prev)
		ss->prev->next = ss->next;
	else
		l->head = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
	else
		l->tail = ss->prev;
	ss->next = ss->prev = NULL;
	l->n--;
}

static inline void with_free_add(struct hak_pool *pl, struct hak_superslab *ss)
{
	ss->free_prev = NULL;
	ss->free_next = pl->with_free;
	if (pl->with_free) pl->with_free->free_prev = ss;
	pl->with_free = ss;
}

static inline void with_free_remove(struct hak_pool *pl, struct hak_superslab *ss)
{
	if (ss->free_prev)
		ss->free_prev->free_next = ss->free_next;
	else
		pl->with_free = ss->free_next;
	if (ss->free_next) ss->free_next->free_prev = ss->free_prev;
	ss->free_next = ss->free_prev = NULL;
}

static inline void lru_touch(struct hak_pool *pl, unsigned cls, struct hak_superslab *ss)
{
	struct hak_superslab **l = pl->lru[cls - pl->class_first];
	unsigned i = 0;
	while (i < HAK_POOL_LRU - 1 && l[i] != ss)
		i++;
	for (; i > 0; i--)
		l[i] = l[i - 1];
	l[0] = ss;
}

static inline int lru_has(struct hak_pool *pl, unsigned cls, struct hak_superslab *ss)
{
	for (unsigned i = 0; i < HAK_POOL_LRU; i++)
		if (pl->lru[cls - pl->class_first][i] == ss) return 1;
	return 0;
}

static inline void lru_forget(struct hak_pool *pl, struct hak_superslab *ss)
{
	for (unsigned c = 0; c < pl->class_count; c++)
		for (unsigned i = 0; i < HAK_POOL_LRU; i++)
			if (pl->lru[c][i] == ss) pl->lru[c][i] = NULL;
}

static inline struct hak_slab_list *partial_list(struct hak_pool *pl, unsigned cls)
{
	return &pl->partial[cls - pl->class_first];
}

static inline void slist_push_head(struct hak_slab_list *l, struct hak_slab *s)
{
	s->prev = NULL;
	s->next = l->head;
	if (l->head)
		l->head->prev = s;
	else
		l->tail = s;
	l->head = s;
	l->n++;
}

/* Slab lock held. A slab with freed blocks goes to the tail, which
 * acquisitions take first, and is counted in with_returned; one with
 * only uncarved space (its owner let it go for returned blocks, or
 * exited) goes to the head: fresh pages are touched last. */
static inline void partial_add(struct hak_pool *pl, struct hak_slab *s)
{
	struct hak_slab_list *l = partial_list(pl, s->cls);
	if (!s->freelist) {
		slist_push_head(l, s);
		return;
	}
	slist_push(l, s);
	HAK_RELAXED_STORE(s->returned, 1); /* hak_pool_return_blocks reads it under the slab lock */
	atomic_fetch_add_explicit(&pl->with_returned[s->cls - pl->class_first], 1,
	                          memory_order_relaxed);
}

static inline void partial_remove(struct hak_pool *pl, struct hak_slab *s)
{
	slist_remove(partial_list(pl, s->cls), s);
	if (s->returned) {
		HAK_RELAXED_STORE(s->returned, 0);
		atomic_fetch_sub_explicit(&pl->with_returned[s->cls - pl->class_first], 1,
		                          memory_order_relaxed);
	}
}

#endif
