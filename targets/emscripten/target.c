/* The emscripten target: a program built with emcc -sMALLOC=none, where
 * lmalloc (targets/malloc linked) is the program's malloc and provides the
 * emscripten_builtin_* names the runtime calls. The heap is linear memory
 * from __heap_base, grown with memory.grow; emscripten's JS side is then told
 * (emscripten_notify_memory_growth), so its views of memory follow. Misuse
 * reports go to stderr, then abort() if fatal.
 *
 * Beside emscripten's own malloc (-sMALLOC=dlmalloc or emmalloc) both would
 * start at __heap_base, and that malloc's sbrk takes any memory up to the end
 * as its own: lmalloc refuses to start there, with a message saying so.
 */
#define _DEFAULT_SOURCE   /* getentropy */
#include "../target.h"

#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#if LM_TARGET_TIME_GROWTH
#error "targets/emscripten does not time its growth (the benchmarks run on the wasm and native targets)"
#endif

extern unsigned char __heap_base;
extern const int lm_malloc_names __attribute__((weak));

/* emscripten's JS library (library.js): renews its views of memory after a
 * memory.grow made by wasm code. No header declares it. */
void emscripten_notify_memory_growth(size_t memory_index);

static void write_line(const char *line, size_t line_len)
{
    struct iovec parts[2] = { { (void *)line, line_len }, { (void *)"\n", 1 } };
    writev(STDERR_FILENO, parts, 2);
}

void lm_target_region(uintptr_t *start, uintptr_t *end)
{
    if (&lm_malloc_names == NULL) {
        static const char refusal[] =
            "lmalloc: emscripten's own malloc already owns the memory after __heap_base; "
            "link with -sMALLOC=none and lmalloc's malloc names (targets/malloc/malloc.c)";
        write_line(refusal, sizeof refusal - 1);
        abort();
    }
    *start = (uintptr_t)&__heap_base;
    *end = (uintptr_t)__builtin_wasm_memory_size(0) * LM_TARGET_PAGE_SIZE;
}

uintptr_t lm_target_grow(uintptr_t bytes)
{
    uintptr_t old_end = (uintptr_t)__builtin_wasm_memory_size(0) * LM_TARGET_PAGE_SIZE;
    /* The new end must stay representable (a full 4 GiB memory ends at 2^32). */
    if (bytes % LM_TARGET_PAGE_SIZE || bytes > UINTPTR_MAX - old_end)
        return LM_TARGET_GROW_FAILED;
    if (__builtin_wasm_memory_grow(0, bytes / LM_TARGET_PAGE_SIZE) == (size_t)-1)
        return LM_TARGET_GROW_FAILED;
    emscripten_notify_memory_growth(0);
    return old_end;
}

void lm_target_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                      const char *line, size_t line_len, int fatal)
{
    (void)kind;
    (void)ptr;
    (void)size;
    write_line(line, line_len);
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
