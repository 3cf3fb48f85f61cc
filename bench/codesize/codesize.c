/* A tiny module that uses an allocator's malloc, calloc, realloc and free,
 * built once per allocator entry (and once with none.c): the difference of
 * their code sections is the code the allocator adds to a module. Sizes come
 * from argc so nothing is folded away. */
#include "allocators/allocator.h"

int main(int argc, char **argv)
{
    (void)argv;
    bench_allocator_init();
    size_t unit = (size_t)argc;
    char *block = bench_malloc(unit * 24);
    char *zeroed = bench_calloc(unit, 40);
    block = bench_realloc(block, unit * 200);
    int result = (block != NULL) + (zeroed != NULL);
    bench_free(zeroed);
    bench_free(block);
    return result == 2 ? 0 : 1;
}
