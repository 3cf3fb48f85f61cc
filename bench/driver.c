/* Shared driver logic (see driver.h). Freestanding C11. */
#include "driver.h"

#include "allocators/allocator.h"
#include "counting/counting.h"
#include "harness.h"
#include "workloads.h"

#ifndef BENCH_TARGET_NAME
#error "BENCH_TARGET_NAME (native, wasm32 or wasm64) must come from the build"
#endif

/* Natively, bench/count runs callgrind with instrumentation off until the
 * measured pass (--instr-atstart=no): set-up and cold pass run at valgrind's
 * base speed. Outside valgrind these are a few instructions per pass. */
#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define PROFILE_PASS_BEGIN() CALLGRIND_START_INSTRUMENTATION
#define PROFILE_PASS_END() CALLGRIND_STOP_INSTRUMENTATION
#endif
#endif
#ifndef PROFILE_PASS_BEGIN
#define PROFILE_PASS_BEGIN() ((void)0)
#define PROFILE_PASS_END() ((void)0)
#endif

static bench_run current_run;
static const bench_instance *current_instance;
static bench_usage usage_start, usage_after_cold;
static uint64_t cold_pass_ns;
static uint64_t last_pass_calls[BENCH_CALL_KINDS];   /* allocator calls of the latest pass */
static int allocator_started;

const char *bench_allocator(void) { return bench_allocator_name; }
const char *bench_target(void) { return BENCH_TARGET_NAME; }

static void usage_line(void)
{
    out_str(&bench_stderr,
            "usage: bench_<allocator> [--workload=NAME[,NAME...]] [--trace=PATH]... [--seed=N]\n"
            "       [--scale=F] [--min-time=S] [--repetitions=N] [--verify=sparse|full]\n"
            "       [--json=PATH] [--list]\n");
}

static void instance_add(bench_instance *instances, size_t capacity, size_t *count,
                         const workload *work, const char *trace_path)
{
    if (*count == capacity)
        bench_fail("too many benchmarks on one command line (at most %Z)", capacity);
    bench_instance *instance = &instances[(*count)++];
    instance->work = work;
    instance->trace_path = trace_path;
    if (trace_path != NULL) {
        char label[96];
        str_trace_label(label, sizeof label, trace_path);
        str_fmt(instance->name, sizeof instance->name, "replay:%s/%s", label, bench_allocator_name);
    } else {
        str_fmt(instance->name, sizeof instance->name, "%s/%s", work->name, bench_allocator_name);
    }
}

size_t bench_parse_args(int argc, char **argv, bench_options *options,
                        bench_instance *instances, size_t capacity)
{
    *options = (bench_options){ 42, 1.0, 0.2, 5, 0, NULL };
    const char *workload_list = NULL;
    const char *traces[BENCH_MAX_INSTANCES];
    size_t trace_count = 0;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv[index];
        const char *value;
        if ((value = str_after(arg, "--workload=")) != NULL) {
            workload_list = value;
        } else if ((value = str_after(arg, "--trace=")) != NULL) {
            if (trace_count == BENCH_MAX_INSTANCES)
                bench_fail("too many --trace options (at most %d)", BENCH_MAX_INSTANCES);
            traces[trace_count++] = value;
        } else if ((value = str_after(arg, "--seed=")) != NULL) {
            if (!str_to_u64(value, &options->seed))
                bench_fail("--seed needs an unsigned integer, not '%s'", value);
        } else if ((value = str_after(arg, "--scale=")) != NULL) {
            if (!str_to_f64(value, &options->scale) || options->scale <= 0.0)
                bench_fail("--scale needs a positive number such as 0.05 or 2, not '%s'", value);
        } else if ((value = str_after(arg, "--min-time=")) != NULL) {
            if (!str_to_f64(value, &options->min_time))
                bench_fail("--min-time needs seconds such as 0.2, not '%s'", value);
        } else if ((value = str_after(arg, "--repetitions=")) != NULL) {
            if (!str_to_u64(value, &options->repetitions) || options->repetitions == 0
                || options->repetitions > 1000)
                bench_fail("--repetitions needs an integer from 1 to 1000, not '%s'", value);
        } else if ((value = str_after(arg, "--verify=")) != NULL) {
            if (str_eq(value, "full"))
                options->full_verify = 1;
            else if (str_eq(value, "sparse"))
                options->full_verify = 0;
            else
                bench_fail("--verify must be sparse or full, not '%s'", value);
        } else if ((value = str_after(arg, "--json=")) != NULL) {
            options->json_path = value;
        } else if (str_eq(arg, "--list")) {
            for (size_t which = 0; which < bench_workload_count; which++)
                out_fmt(&bench_stdout, "%s\t%s\n", bench_workloads[which].name,
                        bench_workloads[which].description);
            out_flush(&bench_stdout);
            return 0;
        } else {
            usage_line();
            bench_fail("unknown option '%s'", arg);
        }
    }

    size_t count = 0;
    /* Without --workload: every synthetic workload, unless traces were given. */
    if ((workload_list == NULL && trace_count == 0) || (workload_list != NULL && str_eq(workload_list, "all"))) {
        for (size_t which = 0; which < bench_workload_count; which++) {
            if (!bench_workloads[which].needs_trace)
                instance_add(instances, capacity, &count, &bench_workloads[which], NULL);
        }
    } else if (workload_list != NULL) {
        /* Comma-separated names; "replay" is implied by --trace. */
        char name[64];
        const char *cursor = workload_list;
        while (*cursor != '\0') {
            size_t len = 0;
            while (cursor[len] != '\0' && cursor[len] != ',')
                len++;
            if (len == 0 || len >= sizeof name)
                bench_fail("--workload: bad list '%s'", workload_list);
            for (size_t at = 0; at < len; at++)
                name[at] = cursor[at];
            name[len] = '\0';
            const workload *work = workload_find(name);
            if (work == NULL) {
                out_str(&bench_stderr, "workloads:");
                for (size_t which = 0; which < bench_workload_count; which++)
                    out_fmt(&bench_stderr, " %s", bench_workloads[which].name);
                out_str(&bench_stderr, "\n");
                bench_fail("--workload: no workload named '%s'", name);
            }
            if (!work->needs_trace)
                instance_add(instances, capacity, &count, work, NULL);
            else if (trace_count == 0)
                bench_fail("--workload=replay needs at least one --trace=<file>");
            cursor += len;
            if (*cursor == ',')
                cursor++;
        }
    }
    const workload *replay = workload_find("replay");
    for (size_t which = 0; which < trace_count; which++)
        instance_add(instances, capacity, &count, replay, traces[which]);
    if (count == 0)
        bench_fail("nothing to run");
    return count;
}

