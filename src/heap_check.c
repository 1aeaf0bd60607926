/* hak_heap_check(): walk every SuperSlab and large span and validate what
 * the allocator itself believes about them. */
#include "hakmem.h"
#include "check.h"
#include "env.h"
#include "heap_report.h"
#include "large.h"
#include "leaks.h"
#include "log.h"
#include "os.h"
#include "pool.h"
#include "quarantine.h"
#include "registry.h"
#include "slab.h"
#include "tcache.h"

#include <stdio.h>

static long problem(const char *what, const void *ss, int slab, const void *p)
{
	hak_log("hakmem: heap-check: %s (superslab %p, slab %d, address %p)\n", what, ss, slab, p);
	return 1;
}

/* Freelist nodes must be carved block starts of this slab, and together
 * with the blocks out they cannot exceed what was carved. */
static long check_slab(struct hak_superslab *ss, struct hak_slab *s)
{
	long bad = 0;
	if (s->cls >= HAK_NUM_CLASSES || s->stride != hak_class_stride[s->cls])
		return problem("slab class and stride disagree", ss, s->index, NULL);
	if (s->carved > s->capacity || s->used > s->carved)
		return problem("slab counts out of range", ss, s->index, NULL);
	uint32_t n = 0;
	/* Each link is decoded but followed only once it is proven a block of
	 * this slab: damage is counted here, not reported as a heap error. */
	for (void *p = s->freelist; p; p = (void *)hak_block_link(p)) {
		long i = hak_slab_block_index(ss, s, p);
		if (i < 0 || (uint32_t)i >= s->carved)
			return bad + problem("freelist link outside the slab's carved blocks", ss,
			                     s->index, p);
		uint8_t h = HAK_RELAXED_LOAD(((uint8_t *)p)[-1]);
		if (h != hak_hdr_live(s->cls) && h != hak_hdr_freed(s->cls))
			bad += problem("free block has a corrupt header", ss, s->index, p);
		if (++n > s->carved) return bad + problem("freelist has a cycle", ss, s->index, p);
	}
	if (n + s->used > s->carved)
		bad += problem("freelist and used blocks exceed carved blocks", ss, s->index, NULL);
	uint8_t *data = hak_slab_data(ss, s);
	for (uint32_t i = 0; i < s->carved; i++) {
		uint8_t *block = data + (size_t)i * s->stride;
		uint8_t h =
		    HAK_RELAXED_LOAD(block[-1]); /* not data[i*stride - 1]: that wraps at i == 0 */
		if (h != hak_hdr_live(s->cls) && h != hak_hdr_freed(s->cls))
			bad += problem("block header corrupt", ss, s->index, block);
	}
	return bad;
}

static long check_pool(struct hak_pool *pl)
{
	long bad = 0;
	pthread_mutex_lock(&pl->lock);
	for (struct hak_superslab *ss = pl->active.head; ss; ss = ss->next) {
		if (ss->magic != HAK_SS_MAGIC || hak_registry_kind(ss) != (unsigned)pl->kind + 1u) {
			bad += problem("SuperSlab header or registry entry corrupt", ss, -1, NULL);
			continue;
		}
		for (unsigned i = 0; i < ss->nslabs; i++) {
			struct hak_slab *s = &ss->slabs[i];
			if (s->state == SLAB_FREE) continue;
			hak_spin_lock(&s->lock);
			bad += check_slab(ss, s);
			hak_spin_unlock(&s->lock);
		}
	}
	pthread_mutex_unlock(&pl->lock);
	return bad;
}

static void check_large(void *p, void *arg)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	if (h->magic != HAK_LARGE_MAGIC || h->tag != HAK_HDR_LARGE ||
	    (uint8_t *)p < h->base + HAK_LARGE_HDR || HAK_RELAXED_LOAD(h->requested) > h->map_size)
		*(long *)arg += problem("large span header corrupt", NULL, -1, p);
}

#if defined(HAKMEM_CHECKS)
void hak_heap_each_tracked(void (*fn)(uint8_t *block, unsigned cls, struct hak_track_rec *rec,
                                      void *arg),
                           void *arg)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		struct hak_pool *pl = &hak_pools[k];
		pthread_mutex_lock(&pl->lock);
		for (struct hak_superslab *ss = pl->active.head; ss; ss = ss->next)
			for (unsigned i = 0; i < ss->nslabs; i++) {
				struct hak_slab *s = &ss->slabs[i];
				if (HAK_RELAXED_LOAD(s->state) == SLAB_FREE) continue;
				hak_spin_lock(&s->lock);
				struct hak_track_rec *t = __atomic_load_n(
				    (struct hak_track_rec **)&s->track, __ATOMIC_ACQUIRE);
				uint8_t *data = hak_slab_data(ss, s);
				for (uint32_t b = 0; t && s->cls < HAK_NUM_CLASSES && b < s->carved;
				     b++)
					if (t[b].state != TRACK_NONE)
						fn(data + (size_t)b * s->stride, s->cls, &t[b],
						   arg);
				hak_spin_unlock(&s->lock);
			}
		pthread_mutex_unlock(&pl->lock);
	}
}

#define DAMAGE_MAX 32

struct damage_list {
	long count;
	struct hak_fill_damage d[DAMAGE_MAX];
};

/* A freed block on a free list: its first word is the link, the rest of
 * its fill must be intact. */
static void find_freed_damage(uint8_t *b, unsigned cls, struct hak_track_rec *rec, void *arg)
{
	struct damage_list *l = arg;
	struct hak_fill_damage d;
	size_t usable = hak_class_usable(cls);
	if (rec->state != TRACK_FREED ||
	    !hak_fill_damage_find(b, cls, sizeof(void *),
	                          usable < HAK_FILL_MAX ? usable : HAK_FILL_MAX, &d))
		return;
	if (l->count < DAMAGE_MAX) l->d[l->count] = d;
	l->count++;
}

long hak_heap_check_freed(const char *when, int on_lists)
{
	long bad = hak_quarantine_check_all(when) + hak_large_check_cached(when);
	/* The calling thread's bins: each link is checked as it is followed
	 * (a damaged one is reported and the bin cut). */
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		uint32_t n = 0;
		for (void *p = hak_tc.bins[c].head; p && n <= hak_tc.bins[c].count; n++)
			p = hak_block_next(p);
	}
	struct damage_list *l = on_lists ? hak_os_map(sizeof *l) : NULL;
	if (!l) return bad;
	l->count = 0;
	hak_heap_each_tracked(find_freed_damage, l);
	/* Reported once no lock is held: a report may malloc and free. */
	for (long i = 0; i < l->count && i < DAMAGE_MAX; i++)
		hak_fill_damage_report(&l->d[i], when, NULL);
	if (l->count > DAMAGE_MAX && hak_env.on_error != HAK_ON_ERROR_IGNORE)
		hak_log("hakmem: %ld more freed blocks were written after free (not shown)\n",
		        l->count - DAMAGE_MAX);
	bad += l->count;
	hak_os_unmap(l, sizeof *l);
	return bad;
}
#endif

HAK_API long hak_heap_check(void)
{
	long bad = 0;
#if defined(HAKMEM_CHECKS)
	if (hak_check_level == HAK_CHECK_FULL) bad += hak_heap_check_freed("by the heap check", 0);
#endif
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++)
		bad += check_pool(&hak_pools[k]);
	hak_large_foreach(check_large, &bad);
	return bad;
}
