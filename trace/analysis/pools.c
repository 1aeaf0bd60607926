/* The pools as the analysis sees them: every SuperSlab and slab event
 * names its pool, and the allocator's geometry (src/geometry.h, the same
 * header libhakmem is built from) gives that pool's name and sizes.
 * tests/unit/test_geometry.c checks these answers against SuperSlabs the
 * allocator really maps. */
#include "analysis.h"

uint32_t hk_event_pool(const struct hk_event *e)
{
	int slot;
	switch (e->type) {
	case HK_EV_SS_MMAP:
		slot = MMAP_POOL;
		break;
	case HK_EV_SS_MUNMAP:
		slot = MUNMAP_POOL;
		break;
	case HK_EV_SS_REUSE:
		slot = SSREUSE_POOL;
		break;
	case HK_EV_REFILL:
		slot = REFILL_POOL;
		break;
	case HK_EV_SLAB_EMPTY:
		slot = EMPTY_POOL;
		break;
	case HK_EV_SLAB_REUSE:
		slot = SREUSE_POOL;
		break;
	case HK_EV_SLAB_PURGE:
		slot = PURGE_POOL;
		break;
	case HK_EV_PREWARM:
		slot = PREWARM_POOL;
		break;
	default:
		return HK_POOL_UNKNOWN;
	}
	return e->f[slot] < HK_NUM_POOLS ? (uint32_t)e->f[slot] : HK_POOL_UNKNOWN;
}

const char *hk_pool_name(uint32_t pool)
{
	return hak_pool_name(pool);
}

uint64_t hk_pages_per_slab(uint32_t pool)
{
	return hak_pool_slab_bytes(pool) / HK_PAGE;
}

uint32_t hk_slabs_per_ss(uint32_t pool, uint64_t ss_bytes)
{
	uint64_t slab = hak_pool_slab_bytes(pool);
	if (!ss_bytes) ss_bytes = hak_pool_ss_bytes(pool);
	uint64_t n = slab ? ss_bytes / slab : 0;
	return n > HK_SLABS_MAX ? HK_SLABS_MAX : n ? (uint32_t)n : 1;
}
