#include "large.h"
#include "asan_hooks.h"
#include "check.h"
#include "env.h"
#include "events.h"
#include "os.h"
#include "page_heap.h"
#include "size_class.h"
#include "stats_counters.h"
#include "trace_hooks.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- set of live user pointers: open addressing, mmap'd ---- */

#define TOMBSTONE ((uintptr_t)1)

static uintptr_t *table;
static size_t table_cap, table_used, table_live;

static size_t hash_ptr(uintptr_t p, size_t cap)
{
	return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 7) & (cap - 1);
}

static int table_insert_raw(uintptr_t *t, size_t cap, uintptr_t p)
{
	for (size_t i = hash_ptr(p, cap);; i = (i + 1) & (cap - 1))
		if (t[i] == 0 || t[i] == TOMBSTONE) {
			int fresh = t[i] == 0;
			t[i] = p;
			return fresh;
		}
}

static int table_grow(void)
{
	size_t cap = table_cap ? table_cap * 2 : 1024;
	if (table_live * 4 < table_cap)
		cap = table_cap; /* mostly tombstones: rehash in place size */
	uintptr_t *t = hak_os_map(cap * sizeof *t);
	if (!t) return -1;
	for (size_t i = 0; i < table_cap; i++)
		if (table[i] > TOMBSTONE) table_insert_raw(t, cap, table[i]);
	hak_os_unmap(table, table_cap * sizeof *table);
	table = t;
	table_cap = cap;
	table_used = table_live;
	return 0;
}

static long table_find(uintptr_t p)
{
	if (!table_cap || p <= TOMBSTONE) /* 0 and 1 mark empty and deleted slots */
		return -1;
	for (size_t i = hash_ptr(p, table_cap);; i = (i + 1) & (table_cap - 1)) {
		if (table[i] == p) return (long)i;
		if (table[i] == 0) return -1;
	}
}

static int table_add(uintptr_t p)
{
	if ((table_used + 1) * 2 > table_cap && table_grow()) return -1;
	table_used += table_insert_raw(table, table_cap, p);
	table_live++;
	return 0;
}

static void table_del(long i)
{
	table[i] = TOMBSTONE;
	table_live--;
}

/* ---- the page heap and its bookkeeping ---- */

static struct hak_page_heap heap;

/* Counts and traces what the page heap did, once the lock is dropped:
 * pages handed out fresh are a large_mmap (they fault on first touch),
 * pages given back a large_munmap. mapped_bytes counts what may be
 * resident: spans in use and resident free spans. */
static void log_emit(struct hak_ph_log *log)
{
	for (unsigned i = 0; i < log->n; i++) {
		uint64_t addr = (uint64_t)(uintptr_t)log->note[i].addr;
		size_t bytes = log->note[i].bytes;
		(void)addr; /* traced only where the hooks are built in */
		if (log->note[i].kind == HAK_PH_FRESH) {
			HAK_STAT_ADD(large_mapped, 1);
			HAK_STAT_ADD(mapped_bytes, bytes);
			HAK_TRACE_LARGE_MMAP(addr, bytes, bytes / HAK_PAGE);
		} else {
			HAK_STAT_ADD(large_unmapped, 1);
			HAK_STAT_SUB(mapped_bytes, bytes);
			HAK_TRACE_LARGE_MUNMAP(addr, bytes);
		}
	}
	log->n = 0;
}

static void note_own(struct hak_ph_log *log, uint8_t kind, uint8_t *addr, size_t bytes)
{
	log->note[log->n].kind = kind;
	log->note[log->n].addr = addr;
	log->note[log->n].bytes = bytes;
	log->n++;
}

/* When the oldest resident free span was freed (UINT64_MAX: none), for
 * hak_large_maintain_idle's check without the lock; written under it. */
static uint64_t oldest_free_ns = UINT64_MAX;

static void publish_oldest(void)
{
	HAK_RELAXED_STORE(oldest_free_ns, heap.age_head ? heap.age_head->freed_ns : UINT64_MAX);
}

/* Resident free spans past the purge delay, or over HAKMEM_LARGE_CACHE_MB
 * when it sets a limit, are given back, a few at a time, by the large
 * operations that follow: lazily, as the pools purge their slabs. */
static void maintain(struct hak_ph_log *log)
{
	long delay = hak_env.purge_delay_ms, mb = hak_env.large_cache_mb;
	hak_ph_purge(&heap, hak_now_ns(), delay < 0 ? -1 : (int64_t)delay * 1000000,
	             mb < 0 ? SIZE_MAX : (size_t)mb << 20, 0, log);
	publish_oldest();
}