/* Reports the finished instance's verification failures and counts them. */
static uint64_t total_failures;

static void instance_close(void)
{
    if (current_instance == NULL)
        return;
    if (current_run.verify_failures > 0) {
        out_fmt(&bench_stderr, "bench: %s on %s: %U verification failures; first: %s\n",
                current_instance->name, BENCH_TARGET_NAME, current_run.verify_failures,
                current_run.first_failure);
        out_flush(&bench_stderr);
        total_failures += current_run.verify_failures;
    }
    current_instance = NULL;
}

uint64_t bench_finish(void)
{
    instance_close();
    bench_flush();
    return total_failures;
}

void bench_instance_prepare(const bench_options *options, const bench_instance *instance)
{
    instance_close();
    current_instance = instance;
    arena_reset();
    current_run = (bench_run){ 0 };
    current_run.seed = options->seed;
    current_run.scale = options->scale;
    current_run.full_verify = options->full_verify;
    instance->work->setup(&current_run, instance->trace_path);
    if (!allocator_started) {
        /* After the harness's first set-up, so a resident-set baseline
         * (system allocators) already includes the harness's tables. */
        bench_allocator_init();
        allocator_started = 1;
    }
    bench_allocator_usage(&usage_start);
    /* The cold pass: the heap grows here; it is also the warm-up. */
    cold_pass_ns = instance->work->pass(&current_run);
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++)
        last_pass_calls[kind] = current_run.calls[kind];
    instance->work->finish(&current_run);
    bench_allocator_reset();
    bench_allocator_usage(&usage_after_cold);
}

/* What the counting builds counted in the latest pass (counting/counting.h). */
typedef struct pass_counts {
    uint64_t wasm[BENCH_WASM_COUNTS];
    bench_traffic traffic[BENCH_CALL_KINDS];
    int traffic_counted;
} pass_counts;

static pass_counts last_pass_counts;

static void counts_take(pass_counts *counts)
{
    for (unsigned which = 0; which < BENCH_WASM_COUNTS; which++)
        counts->wasm[which] = bench_wasm_count(which);
    counts->traffic_counted = bench_traffic_read(counts->traffic);
}

static void counts_since(const pass_counts *before, const pass_counts *after, pass_counts *out)
{
    for (unsigned which = 0; which < BENCH_WASM_COUNTS; which++)
        out->wasm[which] = after->wasm[which] - before->wasm[which];
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++) {
        out->traffic[kind].loads = after->traffic[kind].loads - before->traffic[kind].loads;
        out->traffic[kind].load_bytes = after->traffic[kind].load_bytes - before->traffic[kind].load_bytes;
        out->traffic[kind].stores = after->traffic[kind].stores - before->traffic[kind].stores;
        out->traffic[kind].store_bytes = after->traffic[kind].store_bytes - before->traffic[kind].store_bytes;
    }
    out->traffic_counted = after->traffic_counted;
}

__attribute__((noinline)) uint64_t bench_measured_pass(void)
{
    return current_instance->work->pass(&current_run);
}

uint64_t bench_instance_pass(uint64_t *ops)
{
    uint64_t calls_before[BENCH_CALL_KINDS];
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++)
        calls_before[kind] = current_run.calls[kind];
    pass_counts counts_before, counts_after;
    counts_take(&counts_before);
    PROFILE_PASS_BEGIN();
    uint64_t elapsed = bench_measured_pass();
    PROFILE_PASS_END();
    counts_take(&counts_after);
    counts_since(&counts_before, &counts_after, &last_pass_counts);
    *ops = 0;
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++) {
        last_pass_calls[kind] = current_run.calls[kind] - calls_before[kind];
        *ops += last_pass_calls[kind];
    }
    current_instance->work->finish(&current_run);
    bench_allocator_reset();
    return elapsed;
}

