/* Growth cost: what one lm_target_grow costs (memory.grow on wasm, mprotect
 * of the reservation natively) for increments of 1…4096 pages of 64 KiB, at
 * several memory sizes, and what touching the new pages first costs.
 *
 *   bench_growth [--sizes=16M,256M,1G,3G] [--pages=1,16,256,4096]
 *                [--repeats=3] [--label=TEXT] [--json=PATH]
 *
 * For each size S (total memory, in ascending order) memory is first grown to
 * S in one call, then each increment is timed `repeats` times; memory only
 * grows, so it ends near S + repeats * sum(pages). First touch (one write per
 * 4 KiB) is timed for increments up to 256 pages, so the resident set stays
 * small. A size the target cannot reach is reported as failed, and larger
 * sizes are skipped. Rows are google-benchmark JSON, real_time = median ns
 * per call.
 */
#include "../../targets/host.h"
#include "../../targets/target.h"
#include "../harness.h"

#ifndef BENCH_TARGET_NAME
#error "BENCH_TARGET_NAME must come from the build"
#endif
#ifndef BENCH_GROWTH_NO_MAX
#define BENCH_GROWTH_NO_MAX 0
#endif

#define MAX_LIST 16
#define MAX_REPEATS 64
#define TOUCH_LIMIT_PAGES 256

static uint64_t sizes[MAX_LIST], pages[MAX_LIST];
static size_t size_count, page_count;
static text_out json;
static int json_rows;

/* "16M,1G,..." or "1,16,..." with optional K/M/G suffixes. */
static size_t parse_list(const char *text, uint64_t *out, const char *option)
{
    size_t count = 0;
    while (*text != '\0') {
        uint64_t value = 0;
        int digits = 0;
        for (; *text >= '0' && *text <= '9'; text++, digits++)
            value = value * 10 + (uint64_t)(*text - '0');
        unsigned shift = 0;
        if (*text == 'K' || *text == 'k') shift = 10;
        if (*text == 'M' || *text == 'm') shift = 20;
        if (*text == 'G' || *text == 'g') shift = 30;
        if (shift != 0)
            text++;
        if (digits == 0 || (*text != ',' && *text != '\0') || count == MAX_LIST)
            bench_fail("%s: expected a comma-separated list of numbers (K/M/G allowed)", option);
        out[count++] = value << shift;
        if (*text == ',')
            text++;
    }
    return count;
}

static void sort_u64(uint64_t *values, size_t count)
{
    for (size_t index = 1; index < count; index++) {
        uint64_t value = values[index];
        size_t at = index;
        while (at > 0 && values[at - 1] > value) {
            values[at] = values[at - 1];
            at--;
        }
        values[at] = value;
    }
}

static void json_row(const char *name, uint64_t repeats, double median_ns, double min_ns,
                     double max_ns, double touch_ns_per_page, uint64_t memory_bytes,
                     uint64_t increment_pages, int failed)
{
    if (json.fd < 0)
        return;
    out_str(&json, json_rows++ ? ",\n    {" : "\n    {");
    out_str(&json, "\n      \"name\": ");
    out_json_string(&json, name);
    out_str(&json, ",\n      \"run_name\": ");
    out_json_string(&json, name);
    out_fmt(&json, ",\n      \"family_index\": %d,\n      \"per_family_instance_index\": 0", json_rows - 1);
    out_fmt(&json, ",\n      \"run_type\": \"iteration\",\n      \"repetitions\": 1,"
                   "\n      \"repetition_index\": 0,\n      \"threads\": 1,\n      \"iterations\": %U", repeats);
    out_str(&json, ",\n      \"real_time\": ");
    out_f64(&json, median_ns, 1);
    out_str(&json, ",\n      \"cpu_time\": ");
    out_f64(&json, median_ns, 1);
    out_str(&json, ",\n      \"time_unit\": \"ns\",\n      \"min_ns\": ");
    out_f64(&json, min_ns, 1);
    out_str(&json, ",\n      \"max_ns\": ");
    out_f64(&json, max_ns, 1);
    out_str(&json, ",\n      \"touch_ns_per_page\": ");
    out_f64(&json, touch_ns_per_page, 1);
    out_fmt(&json, ",\n      \"memory_bytes\": %U,\n      \"increment_pages\": %U,\n      \"failed\": %d\n    }",
            memory_bytes, increment_pages, failed);
}

static void size_label(char *dest, size_t cap, uint64_t bytes)
{
    if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
        str_fmt(dest, cap, "%UGiB", bytes >> 30);
    else
        str_fmt(dest, cap, "%UMiB", bytes >> 20);
}

