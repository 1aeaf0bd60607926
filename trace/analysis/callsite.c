/* Faults by call site, once the trace is read: each stack's frames are
 * placed in the binaries the process had mapped when the stack was seen,
 * the frame that names the call site is symbolized, and stacks with the
 * same name are grouped. The name is the innermost frame outside the C
 * and C++ runtimes (a strdup or std::string is not the call site: its
 * caller is). Then each storm's top call sites, from the per-window top-k
 * (approximate, like its classes), and the call site the recommendations
 * name (docs/report-rules.md, "Call sites"). */
#include "callsite.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HK_CS_STACKS_SHOWN 20 /* groups whose whole stack is symbolized */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Runtimes whose allocating functions are never the call site. */
static int is_runtime(const struct hk_module *m)
{
	static const char *const names[] = {"libc.so", "libstdc++.so", "ld-linux", "libgcc_s.so"};
	if (!m) return 0;
	const char *b = base_name(m->path);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strncmp(b, names[i], strlen(names[i]))) return 1;
	return 0;
}

static struct hk_sym *sym_of(struct hk_state *st)
{
	if (!st->cs->sym) {
		st->cs->debug_dirs = &st->params.debug_dir;
		st->cs->ndebug_dirs = st->params.debug_dir ? 1 : 0;
		st->cs->sym = hk_sym_new(st->cs->debug_dirs, st->cs->ndebug_dirs);
	}
	return st->cs->sym;
}

/* Named by what it ends with, so that alloc_round or allocate_index are
 * not taken for one. */
int hk_cs_wrapper_name(const char *function)
{
	static const char *const ends[] = {
	    "malloc",  "calloc",        "realloc",        "zalloc",        "strdup",
	    "strndup", "malloc_usable", "realloc_usable", "calloc_usable", "reallocarray"};
	size_t n = strlen(function);
	for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
		size_t k = strlen(ends[i]);
		if (n >= k && !strcasecmp(function + n - k, ends[i])) return 1;
	}
	return 0;
}

/* A frame in a malloc wrapper (not inlined: hk_sym_frame names the caller
 * of an inlined one). */
static int is_wrapper(struct hk_state *st, const struct hk_module *m, uint64_t addr)
{
	struct hk_frame_name f;
	if (!m) return 0;
	hk_sym_frame(sym_of(st), m, addr, &f, 0);
	return hk_cs_wrapper_name(f.function);
}

