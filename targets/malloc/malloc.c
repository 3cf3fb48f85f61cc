/* The standard allocation names over lmalloc. Link this file (the CMake
 * library lmalloc_malloc, or this file beside src/lmalloc.c and a target
 * seam) and lmalloc is the program's malloc: the C library's own allocator is
 * then never linked, because every name it would be pulled in for is
 * defined here, including the internal ones libc calls itself.
 *
 * Each name is a thin call to the lm_ function that does the work, so misuse
 * found through these names is reported exactly as through lm_free & co.
 * ("lmalloc: double free of 0x1f040 (64-byte block)"). errno is set as the C
 * library sets it: ENOMEM when memory runs out, EINVAL for an alignment that
 * is not a power of two; a freestanding wasm module has no errno.
 */
#include "../../src/lmalloc.h"

#if __has_include(<errno.h>)
#include <errno.h>
#define FAIL(code) (errno = (code), (void *)0)
#else
#define FAIL(code) ((void *)0)
#define ENOMEM 12   /* posix_memalign's results where there is no errno.h */
#define EINVAL 22
#endif

/* Tells the target seam that lmalloc is the program's malloc, so no other
 * allocator shares the memory after the static data (targets/wasi/target.c). */
const int lm_malloc_names = 1;

static int alignment_valid(size_t alignment) { return alignment && !(alignment & (alignment - 1)); }

void *malloc(size_t size)
{
    void *ptr = lm_malloc(size);
    return ptr ? ptr : FAIL(ENOMEM);
}

void free(void *ptr) { lm_free(ptr); }

void *calloc(size_t count, size_t size)
{
    void *ptr = lm_calloc(count, size);
    return ptr ? ptr : FAIL(ENOMEM);
}

/* realloc(ptr, 0) frees and returns NULL, which is not a failure. */
void *realloc(void *ptr, size_t size)
{
    void *moved = lm_realloc(ptr, size);
    return moved || (ptr && !size) ? moved : FAIL(ENOMEM);
}

/* realloc of count * size bytes, refused (ptr untouched) if that overflows. */
void *reallocarray(void *ptr, size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size)
        return FAIL(ENOMEM);
    return realloc(ptr, count * size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    if (!alignment_valid(alignment))
        return FAIL(EINVAL);
    void *ptr = lm_aligned_alloc(alignment, size);
    return ptr ? ptr : FAIL(ENOMEM);
}

void *memalign(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }

/* Returns the error instead of setting errno, as POSIX says. */
int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (!alignment_valid(alignment) || alignment % sizeof(void *))
        return EINVAL;
    void *ptr = lm_aligned_alloc(alignment, size);
    if (!ptr)
        return ENOMEM;
    *out = ptr;
    return 0;
}

size_t malloc_usable_size(void *ptr) { return lm_usable_size(ptr); }

/* C23: the size (and alignment) the block was asked with; lmalloc checks the
 * size against the block such a request gets. */
void free_sized(void *ptr, size_t size) { lm_free_sized(ptr, size); }

void free_aligned_sized(void *ptr, size_t alignment, size_t size) { lm_free_aligned_sized(ptr, alignment, size); }

#if defined(__linux__)
/* The rest of what glibc programs may call (glibc's list of what a
 * replacement malloc must define for the names built on it): page-aligned
 * blocks; glibc's own names for the main four follow below. */
#define PAGE_BYTES 4096   /* x86_64 Linux */

void *valloc(size_t size) { return aligned_alloc(PAGE_BYTES, size); }

void *pvalloc(size_t size)
{
    if (size > (size_t)-1 - (PAGE_BYTES - 1))
        return FAIL(ENOMEM);
    return aligned_alloc(PAGE_BYTES, (size + PAGE_BYTES - 1) & ~(size_t)(PAGE_BYTES - 1));
}

void *__libc_memalign(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }
#endif

#if defined(__wasi__) || defined(__linux__)
/* wasi-libc calls these itself (environment, preopens, stdio buffers);
 * glibc exports them, and some programs call them by these names. */
void *__libc_malloc(size_t size) { return malloc(size); }
void *__libc_calloc(size_t count, size_t size) { return calloc(count, size); }
void *__libc_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
void __libc_free(void *ptr) { lm_free(ptr); }
#endif

#if defined(__EMSCRIPTEN__)
/* emscripten's runtime calls these when built with -sMALLOC=none. */
void *emscripten_builtin_malloc(size_t size) { return malloc(size); }
void emscripten_builtin_free(void *ptr) { lm_free(ptr); }
void *emscripten_builtin_memalign(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }
#endif
