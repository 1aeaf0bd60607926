/* Event decoding: the only part of the analysis that reads babeltrace2
 * trace IR besides plugin.c. */
#ifndef HAKMEM_ANALYSIS_DECODE_H
#define HAKMEM_ANALYSIS_DECODE_H

#include "analysis.h"

#include <babeltrace2/babeltrace.h>

/* What we know about one event class: our type and where each payload
 * and common-context field sits (-1: absent). */
struct hk_ecls {
	const bt_event_class *ec; /* owned reference; NULL: empty slot */
	enum hk_evtype type;
	int has_clock;
	uint8_t nf;
	uint32_t absent; /* bit i: payload field i is not in the metadata */
	int16_t idx[HK_MAX_FIELDS];
	uint8_t kind[HK_MAX_FIELDS];
	int16_t ctx_idx[4]; /* vpid, vtid, procname, perf_thread_page_fault */
	uint8_t ctx_kind[4];
};

struct hk_decoder {
	struct hk_ecls *tab;
	size_t cap, n;
	const struct hk_ecls *last;
};

const struct hk_ecls *hk_decode_class(struct hk_decoder *d, const bt_event_class *ec);
/* Returns 1 and fills e for a hakmem event, 0 for any other event. */
int hk_decode(struct hk_decoder *d, const bt_message *msg, struct hk_event *e,
              const bt_stream **stream);
void hk_decoder_free(struct hk_decoder *d);

#endif
