/* Corpus: the same block freed twice, the second time from another function. */
#include <stdlib.h>
#include <string.h>

static void release(char *p)
{
	free(p); /* MARK:free2 */
}

int main(void)
{
	char *p = malloc(40); /* MARK:alloc */
	strcpy(p, "hello");
	free(p); /* MARK:free1 */
	release(p);
	return 0;
}
