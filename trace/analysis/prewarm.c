/* HAKMEM_PREWARM as the traced process ran it. The prewarm runs before the
 * tracer loads, so its faults and SuperSlab maps are not in the trace; each
 * entry's hakmem:prewarm says what it did. Rule 1 (recommend.c) needs it to
 * recommend a total: the storms it sees are what the prewarm left. A trace
 * without the event (an older provider, or no prewarm) leaves nothing. */
#include "analysis.h"

void hk_prewarm_event(struct hk_proc *p, const struct hk_event *e)
{
	uint64_t k = e->f[PREWARM_CLASS];
	if (k >= HK_NUM_CLASSES || !e->f[PREWARM_SLABS]) return;
	struct hk_prewarm *w = &p->prewarm[k];
	if (!w->slabs) p->nprewarm++;
	/* Two entries of one class (1000:4,1039:2) prewarm it twice. */
	w->slabs += (uint32_t)e->f[PREWARM_SLABS];
	w->done += (uint32_t)e->f[PREWARM_DONE];
	w->pages += e->f[PREWARM_PAGES];
	w->block_size = (uint32_t)e->f[PREWARM_BLOCK_SIZE];
	w->pool = hk_event_pool(e);
}
