/* testlib — the small kit every lmalloc test program is written with.
 *
 * Tests are the same C source on native, wasm32 and wasm64, and a wasm
 * module has no libc, so this kit provides what a test needs on top of
 * targets/host.h: printing (a tiny printf), checks that name the file, line
 * and expression and make the program fail, a seedable PRNG, argument
 * parsing, and byte patterns to prove a block kept its contents.
 *
 * A test program calls tl_begin() first and ends with `return tl_finish();`,
 * which also asserts that lm_check() finds the heap sound.
 */
#ifndef LM_TESTLIB_H
#define LM_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"      /* targets/host.h */
#include "lmalloc.h"   /* src/lmalloc.h */

/* ---- printing ------------------------------------------------------------
 * Supported conversions: %s %c %% %d %u %x (int width), with length
 * modifiers l, ll, z (e.g. %llu, %zx); %p prints a pointer in hex. */
void tl_printf(const char *format, ...);
void tl_vprintf(int fd, const char *format, va_list args);
void tl_eprintf(const char *format, ...);

/* ---- checks -------------------------------------------------------------
 * CHECK records a failure and carries on (to report as much as possible);
 * REQUIRE stops the program at once (use it where carrying on would
 * dereference garbage). Both print "file:line: ... failed: expression". */
#define CHECK(expr) \
    ((expr) ? (void)0 : tl_fail(__FILE__, __LINE__, "CHECK", #expr, 0))
#define REQUIRE(expr) \
    ((expr) ? (void)0 : tl_fail(__FILE__, __LINE__, "REQUIRE", #expr, 1))

/* Equality of two integers, printing both values when they differ. */
#define CHECK_EQ(a, b) \
    tl_check_eq(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b), 0)
#define REQUIRE_EQ(a, b) \
    tl_check_eq(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b), 1)

void tl_fail(const char *file, int line, const char *what, const char *expr, int fatal);
int  tl_check_eq(const char *file, int line, const char *a_text, const char *b_text,
                 uint64_t a, uint64_t b, int fatal);

/* Number of failed checks so far. */
unsigned tl_failures(void);

/* Extra context printed with every failure (e.g. the soak's seed and op
 * number), so a failure is reproducible from the log alone. NULL clears. */
typedef void (*tl_context_fn)(void);
void tl_set_context(tl_context_fn print_context);

/* Prints the test's name; call first in main. */
void tl_begin(const char *test_name);

/* Checks lm_check() == 0, prints PASS/FAIL, returns the exit code for main. */
int tl_finish(void);
/* The same without the lm_check: only for a test that damages the heap on
 * purpose (and checks lm_check() > 0 itself). */
int tl_finish_damaged_heap(void);

/* ---- PRNG (splitmix64: tiny, fast, every seed is good) ------------------ */
typedef struct tl_rng {
    uint64_t state;
} tl_rng;

void     tl_rng_seed(tl_rng *rng, uint64_t seed);
uint64_t tl_rng_next(tl_rng *rng);
uint64_t tl_rng_below(tl_rng *rng, uint64_t bound);          /* [0, bound), bound > 0 */
size_t   tl_rng_log_uniform(tl_rng *rng, unsigned max_bits);  /* sizes spread evenly over magnitudes 0 .. 2^max_bits */
uint64_t tl_mix64(uint64_t x);                                /* splitmix64 finalizer */

/* ---- arguments ------------------------------------------------------------
 * `--name N` (decimal or 0x hex). Returns `fallback` when absent; an
 * unparsable value stops the program with an error naming the option. */
uint64_t tl_arg_u64(int argc, char **argv, const char *name, uint64_t fallback);
/* `--name VALUE`: the string, or NULL when absent. */
const char *tl_arg_str(int argc, char **argv, const char *name);

/* ---- memory -------------------------------------------------------------- */
void tl_memset(void *dst, int value, size_t len);
void tl_memcpy(void *dst, const void *src, size_t len);
int  tl_streq(const char *a, const char *b);
size_t tl_strlen(const char *s);

/* Fills [p, p+len) with a pattern that depends on `id` and the offset, so
 * a block holding another block's bytes, or shifted bytes, is caught. */
void tl_fill_pattern(void *p, size_t len, uint64_t id);
/* Returns the first offset in [0, len) whose byte is not the pattern, or
 * (size_t)-1 if all match. */
size_t tl_find_pattern_mismatch(const void *p, size_t len, uint64_t id);
/* The pattern byte at `offset` for `id`. */
uint8_t tl_pattern_byte(uint64_t id, size_t offset);
/* Returns the first offset whose byte differs from `value`, or (size_t)-1. */
size_t tl_find_byte_mismatch(const void *p, size_t len, uint8_t value);

#define TL_NO_MISMATCH ((size_t)-1)

/* Pattern check with a precise failure message (id, pointer, offset, bytes). */
#define CHECK_PATTERN(p, len, id) \
    tl_check_pattern(__FILE__, __LINE__, (p), (len), (id))
int tl_check_pattern(const char *file, int line, const void *p, size_t len, uint64_t id);

/* ---- targets --------------------------------------------------------------
 * Whether this target and engine can hold a heap past 4 GiB: natively yes;
 * wasm64 under Node >= 24 yes; wasm64 under node 20 (memory64 stops at
 * 4 GiB) and wasm32 no. On wasm the engine comes from the runner
 * (lm_host_getenv("LM_WASM_ENGINE")); the program stops if it is missing.
 * Prints the engine. LM_TEST_WASM (0/1) comes from tests/CMakeLists.txt. */
int tl_target_holds_past_4gib(void);

/* Reads the allocator's statistics. */
lm_stats_t tl_stats(void);

static inline int tl_is_aligned(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

#endif
