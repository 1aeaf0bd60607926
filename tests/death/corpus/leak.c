/* Corpus: blocks allocated in a loop and never freed. */
#include <stdlib.h>
#include <string.h>

static char *make_record(int i)
{
	char *r = malloc(100); /* MARK:alloc */
	memset(r, i, 100);
	return r;
}

int main(void)
{
	static char *keep;
	for (int i = 0; i < 10; i++)
		keep = make_record(i); /* only the last one stays reachable */
	return keep[0] == 9 ? 0 : 1;
}
