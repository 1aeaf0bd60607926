#include "quarantine.h"
#include "asym_fence.h"
#include "env.h"
#include "fill.h"
#include "heap_report.h"
#include "lock.h"
#include "log.h"
#include "os.h"
#include "size_class.h"

#include <stdio.h>
#include <string.h>

/* Per thread, so a free never waits for another thread's quarantine; the
 * ring is mmap'd on first use so that threads that never free in full
 * mode pay nothing. Every ring is also on a global list, so the exit check
 * sees the quarantines of threads still running (and of threads that died
 * without a thread cache to drain them).
 *
 * A push takes no lock: the entry is written, then published by a release
 * store of tail, and a checker reads only [head, tail). A checker must not
 * read a block that is leaving (it may be handed out and written), so
 * blocks leave only while checkers are kept out (quarantine.h
 * hak_qring_enter), and in batches: once the ring is at its bound (bytes
 * or slots), it pops down to 15/16 of it (at most the caller's max). A
 * locked instruction on every free cost more than the rest of the push:
 * it also waited for the freed block's fill stores to reach the cache. */
#define SLOT_MASK (HAK_QUARANTINE_SLOTS - 1)
_Static_assert((HAK_QUARANTINE_SLOTS & SLOT_MASK) == 0, "slot count must be a power of 2");

__thread struct hak_qring *hak_my_ring __attribute__((tls_model("initial-exec")));
static hak_spin_t rings_lock; /* before any ring's lock */
static struct hak_qring *rings;
/* 0 until the first ring; then 1 when hak_asym_fence works (owners keep
 * checkers out with no lock), 2 when it does not (owners take the lock:
 * checking is set for good). Under rings_lock. */
static int asym_state;

/* The checker's side of hak_qring_enter: on return, the owner is not
 * inside it, and will not enter it without the lock, held until
 * check_leave. */
static void check_enter(struct hak_qring *r)
{
	hak_spin_lock(&r->lock);
	if (asym_state != 1) return;
	atomic_store_explicit(&r->checking, 1, memory_order_relaxed);
	hak_asym_fence_heavy();
	while (atomic_load_explicit(&r->owner_busy, memory_order_acquire))
		hak_cpu_relax();
}

static void check_leave(struct hak_qring *r)
{
	/* Release: the owner that sees 0 starts after the check's reads. */
	if (asym_state == 1) atomic_store_explicit(&r->checking, 0, memory_order_release);
	hak_spin_unlock(&r->lock);
}

int hak_qring_enter_locked(struct hak_qring *r)
{
	atomic_store_explicit(&r->owner_busy, 0, memory_order_release);
	hak_spin_lock(&r->lock);
	return 1;
}

/* Up to 32 KiB of blocks a class wait in its stash (2 to 16 blocks): room
 * for a whole batch leaving the ring (16 KiB at the default bound). */
static void stash_init(struct hak_qring *r)
{
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		unsigned cap = (32u << 10) / hak_class_stride[c];
		r->stash[c].cap = cap < 2 ? 2 : cap > HAK_STASH_SLOTS ? HAK_STASH_SLOTS : cap;
	}
}

static struct hak_qring *ring_get(void)
{
	if (!hak_my_ring && (hak_my_ring = hak_os_map(sizeof(struct hak_qring)))) {
		stash_init(hak_my_ring);
		hak_spin_lock(&rings_lock);
		if (!asym_state) asym_state = hak_asym_fence_init() ? 1 : 2;
		atomic_store_explicit(&hak_my_ring->checking, asym_state != 1,
		                      memory_order_relaxed);
		hak_my_ring->next = rings;
		if (rings) rings->prev = hak_my_ring;
		rings = hak_my_ring;
		hak_spin_unlock(&rings_lock);
	}
	return hak_my_ring;
}

static unsigned ring_count(const struct hak_qring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_relaxed) - r->head;
}

/* Owner only, checkers kept out. */
static struct hak_quarantined ring_pop(struct hak_qring *r)
{
	struct hak_quarantined q = r->slot[r->head & SLOT_MASK];
	r->bytes -= q.bytes;
	r->head++;
	return q;
}

/* A block that left the ring waits in its class's stash: 1, or 0 when
 * the stash is full. Only the owner writes a stash (check_stash). */
static int stash_put(struct hak_qring *r, const struct hak_quarantined *q)
{
	struct hak_qstash *st = &r->stash[q->cls];
	unsigned k = atomic_load_explicit(&st->count, memory_order_relaxed);
	if (k >= st->cap) return 0;
	st->e[k].rec = q->rec;
	atomic_store_explicit(&st->e[k].block, q->block, memory_order_release);
	atomic_store_explicit(&st->count, k + 1, memory_order_release);
	return 1;
}

/* At the bound: one lock, a batch out (down to 15/16 of it), then the
 * push. With stash set, the batch goes to the stashes where they have
 * room; out gets the rest. */
