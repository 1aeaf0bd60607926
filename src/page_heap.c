#include "page_heap.h"
#include "os.h"

#include <errno.h>

/* ---- regions ---- */

static size_t region_bytes(const struct hak_page_heap *h)
{
	return h->region_bytes ? h->region_bytes : HAK_PH_REGION_BYTES;
}

/* Bytes of a region's metadata: the region, then a descriptor and a tag
 * for every page (a region can hold at most one free span per page). */
static size_t meta_bytes(size_t bytes)
{
	size_t pages = bytes / HAK_PAGE;
	return hak_align_up(sizeof(struct hak_ph_region) +
	                        pages * (sizeof(struct hak_ph_span) + sizeof(uint32_t)),
	                    HAK_PAGE);
}

size_t hak_ph_max_pages(struct hak_page_heap *h)
{
	size_t bytes = region_bytes(h);
	return (bytes - meta_bytes(bytes)) / HAK_PAGE;
}

/* ---- free lists ---- */

static unsigned bin_of(size_t npages)
{
	return npages < HAK_PH_BINS - 1 ? (unsigned)npages : HAK_PH_BINS - 1;
}

static uint32_t tag_of(const struct hak_ph_span *s)
{
	return (uint32_t)(s - s->region->desc) + 1;
}

static void set_add(struct hak_page_heap *h, struct hak_ph_span *s)
{
	struct hak_ph_set *set = &h->set[s->released];
	unsigned b = bin_of(s->npages);
	s->prev = NULL;
	s->next = set->bins[b];
	if (s->next) s->next->prev = s;
	set->bins[b] = s;
	set->nonempty[b / 64] |= 1ull << (b % 64);
}

static void set_del(struct hak_page_heap *h, struct hak_ph_span *s)
{
	struct hak_ph_set *set = &h->set[s->released];
	unsigned b = bin_of(s->npages);
	if (s->prev)
		s->prev->next = s->next;
	else
		set->bins[b] = s->next;
	if (s->next) s->next->prev = s->prev;
	if (!set->bins[b]) set->nonempty[b / 64] &= ~(1ull << (b % 64));
}

/* The smallest span of at least npages: the first non-empty exact bin,
 * else the best fit among the big ones. */
static struct hak_ph_span *set_find(struct hak_ph_set *set, size_t npages)
{
	unsigned b = bin_of(npages);
	for (unsigned w = b / 64; w < HAK_PH_BINS / 64; w++) {
		uint64_t m = set->nonempty[w];
		if (w == b / 64) m &= ~0ull << (b % 64);
		if (!m) continue;
		unsigned i = w * 64 + (unsigned)__builtin_ctzll(m);
		if (i < HAK_PH_BINS - 1) return set->bins[i];
		break;
	}
	struct hak_ph_span *best = NULL;
	for (struct hak_ph_span *s = set->bins[HAK_PH_BINS - 1]; s; s = s->next)
		if (s->npages >= npages && (!best || s->npages < best->npages)) best = s;
	return best;
}

static void age_add(struct hak_page_heap *h, struct hak_ph_span *s)
{
	s->age_next = NULL;
	s->age_prev = h->age_tail;
	if (h->age_tail)
		h->age_tail->age_next = s;
	else
		h->age_head = s;
	h->age_tail = s;
}

static void age_del(struct hak_page_heap *h, struct hak_ph_span *s)
{
	if (s->age_prev)
		s->age_prev->age_next = s->age_next;
	else
		h->age_head = s->age_next;
	if (s->age_next)
		s->age_next->age_prev = s->age_prev;
	else
		h->age_tail = s->age_prev;
}

/* ---- free spans ---- */

static void count(struct hak_page_heap *h, const struct hak_ph_span *s, size_t npages, int sign)
{
	size_t bytes = npages * HAK_PAGE;
	h->free_bytes += sign > 0 ? bytes : -bytes;
	if (!s->released) h->resident_bytes += sign > 0 ? bytes : -bytes;
}

static void span_make(struct hak_page_heap *h, struct hak_ph_region *r, uint32_t first,
                      uint32_t npages, uint8_t released, uint64_t now)
{
	struct hak_ph_span *s = r->desc_spare;
	if (s)
		r->desc_spare = s->next;
	else
		s = &r->desc[r->desc_used++];
	*s = (struct hak_ph_span){
	    .region = r, .first = first, .npages = npages, .freed_ns = now, .released = released};
	r->tag[first] = r->tag[first + npages - 1] = tag_of(s);
	set_add(h, s);
	if (!released) age_add(h, s);
	count(h, s, npages, 1);
}

