/* What the counting builds measure beside the clock (bench/count).
 *
 * The timed benchmark programs count nothing: there these hooks report
 * nothing. Two other builds of each benchmark program give them values:
 *  - bench_instructions_<allocator>.wasm, as wasm-ld links it, rewritten by
 *    instrument_wasm.js: bench_wasm_count reports the wasm instructions
 *    executed inside the allocator's calls and in the measured passes;
 *  - bench_traffic_<allocator>, whose allocator sources are compiled with
 *    -fsanitize-coverage=trace-loads,trace-stores (traffic.c):
 *    bench_traffic_read reports the bytes they loaded and stored.
 * The driver reads both around every measured pass (driver.c).
 */
#ifndef BENCH_COUNTING_H
#define BENCH_COUNTING_H

#include <stdint.h>

#include "../workloads.h"

/* Counts since the start, by `which`: 0 .. BENCH_CALL_KINDS-1 the wasm
 * instructions executed inside calls of that kind (bench_call order),
 * BENCH_CALL_KINDS .. 2*BENCH_CALL_KINDS-1 those calls, and
 * BENCH_WASM_PASS_INSTRUCTIONS the instructions of the measured passes. */
#define BENCH_WASM_PASS_INSTRUCTIONS (2 * BENCH_CALL_KINDS)
#define BENCH_WASM_COUNTS (BENCH_WASM_PASS_INSTRUCTIONS + 1)
uint64_t bench_wasm_count(unsigned which);

/* Loads and stores the allocator's own code made, with their bytes. */
typedef struct bench_traffic {
    uint64_t loads, load_bytes, stores, store_bytes;
} bench_traffic;

/* Fills the traffic of every kind of call since the start and returns 1;
 * returns 0 in a program that does not count it. */
int bench_traffic_read(bench_traffic traffic[BENCH_CALL_KINDS]);

#endif
