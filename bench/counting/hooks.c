/* The counting hooks as the timed programs have them: counting nothing
 * (see counting.h). bench_wasm_count sits alone in its translation unit, so
 * its callers keep calling it and instrument_wasm.js can replace its body;
 * traffic.c replaces bench_traffic_read at link time. */
#include "counting.h"

uint64_t bench_wasm_count(unsigned which)
{
    (void)which;
    return 0;
}

__attribute__((weak)) int bench_traffic_read(bench_traffic traffic[BENCH_CALL_KINDS])
{
    (void)traffic;
    return 0;
}
