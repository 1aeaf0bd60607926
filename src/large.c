#include "large.h"
#include "check.h"
#include "env.h"
#include "events.h"
#include "os.h"
#include "size_class.h"
#include "stats_counters.h"
#include "trace_hooks.h"

#include <errno.h>
#include <pthread.h>
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

/* ---- cache of freed spans, resident, newest last ---- */

#define CACHE_SLOTS 64

struct cached_span {
	uint8_t *base;
	size_t size;
	uint64_t freed_ns;
};

static struct cached_span cache[CACHE_SLOTS];
static unsigned cache_n;
static size_t cache_bytes;

static void cache_remove(unsigned i)
{
	cache_bytes -= cache[i].size;
	for (; i + 1 < cache_n; i++)
		cache[i] = cache[i + 1];
	cache_n--;
}

/* Best fit, whatever the size: a resident span that is too big still
 * saves every fault a fresh mapping would take, and a block that later
 * grows by realloc then grows in place. The cache's byte limit bounds
 * what this can hold on to. */
static uint8_t *cache_take(size_t need, size_t *size)
{
	long best = -1;
	for (unsigned i = 0; i < cache_n; i++)
		if (cache[i].size >= need && (best < 0 || cache[i].size < cache[best].size))
			best = i;
	if (best < 0) return NULL;
	uint8_t *b = cache[best].base;
	*size = cache[best].size;
	cache_remove((unsigned)best);
	return b;
}

static void unmap_span(uint8_t *base, size_t size)
{
	HAK_TRACE_LARGE_MUNMAP((uint64_t)(uintptr_t)base, size);
	HAK_STAT_ADD(large_unmapped, 1);
	HAK_STAT_SUB(mapped_bytes, size);
	hak_os_unmap(base, size);
}

/* Evicts spans past the size limit or the purge delay; the caller unmaps
 * them after dropping the lock. */
static unsigned cache_evict(struct cached_span *out, uint64_t now, int force)
{
	unsigned n = 0;
	size_t limit = (size_t)hak_env.large_cache_mb << 20;
	long delay = hak_env.purge_delay_ms;
	while (cache_n && n < CACHE_SLOTS &&
	       (force || cache_bytes > limit ||
	        (delay >= 0 && now - cache[0].freed_ns >= (uint64_t)delay * 1000000u))) {
		out[n++] = cache[0];
		cache_remove(0);
	}
	return n;
}

/* ---- allocation ---- */

static void *place(uint8_t *base, size_t map_size, size_t n, size_t align)
{
	uint8_t *p = (uint8_t *)hak_align_up((uintptr_t)base + HAK_LARGE_HDR, align);
	struct hak_large_hdr *h = hak_large_hdr(p);
	h->magic = HAK_LARGE_MAGIC;
	h->base = base;
	h->map_size = map_size;
	h->requested = n;
	h->tag = HAK_HDR_LARGE;
	return p;
}

void *hak_large_alloc(size_t n, size_t align)
{
	if (align < HAK_LARGE_HDR) align = HAK_LARGE_HDR;
	size_t slack = align == HAK_LARGE_HDR ? HAK_LARGE_HDR : align + HAK_LARGE_HDR;
	if (n > SIZE_MAX - slack - HAK_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = hak_align_up(n + slack, HAK_PAGE);
	uint8_t *base = NULL;
	size_t size = need;

	if (align == HAK_LARGE_HDR) {
		pthread_mutex_lock(&large_lock);
		base = cache_take(need, &size);
		pthread_mutex_unlock(&large_lock);
		if (base) {
			HAK_STAT_ADD(large_reused, 1);
#if defined(HAKMEM_CHECKS)
			if (HAK_CHECKING_FULL()) hak_large_check_reused(base);
#endif
		}
	}
	if (!base) {
		base = hak_os_map(need);
		if (!base) return NULL;
		HAK_STAT_ADD(large_mapped, 1);
		HAK_STAT_ADD(mapped_bytes, need);
		HAK_TRACE_LARGE_MMAP((uint64_t)(uintptr_t)base, need, need / HAK_PAGE);
	}
	void *p = place(base, size, n, align);
	pthread_mutex_lock(&large_lock);
	int rc = table_add((uintptr_t)p);
	pthread_mutex_unlock(&large_lock);
	if (rc) {
		unmap_span(base, size);
		errno = ENOMEM;
		return NULL;
	}
	HAK_STAT_ADD(large_live, 1);
	HAK_STAT_ADD(large_live_bytes, size);
	return p;
}

void hak_large_free(void *p)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	uint8_t *base = h->base;
	size_t size = h->map_size;
	struct cached_span evicted[CACHE_SLOTS + 1];
	unsigned nevict = 0;

	pthread_mutex_lock(&large_lock);
	long i = table_find((uintptr_t)p);
	if (i >= 0) table_del(i);
	h->magic = 0;
	h->tag = 0;
	int cacheable =
	    size <= ((size_t)hak_env.large_cache_mb << 20) && (uint8_t *)p == base + HAK_LARGE_HDR;
	if (cacheable) {
		if (cache_n == CACHE_SLOTS) {
			evicted[nevict++] = cache[0];
			cache_remove(0);
		}
		cache[cache_n++] = (struct cached_span){base, size, hak_now_ns()};
		cache_bytes += size;
	}
	nevict += cache_evict(evicted + nevict, hak_now_ns(), 0);
	pthread_mutex_unlock(&large_lock);

	HAK_STAT_SUB(large_live, 1);
	HAK_STAT_SUB(large_live_bytes, size);
	if (!cacheable) unmap_span(base, size);
	for (unsigned k = 0; k < nevict; k++)
		unmap_span(evicted[k].base, evicted[k].size);
}

void *hak_large_resize(void *p, size_t n)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	size_t offset = (size_t)((uint8_t *)p - h->base);
	if (n > PTRDIFF_MAX || n > SIZE_MAX - offset - HAK_PAGE) return NULL;
	size_t need = hak_align_up(offset + n, HAK_PAGE);
	if (need <= h->map_size) {
		HAK_RELAXED_STORE(h->requested, n); /* the heap check reads it unlocked */
		return p;
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
	HAK_STAT_ADD(mapped_bytes, need - old);
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
void hak_large_foreach_cached(void (*fn)(uint8_t *base, void *arg), void *arg)
{
	pthread_mutex_lock(&large_lock);
	for (unsigned i = 0; i < cache_n; i++)
		fn(cache[i].base, arg);
	pthread_mutex_unlock(&large_lock);
}
#endif

void hak_large_trim(int force)
{
	struct cached_span evicted[CACHE_SLOTS];
	pthread_mutex_lock(&large_lock);
	unsigned n = cache_evict(evicted, hak_now_ns(), force);
	pthread_mutex_unlock(&large_lock);
	for (unsigned k = 0; k < n; k++)
		unmap_span(evicted[k].base, evicted[k].size);
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
