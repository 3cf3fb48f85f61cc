/* The benchmark driver for wasm32 and wasm64, where google-benchmark cannot
 * be linked: it times passes with the host clock and writes the same JSON
 * google-benchmark writes (context + one row per repetition + mean, median
 * and stddev rows), so compare.py and the report read both alike.
 * Options: see driver.h. Exit status 1 if any verification failed. */
#include "driver.h"

#include "../targets/host.h"
#include "harness.h"

typedef struct repetition {
    uint64_t passes;
    uint64_t ns;
    uint64_t ops;
} repetition;

static text_out json_out;
static int json_first_row = 1;

static void json_number(const char *key, double value)
{
    out_fmt(&json_out, ",\n      \"%s\": ", key);
    /* Integers print exactly; others with 6 decimals. */
    if (value == (double)(uint64_t)value && value < 1e18)
        out_u64(&json_out, (uint64_t)value);
    else
        out_f64(&json_out, value, 6);
}

static void json_row(const bench_instance *instance, size_t family, const char *run_type,
                     const char *aggregate, uint64_t repetitions, uint64_t repetition_index,
                     uint64_t iterations, double ns_per_pass, double items_per_second,
                     const bench_counters *counters)
{
    out_str(&json_out, json_first_row ? "\n    {" : ",\n    {");
    json_first_row = 0;
    char name[160];
    if (aggregate != NULL)
        str_fmt(name, sizeof name, "%s_%s", instance->name, aggregate);
    else
        str_fmt(name, sizeof name, "%s", instance->name);
    out_str(&json_out, "\n      \"name\": ");
    out_json_string(&json_out, name);
    out_fmt(&json_out, ",\n      \"family_index\": %Z", family);
    out_str(&json_out, ",\n      \"per_family_instance_index\": 0");
    out_str(&json_out, ",\n      \"run_name\": ");
    out_json_string(&json_out, instance->name);
    out_fmt(&json_out, ",\n      \"run_type\": \"%s\"", run_type);
    out_fmt(&json_out, ",\n      \"repetitions\": %U", repetitions);
    if (aggregate == NULL) {
        out_fmt(&json_out, ",\n      \"repetition_index\": %U", repetition_index);
    } else {
        out_fmt(&json_out, ",\n      \"aggregate_name\": \"%s\"", aggregate);
        out_str(&json_out, ",\n      \"aggregate_unit\": \"time\"");
    }
    out_str(&json_out, ",\n      \"threads\": 1");
    out_fmt(&json_out, ",\n      \"iterations\": %U", iterations);
    json_number("real_time", ns_per_pass);
    json_number("cpu_time", ns_per_pass);   /* no CPU clock on wasm: wall time */
    out_str(&json_out, ",\n      \"time_unit\": \"ns\"");
#define X(field) json_number(#field, counters->field);
    BENCH_COUNTER_NAMES
#undef X
    bench_extra_counter extras[BENCH_MAX_EXTRA_COUNTERS];
    size_t extra_count = bench_extra_counters(extras, BENCH_MAX_EXTRA_COUNTERS);
    for (size_t index = 0; index < extra_count; index++)
        json_number(extras[index].name, extras[index].value);
    json_number("items_per_second", items_per_second);
    out_str(&json_out, "\n    }");
}

static void json_begin(const bench_options *options, const char *executable)
{
    json_out.fd = lm_host_create(options->json_path);
    if (json_out.fd < 0)
        bench_fail("cannot create --json file %s", options->json_path);
    json_out.len = 0;
    out_str(&json_out, "{\n  \"context\": {\n    \"date\": \"\",\n    \"host_name\": \"\",\n");
    out_str(&json_out, "    \"executable\": ");
    out_json_string(&json_out, executable);
    out_str(&json_out, ",\n    \"num_cpus\": 1,\n    \"mhz_per_cpu\": 0,\n"
                       "    \"cpu_scaling_enabled\": false,\n    \"caches\": [],\n"
                       "    \"load_avg\": [],\n    \"library_build_type\": \"release\",\n");
    out_fmt(&json_out, "    \"driver\": \"bench C driver, host clock\",\n");
    out_fmt(&json_out, "    \"allocator\": \"%s\",\n    \"target\": \"%s\",\n", bench_allocator(), bench_target());
    out_fmt(&json_out, "    \"seed\": \"%U\",\n    \"scale\": \"", options->seed);
    out_f64(&json_out, options->scale, 4);
    out_fmt(&json_out, "\",\n    \"verify\": \"%s\"\n  },\n  \"benchmarks\": [",
            options->full_verify ? "full" : "sparse");
}

