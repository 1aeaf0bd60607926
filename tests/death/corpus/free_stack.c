/* Corpus: free of a stack address. */
#include <stdlib.h>
#include <string.h>

static void consume(char *buf)
{
	free(buf); /* MARK:free */
}

int main(void)
{
	char local[64];
	memset(local, 0, sizeof local);
	consume(local);
	return 0;
}
