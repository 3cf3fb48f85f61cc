/* A program with a bug, for tests/preload/run.sh: it frees one block twice.
 * Under LD_PRELOAD=liblmalloc.so the second free is reported, naming the
 * call, and the program stops there (the line after it never prints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *name = malloc(40);
    strcpy(name, "freed twice");
    free(name);
    free(name);
    puts("after the second free");
    return 0;
}
