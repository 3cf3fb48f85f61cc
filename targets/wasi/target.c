/* The wasm32-wasi target: a WASI program linked with wasi-libc (Debian's
 * wasi-libc: clang-14 --target=wasm32-wasi --sysroot=/usr). The heap is the
 * module's linear memory, taken through the C library's own break (sbrk),
 * so whatever else grows memory through it sees lmalloc's growth and the
 * other way round; misuse reports go to stderr through WASI, no JS import.
 *
 * Sharing memory with another allocator. When lmalloc is the program's
 * malloc (targets/malloc linked: lm_malloc_names is defined), nothing else
 * allocates and the heap starts right after the static data, at
 * __heap_base. Otherwise wasi-libc's dlmalloc is the program's malloc, and
 * on its first call it claims everything from __heap_base to the end of
 * memory at that moment. So lmalloc first lets it make that call, then
 * starts at the end of memory: the two never hand out the same bytes, and
 * memory either grows later lies between them (lmalloc fences off pages it
 * did not grow).
 *
 * When memory was grown by someone else since lmalloc's last growth, the
 * allocator puts the header of its new top block just below the memory it
 * is given: in the other party's last bytes. So then this seam takes one
 * page more and hands lmalloc the memory from the second page on; the
 * header lands in that first page, which is lmalloc's.
 */
#include "../target.h"

#include <stdlib.h>
#include <sys/uio.h>
#include <sys/random.h>
#include <unistd.h>

#if LM_TARGET_TIME_GROWTH
#error "targets/wasi does not time its growth (the benchmarks run on the wasm and native targets)"
#endif

extern unsigned char __heap_base;
extern const int lm_malloc_names __attribute__((weak));

static uintptr_t lmalloc_end;   /* the end of the memory lmalloc was last given */

void lm_target_region(uintptr_t *start, uintptr_t *end)
{
    if (&lm_malloc_names != NULL) {
        *start = (uintptr_t)&__heap_base;
    } else {
        /* The other allocator takes what it takes at its start. (Through a
         * volatile: the compiler would drop a malloc freed unused.) */
        void *volatile first_block = malloc(1);
        free(first_block);
        *start = (uintptr_t)sbrk(0);
    }
    *end = lmalloc_end = (uintptr_t)sbrk(0);
}

uintptr_t lm_target_grow(uintptr_t bytes)
{
    uintptr_t old_end = (uintptr_t)sbrk(0);
    uintptr_t header_page = old_end != lmalloc_end ? LM_TARGET_PAGE_SIZE : 0;
    /* wasi-libc's sbrk aborts on an increment it reads as negative, and the
     * new end must stay representable (a full 4 GiB memory ends at 2^32,
     * where sbrk(0) reads 0). */
    if (old_end == 0 || bytes > INTPTR_MAX - header_page || bytes + header_page > UINTPTR_MAX - old_end)
        return LM_TARGET_GROW_FAILED;
    void *grown = sbrk((intptr_t)(bytes + header_page));
    if (grown == (void *)-1)
        return LM_TARGET_GROW_FAILED;
    lmalloc_end = (uintptr_t)grown + header_page + bytes;
    return (uintptr_t)grown + header_page;
}

void lm_target_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                      const char *line, size_t line_len, int fatal)
{
    (void)kind;
    (void)ptr;
    (void)size;
    struct iovec parts[2] = { { (void *)line, line_len }, { (void *)"\n", 1 } };
    writev(STDERR_FILENO, parts, 2);
    if (fatal)
        abort();
}

/* getentropy: WASI's random_get (wasi-libc), crypto.getRandomValues under
 * emscripten; at most 256 bytes a call. */
int lm_target_random(void *out, size_t bytes)
{
    for (unsigned char *next = out; bytes > 0;) {
        size_t part = bytes < 256 ? bytes : 256;
        if (getentropy(next, part) != 0)
            return 0;
        next += part;
        bytes -= part;
    }
    return 1;
}
