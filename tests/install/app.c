/* Built against an installed hakmem with `pkg-config --cflags --libs
 * hakmem`: its malloc must be hakmem's (a refill shows in the stats). */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(100);
	if (!p) return 1;
	strcpy(p, "hakmem");
	struct hak_stats s;
	hak_stats_get(&s);
	printf("%s %s refills=%s\n", p, hak_version(), s.refills > 0 ? "yes" : "no");
	free(p);
	return s.refills > 0 ? 0 : 1;
}
