/* Corpus: free of an address inside the heap that was never handed out. */
#include <stdint.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(24); /* MARK:alloc */
	/* Near the end of p's own 64 KiB slab: far past anything carved so far. */
	char *never = (char *)(((uintptr_t)p & ~(uintptr_t)0xffff) + 0x10000 - 64);
	free(never); /* MARK:free */
	free(p);
	return 0;
}
