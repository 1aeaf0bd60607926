/* Corpus: free of a global array. */
#include <stdlib.h>

static char table[256];

int main(void)
{
	table[0] = 1;
	free(table); /* MARK:free */
	return 0;
}