static void span_drop(struct hak_page_heap *h, struct hak_ph_span *s)
{
	struct hak_ph_region *r = s->region;
	set_del(h, s);
	if (!s->released) age_del(h, s);
	count(h, s, s->npages, -1);
	s->next = r->desc_spare;
	r->desc_spare = s;
}

/* The free span whose first or last page is page, if any. */
static struct hak_ph_span *free_at(struct hak_ph_region *r, int64_t page)
{
	if (page < 0 || page >= (int64_t)r->npages) return NULL;
	uint32_t t = r->tag[page];
	return t ? &r->desc[t - 1] : NULL;
}

/* Pages [first, first + npages) become free and merge with the free spans
 * of the same kind on both sides. */
static void free_range(struct hak_page_heap *h, struct hak_ph_region *r, uint32_t first,
                       uint32_t npages, uint8_t released, uint64_t now)
{
	struct hak_ph_span *left = free_at(r, (int64_t)first - 1);
	struct hak_ph_span *right = free_at(r, (int64_t)first + npages);
	if (left && left->released == released) {
		first = left->first;
		npages += left->npages;
		span_drop(h, left);
	}
	if (right && right->released == released) {
		npages += right->npages;
		span_drop(h, right);
	}
	span_make(h, r, first, npages, released, now);
}

static void note(struct hak_ph_log *log, uint8_t kind, uint8_t *addr, size_t bytes)
{
	if (log->n < HAK_PH_NOTES) {
		log->note[log->n].kind = kind;
		log->note[log->n].addr = addr;
		log->note[log->n].bytes = bytes;
		log->n++;
	}
}

/* The first npages pages of s; the rest stays free, in place in the age
 * order (it was freed when s was). */
static uint8_t *take_front(struct hak_page_heap *h, struct hak_ph_span *s, uint32_t npages,
                           struct hak_ph_log *log)
{
	struct hak_ph_region *r = s->region;
	uint32_t first = s->first;
	uint8_t *addr = r->data + (size_t)first * HAK_PAGE;
	if (s->released) note(log, HAK_PH_FRESH, addr, (size_t)npages * HAK_PAGE);
	if (s->npages > npages) {
		set_del(h, s);
		count(h, s, npages, -1);
		s->first += npages;
		s->npages -= npages;
		r->tag[s->first] = tag_of(s);
		set_add(h, s);
	} else {
		span_drop(h, s);
	}
	r->tag[first] = r->tag[first + npages - 1] = 0;
	return addr;
}

static struct hak_ph_region *region_map(struct hak_page_heap *h)
{
	unsigned number = 0;
	for (unsigned i = 1; i <= HAK_PH_MAX_REGIONS && !number; i++)
		if (!h->regions[i]) number = i;
	if (!number) {
		errno = ENOMEM;
		return NULL;
	}
	size_t bytes = region_bytes(h);
	uint8_t *m = hak_os_map(bytes);
	if (!m) return NULL;
	struct hak_ph_region *r = (struct hak_ph_region *)m;
	size_t pages = bytes / HAK_PAGE;
	r->map = m;
	r->map_bytes = bytes;
	r->data = m + meta_bytes(bytes);
	r->npages = (uint32_t)((bytes - meta_bytes(bytes)) / HAK_PAGE);
	r->number = number;
	r->desc = (struct hak_ph_span *)(r + 1);
	r->tag = (uint32_t *)(r->desc + pages);
	h->regions[number] = r;
	h->nregions++;
	span_make(h, r, 0, r->npages, 1, 0);
	return r;
}

/* A region that is one released free span goes back to the kernel. */
static void region_maybe_unmap(struct hak_page_heap *h, struct hak_ph_region *r, int unmap_all)
{
	struct hak_ph_span *s = free_at(r, 0);
	if (!s || !s->released || s->npages != r->npages || (!unmap_all && h->nregions < 2)) return;
	span_drop(h, s);
	h->regions[r->number] = NULL;
	h->nregions--;
	hak_os_unmap(r->map, r->map_bytes);
}

/* ---- the interface ---- */