static inline __attribute__((always_inline)) unsigned
push_full(struct hak_qring *r, struct hak_quarantined q, struct hak_quarantined *out, unsigned max,
          size_t limit, int stash)
{
	size_t low = limit - limit / 16;
	unsigned n = 0;
	unsigned keep = HAK_QUARANTINE_SLOTS - HAK_QUARANTINE_SLOTS / 16;
	unsigned count = ring_count(r), head = r->head, gone = 0;
	size_t bytes = r->bytes;
	/* One pass, checkers kept out: no checker sees a block in the ring
	 * and in a stash at once, or in neither. */
	int locked = hak_qring_enter(r);
	while (gone < count && gone < max && (count - gone > keep || bytes + q.bytes > low)) {
		const struct hak_quarantined *e = &r->slot[(head + gone) & SLOT_MASK];
		bytes -= e->bytes;
		gone++;
		if (!stash || !stash_put(r, e)) out[n++] = *e;
	}
	r->head = head + gone;
	hak_qring_leave(r, locked);
	r->bytes = bytes;
	if (ring_count(r) >= HAK_QUARANTINE_SLOTS) {
		if (n < max) out[n++] = q;
		return n;
	}
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	r->slot[t & SLOT_MASK] = q;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	r->bytes += q.bytes;
	return n;
}

/* No ring yet, a zero bound, a block over the bound, or a full ring.
 * Inline in both callers, so that each loop knows where its batch goes. */
static inline __attribute__((always_inline)) unsigned
push_slow(struct hak_quarantined q, struct hak_quarantined *out, unsigned max, int stash)
{
	size_t limit = (size_t)hak_env.quarantine_kb << 10;
	struct hak_qring *r;
	if (limit == 0 || q.bytes > limit || !(r = ring_get())) {
		out[0] = q;
		return 1;
	}
	return push_full(r, q, out, max, limit, stash);
}

unsigned hak_quarantine_push_slow(struct hak_quarantined q, struct hak_quarantined *out,
                                  unsigned max)
{
	return push_slow(q, out, max, 0);
}

unsigned hak_quarantine_push_stash(struct hak_quarantined q, struct hak_quarantined *out,
                                   unsigned max)
{
	return push_slow(q, out, max, 1);
}

unsigned hak_quarantine_drain(struct hak_quarantined *out, unsigned max)
{
	struct hak_qring *r = hak_my_ring;
	unsigned n = 0;
	if (!r) return 0;
	for (unsigned c = 0; c < HAK_NUM_CLASSES && n < max; c++) {
		void *rec, *b;
		while (n < max && (b = hak_quarantine_take(c, &rec)))
			out[n++] = (struct hak_quarantined){b, rec, c, hak_class_stride[c]};
	}
	int locked = hak_qring_enter(r);
	while (ring_count(r) && n < max)
		out[n++] = ring_pop(r);
	int empty = !ring_count(r) && n < max;
	hak_qring_leave(r, locked);
	if (empty) {
		hak_spin_lock(&rings_lock);
		if (r->prev)
			r->prev->next = r->next;
		else
			rings = r->next;
		if (r->next) r->next->prev = r->prev;
		hak_spin_unlock(&rings_lock);
		hak_my_ring = NULL;
		hak_os_unmap(r, sizeof *r);
	}
	return n;
}

void hak_quarantine_foreach(void (*fn)(const struct hak_quarantined *q, void *arg), void *arg)
{
	hak_spin_lock(&rings_lock);
	for (struct hak_qring *r = rings; r; r = r->next) {
		check_enter(r);
		/* Pushes go on meanwhile, past this tail: never into [head, tail). */
		unsigned tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		for (unsigned i = r->head; i != tail; i++)
			fn(&r->slot[i & SLOT_MASK], arg);
		check_leave(r);
	}
	hak_spin_unlock(&rings_lock);
}

size_t hak_quarantine_bytes(void)
{
	return hak_my_ring ? hak_my_ring->bytes : 0;
}
unsigned hak_quarantine_count(void)
{
	return hak_my_ring ? ring_count(hak_my_ring) : 0;
}

/* No owner is inside hak_qring_enter across fork: the child's rings are
 * whole, as a check would see them. */
void hak_quarantine_fork_prepare(void)
{
	hak_spin_lock(&rings_lock);
	for (struct hak_qring *r = rings; r; r = r->next)
		check_enter(r);
}

void hak_quarantine_fork_parent(void)
{
	for (struct hak_qring *r = rings; r; r = r->next)
		check_leave(r);
	hak_spin_unlock(&rings_lock);
}

/* The other threads' rings stay, with their blocks: checked at exit, never
 * reused, as any block a vanished thread held. */
void hak_quarantine_fork_child(void)
{
	for (struct hak_qring *r = rings; r; r = r->next) {
		atomic_store_explicit(&r->checking, asym_state != 1, memory_order_relaxed);
		hak_spin_init(&r->lock);
	}
	hak_spin_init(&rings_lock);
}

/* ---- fill damage ---- */

static size_t fill_len(unsigned cls)
{
	size_t u = hak_class_usable(cls);
	return u < HAK_FILL_MAX ? u : HAK_FILL_MAX;
}

