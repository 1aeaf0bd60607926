/* Thread caches: one LIFO bin of free blocks per class. malloc pops,
 * free pushes; the slabs are visited only in batches (refill, flush). */
#ifndef HAKMEM_TCACHE_H
#define HAKMEM_TCACHE_H

#include "asan_hooks.h"
#include "slab.h"
#include "stats_counters.h"

struct hak_bin {
	void *head;
	uint32_t count;
	uint32_t max; /* 0 until the cache is ready, and again after thread exit */
};

enum hak_tcache_state { TC_UNINIT = 0, TC_INIT, TC_READY, TC_DEAD };

struct hak_tcache {
	struct hak_bin bins[HAK_NUM_CLASSES];
	struct hak_slab *cur[HAK_NUM_CLASSES]; /* slab each class refills from */
	struct hak_thread_counters ctr;        /* registered in the counter store */
	struct hak_tcache *next, *prev;        /* all live caches, for fork */
	uintptr_t stack_lo, stack_hi;          /* full ptr_track: bounds for stack walks */
	uint8_t state;
	/* hak_class_batch and hak_bin_cap, set when the cache gets ready: the
	 * byte rules divide, and every refill needs both. */
	uint16_t batch[HAK_NUM_CLASSES], cap[HAK_NUM_CLASSES];
	/* Overflows a bin may still answer by keeping blocks (growing, or
	 * keeping its newer half): set by each refill, spent by each overflow
	 * (hak_tcache_free_slow). */
	uint8_t keep_credit[HAK_NUM_CLASSES];
	/* The release free's run of same-class frees (hak_tcache_push_run):
	 * how many in a row (up to HAK_FREE_RUN), their header and class. */
	uint8_t run_len, run_hdr, run_cls;
};

HAK_INTERNAL extern __thread struct hak_tcache hak_tc __attribute__((tls_model("initial-exec")));

/* Bin empty: refill it and return one block (NULL, errno ENOMEM). */
HAK_INTERNAL void *hak_tcache_refill(struct hak_tcache *tc, unsigned cls);
/* Bin full (or cache not ready): make room, then keep p. */
HAK_INTERNAL void hak_tcache_free_slow(struct hak_tcache *tc, void *p, unsigned cls);

/* The pop: the head of bin cls, its link followed as hak_block_next
 * does (under ptr_track a damaged link is reported and ends the list);
 * NULL when the bin is empty. The caller has checked the head, if at all. */
static inline void *hak_tcache_pop(unsigned cls)
{
	struct hak_bin *b = &hak_tc.bins[cls];
	void *p = b->head;
	if (HAK_LIKELY(p != NULL)) {
		void *next = hak_block_next(p);
		b->head = next;
		b->count--;
		/* The next pop reads next's link: a block freed long ago is a
		 * cache miss that would wait for this one (bursts 1.06x,
		 * live_churn 1.09x). A prefetch of NULL does nothing. */
		__builtin_prefetch(next);
	}
	return p;
}

#if defined(HAKMEM_CHECKS)
/* The pop under ptr_track, for callers that know the level is on: the
 * head of bin cls when its own header is the freed one of cls (slab.h
 * hak_block_own_bad; read on the line the pop reads anyway, not the next
 * block's), which becomes the live one, and its link passes the range
 * check. NULL, having written nothing, when the bin is empty or either
 * check fails: the caller's slow path refills, or looks again and says
 * what is wrong. No call, so a caller saves no register for it. */
static inline __attribute__((always_inline)) void *hak_tcache_pop_checked(unsigned cls)
{
	struct hak_bin *b = &hak_tc.bins[cls];
	/* The bin's address in one register, computed once: else the
	 * compiler keeps the class and the TLS offset apart, and the link
	 * test runs out of registers. */
	__asm__("" : "+r"(b));
	uint8_t *p = b->head;
	if (HAK_UNLIKELY(p == NULL)) return NULL;
	uint8_t h = HAK_RELAXED_LOAD(p[-1]);
	if (HAK_UNLIKELY(h != hak_freed_header[cls])) return NULL;
	uintptr_t next = *(const uintptr_t *)p ^ hak_link_key ^ ((uintptr_t)p >> 4);
	/* The end of a list and a link out of p's grain are both off the
	 * inline test: tested again out of its way. */
	if (HAK_UNLIKELY(hak_link_off_grain(p, next)) && next && hak_link_suspect(p, next))
		return NULL;
	HAK_RELAXED_STORE(p[-1], (uint8_t)(h ^ HAK_HDR_FREED_BIT));
	b->head = (void *)next;
	b->count--;
	__builtin_prefetch((void *)next); /* as hak_tcache_pop's */
	return p;
}

/* The head of bin cls, left in place: what the checked pop refused. */
static inline void *hak_tcache_head(unsigned cls)
{
	return hak_tc.bins[cls].head;
}

/* A bin whose head failed the checks (reported) is dropped: its blocks
 * leak, and the next refill starts it again. */
static inline void hak_tcache_drop(unsigned cls)
{
	hak_tc.bins[cls].head = NULL;
	hak_tc.bins[cls].count = 0;
}
#endif

/* The push: block p of class cls onto this thread's bin; a full bin (or a
 * cache not ready) makes room first. The caller has validated p. */
