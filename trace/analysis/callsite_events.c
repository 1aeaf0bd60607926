/* The events behind faults by call site: hakmem:callsite (a stack, once
 * per process), LTTng-UST's state dump (lttng_ust_statedump:bin_info,
 * build_id, debug_link: the binaries mapped when tracing started) and its
 * dlopen tracking (lttng_ust_dl:dlopen, build_id, debug_link, dlclose:
 * those loaded and unloaded later). They are rare, so fields are found by
 * name; only the event class's kind is cached. */
#include "callsite.h"

#include <stdlib.h>
#include <string.h>

enum {
	K_UNKNOWN, /* not looked at yet */
	K_OTHER,
	K_CALLSITE,
	K_DUMP_START,
	K_BIN_INFO,
	K_BUILD_ID,
	K_DEBUG_LINK,
	K_DLOPEN,
	K_DLCLOSE,
};

static int class_kind(const char *name)
{
	static const struct {
		const char *name;
		int kind;
	} known[] = {
	    {"hakmem:callsite", K_CALLSITE},
	    {"lttng_ust_statedump:start", K_DUMP_START},
	    {"lttng_ust_statedump:bin_info", K_BIN_INFO},
	    {"lttng_ust_statedump:build_id", K_BUILD_ID},
	    {"lttng_ust_statedump:debug_link", K_DEBUG_LINK},
	    {"lttng_ust_dl:dlopen", K_DLOPEN},
	    {"lttng_ust_dl:dlmopen", K_DLOPEN},
	    {"lttng_ust_dl:build_id", K_BUILD_ID},
	    {"lttng_ust_dl:debug_link", K_DEBUG_LINK},
	    {"lttng_ust_dl:dlclose", K_DLCLOSE},
	};
	for (size_t i = 0; name && i < sizeof known / sizeof *known; i++)
		if (!strcmp(name, known[i].name)) return known[i].kind;
	return K_OTHER;
}

static struct hk_cs_state *cs_state(struct hk_state *st)
{
	if (!st->cs) st->cs = hk_xcalloc(1, sizeof *st->cs);
	return st->cs;
}

static int kind_of(struct hk_cs_state *cs, const bt_event_class *ec)
{
	for (size_t i = 0; i < cs->nec; i++)
		if (cs->ec[i] == ec) return cs->kind[i];
	size_t cap = cs->capec;
	hk_grow((void **)&cs->ec, &cap, cs->nec, sizeof *cs->ec);
	hk_grow((void **)&cs->kind, &cs->capec, cs->nec, sizeof *cs->kind);
	bt_event_class_get_ref(ec); /* our key: must not be recycled */
	cs->ec[cs->nec] = ec;
	cs->kind[cs->nec] = (uint8_t)class_kind(bt_event_class_get_name(ec));
	return cs->kind[cs->nec++];
}

static const bt_field *member(const bt_field *s, const char *name)
{
	if (!s || bt_field_get_class_type(s) != BT_FIELD_CLASS_TYPE_STRUCTURE) return NULL;
	return bt_field_structure_borrow_member_field_by_name_const(s, name);
}

static int uint_of(const bt_field *s, const char *name, uint64_t *v)
{
	const bt_field *f = member(s, name);
	if (!f) return 0;
	bt_field_class_type t = bt_field_get_class_type(f);
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
		*v = bt_field_integer_unsigned_get_value(f);
	else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
		*v = (uint64_t)bt_field_integer_signed_get_value(f);
	else
		return 0;
	return 1;
}

static const char *string_of(const bt_field *s, const char *name)
{
	const bt_field *f = member(s, name);
	return f && bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_STRING
	           ? bt_field_string_get_value(f)
	           : NULL;
}

/* An array or sequence of unsigned integers into out; returns the count. */
static size_t array_of(const bt_field *s, const char *name, uint64_t *out, size_t max)
{
	const bt_field *f = member(s, name);
	if (!f || !bt_field_class_type_is(bt_field_get_class_type(f), BT_FIELD_CLASS_TYPE_ARRAY))
		return 0;
	uint64_t n = bt_field_array_get_length(f);
	size_t got = 0;
	for (uint64_t i = 0; i < n && got < max; i++) {
		const bt_field *x = bt_field_array_borrow_element_field_by_index_const(f, i);
		if (!bt_field_class_type_is(bt_field_get_class_type(x),
		                            BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
			return 0;
		out[got++] = bt_field_integer_unsigned_get_value(x);
	}
	return got;
}

static uint64_t host_hash(const char *host)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *c = (const unsigned char *)host; *c; c++)
		h = (h ^ *c) * 0x100000001b3ull;
	return h;
}

static struct hk_vmap *vmap(struct hk_cs_state *cs, const char *host, int64_t vpid)
{
	uint64_t key = host_hash(host) << 32 ^ (uint32_t)vpid;
	struct hk_vmap *v = hk_map_get(&cs->vmaps, key);
	if (!v) {
		v = hk_xcalloc(1, sizeof *v);
		hk_map_put(&cs->vmaps, key, v);
	}
	return v;
}

