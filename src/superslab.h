/* SuperSlabs: big size-aligned mappings cut into slabs. The header and
 * every slab's metadata live in the first page, so p & ~(size-1) finds
 * the metadata of any block with one mask. */
#ifndef HAKMEM_SUPERSLAB_H
#define HAKMEM_SUPERSLAB_H

#include "config.h"
#include "lock.h"
#include "size_class.h"

#define HAK_SS_MAGIC 0x68616b6d53536c62ull /* "hakmSSlb" */

enum hak_slab_state {
	SLAB_FREE = 0, /* slot not formatted for any class */
	SLAB_OWNED,    /* a thread's current slab for its class */
	SLAB_PARTIAL,  /* unowned, has free blocks; on its class's partial list */
	SLAB_FULL,     /* unowned, nothing free; on no list */
	SLAB_EMPTY,    /* unowned, used == 0; on the pool's empty list */
};

struct hak_slab {
	/* Read by every checked free (slab_lookup.h, alloc_fast.h,
	 * ptr_track.c): the first 32 bytes, so that they share one cache line
	 * for three slabs in four (a 112-byte stride puts one start in four
	 * 48 bytes into a line). Spread over 68 bytes they took two lines on
	 * every free. */
	uint8_t cls; /* HAK_NO_CLASS while SLAB_FREE */
	/* hak_hdr_live(cls), or 0 (no header) while the slab has no class:
	 * fast mode's free compares the header with it (hak_slab_set_class). */
	uint8_t live_hdr;
	uint16_t data_offset; /* block 0's user pointer, from the slab's start */
	uint16_t stride;
	uint8_t stride_tz; /* stride = odd << stride_tz (hak_slab_carved_index) */
	uint8_t state;
	uint32_t carved;  /* blocks carved so far (bump) */
	uint32_t odd_inv; /* odd * odd_inv = 1 mod 2^32 (hak_slab_carved_index) */
	uint64_t recip;   /* ceil(2^40 / stride): block index without a division */
	void *track;      /* ptr_track full mode: per-block records, mmap'd on first use */
	hak_spin_t lock;  /* guards freelist/carved/used; state+owner need the pool lock too */
	uint8_t index;
	uint8_t purged; /* pages below refault_below were given back: touching them is a refault */
	uint8_t on_purged; /* which empty list holds it: pool.empty_purged rather than pool.empty */
	uint8_t returned; /* on its partial list with freed blocks: counted in pool.with_returned */
	uint8_t pending;  /* on pool.pending (slab lock) */
	uint16_t capacity;
	uint32_t used;          /* blocks out: in use, in a thread cache or on remote */
	uint32_t touched_pages; /* high-water mark of pages touched, from the slab's start */
	uint32_t refault_below; /* the high-water mark before the last purge */
	void *freelist;
	/* Blocks other threads freed into it while SLAB_OWNED, plus
	 * HAK_REMOTE_OPEN while it takes them without a lock (slab.h). */
	uintptr_t remote;
	void *owner; /* owning thread cache while SLAB_OWNED */
	struct hak_slab *next, *prev;
	struct hak_slab *pending_next; /* on pool.pending: a transition waits for the pool lock */
	uint64_t empty_since_ns;
};

_Static_assert(sizeof(struct hak_slab) == 112 && __builtin_offsetof(struct hak_slab, lock) == 32,
               "the fields every checked free reads fill the first 32 bytes");

struct hak_superslab {
	uint64_t magic;
	uint8_t pool;
	uint8_t nslabs;
	uint8_t slab_shift;
	uint8_t warm; /* in the warm cache */
	uint8_t purged;
	uint32_t free_slots; /* bit i: slab i is SLAB_FREE */
	uint32_t in_use;     /* slabs OWNED, PARTIAL or FULL */
	size_t size;
	uint64_t mapped_ns;
	uint64_t warm_since_ns;
	struct hak_superslab *next, *prev;           /* pool's active or warm list */
	struct hak_superslab *free_next, *free_prev; /* pool's has-a-free-slot list */
	const void *home; /* the thread cache its free slots go to first (pool.c) */
	struct hak_slab slabs[HAK_MAX_SLABS_PER_SS];
	/* The class of each 64 KiB unit's slab (HAK_NO_CLASS while it has
	 * none), for the release free: hak_unit_class. */
	_Alignas(64) uint8_t unit_cls[HAK_MAX_SLABS_PER_SS];
};

/* unit_cls's grain: the smallest slab, so a slab is whole units. */
#define HAK_UNIT_SHIFT 16
_Static_assert(HAK_SLAB_SHIFT_TINY >= HAK_UNIT_SHIFT && HAK_SLAB_SHIFT_MID >= HAK_UNIT_SHIFT &&
                   HAK_SLAB_SHIFT_SMALLMID >= HAK_UNIT_SHIFT,
               "a slab is whole units");
