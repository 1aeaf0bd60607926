/* Initialisation parameters of sink.hakmem.report. Anything unknown or
 * mistyped fails the component: a typo such as storm-window=5 must not
 * silently produce a report with the default. */
#include "analysis.h"

#include <babeltrace2/babeltrace.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct parse_ctx {
	struct hk_params *p;
	char *err;
	size_t errlen;
	int failed;
};

static const char *type_name(bt_value_type t)
{
	switch (t) {
	case BT_VALUE_TYPE_NULL:
		return "null";
	case BT_VALUE_TYPE_BOOL:
		return "a boolean";
	case BT_VALUE_TYPE_UNSIGNED_INTEGER:
		return "an unsigned integer";
	case BT_VALUE_TYPE_SIGNED_INTEGER:
		return "a signed integer";
	case BT_VALUE_TYPE_REAL:
		return "a real number";
	case BT_VALUE_TYPE_STRING:
		return "a string";
	case BT_VALUE_TYPE_ARRAY:
		return "an array";
	case BT_VALUE_TYPE_MAP:
		return "a map";
	default:
		return "an unknown type";
	}
}

/* CLI params like storm-window-ms=10 arrive as signed integers, +10 as
 * unsigned: accept both, as long as the value is in range. */
static int get_int(const bt_value *v, int64_t min, int64_t *out)
{
	if (bt_value_get_type(v) == BT_VALUE_TYPE_UNSIGNED_INTEGER) {
		uint64_t u = bt_value_integer_unsigned_get(v);
		if (u > (uint64_t)INT64_MAX) return -1;
		*out = (int64_t)u;
	} else if (bt_value_get_type(v) == BT_VALUE_TYPE_SIGNED_INTEGER) {
		*out = bt_value_integer_signed_get(v);
	} else {
		return -2;
	}
	return *out < min ? -1 : 0;
}

