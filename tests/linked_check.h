/* Guards every test binary against a silent false pass: if the link order
 * or an rpath mistake lets glibc's malloc win, the test would exercise
 * glibc and pass. Resolve the malloc this program really calls and
 * insist that it lives in a libhakmem shared object. */
#ifndef HAKMEM_TESTS_LINKED_CHECK_H
#define HAKMEM_TESTS_LINKED_CHECK_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void expect_hakmem_malloc(void)
{
	/* Through a volatile pointer so the compiler must take the address
	 * the dynamic linker bound, not a builtin. */
	void *(*volatile fn)(size_t) = malloc;
	Dl_info info = {0};

	if (!dladdr((void *)fn, &info) || !info.dli_fname || !strstr(info.dli_fname, "libhakmem")) {
		fprintf(stderr, "FATAL: malloc resolves to %s, not libhakmem\n",
		        info.dli_fname ? info.dli_fname : "(unknown)");
		exit(2);
	}
}

#endif
