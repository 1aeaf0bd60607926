/* The babeltrace2 plugin `hakmem` and its sink component class
 * `report`: a simple sink with one input port. Life cycle:
 *   initialize          parse parameters, open the output, add port "in"
 *   graph_is_configured create the upstream message iterator
 *   consume             feed each batch of messages to the analyses;
 *                       at the end, write the report
 *   finalize            write a partial report if the graph stopped early
 *                       (interrupted), release everything */
#include "analysis.h"
#include "callsite.h"
#include "decode.h"

#include <babeltrace2/babeltrace.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hk_sink {
	bt_self_component *self;
	bt_message_iterator *iter;
	struct hk_state *st;
	struct hk_decoder dec;
	FILE *out;
	int written;
};

static int write_report(struct hk_sink *s)
{
	s->written = 1;
	hk_state_finish(s->st);
	if (s->st->params.format == HK_FORMAT_JSON)
		hk_output_json(s->st, s->out);
	else
		hk_output_text(s->st, s->out);
	if (fflush(s->out) || ferror(s->out)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write the report to %s: %s",
		    s->st->params.path ? s->st->params.path : "stdout", strerror(errno));
		return -1;
	}
	return 0;
}

static void sink_free(struct hk_sink *s)
{
	if (!s) return;
	bt_message_iterator_put_ref(s->iter);
	hk_decoder_free(&s->dec);
	if (s->out && s->out != stdout) fclose(s->out);
	hk_state_free(s->st);
	free(s);
}

static bt_component_class_initialize_method_status
report_initialize(bt_self_component_sink *self_sink, bt_self_component_sink_configuration *config,
                  const bt_value *params, void *init_data)
{
	(void)config;
	(void)init_data;
	struct hk_sink *s = hk_xcalloc(1, sizeof *s);
	char err[512];
	s->self = bt_self_component_sink_as_self_component(self_sink);
	s->st = hk_state_new();
	if (hk_params_parse(params, &s->st->params, err, sizeof err)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(s->self, "%s", err);
		goto fail;
	}
	/* Open now: a bad path fails before the trace is read, not after. */
	if (s->st->params.path) {
		s->out = fopen(s->st->params.path, "w");
		if (!s->out) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self, "parameter `path`: cannot open \"%s\" for writing: %s",
			    s->st->params.path, strerror(errno));
			goto fail;
		}
	} else {
		s->out = stdout;
	}
	if (bt_self_component_sink_add_input_port(self_sink, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(s->self,
		                                                    "cannot add the input port");
		goto fail;
	}
	bt_self_component_set_data(s->self, s);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
fail:
	sink_free(s);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
}

static bt_component_class_sink_graph_is_configured_method_status
report_graph_is_configured(bt_self_component_sink *self_sink)
{
	struct hk_sink *s =
	    bt_self_component_get_data(bt_self_component_sink_as_self_component(self_sink));
	bt_self_component_port_input *port =
	    bt_self_component_sink_borrow_input_port_by_index(self_sink, 0);
	if (bt_message_iterator_create_from_sink_component(self_sink, port, &s->iter) !=
	    BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot create the upstream message iterator");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

static void on_message(struct hk_sink *s, const bt_message *msg)
{
	struct hk_state *st = s->st;
	const bt_stream *stream;
	struct hk_trace *tr;
	struct hk_event e;
	uint64_t count;

	switch (bt_message_get_type(msg)) {
	case BT_MESSAGE_TYPE_EVENT:
		if (hk_decode(&s->dec, msg, &e, &stream)) {
			tr = hk_state_trace(st, bt_stream_borrow_trace_const(stream));
			if (!e.has_vpid && tr->has_env_vpid) {
				e.vpid = tr->env_vpid;
				e.has_vpid = 1;
			}
			if (!e.procname) e.procname = tr->env_procname;
			hk_dispatch(st, tr, &e);
		} else if (!hk_cs_event(st, msg)) {
			st->foreign_events++;
		}
		break;
	case BT_MESSAGE_TYPE_STREAM_BEGINNING:
		stream = bt_message_stream_beginning_borrow_stream_const(msg);
		tr = hk_state_trace(st, bt_stream_borrow_trace_const(stream));
		/* src.ctf.fs names streams by file path; others (lttng-live) may
		 * not: fall back to the trace's name */
		if (bt_stream_get_name(stream))
			hk_state_add_path(st, bt_stream_get_name(stream), 1);
		else
			hk_state_add_path(st, tr->name, 0);
		break;
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
		tr = hk_state_trace(st, bt_stream_borrow_trace_const(
		                            bt_message_discarded_events_borrow_stream_const(msg)));
		if (bt_message_discarded_events_get_count(msg, &count) ==
		    BT_PROPERTY_AVAILABILITY_AVAILABLE) {
			st->lost += count;
			tr->lost += count;
		} else {
			st->lost_unknown_msgs++;
			tr->lost_unknown++;
		}
		break;
	}
	default:
		break;
	}
}

static bt_component_class_sink_consume_method_status
report_consume(bt_self_component_sink *self_sink)
{
	struct hk_sink *s =
	    bt_self_component_get_data(bt_self_component_sink_as_self_component(self_sink));
	bt_message_array_const msgs;
	uint64_t count;

	switch (bt_message_iterator_next(s->iter, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		for (uint64_t i = 0; i < count; i++) {
			on_message(s, msgs[i]);
			bt_message_put_ref(msgs[i]);
		}
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return write_report(s) ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR
		                       : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		/* The source failed (truncated or corrupt trace). Report what was
		 * read, marked incomplete, and pass the error on so babeltrace2
		 * exits non-zero with the source's own message. */
		s->st->incomplete = 1;
		write_report(s);
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self,
		    "the trace could not be read to its end; the report covers the %llu hakmem "
		    "events read before",
		    (unsigned long long)s->st->events);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
}

static void report_finalize(bt_self_component_sink *self_sink)
{
	struct hk_sink *s =
	    bt_self_component_get_data(bt_self_component_sink_as_self_component(self_sink));
	if (!s) return;
	/* Interrupted (e.g. Ctrl-C) after events were read: still report. */
	if (!s->written && s->iter && s->st->events) {
		s->st->incomplete = 1;
		write_report(s);
	}
	sink_free(s);
}

/* The plugin's descriptors must stay visible in a -fvisibility=hidden build. */
#pragma GCC visibility push(default)
BT_PLUGIN_MODULE();
#pragma GCC visibility pop

BT_PLUGIN(hakmem);
BT_PLUGIN_DESCRIPTION(
    "Analysis of hakmem allocator traces: why page faults happen and what to change.");
BT_PLUGIN_AUTHOR("hakmem");

BT_PLUGIN_SINK_COMPONENT_CLASS(report, report_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
    report,
    "Attribute page faults to the allocator (by cause, class and SuperSlab), find fault storms and "
    "SuperSlab churn, and recommend HAKMEM_* settings.");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
    report,
    "Parameters: format=\"text\"|\"json\" (default text), path=FILE (default stdout), "
    "storm-window-ms=N (10), storm-threshold=X (4.0, multiple of the median window fault count), "
    "storm-min-faults=N (256), churn-window-ms=N (100), pid=N, process=\"NAME\", top=N (default: "
    "fold minor processes), debug-dir=DIR (debug files by build id, before /usr/lib/debug). See "
    "docs/report-rules.md.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(report, report_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(report, report_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(report, report_graph_is_configured);