uint8_t *hak_ph_alloc(struct hak_page_heap *h, size_t npages, unsigned *region,
                      struct hak_ph_log *log)
{
	if (!npages || npages > hak_ph_max_pages(h)) {
		errno = ENOMEM;
		return NULL;
	}
	struct hak_ph_span *s = set_find(&h->set[0], npages);
	if (!s) s = set_find(&h->set[1], npages);
	if (!s) {
		if (!region_map(h)) return NULL;
		s = set_find(&h->set[1], npages);
	}
	*region = s->region->number;
	return take_front(h, s, (uint32_t)npages, log);
}

static uint32_t page_of(struct hak_ph_region *r, uint8_t *addr)
{
	return (uint32_t)((size_t)(addr - r->data) / HAK_PAGE);
}

void hak_ph_free(struct hak_page_heap *h, unsigned region, uint8_t *base, size_t npages,
                 uint64_t now)
{
	struct hak_ph_region *r = h->regions[region];
	free_range(h, r, page_of(r, base), (uint32_t)npages, 0, now);
}

int hak_ph_grow(struct hak_page_heap *h, unsigned region, uint8_t *base, size_t old_pages,
                size_t new_pages, struct hak_ph_log *log)
{
	struct hak_ph_region *r = h->regions[region];
	uint32_t end = page_of(r, base) + (uint32_t)old_pages;
	size_t want = new_pages - old_pages;
	/* At most two free spans follow: a resident one and a released one
	 * (spans of one kind have merged). */
	struct hak_ph_span *next = free_at(r, end), *after = NULL;
	if (!next || next->first != end) return 0;
	if (next->npages < want) {
		after = free_at(r, (int64_t)end + next->npages);
		if (!after || after->first != end + next->npages ||
		    next->npages + after->npages < want)
			return 0;
		want -= next->npages;
		take_front(h, next, next->npages, log);
		next = after;
	}
	take_front(h, next, (uint32_t)want, log);
	return 1;
}

uint8_t *hak_ph_grow_down(struct hak_page_heap *h, unsigned region, uint8_t *base, size_t old_pages,
                          size_t new_pages)
{
	struct hak_ph_region *r = h->regions[region];
	uint32_t first = page_of(r, base);
	struct hak_ph_span *left = free_at(r, (int64_t)first - 1);
	if (!left || left->released || left->first + left->npages != first ||
	    left->npages >= new_pages || left->npages + old_pages < new_pages)
		return NULL;
	uint32_t start = left->first;
	span_drop(h, left);
	r->tag[start] = r->tag[first - 1] = 0;
	return r->data + (size_t)start * HAK_PAGE;
}

void hak_ph_shrink(struct hak_page_heap *h, unsigned region, uint8_t *base, size_t old_pages,
                   size_t new_pages, uint64_t now)
{
	struct hak_ph_region *r = h->regions[region];
	uint32_t first = page_of(r, base);
	r->tag[first + new_pages - 1] = 0;
	free_range(h, r, first + (uint32_t)new_pages, (uint32_t)(old_pages - new_pages), 0, now);
}

unsigned hak_ph_purge(struct hak_page_heap *h, uint64_t now, int64_t delay_ns, size_t keep_bytes,
                      int unmap_all, struct hak_ph_log *log)
{
	unsigned released = 0;
	while (h->age_head && log->n < HAK_PH_NOTES) {
		struct hak_ph_span *s = h->age_head;
		int old =
		    delay_ns >= 0 && (now < s->freed_ns || now - s->freed_ns >= (uint64_t)delay_ns);
		if (!old && h->resident_bytes <= keep_bytes) break;
		struct hak_ph_region *r = s->region;
		uint32_t first = s->first, npages = s->npages;
		uint8_t *addr = r->data + (size_t)first * HAK_PAGE;
		span_drop(h, s);
		hak_os_purge(addr, (size_t)npages * HAK_PAGE);
		note(log, HAK_PH_RELEASED, addr, (size_t)npages * HAK_PAGE);
		free_range(h, r, first, npages, 1, now);
		released++;
		region_maybe_unmap(h, r, unmap_all);
	}
	if (unmap_all)
		for (unsigned i = 1; i <= HAK_PH_MAX_REGIONS && h->nregions; i++)
			if (h->regions[i]) region_maybe_unmap(h, h->regions[i], 1);
	return released;
}

void hak_ph_foreach_resident(struct hak_page_heap *h,
                             void (*fn)(uint8_t *base, size_t bytes, void *arg), void *arg)
{
	for (struct hak_ph_span *s = h->age_head; s; s = s->age_next)
		fn(s->region->data + (size_t)s->first * HAK_PAGE, (size_t)s->npages * HAK_PAGE,
		   arg);
}
