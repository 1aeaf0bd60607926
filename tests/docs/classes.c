/* The size classes as the library serves them, for check_docs.py's
 * 'classes' check: every request size from 1 to 32 KiB + 1 through malloc,
 * grouped into runs that get the same block header (p[-1], documented in
 * reference.md) and usable size, then the class table of hak_stats_get().
 *
 * output: "range FIRST LAST HEADER USABLE" per run (HEADER 0x8e: large),
 *         "class C POOL BLOCK_SIZE" per class */
#include <hakmem.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LAST_SIZE (32768 + 1)

/* The header byte before p: outside the object as C sees it, so read
 * through its address. */
static unsigned header_of(const void *p)
{
	return *(const volatile unsigned char *)((uintptr_t)p - 1);
}

int main(void)
{
	size_t first = 1;
	unsigned run_hdr = 0;
	size_t run_usable = 0;
	for (size_t n = 1; n <= LAST_SIZE + 1; n++) {
		unsigned hdr = 0;
		size_t usable = 0;
		if (n <= LAST_SIZE) {
			void *p = malloc(n);
			if (!p) {
				fprintf(stderr, "classes: malloc(%zu) failed\n", n);
				return 1;
			}
			hdr = header_of(p);
			usable = malloc_usable_size(p);
			free(p);
		}
		if (n > 1 && (hdr != run_hdr || (hdr != 0x8e && usable != run_usable))) {
			printf("range %zu %zu 0x%02x %zu\n", first, n - 1, run_hdr,
			       run_hdr == 0x8e ? (size_t)0 : run_usable);
			first = n;
		}
		run_hdr = hdr;
		run_usable = usable;
	}
	struct hak_stats s;
	hak_stats_get(&s);
	for (unsigned c = 0; c < s.nclasses; c++)
		printf("class %u %u %u\n", c, (unsigned)s.classes[c].pool,
		       (unsigned)s.classes[c].block_size);
	return 0;
}
