#include "ptr_track.h"
#include "alloc_kind.h"
#include "env.h"
#include "fill.h"
#include "heap_report.h"
#include "large.h"
#include "lock.h"
#include "os.h"
#include "pool.h"
#include "quarantine.h"
#include "registry.h"
#include "slab_lookup.h"
#include "slab.h"
#include "stack_depot.h"
#include "tcache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* ---- per-block records (full mode; read in ptr_inspect.c) ---- */

/* Once per slab: the table is mapped by whichever thread gets there first. */
static __attribute__((noinline)) struct hak_track_rec *track_table_create(struct hak_slab *s)
{
	struct hak_track_rec *fresh = hak_os_map(hak_track_bytes(s));
	if (!fresh) return NULL;
	void *expected = NULL;
	if (atomic_compare_exchange_strong((_Atomic(void *) *)&s->track, &expected, fresh))
		return fresh;
	hak_os_unmap(fresh, hak_track_bytes(s));
	return expected;
}

void hak_track_fork_prepare(void)
{
	hak_stack_depot_lock(1);
	hak_recent_large_fork_prepare();
}

void hak_track_fork_parent(void)
{
	hak_recent_large_fork_parent();
	hak_stack_depot_lock(0);
}

void hak_track_fork_child(void)
{
	hak_recent_large_fork_child();
	hak_stack_depot_lock(0);
}

/* ---- allocation ---- */

/* Inline: a call cost a tenth of full mode's malloc and free. */
static inline __attribute__((always_inline)) uint32_t capture(void *ret, void *frame)
{
	struct hak_tcache *tc = &hak_tc;
	return hak_stack_capture(ret, frame, tc->stack_lo, tc->stack_hi);
}

/* First byte in [from, to) that is not v, or NULL (fill.h: 16 bytes a
 * step, inline; full mode checks every freed block handed out again). */
static inline const uint8_t *find_not(const uint8_t *from, const uint8_t *to, uint8_t v)
{
	return hak_fill_find(from, (size_t)(to - from), v);
}

static size_t capped(size_t n)
{
	return n < HAK_FILL_MAX ? n : HAK_FILL_MAX;
}
static size_t canary_len(size_t n)
{
	return n < HAK_CANARY_MAX ? n : HAK_CANARY_MAX;
}

/* Every class from 144-byte strides up fills exactly HAK_FILL_MAX bytes:
 * a constant length, which the compiler unrolls. */
static inline void fill_freed(uint8_t *b, size_t usable)
{
	if (HAK_LIKELY(usable >= HAK_FILL_MAX))
		hak_fill(b, HAK_FILL_MAX, HAK_FILL_FREED);
	else
		hak_fill_upto128(b, usable, HAK_FILL_FREED);
}

/* Nonzero when a freed block's fill changed. The first word is not
 * checked: it carried the free-list link (checked when the block left
 * quarantine, and decoded at every pop). */
static inline int freed_fill_broken(const uint8_t *b, size_t usable)
{
	const size_t skip = sizeof(void *);
	if (HAK_LIKELY(usable >= HAK_FILL_MAX))
		return hak_fill_differs(b + skip, HAK_FILL_MAX - skip, HAK_FILL_FREED);
	return hak_fill_differs_upto128(b + skip, usable - skip, HAK_FILL_FREED);
}

/* The canary after an n-byte request in a block of usable bytes. */
static inline void canary_arm(uint8_t *b, size_t n, size_t usable)
{
	if (n < usable) hak_fill32(b + n, canary_len(usable - n), HAK_FILL_CANARY);
}
/* canary_arm for a block just handed out (fill.h, the 32-byte window):
 * the bytes below n may be written too. */
static inline void canary_arm_fresh(uint8_t *b, size_t n, size_t usable)
{
	if (HAK_LIKELY(usable >= 32))
		hak_fill_window32(b + hak_window32_start(n, usable), HAK_FILL_CANARY);
	else
		canary_arm(b, n, usable);
}
/* Nonzero when the canary after an n-byte request changed. */
static inline int canary_differs(const uint8_t *b, size_t n, size_t usable)
{
	if (HAK_LIKELY(usable >= 32)) {
		size_t start = hak_window32_start(n, usable);
		return hak_fill_differs_window32(b + start, n - start, HAK_FILL_CANARY);
	}
	return n < usable && hak_fill_differs(b + n, usable - n, HAK_FILL_CANARY);
}
static inline const uint8_t *canary_broken(const uint8_t *b, size_t n, size_t usable)
{
	if (n >= usable) return NULL;
	size_t len = canary_len(usable - n);
	if (HAK_LIKELY(!hak_fill_differs32(b + n, len, HAK_FILL_CANARY))) return NULL;
	return hak_fill_find(b + n, len, HAK_FILL_CANARY);
}

