/* Capturing the call site of a malloc that touched fresh pages.
 *
 * The stack is unwound with libgcc's _Unwind_Backtrace, which follows the
 * .eh_frame tables every x86-64 binary carries, so -O2 code without frame
 * pointers unwinds as well as -O0 code; with glibc >= 2.35 the unwinder
 * finds each frame's table through _dl_find_object, without a lock and
 * without malloc. libgcc_s is dlopen'd once, from the tracer's start-up,
 * never from inside a malloc. It runs only on the paths that touch fresh
 * pages (a carving refill, a SuperSlab or large map), under the tracer's
 * nesting guard: a malloc it might cause is queued like any other event.
 *
 * hakmem's own frames are dropped: every frame up to the last one in
 * hakmem's code (its module's range when hakmem is a library; its malloc
 * entry points, by function start, when the archive is linked into the
 * program). The next HAKMEM_TP_CALLSITE_FRAMES frames are the call site. */
#include "callsite.h"

#if defined(HAKMEM_TRACE_HOOKS)
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unwind.h>

#define WALK_MAX 48 /* frames looked at, hakmem's and the program's */
#define SEEN_SLOTS 8192
#define SEEN_PROBES 32

static struct {
	_Unwind_Reason_Code (*backtrace)(_Unwind_Trace_Fn, void *);
	_Unwind_Ptr (*get_ip)(struct _Unwind_Context *);
	_Unwind_Ptr (*get_region_start)(struct _Unwind_Context *);
} uw;

/* hakmem's code, when it is a library of its own; else lo == hi. */
static uintptr_t own_lo, own_hi;
/* The malloc family's entry points: the outermost hakmem frames (alloc.c
 * hands them over, hak_callsite_own_entries). */
static uintptr_t entries[16];
static unsigned nentries;

/* Ids of the stacks this process has written. 0: a free slot. */
static _Atomic uint64_t seen[SEEN_SLOTS];

struct walk {
	uintptr_t ip[WALK_MAX];
	unsigned n, steps;
	int own_seen;
};

static int is_own(struct _Unwind_Context *ctx, uintptr_t ip)
{
	if (ip - own_lo < own_hi - own_lo) return 1;
	/* Linked into the program: only the entry points tell. */
	if (own_lo != own_hi || !nentries) return 0;
	uintptr_t start = uw.get_region_start(ctx);
	for (unsigned i = 0; i < nentries; i++)
		if (start == entries[i]) return 1;
	return 0;
}

static _Unwind_Reason_Code step(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = uw.get_ip(ctx);
	if (!ip || ++w->steps > WALK_MAX) return _URC_END_OF_STACK;
	if (is_own(ctx, ip)) {
		/* Everything so far was hakmem's (or inside it). */
		w->n = 0;
		w->own_seen = 1;
		return _URC_NO_REASON;
	}
	if (w->n < WALK_MAX) w->ip[w->n++] = ip;
	/* hakmem never calls back into the program: past its outermost
	 * frame, the rest is the call site. */
	if (w->own_seen && w->n >= HAKMEM_TP_CALLSITE_FRAMES) return _URC_END_OF_STACK;
	return _URC_NO_REASON;
}

static void forget_all(void)
{
	/* A forked child is a process of its own: it writes its stacks again. */
	for (unsigned i = 0; i < SEEN_SLOTS; i++)
		atomic_store_explicit(&seen[i], 0, memory_order_relaxed);
}

static int own_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const struct link_map *lm = arg;
	if (info->dlpi_addr != lm->l_addr || strcmp(info->dlpi_name, lm->l_name)) return 0;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo) lo = a;
		if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
	}
	if (lo < hi) {
		own_lo = lo;
		own_hi = hi;
	}
	return 1;
}

void hak_callsite_init(void)
{
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) return;
	uw.get_ip = (_Unwind_Ptr(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetIP");
	uw.get_region_start =
	    (_Unwind_Ptr(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetRegionStart");
	uw.backtrace =
	    (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))dlsym(h, "_Unwind_Backtrace");
	if (!uw.get_ip || !uw.get_region_start) uw.backtrace = NULL;
	if (!uw.backtrace) return;
	Dl_info info;
	struct link_map *lm = NULL;
	if (dladdr1((void *)hak_callsite_init, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm &&
	    lm->l_name[0])
		dl_iterate_phdr(own_range, lm);
	pthread_atfork(NULL, NULL, forget_all);
}

void hak_callsite_own_entries(void *const *fns, unsigned n)
{
	for (unsigned i = 0; i < n && nentries < sizeof entries / sizeof *entries; i++)
		entries[nentries++] = (uintptr_t)fns[i];
}

/* 1 if this process has not written stack id yet (and now has claimed
 * it). A full table answers 1: the stack is written again, never lost. */
static int first_sight(uint64_t id)
{
	for (unsigned i = (unsigned)id & (SEEN_SLOTS - 1), k = 0; k < SEEN_PROBES;
	     i = (i + 1) & (SEEN_SLOTS - 1), k++) {
		uint64_t v = atomic_load_explicit(&seen[i], memory_order_relaxed);
		if (v == id) return 0;
		if (v) continue;
		if (atomic_compare_exchange_strong_explicit(&seen[i], &v, id, memory_order_relaxed,
		                                            memory_order_relaxed))
			return 1;
		if (v == id) return 0;
	}
	return 1;
}

__attribute__((noinline)) uint64_t hak_callsite_capture(const struct hakmem_tp_ops *o)
{
	if (!uw.backtrace) return 0;
	struct walk w;
	w.n = w.steps = 0;
	w.own_seen = 0;
	uw.backtrace(step, &w);
	if (!w.own_seen || !w.n) return 0;
	unsigned n = w.n < HAKMEM_TP_CALLSITE_FRAMES ? w.n : HAKMEM_TP_CALLSITE_FRAMES;
	uint64_t frames[HAKMEM_TP_CALLSITE_FRAMES];
	uint64_t id = 0xcbf29ce484222325ull;
	for (unsigned i = 0; i < n; i++) {
		frames[i] = w.ip[i];
		id = (id ^ frames[i]) * 0x100000001b3ull;
		id ^= id >> 29;
	}
	id = (id ^ n) * 0x100000001b3ull;
	if (!id) id = 1;
	if (first_sight(id)) o->callsite(id, frames, n);
	return id;
}
#endif
