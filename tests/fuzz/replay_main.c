/* Replays fuzzer inputs through the interpreter in ops.c, on any target.
 *
 *   fuzz_replay [--random COUNT] [--seed N] [--trace] FILE...
 *
 * Each FILE is one input (wasm has no directory listing, so CMake passes
 * the committed corpus file by file). --random additionally runs COUNT
 * pseudo-random inputs from --seed (printed), so every target also gets a
 * short fuzz-like run without libFuzzer. --trace prints "input FILE" before
 * each file and the interpreter's trace of it (see ops.h).
 */
#include "ops.h"
#include "../testlib.h"

#define MAX_INPUT 65536

static uint8_t input[MAX_INPUT];

/* Reads a whole file into `input`; returns its length, or stops the program
 * with a message naming the file. */
static size_t input_load(const char *path)
{
    int handle = lm_host_open(path);
    if (handle < 0) {
        tl_printf("error: cannot open fuzz input '%s'\n", path);
        lm_host_exit(2);
    }
    size_t length = 0;
    for (;;) {
        intptr_t got = lm_host_read(handle, input + length, MAX_INPUT - length);
        if (got < 0) {
            tl_printf("error: cannot read fuzz input '%s'\n", path);
            lm_host_exit(2);
        }
        if (got == 0)
            break;
        length += (size_t)got;
        if (length == MAX_INPUT) {
            uint8_t extra;
            if (lm_host_read(handle, &extra, 1) != 0) {
                tl_printf("error: fuzz input '%s' is larger than %u bytes\n", path,
                          (unsigned)MAX_INPUT);
                lm_host_exit(2);
            }
            break;
        }
    }
    lm_host_close(handle);
    return length;
}

int main(int argc, char **argv)
{
    uint64_t random_count = tl_arg_u64(argc, argv, "--random", 0);
    uint64_t seed = tl_arg_u64(argc, argv, "--seed", 1);
    int trace = 0;
    for (int i = 1; i < argc; i++)
        trace |= tl_streq(argv[i], "--trace");
    lm_fuzz_trace(trace);
    tl_begin("fuzz_replay");
    unsigned files = 0, failing = 0;
    for (int i = 1; i < argc; i++) {
        if (tl_streq(argv[i], "--random") || tl_streq(argv[i], "--seed")) {
            i++;
            continue;
        }
        if (tl_streq(argv[i], "--trace"))
            continue;
        size_t length = input_load(argv[i]);
        files++;
        if (trace)
            tl_printf("input %s\n", argv[i]);
        if (lm_fuzz_run(input, length) != 0) {
            tl_printf("  input %s failed (%zu bytes)\n", argv[i], length);
            failing++;
        }
    }
    if (files == 0 && random_count == 0) {
        tl_printf("error: no fuzz inputs given: fuzz_replay [--random COUNT] [--seed N] [--trace] FILE...\n");
        return 2;
    }
    tl_printf("  replayed %u file(s)\n", files);

    if (random_count > 0) {
        tl_printf("  %llu random inputs from seed %llu (rerun: --random %llu --seed %llu)\n",
                  (unsigned long long)random_count, (unsigned long long)seed,
                  (unsigned long long)random_count, (unsigned long long)seed);
        tl_rng rng;
        tl_rng_seed(&rng, seed);
        for (uint64_t n = 0; n < random_count; n++) {
            size_t length = 64 + (size_t)tl_rng_below(&rng, 1024);
            for (size_t k = 0; k < length; k++)
                input[k] = (uint8_t)tl_rng_next(&rng);
            if (lm_fuzz_run(input, length) != 0) {
                tl_printf("  random input %llu failed\n", (unsigned long long)n);
                failing++;
                break;
            }
        }
    }
    CHECK_EQ(failing, 0);
    return tl_finish();
}
