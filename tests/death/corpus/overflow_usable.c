/* Corpus: a write just past malloc_usable_size, onto the next block's header. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *a = malloc(48); /* MARK:alloc */
	char *b = malloc(48);
	size_t n = malloc_usable_size(a);
	memset(a, 'x', n + 1); /* one byte into what follows a */
	free(a);               /* MARK:free */
	free(b);               /* MARK:free_b */
	return 0;
}
