/* The shared library of the symbolize test: its double free must be
 * named from the library's own symbols and DWARF. */
#include <stdlib.h>

static volatile char sink;

void symlib_double_free(void);

__attribute__((noinline)) void symlib_double_free(void)
{
	char *p = malloc(40); /* MARK: lib malloc */
	sink = p[0];
	free(p); /* MARK: lib first free */
	free(p); /* MARK: lib second free */
}