_Static_assert(((size_t)1 << (HAK_SS_SHIFT_TINY - HAK_UNIT_SHIFT)) <= HAK_MAX_SLABS_PER_SS &&
                   ((size_t)1 << (HAK_SS_SHIFT_MID - HAK_UNIT_SHIFT)) <= HAK_MAX_SLABS_PER_SS &&
                   ((size_t)1 << (HAK_SS_SHIFT_SMALLMID - HAK_UNIT_SHIFT)) <= HAK_MAX_SLABS_PER_SS,
               "unit_cls holds every unit");

_Static_assert(sizeof(struct hak_superslab) < HAK_PAGE - 16, "SuperSlab header must fit a page");

static inline uint8_t *hak_slab_base(struct hak_superslab *ss, const struct hak_slab *s)
{
	return (uint8_t *)ss + ((size_t)s->index << ss->slab_shift);
}

static inline uint8_t *hak_slab_data(struct hak_superslab *ss, const struct hak_slab *s)
{
	return hak_slab_base(ss, s) + s->data_offset;
}

static inline struct hak_superslab *hak_slab_ss(struct hak_slab *s)
{
	return (struct hak_superslab *)((uint8_t *)(s - s->index) -
	                                offsetof(struct hak_superslab, slabs));
}

static inline size_t hak_ss_slab_size(const struct hak_superslab *ss)
{
	return (size_t)1 << ss->slab_shift;
}

/* The class of slab s, and the live header its blocks carry. */
static inline void hak_slab_set_class(struct hak_slab *s, unsigned cls)
{
	struct hak_superslab *ss = hak_slab_ss(s);
	unsigned units = 1u << (ss->slab_shift - HAK_UNIT_SHIFT);
	s->cls = (uint8_t)cls;
	HAK_RELAXED_STORE(s->live_hdr, cls < HAK_NUM_CLASSES ? hak_hdr_live(cls) : 0);
	for (unsigned u = s->index * units; u < (s->index + 1u) * units; u++)
		HAK_RELAXED_STORE(ss->unit_cls[u], (uint8_t)cls);
}

/* off / stride, exact for every offset inside a slab (off < 2^18,
 * stride < 2^16, so off * stride < 2^40). */
static inline size_t hak_slab_div(const struct hak_slab *s, size_t off)
{
	return (size_t)((off * s->recip) >> 40);
}

/* The index of the block starting off bytes past the slab's data when it
 * is carved; else some number >= s->carved. Mod 2^32, off * odd_inv is
 * the exact quotient off / odd when odd divides off; rotated right by
 * stride_tz, that is off / stride when off is a multiple of stride, and
 * otherwise at least 2^(32 - 6 - 16) = 1024 (low bits rotated to the top,
 * or a non-multiple of odd, which the inverse sends past 2^32 / odd). A
 * slab holds under 2^18 bytes and 4096 blocks, and an offset below block
 * 0 (at most 4096 bytes) wraps to at least 2^32 - 4096: so one compare
 * with carved proves the boundary and the carve, where division by the
 * reciprocal needed a multiply back and two. */
static inline size_t hak_slab_carved_index(const struct hak_slab *s, size_t off)
{
	uint32_t x = (uint32_t)off * s->odd_inv;
	unsigned t = s->stride_tz;
	return (x >> t) | (x << ((32 - t) & 31));
}

/* Block index of p in its slab, or -1 when p is not a block start. */
static inline long hak_slab_block_index(struct hak_superslab *ss, struct hak_slab *s, const void *p)
{
	uint8_t *data = hak_slab_data(ss, s);
	if ((const uint8_t *)p < data) return -1;
	size_t off = (size_t)((const uint8_t *)p - data);
	size_t i = hak_slab_div(s, off);
	if (i >= s->capacity || i * s->stride != off) return -1;
	return (long)i;
}

/* Each pool's address geometry, from geometry.h's rows: the SuperSlab
 * mask, the mask of an address's place in its slab, the slab shift and the
 * last slab index. The lookups below index them by a constant pool, so
 * they fold away; hak_superslab_lookup's pool may vary. */
#define HAK_SS_MASK_ROW(k, nm, first, count, ssb, slb, hdr) [k] = ~(((uintptr_t)1 << ssb) - 1),
#define HAK_SLAB_IN_ROW(k, nm, first, count, ssb, slb, hdr) [k] = ((uintptr_t)1 << slb) - 1,
#define HAK_SLAB_SHIFT_ROW(k, nm, first, count, ssb, slb, hdr) [k] = slb,
#define HAK_SLAB_LAST_ROW(k, nm, first, count, ssb, slb, hdr)                                      \
	[k] = ((uintptr_t)1 << (ssb - slb)) - 1,
