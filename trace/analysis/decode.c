/* From a babeltrace2 event message to a struct hk_event. Field positions
 * are resolved by name once per event class and cached, so the per-event
 * cost is a handful of index lookups: fields are never searched by name
 * on the hot path, and a provider that adds or reorders fields still
 * decodes. */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

const char *const hk_evtype_name[HK_NUM_EVTYPES] = {
    "superslab_mmap",
    "superslab_munmap",
    "superslab_reuse",
    "refill",
    "slab_empty",
    "slab_reuse",
    "slab_purge",
    "large_mmap",
    "large_munmap",
    "heap_error",
    "process_stats",
    "malloc",
    "free",
    "tick",
    "prewarm",
};

/* In the slot order of the enums in analysis.h. */
static const char *const field_names[HK_NUM_EVTYPES][HK_MAX_FIELDS + 1] = {
    [HK_EV_SS_MMAP] = {"ss", "size", "pool", "reason", "ns", "callsite"},
    [HK_EV_SS_MUNMAP] = {"ss", "size", "pool", "reason"},
    [HK_EV_SS_REUSE] = {"ss", "pool"},
    [HK_EV_REFILL] = {"class", "want", "got", "from_freelist", "from_carve", "new_slab",
                      "new_pages", "refault", "block_size", "pool", "callsite", "from_remote",
                      "remote_waiting"},
    [HK_EV_SLAB_EMPTY] = {"ss", "slab", "class", "pool"},
    [HK_EV_SLAB_REUSE] = {"ss", "slab", "old_class", "new_class", "resident_pages", "pool"},
    [HK_EV_SLAB_PURGE] = {"ss", "slab", "pages", "pool"},
    [HK_EV_LARGE_MMAP] = {"addr", "size", "new_pages", "callsite"},
    [HK_EV_LARGE_MUNMAP] = {"addr", "size"},
    [HK_EV_HEAP_ERROR] = {"kind", "addr", "found", "expected"},
    [HK_EV_PROCESS_STATS] = {"minflt", "majflt", "rss_kb", "mapped_bytes", "superslabs_mapped",
                             "superslabs_reused", "superslabs_unmapped", "refills", "slab_empty",
                             "slab_reuse", "slab_purge", "large_mapped"},
    [HK_EV_MALLOC] = {"ptr", "size"},
    [HK_EV_FREE] = {"ptr"},
    [HK_EV_TICK] = {"reason"},
    [HK_EV_PREWARM] = {"class", "block_size", "pool", "slabs", "done", "pages"},
};

enum { KIND_NONE, KIND_UNSIGNED, KIND_SIGNED, KIND_STRING };

static int field_kind(const bt_field_class *fc)
{
	bt_field_class_type t = bt_field_class_get_type(fc);
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) return KIND_SIGNED;
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) return KIND_UNSIGNED;
	if (t == BT_FIELD_CLASS_TYPE_STRING) return KIND_STRING;
	return KIND_NONE;
}

/* Finds member `name` of a structure field class: its index and kind. */
static void resolve(const bt_field_class *sfc, const char *name, int16_t *idx, uint8_t *kind)
{
	*idx = -1;
	*kind = KIND_NONE;
	if (!sfc || bt_field_class_get_type(sfc) != BT_FIELD_CLASS_TYPE_STRUCTURE) return;
	uint64_t n = bt_field_class_structure_get_member_count(sfc);
	for (uint64_t i = 0; i < n; i++) {
		const bt_field_class_structure_member *m =
		    bt_field_class_structure_borrow_member_by_index_const(sfc, i);
		if (strcmp(bt_field_class_structure_member_get_name(m), name)) continue;
		int k = field_kind(bt_field_class_structure_member_borrow_field_class_const(m));
		if (k != KIND_NONE) {
			*idx = (int16_t)i;
			*kind = (uint8_t)k;
		}
		return;
	}
}

static void build(struct hk_ecls *c, const bt_event_class *ec)
{
	const char *name = bt_event_class_get_name(ec);
	c->type = HK_EV_FOREIGN;
	/* LTTng names events "provider:event". */
	if (name && !strncmp(name, "hakmem:", 7))
		for (int t = 0; t < HK_NUM_EVTYPES; t++)
			if (!strcmp(name + 7, hk_evtype_name[t])) c->type = (enum hk_evtype)t;
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
	c->has_clock = bt_stream_class_borrow_default_clock_class_const(sc) != NULL;
	if (c->type == HK_EV_FOREIGN) return;
	const bt_field_class *pfc = bt_event_class_borrow_payload_field_class_const(ec);
	c->nf = 0;
	for (int i = 0; i < HK_MAX_FIELDS && field_names[c->type][i]; i++) {
		resolve(pfc, field_names[c->type][i], &c->idx[i], &c->kind[i]);
		if (c->kind[i] == KIND_STRING) c->idx[i] = -1;
		if (c->idx[i] < 0) c->absent |= 1u << i;
		c->nf = (uint8_t)(i + 1);
	}
	const bt_field_class *cfc =
	    bt_stream_class_borrow_event_common_context_field_class_const(sc);
	resolve(cfc, "vpid", &c->ctx_idx[0], &c->ctx_kind[0]);
	resolve(cfc, "vtid", &c->ctx_idx[1], &c->ctx_kind[1]);
	resolve(cfc, "procname", &c->ctx_idx[2], &c->ctx_kind[2]);
	resolve(cfc, "perf_thread_page_fault", &c->ctx_idx[3], &c->ctx_kind[3]);
	for (int i = 0; i < 4; i++)
		if ((i == 2) != (c->ctx_kind[i] == KIND_STRING)) c->ctx_idx[i] = -1;
}

