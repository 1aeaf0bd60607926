/* Corpus: the classic off-by-one: a NUL one byte past a 40-byte request. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *name = malloc(40); /* MARK:alloc */
	memset(name, 'a', 40);
	name[40] = '\0'; /* one past the end */
	free(name);      /* MARK:free */
	return 0;
}
