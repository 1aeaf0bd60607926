/* Strict command-line number parsing for the benchmarks. A typo must not
 * silently become a different workload, so anything odd exits with 2. */
#ifndef HAKMEM_BENCH_ARGS_H
#define HAKMEM_BENCH_ARGS_H

#include <stdint.h>

/* Set once by the program; used in every error message. */
void args_init(const char *prog, const char *usage);

/* Print "PROG: <why>" and the usage line to stderr, then exit(2). */
__attribute__((noreturn, format(printf, 1, 2))) void args_fail(const char *fmt, ...);

/* Parse a plain decimal number in [min, max]; NAME is the argument's name
 * in the usage line. Signs, spaces, hex and trailing junk are rejected. */
uint64_t args_u64(const char *name, const char *text, uint64_t min, uint64_t max);

#endif
