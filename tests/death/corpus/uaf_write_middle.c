/* Corpus: one byte written at offset 40 of a freed 64-byte block, past the
 * free-list link; the program then runs on and exits normally. */
#include <stdlib.h>

int main(void)
{
	char *p = malloc(64); /* MARK:alloc */
	free(p);              /* MARK:free */
	p[40] = 1;            /* MARK:use */
	char *q = malloc(64);
	free(q);
	return 0;
}