/* A freed block handed out again with its fill changed: found and said
 * out of line, so the common path keeps a small frame. */
static __attribute__((noinline, cold)) void alloc_fill_damaged(uint8_t *b, unsigned cls, void *ret)
{
	struct hak_fill_damage d;
	if (hak_fill_damage_find(b, cls, sizeof(void *), capped(hak_class_usable(cls)), &d))
		hak_fill_damage_report(&d, "when the block was handed out again", ret);
}

static __attribute__((noinline, cold)) struct hak_track_rec *alloc_table_create(struct hak_slab *s,
                                                                                long idx)
{
	struct hak_track_rec *t = track_table_create(s);
	return t ? &t[idx] : NULL;
}

void *hak_track_on_alloc_full(void *p, unsigned cls, size_t n, void *ret, void *frame)
{
	uint8_t *b = p;
	size_t usable = hak_class_usable(cls);
	struct hak_superslab *ss;
	struct hak_slab *s = hak_block_slab(b, cls, &ss);
	long idx = hak_slab_block_index(ss, s, b);
	struct hak_track_rec *rec = NULL;
	if (HAK_LIKELY(idx >= 0)) {
		struct hak_track_rec *t = hak_track_table(s);
		rec = HAK_LIKELY(t != NULL) ? &t[idx] : alloc_table_create(s, idx);
	}
	if (HAK_LIKELY(rec != NULL)) {
		if (rec->state == TRACK_FREED && HAK_UNLIKELY(freed_fill_broken(b, usable)))
			alloc_fill_damaged(b, cls, ret);
		rec->requested = (uint32_t)n;
		rec->alloc_stack = capture(ret, frame);
		rec->free_stack = 0;
		rec->state = TRACK_LIVE;
	}
	canary_arm_fresh(b, n, usable);
	return p;
}

void *hak_track_on_alloc_large(void *p, size_t n, void *ret, void *frame)
{
	if (hak_check_level == HAK_CHECK_FULL) {
		struct hak_large_hdr *h = hak_large_hdr(p);
		h->reserved[0] = capture(ret, frame);
		size_t usable = hak_large_usable(p);
		if (n < usable) hak_fill((uint8_t *)p + n, canary_len(usable - n), HAK_FILL_CANARY);
	}
	return p;
}

/* ---- free ---- */

int hak_track_large_canary(void *p, struct hak_ptr_info *in, void *ret)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	size_t usable = hak_large_usable(p), req = h->requested;
	if (req >= usable) return 0;
	const uint8_t *bad = find_not(
	    (uint8_t *)p + req, (uint8_t *)p + req + canary_len(usable - req), HAK_FILL_CANARY);
	if (!bad) return 0;
	char detail[128];
	snprintf(detail, sizeof detail,
	         "byte %zu written, past the %zu bytes requested (canary 0x%02x found 0x%02x)",
	         (size_t)(bad - (uint8_t *)p), req, HAK_FILL_CANARY, *bad);
	in->found = *bad;
	in->expected = HAK_FILL_CANARY;
	hak_report_error(HAK_ERR_OVERFLOW, p, in, detail, ret);
	/* Re-armed: a realloc that then frees the block must not report it twice. */
	hak_fill((uint8_t *)p + req, canary_len(usable - req), HAK_FILL_CANARY);
	return 1;
}

static int check_canary(uint8_t *b, struct hak_ptr_info *in, void *ret)
{
	struct hak_track_rec *rec = in->rec;
	if (!rec || rec->state != TRACK_LIVE) return 0;
	size_t usable = hak_class_usable(in->cls);
	size_t req = rec->requested;
	{
		const uint8_t *bad = canary_broken(b, req, usable);
		if (bad) {
			char detail[128];
			snprintf(detail, sizeof detail,
			         "byte %zu written, past the %zu bytes requested (canary 0x%02x "
			         "found 0x%02x)",
			         (size_t)(bad - b), req, HAK_FILL_CANARY, *bad);
			in->found = *bad;
			in->expected = HAK_FILL_CANARY;
			hak_report_error(HAK_ERR_OVERFLOW, b, in, detail, ret);
			return 1;
		}
	}
	/* An overflow to the very end lands on the next block's header. */
	if ((uint32_t)in->index + 1 < HAK_RELAXED_LOAD(in->slab->carved)) {
		uint8_t h = HAK_RELAXED_LOAD(b[in->slab->stride - 1]);
		if (h != hak_hdr_live(in->cls) && h != hak_hdr_freed(in->cls)) {
			char detail[128];
			snprintf(detail, sizeof detail,
			         "the next block's header (at %p) was overwritten: found 0x%02x, "
			         "expected 0x%02x or 0x%02x",
			         (void *)(b + in->slab->stride - 1), h, hak_hdr_live(in->cls),
			         hak_hdr_freed(in->cls));
			hak_report_error(HAK_ERR_OVERFLOW, b, in, detail, ret);
			return 1;
		}
	}
	return 0;
}