void hak_large_maintain_idle(uint64_t now)
{
	uint64_t oldest = HAK_RELAXED_LOAD(oldest_free_ns);
	long delay = hak_env.purge_delay_ms;
	if (HAK_LIKELY(oldest == UINT64_MAX) || delay < 0 || now < oldest ||
	    now - oldest < (uint64_t)delay * 1000000)
		return;
	if (pthread_mutex_trylock(&large_lock)) return;
	struct hak_ph_log log = {.n = 0};
	maintain(&log);
	pthread_mutex_unlock(&large_lock);
	log_emit(&log);
}

/* ---- allocation ---- */

static void *place(uint8_t *base, size_t map_size, size_t n, size_t align, unsigned region)
{
	uint8_t *p = (uint8_t *)hak_align_up((uintptr_t)base + HAK_LARGE_HDR, align);
	struct hak_large_hdr *h = hak_large_hdr(p);
	h->magic = HAK_LARGE_MAGIC;
	h->base = base;
	h->map_size = map_size;
	h->requested = n;
	/* Full mode's records of whatever block was freed here before. */
	h->reserved[0] = h->reserved[1] = h->reserved[2] = 0;
	h->region = (uint16_t)region;
	h->tag = HAK_HDR_LARGE;
	return p;
}

/* Gives a span back: to the page heap, or to the kernel when it has a
 * mapping of its own. Called with the lock held; the log says what to
 * count once it is dropped. */
static void span_release(uint8_t *base, size_t size, unsigned region, struct hak_ph_log *log)
{
	if (region) {
		hak_ph_free(&heap, region, base, size / HAK_PAGE, hak_now_ns());
		return;
	}
	hak_os_unmap(base, size);
	note_own(log, HAK_PH_RELEASED, base, size);
}

/* A span of need bytes, from the page heap or a mapping of its own. */
static uint8_t *span_get(size_t need, unsigned *region, struct hak_ph_log *log)
{
	uint8_t *base;
	*region = 0;
	if (need < HAK_LARGE_OWN_MAP) {
		pthread_mutex_lock(&large_lock);
		base = hak_ph_alloc(&heap, need / HAK_PAGE, region, log);
		pthread_mutex_unlock(&large_lock);
	} else {
		base = hak_os_map(need);
		if (base) note_own(log, HAK_PH_FRESH, base, need);
	}
	return base;
}

/* n bytes in a span of at least min_span bytes (room to grow into), of
 * which the first copy bytes are about to be written (a realloc's copy). */
static void *large_alloc(size_t n, size_t align, size_t min_span, size_t copy)
{
	if (align < HAK_LARGE_HDR) align = HAK_LARGE_HDR;
	size_t slack = align == HAK_LARGE_HDR ? HAK_LARGE_HDR : align + HAK_LARGE_HDR;
	if (n > SIZE_MAX - slack - HAK_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = hak_align_up(n + slack, HAK_PAGE);
	struct hak_ph_log log = {.n = 0};
	unsigned region = 0;
	uint8_t *base = NULL;

	if (min_span > need) {
		size_t roomy = hak_align_up(min_span, HAK_PAGE);
		base = span_get(roomy, &region, &log);
		if (base) need = roomy;
	}
	if (!base) base = span_get(need, &region, &log);
	if (!base) return NULL;
	int fresh = log.n > 0;
	log_emit(&log);
	if (fresh && copy) {
		/* The pages the copy fills fault in one call, not one by one:
		 * an exception each costs more, the more so in a VM. */
		size_t touch = hak_align_up(HAK_LARGE_HDR + copy, HAK_PAGE);
		hak_os_populate(base, touch < need ? touch : need);
	}
	if (!fresh) {
		HAK_STAT_ADD(large_reused, 1);
#if defined(HAKMEM_CHECKS)
		if (HAK_CHECKING_FULL()) hak_large_check_reused(base, need);
#endif
	}
	void *p = place(base, need, n, align, region);
	pthread_mutex_lock(&large_lock);
	int rc = table_add((uintptr_t)p);
	if (rc) span_release(base, need, region, &log);
	maintain(&log);
	pthread_mutex_unlock(&large_lock);
	log_emit(&log);
	if (rc) {
		errno = ENOMEM;
		return NULL;
	}
	HAK_STAT_ADD(large_live, 1);
	HAK_STAT_ADD(large_live_bytes, need);
	return p;
}

void *hak_large_alloc(size_t n, size_t align)
{
	return large_alloc(n, align, 0, 0);
}

void *hak_large_alloc_grown(void *old, size_t n)
{
	size_t span = hak_large_hdr(old)->map_size;
	return large_alloc(n, HAK_LARGE_HDR, span * HAK_LARGE_GROWTH, hak_large_usable(old));
}

void hak_large_free(void *p)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	uint8_t *base = h->base;
	size_t size = h->map_size;
	unsigned region = h->region;
	struct hak_ph_log log = {.n = 0};

	pthread_mutex_lock(&large_lock);
	long i = table_find((uintptr_t)p);
	if (i >= 0) table_del(i);
	h->magic = 0;
	h->tag = 0;
	span_release(base, size, region, &log);
	maintain(&log);
	pthread_mutex_unlock(&large_lock);

	HAK_STAT_SUB(large_live, 1);
	HAK_STAT_SUB(large_live_bytes, size);
	log_emit(&log);
}

