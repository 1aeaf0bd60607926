/* hak_heap_check(): walk every SuperSlab and large span and validate what
 * the allocator itself believes about them. */
#include "hakmem.h"
#include "check.h"
#include "heap_report.h"
#include "quarantine.h"
#include <stdio.h>
#include "large.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "slab.h"

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
	for (void *p = s->freelist; p; p = hak_block_next(p)) {
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
/* Full mode: a quarantined block must still carry its fill pattern. */
static void check_quarantined(const struct hak_quarantined *q, void *arg)
{
	uint8_t *b = q->block;
	size_t n =
	    hak_class_usable(q->cls) < HAK_FILL_MAX ? hak_class_usable(q->cls) : HAK_FILL_MAX;
	for (size_t i = 0; i < n; i++)
		if (b[i] != HAK_FILL_FREED) {
			struct hak_ptr_info in;
			hak_track_inspect(b, &in);
			in.found = b[i];
			in.expected = HAK_FILL_FREED;
			char detail[96];
			snprintf(detail, sizeof detail,
			         "byte %zu of the block was overwritten while it sat freed", i);
			hak_report_error(HAK_ERR_USE_AFTER_FREE_WRITE, b, &in, detail, NULL);
			*(long *)arg += 1;
			return;
		}
}
#endif

HAK_API long hak_heap_check(void)
{
	long bad = 0;
#if defined(HAKMEM_CHECKS)
	if (hak_check_level == HAK_CHECK_FULL) hak_quarantine_foreach(check_quarantined, &bad);
#endif
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++)
		bad += check_pool(&hak_pools[k]);
	hak_large_foreach(check_large, &bad);
	return bad;
}
