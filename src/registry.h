/* Which address ranges are SuperSlabs, answered without touching them.
 * A two-level radix over 1 MiB grains of the 47-bit user address space:
 * the root is static, leaves are mmap'd on first use and never freed, so
 * a lookup is two loads and never faults. */
#ifndef HAKMEM_REGISTRY_H
#define HAKMEM_REGISTRY_H

#include "config.h"

#include <stdatomic.h>

#define HAK_REG_ADDR_BITS 47
#define HAK_REG_LEAF_BITS 14
#define HAK_REG_ROOT_BITS (HAK_REG_ADDR_BITS - HAK_REG_GRAIN_SHIFT - HAK_REG_LEAF_BITS)

HAK_INTERNAL extern _Atomic(uint8_t *) hak_registry_root[1u << HAK_REG_ROOT_BITS];

/* Pool kind + 1 of the SuperSlab covering p, or 0. */
static inline __attribute__((always_inline)) unsigned hak_registry_kind(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	/* The root index tests the 47 bits too: one shift for both. */
	uintptr_t r = a >> (HAK_REG_GRAIN_SHIFT + HAK_REG_LEAF_BITS);
	if (HAK_UNLIKELY(r >= (1u << HAK_REG_ROOT_BITS))) return 0;
	uint8_t *leaf = atomic_load_explicit(&hak_registry_root[r], memory_order_acquire);
	if (!leaf) return 0;
	uintptr_t g = (a >> HAK_REG_GRAIN_SHIFT) & ((1u << HAK_REG_LEAF_BITS) - 1);
	return atomic_load_explicit((_Atomic uint8_t *)&leaf[g], memory_order_acquire);
}

/* Registers [base, base+size) as a SuperSlab of the pool kind. Returns -1
 * when a leaf cannot be mapped. */
HAK_INTERNAL int hak_registry_add(void *base, size_t size, unsigned kind);
HAK_INTERNAL void hak_registry_remove(void *base, size_t size);

/* fork (lifecycle.c): the leaf lock is held across fork, and remade in the child. */
HAK_INTERNAL void hak_registry_fork_prepare(void);
HAK_INTERNAL void hak_registry_fork_parent(void);
HAK_INTERNAL void hak_registry_fork_child(void);

#endif
