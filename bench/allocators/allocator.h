/* The allocator under test: one entry per allocator, chosen at build time.
 *
 * Every benchmark program is built once per allocator (bench_<name>), so the
 * workloads call the allocator directly and each allocator owns the whole
 * heap: on wasm all code shares one linear memory, and two allocators in one
 * module would share its growth and blur each other's footprint.
 *
 * Adding an allocator = one .c file here defining the functions below, plus
 * one `bench_allocator(<name> ...)` line in bench/CMakeLists.txt naming its
 * sources, the targets it builds for, and any libraries or flags. Allocators
 * that own their memory through the target seam use bench_sbrk (sbrk.h) so
 * their growth is counted exactly as lmalloc's is.
 */
#ifndef BENCH_ALLOCATOR_H
#define BENCH_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

/* How the allocator's memory use is measured. */
typedef enum bench_footprint_kind {
    BENCH_FOOTPRINT_SEAM = 0,   /* bytes taken from the target seam past the heap start */
    BENCH_FOOTPRINT_RSS = 1     /* native system allocators: peak resident set growth */
} bench_footprint_kind;

typedef struct bench_usage {
    uint64_t footprint_bytes;   /* memory the heap has taken so far (peak) */
    uint64_t grow_calls;        /* successful growth requests to the target */
    uint64_t grow_ns;           /* time spent in them */
    int footprint_kind;         /* bench_footprint_kind */
    int grow_timed;             /* 1 if grow_ns was measured (0: not available) */
} bench_usage;

/* Display name, e.g. "dlmalloc". */
extern const char bench_allocator_name[];
/* The alignment every block is guaranteed to have (the replay checks it). */
extern const size_t bench_allocator_alignment;

/* Called once before any other call (and before the clock starts). */
void bench_allocator_init(void);

void *bench_malloc(size_t size);
void bench_free(void *ptr);
void *bench_realloc(void *ptr, size_t size);
void *bench_calloc(size_t count, size_t size);
void *bench_memalign(size_t alignment, size_t size);   /* power-of-two alignment */

/* Called between passes, when the workload has freed every block: lets the
 * bump allocator start over. Every other allocator does nothing. */
void bench_allocator_reset(void);

void bench_allocator_usage(bench_usage *out);

#endif
