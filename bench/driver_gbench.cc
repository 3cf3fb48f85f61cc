// The native benchmark driver: the same workloads and options as the wasm
// driver (driver.h), timed by google-benchmark. Each pass reports its own
// timed part (UseManualTime), so trace parsing and the untimed clean-up of a
// replay stay out of the figures. The cold pass and set-up happen the first
// time google-benchmark calls a benchmark (benchmarks run in order).
// Exit status 1 if any verification failed.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "driver.h"

namespace {

bench_options options;
bench_instance instances[BENCH_MAX_INSTANCES];
const bench_instance *prepared = nullptr;

void counters_set(benchmark::State &state, const bench_counters &counters)
{
#define X(field) state.counters[#field] = benchmark::Counter(counters.field);
    BENCH_COUNTER_NAMES
#undef X
    bench_extra_counter extras[BENCH_MAX_EXTRA_COUNTERS];
    size_t extra_count = bench_extra_counters(extras, BENCH_MAX_EXTRA_COUNTERS);
    for (size_t index = 0; index < extra_count; index++)
        state.counters[extras[index].name] = benchmark::Counter(extras[index].value);
}

void run_instance(benchmark::State &state, const bench_instance *instance)
{
    if (prepared != instance) {
        bench_instance_prepare(&options, instance);
        prepared = instance;
    }
    uint64_t total_ops = 0;
    for (auto _ : state) {
        uint64_t ops;
        uint64_t ns = bench_instance_pass(&ops);
        total_ops += ops;
        state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    }
    state.SetItemsProcessed(static_cast<int64_t>(total_ops));
    bench_counters counters;
    bench_instance_counters(&counters);
    counters_set(state, counters);
}

// Prints one summary line per benchmark (from its median, or its only run)
// instead of google-benchmark's console table.
class SummaryReporter : public benchmark::BenchmarkReporter {
  public:
    bool ReportContext(const Context &) override { return true; }
    void ReportRuns(const std::vector<Run> &runs) override
    {
        for (const Run &run : runs) {
            bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
            bool only = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
            if (!median && !only)
                continue;
            const bench_instance *instance = find(run.run_name.function_name);
            if (instance == nullptr)
                continue;
            bench_counters counters{};
            auto get = [&](const char *key) {
                auto found = run.counters.find(key);
                return found == run.counters.end() ? 0.0 : found->second.value;
            };
#define X(field) counters.field = get(#field);
            BENCH_COUNTER_NAMES
#undef X
            bench_print_summary(instance, get("items_per_second"), &counters);
        }
    }

  private:
    static const bench_instance *find(const std::string &name)
    {
        for (const bench_instance &instance : instances) {
            if (instance.work != nullptr && name == instance.name)
                return &instance;
        }
        return nullptr;
    }
};

}  // namespace

int main(int argc, char **argv)
{
    size_t count = bench_parse_args(argc, argv, &options, instances, BENCH_MAX_INSTANCES);
    if (count == 0)
        return 0;

    // google-benchmark's own flags, from ours.
    std::vector<std::string> flags = {
        argv[0],
        "--benchmark_repetitions=" + std::to_string(options.repetitions),
        "--benchmark_min_time=" + std::to_string(options.min_time > 0 ? options.min_time : 1e-9),
    };
    if (options.json_path != nullptr) {
        flags.push_back(std::string("--benchmark_out=") + options.json_path);
        flags.push_back("--benchmark_out_format=json");
    }
    std::vector<char *> gbench_argv;
    for (std::string &flag : flags)
        gbench_argv.push_back(flag.data());
    int gbench_argc = static_cast<int>(gbench_argv.size());
    benchmark::Initialize(&gbench_argc, gbench_argv.data());

    benchmark::AddCustomContext("driver", "google-benchmark");
    benchmark::AddCustomContext("allocator", bench_allocator());
    benchmark::AddCustomContext("target", bench_target());
    benchmark::AddCustomContext("seed", std::to_string(options.seed));
    benchmark::AddCustomContext("scale", std::to_string(options.scale));
    benchmark::AddCustomContext("verify", options.full_verify ? "full" : "sparse");

    for (size_t which = 0; which < count; which++) {
        const bench_instance *instance = &instances[which];
        benchmark::RegisterBenchmark(instance->name,
                                     [instance](benchmark::State &state) { run_instance(state, instance); })
            ->UseManualTime()
            ->Unit(benchmark::kNanosecond);
    }

    SummaryReporter summary;
    if (options.json_path != nullptr) {
        benchmark::JSONReporter json;
        benchmark::RunSpecifiedBenchmarks(&summary, &json);
    } else {
        benchmark::RunSpecifiedBenchmarks(&summary);
    }
    benchmark::Shutdown();

    return bench_finish() == 0 ? 0 : 1;
}