/* A page-heap span grows into the free span after it, or gives its tail
 * back; NULL when it cannot grow there. */
static void *resize_in_heap(void *p, size_t n, size_t need)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	size_t old = h->map_size;
	struct hak_ph_log log = {.n = 0};
	int ok = 1;
	pthread_mutex_lock(&large_lock);
	if (need < old) {
		HAK_RELAXED_STORE(h->requested, n);
		hak_ph_shrink(&heap, h->region, h->base, old / HAK_PAGE, need / HAK_PAGE,
		              hak_now_ns());
		h->map_size = need;
		maintain(&log);
	} else if (need / HAK_PAGE <= hak_ph_max_pages(&heap) &&
	           hak_ph_grow(&heap, h->region, h->base, old / HAK_PAGE, need / HAK_PAGE, &log)) {
		h->map_size = need;
		HAK_RELAXED_STORE(h->requested, n);
	} else {
		ok = 0;
	}
	pthread_mutex_unlock(&large_lock);
	/* Growth takes a resident span, a released one, or both, in either
	 * order: only the resident pages can hold freed spans' marks. */
	uint8_t *grown = h->base + old, *fresh = grown, *fresh_end = grown;
	for (unsigned i = 0; i < log.n; i++)
		if (log.note[i].kind == HAK_PH_FRESH) {
			fresh = log.note[i].addr;
			fresh_end = fresh + log.note[i].bytes;
		}
	log_emit(&log);
	if (!ok) return NULL;
	if (need < old) {
		HAK_STAT_SUB(large_live_bytes, old - need);
		return p;
	}
	HAK_STAT_ADD(large_live_bytes, need - old);
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING_FULL()) {
		hak_large_check_reused(grown, (size_t)(fresh - grown));
		hak_large_check_reused(fresh_end, (size_t)(h->base + need - fresh_end));
	}
#endif
	(void)fresh_end;
	return p;
}

/* A block that cannot grow up moves down over the resident free span
 * before it (hak_ph_grow_down): the pages are the block's own once the
 * page heap hands them over, so the contents move with the lock dropped;
 * then the surplus goes back, less the room a growing block keeps. */
static void *grow_down(void *p, size_t n, size_t need)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	uint8_t *base = h->base;
	size_t old = h->map_size;
	unsigned region = h->region;
	if ((uint8_t *)p != base + HAK_LARGE_HDR) return NULL; /* aligned span: the caller copies */
	pthread_mutex_lock(&large_lock);
	uint8_t *nb = hak_ph_grow_down(&heap, region, base, old / HAK_PAGE, need / HAK_PAGE);
	pthread_mutex_unlock(&large_lock);
	if (!nb) return NULL;
	size_t span = (size_t)(base - nb) + old;
	size_t keep = old * HAK_LARGE_GROWTH;
	keep = keep < need ? need : keep > span ? span : keep;
#if defined(HAKMEM_CHECKS)
	if (HAK_CHECKING_FULL()) hak_large_check_reused(nb, (size_t)(base - nb));
#endif
	HAK_ASAN_UNPOISON(nb, span);
	memmove(nb, base, old); /* the header with the contents */
	void *q = nb + HAK_LARGE_HDR;
	h = hak_large_hdr(q);
	h->base = nb;
	h->map_size = keep;
	h->requested = n;
	struct hak_ph_log log = {.n = 0};
	pthread_mutex_lock(&large_lock);
	long i = table_find((uintptr_t)p);
	if (i >= 0) table_del(i);
	int rc = table_add((uintptr_t)q);
	if (keep < span)
		hak_ph_shrink(&heap, region, nb, span / HAK_PAGE, keep / HAK_PAGE, hak_now_ns());
	maintain(&log);
	pthread_mutex_unlock(&large_lock);
	log_emit(&log);
	HAK_ASAN_POISON(nb + keep, span - keep);
	HAK_STAT_ADD(large_live_bytes, keep - old);
	(void)rc; /* the block stays valid; only hak_large_owns misses it */
	return q;
}

