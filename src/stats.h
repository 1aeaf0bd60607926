/* The stats report (hak_stats_get, hak_stats_print, HAKMEM_STATS=1 at
 * exit): reads the counter store (stats_counters.h), the pools' slabs
 * and the size classes; nothing in the allocator calls into it. */
#ifndef HAKMEM_STATS_H
#define HAKMEM_STATS_H

#include "config.h"

HAK_INTERNAL void hak_stats_at_exit(void);

#endif
