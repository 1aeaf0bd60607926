#include "asym_fence.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

int hak_asym_fence_init(void)
{
	long have = membarrier(MEMBARRIER_CMD_QUERY);
	if (have < 0 || !(have & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return 0;
	return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

void hak_asym_fence_heavy(void)
{
	int saved = errno;
	/* Not registered in this process: a fork child on an older kernel. */
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
	    (errno != EPERM || membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
	     membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)) {
		/* Refused (a seccomp filter installed after start-up): no store
		 * waits in a store buffer for a millisecond. */
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	errno = saved;
}
