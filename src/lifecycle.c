#include "lifecycle.h"
#include "hakmem.h"
#include "env.h"
#include "large.h"
#include "leaks.h"
#include "log.h"
#include "pool.h"
#include "quarantine.h"
#include "ptr_track.h"
#include "registry.h"
#include "size_class.h"
#include "stats.h"
#include "tcache.h"
#include "trace_hooks.h"

#include <pthread.h>
#include <sched.h>

atomic_int hak_init_state;
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* Lock order: quarantines, ptr_track (depot, recent large), thread-cache list, pools (each pool,
 * then its slabs), large spans, registry. The child re-initialises rather than unlocks: the threads
 * that held nothing are gone, and so is any waiter. */
static void fork_prepare(void)
{
#if defined(HAKMEM_CHECKS)
	hak_quarantine_fork_prepare();
	hak_track_fork_prepare();
#endif
	hak_tcache_fork_prepare();
	hak_pools_lock_all();
	hak_large_fork_prepare();
	hak_registry_fork_prepare();
}

static void fork_parent(void)
{
	hak_registry_fork_parent();
	hak_large_fork_parent();
	hak_pools_unlock_all();
	hak_tcache_fork_parent();
#if defined(HAKMEM_CHECKS)
	hak_track_fork_parent();
	hak_quarantine_fork_parent();
#endif
}

static void fork_child(void)
{
#if defined(HAKMEM_TRACE_HOOKS)
	hak_trace_fork_child();
#endif
	hak_registry_fork_child();
	hak_large_fork_child();
	hak_pools_reinit_locks();
	hak_tcache_fork_child();
#if defined(HAKMEM_CHECKS)
	hak_track_fork_child();
	hak_quarantine_fork_child();
#endif
}

/* Each entry is traced (kept until the tracer loads): the report must know
 * what was prewarmed to recommend a total, not the slabs still missing. */
static void prewarm(void)
{
	for (unsigned i = 0; i < hak_env.nprewarm; i++) {
		unsigned cls = hak_size_class(hak_env.prewarm[i].size);
		unsigned slabs = hak_env.prewarm[i].slabs;
		uint64_t pages = 0;
		unsigned done = hak_pool_prewarm(cls, slabs, &pages);
		HAK_TRACE_PREWARM(cls, hak_class_pool(cls), (uint32_t)hak_class_usable(cls), slabs,
		                  done, pages);
		if (done < slabs)
			hak_log("hakmem: HAKMEM_PREWARM: mapped %u of %u slabs for %u-byte blocks "
			        "(out of memory); continuing without the rest\n",
			        done, slabs, hak_env.prewarm[i].size);
	}
}

void hak_init_slow(void)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&hak_init_state, &expected, 1)) {
		in_init = 1;
#if defined(HAKMEM_CHECKS)
		hak_check_hooks =
		    (struct hak_check_hooks){.thread_exit = hak_track_thread_exit,
		                             .large_reused = hak_large_check_reused_pages};
#endif
		hak_env_load();
#if defined(HAKMEM_CHECKS)
		hak_track_init_key();
#endif
		if (hak_env.smallmid) hak_smallmid_enable();
		hak_tcache_global_init();
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		prewarm();
		in_init = 0;
		atomic_store_explicit(&hak_init_state, 2, memory_order_release);
		return;
	}
	/* Our own set-up allocating: defaults are good enough for that. */
	if (in_init) return;
	while (atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2)
		sched_yield();
}

#if defined(HAKMEM_TRACE_HOOKS)
/* dlopen is safe here, after libc is up and outside any allocator lock;
 * it is not from inside the first malloc. */
__attribute__((constructor)) static void hak_ctor(void)
{
	hak_trace_start();
}
#endif

/* Full mode checks every freed block at exit, with or without
 * HAKMEM_CHECK_AT_EXIT: a write into a block still in a quarantine would
 * otherwise never be seen. */
__attribute__((destructor)) static void hak_at_exit(void)
{
	if (atomic_load(&hak_init_state) != 2) return;
#if defined(HAKMEM_CHECKS)
	if (hak_check_level == HAK_CHECK_FULL) hak_heap_check_freed("at exit", 1);
#endif
	if (hak_env.check_at_exit) {
		long bad = hak_heap_check();
		hak_log("hakmem: heap check at exit: %s (%ld problem%s)\n",
		        bad ? "FAILED" : "clean", bad, bad == 1 ? "" : "s");
	}
#if defined(HAKMEM_CHECKS)
	if (hak_env.leaks) hak_leaks_report();
#endif
	hak_stats_at_exit();
}
