/* libcsfill.so: the call-site tests' shared library (see csprog.c). */
#include <stdlib.h>

void *cache_fill(size_t bytes, size_t block);

static void *head;

void *cache_fill(size_t bytes, size_t block)
{
	for (size_t done = 0; done < bytes; done += block) {
		void **p = malloc(block);
		if (!p) abort();
		*p = head; /* kept: a list through the blocks */
		head = p;
	}
	return head;
}
