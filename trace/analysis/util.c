/* Containers and helpers shared by the analyses. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

void *hk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		/* The graph cannot recover from a half-updated state; say why. */
		fputs("sink.hakmem.report: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *hk_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q) {
		fputs("sink.hakmem.report: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *hk_xstrdup(const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *d = hk_xcalloc(1, n);
	memcpy(d, s ? s : "", n);
	return d;
}

void hk_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need < *cap) return;
	size_t nc = *cap ? *cap : 8;
	while (nc <= need)
		nc *= 2;
	*arr = hk_xrealloc(*arr, nc * elem);
	memset((char *)*arr + *cap * elem, 0, (nc - *cap) * elem);
	*cap = nc;
}

int hk_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- hash map ---- */

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: SuperSlab addresses share their low 21 bits. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

void *hk_map_get(const struct hk_map *m, uint64_t key)
{
	if (!m->cap) return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->used[i]) return NULL;
		if (m->keys[i] == key) return m->vals[i];
	}
}

static void map_resize(struct hk_map *m, size_t cap)
{
	struct hk_map n = {.keys = hk_xcalloc(cap, sizeof(uint64_t)),
	                   .vals = hk_xcalloc(cap, sizeof(void *)),
	                   .used = hk_xcalloc(cap, 1),
	                   .cap = cap};
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i]) hk_map_put(&n, m->keys[i], m->vals[i]);
	hk_map_free(m);
	*m = n;
}

int hk_map_put(struct hk_map *m, uint64_t key, void *val)
{
	if ((m->n + 1) * 4 > m->cap * 3) map_resize(m, m->cap ? m->cap * 2 : 16);
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->used[i]) {
			m->used[i] = 1;
			m->keys[i] = key;
			m->vals[i] = val;
			m->n++;
			return 1;
		}
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
}

void *hk_map_remove(struct hk_map *m, uint64_t key)
{
	if (!m->cap) return NULL;
	size_t mask = m->cap - 1, i = slot_of(key, m->cap);
	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	if (!m->used[i]) return NULL;
	void *val = m->vals[i];
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->used[j]) break;
		size_t home = slot_of(m->keys[j], m->cap);
		int movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->used[i] = 0;
	m->n--;
	return val;
}

void hk_map_free(struct hk_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof *m);
}

/* ---- log histogram ---- */

static unsigned hist_bucket(uint64_t v)
{
	if (v < HK_HIST_SUB) return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - 4; /* HK_HIST_SUB == 16 == 1 << 4 */
	unsigned sub = (unsigned)(v >> shift) & (HK_HIST_SUB - 1);
	return (shift + 1) * HK_HIST_SUB + sub;
}

static uint64_t hist_value(unsigned b)
{
	if (b < HK_HIST_SUB) return b;
	unsigned shift = b / HK_HIST_SUB - 1, sub = b % HK_HIST_SUB;
	/* midpoint of the bucket */
	return ((uint64_t)(HK_HIST_SUB + sub) << shift) + ((1ull << shift) >> 1);
}

void hk_hist_add(struct hk_hist *h, uint64_t v)
{
	if (!h->n || v < h->min) h->min = v;
	if (v > h->max) h->max = v;
	h->n++;
	unsigned b = hist_bucket(v);
	if (b < HK_HIST_BUCKETS) h->b[b]++;
}

void hk_hist_add_n(struct hk_hist *h, uint64_t v, uint32_t n)
{
	if (!n) return;
	hk_hist_add(h, v);
	h->n += n - 1;
	unsigned b = hist_bucket(v);
	if (b < HK_HIST_BUCKETS) h->b[b] += n - 1;
}

uint64_t hk_hist_quantile(const struct hk_hist *h, double q)
{
	if (!h->n) return 0;
	uint64_t want = (uint64_t)(q * (double)(h->n - 1)) + 1, seen = 0;
	for (unsigned b = 0; b < HK_HIST_BUCKETS; b++) {
		seen += h->b[b];
		if (seen >= want) {
			uint64_t v = hist_value(b);
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double hk_hist_cdf(const struct hk_hist *h, uint64_t v)
{
	if (!h->n) return 0;
	if (v >= h->max) return 1;
	uint64_t seen = 0;
	unsigned last = hist_bucket(v);
	for (unsigned b = 0; b <= last && b < HK_HIST_BUCKETS; b++)
		seen += h->b[b];
	return (double)seen / (double)h->n;
}
