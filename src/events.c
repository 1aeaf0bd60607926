#include "events.h"
#include "trace_hooks.h"

#if defined(HAKMEM_TRACE_HOOKS)
/* process_stats also goes out every this many SuperSlab maps, so a fault
 * storm shows up in the samples even without perf counters. */
#define STATS_EVERY_SS_MAPS 16

void hak_events_emit(struct hak_event_buf *b)
{
	static unsigned maps;
	if (!hak_tp) {
		b->n = 0;
		return;
	}
	for (unsigned i = 0; i < b->n; i++) {
		const struct hak_event *e = &b->ev[i];
		switch (e->type) {
		case HAK_EV_SS_MMAP:
			HAK_TP_EMIT(superslab_mmap, e->ss, e->size, e->pool, e->reason, e->ns);
			if (++maps % STATS_EVERY_SS_MAPS == 0)
				hak_trace_process_stats();
			break;
		case HAK_EV_SS_MUNMAP:
			HAK_TP_EMIT(superslab_munmap, e->ss, e->size, e->pool, e->reason);
			break;
		case HAK_EV_SS_REUSE:
			HAK_TP_EMIT(superslab_reuse, e->ss, e->pool);
			break;
		case HAK_EV_SLAB_EMPTY:
			HAK_TP_EMIT(slab_empty, e->ss, e->slab, e->old_class, e->pool);
			break;
		case HAK_EV_SLAB_REUSE:
			HAK_TP_EMIT(slab_reuse, e->ss, e->slab, e->old_class, e->new_class, e->pages, e->pool);
			break;
		case HAK_EV_SLAB_PURGE:
			HAK_TP_EMIT(slab_purge, e->ss, e->slab, e->pages, e->pool);
			break;
		}
	}
	b->n = 0;
}
#endif
