/* Corpus: free of a pointer into the middle of a block. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *buf = malloc(100); /* MARK:alloc */
	memset(buf, 0, 100);
	char *body = buf + 16;
	free(body); /* MARK:free */
	return 0;
}
