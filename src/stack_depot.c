#include "stack_depot.h"
#include "env.h"
#include "lock.h"
#include "os.h"

#include <execinfo.h>
#include <pthread.h>
#include <string.h>

/* Records are appended to one mmap'd arena (untouched pages cost
 * nothing) and found through an open-addressing index of ids. */
#define DEPOT_RECORDS (1u << 18)
#define INDEX_SLOTS (1u << 19)

struct record {
	uint64_t hash;
	uint32_t depth;
	uint32_t pad;
	void *frames[HAK_STACK_MAX_DEPTH];
};

static struct record *records;
static uint32_t *index_slots;
static uint32_t nrecords; /* ids are 1..nrecords */
static hak_spin_t depot_lock;

static uint64_t hash_frames(void *const *f, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	for (unsigned i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)f[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static int depot_ready(void)
{
	/* Each map on its own: if one fails, the next capture retries it
	 * (bug: records mapped and index not counted as ready). */
	if (!records) records = hak_os_map((size_t)DEPOT_RECORDS * sizeof *records);
	if (!index_slots) index_slots = hak_os_map((size_t)INDEX_SLOTS * sizeof *index_slots);
	return records && index_slots;
}

uint32_t hak_stack_intern(void *const *frames, unsigned depth)
{
	if (depth > HAK_STACK_MAX_DEPTH) depth = HAK_STACK_MAX_DEPTH;
	uint64_t h = hash_frames(frames, depth);
	uint32_t id = 0;
	hak_spin_lock(&depot_lock);
	if (!depot_ready()) goto out;
	for (uint32_t i = (uint32_t)h & (INDEX_SLOTS - 1);; i = (i + 1) & (INDEX_SLOTS - 1)) {
		uint32_t cand = index_slots[i];
		if (!cand) {
			if (nrecords + 1 >= DEPOT_RECORDS)
				goto out; /* full: the block just gets no stack */
			struct record *r = &records[nrecords++];
			r->hash = h;
			r->depth = depth;
			memcpy(r->frames, frames, depth * sizeof *frames);
			index_slots[i] = id = nrecords;
			goto out;
		}
		struct record *r = &records[cand - 1];
		if (r->hash == h && r->depth == depth &&
		    !memcmp(r->frames, frames, depth * sizeof *frames)) {
			id = cand;
			goto out;
		}
	}
out:
	hak_spin_unlock(&depot_lock);
	return id;
}

unsigned hak_stack_get(uint32_t id, void **frames)
{
	if (!id || id > nrecords) return 0;
	struct record *r = &records[id - 1];
	memcpy(frames, r->frames, r->depth * sizeof *frames);
	return r->depth;
}

uint32_t hak_stack_count(void)
{
	return nrecords;
}

void hak_stack_depot_lock(int lock)
{
	if (lock)
		hak_spin_lock(&depot_lock);
	else
		hak_spin_unlock(&depot_lock);
}

static __thread int in_unwind __attribute__((tls_model("initial-exec")));

#define RECENT_IDS 64
struct recent {
	uint64_t hash;
	uint32_t id;
};
static __thread struct recent recent_ids[RECENT_IDS] __attribute__((tls_model("initial-exec")));

/* Frame-pointer walk: cheap enough for every malloc. Each step must move
 * up the thread's own stack, so code built without frame pointers ends
 * the walk early instead of reading wild memory. */
static unsigned walk_frames(void *ret, void *frame, uintptr_t lo, uintptr_t hi, void **out)
{
	unsigned n = 0;
	out[n++] = ret;
	if (!frame || !hi) return n;
	void **fp = ((void **)frame)[0];
	uintptr_t prev = (uintptr_t)frame;
	/* fp <= hi - 16, not fp + 16 <= hi: a garbage fp near the top of the
	 * address space must not wrap around and pass. */
	while (n < HAK_STACK_MAX_DEPTH && ((uintptr_t)fp & 7) == 0 && (uintptr_t)fp > prev &&
	       (uintptr_t)fp >= lo && hi >= 16 && (uintptr_t)fp <= hi - 16) {
		void *pc = fp[1];
		if ((uintptr_t)pc < 4096) break;
		out[n++] = pc;
		prev = (uintptr_t)fp;
		fp = (void **)fp[0];
	}
	return n;
}

uint32_t hak_stack_capture(void *ret, void *frame, uintptr_t lo, uintptr_t hi)
{
	void *frames[HAK_STACK_MAX_DEPTH + 8];
	unsigned n = 0;
	/* backtrace() loads libgcc_s on first use, which allocates, which
	 * captures again: the nested capture keeps only its caller. */
	if (hak_env.backtrace_unwind && !in_unwind) {
		in_unwind = 1;
		/* Exact, but costs microseconds: opt-in. Skip our own frames. */
		int got = backtrace(frames, HAK_STACK_MAX_DEPTH + 8);
		for (int i = 0; i < got; i++)
			if (frames[i] == ret) {
				n = (unsigned)(got - i);
				memmove(frames, frames + i, n * sizeof *frames);
				break;
			}
		in_unwind = 0;
	}
	if (!n) n = walk_frames(ret, frame, lo, hi, frames);
	if (n > HAK_STACK_MAX_DEPTH) n = HAK_STACK_MAX_DEPTH;
	/* Most allocations come from a few hot stacks: a per-thread cache of
	 * hash -> id skips the depot lock for them. */
	uint64_t h = hash_frames(frames, n);
	struct recent *r = &recent_ids[h & (RECENT_IDS - 1)];
	if (r->hash == h && r->id) return r->id;
	uint32_t id = hak_stack_intern(frames, n);
	r->hash = h;
	r->id = id;
	return id;
}