/* Nonzero when a block leaving the quarantine has its fill changed
 * anywhere, its first word included (inline, 16 bytes a step). */
static inline int leaving_fill_broken(const uint8_t *b, size_t usable)
{
	if (HAK_LIKELY(usable >= HAK_FILL_MAX))
		return hak_fill_differs(b, HAK_FILL_MAX, HAK_FILL_FREED);
	return hak_fill_differs_upto128(b, usable, HAK_FILL_FREED);
}

/* Blocks leave quarantine for the thread cache, whose link overwrites
 * their first word: their whole fill is checked now (what was written
 * where is in the report), the rest again when they are handed out. */
static void check_leaving(const struct hak_quarantined *q, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *b = q[i].block;
		unsigned cls = q[i].cls;
		if (HAK_UNLIKELY(leaving_fill_broken(b, hak_class_usable(cls))))
			hak_quarantine_check_leaving(b, cls);
	}
}

/* A stashed block whose header changed (an overrun from the block before
 * it, most likely): 0 to hand it out all the same, as the bin's pop would
 * (it is still a free block of its class: its header alone was damaged);
 * 1 when it was reported (slab.c hak_block_reached_bad), and it is left
 * alone. */
static __attribute__((noinline, cold)) int reuse_refused(uint8_t *b, unsigned cls)
{
	return hak_block_reached_bad(b, cls);
}

void *hak_track_reuse(unsigned cls, size_t n, void *ret, void *frame)
{
	void *r;
	uint8_t *b = hak_quarantine_take(cls, &r);
	if (!b) return NULL;
	uint8_t h = HAK_RELAXED_LOAD(b[-1]),
	        freed = (uint8_t)(hak_live_header[cls] ^ HAK_HDR_FREED_BIT);
	if (HAK_UNLIKELY(h != freed)) {
		if (reuse_refused(b, cls)) return NULL;
		h = freed;
	}
	size_t usable = hak_class_usable(cls);
	/* The block leaves the quarantine now, for the caller: its fill is
	 * checked this once, first word and all (no link was ever in it). */
	if (HAK_UNLIKELY(leaving_fill_broken(b, usable))) hak_quarantine_check_leaving(b, cls);
	HAK_RELAXED_STORE(b[-1], (uint8_t)(h ^ HAK_HDR_FREED_BIT));
	struct hak_track_rec *rec = r;
	if (HAK_LIKELY(rec != NULL)) {
		rec->requested = (uint32_t)n;
		rec->alloc_stack = capture(ret, frame);
		rec->free_stack = 0;
		rec->state = TRACK_LIVE;
	}
	canary_arm_fresh(b, n, usable);
	return b;
}

unsigned hak_track_thread_exit(struct hak_quarantined *out, unsigned max)
{
	unsigned n = hak_quarantine_drain(out, max);
	check_leaving(out, n);
	return n;
}

static const struct hak_track_verdict nothing = {NULL, HAK_RELEASE_NONE, 0};

/* What the last full quarantine sent on, for the caller to free: here, not
 * on the caller's stack, so that the common free passes no buffer. */
static __thread struct hak_quarantined leaving[HAK_TRACK_BATCH]
    __attribute__((tls_model("initial-exec")));

/* The quarantine is at its bound: a batch leaves it for the stashes, the
 * ones that do not fit are handed back, checked, for the caller to free,
 * and the block goes in. Once every HAK_TRACK_BATCH frees or so. */
static __attribute__((noinline)) struct hak_track_verdict
quarantine_full(uint8_t *b, struct hak_track_rec *rec, unsigned cls, uint32_t stride)
{
	struct hak_quarantined q = {b, rec, cls, stride};
	unsigned n = hak_quarantine_push_stash(q, leaving, HAK_TRACK_BATCH);
	check_leaving(leaving, n);
	return n ? (struct hak_track_verdict){leaving, HAK_RELEASE_BATCH, n} : nothing;
}

/* The checks have passed (or were reported): the block becomes freed,
 * filled, and goes into quarantine. */
static inline __attribute__((always_inline)) struct hak_track_verdict
freed_to_quarantine(uint8_t *b, unsigned cls, struct hak_track_rec *rec, uint32_t stride, void *ret,
                    void *frame, uint8_t freed)
{
	if (rec) {
		rec->free_stack = capture(ret, frame);
		rec->state = TRACK_FREED;
	}
	fill_freed(b, stride - 1);
	HAK_RELAXED_STORE(b[-1], freed);
	struct hak_quarantined q = {b, rec, cls, stride};
	if (HAK_UNLIKELY(!hak_quarantine_try_push(q))) return quarantine_full(b, rec, cls, stride);
	return nothing;
}