void bench_instance_counters(bench_counters *out)
{
    bench_usage usage;
    bench_allocator_usage(&usage);
    out->malloc_calls = (double)last_pass_calls[BENCH_MALLOC];
    out->calloc_calls = (double)last_pass_calls[BENCH_CALLOC];
    out->memalign_calls = (double)last_pass_calls[BENCH_MEMALIGN];
    out->realloc_calls = (double)last_pass_calls[BENCH_REALLOC];
    out->free_calls = (double)last_pass_calls[BENCH_FREE];
    out->ops_per_pass = out->malloc_calls + out->calloc_calls + out->memalign_calls
                        + out->realloc_calls + out->free_calls;
    out->peak_live_bytes = (double)current_run.peak_live_bytes;
    out->footprint_bytes = (double)usage.footprint_bytes;
    out->footprint_ratio = current_run.peak_live_bytes > 0
        ? (double)usage.footprint_bytes / (double)current_run.peak_live_bytes : 0.0;
    out->footprint_kind = (double)usage.footprint_kind;
    out->grow_calls = (double)(usage.grow_calls - usage_start.grow_calls);
    out->grow_ns = (double)(usage.grow_ns - usage_start.grow_ns);
    out->grow_calls_cold = (double)(usage_after_cold.grow_calls - usage_start.grow_calls);
    out->grow_ns_cold = (double)(usage_after_cold.grow_ns - usage_start.grow_ns);
    out->cold_pass_ns = (double)cold_pass_ns;
    out->grow_timed = (double)usage.grow_timed;
    out->verify_failures = (double)current_run.verify_failures;
    out->out_of_memory = (double)current_run.out_of_memory;
    out->alignment = (double)bench_allocator_alignment;
}

size_t bench_extra_counters(bench_extra_counter *out, size_t capacity)
{
    static char names[BENCH_MAX_EXTRA_COUNTERS][40];
    size_t count = 0;
#define EXTRA(format, kind_name, number)                                          \
    do {                                                                          \
        if (count < capacity && count < BENCH_MAX_EXTRA_COUNTERS) {               \
            str_fmt(names[count], sizeof names[count], format, kind_name);        \
            out[count].name = names[count];                                       \
            out[count].value = (double)(number);                                  \
            count++;                                                              \
        }                                                                         \
    } while (0)
    const pass_counts *counts = &last_pass_counts;
    if (counts->wasm[BENCH_WASM_PASS_INSTRUCTIONS] > 0) {
        EXTRA("instructions_%s", "pass", counts->wasm[BENCH_WASM_PASS_INSTRUCTIONS]);
        for (int kind = 0; kind < BENCH_CALL_KINDS; kind++) {
            EXTRA("instructions_%s", bench_call_names[kind], counts->wasm[kind]);
            EXTRA("instruction_calls_%s", bench_call_names[kind], counts->wasm[BENCH_CALL_KINDS + kind]);
        }
    }
    if (counts->traffic_counted) {
        for (int kind = 0; kind < BENCH_CALL_KINDS; kind++) {
            EXTRA("loads_%s", bench_call_names[kind], counts->traffic[kind].loads);
            EXTRA("load_bytes_%s", bench_call_names[kind], counts->traffic[kind].load_bytes);
            EXTRA("stores_%s", bench_call_names[kind], counts->traffic[kind].stores);
            EXTRA("store_bytes_%s", bench_call_names[kind], counts->traffic[kind].store_bytes);
        }
    }
#undef EXTRA
    return count;
}

void bench_print_summary(const bench_instance *instance, double ops_per_second, const bench_counters *counters)
{
    text_out *out = &bench_stdout;
    out_fmt(out, "%s %s: ", instance->name, BENCH_TARGET_NAME);
    out_f64(out, ops_per_second / 1e6, 2);
    out_str(out, " M ops/s, footprint ");
    out_f64(out, counters->footprint_ratio, 2);
    out_str(out, counters->footprint_kind == BENCH_FOOTPRINT_RSS ? "x peak live (rss), " : "x peak live, ");
    if (counters->grow_timed != 0.0) {
        out_fmt(out, "%U growth calls in ", (uint64_t)counters->grow_calls);
        out_f64(out, counters->grow_ns / 1e6, 2);
        out_str(out, " ms, ");
    }
    if (counters->out_of_memory != 0.0)
        out_fmt(out, "%U out of memory, ", (uint64_t)counters->out_of_memory);
    if (counters->verify_failures == 0.0) {
        out_str(out, "verified\n");
    } else {
        out_fmt(out, "%U VERIFICATION FAILURES: %s\n", (uint64_t)counters->verify_failures,
                current_run.first_failure);
    }
    out_flush(out);
}

void bench_flush(void)
{
    out_flush(&bench_stdout);
    out_flush(&bench_stderr);
}
