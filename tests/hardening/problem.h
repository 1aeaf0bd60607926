/* The hardening programs' failure counter: PROBLEM("fmt", ...) prints one
 * "FAIL: ..." line on stderr and counts it; the program exits non-zero
 * when `problems` is. One per program (static). */
#ifndef HAKMEM_HARDENING_PROBLEM_H
#define HAKMEM_HARDENING_PROBLEM_H

#include <stdio.h>

static int problems;
#define PROBLEM(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
		fputc('\n', stderr);                                                               \
		problems++;                                                                        \
	} while (0)

#endif
