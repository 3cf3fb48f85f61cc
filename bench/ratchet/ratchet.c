/* The fragmentation ratchet, and arenas as its cure (issue 23).
 *
 *   bench_ratchet_<allocator> [--mode=ratchet|speed] [--scratch=heap|arena]
 *       [--seed=N] [--scale=F] [--min-time=S] [--repetitions=N] [--json=PATH]
 *
 * ratchet (default): a server. A long-lived set of LONG_LIVED objects of
 *   16 B - 32 KiB (log-uniform) changes slowly: each request replaces
 *   REPLACED_PER_REQUEST of them, at points spread through the request. A
 *   request's scratch is 16 - 256 blocks (log-uniform count) of 16 B -
 *   256 KiB, all live until the request ends. Linear memory never shrinks,
 *   so long-lived objects placed among a large request's scratch pin its
 *   memory: the footprint creeps up although the live bytes do not.
 *   --scratch=heap: scratch from the allocator, freed at the request's end.
 *   --scratch=arena (lmalloc only): scratch from an lm_arena, reset at the
 *   request's end; the long-lived set stays on the heap.
 *   Writes the footprint (the allocator's peak: bench_allocator_usage) and
 *   the live bytes every SAMPLE_EVERY requests.
 * speed: scratch alone, timed: requests of 16 - 256 blocks of 16 B - 16 KiB
 *   (an arena's bump path; larger blocks are lm_malloc calls), allocated
 *   and then dropped (heap: freed one by one; arena: lm_arena_reset; the
 *   bump allocator: bench_allocator_reset, its own "reset"). Scratch
 *   allocations per second, the median of the repetitions.
 *
 * Every block's first and last words carry a tag, checked before it is
 * dropped.
 */
#include "../allocators/allocator.h"
#include "../harness.h"
#include "host.h"

#if BENCH_RATCHET_ARENAS
#include "../../src/lmalloc.h"
#endif
#ifndef BENCH_TARGET_NAME
#define BENCH_TARGET_NAME "unknown"
#endif

#define LONG_LIVED 2048
#define REPLACED_PER_REQUEST 8
#define REQUESTS 4000             /* at --scale=1 */
#define SAMPLE_EVERY 20
#define SCRATCH_MAX 256           /* blocks in one request */
#define SCRATCH_SIZE_MAX (256 << 10)
#define SPEED_SIZE_MAX (16 << 10)
#define SPEED_SIZES 65536         /* the speed mode's size table, used round-robin */
#define MAX_REPETITIONS 15

static void *long_lived[LONG_LIVED];
static size_t long_lived_size[LONG_LIVED];
static void *scratch[SCRATCH_MAX];
static size_t scratch_size[SCRATCH_MAX];
static uint64_t live_bytes, peak_live_bytes, verify_failures, out_of_memory;

/* ----------------------------------------------------------- blocks -- */

static uint64_t tag_of(const void *ptr, size_t size) { return (uint64_t)(uintptr_t)ptr * 31 + size; }

/* Tags the first and last word of a block of `size` (>= 8) bytes. */
static void block_tag(void *ptr, size_t size)
{
    uint64_t tag = tag_of(ptr, size);
    __builtin_memcpy(ptr, &tag, 8);
    __builtin_memcpy((char *)ptr + size - 8, &tag, 8);
}

static void block_check(const void *ptr, size_t size)
{
    uint64_t tag = tag_of(ptr, size), first, last;
    __builtin_memcpy(&first, ptr, 8);
    __builtin_memcpy(&last, (const char *)ptr + size - 8, 8);
    if (first != tag || last != tag)
        verify_failures++;
}

/* --------------------------------------------------------- scratch -- */

#if BENCH_RATCHET_ARENAS
static lm_arena_t *arena;   /* NULL: scratch from the heap */
#else
static void *const arena = 0;
#endif

static void *scratch_alloc(size_t size)
{
#if BENCH_RATCHET_ARENAS
    if (arena)
        return lm_arena_alloc(arena, size);
#endif
    return bench_malloc(size);
}

/* Drops every scratch block of a request. */
static void scratch_drop(int count, int check)
{
    for (int i = 0; i < count; i++) {
        if (check)
            block_check(scratch[i], scratch_size[i]);
        if (!arena)
            bench_free(scratch[i]);
    }
#if BENCH_RATCHET_ARENAS
    if (arena)
        lm_arena_reset(arena);
#endif
}

/* ------------------------------------------------------------- ratchet -- */

static void long_lived_replace(bench_rng *rng, int index)
{
    if (long_lived[index]) {
        block_check(long_lived[index], long_lived_size[index]);
        bench_free(long_lived[index]);
        live_bytes -= long_lived_size[index];
    }
    size_t size = (size_t)rng_log_uniform(rng, 16, 32 << 10);
    long_lived[index] = bench_malloc(size);
    long_lived_size[index] = size;
    if (!long_lived[index]) {
        out_of_memory++;
        long_lived_size[index] = 0;
        return;
    }
    block_tag(long_lived[index], size);
    live_bytes += size;
}

