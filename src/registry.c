#include "registry.h"
#include "os.h"

#include <pthread.h>

_Atomic(uint8_t *) hak_registry_root[1u << HAK_REG_ROOT_BITS];
static pthread_mutex_t leaf_lock = PTHREAD_MUTEX_INITIALIZER;

static uint8_t *leaf_for(uintptr_t grain)
{
	_Atomic(uint8_t *) *slot = &hak_registry_root[grain >> HAK_REG_LEAF_BITS];
	uint8_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
	if (leaf) return leaf;
	pthread_mutex_lock(&leaf_lock);
	leaf = atomic_load_explicit(slot, memory_order_relaxed);
	if (!leaf) {
		leaf = hak_os_map(1u << HAK_REG_LEAF_BITS);
		if (leaf) atomic_store_explicit(slot, leaf, memory_order_release);
	}
	pthread_mutex_unlock(&leaf_lock);
	return leaf;
}

static void set_range(void *base, size_t size, uint8_t v)
{
	uintptr_t first = (uintptr_t)base >> HAK_REG_GRAIN_SHIFT;
	uintptr_t last = ((uintptr_t)base + size - 1) >> HAK_REG_GRAIN_SHIFT;
	for (uintptr_t g = first; g <= last; g++) {
		uint8_t *leaf = atomic_load_explicit(&hak_registry_root[g >> HAK_REG_LEAF_BITS],
		                                     memory_order_acquire);
		atomic_store_explicit((_Atomic uint8_t *)&leaf[g & ((1u << HAK_REG_LEAF_BITS) - 1)],
		                      v, memory_order_release);
	}
}

int hak_registry_add(void *base, size_t size, unsigned kind)
{
	if ((uintptr_t)base + size > (1ull << HAK_REG_ADDR_BITS)) return -1;
	uintptr_t first = (uintptr_t)base >> HAK_REG_GRAIN_SHIFT;
	uintptr_t last = ((uintptr_t)base + size - 1) >> HAK_REG_GRAIN_SHIFT;
	for (uintptr_t g = first; g <= last; g++)
		if (!leaf_for(g)) return -1;
	set_range(base, size, (uint8_t)(kind + 1));
	return 0;
}

void hak_registry_remove(void *base, size_t size)
{
	set_range(base, size, 0);
}

/* fork: the leaf lock must not be held across fork by another thread. */
HAK_INTERNAL void hak_registry_fork_prepare(void)
{
	pthread_mutex_lock(&leaf_lock);
}
HAK_INTERNAL void hak_registry_fork_parent(void)
{
	pthread_mutex_unlock(&leaf_lock);
}
HAK_INTERNAL void hak_registry_fork_child(void)
{
	pthread_mutex_init(&leaf_lock, NULL);
}