static void json_end(void)
{
    out_str(&json_out, "\n  ]\n}\n");
    out_flush(&json_out);
    lm_host_close(json_out.fd);
}

/* Sorts a few doubles (insertion sort: at most a thousand). */
static void sort_doubles(double *values, size_t count)
{
    for (size_t index = 1; index < count; index++) {
        double value = values[index];
        size_t at = index;
        while (at > 0 && values[at - 1] > value) {
            values[at] = values[at - 1];
            at--;
        }
        values[at] = value;
    }
}

static double median_of(double *values, size_t count)
{
    sort_doubles(values, count);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

static double sqrt_newton(double value)
{
    if (value <= 0.0)
        return 0.0;
    double guess = value > 1.0 ? value : 1.0;
    for (int step = 0; step < 60; step++)
        guess = 0.5 * (guess + value / guess);
    return guess;
}

int main(int argc, char **argv)
{
    static bench_instance instances[BENCH_MAX_INSTANCES];
    static repetition reps[1000];
    static double time_values[1000], rate_values[1000];
    bench_options options;
    size_t count = bench_parse_args(argc, argv, &options, instances, BENCH_MAX_INSTANCES);
    if (count == 0)
        return 0;
    if (options.json_path != NULL)
        json_begin(&options, argv[0]);
    uint64_t min_ns = (uint64_t)(options.min_time * 1e9);

    for (size_t which = 0; which < count; which++) {
        const bench_instance *instance = &instances[which];
        bench_instance_prepare(&options, instance);
        for (uint64_t rep = 0; rep < options.repetitions; rep++) {
            repetition *current = &reps[rep];
            *current = (repetition){ 0, 0, 0 };
            do {
                uint64_t ops;
                current->ns += bench_instance_pass(&ops);
                current->ops += ops;
                current->passes++;
            } while (current->ns < min_ns);
        }
        bench_counters counters;
        bench_instance_counters(&counters);
        size_t reps_count = (size_t)options.repetitions;
        for (size_t rep = 0; rep < reps_count; rep++) {
            double ns = reps[rep].ns > 0 ? (double)reps[rep].ns : 1.0;
            time_values[rep] = ns / (double)reps[rep].passes;
            rate_values[rep] = (double)reps[rep].ops * 1e9 / ns;
            if (options.json_path != NULL)
                json_row(instance, which, "iteration", NULL, options.repetitions, rep,
                         reps[rep].passes, time_values[rep], rate_values[rep], &counters);
        }
        double mean_time = 0, mean_rate = 0;
        for (size_t rep = 0; rep < reps_count; rep++) {
            mean_time += time_values[rep] / (double)reps_count;
            mean_rate += rate_values[rep] / (double)reps_count;
        }
        double var_time = 0, var_rate = 0;
        for (size_t rep = 0; rep < reps_count; rep++) {
            var_time += (time_values[rep] - mean_time) * (time_values[rep] - mean_time);
            var_rate += (rate_values[rep] - mean_rate) * (rate_values[rep] - mean_rate);
        }
        double sd_time = reps_count > 1 ? sqrt_newton(var_time / (double)(reps_count - 1)) : 0;
        double sd_rate = reps_count > 1 ? sqrt_newton(var_rate / (double)(reps_count - 1)) : 0;
        double median_time = median_of(time_values, reps_count);
        double median_rate = median_of(rate_values, reps_count);
        if (options.json_path != NULL && reps_count > 1) {
            json_row(instance, which, "aggregate", "mean", options.repetitions, 0,
                     options.repetitions, mean_time, mean_rate, &counters);
            json_row(instance, which, "aggregate", "median", options.repetitions, 0,
                     options.repetitions, median_time, median_rate, &counters);
            json_row(instance, which, "aggregate", "stddev", options.repetitions, 0,
                     options.repetitions, sd_time, sd_rate, &counters);
        }
        bench_print_summary(instance, median_rate, &counters);
    }
    if (options.json_path != NULL)
        json_end();
    return bench_finish() == 0 ? 0 : 1;
}
