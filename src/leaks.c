/* HAKMEM_LEAKS=1: at exit, the blocks still allocated, grouped by the stack
 * that allocated them, in the style of LeakSanitizer. They are blocks
 * nobody freed, not proven unreachable: no reachability scan is done. */
#include "leaks.h"
#include "env.h"
#include "large.h"
#include "log.h"
#include "os.h"
#include "stack_depot.h"
#include "stack_print.h"

struct table {
	struct hak_leak_group *slot; /* open addressing on the stack id */
	size_t cap;                  /* a power of two */
	size_t used;
	struct hak_leak_totals tot;
};

/* The table is sized before the walk (one slot per depot stack, twice
 * over): nothing is allocated while the allocator's locks are held. */
static void add(struct table *t, uint32_t stack, uint64_t bytes)
{
	t->tot.bytes += bytes;
	t->tot.count++;
	size_t i = (stack * 0x9e3779b1u) & (t->cap - 1);
	while (t->slot[i].count && t->slot[i].stack != stack)
		i = (i + 1) & (t->cap - 1);
	if (!t->slot[i].count) {
		if (t->used + 1 >= t->cap) return; /* cannot happen: cap > 2 x stacks */
		t->slot[i].stack = stack;
		t->used++;
	}
	t->slot[i].count++;
	t->slot[i].bytes += bytes;
}

static void add_slab_block(uint8_t *b, unsigned cls, struct hak_track_rec *rec, void *arg)
{
	(void)b, (void)cls;
	if (rec->state == TRACK_LIVE) add(arg, rec->alloc_stack, rec->requested);
}

static void add_large(void *p, void *arg)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	add(arg, (uint32_t)h->reserved[0], HAK_RELAXED_LOAD(h->requested));
}

/* Largest total first, then most blocks; shell sort (no malloc, no libc
 * qsort that might allocate). */
static int before(const struct hak_leak_group *a, const struct hak_leak_group *b)
{
	return a->bytes != b->bytes ? a->bytes > b->bytes : a->count > b->count;
}

static void sort_groups(struct hak_leak_group *g, size_t n)
{
	for (size_t gap = n / 2; gap; gap /= 2)
		for (size_t i = gap; i < n; i++) {
			struct hak_leak_group x = g[i];
			size_t j = i;
			for (; j >= gap && before(&x, &g[j - gap]); j -= gap)
				g[j] = g[j - gap];
			g[j] = x;
		}
}

static int table_init(struct table *t)
{
	*t = (struct table){0};
	t->cap = 64;
	while (t->cap < 2 * ((size_t)hak_stack_count() + 2))
		t->cap *= 2;
	t->slot = hak_os_map(t->cap * sizeof *t->slot);
	return t->slot ? 0 : -1;
}

/* Fills t and compacts its groups, sorted, to the front of t->slot. */
static size_t gather(struct table *t)
{
	hak_heap_each_tracked(add_slab_block, t);
	hak_large_foreach(add_large, t);
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].count) t->slot[n++] = t->slot[i];
	sort_groups(t->slot, n);
	t->tot.groups = n;
	return n;
}

size_t hak_leaks_collect(struct hak_leak_group *out, size_t max, struct hak_leak_totals *tot)
{
	struct table t;
	*tot = (struct hak_leak_totals){0};
	if (hak_check_level != HAK_CHECK_FULL || table_init(&t)) return 0;
	size_t n = gather(&t);
	size_t k = n < max ? n : max;
	for (size_t i = 0; i < k; i++)
		out[i] = t.slot[i];
	*tot = t.tot;
	hak_os_unmap(t.slot, t.cap * sizeof *t.slot);
	return k;
}

void hak_leaks_report(void)
{
	struct table t;
	if (hak_check_level != HAK_CHECK_FULL) return;
	int fd = hak_log_fd();
	if (table_init(&t)) {
		hak_log("hakmem: HAKMEM_LEAKS: no memory for the leak table; no list\n");
		return;
	}
	size_t n = gather(&t);
	if (!n) {
		hak_log_fd_printf(fd, "hakmem: no blocks still allocated at exit\n");
	} else {
		hak_log_fd_printf(
		    fd,
		    "hakmem: %llu byte(s) in %llu object(s) still allocated at exit, "
		    "from %zu allocation stack(s) (HAKMEM_LEAKS=1: blocks nobody freed, "
		    "not proven unreachable)\n",
		    (unsigned long long)t.tot.bytes, (unsigned long long)t.tot.count, n);
		for (size_t i = 0; i < n; i++) {
			struct hak_leak_group *g = &t.slot[i];
			hak_log_fd_printf(fd,
			                  "\nhakmem: leak of %llu byte(s) in %u object(s) still "
			                  "allocated at exit\n",
			                  (unsigned long long)g->bytes, g->count);
			if (g->stack)
				hak_stack_print_id(fd, "allocated from", g->stack);
			else
				hak_log_fd_printf(fd, "  (no allocation stack was recorded)\n");
		}
		hak_log_fd_printf(
		    fd,
		    "\nhakmem: SUMMARY: %llu byte(s) in %llu object(s) still allocated "
		    "at exit\n",
		    (unsigned long long)t.tot.bytes, (unsigned long long)t.tot.count);
	}
	hak_os_unmap(t.slot, t.cap * sizeof *t.slot);
}