static inline void hak_tcache_push(void *p, unsigned cls)
{
	struct hak_bin *b = &hak_tc.bins[cls];
	if (HAK_LIKELY(b->count < b->max)) {
		hak_block_set_next(p, b->head);
		b->head = p;
		b->count++;
		return;
	}
	hak_tcache_free_slow(&hak_tc, p, cls);
}

#if defined(HAKMEM_CHECKS)
/* The push of fast mode (alloc.c), which has tested the level already:
 * the link is keyed without asking again. */
static inline void hak_tcache_push_keyed(void *p, unsigned cls)
{
	struct hak_bin *b = &hak_tc.bins[cls];
	if (HAK_LIKELY(b->count < b->max)) {
		hak_block_set_next_keyed(p, b->head);
		b->head = p;
		b->count++;
		return;
	}
	hak_tcache_free_slow(&hak_tc, p, cls);
}
#endif

/* A block of a known class freed (the release free, its runs, and what
 * ptr_track and the quarantine let go): poisoned again in the ASan
 * flavour, then pushed. */
static inline void hak_tcache_free_block(void *p, unsigned cls)
{
	HAK_ASAN_POISON(p, hak_class_usable(cls));
	hak_tcache_push(p, cls);
}

/* After HAK_FREE_RUN frees in a row of one class, the release free
 * (alloc.c free_plain) pushes to that class's bin behind a compare of the
 * header, a branch the CPU predicts and runs past before the header's
 * line arrives: no class lookup at all. A block's header is a line that a
 * program freeing at random has let go cold, and a bin chosen from it
 * waits for it (fixed-64 1.6x, fixed-4096 2.5x on AMD Zen 4); below a run
 * the class comes from the SuperSlab's unit map, whose load the run also
 * saves (fixed 1.15x-1.25x over the map alone: docs/benchmarks.md).
 * Returns 0, having pushed nothing, when no run holds or h ends it. */
#define HAK_FREE_RUN 16u
static inline int hak_tcache_push_run(void *p, uint8_t h)
{
	struct hak_tcache *tc = &hak_tc;
	if (tc->run_len >= HAK_FREE_RUN) {
		if (HAK_LIKELY(h == tc->run_hdr)) {
			hak_tcache_free_block(p, tc->run_cls);
			return 1;
		}
		tc->run_len = 0;
	}
	return 0;
}

/* Below a run, each free of a slab block of class c (header h) counts it.
 * Without a branch: one on h would wait for the header and, when sizes
 * are mixed, be mispredicted (random_mixed 0.88x with one). */
static inline void hak_tcache_count_run(uint8_t h, unsigned c)
{
	struct hak_tcache *tc = &hak_tc;
	unsigned same = -(unsigned)(h == tc->run_hdr);
	tc->run_len = (uint8_t)((tc->run_len + 1u) & same);
	tc->run_hdr = (uint8_t)h;
	tc->run_cls = (uint8_t)c;
}

#if defined(HAKMEM_CHECKS)
struct hak_quarantined;
/* n blocks that left ptr_track's quarantine, checked (a free's batch, a
 * thread's exit), each to its bin. */
HAK_INTERNAL void hak_tcache_free_batch(const struct hak_quarantined *q, unsigned n);
#endif
/* Bins are sized in bytes (docs/architecture.md, "Thread cache bins"). A
 * bin starts at about 64 KiB of blocks (at most 64 blocks, at least two
 * refills) and doubles on overflow up to about 256 KiB (at most 256
 * blocks), then flushes its older half. */
#define HAK_BIN_INITIAL_BYTES (64u << 10)
#define HAK_BIN_INITIAL_MAX_BLOCKS 64u
#define HAK_BIN_BYTES (256u << 10)
#define HAK_BIN_MAX_BLOCKS 256u
/* A burst of frees overflows a bin a few times after the thread last
 * refilled it; more overflows than this without a refill is a thread
 * that frees more of the class than it allocates. */
#define HAK_BIN_KEEP_CREDIT 8u
/* So a thread caches at most this much (the sum of the caps; 8.6 MiB when
 * bins were sized in blocks), a little more with the Small-Mid bins. */
#define HAK_TCACHE_MAX_BYTES (5200u << 10)
#define HAK_TCACHE_MAX_BYTES_SMALLMID (5850u << 10)
/* What one thread's bins may hold together, checked where a bin overflows
 * or a refill takes a whole freelist (never on the push or pop). Bins that
 * a thread both frees and allocates random-walk toward their caps; 1 MiB
 * still holds four bins at their 256 KiB cap (a burst of 64 frees of
 * 4 KiB blocks is one), and over it the fullest bins flush back to 3/4. */
#define HAK_TCACHE_BUDGET_BYTES (1u << 20)
HAK_INTERNAL uint32_t hak_bin_initial(unsigned cls);
HAK_INTERNAL uint32_t hak_bin_cap(unsigned cls);
/* Returns every cached block of the calling thread to its slab. */
HAK_INTERNAL void hak_tcache_flush_all(struct hak_tcache *tc);

HAK_INTERNAL void hak_tcache_fork_prepare(void);
HAK_INTERNAL void hak_tcache_fork_parent(void);
HAK_INTERNAL void hak_tcache_fork_child(void);
HAK_INTERNAL void hak_tcache_global_init(void);

#endif
