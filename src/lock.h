/* Small locks. Slab locks are spin locks: they are held for a handful of
 * pointer moves, and one per slab must cost four bytes, not a mutex. */
#ifndef HAKMEM_LOCK_H
#define HAKMEM_LOCK_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

static inline void hak_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

typedef struct {
	atomic_int v;
} hak_spin_t;

static inline void hak_spin_lock(hak_spin_t *l)
{
	for (unsigned spins = 0;; spins++) {
		if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire)) return;
		while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
			/* On 2 cores the holder may be preempted: yield soon. */
			if (++spins > 64)
				sched_yield();
			else
				hak_cpu_relax();
		}
	}
}

static inline void hak_spin_unlock(hak_spin_t *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_release);
}
static inline void hak_spin_init(hak_spin_t *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}

#endif
