/* The benchmark workloads: one C source for native, wasm32 and wasm64.
 *
 * A workload is a pass that allocates, writes into every block, uses the
 * blocks, verifies their contents and frees them again, so a pass leaves the
 * heap as it found it and can be repeated. Every returned pointer is checked
 * against the allocator's alignment guarantee; every block carries a pattern
 * written after allocation and checked before free and after realloc (the
 * preserved prefix), so overlapping or corrupted blocks are reported.
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of allocator call a pass makes, counted apart: per-call costs
 * (bench/count) divide by them. */
typedef enum bench_call {
    BENCH_MALLOC, BENCH_CALLOC, BENCH_MEMALIGN, BENCH_REALLOC, BENCH_FREE, BENCH_CALL_KINDS
} bench_call;

/* "malloc", "calloc", "memalign", "realloc", "free", indexed by bench_call. */
extern const char *const bench_call_names[BENCH_CALL_KINDS];

typedef struct bench_run {
    /* Settings, from the command line. */
    uint64_t seed;
    double scale;            /* multiplies the work in one pass */
    int full_verify;         /* 1: write and check every byte; 0: sparse (see workloads.c) */
    /* Counters the workloads keep. */
    uint64_t calls[BENCH_CALL_KINDS];   /* allocator calls, by kind */
    uint64_t live_bytes;     /* requested bytes of the blocks live now */
    uint64_t peak_live_bytes;
    uint64_t verify_failures;
    uint64_t out_of_memory;  /* allocations that returned NULL */
    uint64_t next_tag;       /* gives every block its own pattern */
    char first_failure[256];
} bench_run;

typedef struct workload {
    const char *name;
    const char *description;
    int needs_trace;                                      /* 1 for replay */
    /* Prepares the harness's tables (never the allocator). Bad input: bench_fail. */
    void (*setup)(bench_run *run, const char *trace_path);
    /* One pass; returns the nanoseconds of its timed part. */
    uint64_t (*pass)(bench_run *run);
    /* Untimed: frees what a pass left live (a trace's never-freed blocks). */
    void (*finish)(bench_run *run);
} workload;

/* All allocator calls so far, of every kind. */
uint64_t run_calls_total(const bench_run *run);

extern const workload bench_workloads[];
extern const size_t bench_workload_count;

/* NULL if there is no workload of that name. */
const workload *workload_find(const char *name);

#endif
