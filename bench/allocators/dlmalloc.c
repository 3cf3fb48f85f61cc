/* dlmalloc 2.8.6 as emscripten ships it (Debian package `emscripten`,
 * system/lib/dlmalloc.c), extracted into the build folder at configure time
 * (bench/peers/extract.cmake) and configured here for a freestanding heap on
 * the target seam: no locks, no mmap, MORECORE = bench_sbrk (contiguous,
 * never trimmed), no stdio/errno/time. Alignment is dlmalloc's default,
 * two words: 8 bytes on wasm32 (as emscripten's build), 16 on wasm64 and
 * native. Compiled in this one translation unit so the dl* functions stay
 * static and the wrappers below call them directly. */
#include "allocator.h"
#include "sbrk.h"

#define USE_DL_PREFIX 1
#define DLMALLOC_EXPORT static
#define ONLY_MSPACES 0
#define MSPACES 0
#define USE_LOCKS 0
#define HAVE_MMAP 0
#define HAVE_MREMAP 0
#define MORECORE bench_sbrk
#define MORECORE_CONTIGUOUS 1
#define MORECORE_CANNOT_TRIM 1
#define NO_MALLOC_STATS 1
#define NO_MALLINFO 1
#define LACKS_UNISTD_H 1
#define LACKS_FCNTL_H 1
#define LACKS_SYS_PARAM_H 1
#define LACKS_SYS_MMAN_H 1
#define LACKS_STRINGS_H 1
#define LACKS_STRING_H 1
#define LACKS_SYS_TYPES_H 1
#define LACKS_ERRNO_H 1
#define LACKS_STDLIB_H 1
#define LACKS_SCHED_H 1
#define LACKS_TIME_H 1
#define MALLOC_FAILURE_ACTION
#define ENOMEM 12
#define EINVAL 22
#define ABORT __builtin_trap()
#define malloc_getpagesize ((size_t)4096U)
/* -ffreestanding: name the builtins so wasm gets memory.copy / memory.fill. */
#define memset __builtin_memset
#define memcpy __builtin_memcpy

/* Extracted and checked by bench/peers/extract.cmake into the build folder. */
#include <bench-peers/dlmalloc.c>

const char bench_allocator_name[] = "dlmalloc";
const size_t bench_allocator_alignment = MALLOC_ALIGNMENT;

void bench_allocator_init(void) {}
void bench_allocator_reset(void) {}

void *bench_malloc(size_t size) { return dlmalloc(size); }
void bench_free(void *ptr) { dlfree(ptr); }
void *bench_realloc(void *ptr, size_t size) { return dlrealloc(ptr, size); }
void *bench_calloc(size_t count, size_t size) { return dlcalloc(count, size); }
void *bench_memalign(size_t alignment, size_t size) { return dlmemalign(alignment, size); }

void bench_allocator_usage(bench_usage *out)
{
    bench_sbrk_usage(out);
}
