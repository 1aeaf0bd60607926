/* HAKMEM_* settings, parsed once at first use. */
#ifndef HAKMEM_ENV_H
#define HAKMEM_ENV_H

#include "config.h"

struct hak_prewarm {
	uint32_t size;  /* request size in bytes; its class is prewarmed */
	uint32_t slabs; /* slabs to map and fault in at start */
};

#define HAK_MAX_PREWARM 16

struct hak_env {
	int stats;                /* HAKMEM_STATS: print the table at exit */
	int smallmid;             /* HAKMEM_SMALLMID: 256 B..1 KiB in their own pool */
	unsigned warm_superslabs; /* HAKMEM_WARM_SUPERSLABS: kept mapped per pool */
	long purge_delay_ms;      /* HAKMEM_PURGE_DELAY_MS: -1 never purges */
	long large_cache_mb;      /* HAKMEM_LARGE_CACHE_MB; -1: no limit */
	int on_error;             /* HAKMEM_ON_ERROR: enum hak_on_error */
	int check_at_exit;        /* HAKMEM_CHECK_AT_EXIT: hak_heap_check() at exit */
	int leaks;                /* HAKMEM_LEAKS: full mode lists live blocks at exit */
	unsigned quarantine_kb;   /* HAKMEM_QUARANTINE_KB: full-mode quarantine bound */
	int backtrace_unwind;     /* HAKMEM_BACKTRACE=unwind: exact stacks, slow */
	unsigned nprewarm;        /* HAKMEM_PREWARM=SIZE:SLABS,... */
	struct hak_prewarm prewarm[HAK_MAX_PREWARM];
};

HAK_INTERNAL extern struct hak_env hak_env;

/* Reads the environment into hak_env; warns once per bad value. */
HAK_INTERNAL void hak_env_load(void);

/* Index of s in the NULL-terminated words, or -1. */
HAK_INTERNAL int hak_env_parse_word(const char *s, const char *const *words);

/* Parsers, exposed for unit tests. Return 0 on success, -1 on a bad value. */
HAK_INTERNAL int hak_env_parse_long(const char *s, long min, long max, long *out);
HAK_INTERNAL int hak_env_parse_bool(const char *s, int *out);
HAK_INTERNAL int hak_env_parse_prewarm(const char *s, struct hak_prewarm *out, unsigned max,
                                       unsigned *n);

#endif
