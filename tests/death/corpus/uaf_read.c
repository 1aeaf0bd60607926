/* Corpus: a read through a dangling pointer. Reads change nothing, so
 * only a tool that watches every load (valgrind, ASan) can see this one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(64); /* MARK:alloc */
	strcpy(p, "secret");
	free(p);                /* MARK:free */
	volatile char c = p[3]; /* MARK:use */
	printf("read %d\n", c != 0);
	return 0;
}
