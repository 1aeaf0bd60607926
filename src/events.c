#include "events.h"
#include "trace_hooks.h"

#if defined(HAKMEM_TRACE_HOOKS)
void hak_events_emit(struct hak_event_buf *b)
{
	for (unsigned i = 0; i < b->n; i++)
		HAK_TRACE_POOL_EVENT(&b->ev[i]);
	b->n = 0;
}
#endif
