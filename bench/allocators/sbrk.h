/* A thin sbrk over the target seam, for the peers that expect one (dlmalloc,
 * emmalloc) and for the bump allocator.
 *
 * The break starts at the heap start lm_target_region reports and moves up;
 * memory is grown with lm_target_grow in whole 64 KiB pages, exactly what
 * the request needs (like emscripten's sbrk), and every growth is counted and
 * timed so peers and lmalloc are measured the same way.
 */
#ifndef BENCH_SBRK_H
#define BENCH_SBRK_H

#include <stddef.h>
#include <stdint.h>

#include "allocator.h"

/* Moves the break by `increment` bytes (negative gives bytes back to the
 * break, never to the target) and returns the old break, or (void *)-1 when
 * the target cannot grow. */
void *bench_sbrk(intptr_t increment);

/* Moves the break back to the heap start (the bump allocator's reset). */
void bench_sbrk_reset(void);

/* Footprint (end of grown memory - heap start), growth calls and time. */
void bench_sbrk_usage(bench_usage *out);

#endif