/* Full mode's common free, a live slab block passed by its start whose
 * canary and next header are intact: the checks of hak_track_inspect and
 * check_canary in one pass, in registers: 1, the block quarantined and *v
 * saying what left the quarantine for it. 0, having written nothing, for
 * anything else: free_checked then finds and reports what is wrong. */
static inline __attribute__((always_inline)) int
free_full_fast(void *p, unsigned how, void *ret, void *frame, struct hak_track_verdict *v)
{
	uint8_t *b = p, *data;
	struct hak_slab *s = hak_ptr_slab(p, &data);
	if (HAK_UNLIKELY(!s)) return 0;
	unsigned cls = s->cls;
	/* p below data wraps off past 2^63, which no index * stride equals;
	 * a free slab's class (HAK_NO_CLASS) has no live header (the header
	 * compare below). */
	size_t off = (size_t)(b - data), idx = hak_slab_div(s, off);
	uint32_t stride = s->stride, carved = HAK_RELAXED_LOAD(s->carved);
	struct hak_track_rec *t = hak_track_table(s);
	if (HAK_UNLIKELY(idx * stride != off || idx >= carved || !t)) return 0;
	struct hak_track_rec *rec = &t[idx];
	/* The header, the record, the next header and the canary: misses
	 * at once. The canary's place comes from the record, so it would
	 * miss after it: the lines where it most likely is, near the end of
	 * the block, are fetched now. */
	__builtin_prefetch(rec);
	__builtin_prefetch(b + stride - 1);
	__builtin_prefetch(b + stride - 1 - 64);
	__builtin_prefetch(b + stride - 1 - 128);
	unsigned live = hak_live_header[cls];
	if (HAK_UNLIKELY(HAK_RELAXED_LOAD(b[-1]) != live || rec->state != TRACK_LIVE ||
	                 rec->free_stack != how))
		return 0;
	size_t usable = stride - 1;
	if (HAK_UNLIKELY(canary_differs(b, rec->requested, usable))) return 0;
	/* The next header, live or freed: one compare without the freed bit. */
	if (idx + 1 < carved &&
	    HAK_UNLIKELY((HAK_RELAXED_LOAD(b[stride - 1]) & (uint8_t)~HAK_HDR_FREED_BIT) != live))
		return 0;
	*v = freed_to_quarantine(b, cls, rec, stride, ret, frame,
	                         (uint8_t)(live ^ HAK_HDR_FREED_BIT));
	return 1;
}

/* Everything but full mode's common free: found and reported (nothing to
 * free), quarantined, or handed back to be freed. */
static __attribute__((noinline)) struct hak_track_verdict free_checked(void *p, unsigned how,
                                                                       void *ret, void *frame)
{
	struct hak_ptr_info in;
	hak_track_inspect(p, &in);
	if (in.error) {
		hak_report_error(in.error, p, &in, NULL, ret);
		return nothing; /* never write to what failed the checks */
	}
	if (hak_check_level == HAK_CHECK_FULL) hak_track_check_kind(p, &in, how, ret);
	if (in.large) {
		if (hak_check_level == HAK_CHECK_FULL) {
			hak_track_large_canary(p, &in, ret);
			hak_large_freed_arm(p, capture(ret, frame));
		}
		hak_recent_large_add(p);
		return (struct hak_track_verdict){p, HAK_RELEASE_LARGE, 0};
	}
	if (hak_check_level == HAK_CHECK_FULL) {
		check_canary(in.block, &in, ret);
		return freed_to_quarantine(in.block, in.cls, in.rec, in.slab->stride, ret, frame,
		                           hak_hdr_freed(in.cls));
	}
	return (struct hak_track_verdict){in.block, HAK_RELEASE_SLAB, in.cls};
}

struct hak_track_verdict hak_track_free_as(void *p, unsigned how, void *ret, void *frame)
{
	struct hak_track_verdict v;
	if (hak_check_level == HAK_CHECK_FULL && free_full_fast(p, how, ret, frame, &v)) return v;
	return free_checked(p, how, ret, frame);
}

int hak_track_check_live(void *p, struct hak_ptr_info *in, void *ret, void *frame)
{
	(void)frame;
	hak_track_inspect(p, in);
	if (in->error) hak_report_error(in->error, p, in, NULL, ret);
	return in->error;
}

void hak_track_resized(void *p, struct hak_ptr_info *in, size_t n)
{
	if (!in->rec || in->large) return;
	size_t req = (size_t)((uint8_t *)p - in->block) + n;
	size_t usable = hak_class_usable(in->cls);
	in->rec->requested = (uint32_t)req;
	canary_arm(in->block, req, usable);
}