static void note_peak(void)
{
    if (live_bytes > peak_live_bytes)
        peak_live_bytes = live_bytes;
}

/* One request: its scratch, with long-lived replacements spread through it. */
static void request_run(bench_rng *rng)
{
    int count = (int)rng_log_uniform(rng, 16, SCRATCH_MAX);
    int replace_every = count / REPLACED_PER_REQUEST;
    uint64_t scratch_live = 0;
    for (int i = 0; i < count; i++) {
        size_t size = (size_t)rng_log_uniform(rng, 16, SCRATCH_SIZE_MAX);
        void *ptr = scratch_alloc(size);
        if (!ptr) {
            out_of_memory++;
            count = i;
            break;
        }
        block_tag(ptr, size);
        scratch[i] = ptr;
        scratch_size[i] = size;
        scratch_live += size;
        live_bytes += size;
        if (replace_every && i % replace_every == replace_every - 1)
            long_lived_replace(rng, (int)rng_below(rng, LONG_LIVED));
        note_peak();
    }
    scratch_drop(count, 1);
    live_bytes -= scratch_live;
}

static void ratchet(text_out *json, bench_rng *rng, uint64_t requests)
{
    for (int i = 0; i < LONG_LIVED; i++)
        long_lived_replace(rng, i);
    note_peak();
    bench_usage usage;
    for (uint64_t request = 1; request <= requests; request++) {
        request_run(rng);
        if (request % SAMPLE_EVERY == 0 || request == requests) {
            usage = (bench_usage){ 0 };
            bench_allocator_usage(&usage);
            if (json)
                out_fmt(json, "%s[%U, %U, %U]", request == SAMPLE_EVERY ? "" : ", ", request,
                        usage.footprint_bytes, live_bytes);
        }
    }
    out_fmt(&bench_stdout, "%s ratchet scratch=%s: %U requests, peak live %U KiB, footprint %U KiB (%F x)%s\n",
            bench_allocator_name, arena ? "arena" : "heap", requests, peak_live_bytes >> 10,
            usage.footprint_bytes >> 10, (double)usage.footprint_bytes / (double)peak_live_bytes,
            verify_failures ? ", VERIFY FAILED" : "");
    if (json)
        out_fmt(json, "], \"peak_live_bytes\": %U, \"footprint_kind\": \"%s\"", peak_live_bytes,
                usage.footprint_kind == BENCH_FOOTPRINT_RSS ? "rss" : "seam");
#if BENCH_RATCHET_ARENAS
    if (arena) {
        lm_arena_stats_t stats;
        lm_arena_stats(arena, &stats);
        out_fmt(&bench_stdout, "  arena: %U chunks, %U KiB reserved, peak %U KiB in use\n", stats.chunks,
                stats.reserved >> 10, stats.peak >> 10);
        if (json)
            out_fmt(json, ", \"arena_chunks\": %U, \"arena_reserved\": %U, \"arena_peak\": %U", stats.chunks,
                    stats.reserved, stats.peak);
    }
#endif
}

/* --------------------------------------------------------------- speed -- */

static uint32_t *speed_sizes;

/* One timed pass: `requests` requests of scratch from the size table, each
 * dropped at its end. Returns its nanoseconds; *allocations counts. */
static uint64_t speed_pass(uint64_t requests, uint64_t *allocations, uint32_t *next)
{
    uint64_t start = bench_now_ns();
    for (uint64_t request = 0; request < requests; request++) {
        int count = 16 + (int)(*next % (SCRATCH_MAX - 16));
        for (int i = 0; i < count; i++) {
            size_t size = speed_sizes[(*next)++ % SPEED_SIZES];
            void *ptr = scratch_alloc(size);
            if (!ptr) {
                out_of_memory++;
                count = i;
                break;
            }
            *(uint64_t *)ptr = size;
            scratch[i] = ptr;
            scratch_size[i] = size;
        }
        for (int i = 0; i < count; i++)
            if (*(uint64_t *)scratch[i] != scratch_size[i])
                verify_failures++;
        scratch_drop(count, 0);
        bench_allocator_reset();   /* nothing is live: the bump allocator starts over */
        *allocations += (uint64_t)count;
    }
    return bench_now_ns() - start;
}

