/* Which processes the report is about. The pid and process parameters
 * select processes (the others are left out and only counted); among the
 * selected ones, the minor ones are folded: the text and the HTML give
 * them one summary line, the JSON keeps them whole, marked "folded".
 * docs/report-rules.md, "Processes", gives the rule. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

/* The kernel keeps the first 15 bytes of a command name: a longer name
 * given by the user matches on those. */
static int name_matches(const char *procname, const char *want)
{
	size_t n = strlen(procname);
	return !strcmp(procname, want) || (n == 15 && !strncmp(procname, want, n));
}

static int is_selected(const struct hk_params *prm, const struct hk_proc *p)
{
	if (prm->has_pid && p->pid != prm->pid) return 0;
	if (prm->process && !name_matches(p->procname, prm->process)) return 0;
	return 1;
}

void hk_select(struct hk_state *st)
{
	const struct hk_params *prm = &st->params;
	st->nunselected = st->nfolded = 0;
	st->folded_faults = st->selected_faults = 0;
	for (size_t i = 0; i < st->nprocs; i++) {
		struct hk_proc *p = st->proc_list[i];
		p->selected = is_selected(prm, p);
		p->folded = 0;
		if (p->selected)
			st->selected_faults += p->faults_total;
		else
			st->nunselected++;
	}
	/* Asking for processes by pid or name shows each of them in full. */
	int by_rule = !prm->top && !prm->has_pid && !prm->process;
	size_t shown = 0;
	for (size_t i = 0; i < st->nprocs; i++) { /* most faults first */
		struct hk_proc *p = st->proc_list[i];
		if (!p->selected) continue;
		int fold;
		if (prm->top)
			fold = shown >= prm->top;
		else
			/* Below both bars, and no heap error: a memory bug is
			 * always worth a look, whatever the faults. */
			fold =
			    by_rule && shown > 0 && !p->nerrors &&
			    (double)p->faults_total < HK_FOLD_SHARE * (double)st->selected_faults &&
			    p->faults_total < HK_FOLD_MAX_FAULTS;
		if (fold) {
			p->folded = 1;
			st->nfolded++;
			st->folded_faults += p->faults_total;
		} else {
			shown++;
		}
	}
}

struct name_count {
	const char *name;
	size_t n;
};

static int by_count(const void *a, const void *b)
{
	const struct name_count *x = a, *y = b;
	if (x->n != y->n) return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

void hk_folded_names(const struct hk_state *st, char *buf, size_t len)
{
	struct name_count *c = hk_xcalloc(st->nfolded ? st->nfolded : 1, sizeof *c);
	size_t n = 0;
	for (size_t i = 0; i < st->nprocs; i++) {
		const struct hk_proc *p = st->proc_list[i];
		if (!p->folded) continue;
		const char *name = p->procname[0] ? p->procname : "?";
		size_t j = 0;
		while (j < n && strcmp(c[j].name, name))
			j++;
		if (j == n) c[n++].name = name;
		c[j].n++;
	}
	qsort(c, n, sizeof *c, by_count);
	size_t used = 0;
	buf[0] = 0;
	for (size_t j = 0; j < n && used + 1 < len; j++) {
		int w = c[j].n > 1
		            ? snprintf(buf + used, len - used, "%s%s x%zu", j ? ", " : "",
		                       c[j].name, c[j].n)
		            : snprintf(buf + used, len - used, "%s%s", j ? ", " : "", c[j].name);
		if (w < 0 || (size_t)w >= len - used) {
			/* out of room: end on a whole name */
			char *comma = strrchr(buf, ',');
			snprintf(comma ? comma : buf, len - (size_t)((comma ? comma : buf) - buf),
			         ", ...");
			break;
		}
		used += (size_t)w;
	}
	free(c);
}
