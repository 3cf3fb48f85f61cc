/* The benchmark harness: what every benchmark program shares, on every target.
 *
 * Benchmark programs are built for native, wasm32 and wasm64 from the same C
 * sources. A wasm module has no libc, so this file gives them the little they
 * need on top of targets/host.h: buffered text output with a tiny formatter,
 * a seeded random generator, a static arena for the harness's own tables (the
 * allocator under test must never serve the harness: it would distort its
 * footprint), and argument parsing helpers.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ output */

/* Text collected in a buffer and written in large pieces: on wasm every
 * lm_host_write is a call into JS and a system call. */
typedef struct text_out {
    int fd;          /* 1, 2, or a handle from lm_host_create */
    size_t len;
    char buf[16384];
} text_out;

extern text_out bench_stdout;
extern text_out bench_stderr;

void out_bytes(text_out *out, const char *bytes, size_t len);
void out_str(text_out *out, const char *text);
void out_u64(text_out *out, uint64_t value);
void out_i64(text_out *out, int64_t value);
/* Fixed-point with `decimals` digits; large magnitudes fall back to %.17g-like
 * exponent form so JSON consumers see the full value. */
void out_f64(text_out *out, double value, int decimals);
void out_json_string(text_out *out, const char *text);
void out_flush(text_out *out);

/* A printf subset: %s string, %d int, %u unsigned, %U uint64_t, %Z size_t,
 * %F double with 3 decimals, %c char, %% a percent sign. */
void out_fmt(text_out *out, const char *format, ...);

/* Formats into `dest` (NUL-terminated, truncated to `cap`). */
void str_fmt(char *dest, size_t cap, const char *format, ...);

/* Prints "bench: <message>" on stderr and exits with status 2. */
_Noreturn void bench_fail(const char *format, ...);

/* ----------------------------------------------------------------- strings */

size_t str_len(const char *text);
int str_eq(const char *a, const char *b);
/* If `text` starts with `prefix`, returns what follows it, else NULL. */
const char *str_after(const char *text, const char *prefix);
/* Parses a whole decimal unsigned integer; returns 0 on any malformation. */
int str_to_u64(const char *text, uint64_t *value);
/* Parses a plain decimal number such as "0.05" or "2"; returns 0 if malformed. */
int str_to_f64(const char *text, double *value);
/* The file name without directories and without `.lmtrace`/`.gz` suffixes. */
void str_trace_label(char *dest, size_t cap, const char *path);

/* ------------------------------------------------------------------ random */

/* splitmix64: small, fast, and good enough to pick sizes and victims. */
typedef struct bench_rng {
    uint64_t state;
} bench_rng;

void rng_seed(bench_rng *rng, uint64_t seed);
uint64_t rng_next(bench_rng *rng);
/* Uniform in [0, bound), bound > 0. */
uint64_t rng_below(bench_rng *rng, uint64_t bound);
/* Sizes spread evenly over the octaves of [low, high): pick an octave
 * uniformly, then a size uniformly within it. low and high are powers of two. */
uint64_t rng_log_uniform(bench_rng *rng, uint64_t low, uint64_t high);

/* ------------------------------------------------------------------- arena */

/* The harness's own memory: static, so it sits below the heap and never
 * touches the allocator under test. Reset between workloads. */
void *arena_take(size_t bytes);   /* 16-byte aligned; NULL when exhausted */
size_t arena_available(void);
void arena_reset(void);

/* ------------------------------------------------------------------- clock */

uint64_t bench_now_ns(void);

#endif
