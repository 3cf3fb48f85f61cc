/* The code-size baseline: the allocator interface with no allocator behind
 * it (each function one trivial instruction sequence). */
#include "allocators/allocator.h"

const char bench_allocator_name[] = "none";
const size_t bench_allocator_alignment = 16;

static char dummy[16];

void bench_allocator_init(void) {}
void bench_allocator_reset(void) {}
void *bench_malloc(size_t size) { return size ? dummy : NULL; }
void bench_free(void *ptr) { (void)ptr; }
void *bench_realloc(void *ptr, size_t size) { return size ? ptr : NULL; }
void *bench_calloc(size_t count, size_t size) { return count && size ? dummy : NULL; }
void *bench_memalign(size_t alignment, size_t size) { (void)alignment; return size ? dummy : NULL; }
void bench_allocator_usage(bench_usage *out) { *out = (bench_usage){ 0, 0, 0, 0, 0 }; }
