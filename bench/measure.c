#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double measure_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct rusage measure_rusage(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru;
}

uint64_t measure_minflt(void)
{
	return (uint64_t)measure_rusage().ru_minflt;
}

uint64_t measure_maxrss_kb(void)
{
	char line[128];
	unsigned long long kb;
	FILE *f = fopen("/proc/self/status", "r");

	/* ru_maxrss survives execve: a benchmark started by a 100 MB Python
	 * driver would report 100 MB. VmHWM is the peak of this program's
	 * own address space, which is what we want. */
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
				fclose(f);
				return kb;
			}
		fclose(f);
	}
	return (uint64_t)measure_rusage().ru_maxrss; /* KiB on Linux */
}

void *measure_array(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* Write, not read: a read would map the shared zero page and the
	 * real fault would come later, inside the timed loop. */
	for (size_t off = 0; off < bytes; off += page)
		p[off] = 0;
	return (void *)p;
}

void measure_array_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}
