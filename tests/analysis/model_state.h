/* The analysis's state as the model tests build it: the report's default
 * storm and churn parameters, and a static trace the state must not free. */
#ifndef HAKMEM_TEST_MODEL_STATE_H
#define HAKMEM_TEST_MODEL_STATE_H

#include "analysis.h"

static struct hk_trace trace = {.host = "h", .name = "t"};

static inline struct hk_state *new_state(void)
{
	struct hk_state *st = hk_state_new();
	st->params.storm_window_ns = 10 * 1000000ull;
	st->params.storm_threshold = 4.0;
	st->params.storm_min_faults = 256;
	st->params.churn_window_ns = 100 * 1000000ull;
	return st;
}

static inline void free_state(struct hk_state *st)
{
	st->traces = NULL; /* the static trace is not theirs to free */
	hk_state_free(st);
}

#endif
