/* A refill that carves fresh pages faults them in with one madvise
 * (MADV_POPULATE_WRITE) before it writes their headers, not with one
 * exception a page (src/slab.c, carve_populates). The kernel counts both
 * kinds of fault in getrusage's minor faults, but only exceptions reach
 * perf's page-fault counter: over mallocs that carve a few thousand fresh
 * pages and touch nothing, the thread takes exceptions for under a third
 * of its minor faults. Then writing every block finds its page there.
 *
 * usage: carve_populate      exit 0 = clean, 1 = a check failed */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { BLOCKS = 6000 };

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

int main(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_PAGE_FAULTS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0) {
		perror("carve_populate: perf_event_open(PERF_COUNT_SW_PAGE_FAULTS) failed; run as "
		       "root or lower /proc/sys/kernel/perf_event_paranoid");
		return 1;
	}
	static void *blocks[BLOCKS];
	free(malloc(1)); /* the allocator and this thread's cache started */
	long f0 = minflt();
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	/* A Tiny class (1040-byte stride) and a Mid one (4112): each refill
	 * carves several pages. */
	for (unsigned i = 0; i < BLOCKS; i++)
		if (!(blocks[i] = malloc(i % 2 ? 1000 : 4000))) {
			fprintf(stderr, "carve_populate: malloc failed at %u\n", i);
			return 1;
		}
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	long faults = minflt() - f0;
	uint64_t exceptions = 0;
	if (read(fd, &exceptions, sizeof exceptions) != sizeof exceptions) {
		perror("carve_populate: reading the counter failed");
		return 1;
	}
	printf("carve_populate: %d blocks: %ld minor faults, %llu of them exceptions\n", BLOCKS,
	       faults, (unsigned long long)exceptions);
	int failed = 0;
	/* 3000 x 1040 + 3000 x 4112 bytes: about 3,770 pages. */
	if (faults < 3000) {
		fprintf(stderr, "carve_populate: %ld minor faults for ~3,770 fresh pages\n",
		        faults);
		failed = 1;
	}
	if ((long)exceptions * 3 > faults) {
		fprintf(stderr,
		        "carve_populate: %llu exceptions for %ld minor faults: the carve did not "
		        "fault its pages in at once\n",
		        (unsigned long long)exceptions, faults);
		failed = 1;
	}
	long f1 = minflt();
	for (unsigned i = 0; i < BLOCKS; i++)
		memset(blocks[i], 0x5a, i % 2 ? 1000 : 4000);
	if (minflt() - f1 > BLOCKS / 100) {
		fprintf(stderr, "carve_populate: writing the blocks took %ld more faults\n",
		        minflt() - f1);
		failed = 1;
	}
	for (unsigned i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	close(fd);
	return failed;
}
