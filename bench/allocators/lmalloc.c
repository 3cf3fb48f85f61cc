/* lmalloc, the allocator this project builds. Growth is counted by lmalloc
 * itself (lm_stats) and timed by the target when the bench build compiles it
 * with LM_TARGET_TIME_GROWTH=1. */
#include "allocator.h"

#include "../../src/lmalloc.h"
#include "../../targets/target.h"

#ifndef BENCH_LMALLOC_NAME
#define BENCH_LMALLOC_NAME "lmalloc"
#endif
const char bench_allocator_name[] = BENCH_LMALLOC_NAME;
const size_t bench_allocator_alignment = LM_ALIGNMENT;

void bench_allocator_init(void) {}
void bench_allocator_reset(void) {}

void *bench_malloc(size_t size) { return lm_malloc(size); }
void bench_free(void *ptr) { lm_free(ptr); }
void *bench_realloc(void *ptr, size_t size) { return lm_realloc(ptr, size); }
void *bench_calloc(size_t count, size_t size) { return lm_calloc(count, size); }
void *bench_memalign(size_t alignment, size_t size) { return lm_aligned_alloc(alignment, size); }

void bench_allocator_usage(bench_usage *out)
{
    lm_stats_t stats;
    lm_stats(&stats);
    out->footprint_bytes = stats.peak_footprint;
    out->grow_calls = stats.grow_calls;
    out->footprint_kind = BENCH_FOOTPRINT_SEAM;
#if LM_TARGET_TIME_GROWTH
    out->grow_ns = lm_target_grow_ns;
    out->grow_timed = 1;
#else
    out->grow_ns = 0;
    out->grow_timed = 0;
#endif
}
