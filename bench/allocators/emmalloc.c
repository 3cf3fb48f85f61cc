/* emmalloc as emscripten ships it (Debian package `emscripten`,
 * system/lib/emmalloc.c), extracted and patched into the build folder by
 * bench/peers/extract.cmake, on the target seam through bench_sbrk.
 *
 * emmalloc is written for emscripten's 32-bit wasm; the patches (each one
 * checked when applied) make it build and run freestanding on every target:
 *  - emscripten and libc headers replaced by the declarations below;
 *  - MALLOC_ALIGNMENT is BENCH_EMMALLOC_ALIGNMENT: 8 bytes on wasm32 and
 *    wasm64 as emscripten gives, 16 natively (the x86_64 ABI's malloc);
 *  - the region-block list stores pointers in uintptr_t slots, not uint32_t
 *    (identical on wasm32; native pointers do not fit in 32 bits);
 *  - the smallest payload is sizeof(Region) - header, so a freed block can
 *    always hold its free-list links (identical on wasm32: 8 bytes);
 *  - no static constructor: bench_allocator_init sets the heap up.
 * Built with -fno-strict-aliasing: clang-14 -O2 otherwise miscompiles its
 * type punning and the heap breaks, on wasm32 too. */
#include "allocator.h"
#include "sbrk.h"

#include <stddef.h>
#include <stdint.h>

#if UINTPTR_MAX > 0xffffffffu && !defined(__wasm__)
#define BENCH_EMMALLOC_ALIGNMENT 16
#else
#define BENCH_EMMALLOC_ALIGNMENT 8
#endif

/* What the removed headers provided. NDEBUG build, as emscripten's release. */
#define assert(condition) ((void)0)
#define static_assert _Static_assert
/* Logging goes to the JS console on emscripten; nowhere here. */
#define MAIN_THREAD_ASYNC_EM_ASM(...) ((void)0)
#define EM_ASM(...) ((void)0)
#define sbrk bench_sbrk
#define memcpy __builtin_memcpy
#define memset __builtin_memset
static inline size_t emscripten_get_heap_size(void) { return 0; }
static inline size_t emscripten_get_heap_max(void) { return 0; }

/* emmalloc also defines the standard names; natively they would replace
 * glibc's malloc for the whole process, so they get private names. */
#define malloc emmalloc_std_malloc
#define free emmalloc_std_free
#define calloc emmalloc_std_calloc
#define realloc emmalloc_std_realloc
#define memalign emmalloc_std_memalign
#define aligned_alloc emmalloc_std_aligned_alloc
#define aligned_realloc emmalloc_std_aligned_realloc
#define posix_memalign emmalloc_std_posix_memalign
#define malloc_usable_size emmalloc_std_malloc_usable_size
#define malloc_trim emmalloc_std_malloc_trim
#define mallinfo emmalloc_std_mallinfo
#define __libc_malloc emmalloc_libc_malloc
#define __libc_free emmalloc_libc_free
#define __libc_calloc emmalloc_libc_calloc
#define __libc_realloc emmalloc_libc_realloc

struct mallinfo {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

/* Extracted and patched by bench/peers/extract.cmake into the build folder. */
#include <bench-peers/emmalloc.c>

const char bench_allocator_name[] = "emmalloc";
const size_t bench_allocator_alignment = BENCH_EMMALLOC_ALIGNMENT;

void bench_allocator_init(void)
{
    initialize_emmalloc_heap();
}

void bench_allocator_reset(void) {}

void *bench_malloc(size_t size) { return emmalloc_malloc(size); }
void bench_free(void *ptr) { emmalloc_free(ptr); }
void *bench_realloc(void *ptr, size_t size) { return emmalloc_realloc(ptr, size); }
void *bench_calloc(size_t count, size_t size) { return emmalloc_calloc(count, size); }
void *bench_memalign(size_t alignment, size_t size) { return emmalloc_memalign(alignment, size); }

void bench_allocator_usage(bench_usage *out)
{
    bench_sbrk_usage(out);
}
