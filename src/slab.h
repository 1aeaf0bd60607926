/* One slab: freelist first, then carve fresh blocks (bump). The caller
 * holds the slab lock for every function here. */
#ifndef HAKMEM_SLAB_H
#define HAKMEM_SLAB_H

#include "superslab.h"

struct hak_take {
	uint32_t got;
	uint32_t from_freelist; /* including from_remote */
	uint32_t from_remote;   /* collected from the remote list on the way */
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
 * 1 MiB grain (so next[-1] is mapped), in p's grain or a registered one.
 * Anything else goes to hak_link_verify, which reports it. Its header is
 * not read here (that line is cold): every block carries the freed header
 * of its class when it is taken off a list (hak_block_own_bad: the bin
 * pop, the refill's first block, each block a flush returns), so a link
 * that still decodes into the heap is caught there. The release library
 * and HAKMEM_CHECK=off keep plain links. */
HAK_INTERNAL extern uintptr_t hak_link_key;
HAK_INTERNAL void *hak_link_verify(void *p, uintptr_t decoded);
HAK_INTERNAL void *hak_link_corrupt(void *p, uintptr_t decoded, const char *why);
/* p was reached through a link and its header is not the freed one of
 * cls: 0 if p is still the start of a carved block of cls that is not in
 * use (its own header was damaged: it is taken), else reported as a
 * damaged link (use-after-free-write), 1; the caller drops p and the rest
 * of its list. */
HAK_INTERNAL int hak_block_reached_bad(void *p, unsigned cls);
HAK_INTERNAL void hak_link_reached_corrupt(void *p, unsigned cls, const char *why);

/* 1 when p, taken off a list of class cls, is not what a free left there.
 * h == hak_hdr_freed(cls), as one table load (hak_hdr_class knows only live
 * headers) rather than the three-way computation. */
static inline int hak_block_own_bad(const void *p, unsigned cls)
{
	if (!HAK_CHECKING()) return 0;
	uint8_t h = HAK_RELAXED_LOAD(((const uint8_t *)p)[-1]);
	return HAK_UNLIKELY(hak_hdr_class[h ^ HAK_HDR_FREED_BIT] != cls) &&
	       hak_block_reached_bad((void *)p, cls);
}

/* The decoded link of p, unchecked (the heap check validates it itself). */
static inline uintptr_t hak_block_link(const void *p)
{
	if (HAK_CHECKING()) return *(const uintptr_t *)p ^ hak_link_key ^ ((uintptr_t)p >> 4);
	return *(const uintptr_t *)p;
}

/* 1 unless v is a 16-aligned address of p's own 1 MiB grain G, past its
 * first byte. v rotated right by 4 (its low 4 bits go to the top) is then
 * in [G/16 + 1, G/16 + 2^16 - 1]: one compare for the three tests, from
 * p >> 4, which the link's key needs anyway. v == 0 (the end of a list)
 * fails it too. */
static inline int hak_link_off_grain(const void *p, uintptr_t v)
{
	const uintptr_t span = ((uintptr_t)1 << (HAK_REG_GRAIN_SHIFT - 4)) - 1;
	return ((((uintptr_t)p >> 4) | span) - ((v >> 4) | (v << 60))) >= span;
}

static inline int hak_link_suspect(const void *p, uintptr_t v)
{
	const uintptr_t grain = ((uintptr_t)1 << HAK_REG_GRAIN_SHIFT) - 1;
	/* p is a checked block: v in p's own 1 MiB grain needs no lookup. */
	if (HAK_LIKELY(!hak_link_off_grain(p, v))) return 0;
	if ((v & (HAK_ALIGN - 1)) || !(v & grain)) return 1;
	return !hak_registry_kind((void *)v);
}

/* The checked link of p, for callers that already know the level is on
 * (alloc.c's fast mode tests it once per call). */
static inline void *hak_block_next_keyed(void *p)
{
	uintptr_t v = *(const uintptr_t *)p ^ hak_link_key ^ ((uintptr_t)p >> 4);
	if (HAK_UNLIKELY(v && hak_link_suspect(p, v))) return hak_link_verify(p, v);
	return (void *)v;
}

static inline void hak_block_set_next_keyed(void *p, void *next)
{
	*(uintptr_t *)p = (uintptr_t)next ^ hak_link_key ^ ((uintptr_t)p >> 4);
}

static inline void *hak_block_next(void *p)
{
	if (HAK_CHECKING()) return hak_block_next_keyed(p);
	return *(void **)p;
}

static inline void hak_block_set_next(void *p, void *next)
{
	if (HAK_CHECKING())
		hak_block_set_next_keyed(p, next);
	else
		*(void **)p = next;
}
#else
static inline int hak_block_own_bad(const void *p, unsigned cls)
{
	(void)p, (void)cls;
	return 0;
}
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
 * unset): the freelist first, then the remote list, then, when carve is
 * set, fresh blocks from the uncarved tail. Fills *t. */
HAK_INTERNAL void hak_slab_take_ex(struct hak_superslab *ss, struct hak_slab *s, unsigned want,
                                   int carve, void **head, void **tail, struct hak_take *t);
static inline void hak_slab_take(struct hak_superslab *ss, struct hak_slab *s, unsigned want,
                                 void **head, void **tail, struct hak_take *t)
{
	hak_slab_take_ex(ss, s, want, 1, head, tail, t);
}
/* Takes the whole freelist in one step when it holds lo to hi blocks:
 * it holds every carved block that is not out (carved - used), and its
 * last link is already NULL, so no link is read (the blocks stay cold
 * until they are popped). Returns 0 and takes nothing otherwise; else
 * fills *t (got = from_freelist). */
HAK_INTERNAL int hak_slab_take_freelist(struct hak_slab *s, uint32_t lo, uint32_t hi, void **head,
                                        struct hak_take *t);
/* Pushes a chain of n blocks (tail's next is overwritten). */
static inline void hak_slab_put(struct hak_slab *s, void *head, void *tail, uint32_t n)
{
	hak_block_set_next(tail, s->freelist);
	s->freelist = head;
	/* Relaxed store: hak_stats_get reads it without the slab lock. */
	__atomic_store_n(&s->used, s->used - n, __ATOMIC_RELAXED);
}

/* ---- remote frees (docs/architecture.md, "Remote frees") ----
 * While a slab is a thread's current slab, s->remote is open: any thread
 * returns blocks to it with one CAS, no lock, and the owner takes the
 * whole chain with one exchange when its freelist runs dry, before it
 * carves. The chain's blocks stay counted in used until then. The pool
 * opens the list when it hands the slab to an owner and closes it when
 * the owner lets the slab go (both under the slab lock), taking what it
 * holds into the freelist; a push that finds it closed takes the slab
 * lock instead. So a closed slab never gains remote blocks, and a push
 * never touches the slab after its CAS: the block it returns is counted
 * in used until the owner or the close takes it, so the slab cannot be
 * emptied, reused or unmapped under the push. The word holds the open
 * bit, the chain's head (16-aligned, below 2^47: the registry refuses
 * SuperSlabs above) and, from bit 48, how many blocks the chain holds, so
 * the owner takes it without walking it (remote_take). */
#define HAK_REMOTE_OPEN ((uintptr_t)1)
#define HAK_REMOTE_COUNT_SHIFT 48
#define HAK_REMOTE_HEAD(w) ((void *)((w) & (((uintptr_t)1 << HAK_REMOTE_COUNT_SHIFT) - 16)))
#define HAK_REMOTE_COUNT(w) ((uint32_t)((w) >> HAK_REMOTE_COUNT_SHIFT))

/* Pushes the n blocks head..tail onto s's open remote list and returns 1,
 * or returns 0, touching nothing, when the list is closed. */
static inline int hak_slab_remote_push(struct hak_slab *s, void *head, void *tail, uint32_t n)
{
	uintptr_t old = __atomic_load_n(&s->remote, __ATOMIC_RELAXED);
	do {
		if (!(old & HAK_REMOTE_OPEN)) return 0;
		hak_block_set_next(tail, HAK_REMOTE_HEAD(old));
	} while (!__atomic_compare_exchange_n(
	    &s->remote, &old,
	    ((uintptr_t)(HAK_REMOTE_COUNT(old) + n) << HAK_REMOTE_COUNT_SHIFT) | (uintptr_t)head |
	        HAK_REMOTE_OPEN,
	    1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return 1;
}

/* Slab lock held. Moves the remote chain into the freelist (its blocks
 * leave used) and returns how many blocks it held; the list stays open
 * or closed as it was. */
HAK_INTERNAL uint32_t hak_slab_remote_collect(struct hak_slab *s);
/* Slab lock held: owned from now on, remote frees go to the list. */
static inline void hak_slab_remote_open(struct hak_slab *s)
{
	__atomic_store_n(&s->remote, HAK_REMOTE_OPEN, __ATOMIC_RELAXED);
}
/* Slab lock held: collects the list and closes it in the same exchange;
 * returns the blocks it held. */
HAK_INTERNAL uint32_t hak_slab_remote_close(struct hak_slab *s);

#endif
