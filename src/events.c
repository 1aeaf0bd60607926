#include "events.h"
#include "trace_hooks.h"

#if defined(HAKMEM_TRACE_HOOKS)
void hak_events_emit(struct hak_event_buf *b)
{
	if (hak_tp)
		for (unsigned i = 0; i < b->n; i++)
			hak_trace_emit(&b->ev[i]);
	b->n = 0;
}
#endif
