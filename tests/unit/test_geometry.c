/* One geometry (src/geometry.h) for the allocator and the trace analysis.
 * The allocator's side is what it really does: the pools it runs, the
 * SuperSlabs it maps, the headers it writes and the names its statistics
 * print. The analysis's side is trace/analysis/pools.c, compiled into
 * this program: the slab and SuperSlab sizes it costs advice with and the
 * names its reports print, for the pool each event names. Either side
 * drifting from the description, or from the other, fails here. */
#include "pool_util.h"
#include "env.h"
#include "lifecycle.h"

#include "analysis.h"

/* Every pool the allocator runs is the geometry's row for it. */
static void pools_are_the_geometry(void **state)
{
	(void)state;
	unsigned classes = 0;
	for (uint32_t k = 0; k < HAK_NUM_POOLS; k++) {
		const struct hak_pool_geometry *g = hak_pool_geom(k);
		const struct hak_pool *pl = &hak_pools[k];
		assert_non_null(g);
		assert_int_equal(pl->kind, k);
		assert_int_equal(pl->ss_shift, g->ss_shift);
		assert_int_equal(pl->slab_shift, g->slab_shift);
		assert_int_equal(pl->class_first, g->class_first);
		assert_int_equal(pl->class_count, g->class_count);
		assert_true(g->class_count <= sizeof pl->partial / sizeof pl->partial[0]);
		classes += g->class_count;
	}
	assert_int_equal(classes, HAK_NUM_CLASSES);
	assert_null(hak_pool_geom(HAK_NUM_POOLS));
	assert_string_equal(hak_pool_name(HAK_NUM_POOLS), "unknown");
}

/* Each class belongs to the pool whose range holds it, and its header
 * byte is that pool's family. */
static void classes_and_headers_follow_the_pools(void **state)
{
	(void)state;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		uint32_t k = hak_class_pool(c);
		const struct hak_pool_geometry *g = hak_pool_geom(k);
		assert_non_null(g);
		assert_true(c >= g->class_first && c < g->class_first + g->class_count);
		assert_int_equal(hak_hdr_live(c), g->hdr_live | (c - g->class_first));
		assert_int_equal(hak_hdr_freed(c), hak_hdr_live(c) ^ HAK_HDR_FREED_BIT);
		assert_int_equal(hak_hdr_class[hak_hdr_live(c)], c);
	}
}

/* The SuperSlabs the allocator maps, one class of each pool: their size,
 * slab count and slab pages are what the analysis uses for the pool the
 * events name (ss->pool is what superslab_mmap and refill carry). */
static void analysis_sizes_are_the_mapped_ones(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < HAK_NUM_POOLS; k++) {
		const struct hak_pool_geometry *g = hak_pool_geom(k);
		for (unsigned c = g->class_first; c < g->class_first + g->class_count; c++) {
			struct hak_slab *s = acquire(c);
			struct hak_superslab *ss = hak_slab_ss(s);
			assert_int_equal(ss->pool, k);
			assert_int_equal(ss->size, hak_pool_ss_bytes(k));
			assert_int_equal(hak_ss_slab_size(ss) / HAK_PAGE, hk_pages_per_slab(k));
			assert_int_equal(ss->nslabs, hk_slabs_per_ss(k, ss->size));
			/* superslab_reuse carries no size: the pool's own */
			assert_int_equal(ss->nslabs, hk_slabs_per_ss(k, 0));
			hak_pool_release(s);
		}
	}
	/* A pool the geometry does not know gets no slab size to cost with. */
	assert_int_equal(hk_pages_per_slab(HK_POOL_UNKNOWN), 0);
	assert_int_equal(hk_slabs_per_ss(HK_POOL_UNKNOWN, 0), 1);
}

