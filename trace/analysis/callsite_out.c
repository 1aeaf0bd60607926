/* Faults by call site in the text and JSON reports (keys in
 * docs/reference.md#report-json). */
#include "callsite.h"

#include <inttypes.h>
#include <string.h>

#define HK_CS_JSON_MAX 50 /* call sites listed per process in the JSON */

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static int has_sites(const struct hk_proc *p)
{
	return p->cs && p->cs->ngroups;
}

/* The group's largest classes: "271 B, 527 B" (and "large"). */
static void classes_text(char *buf, size_t len, const struct hk_proc *p,
                         const struct hk_cs_group *g)
{
	char lbl[32];
	size_t off = 0;
	buf[0] = 0;
	uint64_t done[3] = {0};
	for (int i = 0; i < 3; i++) {
		int best = -1;
		for (int k = 0; k < HK_NUM_CLASSES; k++)
			if (g->cls[k] && (best < 0 || g->cls[k] > g->cls[best]) &&
			    (i < 1 || k != (int)done[0]) && (i < 2 || k != (int)done[1]))
				best = k;
		if (best < 0) break;
		done[i] = (uint64_t)best;
		off += (size_t)snprintf(buf + off, len - off, "%s%s B", i ? ", " : "",
		                        hk_class_label(p, best, lbl, sizeof lbl));
		if (off >= len) return;
	}
	if (g->cause[HK_CAUSE_LARGE] && off < len)
		snprintf(buf + off, len - off, "%slarge spans", off ? ", " : "");
}

void hk_cs_text(FILE *o, const struct hk_proc *p)
{
	if (!has_sites(p)) return;
	const struct hk_cs_proc *c = p->cs;
	fprintf(o, "Faults by call site (%" PRIu64 " allocator faults, %zu call site%s):\n",
	        c->faults, c->ngroups, c->ngroups == 1 ? "" : "s");
	for (size_t g = 0; g < c->ngroups && g < HK_CS_TOP; g++) {
		const struct hk_cs_group *grp = &c->groups[g];
		char cls[160];
		classes_text(cls, sizeof cls, p, grp);
		fprintf(o, "  %5.1f%% %8" PRIu64 "  %s", pct(grp->faults, c->faults), grp->faults,
		        grp->name);
		if (cls[0]) fprintf(o, "; %s", cls);
		if (grp->nstorms) {
			fputs("; storm", o);
			fputs(grp->nstorms > 1 ? "s" : "", o);
			for (size_t i = 0; i < grp->nstorms && i < 5; i++)
				fprintf(o, "%s #%u", i ? "," : "", grp->storms[i] + 1);
			if (grp->nstorms > 5) fprintf(o, " and %zu more", grp->nstorms - 5);
		}
		fputc('\n', o);
	}
	if (c->ngroups > HK_CS_TOP)
		fprintf(o, "  ... %zu more call sites in the JSON report\n",
		        c->ngroups - HK_CS_TOP);
}

void hk_cs_storm_text(FILE *o, const struct hk_proc *p, size_t storm)
{
	if (!has_sites(p) || !p->cs->storm) return;
	const struct hk_cs_storm *s = &p->cs->storm[storm];
	const struct hk_storm *st = &p->storms[storm];
	uint64_t alloc =
	    st->cause[HK_CAUSE_CARVE] + st->cause[HK_CAUSE_REFAULT] + st->cause[HK_CAUSE_LARGE];
	for (int j = 0; j < HK_CS_STORM_TOP && s->group[j] >= 0; j++)
		fprintf(o, "%s%s %.0f%%", j ? ", " : "; from ", hk_cs_group_name(p, s->group[j]),
		        pct(s->faults[j], alloc));
}

static void jframe(FILE *o, const struct hk_frame_name *f)
{
	fputs("\"function\": ", o);
	if (f->function[0])
		hk_json_str(o, f->function);
	else
		fputs("null", o);
	fputs(", \"file\": ", o);
	if (f->file[0])
		hk_json_str(o, f->file);
	else
		fputs("null", o);
	fprintf(o, ", \"line\": %d, \"module\": ", f->line);
	if (f->mod)
		hk_json_str(o, f->mod->path);
	else
		fputs("null", o);
	fprintf(o, ", \"offset\": %" PRIu64, f->offset);
}

void hk_cs_json(FILE *o, const struct hk_proc *p)
{
	char lbl[32];
	fputs("\"callsites\": ", o);
	if (!has_sites(p)) {
		fputs("null", o);
		return;
	}
	const struct hk_cs_proc *c = p->cs;
	fprintf(o,
	        "{\"faults\": %" PRIu64 ", \"unnamed_faults\": %" PRIu64 ", \"count\": %zu, "
	        "\"sites\": [",
	        c->faults, c->unnamed, c->ngroups);
	for (size_t g = 0; g < c->ngroups && g < HK_CS_JSON_MAX; g++) {
		const struct hk_cs_group *grp = &c->groups[g];
		fputs(g ? ",\n       {\"site\": " : "\n       {\"site\": ", o);
		hk_json_str(o, grp->name);
		fputs(", ", o);
		jframe(o, &grp->site);
		fprintf(o, ", \"faults\": %" PRIu64 ", \"share\": %.4f, \"by_cause\": {",
		        grp->faults, c->faults ? (double)grp->faults / (double)c->faults : 0.0);
		for (int k = 0; k < HK_CAUSE_OTHER; k++)
			fprintf(o, "%s\"%s\": %" PRIu64, k ? ", " : "", hk_cause_name[k],
			        grp->cause[k]);
		fputs("}, \"classes\": {", o);
		int first = 1;
		for (int k = 0; k < HK_NUM_CLASSES; k++) {
			if (!grp->cls[k]) continue;
			fputs(first ? "" : ", ", o);
			first = 0;
			hk_json_str(o, hk_class_label(p, k, lbl, sizeof lbl));
			fprintf(o, ": %" PRIu64, grp->cls[k]);
		}
		fputs("}, \"storms\": [", o);
		for (size_t i = 0; i < grp->nstorms; i++)
			fprintf(o, "%s%u", i ? ", " : "", grp->storms[i]);
		fprintf(o, "], \"stacks\": %zu, \"stack\": [", grp->nstacks);
		for (unsigned j = 0; j < grp->nstack; j++) {
			fputs(j ? ", {" : "{", o);
			jframe(o, &grp->stack[j]);
			fputs("}", o);
		}
		fputs("]}", o);
	}
	fputs("]}", o);
}

void hk_cs_storm_json(FILE *o, const struct hk_proc *p, size_t storm)
{
	fputs("\"callsites\": [", o);
	if (has_sites(p) && p->cs->storm) {
		const struct hk_cs_storm *s = &p->cs->storm[storm];
		const struct hk_storm *st = &p->storms[storm];
		uint64_t alloc = st->cause[HK_CAUSE_CARVE] + st->cause[HK_CAUSE_REFAULT] +
		                 st->cause[HK_CAUSE_LARGE];
		for (int j = 0; j < HK_CS_STORM_TOP && s->group[j] >= 0; j++) {
			fputs(j ? ", {\"site\": " : "{\"site\": ", o);
			hk_json_str(o, hk_cs_group_name(p, s->group[j]));
			fprintf(o, ", \"faults\": %" PRIu64 ", \"share\": %.4f}", s->faults[j],
			        alloc ? (double)s->faults[j] / (double)alloc : 0.0);
		}
	}
	fputs("]", o);
}
