/* Stack depot: each distinct call stack is stored once and named by a
 * 32-bit id, so every block can afford an allocation and a free stack. */
#ifndef HAKMEM_STACK_DEPOT_H
#define HAKMEM_STACK_DEPOT_H

#include "config.h"
#include "env.h"

#define HAK_STACK_MAX_DEPTH 16

/* Captures the stack of a malloc-family call: ret is its return address,
 * frame its own frame address, [lo, hi) the thread's stack (0, 0 when
 * unknown: only ret is kept). Returns the id; 0 when the depot is full.
 * Inline below: full mode captures at every malloc and free. */
static inline uint32_t hak_stack_capture(void *ret, void *frame, uintptr_t lo, uintptr_t hi);
/* The capture when the thread's cache of recent stacks has no answer. */
HAK_INTERNAL uint32_t hak_stack_capture_slow(void *ret, void *frame, uintptr_t lo, uintptr_t hi);
/* Stores frames[0..depth) and returns the id (0 when full). */
HAK_INTERNAL uint32_t hak_stack_intern(void *const *frames, unsigned depth);
/* Frames of id; returns depth (0 for an unknown id). */
HAK_INTERNAL unsigned hak_stack_get(uint32_t id, void **frames);
/* fork: 1 takes the depot lock, 0 releases it. */
HAK_INTERNAL void hak_stack_depot_lock(int lock);
/* Distinct stacks stored so far. */
HAK_INTERNAL uint32_t hak_stack_count(void);

/* ---- the capture's fast path ---- */

/* A stack's hash is built frame by frame, so the walk hashes as it goes. */
#define HAK_STACK_HASH_SEED 0xcbf29ce484222325ull
static inline uint64_t hak_stack_hash_step(uint64_t h, const void *frame)
{
	h ^= (uint64_t)(uintptr_t)frame;
	h *= 0x100000001b3ull;
	return h ^ (h >> 29);
}
static inline uint64_t hak_stack_hash_end(uint64_t h, unsigned n)
{
	h = hak_stack_hash_step(h, (const void *)(uintptr_t)n);
	return h ? h : 1;
}

/* Frame-pointer walk: ret, then each frame's return address. Each step
 * must move up the thread's own stack, so code built without frame
 * pointers ends the walk early instead of reading wild memory. Stores the
 * frames in out unless it is NULL; *hash gets their hash either way. */
static inline unsigned hak_stack_walk(void *ret, void *frame, uintptr_t lo, uintptr_t hi,
                                      void **out, uint64_t *hash)
{
	unsigned n = 1;
	uint64_t h = hak_stack_hash_step(HAK_STACK_HASH_SEED, ret);
	if (out) out[0] = ret;
	if (frame && hi >= 16) {
		void **fp = ((void **)frame)[0];
		/* fp <= hi - 16, not fp + 16 <= hi: a garbage fp near the top of
		 * the address space must not wrap around and pass. Starting prev
		 * at lo - 1 when frame is below lo makes fp > prev say fp >= lo
		 * as well, in one compare a step. */
		uintptr_t prev = (uintptr_t)frame, top = hi - 16;
		if (prev < lo) prev = lo - 1;
		while (n < HAK_STACK_MAX_DEPTH && ((uintptr_t)fp & 7) == 0 &&
		       (uintptr_t)fp > prev && (uintptr_t)fp <= top) {
			void *pc = fp[1];
			if ((uintptr_t)pc < 4096) break;
			if (out) out[n] = pc;
			n++;
			h = hak_stack_hash_step(h, pc);
			prev = (uintptr_t)fp;
			fp = (void **)fp[0];
		}
	}
	*hash = hak_stack_hash_end(h, n);
	return n;
}

/* Most allocations come from a few hot stacks: a per-thread cache of
 * hash -> id answers them without the frames being stored anywhere. */
struct hak_stack_recent {
	uint64_t hash;
	uint32_t id;
};
#define HAK_STACK_RECENT 64
HAK_INTERNAL extern __thread struct hak_stack_recent hak_stack_recent[HAK_STACK_RECENT]
    __attribute__((tls_model("initial-exec")));
/* A stack that is ret alone (the caller keeps no frame pointer, as most
 * optimised code) is named by ret: a second per-thread cache, ret -> id,
 * answers it without a hash. hak_stack_capture_slow fills it. */
HAK_INTERNAL extern __thread struct hak_stack_recent hak_stack_leaf[HAK_STACK_RECENT]
    __attribute__((tls_model("initial-exec")));
static inline unsigned hak_stack_leaf_slot(const void *ret)
{
	return (unsigned)((uintptr_t)ret >> 2) & (HAK_STACK_RECENT - 1);
}

/* 1 when hak_stack_walk would go past ret: the same test as its first
 * step, so a walk of one frame is known without the hash. */
static inline int hak_stack_walks_on(void *frame, uintptr_t lo, uintptr_t hi)
{
	if (!frame || hi < 16) return 0;
	void **fp = ((void **)frame)[0];
	uintptr_t prev = (uintptr_t)frame;
	if (prev < lo) prev = lo - 1;
	return ((uintptr_t)fp & 7) == 0 && (uintptr_t)fp > prev && (uintptr_t)fp <= hi - 16 &&
	       (uintptr_t)fp[1] >= 4096;
}

static inline __attribute__((always_inline)) uint32_t hak_stack_capture(void *ret, void *frame,
                                                                        uintptr_t lo, uintptr_t hi)
{
	uint64_t h;
	if (HAK_UNLIKELY(hak_env.backtrace_unwind))
		return hak_stack_capture_slow(ret, frame, lo, hi);
	if (!hak_stack_walks_on(frame, lo, hi)) {
		const struct hak_stack_recent *l = &hak_stack_leaf[hak_stack_leaf_slot(ret)];
		if (HAK_LIKELY(l->hash == (uintptr_t)ret && l->id)) return l->id;
		return hak_stack_capture_slow(ret, frame, lo, hi);
	}
	hak_stack_walk(ret, frame, lo, hi, NULL, &h);
	const struct hak_stack_recent *r = &hak_stack_recent[h & (HAK_STACK_RECENT - 1)];
	if (HAK_LIKELY(r->hash == h && r->id)) return r->id;
	return hak_stack_capture_slow(ret, frame, lo, hi);
}

#endif