/* The module of v loaded at baddr most recently. */
static struct hk_module *module_at(struct hk_vmap *v, uint64_t baddr)
{
	for (size_t i = v->n; i-- > 0;)
		if (v->m[i].baddr == baddr) return &v->m[i];
	return NULL;
}

static void add_module(struct hk_cs_state *cs, struct hk_vmap *v, const bt_field *pl, uint64_t ts,
                       int dumped)
{
	uint64_t baddr = 0, memsz = 0, pic = 1;
	const char *path = string_of(pl, "path");
	if (!uint_of(pl, "baddr", &baddr) || !path) return;
	uint_of(pl, "memsz", &memsz);
	uint_of(pl, "is_pic", &pic);
	if (!memsz || path[0] == '[') return; /* the vdso: no file to read */
	hk_grow((void **)&v->m, &v->cap, v->n, sizeof *v->m);
	struct hk_module *m = &v->m[v->n++];
	memset(m, 0, sizeof *m);
	m->baddr = baddr;
	m->memsz = memsz;
	m->path = hk_xstrdup(path);
	m->is_pic = (int)pic;
	/* The state dump describes the process as it was when it started:
	 * its binaries hold for call sites seen before the dump's events. */
	m->from_ts = dumped ? v->dump_ts : ts;
	m->until_ts = UINT64_MAX;
	cs->modules++;
}

static void module_event(struct hk_cs_state *cs, struct hk_vmap *v, int kind, const bt_field *pl,
                         uint64_t ts, int dumped)
{
	uint64_t baddr = 0;
	struct hk_module *m;
	switch (kind) {
	case K_DUMP_START:
		/* A new address space (an exec), or a dump again: what came
		 * before ends here. */
		for (size_t i = 0; i < v->n; i++)
			if (v->m[i].until_ts == UINT64_MAX) v->m[i].until_ts = ts;
		v->dump_ts = ts;
		break;
	case K_BIN_INFO:
	case K_DLOPEN:
		add_module(cs, v, pl, ts, dumped);
		break;
	case K_BUILD_ID:
		if (uint_of(pl, "baddr", &baddr) && (m = module_at(v, baddr))) {
			uint64_t id[64];
			size_t n = array_of(pl, "build_id", id, 64);
			for (size_t i = 0; i < n; i++)
				m->build_id[i] = (uint8_t)id[i];
			m->build_id_len = (unsigned)n;
		}
		break;
	case K_DEBUG_LINK: {
		uint64_t crc = 0;
		const char *name = string_of(pl, "filename");
		if (uint_of(pl, "baddr", &baddr) && name && (m = module_at(v, baddr)) &&
		    !m->debug_link) {
			m->debug_link = hk_xstrdup(name);
			if (uint_of(pl, "crc", &crc)) m->crc = (uint32_t)crc;
		}
		break;
	}
	case K_DLCLOSE:
		if (uint_of(pl, "baddr", &baddr) && (m = module_at(v, baddr)) &&
		    m->until_ts == UINT64_MAX)
			m->until_ts = ts;
		break;
	}
}

static struct hk_cs_proc *cs_proc(struct hk_proc *p)
{
	if (!p->cs) {
		p->cs = hk_xcalloc(1, sizeof *p->cs);
		/* stacks[0] collects the faults of events without a call site */
		hk_grow((void **)&p->cs->stacks, &p->cs->capstacks, 0, sizeof *p->cs->stacks);
		p->cs->nstacks = 1;
	}
	return p->cs;
}

/* The index of stack id in p (created, undefined, if new). */
static size_t stack_index(struct hk_proc *p, uint64_t id)
{
	struct hk_cs_proc *c = cs_proc(p);
	if (!id) return 0;
	uintptr_t i = (uintptr_t)hk_map_get(&c->by_id, id);
	if (i) return i - 1;
	hk_grow((void **)&c->stacks, &c->capstacks, c->nstacks, sizeof *c->stacks);
	struct hk_stack *s = &c->stacks[c->nstacks];
	memset(s, 0, sizeof *s);
	s->id = id;
	hk_map_put(&c->by_id, id, (void *)(uintptr_t)(c->nstacks + 1));
	return c->nstacks++;
}

static void callsite_event(struct hk_state *st, struct hk_trace *tr, const bt_event *ev,
                           const bt_field *pl, uint64_t ts)
{
	const bt_field *ctx = bt_event_borrow_common_context_field_const(ev);
	uint64_t id = 0, vpid = 0, vtid = 0;
	struct hk_event e = {.type = HK_EV_FOREIGN, .ts = ts};
	if (uint_of(ctx, "vpid", &vpid))
		e.has_vpid = 1;
	else if (tr->has_env_vpid)
		vpid = (uint64_t)tr->env_vpid, e.has_vpid = 1;
	if (!e.has_vpid || !uint_of(pl, "id", &id) || !id) return;
	e.vpid = (int64_t)vpid;
	if (uint_of(ctx, "vtid", &vtid)) e.vtid = (int64_t)vtid, e.has_vtid = 1;
	struct hk_proc *p = hk_state_proc(st, tr, &e);
	size_t i = stack_index(p, id); /* creates p->cs */
	struct hk_stack *s = &p->cs->stacks[i];
	if (s->ts) return; /* written again (a full table in the process) */
	s->n = (unsigned)array_of(pl, "frames", s->frames, HK_CS_FRAMES);
	s->ts = ts ? ts : 1;
	st->cs->stacks_seen++;
}