static void frame_label(char *buf, size_t len, const struct hk_frame_name *f, uint64_t addr)
{
	const char *mod = f->mod ? base_name(f->mod->path) : NULL;
	if (f->function[0] && f->file[0])
		snprintf(buf, len, "%s (%s:%d)", f->function, base_name(f->file), f->line);
	else if (f->function[0] && mod)
		snprintf(buf, len, "%s (%s+0x%" PRIx64 ")", f->function, mod, f->offset);
	else if (mod)
		snprintf(buf, len, "%s+0x%" PRIx64, mod, f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h ? h : 1;
}

/* The group named name (created if new). */
static int group_of(struct hk_cs_proc *c, struct hk_map *by_name, size_t *cap, const char *name)
{
	uint64_t h = name_hash(name);
	for (;; h++) { /* a hash shared by two names takes the next key */
		uintptr_t g = (uintptr_t)hk_map_get(by_name, h);
		if (!g) break;
		if (!strcmp(c->groups[g - 1].name, name)) return (int)g - 1;
	}
	hk_grow((void **)&c->groups, cap, c->ngroups, sizeof *c->groups);
	struct hk_cs_group *g = &c->groups[c->ngroups];
	memset(g, 0, sizeof *g);
	snprintf(g->name, sizeof g->name, "%s", name);
	hk_map_put(by_name, h, (void *)(uintptr_t)(c->ngroups + 1));
	return (int)c->ngroups++;
}

/* Names stack s's call site into g's name. */
static void name_stack(struct hk_state *st, struct hk_proc *p, const struct hk_stack *s, char *name,
                       size_t len, struct hk_frame_name *site)
{
	memset(site, 0, sizeof *site);
	if (!s->id) {
		snprintf(name, len, "(no call site: the tracer's own or an older trace)");
		return;
	}
	if (!s->ts || !s->n) {
		snprintf(name, len, "(call site not in the trace)");
		return;
	}
	const struct hk_module *mods[HK_CS_FRAMES];
	unsigned pick = 0;
	for (unsigned j = 0; j < s->n; j++)
		mods[j] = hk_cs_module(st, p->host, p->pid, s->frames[j], s->ts);
	while (pick + 1 < s->n &&
	       (is_runtime(mods[pick]) || is_wrapper(st, mods[pick], s->frames[pick])))
		pick++;
	hk_sym_frame(sym_of(st), mods[pick], s->frames[pick], site, 1);
	frame_label(name, len, site, s->frames[pick]);
}

static int by_faults(const void *a, const void *b)
{
	const struct hk_cs_group *x = a, *y = b;
	if (x->faults != y->faults) return x->faults < y->faults ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void group_stacks(struct hk_state *st, struct hk_proc *p)
{
	struct hk_cs_proc *c = p->cs;
	struct hk_map by_name = {0};
	size_t cap = 0;
	for (size_t i = 0; i < c->nstacks; i++) {
		struct hk_stack *s = &c->stacks[i];
		s->group = -1;
		if (!s->faults) continue;
		char name[sizeof c->groups[0].name];
		struct hk_frame_name site;
		name_stack(st, p, s, name, sizeof name, &site);
		int g = group_of(c, &by_name, &cap, name);
		struct hk_cs_group *grp = &c->groups[g];
		if (!grp->nstacks || s->faults > c->stacks[grp->best_stack].faults) {
			grp->best_stack = i;
			grp->site = site;
		}
		grp->nstacks++;
		grp->faults += s->faults;
		for (int k = 0; k < HK_NUM_CAUSES; k++)
			grp->cause[k] += s->cause[k];
		for (int k = 0; k < HK_NUM_CLASSES; k++)
			grp->cls[k] += s->cls[k];
		s->group = g;
		if (!s->id || !s->ts) c->unnamed += s->faults;
	}
	hk_map_free(&by_name);
	/* Most faults first; the stacks follow their group. */
	size_t *best = hk_xcalloc(c->ngroups, sizeof *best);
	for (size_t g = 0; g < c->ngroups; g++)
		c->groups[g].nstack = (unsigned)g; /* the old index, for the remap */
	qsort(c->groups, c->ngroups, sizeof *c->groups, by_faults);
	for (size_t g = 0; g < c->ngroups; g++)
		best[c->groups[g].nstack] = g;
	for (size_t i = 0; i < c->nstacks; i++)
		if (c->stacks[i].group >= 0) c->stacks[i].group = (int)best[c->stacks[i].group];
	free(best);
	for (size_t g = 0; g < c->ngroups; g++) {
		struct hk_cs_group *grp = &c->groups[g];
		const struct hk_stack *s = &c->stacks[grp->best_stack];
		grp->nstack = 0;
		if (g >= HK_CS_STACKS_SHOWN || !s->id || !s->ts) continue;
		for (unsigned j = 0; j < s->n; j++)
			hk_sym_frame(sym_of(st),
			             hk_cs_module(st, p->host, p->pid, s->frames[j], s->ts),
			             s->frames[j], &grp->stack[j], 1);
		grp->nstack = s->n;
	}
}

/* Each storm's top call sites, from its windows' top-k. */
static void storm_sites(struct hk_proc *p)
{
	struct hk_cs_proc *c = p->cs;
	const struct hk_windows *ws = &p->win;
	c->storm = hk_xcalloc(p->nstorms, sizeof *c->storm);
	uint64_t *acc = hk_xcalloc(c->ngroups, sizeof *acc);
	for (size_t i = 0; i < p->nstorms; i++) {
		const struct hk_storm *s = &p->storms[i];
		struct hk_cs_storm *cs = &c->storm[i];
		memset(acc, 0, c->ngroups * sizeof *acc);
		size_t from = (size_t)((s->begin_ns - ws->base) / ws->width);
		size_t to = (size_t)((s->end_ns - ws->base) / ws->width);
		for (size_t w = from; w < to && w < ws->n; w++)
			for (int k = 0; k < HK_WIN_TOPK; k++) {
				const struct hk_win *win = &ws->w[w];
				if (win->top_cs_faults[k] && win->top_cs[k] < c->nstacks &&
				    c->stacks[win->top_cs[k]].group >= 0)
					acc[c->stacks[win->top_cs[k]].group] +=
					    win->top_cs_faults[k];
			}
		for (int j = 0; j < HK_CS_STORM_TOP; j++) {
			cs->group[j] = -1;
			for (size_t g = 0; g < c->ngroups; g++)
				if (acc[g] && (cs->group[j] < 0 || acc[g] > acc[cs->group[j]]))
					cs->group[j] = (int)g;
			if (cs->group[j] < 0) break;
			cs->faults[j] = acc[cs->group[j]];
			acc[cs->group[j]] = 0;
			struct hk_cs_group *grp = &c->groups[cs->group[j]];
			hk_grow((void **)&grp->storms, &grp->capstorms, grp->nstorms,
			        sizeof *grp->storms);
			grp->storms[grp->nstorms++] = (uint32_t)i;
		}
	}
	free(acc);
}

/* A call site the advice can name: one placed in a binary. */
static int named(const struct hk_cs_group *g)
{
	return g->name[0] != '(' && g->site.mod;
}

/* "most of the storm's faults come from `X` (62%)", for a recommendation:
 * the call sites of the faults it acts on. */
static void rec_where(struct hk_proc *p, struct hk_rec *r)
{
	struct hk_cs_proc *c = p->cs;
	uint64_t *per = hk_xcalloc(c->ngroups, sizeof *per), total = 0;
	const char *what;
	if (r->rule == 1) {
		size_t n = 0;
		for (size_t i = 0; i < p->nstorms; i++) {
			if (p->storms[i].dominant != HK_CAUSE_CARVE) continue;
			for (int j = 0; j < HK_CS_STORM_TOP && c->storm[i].group[j] >= 0; j++)
				per[c->storm[i].group[j]] += c->storm[i].faults[j];
			total += p->storms[i].cause[HK_CAUSE_CARVE] +
			         p->storms[i].cause[HK_CAUSE_REFAULT];
			n++;
		}
		what = n > 1 ? "the storms' faults" : "the storm's faults";
	} else {
		enum hk_cause cause = r->rule == 5 ? HK_CAUSE_LARGE : HK_CAUSE_REFAULT;
		what = r->rule == 5 ? "the large-span faults" : "the refaults";
		if (r->rule == 2 && !p->alloc_cause[HK_CAUSE_REFAULT]) {
			cause = HK_CAUSE_CARVE;
			what = "the carve faults";
		}
		for (size_t g = 0; g < c->ngroups; g++)
			total += per[g] = c->groups[g].cause[cause];
	}
	size_t a = SIZE_MAX, b = SIZE_MAX;
	for (size_t g = 0; g < c->ngroups; g++) {
		if (!per[g] || !named(&c->groups[g])) continue;
		if (a == SIZE_MAX || per[g] > per[a]) {
			b = a;
			a = g;
		} else if (b == SIZE_MAX || per[g] > per[b]) {
			b = g;
		}
	}
	double sa = a != SIZE_MAX && total ? 100.0 * (double)per[a] / (double)total : 0;
	double sb = b != SIZE_MAX && total ? 100.0 * (double)per[b] / (double)total : 0;
	if (sa >= 50)
		snprintf(r->where, sizeof r->where, "most of %s come from `%.120s` (%.0f%%)", what,
		         c->groups[a].name, sa);
	else if (sa >= 20 && sb >= 10)
		snprintf(r->where, sizeof r->where,
		         "%s come mostly from `%.120s` (%.0f%%) and `%.120s` (%.0f%%)", what,
		         c->groups[a].name, sa, c->groups[b].name, sb);
	else if (sa >= 20)
		snprintf(r->where, sizeof r->where, "%.0f%% of %s come from `%.120s`", sa, what,
		         c->groups[a].name);
	free(per);
}

void hk_cs_finish(struct hk_state *st, struct hk_proc *p)
{
	struct hk_cs_proc *c = p->cs;
	if (!c || !c->faults || c->symbolized || !st->cs) return;
	c->symbolized = 1;
	group_stacks(st, p);
	storm_sites(p);
	for (size_t i = 0; i < p->nrecs; i++)
		rec_where(p, &p->recs[i]);
}

const char *hk_cs_group_name(const struct hk_proc *p, int g)
{
	return p->cs && g >= 0 && (size_t)g < p->cs->ngroups ? p->cs->groups[g].name : "";
}
