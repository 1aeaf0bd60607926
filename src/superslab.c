#include "superslab.h"
#include "asan_hooks.h"
#include "ptr_inspect.h"
#include "os.h"
#include "registry.h"

/* Each pool maps its SuperSlabs a run at a time: 1, then 2, 4, 8 and 16
 * at once. Every mmap and trim write-locks the mapping that the heap's
 * page faults read, so one per SuperSlab stalled every thread faulting in
 * fresh pages (coldstart, 4 threads). Only the pool's lock (held by the
 * caller) guards a run; what is not handed out is address space, not
 * memory. */
#define HAK_SS_RUN_MAX 16u
static struct ss_run {
	uint8_t *next, *end;
	unsigned len; /* SuperSlabs in the next run */
} ss_runs[HAK_NUM_POOLS];

static void *ss_address(unsigned pool, size_t size)
{
	struct ss_run *r = &ss_runs[pool];
	if (r->next == r->end) {
		unsigned n = r->len ? r->len : 1;
		uint8_t *p = n > 1 ? hak_os_map_aligned(n * size, size) : NULL;
		if (!p) {
			n = 1;
			p = hak_os_map_aligned(size, size);
			if (!p) return NULL;
		}
		r->next = p;
		r->end = p + n * size;
		unsigned grown = r->len ? 2 * r->len : 2;
		r->len = grown < HAK_SS_RUN_MAX ? grown : HAK_SS_RUN_MAX;
	}
	void *p = r->next;
	r->next += size;
	return p;
}

struct hak_superslab *hak_superslab_map(unsigned pool, unsigned ss_shift, unsigned slab_shift)
{
	size_t size = (size_t)1 << ss_shift;
	struct hak_superslab *ss = ss_address(pool, size);
	if (!ss) return NULL;
	if (hak_registry_add(ss, size, pool)) {
		hak_os_unmap(ss, size);
		return NULL;
	}
	ss->magic = HAK_SS_MAGIC;
	ss->pool = (uint8_t)pool;
	ss->slab_shift = (uint8_t)slab_shift;
	ss->nslabs = (uint8_t)(size >> slab_shift);
	ss->size = size;
	ss->free_slots = ss->nslabs == 32 ? 0xffffffffu : (1u << ss->nslabs) - 1;
	ss->mapped_ns = hak_now_ns();
	HAK_ASAN_POISON((uint8_t *)ss + HAK_PAGE, size - HAK_PAGE); /* no block is live yet */
	for (unsigned i = 0; i < ss->nslabs; i++) {
		struct hak_slab *s = &ss->slabs[i];
		s->index = (uint8_t)i;
		hak_slab_set_class(s, HAK_NO_CLASS);
		HAK_RELAXED_STORE(s->state, SLAB_FREE);
		/* Slab 0 shares its first page with this header. */
		s->data_offset = i == 0 ? HAK_PAGE : HAK_ALIGN;
		s->touched_pages = i == 0 ? 1 : 0;
	}
	return ss;
}

void hak_superslab_unmap(struct hak_superslab *ss)
{
	size_t size = ss->size;
#if defined(HAKMEM_CHECKS)
	for (unsigned i = 0; i < ss->nslabs; i++)
		hak_track_slab_release(&ss->slabs[i]);
#endif
	hak_registry_remove(ss, size);
	ss->magic = 0;
	hak_os_unmap(ss, size);
}

uint32_t hak_slab_pages_gone(struct hak_slab *s)
{
	unsigned keep = s->index == 0 ? 1 : 0;
	uint32_t pages = s->touched_pages > keep ? s->touched_pages - keep : 0;
	if (pages) {
		/* Touching them again is a refault, up to the old high-water mark. */
		s->refault_below = s->touched_pages;
		s->purged = 1;
	}
	s->touched_pages = keep;
#if defined(HAKMEM_CHECKS)
	hak_track_slab_reset(s); /* the fill patterns are gone with the pages */
#endif
	return pages;
}

size_t hak_superslab_purge(struct hak_superslab *ss)
{
	size_t pages = 0;
	for (unsigned i = 0; i < ss->nslabs; i++)
		pages += hak_slab_pages_gone(&ss->slabs[i]);
	hak_os_purge((uint8_t *)ss + HAK_PAGE, ss->size - HAK_PAGE);
	ss->purged = 1;
	return pages;
}
