/* The four memory functions a C compiler may call even in freestanding code
 * (struct copies, explicit calls). There is no libc on wasm, so they live
 * here, in the lmalloc library: programs and the JS-facing module both get
 * them. With -mbulk-memory the builtins below become single memory.copy /
 * memory.fill instructions, never calls back into these functions.
 */
#include <stddef.h>

void *memcpy(void *restrict dest, const void *restrict src, size_t len);
void *memmove(void *dest, const void *src, size_t len);
void *memset(void *dest, int value, size_t len);
int memcmp(const void *left, const void *right, size_t len);

#if !defined(__wasm_bulk_memory__)
#error "build with -mbulk-memory: memcpy/memset would otherwise call themselves"
#endif

void *memcpy(void *restrict dest, const void *restrict src, size_t len)
{
    __builtin_memcpy(dest, src, len);
    return dest;
}

void *memmove(void *dest, const void *src, size_t len)
{
    __builtin_memmove(dest, src, len); /* memory.copy handles overlap */
    return dest;
}

void *memset(void *dest, int value, size_t len)
{
    __builtin_memset(dest, value, len);
    return dest;
}

int memcmp(const void *left, const void *right, size_t len)
{
    const unsigned char *a = left, *b = right;
    for (size_t index = 0; index < len; index++) {
        if (a[index] != b[index])
            return a[index] < b[index] ? -1 : 1;
    }
    return 0;
}
