/* Compile-time geometry of the allocator. Everything a reader needs to
 * picture a SuperSlab is here. */
#ifndef HAKMEM_CONFIG_H
#define HAKMEM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Fields that ptr_track, the heap check and the statistics read without
 * the lock their writer holds, on purpose (a block's header byte, a slab's
 * carved count and state, a large block's request): relaxed atomics, the
 * same plain mov on x86-64, and no data race in the C11 sense. */
#define HAK_RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define HAK_RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define HAK_PAGE 4096u
#define HAK_ALIGN 16u

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

/* The registry resolves addresses at the smallest SuperSlab size (1 MiB,
 * Small-Mid's), so every pool can register into it. */
#define HAK_REG_GRAIN_SHIFT 20

/* Large blocks: metadata in the 64 bytes before the user pointer. */
#define HAK_LARGE_HDR 64u

enum hak_pool_kind {
	HAK_POOL_TINY = 0,
	HAK_POOL_MID = 1,
	HAK_POOL_SMALLMID = 2,
	HAK_NUM_POOLS = 3
};

#define HAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HAK_INTERNAL __attribute__((visibility("hidden")))
#define HAK_API __attribute__((visibility("default")))

static inline uintptr_t hak_align_up(uintptr_t x, uintptr_t a)
{
	return (x + a - 1) & ~(a - 1);
}

#endif
