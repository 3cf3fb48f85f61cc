/* What the two benchmark drivers share: the command line, the list of
 * benchmarks it selects, preparing one (set-up, a cold pass that also
 * measures growth, the warm-up), running passes, and the counters every
 * result row carries. driver_wasm.c times passes itself and writes
 * google-benchmark JSON; driver_gbench.cc hands the passes to
 * google-benchmark natively. Both accept the same options:
 *
 *   --workload=NAME[,NAME...]   workloads to run, or all (default: every synthetic
 *                               one, or none when --trace is given)
 *   --trace=PATH                replay this lmtrace file (repeatable)
 *   --seed=N                    random seed (default 42; printed)
 *   --scale=F                   work per pass multiplier (default 1)
 *   --min-time=S                seconds per repetition (default 0.2)
 *   --repetitions=N             repetitions; median reported (default 5)
 *   --verify=sparse|full        pattern density (default sparse)
 *   --json=PATH                 write google-benchmark JSON there
 *   --list                      print the workloads and exit
 */
#ifndef BENCH_DRIVER_H
#define BENCH_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_MAX_INSTANCES 64

typedef struct bench_options {
    uint64_t seed;
    double scale;
    double min_time;
    uint64_t repetitions;
    int full_verify;
    const char *json_path;      /* NULL: no JSON */
} bench_options;

/* One benchmark: a workload, and for replay its trace. */
typedef struct bench_instance {
    const struct workload *work;
    const char *trace_path;     /* NULL unless replay */
    char name[128];             /* "<workload or replay:label>/<allocator>" */
} bench_instance;

/* Result counters of one benchmark, filled by bench_instance_counters. */
typedef struct bench_counters {
    double ops_per_pass;
    double malloc_calls;        /* ops_per_pass by kind */
    double calloc_calls;
    double memalign_calls;
    double realloc_calls;
    double free_calls;
    double peak_live_bytes;
    double footprint_bytes;
    double footprint_ratio;     /* footprint / peak live requested bytes */
    double footprint_kind;      /* bench_footprint_kind */
    double grow_calls;          /* over the whole run */
    double grow_ns;
    double grow_calls_cold;     /* during the first (cold) pass */
    double grow_ns_cold;
    double cold_pass_ns;
    double grow_timed;
    double verify_failures;
    double out_of_memory;
    double alignment;
} bench_counters;

#define BENCH_COUNTER_NAMES \
    X(ops_per_pass) X(malloc_calls) X(calloc_calls) X(memalign_calls) X(realloc_calls) X(free_calls) \
    X(peak_live_bytes) X(footprint_bytes) X(footprint_ratio) X(footprint_kind) \
    X(grow_calls) X(grow_ns) X(grow_calls_cold) X(grow_ns_cold) X(cold_pass_ns) X(grow_timed) \
    X(verify_failures) X(out_of_memory) X(alignment)

/* Parses argv; fills options and instances. Bad options: bench_fail.
 * Returns the number of instances (0 after --list). */
size_t bench_parse_args(int argc, char **argv, bench_options *options,
                        bench_instance *instances, size_t capacity);

/* Counts only the counting builds of bench/count keep, for the latest pass
 * (counting/counting.h): wasm instructions ("instructions_pass",
 * "instructions_<kind>", "instruction_calls_<kind>") and the allocator's
 * memory traffic ("loads_<kind>", "load_bytes_<kind>", "stores_<kind>",
 * "store_bytes_<kind>"). None in the timed programs. */
#define BENCH_MAX_EXTRA_COUNTERS 40
typedef struct bench_extra_counter {
    const char *name;
    double value;
} bench_extra_counter;
size_t bench_extra_counters(bench_extra_counter *out, size_t capacity);

/* Set-up, allocator start (first time), cold pass, finish. */
void bench_instance_prepare(const bench_options *options, const bench_instance *instance);
/* One timed pass of the prepared instance: returns its nanoseconds and the
 * allocator calls it made; finishes and resets the allocator untimed. */
uint64_t bench_instance_pass(uint64_t *ops);
/* The timed pass itself, inside bench_instance_pass and nothing else: a
 * profiler that collects only this function (callgrind's --toggle-collect,
 * as bench/count does) sees exactly the passes that are timed. Returns the
 * pass's nanoseconds. */
uint64_t bench_measured_pass(void);
void bench_instance_counters(bench_counters *out);
/* Reports the last instance's verification failures on stderr, flushes
 * output, and returns the failures of all instances (0: all verified). */
uint64_t bench_finish(void);

/* "lmalloc", "dlmalloc", ...; and "native", "wasm32" or "wasm64". */
const char *bench_allocator(void);
const char *bench_target(void);

/* One progress line on stdout: "<name> <target>: 12.3 M ops/s, ..." */
void bench_print_summary(const bench_instance *instance, double ops_per_second, const bench_counters *counters);

void bench_flush(void);

#ifdef __cplusplus
}
#endif
#endif