static double speed(bench_rng *rng, double min_time, int repetitions)
{
    speed_sizes = arena_take(SPEED_SIZES * sizeof *speed_sizes);
    if (!speed_sizes)
        bench_fail("the harness arena cannot hold the size table");
    for (int i = 0; i < SPEED_SIZES; i++)
        speed_sizes[i] = (uint32_t)rng_log_uniform(rng, 16, SPEED_SIZE_MAX);
    uint32_t next = 0;
    uint64_t allocations = 0;
    speed_pass(8, &allocations, &next);   /* cold */
    double rates[MAX_REPETITIONS];
    for (int rep = 0; rep < repetitions; rep++) {
        uint64_t elapsed = 0;
        allocations = 0;
        do {
            elapsed += speed_pass(16, &allocations, &next);
        } while ((double)elapsed < min_time * 1e9);
        rates[rep] = (double)allocations / ((double)elapsed / 1e9);
    }
    for (int i = 1; i < repetitions; i++)
        for (int j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
            double swap = rates[j];
            rates[j] = rates[j - 1];
            rates[j - 1] = swap;
        }
    double median = rates[repetitions / 2];
    out_fmt(&bench_stdout, "%s speed scratch=%s: %F M scratch allocations/s%s\n", bench_allocator_name,
            arena ? "arena" : "heap", median / 1e6, verify_failures ? ", VERIFY FAILED" : "");
    return median;
}

/* ---------------------------------------------------------------- main -- */

static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        const char *value = str_after(argv[i], name);
        if (value != NULL && value[0] == '=')
            return value + 1;
    }
    return NULL;
}

static uint64_t option_u64(int argc, char **argv, const char *name, uint64_t fallback)
{
    const char *text = option(argc, argv, name);
    uint64_t value = fallback;
    if (text != NULL && !str_to_u64(text, &value))
        bench_fail("%s needs an unsigned integer, not '%s'", name, text);
    return value;
}

static double option_f64(int argc, char **argv, const char *name, double fallback)
{
    const char *text = option(argc, argv, name);
    double value = fallback;
    if (text != NULL && !str_to_f64(text, &value))
        bench_fail("%s needs a number, not '%s'", name, text);
    return value;
}

int main(int argc, char **argv)
{
    const char *mode = option(argc, argv, "--mode");
    const char *scratch_from = option(argc, argv, "--scratch");
    uint64_t seed = option_u64(argc, argv, "--seed", 42);
    double scale = option_f64(argc, argv, "--scale", 1);
    double min_time = option_f64(argc, argv, "--min-time", 0.1);
    int repetitions = (int)option_u64(argc, argv, "--repetitions", 3);
    const char *json_path = option(argc, argv, "--json");
    if (mode == NULL)
        mode = "ratchet";
    if (!str_eq(mode, "ratchet") && !str_eq(mode, "speed"))
        bench_fail("--mode must be ratchet or speed, not '%s'", mode);
    if (repetitions < 1 || repetitions > MAX_REPETITIONS)
        bench_fail("--repetitions must be 1 to %d", MAX_REPETITIONS);
    bench_allocator_init();
    if (scratch_from != NULL && str_eq(scratch_from, "arena")) {
#if BENCH_RATCHET_ARENAS
        arena = lm_arena_create();
        if (!arena)
            bench_fail("lm_arena_create failed");
#else
        bench_fail("--scratch=arena: %s has no arenas", bench_allocator_name);
#endif
    } else if (scratch_from != NULL && !str_eq(scratch_from, "heap")) {
        bench_fail("--scratch must be heap or arena, not '%s'", scratch_from);
    }

    static text_out file;
    text_out *json = NULL;
    if (json_path != NULL) {
        file.fd = lm_host_create(json_path);
        if (file.fd < 0)
            bench_fail("cannot create %s", json_path);
        json = &file;
        out_fmt(json, "{\"target\": \"%s\", \"allocator\": \"%s\", \"scratch\": \"%s\", \"mode\": \"%s\", ",
                BENCH_TARGET_NAME, bench_allocator_name, arena ? "arena" : "heap", mode);
    }
    bench_rng rng;
    rng_seed(&rng, seed);
    if (str_eq(mode, "ratchet")) {
        uint64_t requests = (uint64_t)(REQUESTS * scale);
        if (requests < SAMPLE_EVERY)
            requests = SAMPLE_EVERY;
        if (json)
            out_fmt(json, "\"sample_every\": %d, \"samples\": [", SAMPLE_EVERY);
        ratchet(json, &rng, requests);
    } else {
        double rate = speed(&rng, min_time, repetitions);
        if (json) {
            out_str(json, "\"allocs_per_s\": ");
            out_f64(json, rate, 1);
        }
    }
    if (json) {
        out_fmt(json, ", \"verify_failures\": %U, \"out_of_memory\": %U}\n", verify_failures, out_of_memory);
        out_flush(json);
        lm_host_close(file.fd);
    }
    out_flush(&bench_stdout);
    return verify_failures || out_of_memory ? 1 : 0;
}
