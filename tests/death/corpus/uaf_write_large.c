/* Corpus: a write into a freed 100 KiB block (a large span). */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(100 * 1024); /* MARK:alloc */
	memset(p, 0, 100 * 1024);
	free(p);                  /* MARK:free */
	memset(p + 100, 'z', 16); /* MARK:use */
	char *q = malloc(50);
	free(q);
	return 0;
}
