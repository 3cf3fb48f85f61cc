/* The wasm target (wasm32 and wasm64): the heap is the module's own linear
 * memory 0, from __heap_base to the end, grown with memory.grow.
 *
 * One file serves both widths: __builtin_wasm_memory_size/grow count pages in
 * size_t, which is 32 bits on wasm32 and 64 on wasm64, and uintptr_t follows.
 */
#include "../target.h"

#if LM_TARGET_TIME_GROWTH
#include "../host.h"
#endif

/* First byte after the stack and static data, placed by wasm-ld. */
extern unsigned char __heap_base;

/* Misuse reports go to the embedder: `lmalloc.report` in the import object.
 * uintptr_t/size_t parameters are i32 on wasm32 and i64 (BigInt) on wasm64. */
__attribute__((import_module("lmalloc"), import_name("report")))
void lmalloc_host_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                         const char *line, size_t line_len, int32_t fatal);

/* Secret bytes from the embedder: `lmalloc.random` fills [out, out + bytes)
 * (JS: crypto.getRandomValues) and returns 1, or 0 if it has no source. */
__attribute__((import_module("lmalloc"), import_name("random")))
int32_t lmalloc_host_random(void *out, size_t bytes);

#if LM_TARGET_TIME_GROWTH
uint64_t lm_target_grow_ns;
#endif

/* End of memory in bytes. On wasm32 a full 4 GiB memory would end at 2^32,
 * which uintptr_t cannot hold; lm_target_grow never lets memory get there,
 * and a module declared with 4 GiB of initial memory is clamped one page short. */
static uintptr_t memory_end(void)
{
    size_t pages = __builtin_wasm_memory_size(0);
    if (pages > UINTPTR_MAX / LM_TARGET_PAGE_SIZE)
        return (UINTPTR_MAX / LM_TARGET_PAGE_SIZE) * LM_TARGET_PAGE_SIZE;
    return (uintptr_t)pages * LM_TARGET_PAGE_SIZE;
}

void lm_target_region(uintptr_t *start, uintptr_t *end)
{
    *start = (uintptr_t)&__heap_base;
    *end = memory_end();
}

uintptr_t lm_target_grow(uintptr_t bytes)
{
#if LM_TARGET_TIME_GROWTH
    uint64_t started = lm_host_now_ns();
#endif
    uintptr_t old_end = memory_end();
    uintptr_t result = LM_TARGET_GROW_FAILED;
    /* The new end must stay representable (it is 2^32 for a full wasm32 memory). */
    if (bytes % LM_TARGET_PAGE_SIZE == 0 && bytes <= UINTPTR_MAX - old_end) {
        size_t old_pages = __builtin_wasm_memory_grow(0, bytes / LM_TARGET_PAGE_SIZE);
        if (old_pages != (size_t)-1)
            result = (uintptr_t)old_pages * LM_TARGET_PAGE_SIZE;
    }
#if LM_TARGET_TIME_GROWTH
    lm_target_grow_ns += lm_host_now_ns() - started;
#endif
    return result;
}

void lm_target_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                      const char *line, size_t line_len, int fatal)
{
    lmalloc_host_report(kind, ptr, size, line, line_len, fatal != 0);
    /* A fatal report must not return into the allocator, whatever the host did. */
    if (fatal)
        __builtin_trap();
}

int lm_target_random(void *out, size_t bytes)
{
    return lmalloc_host_random(out, bytes) == 1;
}

#if LM_THREADS
/* Set by the host's thread entry in workers: a browser's main thread may
 * not wait on memory, so it spins. */
_Thread_local int lm_target_may_wait;

void lm_target_wait(uint32_t *word, uint32_t expected)
{
    if (lm_target_may_wait)
        __builtin_wasm_memory_atomic_wait32((int32_t *)word, (int32_t)expected, -1);
    /* else: return at once; the caller tries again (a spin) */
}

void lm_target_wake(uint32_t *word)
{
    __builtin_wasm_memory_atomic_notify((int32_t *)word, 1);
}

/* memory.grow(0) goes to the engine, which then refreshes this instance's
 * record of the memory's size (V8: what a stack check would have done). */
uintptr_t lm_target_memory_catch_up(void)
{
    __builtin_wasm_memory_grow(0, 0);
    return memory_end();
}

void lm_target_on_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare, (void)parent, (void)child;   /* no fork in wasm */
}

void lm_target_on_thread_exit(void (*done)(void))
{
    (void)done;   /* the host's thread wrapper calls lm_thread_exit */
}
#endif