static bt_value_map_foreach_entry_const_func_status one_param(const char *key, const bt_value *v,
                                                              void *data)
{
	struct parse_ctx *c = data;
	struct hk_params *p = c->p;
	bt_value_type t = bt_value_get_type(v);
	int64_t iv;

	if (!strcmp(key, "format")) {
		if (t != BT_VALUE_TYPE_STRING) goto type;
		const char *s = bt_value_string_get(v);
		if (!strcmp(s, "text"))
			p->format = HK_FORMAT_TEXT;
		else if (!strcmp(s, "json"))
			p->format = HK_FORMAT_JSON;
		else {
			snprintf(c->err, c->errlen,
			         "parameter `format`: expected \"text\" or \"json\", got \"%s\"",
			         s);
			goto fail;
		}
	} else if (!strcmp(key, "path")) {
		if (t != BT_VALUE_TYPE_STRING) goto type;
		const char *s = bt_value_string_get(v);
		if (!*s) {
			snprintf(c->err, c->errlen,
			         "parameter `path`: expected a file name, got an empty string");
			goto fail;
		}
		free(p->path);
		p->path = hk_xstrdup(s);
	} else if (!strcmp(key, "storm-window-ms") || !strcmp(key, "churn-window-ms")) {
		int storm = key[0] == 's';
		int rc = get_int(v, storm ? 1 : 0, &iv);
		if (rc == -2) goto type;
		if (rc || iv > 3600000) {
			snprintf(c->err, c->errlen,
			         "parameter `%s`: expected an integer number of milliseconds from "
			         "%d to 3600000",
			         key, storm ? 1 : 0);
			goto fail;
		}
		if (storm)
			p->storm_window_ns = (uint64_t)iv * 1000000u;
		else
			p->churn_window_ns = (uint64_t)iv * 1000000u;
	} else if (!strcmp(key, "storm-threshold")) {
		double d;
		if (t == BT_VALUE_TYPE_REAL)
			d = bt_value_real_get(v);
		else if (get_int(v, INT64_MIN, &iv) == 0)
			d = (double)iv;
		else
			goto type;
		/* Below 1 every ordinary window would be a "storm". */
		if (!(d >= 1) || !isfinite(d)) {
			snprintf(c->err, c->errlen,
			         "parameter `storm-threshold`: expected a finite real number >= 1 "
			         "(a multiple of the median window fault count), got %g",
			         d);
			goto fail;
		}
		p->storm_threshold = d;
	} else if (!strcmp(key, "storm-min-faults") || !strcmp(key, "top")) {
		int top = key[0] == 't';
		int rc = get_int(v, 1, &iv);
		if (rc == -2) goto type;
		if (rc || iv > 1000000000) {
			snprintf(c->err, c->errlen,
			         "parameter `%s`: expected a number of %s from 1 to 1000000000",
			         key, top ? "processes" : "faults");
			goto fail;
		}
		if (top)
			p->top = (uint64_t)iv;
		else
			p->storm_min_faults = (uint64_t)iv;
	} else if (!strcmp(key, "pid")) {
		int rc = get_int(v, 0, &iv);
		if (rc == -2) goto type;
		if (rc || iv > INT32_MAX) {
			snprintf(c->err, c->errlen,
			         "parameter `pid`: expected a process id from 0 to %d", INT32_MAX);
			goto fail;
		}
		p->has_pid = 1;
		p->pid = iv;
	} else if (!strcmp(key, "process")) {
		if (t != BT_VALUE_TYPE_STRING) goto type;
		const char *s = bt_value_string_get(v);
		if (!*s) {
			snprintf(
			    c->err, c->errlen,
			    "parameter `process`: expected a command name, got an empty string");
			goto fail;
		}
		free(p->process);
		p->process = hk_xstrdup(s);
	} else if (!strcmp(key, "debug-dir")) {
		if (t != BT_VALUE_TYPE_STRING) goto type;
		const char *s = bt_value_string_get(v);
		if (!*s) {
			snprintf(c->err, c->errlen,
			         "parameter `debug-dir`: expected a directory holding .build-id/, "
			         "got an empty string");
			goto fail;
		}
		free(p->debug_dir);
		p->debug_dir = hk_xstrdup(s);
	} else {
		snprintf(
		    c->err, c->errlen,
		    "unknown parameter `%s`; known parameters: format (string \"text\"|\"json\"), "
		    "path (string), storm-window-ms (integer), storm-threshold (real), "
		    "storm-min-faults (integer), churn-window-ms (integer), pid (integer), "
		    "process (string), top (integer), debug-dir (string)",
		    key);
		goto fail;
	}
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;

type : {
	const char *want = !strcmp(key, "format")             ? "a string (\"text\" or \"json\")"
	                   : !strcmp(key, "path")             ? "a string (an output file name)"
	                   : !strcmp(key, "process")          ? "a string (a command name)"
	                   : !strcmp(key, "debug-dir")        ? "a string (a directory)"
	                   : !strcmp(key, "storm-threshold")  ? "a real number"
	                   : !strcmp(key, "storm-min-faults") ? "an integer (faults)"
	                   : !strcmp(key, "top")              ? "an integer (processes)"
	                   : !strcmp(key, "pid")              ? "an integer (a process id)"
	                                                      : "an integer (milliseconds)";
	snprintf(c->err, c->errlen, "parameter `%s`: expected %s, got %s", key, want, type_name(t));
}
fail:
	c->failed = 1;
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_INTERRUPT;
}

int hk_params_parse(const struct bt_value *params, struct hk_params *p, char *err, size_t errlen)
{
	p->format = HK_FORMAT_TEXT;
	p->path = NULL;
	p->storm_window_ns = 10 * 1000000ull;
	p->storm_threshold = 4.0;
	p->storm_min_faults = 256;
	p->has_pid = 0;
	p->pid = 0;
	p->process = NULL;
	p->debug_dir = NULL;
	p->top = 0;
	p->churn_window_ns = 100 * 1000000ull;
	if (!params || bt_value_get_type(params) == BT_VALUE_TYPE_NULL) return 0;
	if (bt_value_get_type(params) != BT_VALUE_TYPE_MAP) {
		snprintf(err, errlen, "parameters: expected a map, got %s",
		         type_name(bt_value_get_type(params)));
		return -1;
	}
	struct parse_ctx c = {.p = p, .err = err, .errlen = errlen};
	bt_value_map_foreach_entry_const(params, one_param, &c);
	return c.failed ? -1 : 0;
}

void hk_params_free(struct hk_params *p)
{
	free(p->path);
	p->path = NULL;
	free(p->process);
	p->process = NULL;
	free(p->debug_dir);
	p->debug_dir = NULL;
}
