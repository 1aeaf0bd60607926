#include "hakmem.h"
#include "env.h"
#include "log.h"
#include "pool.h"
#include "stats.h"
#include "stats_counters.h"

#include <string.h>

/* Blocks held and slabs per class come from the slab metadata itself. */
static void count_slabs(struct hak_stats *out)
{
	for (unsigned k = 0; k < HAK_NUM_POOLS; k++) {
		struct hak_pool *pl = &hak_pools[k];
		pthread_mutex_lock(&pl->lock);
		for (struct hak_superslab *ss = pl->active.head; ss; ss = ss->next)
			for (unsigned i = 0; i < ss->nslabs; i++) {
				struct hak_slab *s = &ss->slabs[i];
				if (s->state == SLAB_FREE || s->cls >= HAK_NUM_CLASSES) continue;
				/* Not under the slab lock: a relaxed snapshot. */
				out->classes[s->cls].blocks_held +=
				    __atomic_load_n(&s->used, __ATOMIC_RELAXED);
				out->classes[s->cls].slabs_live++;
			}
		pthread_mutex_unlock(&pl->lock);
	}
}

HAK_API void hak_stats_get(struct hak_stats *out)
{
	struct hak_class_counters per[HAK_NUM_CLASSES];
	memset(out, 0, sizeof *out);
	out->superslabs_mapped = HAK_STAT_LOAD(ss_mapped);
	out->superslabs_reused = HAK_STAT_LOAD(ss_reused);
	out->superslabs_unmapped = HAK_STAT_LOAD(ss_unmapped);
	out->superslabs_live = HAK_STAT_LOAD(ss_live);
	out->superslabs_warm = HAK_STAT_LOAD(ss_warm);
	out->slab_empty = HAK_STAT_LOAD(slab_empty);
	out->slab_reuse = HAK_STAT_LOAD(slab_reuse);
	out->slab_class_changes = HAK_STAT_LOAD(slab_class_changes);
	out->slab_purge = HAK_STAT_LOAD(slab_purge);
	out->pages_purged = HAK_STAT_LOAD(pages_purged);
	out->large_mapped = HAK_STAT_LOAD(large_mapped);
	out->large_unmapped = HAK_STAT_LOAD(large_unmapped);
	out->large_reused = HAK_STAT_LOAD(large_reused);
	out->large_live = HAK_STAT_LOAD(large_live);
	out->large_live_bytes = HAK_STAT_LOAD(large_live_bytes);
	out->mapped_bytes = HAK_STAT_LOAD(mapped_bytes);
	out->pages_touched = HAK_STAT_LOAD(pages_touched);

	hak_counters_sum_classes(per);
	out->nclasses = HAK_NUM_CLASSES;
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		struct hak_class_stats *cs = &out->classes[c];
		cs->block_size = (uint32_t)hak_class_usable(c);
		cs->pool = hak_class_pool(c);
		cs->refills = per[c].refills;
		cs->refill_blocks = per[c].refill_blocks;
		cs->from_freelist = per[c].from_freelist;
		cs->from_carve = per[c].from_carve;
		cs->new_slabs = per[c].new_slabs;
		cs->pages_touched = per[c].pages_touched;
		out->refills += per[c].refills;
		out->pages_touched += per[c].pages_touched;
	}
	count_slabs(out);
}

HAK_API const char *hak_version(void)
{
#if defined(HAKMEM_RELEASE)
	return HAKMEM_VERSION_STRING " (release)";
#else
	return HAKMEM_VERSION_STRING " (full)";
#endif
}

HAK_API void hak_stats_print(int fd)
{
	struct hak_stats st;
	hak_stats_get(&st);
	hak_log_fd_printf(fd, "hakmem stats (%s)\n", hak_version());
	hak_log_fd_printf(fd, "%-9s %6s %12s %10s %12s %12s %10s %8s %10s\n", "pool", "class",
	                  "block_bytes", "held", "refills", "blocks", "carved", "slabs", "pages");
	for (unsigned c = 0; c < st.nclasses; c++) {
		struct hak_class_stats *cs = &st.classes[c];
		if (!cs->refills && !cs->blocks_held && !cs->slabs_live) continue;
		hak_log_fd_printf(
		    fd, "%-9s %6u %12u %10llu %12llu %12llu %10llu %8llu %10llu\n",
		    hak_pool_name(cs->pool), c, cs->block_size, (unsigned long long)cs->blocks_held,
		    (unsigned long long)cs->refills, (unsigned long long)cs->refill_blocks,
		    (unsigned long long)cs->from_carve, (unsigned long long)cs->slabs_live,
		    (unsigned long long)cs->pages_touched);
	}
	hak_log_fd_printf(
	    fd,
	    "superslabs: mapped %llu reused %llu unmapped %llu live %llu warm %llu\n"
	    "slabs: empty %llu reused %llu class-changes %llu purged %llu (%llu pages)\n"
	    "large: mapped %llu reused %llu unmapped %llu live %llu (%llu bytes)\n"
	    "pages first touched %llu, mapped now %llu bytes\n",
	    (unsigned long long)st.superslabs_mapped, (unsigned long long)st.superslabs_reused,
	    (unsigned long long)st.superslabs_unmapped, (unsigned long long)st.superslabs_live,
	    (unsigned long long)st.superslabs_warm, (unsigned long long)st.slab_empty,
	    (unsigned long long)st.slab_reuse, (unsigned long long)st.slab_class_changes,
	    (unsigned long long)st.slab_purge, (unsigned long long)st.pages_purged,
	    (unsigned long long)st.large_mapped, (unsigned long long)st.large_reused,
	    (unsigned long long)st.large_unmapped, (unsigned long long)st.large_live,
	    (unsigned long long)st.large_live_bytes, (unsigned long long)st.pages_touched,
	    (unsigned long long)st.mapped_bytes);
}

void hak_stats_at_exit(void)
{
	if (hak_env.stats) hak_stats_print(hak_log_fd());
}
