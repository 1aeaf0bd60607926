/* Bug 2: in the ASan flavour (libhakmem-asan.a), malloc_usable_size()
 * reports the class's usable size, but only the requested bytes are
 * unpoisoned: a program that uses the bytes malloc_usable_size promised
 * (as glibc documents it may) gets an AddressSanitizer report. Built with
 * -fsanitize=address through the archive's interface options. */
#include "hakmem.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
	static const size_t sizes[] = {1, 20, 100, 1000, 3000, 40000};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = hak_malloc(sizes[i]);
		size_t u = hak_malloc_usable_size(p);
		memset(p, 'x', u);           /* the program's bytes, says malloc_usable_size */
		char *q = hak_realloc(p, u); /* fits: stays in place */
		memset(q, 'y', u);
		printf("malloc(%zu): usable %zu, all of it writable\n", sizes[i], u);
		hak_free(q);
	}
	void *a = hak_aligned_alloc(256, 700);
	memset(a, 'z', hak_malloc_usable_size(a));
	hak_free(a);
	return 0;
}