static size_t slot_of(const void *p, size_t cap)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (cap - 1);
}

const struct hk_ecls *hk_decode_class(struct hk_decoder *d, const bt_event_class *ec)
{
	if (d->last && d->last->ec == ec) return d->last;
	if (d->cap) {
		for (size_t i = slot_of(ec, d->cap);; i = (i + 1) & (d->cap - 1)) {
			if (!d->tab[i].ec) break;
			if (d->tab[i].ec == ec) return d->last = &d->tab[i];
		}
	}
	if ((d->n + 1) * 2 > d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct hk_ecls *nt = hk_xcalloc(ncap, sizeof *nt);
		for (size_t i = 0; i < d->cap; i++) {
			if (!d->tab[i].ec) continue;
			size_t j = slot_of(d->tab[i].ec, ncap);
			while (nt[j].ec)
				j = (j + 1) & (ncap - 1);
			nt[j] = d->tab[i];
		}
		free(d->tab);
		d->tab = nt;
		d->cap = ncap;
	}
	size_t j = slot_of(ec, d->cap);
	while (d->tab[j].ec)
		j = (j + 1) & (d->cap - 1);
	struct hk_ecls *c = &d->tab[j];
	memset(c, 0, sizeof *c);
	/* Hold a reference: the pointer is our key, and must not be recycled
	 * for another class while we remember it. */
	bt_event_class_get_ref(ec);
	c->ec = ec;
	build(c, ec);
	d->n++;
	return d->last = c;
}

static inline uint64_t read_uint(const bt_field *s, int16_t idx, uint8_t kind)
{
	const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(s, (uint64_t)idx);
	return kind == KIND_SIGNED ? (uint64_t)bt_field_integer_signed_get_value(f)
	                           : bt_field_integer_unsigned_get_value(f);
}

int hk_decode(struct hk_decoder *d, const bt_message *msg, struct hk_event *e,
              const bt_stream **stream)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const struct hk_ecls *c = hk_decode_class(d, bt_event_borrow_class_const(ev));
	*stream = bt_event_borrow_stream_const(ev);
	e->type = c->type;
	if (c->type == HK_EV_FOREIGN) return 0;
	e->ts = 0;
	if (c->has_clock) {
		int64_t ns;
		const bt_clock_snapshot *cs =
		    bt_message_event_borrow_default_clock_snapshot_const(msg);
		if (bt_clock_snapshot_get_ns_from_origin(cs, &ns) ==
		        BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK &&
		    ns > 0)
			e->ts = (uint64_t)ns;
	}
	const bt_field *ctx = bt_event_borrow_common_context_field_const(ev);
	e->has_vpid = e->has_vtid = e->has_perf = 0;
	e->vpid = e->vtid = -1;
	e->perf = 0;
	e->procname = NULL;
	if (ctx) {
		if (c->ctx_idx[0] >= 0) {
			e->vpid = (int64_t)read_uint(ctx, c->ctx_idx[0], c->ctx_kind[0]);
			e->has_vpid = 1;
		}
		if (c->ctx_idx[1] >= 0) {
			e->vtid = (int64_t)read_uint(ctx, c->ctx_idx[1], c->ctx_kind[1]);
			e->has_vtid = 1;
		}
		if (c->ctx_idx[2] >= 0)
			e->procname = bt_field_string_get_value(
			    bt_field_structure_borrow_member_field_by_index_const(
			        ctx, (uint64_t)c->ctx_idx[2]));
		if (c->ctx_idx[3] >= 0) {
			e->perf = read_uint(ctx, c->ctx_idx[3], c->ctx_kind[3]);
			e->has_perf = 1;
		}
	}
	const bt_field *payload = bt_event_borrow_payload_field_const(ev);
	e->absent = c->absent;
	for (int i = 0; i < c->nf; i++)
		e->f[i] =
		    (payload && c->idx[i] >= 0) ? read_uint(payload, c->idx[i], c->kind[i]) : 0;
	return 1;
}

void hk_decoder_free(struct hk_decoder *d)
{
	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].ec) bt_event_class_put_ref(d->tab[i].ec);
	free(d->tab);
	memset(d, 0, sizeof *d);
}