static const uintptr_t hak_pool_ss_mask[HAK_NUM_POOLS] = {HAK_POOLS(HAK_SS_MASK_ROW)};
static const uintptr_t hak_pool_slab_in[HAK_NUM_POOLS] = {HAK_POOLS(HAK_SLAB_IN_ROW)};
static const uint8_t hak_pool_slab_shift[HAK_NUM_POOLS] = {HAK_POOLS(HAK_SLAB_SHIFT_ROW)};
static const uintptr_t hak_pool_slab_last[HAK_NUM_POOLS] = {HAK_POOLS(HAK_SLAB_LAST_ROW)};
#undef HAK_SS_MASK_ROW
#undef HAK_SLAB_IN_ROW
#undef HAK_SLAB_SHIFT_ROW
#undef HAK_SLAB_LAST_ROW

/* The class of a live Tiny or Mid block from its SuperSlab's map, without
 * reading the block: both pools' SuperSlabs are 2 MiB, size-aligned. The
 * caller knows p is one (its header says so). */
_Static_assert(HAK_SS_SHIFT_TINY == HAK_SS_SHIFT_MID, "Tiny and Mid SuperSlabs share one mask");
static inline unsigned hak_unit_class(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	const struct hak_superslab *ss =
	    (const struct hak_superslab *)(a & hak_pool_ss_mask[HAK_POOL_TINY]);
	return HAK_RELAXED_LOAD(
	    ss->unit_cls[(a & ~hak_pool_ss_mask[HAK_POOL_TINY]) >> HAK_UNIT_SHIFT]);
}

/* The SuperSlab and slab of pool `pool` holding address p: one mask and
 * one shift, both from the geometry. p must be inside a SuperSlab of that
 * pool: a block of one of its classes, or an address the registry vouches
 * for as that pool's. */
static inline struct hak_slab *hak_superslab_lookup(const void *p, unsigned pool,
                                                    struct hak_superslab **ssp)
{
	struct hak_superslab *ss = (struct hak_superslab *)((uintptr_t)p & hak_pool_ss_mask[pool]);
	*ssp = ss;
	return &ss->slabs[((uintptr_t)p - (uintptr_t)ss) >> hak_pool_slab_shift[pool]];
}

/* The slab holding an address the registry vouches for (kind from
 * hak_registry_kind(p), nonzero: the pool + 1), and in *base the start of
 * that slab (hak_slab_base without reading the slab). */
static inline struct hak_slab *hak_addr_slab_base(const void *p, unsigned kind, uint8_t **base)
{
	uintptr_t a = (uintptr_t)p, ss = a & hak_pool_ss_mask[kind - 1],
	          slab = a & ~hak_pool_slab_in[kind - 1];
	*base = (uint8_t *)slab;
	return &((struct hak_superslab *)ss)->slabs[(slab - ss) >> hak_pool_slab_shift[kind - 1]];
}

/* As hak_addr_slab_base, with in *off p's offset from the slab's block 0
 * (wrapped past 2^63 below it): the slab's index and p's place in it are
 * one mask each, with no slab base or SuperSlab offset in between. */
static inline struct hak_slab *hak_addr_slab_off(const void *p, unsigned kind, size_t *off)
{
	uintptr_t a = (uintptr_t)p;
	struct hak_superslab *ss = (struct hak_superslab *)(a & hak_pool_ss_mask[kind - 1]);
	struct hak_slab *s =
	    &ss->slabs[(a >> hak_pool_slab_shift[kind - 1]) & hak_pool_slab_last[kind - 1]];
	*off = (a & hak_pool_slab_in[kind - 1]) - s->data_offset;
	return s;
}

/* The slab holding block p of class cls. */
static inline struct hak_slab *hak_block_slab(const void *p, unsigned cls,
                                              struct hak_superslab **ssp)
{
	return hak_superslab_lookup(p, hak_class_pool(cls), ssp);
}

/* The slab holding any address the registry vouches for (kind from
 * hak_registry_kind(p), nonzero: the pool + 1). */
static inline struct hak_slab *hak_addr_slab(const void *p, unsigned kind,
                                             struct hak_superslab **ssp)
{
	return hak_superslab_lookup(p, kind - 1, ssp);
}

HAK_INTERNAL struct hak_superslab *hak_superslab_map(unsigned pool, unsigned ss_shift,
                                                     unsigned slab_shift);
HAK_INTERNAL void hak_superslab_unmap(struct hak_superslab *ss);
/* Slab s's pages, all but the one it shares with the header, are given
 * back: its bookkeeping says so (touched pages, refault mark, ptr_track's
 * records). Returns how many were resident. The caller purges them. */
HAK_INTERNAL uint32_t hak_slab_pages_gone(struct hak_slab *s);
/* madvise every slab's pages except the header page; slabs become pristine. */
HAK_INTERNAL size_t hak_superslab_purge(struct hak_superslab *ss);

#endif
