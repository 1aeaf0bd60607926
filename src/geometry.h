/* The allocator's geometry, described once: pools, class-id ranges,
 * SuperSlab and slab sizes, header families and the pools' names.
 * libhakmem (src/), its tracepoint ABI (trace/hakmem_tp_abi.h: every
 * `pool` field is an enum hak_pool_kind) and the trace analysis
 * (trace/analysis) all include this header, so it needs nothing but
 * <stdint.h>. Class sizes are not here: Small-Mid changes which class a
 * request gets at run time, so the analysis reads each class's block size
 * and pool from the events. tests/unit/test_geometry.c holds the
 * allocator and the analysis to this one description. */
#ifndef HAKMEM_GEOMETRY_H
#define HAKMEM_GEOMETRY_H

#include <stdint.h>

#define HAK_PAGE 4096u

/* Tiny: 16 classes up to 1039 usable bytes, 2 MiB SuperSlabs of 64 KiB slabs. */
#define HAK_TINY_CLASSES 16
#define HAK_TINY_MAX 1039u
/* Mid: 16 classes for requests up to 32 KiB, 2 MiB SuperSlabs of 256 KiB
 * slabs (a 64 KiB slab would hold one 32 KiB block). */
#define HAK_MID_CLASSES 16
#define HAK_MID_MAX 32768u
/* Small-Mid (HAKMEM_SMALLMID=1): 256 B to 1 KiB in a pool of its own, 1 MiB
 * SuperSlabs of 16 slabs of 64 KiB. Off by default. */
#define HAK_SMALLMID_CLASSES 4
#define HAK_SMALLMID_FIRST (HAK_TINY_CLASSES + HAK_MID_CLASSES)
#define HAK_SMALLMID_MIN 256u
#define HAK_NUM_CLASSES (HAK_TINY_CLASSES + HAK_MID_CLASSES + HAK_SMALLMID_CLASSES)

#define HAK_SS_SHIFT_TINY 21
#define HAK_SLAB_SHIFT_TINY 16
#define HAK_SS_SHIFT_MID 21
#define HAK_SLAB_SHIFT_MID 18
#define HAK_SS_SHIFT_SMALLMID 20
#define HAK_SLAB_SHIFT_SMALLMID 16
#define HAK_MAX_SLABS_PER_SS 32

/* A live block's header byte is its pool's family | (class - class_first);
 * a freed one has HAK_HDR_FREED_BIT flipped (docs/architecture.md). */
#define HAK_HDR_TINY 0xa0u
#define HAK_HDR_MID 0x90u
#define HAK_HDR_SMALLMID 0xb0u
#define HAK_HDR_FREED_BIT 0x40u

/* HAKMEM_LARGE_CACHE_MB's default: -1, no limit on the freed large spans
 * the page heap keeps resident; the purge delay alone gives them back.
 * A fixed limit under a program's steady footprint gave spans back only
 * for the next allocations to fault them in again (docs/benchmarks.md,
 * "The large cache"). The trace analysis's rule 5 advises it, so both
 * read it from here. */
#define HAK_LARGE_CACHE_MB_DEFAULT (-1)

enum hak_pool_kind {
	HAK_POOL_TINY = 0,
	HAK_POOL_MID = 1,
	HAK_POOL_SMALLMID = 2,
	HAK_NUM_POOLS = 3
};

/* X(kind, name, class_first, class_count, ss_shift, slab_shift, hdr_live):
 * one row per pool. The name is what statistics, reports and their JSON
 * print. */
#define HAK_POOLS(X)                                                                               \
	X(HAK_POOL_TINY, "tiny", 0, HAK_TINY_CLASSES, HAK_SS_SHIFT_TINY, HAK_SLAB_SHIFT_TINY,      \
	  HAK_HDR_TINY)                                                                            \
	X(HAK_POOL_MID, "mid", HAK_TINY_CLASSES, HAK_MID_CLASSES, HAK_SS_SHIFT_MID,                \
	  HAK_SLAB_SHIFT_MID, HAK_HDR_MID)                                                         \
	X(HAK_POOL_SMALLMID, "small-mid", HAK_SMALLMID_FIRST, HAK_SMALLMID_CLASSES,                \
	  HAK_SS_SHIFT_SMALLMID, HAK_SLAB_SHIFT_SMALLMID, HAK_HDR_SMALLMID)

struct hak_pool_geometry {
	const char *name;
	uint8_t class_first, class_count;
	uint8_t ss_shift, slab_shift;
	uint8_t hdr_live;
};

#define HAK_POOL_GEOMETRY_ROW(k, nm, first, count, ssb, slb, hdr)                                  \
	[k] = {.name = nm,                                                                         \
	       .class_first = first,                                                               \
	       .class_count = count,                                                               \
	       .ss_shift = ssb,                                                                    \
	       .slab_shift = slb,                                                                  \
	       .hdr_live = hdr},

/* The row of pool, or NULL for a number that names no pool (a corrupt
 * or foreign trace). */
static inline const struct hak_pool_geometry *hak_pool_geom(uint32_t pool)
{
	static const struct hak_pool_geometry rows[HAK_NUM_POOLS] = {
	    HAK_POOLS(HAK_POOL_GEOMETRY_ROW)};
	return pool < HAK_NUM_POOLS ? &rows[pool] : 0;
}

static inline const char *hak_pool_name(uint32_t pool)
{
	const struct hak_pool_geometry *g = hak_pool_geom(pool);
	return g ? g->name : "unknown";
}

static inline uint64_t hak_pool_ss_bytes(uint32_t pool)
{
	const struct hak_pool_geometry *g = hak_pool_geom(pool);
	return g ? (uint64_t)1 << g->ss_shift : 0;
}

static inline uint64_t hak_pool_slab_bytes(uint32_t pool)
{
	const struct hak_pool_geometry *g = hak_pool_geom(pool);
	return g ? (uint64_t)1 << g->slab_shift : 0;
}

/* The classes are numbered Tiny, Mid, Small-Mid without gaps, and every
 * pool's SuperSlab header has room for all its slabs. */
_Static_assert(HAK_SMALLMID_FIRST + HAK_SMALLMID_CLASSES == HAK_NUM_CLASSES, "class ranges");
_Static_assert((1u << (HAK_SS_SHIFT_TINY - HAK_SLAB_SHIFT_TINY)) <= HAK_MAX_SLABS_PER_SS &&
                   (1u << (HAK_SS_SHIFT_MID - HAK_SLAB_SHIFT_MID)) <= HAK_MAX_SLABS_PER_SS &&
                   (1u << (HAK_SS_SHIFT_SMALLMID - HAK_SLAB_SHIFT_SMALLMID)) <=
                       HAK_MAX_SLABS_PER_SS,
               "slabs per SuperSlab");

#endif
