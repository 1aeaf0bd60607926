/* The check level, the free-list link key and the checker's hooks
 * (written once at start-up by env.c and lifecycle.c) and the in-report
 * flag, read by every path that checks. Here, apart from ptr_track and heap_report, so that reading
 * them ties no file to the checker. */
#include "check.h"
#include "slab.h"

#include <string.h>
#include <sys/auxv.h>

/* The ASan flavour keeps fast (double frees are not ASan's to see) but
 * cannot run full: its fills would trip ASan on our own poison. */
union hak_entry_gate hak_entry_gate = {.f = {.level = HAK_CHECK_FAST}};

uintptr_t hak_link_key = 0x9e3779b97f4a7c15ull;

__thread int hak_in_report __attribute__((tls_model("initial-exec")));

/* Until lifecycle.c fills them (unit tests that skip hak_init): nothing. */
static unsigned no_thread_exit(struct hak_quarantined *out, unsigned max)
{
	(void)out;
	(void)max;
	return 0;
}
static void no_large_reused(uint8_t *start, size_t bytes)
{
	(void)start;
	(void)bytes;
}
struct hak_check_hooks hak_check_hooks = {.thread_exit = no_thread_exit,
                                          .large_reused = no_large_reused};

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
