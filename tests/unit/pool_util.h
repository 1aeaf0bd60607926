/* Driving the shared pool by hand, as a thread cache would: acquire a
 * slab, take blocks from it under its lock, release it, return blocks. */
#ifndef HAKMEM_UNIT_POOL_UTIL_H
#define HAKMEM_UNIT_POOL_UTIL_H

#include "unit.h"
#include "slab.h"
#include "stats_counters.h"

#include "hakmem.h"

static char test_owner; /* stands in for a thread cache */

static inline struct hak_slab *acquire(unsigned cls)
{
	struct hak_slab *s = hak_pool_acquire(cls, &test_owner);
	assert_non_null(s);
	assert_int_equal(s->state, SLAB_OWNED);
	assert_ptr_equal(s->owner, &test_owner);
	assert_int_equal(s->cls, cls);
	return s;
}

static inline uint32_t take(struct hak_slab *s, unsigned want, void **head, void **tail)
{
	struct hak_take t;
	hak_spin_lock(&s->lock);
	hak_slab_take(hak_slab_ss(s), s, want, head, tail, &t);
	hak_spin_unlock(&s->lock);
	return t.got;
}

static inline int on_slab_list(const struct hak_slab_list *l, const struct hak_slab *s)
{
	for (const struct hak_slab *x = l->head; x; x = x->next)
		if (x == s) return 1;
	return 0;
}

/* The largest request that class c serves (with the size table as it is
 * now). Not the usable size for Mid classes: Mid sizes round in 256-byte
 * steps of class size (stride - 16), so class_size+1 .. usable go one
 * class up. */
static inline size_t size_of_class(unsigned c)
{
	size_t n =
	    hak_class_pool(c) == HAK_POOL_MID ? hak_class_stride[c] - 16 : hak_class_usable(c);
	/* With Small-Mid on, the top of a Tiny class (256 bytes and up) goes
	 * to Small-Mid: walk down to what the class still serves. */
	while (n > 0 && hak_size_class(n) != c)
		n--;
	assert_int_equal(hak_size_class(n), c);
	return n;
}

static inline struct hak_stats stats_now(void)
{
	struct hak_stats st;
	hak_stats_get(&st);
	return st;
}

#endif
