/* Corpus: a write one byte before the block, onto its header. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(64); /* MARK:alloc */
	memset(p, 0, 64);
	p[-1] = 'A'; /* an index computed as -1 */
	free(p);     /* MARK:free */
	return 0;
}
