#include "slab.h"
#include "check.h"
#include "os.h"
#include "ptr_inspect.h"
#include "trace_hooks.h"

#if defined(HAKMEM_CHECKS)
#include "heap_report.h"
#include "pool.h"
#include <stdio.h>
#endif

void hak_slab_format(struct hak_superslab *ss, struct hak_slab *s, unsigned cls)
{
	hak_slab_set_class(s, cls);
	s->stride = hak_class_stride[cls];
	s->recip = (((uint64_t)1 << 40) + s->stride - 1) / s->stride;
	/* stride = odd << tz; odd's inverse mod 2^32 by Newton's iteration
	 * (each step doubles the bits that are right: 3, 6, ... 48). */
	unsigned tz = (unsigned)__builtin_ctz(s->stride);
	uint32_t odd = s->stride >> tz, inv = odd;
	for (int i = 0; i < 4; i++)
		inv *= 2 - odd * inv;
	s->stride_tz = (uint8_t)tz;
	s->odd_inv = inv;
	s->capacity = (uint16_t)((hak_ss_slab_size(ss) - s->data_offset) / s->stride);
	HAK_RELAXED_STORE(s->carved, 0);
	s->used = 0;
	s->freelist = NULL;
	__atomic_store_n(&s->remote, 0, __ATOMIC_RELAXED);
#if defined(HAKMEM_CHECKS)
	hak_track_slab_reset(s);
#endif
}

/* Pages [0, n) of the slab are touched once blocks [0, carved) exist:
 * the last carved block's bytes end one byte before the next header. */
static uint32_t pages_for_carved(const struct hak_slab *s, uint32_t carved, size_t slab_size)
{
	size_t end = s->data_offset + (size_t)carved * s->stride;
	if (end > slab_size) end = slab_size;
	return (uint32_t)((end + HAK_PAGE - 1) / HAK_PAGE);
}

/* Whether a carve faults its fresh pages in with one madvise before it
 * writes their headers: an exception for each page costs more, the more so
 * in a VM (coldstart 1.09x-1.15x, the same faults counted). Not while
 * tracing: the report counts faults with perf's page-fault counter, which
 * faults taken inside a system call do not reach. */
static inline int carve_populates(void)
{
#if defined(HAKMEM_TRACE_HOOKS)
	return hak_tp == NULL;
#else
	return 1;
#endif
}

void hak_slab_take_ex(struct hak_superslab *ss, struct hak_slab *s, unsigned want, int carve_ok,
                      void **head, void **tail, struct hak_take *t)
{
	void *h = NULL, *last = NULL;
	uint32_t got = 0;

	*t = (struct hak_take){0};
	/* Freelist first, then what other threads freed into the slab: those
	 * pages are already resident. */
	for (;;) {
		while (got < want && s->freelist) {
			void *p = s->freelist;
			s->freelist = hak_block_next(p);
			if (last)
				hak_block_set_next(last, p);
			else
				h = p;
			last = p;
			got++;
		}
		if (got == want || t->from_remote) break;
		uint32_t n = hak_slab_remote_collect(s);
		if (!n) break;
		t->from_remote = n;
	}
	t->from_freelist = got;

	uint32_t carve = carve_ok ? want - got : 0;
	if (carve > s->capacity - s->carved) carve = s->capacity - s->carved;
	if (carve) {
		uint8_t *p = hak_slab_data(ss, s) + (size_t)s->carved * s->stride;
		/* Under ptr_track a block is live only while the user holds it. */
		uint8_t hdr = HAK_CHECKING() ? hak_hdr_freed(s->cls) : hak_hdr_live(s->cls);
		uint32_t hw = pages_for_carved(s, s->carved + carve, hak_ss_slab_size(ss));
		/* One page faults as cheaply as the call would. */
		if (hw >= s->touched_pages + 2 && carve_populates())
			hak_os_populate(hak_slab_base(ss, s) + (size_t)s->touched_pages * HAK_PAGE,
			                (size_t)(hw - s->touched_pages) * HAK_PAGE);
		for (uint32_t i = 0; i < carve; i++, p += s->stride) {
			HAK_RELAXED_STORE(p[-1], hdr);
			if (last)
				hak_block_set_next(last, p);
			else
				h = p;
			last = p;
		}
		HAK_RELAXED_STORE(s->carved, s->carved + carve);
		got += carve;
		t->from_carve = carve;
		if (hw > s->touched_pages) {
			t->new_pages = hw - s->touched_pages;
			t->refault = s->purged;
			s->touched_pages = hw;
			/* Past the old high-water mark, faults are first touches again. */
			if (hw >= s->refault_below) s->purged = 0;
		}
	}
	__atomic_store_n(&s->used, s->used + got, __ATOMIC_RELAXED); /* stats read it unlocked */
	t->got = got;
	*head = h;
	*tail = last;
}

/* One exchange takes the whole chain and its count: pushes only ever add
 * at the head, so there is no ABA. Onto an empty freelist the chain goes
 * as it is (its last link is NULL), unwalked; onto a non-empty one it is
 * walked for its tail, and under ptr_track always, each link checked as
 * it is read. The walk had been 11% of prodcons-batch's time. */