void *hak_large_resize(void *p, size_t n)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	size_t offset = (size_t)((uint8_t *)p - h->base);
	if (n > PTRDIFF_MAX || n > SIZE_MAX - offset - HAK_PAGE) return NULL;
	size_t need = hak_align_up(offset + n, HAK_PAGE);
	/* The room a growing block was given (hak_large_alloc_grown,
	 * grow_down) stays for its next steps: growth inside it, and a small
	 * shrink, keep the span. */
	if (need == h->map_size ||
	    (need < h->map_size && (!h->region || n >= HAK_RELAXED_LOAD(h->requested) ||
	                            h->map_size - need <= h->map_size / HAK_LARGE_SHRINK_KEEP))) {
		HAK_RELAXED_STORE(h->requested, n); /* the heap check reads it unlocked */
		return p;
	}
	if (h->region) {
		void *q = resize_in_heap(p, n, need);
		return q || need < h->map_size ? q : grow_down(p, n, need);
	}
	if ((uint8_t *)p != h->base + HAK_LARGE_HDR)
		return NULL; /* aligned span: the caller copies */
	size_t old = h->map_size;
	pthread_mutex_lock(&large_lock);
	uint8_t *nb = mremap(h->base, old, need, MREMAP_MAYMOVE);
	if (nb == MAP_FAILED) {
		pthread_mutex_unlock(&large_lock);
		return NULL;
	}
	void *np = nb + HAK_LARGE_HDR;
	if (np != p) {
		long i = table_find((uintptr_t)p);
		if (i >= 0) table_del(i);
		table_add((uintptr_t)np);
	}
	h = hak_large_hdr(np);
	h->base = nb;
	h->map_size = need;
	h->requested = n;
	pthread_mutex_unlock(&large_lock);
	/* The pages mremap added fault on first touch. */
	struct hak_ph_log log = {.n = 0};
	note_own(&log, HAK_PH_FRESH, nb + old, need - old);
	log_emit(&log);
	HAK_STAT_ADD(large_live_bytes, need - old);
	return np;
}

int hak_large_owns(const void *p)
{
	pthread_mutex_lock(&large_lock);
	int r = table_find((uintptr_t)p) >= 0;
	pthread_mutex_unlock(&large_lock);
	return r;
}

void hak_large_foreach(void (*fn)(void *p, void *arg), void *arg)
{
	pthread_mutex_lock(&large_lock);
	for (size_t i = 0; i < table_cap; i++)
		if (table[i] > TOMBSTONE) fn((void *)table[i], arg);
	pthread_mutex_unlock(&large_lock);
}

#if defined(HAKMEM_CHECKS)
struct page_walk {
	void (*fn)(uint8_t *base, void *arg);
	void *arg;
};

static void each_page(uint8_t *base, size_t bytes, void *arg)
{
	struct page_walk *w = arg;
	for (size_t off = 0; off < bytes; off += HAK_PAGE)
		w->fn(base + off, w->arg);
}

void hak_large_foreach_cached(void (*fn)(uint8_t *base, void *arg), void *arg)
{
	struct page_walk w = {fn, arg};
	pthread_mutex_lock(&large_lock);
	hak_ph_foreach_resident(&heap, each_page, &w);
	pthread_mutex_unlock(&large_lock);
}
#endif

/* force: every free span is given back and every empty region unmapped. */
void hak_large_trim(int force)
{
	struct hak_ph_log log = {.n = 0};
	unsigned k;
	do {
		pthread_mutex_lock(&large_lock);
		if (force) {
			k = hak_ph_purge(&heap, hak_now_ns(), 0, 0, 1, &log);
			publish_oldest();
		} else {
			k = 0, maintain(&log);
		}
		pthread_mutex_unlock(&large_lock);
		log_emit(&log);
	} while (k);
}

void hak_large_fork_prepare(void)
{
	pthread_mutex_lock(&large_lock);
}
void hak_large_fork_parent(void)
{
	pthread_mutex_unlock(&large_lock);
}
void hak_large_fork_child(void)
{
	pthread_mutex_init(&large_lock, NULL);
}
