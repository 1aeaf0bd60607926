/* Process life: lazy start-up, fork, exit. */
#ifndef HAKMEM_LIFECYCLE_H
#define HAKMEM_LIFECYCLE_H

#include "config.h"
#include <stdatomic.h>

HAK_INTERNAL extern atomic_int hak_init_state; /* 0 none, 1 running, 2 done */
HAK_INTERNAL void hak_init_slow(void);

/* Safe before any constructor has run: everything is static or mmap'd. */
static inline void hak_init(void)
{
	if (HAK_LIKELY(atomic_load_explicit(&hak_init_state, memory_order_acquire) == 2)) return;
	hak_init_slow();
}

#endif
