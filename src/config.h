/* Compile-time settings of the allocator. The geometry (pools, classes,
 * SuperSlab and slab sizes, header families) is in geometry.h. */
#ifndef HAKMEM_CONFIG_H
#define HAKMEM_CONFIG_H

#include "geometry.h"

#include <stddef.h>
#include <stdint.h>

/* Fields that ptr_track, the heap check and the statistics read without
 * the lock their writer holds, on purpose (a block's header byte, a slab's
 * carved count and state, a large block's request): relaxed atomics, the
 * same plain mov on x86-64, and no data race in the C11 sense. */
#define HAK_RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define HAK_RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define HAK_ALIGN 16u

/* The registry resolves addresses at the smallest SuperSlab size (1 MiB,
 * Small-Mid's), so every pool can register into it. */
#define HAK_REG_GRAIN_SHIFT 20

/* Large blocks: metadata in the 64 bytes before the user pointer. */
#define HAK_LARGE_HDR 64u

#define HAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HAK_INTERNAL __attribute__((visibility("hidden")))
#define HAK_API __attribute__((visibility("default")))

static inline uintptr_t hak_align_up(uintptr_t x, uintptr_t a)
{
	return (x + a - 1) & ~(a - 1);
}

#endif