int hk_cs_event(struct hk_state *st, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	struct hk_cs_state *cs = cs_state(st);
	int kind = kind_of(cs, bt_event_borrow_class_const(ev));
	if (kind == K_OTHER) return 0;
	const bt_stream *stream = bt_event_borrow_stream_const(ev);
	struct hk_trace *tr = hk_state_trace(st, bt_stream_borrow_trace_const(stream));
	uint64_t ts = 0;
	if (bt_stream_class_borrow_default_clock_class_const(
	        bt_stream_borrow_class_const(stream))) {
		int64_t ns;
		if (bt_clock_snapshot_get_ns_from_origin(
		        bt_message_event_borrow_default_clock_snapshot_const(msg), &ns) ==
		        BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK &&
		    ns > 0)
			ts = (uint64_t)ns;
	}
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	if (kind == K_CALLSITE) {
		callsite_event(st, tr, ev, pl, ts);
		return 1;
	}
	uint64_t vpid;
	if (!uint_of(bt_event_borrow_common_context_field_const(ev), "vpid", &vpid)) {
		if (!tr->has_env_vpid) return 1;
		vpid = (uint64_t)tr->env_vpid;
	}
	const char *name = bt_event_class_get_name(bt_event_borrow_class_const(ev));
	int dumped = name && !strncmp(name, "lttng_ust_statedump:", 20);
	module_event(cs, vmap(cs, tr->host, (int64_t)vpid), kind, pl, ts, dumped);
	return 1;
}

uint64_t hk_cs_of(const struct hk_event *e)
{
	switch (e->type) {
	case HK_EV_REFILL:
		return e->f[REFILL_CALLSITE];
	case HK_EV_SS_MMAP:
		return e->f[MMAP_CALLSITE];
	case HK_EV_LARGE_MMAP:
		return e->f[LMAP_CALLSITE];
	default:
		return 0;
	}
}

void hk_cs_charge(struct hk_proc *p, uint64_t ts, uint64_t cs, enum hk_cause c, uint64_t faults,
                  int cls)
{
	if (!faults) return;
	size_t i = stack_index(p, cs);
	struct hk_stack *s = &p->cs->stacks[i];
	s->faults += faults;
	s->cause[c] += faults;
	if (cls >= 0 && cls < HK_NUM_CLASSES) s->cls[cls] += (uint32_t)faults;
	p->cs->faults += faults;
	hk_win_add_cs(&p->win, ts, (uint32_t)i, faults);
}

/* The binary holding addr in process (host, vpid) at ts: one mapped then,
 * else the first mapped after ts (a dlopen event comes after the
 * library's constructors, which may allocate). */
const struct hk_module *hk_cs_module(struct hk_state *st, const char *host, int64_t vpid,
                                     uint64_t addr, uint64_t ts)
{
	if (!st->cs) return NULL;
	struct hk_vmap *v = hk_map_get(&st->cs->vmaps, host_hash(host) << 32 ^ (uint32_t)vpid);
	const struct hk_module *later = NULL;
	for (size_t i = 0; v && i < v->n; i++) {
		const struct hk_module *m = &v->m[i];
		if (addr - m->baddr >= m->memsz) continue;
		if (m->from_ts <= ts && ts < m->until_ts) return m;
		if (m->from_ts > ts && (!later || m->from_ts < later->from_ts)) later = m;
	}
	return later;
}

void hk_cs_free(struct hk_state *st)
{
	struct hk_cs_state *cs = st->cs;
	if (!cs) return;
	for (size_t i = 0; i < cs->vmaps.cap; i++) {
		if (!cs->vmaps.used[i]) continue;
		struct hk_vmap *v = cs->vmaps.vals[i];
		for (size_t j = 0; j < v->n; j++) {
			free(v->m[j].path);
			free(v->m[j].debug_link);
		}
		free(v->m);
		free(v);
	}
	hk_map_free(&cs->vmaps);
	for (size_t i = 0; i < cs->nec; i++)
		bt_event_class_put_ref(cs->ec[i]);
	free(cs->ec);
	free(cs->kind);
	if (cs->sym) hk_sym_free(cs->sym);
	free(cs);
	st->cs = NULL;
}

void hk_cs_proc_free(struct hk_proc *p)
{
	struct hk_cs_proc *c = p->cs;
	if (!c) return;
	hk_map_free(&c->by_id);
	for (size_t i = 0; i < c->ngroups; i++)
		free(c->groups[i].storms);
	free(c->groups);
	free(c->stacks);
	free(c->storm);
	free(c);
	p->cs = NULL;
}