int main(int argc, char **argv)
{
    const char *json_path = NULL, *label = "";
    uint64_t repeats = 3;
    size_count = parse_list("16M,256M,1G,3G", sizes, "--sizes");
    page_count = parse_list("1,16,256,4096", pages, "--pages");
    for (int index = 1; index < argc; index++) {
        const char *value;
        if ((value = str_after(argv[index], "--sizes=")) != NULL)
            size_count = parse_list(value, sizes, "--sizes");
        else if ((value = str_after(argv[index], "--pages=")) != NULL)
            page_count = parse_list(value, pages, "--pages");
        else if ((value = str_after(argv[index], "--repeats=")) != NULL) {
            if (!str_to_u64(value, &repeats) || repeats == 0 || repeats > MAX_REPEATS)
                bench_fail("--repeats needs 1 to %d", MAX_REPEATS);
        } else if ((value = str_after(argv[index], "--label=")) != NULL)
            label = value;
        else if ((value = str_after(argv[index], "--json=")) != NULL)
            json_path = value;
        else
            bench_fail("unknown option '%s' (see bench/growth/growth.c)", argv[index]);
    }
    sort_u64(sizes, size_count);

    json.fd = -1;
    if (json_path != NULL) {
        json.fd = lm_host_create(json_path);
        if (json.fd < 0)
            bench_fail("cannot create %s", json_path);
        out_str(&json, "{\n  \"context\": {\n    \"library_build_type\": \"release\",\n");
        out_fmt(&json, "    \"target\": \"%s\",\n    \"engine\": ", BENCH_TARGET_NAME);
        out_json_string(&json, label);
        out_fmt(&json, ",\n    \"declared_maximum\": \"%s\"\n  },\n  \"benchmarks\": [",
                BENCH_GROWTH_NO_MAX ? "none" : "yes");
    }

    uintptr_t start, end;
    lm_target_region(&start, &end);
    uint64_t base = (uint64_t)start - (uint64_t)start % LM_TARGET_PAGE_SIZE;
    /* On wasm memory starts at 0 (base is where static data ends, rounded
     * down); natively at the reservation. Sizes count from memory's start. */
#if defined(__wasm__)
    base = 0;
#endif
    uint64_t memory = (uint64_t)end - base;
    static uint64_t samples[MAX_REPEATS];

    for (size_t which = 0; which < size_count; which++) {
        char at[32];
        size_label(at, sizeof at, sizes[which]);
        int failed = 0;
        if (sizes[which] > memory) {
            uint64_t bytes = sizes[which] - memory;
            bytes -= bytes % LM_TARGET_PAGE_SIZE;
            uint64_t started = bench_now_ns();
            uintptr_t result = bytes == (uintptr_t)bytes ? lm_target_grow((uintptr_t)bytes) : LM_TARGET_GROW_FAILED;
            uint64_t took = bench_now_ns() - started;
            char name[96];
            str_fmt(name, sizeof name, "grow_to/%s", at);
            if (result == LM_TARGET_GROW_FAILED) {
                out_fmt(&bench_stdout, "growth %s %s: cannot grow memory to %s\n", BENCH_TARGET_NAME, label, at);
                json_row(name, 1, 0, 0, 0, 0, memory, bytes / LM_TARGET_PAGE_SIZE, 1);
                out_flush(&bench_stdout);
                break;
            }
            memory += bytes;
            json_row(name, 1, (double)took, (double)took, (double)took, 0, memory,
                     bytes / LM_TARGET_PAGE_SIZE, 0);
        }
        for (size_t step = 0; step < page_count && !failed; step++) {
            uint64_t bytes = pages[step] * LM_TARGET_PAGE_SIZE;
            uint64_t touch_ns = 0, touched_pages = 0;
            size_t done = 0;
            for (; done < repeats; done++) {
                uint64_t started = bench_now_ns();
                uintptr_t old_end = lm_target_grow((uintptr_t)bytes);
                samples[done] = bench_now_ns() - started;
                if (old_end == LM_TARGET_GROW_FAILED) {
                    failed = 1;
                    break;
                }
                memory += bytes;
                if (pages[step] <= TOUCH_LIMIT_PAGES) {
                    volatile unsigned char *fresh = (volatile unsigned char *)old_end;
                    uint64_t touch_start = bench_now_ns();
                    for (uint64_t offset = 0; offset < bytes; offset += 4096)
                        fresh[offset] = 1;
                    touch_ns += bench_now_ns() - touch_start;
                    touched_pages += pages[step];
                }
            }
            char name[96];
            str_fmt(name, sizeof name, "grow/at:%s/pages:%U", at, pages[step]);
            if (done == 0) {
                out_fmt(&bench_stdout, "growth %s %s: at %s, +%U pages failed\n",
                        BENCH_TARGET_NAME, label, at, pages[step]);
                json_row(name, 0, 0, 0, 0, 0, memory, pages[step], 1);
                break;
            }
            sort_u64(samples, done);
            double median = done % 2 ? (double)samples[done / 2]
                                     : ((double)samples[done / 2 - 1] + (double)samples[done / 2]) / 2.0;
            double touch = touched_pages ? (double)touch_ns / (double)touched_pages : 0.0;
            json_row(name, done, median, (double)samples[0], (double)samples[done - 1], touch, memory,
                     pages[step], failed);
            out_fmt(&bench_stdout, "growth %s %s: at %s +%U pages: median ", BENCH_TARGET_NAME, label, at,
                    pages[step]);
            out_f64(&bench_stdout, median / 1000.0, 1);
            out_str(&bench_stdout, " us");
            if (touched_pages) {
                out_str(&bench_stdout, ", first touch ");
                out_f64(&bench_stdout, touch / 1000.0, 1);
                out_str(&bench_stdout, " us/page");
            }
            out_str(&bench_stdout, failed ? " (then failed)\n" : "\n");
            out_flush(&bench_stdout);
        }
        if (failed)
            break;
    }
    if (json.fd >= 0) {
        out_str(&json, "\n  ]\n}\n");
        out_flush(&json);
        lm_host_close(json.fd);
    }
    out_flush(&bench_stdout);
    return 0;
}
