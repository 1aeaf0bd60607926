/* The check level and the free-list link key: written once at start-up
 * (env.c, lifecycle.c), read by every path that checks. Here, apart from
 * ptr_track, so that reading them ties no file to the checker. */
#include "check.h"
#include "slab.h"

#include <string.h>
#include <sys/auxv.h>

/* The ASan flavour keeps fast (double frees are not ASan's to see) but
 * cannot run full: its fills would trip ASan on our own poison. */
int hak_check_level = HAK_CHECK_FAST;

uintptr_t hak_link_key = 0x9e3779b97f4a7c15ull;

void hak_track_init_key(void)
{
	/* 16 random bytes the kernel hands every process: no syscall, no malloc. */
	const uint8_t *r = (const uint8_t *)getauxval(AT_RANDOM);
	if (r) {
		uintptr_t k;
		memcpy(&k, r + 8, sizeof k);
		hak_link_key ^= k;
	}
}
