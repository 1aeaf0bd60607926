#include "stack_depot.h"
#include "env.h"
#include "lock.h"
#include "os.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Records are appended to one mmap'd arena (untouched pages cost
 * nothing) and found through an open-addressing index of ids. Lookups
 * take no lock: a slot goes from 0 to an id once, and a record never
 * changes after its id is published (release store, acquire load). Only
 * an insert takes the lock, and probes again under it. */
#define DEPOT_RECORDS (1u << 18)
#define INDEX_SLOTS (1u << 19)

struct record {
	uint64_t hash;
	uint32_t depth;
	uint32_t pad;
	void *frames[HAK_STACK_MAX_DEPTH];
};

static struct record *records; /* set under the lock before any id is published */
static _Atomic(_Atomic uint32_t *) index_slots;
static _Atomic uint32_t nrecords; /* ids are 1..nrecords */
static hak_spin_t depot_lock;

/* The hash of hak_stack_walk (stack_depot.h), of frames already stored. */
static uint64_t hash_frames(void *const *f, unsigned n)
{
	uint64_t h = HAK_STACK_HASH_SEED;
	for (unsigned i = 0; i < n; i++)
		h = hak_stack_hash_step(h, f[i]);
	return hak_stack_hash_end(h, n);
}

static int depot_ready(void)
{
	/* Each map on its own: if one fails, the next capture retries it
	 * (bug: records mapped and index not counted as ready). */
	if (!records) records = hak_os_map((size_t)DEPOT_RECORDS * sizeof *records);
	if (!records) return 0;
	if (!atomic_load_explicit(&index_slots, memory_order_relaxed)) {
		_Atomic uint32_t *fresh = hak_os_map((size_t)INDEX_SLOTS * sizeof *fresh);
		if (!fresh) return 0;
		atomic_store_explicit(&index_slots, fresh, memory_order_release);
	}
	return 1;
}

/* The id of the stack, or 0 with *empty the free slot its probe ended at. */
static uint32_t depot_find(_Atomic uint32_t *slots, uint64_t h, void *const *frames, unsigned depth,
                           uint32_t *empty)
{
	for (uint32_t i = (uint32_t)h & (INDEX_SLOTS - 1);; i = (i + 1) & (INDEX_SLOTS - 1)) {
		uint32_t cand = atomic_load_explicit(&slots[i], memory_order_acquire);
		if (!cand) {
			*empty = i;
			return 0;
		}
		const struct record *r = &records[cand - 1];
		if (r->hash == h && r->depth == depth &&
		    !memcmp(r->frames, frames, depth * sizeof *frames))
			return cand;
	}
}

static uint32_t intern_hashed(void *const *frames, unsigned depth, uint64_t h)
{
	uint32_t slot, id;
	_Atomic uint32_t *slots = atomic_load_explicit(&index_slots, memory_order_acquire);
	if (slots && (id = depot_find(slots, h, frames, depth, &slot))) return id;
	hak_spin_lock(&depot_lock);
	id = 0;
	if (!depot_ready()) goto out;
	slots = atomic_load_explicit(&index_slots, memory_order_relaxed);
	/* Another thread may have stored it since the lock-free probe. */
	if ((id = depot_find(slots, h, frames, depth, &slot))) goto out;
	uint32_t n = atomic_load_explicit(&nrecords, memory_order_relaxed);
	if (n + 1 >= DEPOT_RECORDS) goto out; /* full: the block just gets no stack */
	struct record *r = &records[n];
	r->hash = h;
	r->depth = depth;
	memcpy(r->frames, frames, depth * sizeof *frames);
	id = n + 1;
	atomic_store_explicit(&nrecords, id, memory_order_release);
	atomic_store_explicit(&slots[slot], id, memory_order_release);
out:
	hak_spin_unlock(&depot_lock);
	return id;
}

uint32_t hak_stack_intern(void *const *frames, unsigned depth)
{
	if (depth > HAK_STACK_MAX_DEPTH) depth = HAK_STACK_MAX_DEPTH;
	return intern_hashed(frames, depth, hash_frames(frames, depth));
}

unsigned hak_stack_get(uint32_t id, void **frames)
{
	if (!id || id > atomic_load_explicit(&nrecords, memory_order_acquire)) return 0;
	struct record *r = &records[id - 1];
	memcpy(frames, r->frames, r->depth * sizeof *frames);
	return r->depth;
}

uint32_t hak_stack_count(void)
{
	return atomic_load_explicit(&nrecords, memory_order_acquire);
}

void hak_stack_depot_lock(int lock)
{
	if (lock)
		hak_spin_lock(&depot_lock);
	else
		hak_spin_unlock(&depot_lock);
}

static __thread int in_unwind __attribute__((tls_model("initial-exec")));

__thread struct hak_stack_recent hak_stack_recent[HAK_STACK_RECENT]
    __attribute__((tls_model("initial-exec")));
__thread struct hak_stack_recent hak_stack_leaf[HAK_STACK_RECENT]
    __attribute__((tls_model("initial-exec")));

/* HAKMEM_BACKTRACE=1: the frames from the caller on, or 0. backtrace()
 * loads libgcc_s on first use, which allocates, which captures again: the
 * nested capture keeps only its caller. */
static __attribute__((noinline, cold)) unsigned unwind_frames(void *ret, void **out)
{
	if (in_unwind) return 0;
	void *frames[HAK_STACK_MAX_DEPTH + 8];
	unsigned n = 0;
	in_unwind = 1;
	/* Exact, but costs microseconds: opt-in. Skip our own frames. */
	int got = backtrace(frames, HAK_STACK_MAX_DEPTH + 8);
	for (int i = 0; i < got; i++)
		if (frames[i] == ret) {
			n = (unsigned)(got - i);
			if (n > HAK_STACK_MAX_DEPTH) n = HAK_STACK_MAX_DEPTH;
			memcpy(out, frames + i, n * sizeof *frames);
			break;
		}
	in_unwind = 0;
	return n;
}

/* The inline capture found nothing in the thread's cache (or
 * HAKMEM_BACKTRACE=1 is on): the frames are walked again, stored this
 * time, and looked up in the depot (lock-free unless they are new). */
uint32_t hak_stack_capture_slow(void *ret, void *frame, uintptr_t lo, uintptr_t hi)
{
	void *frames[HAK_STACK_MAX_DEPTH];
	unsigned n;
	uint64_t h;
	if (HAK_UNLIKELY(hak_env.backtrace_unwind) && (n = unwind_frames(ret, frames)))
		h = hash_frames(frames, n);
	else
		n = hak_stack_walk(ret, frame, lo, hi, frames, &h);
	struct hak_stack_recent *r = &hak_stack_recent[h & (HAK_STACK_RECENT - 1)];
	uint32_t id = r->hash == h && r->id ? r->id : intern_hashed(frames, n, h);
	r->hash = h;
	r->id = id;
	/* A stack of ret alone, walked (not unwound): named by ret from now on. */
	if (n == 1 && frames[0] == ret && !hak_env.backtrace_unwind) {
		struct hak_stack_recent *l = &hak_stack_leaf[hak_stack_leaf_slot(ret)];
		l->hash = (uintptr_t)ret;
		l->id = id;
	}
	return id;
}