/* HAKMEM_STATS names each class's pool as the reports do. */
static void stats_and_reports_name_pools_alike(void **state)
{
	(void)state;
	struct hak_slab *held[HAK_NUM_POOLS];
	for (uint32_t k = 0; k < HAK_NUM_POOLS; k++)
		held[k] = acquire(hak_pool_geom(k)->class_first);
	int fds[2];
	static char buf[65536];
	assert_int_equal(pipe(fds), 0);
	hak_stats_print(fds[1]);
	close(fds[1]);
	read_pipe(fds[0], buf, sizeof buf);
	close(fds[0]);
	unsigned seen = 0;
	for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		char name[32];
		unsigned c;
		if (sscanf(line + 1, "%31s %u", name, &c) != 2 || c >= HAK_NUM_CLASSES) continue;
		uint32_t k = hak_class_pool(c);
		assert_string_equal(name, hk_pool_name(k));
		seen |= 1u << k;
	}
	assert_int_equal(seen, (1u << HAK_NUM_POOLS) - 1);
	for (uint32_t k = 0; k < HAK_NUM_POOLS; k++)
		hak_pool_release(held[k]);
	assert_string_equal(hk_pool_name(HAK_POOL_SMALLMID), "small-mid");
}

/* The analysis reads the pool field of the event, whatever its class
 * number says; a number the geometry does not know is no pool. */
static void the_pool_is_the_events(void **state)
{
	(void)state;
	static const struct {
		enum hk_evtype type;
		int slot;
	} carriers[] = {
	    {HK_EV_SS_MMAP, MMAP_POOL},     {HK_EV_SS_MUNMAP, MUNMAP_POOL},
	    {HK_EV_SS_REUSE, SSREUSE_POOL}, {HK_EV_REFILL, REFILL_POOL},
	    {HK_EV_SLAB_EMPTY, EMPTY_POOL}, {HK_EV_SLAB_REUSE, SREUSE_POOL},
	    {HK_EV_SLAB_PURGE, PURGE_POOL},
	};
	for (size_t i = 0; i < sizeof carriers / sizeof carriers[0]; i++)
		for (uint64_t pool = 0; pool <= HK_NUM_POOLS + 1; pool++) {
			struct hk_event e = {.type = carriers[i].type};
			e.f[carriers[i].slot] = pool;
			assert_int_equal(hk_event_pool(&e),
			                 pool < HK_NUM_POOLS ? pool : HK_POOL_UNKNOWN);
		}
	/* Class 35 is Small-Mid's last; a refill naming Mid is Mid's. */
	struct hk_event r = {.type = HK_EV_REFILL};
	r.f[REFILL_CLASS] = HAK_NUM_CLASSES - 1;
	r.f[REFILL_POOL] = HAK_POOL_MID;
	assert_int_equal(hk_event_pool(&r), HAK_POOL_MID);
	struct hk_event big = {.type = HK_EV_SLAB_PURGE};
	big.f[PURGE_POOL] = (1ull << 32) + HAK_POOL_TINY; /* no truncation to a valid pool */
	assert_int_equal(hk_event_pool(&big), HK_POOL_UNKNOWN);
	struct hk_event none = {.type = HK_EV_LARGE_MMAP};
	assert_int_equal(hk_event_pool(&none), HK_POOL_UNKNOWN);
}

/* HAKMEM_LARGE_CACHE_MB's default is the geometry's, which rule 5 of the
 * analysis (trace/analysis/recommend.c) builds its advice on. */
static void large_cache_default_is_the_geometry(void **state)
{
	(void)state;
	assert_null(getenv("HAKMEM_LARGE_CACHE_MB"));
	hak_init();
	assert_int_equal(hak_env.large_cache_mb, HAK_LARGE_CACHE_MB_DEFAULT);
}

int main(void)
{
	hak_env.purge_delay_ms = -1; /* nothing purged or unmapped behind the test's back */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pools_are_the_geometry),
	    cmocka_unit_test(classes_and_headers_follow_the_pools),
	    cmocka_unit_test(analysis_sizes_are_the_mapped_ones),
	    cmocka_unit_test(stats_and_reports_name_pools_alike),
	    cmocka_unit_test(the_pool_is_the_events),
	    cmocka_unit_test(large_cache_default_is_the_geometry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