static uint32_t remote_take(struct hak_slab *s, uintptr_t keep)
{
	uintptr_t w = __atomic_exchange_n(&s->remote, keep, __ATOMIC_ACQUIRE);
	void *head = HAK_REMOTE_HEAD(w), *tail = head;
	if (!head) return 0;
	uint32_t n = HAK_REMOTE_COUNT(w);
	if (!s->freelist && !HAK_CHECKING()) {
		s->freelist = head;
		__atomic_store_n(&s->used, s->used - n, __ATOMIC_RELAXED);
		return n;
	}
	/* Counted as walked: under ptr_track a damaged link (reported) ends
	 * the chain, and what lies past it stays counted out, as it was. */
	n = 1;
	for (void *q; (q = hak_block_next(tail)) != NULL; tail = q)
		n++;
	hak_slab_put(s, head, tail, n);
	return n;
}

uint32_t hak_slab_remote_collect(struct hak_slab *s)
{
	uintptr_t w = __atomic_load_n(&s->remote, __ATOMIC_RELAXED);
	if (!HAK_REMOTE_HEAD(w)) return 0;
	return remote_take(s,
	                   w & HAK_REMOTE_OPEN); /* only the slab lock's holder changes the bit */
}

uint32_t hak_slab_remote_close(struct hak_slab *s)
{
	return remote_take(s, 0);
}

int hak_slab_take_freelist(struct hak_slab *s, uint32_t lo, uint32_t hi, void **head,
                           struct hak_take *t)
{
	uint32_t n = s->carved - s->used;
	if (n < lo || n > hi || !s->freelist) return 0;
	*head = s->freelist;
	s->freelist = NULL;
	__atomic_store_n(&s->used, s->carved, __ATOMIC_RELAXED); /* stats read it unlocked */
	*t = (struct hak_take){.got = n, .from_freelist = n};
	return 1;
}

#if defined(HAKMEM_CHECKS)
/* The list is cut at the bad link: the blocks behind it leak, which is
 * better than handing out whatever address was written there. */
/* A damaged link found at block p, reported as a use-after-free write. */
static void report_link_write(void *p, const char *detail)
{
	struct hak_ptr_info in;
	hak_track_inspect(p, &in);
	in.error = HAK_ERR_USE_AFTER_FREE_WRITE;
	hak_report_error(HAK_ERR_USE_AFTER_FREE_WRITE, p, &in, detail, NULL);
}

void *hak_link_corrupt(void *p, uintptr_t decoded, const char *why)
{
	char detail[320];
	snprintf(detail, sizeof detail,
	         "the free-list link in the first 8 bytes of the freed block was overwritten: it "
	         "decodes to %p, %s; the list is cut there (the blocks behind it are leaked)",
	         (void *)decoded, why);
	report_link_write(p, detail);
	/* End the list here for good: the next walk must not report it again. */
	hak_block_set_next(p, NULL);
	return NULL;
}

/* The block was reached through a link but is no free block of the list's
 * class: the link behind it was overwritten, with a value that still fell
 * in the heap. The caller drops it and the rest of the list. */
void hak_link_reached_corrupt(void *p, unsigned cls, const char *why)
{
	char detail[320];
	snprintf(detail, sizeof detail,
	         "a free-list link of class %u was overwritten: it led to %p, %s; the list is cut "
	         "there (the blocks behind it are leaked)",
	         cls, p, why);
	report_link_write(p, detail);
}

/* The slow half of hak_block_next: v failed the inline range check, so it
 * is not followed. Reads only memory the registry vouches for. */
void *hak_link_verify(void *p, uintptr_t v)
{
	const uintptr_t grain = ((uintptr_t)1 << HAK_REG_GRAIN_SHIFT) - 1;
	if (v & (HAK_ALIGN - 1)) return hak_link_corrupt(p, v, "which is not 16-aligned");
	if (!(v & grain) || !hak_registry_kind((void *)v) || !hak_registry_kind(p))
		return hak_link_corrupt(p, v, "which is inside no hakmem SuperSlab");
	return (void *)v; /* registered after all (a racing map): its own header says the rest */
}

/* The slow half of hak_block_own_bad. p passed the range check when its
 * link was followed, so p[-1] is mapped and p's grain registered. */
int hak_block_reached_bad(void *p, unsigned cls)
{
	unsigned kind = hak_registry_kind(p);
	char why[128];
	if (!kind) {
		snprintf(why, sizeof why, "which is inside no hakmem SuperSlab");
	} else {
		struct hak_superslab *ss;
		struct hak_slab *s = hak_addr_slab(p, kind, &ss);
		long idx = -1;
		if (HAK_RELAXED_LOAD(s->state) != SLAB_FREE && s->cls == cls)
			idx = hak_slab_block_index(ss, s, p);
		uint8_t h = HAK_RELAXED_LOAD(((uint8_t *)p)[-1]);
		if (idx < 0 || (uint32_t)idx >= HAK_RELAXED_LOAD(s->carved))
			snprintf(why, sizeof why,
			         "which is not the start of a carved block of class %u", cls);
		else if (h == hak_hdr_live(cls))
			snprintf(why, sizeof why,
			         "a block of class %u that is in use (header 0x%02x)", cls, h);
		else
			return 0; /* its own header was damaged; the heap check reports that */
	}
	hak_link_reached_corrupt(p, cls, why);
	return 1;
}
#endif
