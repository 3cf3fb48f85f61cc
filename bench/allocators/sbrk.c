/* A thin sbrk over the target seam (see sbrk.h). */
#include "sbrk.h"

#include "../../targets/host.h"
#include "../../targets/target.h"

static uintptr_t heap_start;     /* 0 until the first call */
static uintptr_t heap_break;     /* next byte sbrk hands out */
static uintptr_t memory_end;     /* end of memory usable without growing */
static uint64_t grow_calls;
static uint64_t grow_ns;

static void sbrk_init(void)
{
    uintptr_t start, end;
    lm_target_region(&start, &end);
    /* Peers assume at least 16-byte aligned sbrk results. */
    heap_start = (start + 15) & ~(uintptr_t)15;
    heap_break = heap_start;
    memory_end = end;
}

void *bench_sbrk(intptr_t increment)
{
    if (heap_start == 0)
        sbrk_init();
    uintptr_t old_break = heap_break;
    if (increment < 0) {
        uintptr_t shrink = (uintptr_t)0 - (uintptr_t)increment;
        if (shrink > heap_break - heap_start)
            return (void *)-1;
        heap_break -= shrink;
        return (void *)old_break;
    }
    uintptr_t wanted = (uintptr_t)increment;
    if (wanted > UINTPTR_MAX - heap_break)
        return (void *)-1;
    uintptr_t new_break = heap_break + wanted;
    if (new_break > memory_end) {
        uintptr_t missing = new_break - memory_end;
        uintptr_t bytes = (missing + (LM_TARGET_PAGE_SIZE - 1)) & ~(uintptr_t)(LM_TARGET_PAGE_SIZE - 1);
        if (bytes < missing)
            return (void *)-1;
        uint64_t started = lm_host_now_ns();
        uintptr_t old_end = lm_target_grow(bytes);
        grow_ns += lm_host_now_ns() - started;
        if (old_end == LM_TARGET_GROW_FAILED)
            return (void *)-1;
        grow_calls++;
        /* Nobody else grows memory in a peer's program: growth is contiguous. */
        memory_end = old_end + bytes;
    }
    heap_break = new_break;
    return (void *)old_break;
}

void bench_sbrk_reset(void)
{
    heap_break = heap_start;
}

void bench_sbrk_usage(bench_usage *out)
{
    if (heap_start == 0)
        sbrk_init();
    out->footprint_bytes = memory_end - heap_start;
    out->grow_calls = grow_calls;
    out->grow_ns = grow_ns;
    out->footprint_kind = BENCH_FOOTPRINT_SEAM;
    out->grow_timed = 1;
}
