/* Corpus: 64 bytes written into a freed 64-byte block (its first word is
 * the allocator's free-list link), then the program mallocs again. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(64); /* MARK:alloc */
	free(p);              /* MARK:free */
	memset(p, 0x41, 64);  /* MARK:use */
	char *q = malloc(64); /* MARK:malloc2 */
	char *r = malloc(64); /* MARK:malloc3 */
	free(q);
	free(r);
	return 0;
}
