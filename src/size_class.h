/* Size classes and the one-byte block header.
 *
 * Class ids: 0..15 Tiny (header 0xa0|c), 16..31 Mid (0x90|c-16),
 * 32..35 Small-Mid (0xb0|c-32). A block's header sits at p-1, in the
 * last byte of the previous block's stride, so usable = stride - 1 and
 * every user pointer stays 16-aligned. Freed blocks carry live ^ 0x40,
 * so a double free is visible in O(1). All header values are >= 0x80:
 * neither NUL nor printable ASCII, which is what string overflows write. */
#ifndef HAKMEM_SIZE_CLASS_H
#define HAKMEM_SIZE_CLASS_H

#include "config.h"

/* The pools' header families and the freed bit are in geometry.h. */
#define HAK_HDR_LARGE 0x8eu   /* large span; metadata just below */
#define HAK_HDR_ALIGNED 0x8fu /* aligned pointer inside a slab block */
#define HAK_NO_CLASS 0xffu

/* An aligned pointer p inside a slab block b has p[-1] == HAK_HDR_ALIGNED
 * and the word at p-16 equal to b ^ HAK_ALIGNED_KEY, so a stray 0x8f byte
 * in user data is never taken for one. */
#define HAK_ALIGNED_KEY ((uintptr_t)0x5a17ed0b10c4e7a1ull)

HAK_INTERNAL extern uint8_t hak_tiny_index[66]; /* rewritten once by hak_smallmid_enable() */
HAK_INTERNAL extern const uint8_t hak_mid_index[129];
HAK_INTERNAL extern const uint8_t hak_hdr_class[256];
HAK_INTERNAL extern const uint32_t hak_class_stride[HAK_NUM_CLASSES];

static inline unsigned hak_tiny_class(size_t n)
{
	/* Relaxed: another thread's first malloc may rewrite the table (Small-Mid
	 * on) while this one reads it; either byte is a valid class. */
	return HAK_RELAXED_LOAD(hak_tiny_index[(n + 16) >> 4]);
}

/* Any size served from slabs; HAK_NO_CLASS for large. */
static inline unsigned hak_size_class(size_t n)
{
	if (HAK_LIKELY(n <= HAK_TINY_MAX)) return hak_tiny_class(n);
	if (n <= HAK_MID_MAX) return hak_mid_index[(n + 255) >> 8];
	return HAK_NO_CLASS;
}

static inline unsigned hak_class_pool(unsigned c)
{
	return c < HAK_TINY_CLASSES     ? HAK_POOL_TINY
	       : c < HAK_SMALLMID_FIRST ? HAK_POOL_MID
	                                : HAK_POOL_SMALLMID;
}
static inline size_t hak_class_usable(unsigned c)
{
	return hak_class_stride[c] - 1;
}

static inline uint8_t hak_hdr_live(unsigned c)
{
	if (c < HAK_TINY_CLASSES) return (uint8_t)(HAK_HDR_TINY | c);
	if (c < HAK_SMALLMID_FIRST) return (uint8_t)(HAK_HDR_MID | (c - HAK_TINY_CLASSES));
	return (uint8_t)(HAK_HDR_SMALLMID | (c - HAK_SMALLMID_FIRST));
}
static inline uint8_t hak_hdr_freed(unsigned c)
{
	return hak_hdr_live(c) ^ HAK_HDR_FREED_BIT;
}

/* hak_hdr_live of each class, and 0x100, which no header byte equals, for
 * any other number (HAK_NO_CLASS: a free slab): one compare for both. */
#define LIVE4(c, hdr) [c] = (hdr), [c + 1] = (hdr) + 1, [c + 2] = (hdr) + 2, [c + 3] = (hdr) + 3
#define LIVE16(c, hdr)                                                                             \
	LIVE4(c, hdr), LIVE4(c + 4, hdr + 4), LIVE4(c + 8, hdr + 8), LIVE4(c + 12, hdr + 12)
static const uint16_t hak_live_header[256] = {
    LIVE16(0, HAK_HDR_TINY), LIVE16(HAK_TINY_CLASSES, HAK_HDR_MID),
    LIVE4(HAK_SMALLMID_FIRST, HAK_HDR_SMALLMID), [HAK_NUM_CLASSES... 255] = 0x100};
/* hak_hdr_freed of each class: the checked pop's one compare. */
static const uint8_t hak_freed_header[HAK_NUM_CLASSES] = {
    LIVE16(0, (HAK_HDR_TINY ^ HAK_HDR_FREED_BIT)),
    LIVE16(HAK_TINY_CLASSES, (HAK_HDR_MID ^ HAK_HDR_FREED_BIT)),
    LIVE4(HAK_SMALLMID_FIRST, (HAK_HDR_SMALLMID ^ HAK_HDR_FREED_BIT))};
#undef LIVE4
#undef LIVE16
_Static_assert(HAK_TINY_CLASSES == 16 && HAK_MID_CLASSES == 16 && HAK_SMALLMID_CLASSES == 4,
               "hak_live_header lists 16 Tiny, 16 Mid and 4 Small-Mid classes");

/* Thread-cache sizes are budgets in bytes, turned into block counts per
 * class (docs/architecture.md, "Thread cache bins"): the nearest whole
 * number of blocks to `bytes`, clamped to [lo, hi]. */
static inline uint32_t hak_blocks_in(uint32_t bytes, uint32_t stride, uint32_t lo, uint32_t hi)
{
	uint32_t n = (bytes + stride / 2) / stride;
	return n < lo ? lo : n > hi ? hi : n;
}

/* A refill moves about 64 KiB: 16 blocks up to 4 KiB, 4 of 16 KiB, never
 * fewer than 2; two batches always fit in one slab, so a refill does not
 * pin a whole slab. */
#define HAK_REFILL_BYTES (64u << 10)
#define HAK_REFILL_MIN_BLOCKS 2u
#define HAK_REFILL_MAX_BLOCKS 16u
HAK_INTERNAL unsigned hak_class_batch(unsigned c);

/* Routes 256..1039-byte requests to the Small-Mid classes. Called once, at
 * start-up, before the first refill: the fast path reads the same size
 * table either way, so the layer costs nothing when it is off. */
HAK_INTERNAL void hak_smallmid_enable(void);
HAK_INTERNAL extern int hak_smallmid_enabled;

#endif
