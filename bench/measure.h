/* What the benchmarks measure, and how they keep their own bookkeeping out
 * of the allocator's numbers. */
#ifndef HAKMEM_BENCH_MEASURE_H
#define HAKMEM_BENCH_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in seconds: immune to wall-clock steps. */
double measure_now(void);

/* Minor faults of the whole process so far (getrusage RUSAGE_SELF). */
uint64_t measure_minflt(void);

/* Peak resident set of this program image in KiB (VmHWM; ru_maxrss as
 * a fallback where /proc is missing). */
uint64_t measure_maxrss_kb(void);

/* A zeroed array of BYTES obtained with mmap, not malloc, and already
 * faulted in, so neither its allocation nor its first touch is charged to
 * the allocator under test. Exits with 1 if the kernel refuses. */
void *measure_array(size_t bytes);
void measure_array_free(void *p, size_t bytes);

#endif