int hak_fill_damage_find(uint8_t *b, unsigned cls, size_t from, size_t to,
                         struct hak_fill_damage *d)
{
	/* Every block leaving quarantine comes here: an intact fill, by far
	 * the common case, is seen 16 bytes a step (fill.h), a constant 128
	 * bytes for most classes. */
	if (to <= from) return 0;
	if (to - from == HAK_FILL_MAX ? !hak_fill_differs(b + from, HAK_FILL_MAX, HAK_FILL_FREED)
	                              : !hak_fill_differs(b + from, to - from, HAK_FILL_FREED))
		return 0;
	const uint64_t fill = 0x0101010101010101ull * HAK_FILL_FREED;
	size_t i = from, first = to, last = 0;
	/* Word by word up to the first change, then byte by byte for the range. */
	for (; i + 8 <= to; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w != fill) break;
	}
	for (; i < to; i++)
		if (b[i] != HAK_FILL_FREED) {
			if (first == to) first = i;
			last = i;
		}
	if (first == to) return 0;
	d->block = b;
	d->cls = cls;
	d->first = (uint32_t)first;
	d->last = (uint32_t)last;
	d->ndump = 0;
	for (size_t k = first; k <= last && d->ndump < HAK_DAMAGE_DUMP; k++)
		d->dump[d->ndump++] = b[k];
	return 1;
}

void hak_fill_damage_report(const struct hak_fill_damage *d, const char *when, void *ret)
{
	struct hak_ptr_info in;
	hak_track_inspect(d->block, &in);
	in.error = HAK_ERR_USE_AFTER_FREE_WRITE;
	in.found = d->dump[0];
	in.expected = HAK_FILL_FREED;
	char hex[3 * HAK_DAMAGE_DUMP + 8], detail[320];
	size_t len = d->last - d->first + 1, at = 0;
	for (unsigned k = 0; k < d->ndump; k++)
		at += (size_t)snprintf(hex + at, sizeof hex - at, " %02x", d->dump[k]);
	if (len > d->ndump) snprintf(hex + at, sizeof hex - at, " ...");
	snprintf(detail, sizeof detail,
	         "bytes %u..%u written after free (%zu-byte range; the fill is 0x%02x), seen %s; "
	         "found:%s",
	         d->first, d->last, len, HAK_FILL_FREED, when, hex);
	hak_report_error(HAK_ERR_USE_AFTER_FREE_WRITE, d->block, &in, detail, ret);
	/* Reported and going on: re-armed, so no later check says it again. */
	memset(d->block + d->first, HAK_FILL_FREED, len);
}

int hak_quarantine_check_leaving(void *block, unsigned cls)
{
	struct hak_fill_damage d;
	if (!hak_fill_damage_find(block, cls, 0, fill_len(cls), &d)) return 0;
	hak_fill_damage_report(&d, "as it left the quarantine", NULL);
	return 1;
}

#define DAMAGE_MAX 32

struct damage_list {
	long count;
	struct hak_fill_damage d[DAMAGE_MAX];
};

static void find_damage(const struct hak_quarantined *q, void *arg)
{
	struct damage_list *l = arg;
	struct hak_fill_damage d;
	if (!hak_fill_damage_find(q->block, q->cls, 0, fill_len(q->cls), &d)) return;
	if (l->count < DAMAGE_MAX) l->d[l->count] = d;
	l->count++;
}

/* Between check_enter and check_leave, which keep the owner from taking
 * a block: every block counted is still quarantined while its fill is
 * read. */
static void check_stash(struct hak_qring *r, struct damage_list *l)
{
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		struct hak_qstash *st = &r->stash[c];
		unsigned k = atomic_load_explicit(&st->count, memory_order_acquire);
		for (unsigned i = 0; i < k && i < HAK_STASH_SLOTS; i++) {
			uint8_t *b = atomic_load_explicit(&st->e[i].block, memory_order_acquire);
			struct hak_fill_damage d;
			if (!b || !hak_fill_damage_find(b, c, 0, fill_len(c), &d)) continue;
			if (l->count < DAMAGE_MAX) l->d[l->count] = d;
			l->count++;
		}
	}
}

long hak_quarantine_check_all(const char *when)
{
	struct damage_list *l = hak_os_map(sizeof *l);
	if (!l) return 0;
	l->count = 0;
	hak_quarantine_foreach(find_damage, l);
	hak_spin_lock(&rings_lock);
	for (struct hak_qring *r = rings; r; r = r->next) {
		check_enter(r);
		check_stash(r, l);
		check_leave(r);
	}
	hak_spin_unlock(&rings_lock);
	/* Reported with no quarantine lock held: a report may malloc and free. */
	for (long i = 0; i < l->count && i < DAMAGE_MAX; i++)
		hak_fill_damage_report(&l->d[i], when, NULL);
	if (l->count > DAMAGE_MAX && hak_env.on_error != HAK_ON_ERROR_IGNORE)
		hak_log("hakmem: %ld more quarantined blocks were written after free (not shown)\n",
		        l->count - DAMAGE_MAX);
	long n = l->count;
	hak_os_unmap(l, sizeof *l);
	return n;
}
