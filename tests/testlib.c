/* testlib — see testlib.h. No libc: everything goes through targets/host.h. */
#include "testlib.h"

/* ---- printing ------------------------------------------------------------ */

typedef struct out_buffer {
    int fd;
    size_t used;
    char bytes[256];
} out_buffer;

static void out_flush(out_buffer *out)
{
    if (out->used > 0)
        lm_host_write(out->fd, out->bytes, out->used);
    out->used = 0;
}

static void out_char(out_buffer *out, char c)
{
    if (out->used == sizeof out->bytes)
        out_flush(out);
    out->bytes[out->used++] = c;
}

static void out_string(out_buffer *out, const char *s)
{
    if (s == NULL)
        s = "(null)";
    while (*s != '\0')
        out_char(out, *s++);
}

static void out_unsigned(out_buffer *out, uint64_t value, unsigned base, int prefix)
{
    char digits[24];
    int count = 0;
    if (prefix)
        out_string(out, "0x");
    do {
        unsigned digit = (unsigned)(value % base);
        digits[count++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    while (count > 0)
        out_char(out, digits[--count]);
}

void tl_vprintf(int fd, const char *format, va_list args)
{
    out_buffer out;
    out.fd = fd;
    out.used = 0;
    for (const char *f = format; *f != '\0'; f++) {
        if (*f != '%') {
            out_char(&out, *f);
            continue;
        }
        f++;
        int longs = 0, is_size = 0;
        while (*f == 'l') { longs++; f++; }
        if (*f == 'z') { is_size = 1; f++; }
        switch (*f) {
        case '%': out_char(&out, '%'); break;
        case 'c': out_char(&out, (char)va_arg(args, int)); break;
        case 's': out_string(&out, va_arg(args, const char *)); break;
        case 'p': out_unsigned(&out, (uintptr_t)va_arg(args, void *), 16, 1); break;
        case 'd': {
            int64_t value;
            if (is_size)         value = (int64_t)va_arg(args, ptrdiff_t);
            else if (longs >= 2) value = va_arg(args, long long);
            else if (longs == 1) value = va_arg(args, long);
            else                 value = va_arg(args, int);
            if (value < 0) {
                out_char(&out, '-');
                out_unsigned(&out, (uint64_t)0 - (uint64_t)value, 10, 0);
            } else {
                out_unsigned(&out, (uint64_t)value, 10, 0);
            }
            break;
        }
        case 'u':
        case 'x': {
            uint64_t value;
            if (is_size)         value = va_arg(args, size_t);
            else if (longs >= 2) value = va_arg(args, unsigned long long);
            else if (longs == 1) value = va_arg(args, unsigned long);
            else                 value = va_arg(args, unsigned);
            out_unsigned(&out, value, *f == 'x' ? 16 : 10, 0);
            break;
        }
        case '\0':
            f--; /* a lone '%' at the end: stop at the terminator */
            break;
        default:
            out_char(&out, '%');
            out_char(&out, *f);
            break;
        }
    }
    out_flush(&out);
}

void tl_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    tl_vprintf(1, format, args);
    va_end(args);
}

void tl_eprintf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    tl_vprintf(2, format, args);
    va_end(args);
}

/* ---- checks -------------------------------------------------------------- */

static unsigned failure_count;
static const char *current_test = "test";
static tl_context_fn failure_context;

unsigned tl_failures(void) { return failure_count; }

void tl_set_context(tl_context_fn print_context) { failure_context = print_context; }

/* Failures go to stdout so they interleave in order with the progress
 * lines (ctest shows both streams anyway). */
/* What every failed check does after printing its own line. */
static void failure_counted(int fatal)
{
    failure_count++;
    if (failure_context != NULL)
        failure_context();
    if (fatal) {
        tl_printf("FAIL %s (stopped at the first fatal check; %u failure(s))\n",
                  current_test, failure_count);
        lm_host_exit(1);
    }
}

void tl_fail(const char *file, int line, const char *what, const char *expr, int fatal)
{
    tl_printf("%s:%d: %s failed: %s\n", file, line, what, expr);
    failure_counted(fatal);
}

int tl_check_eq(const char *file, int line, const char *a_text, const char *b_text,
                uint64_t a, uint64_t b, int fatal)
{
    if (a == b)
        return 1;
    tl_printf("%s:%d: %s failed: %s == %s (%llu [0x%llx] vs %llu [0x%llx])\n", file, line,
              fatal ? "REQUIRE_EQ" : "CHECK_EQ", a_text, b_text,
              (unsigned long long)a, (unsigned long long)a,
              (unsigned long long)b, (unsigned long long)b);
    failure_counted(fatal);
    return 0;
}

void tl_begin(const char *test_name)
{
    current_test = test_name;
    tl_printf("test %s (pointer width %u bits)\n", test_name, (unsigned)(sizeof(void *) * 8));
}

int tl_finish(void)
{
    size_t problems = lm_check();
    CHECK_EQ(problems, 0);
    return tl_finish_damaged_heap();
}

int tl_finish_damaged_heap(void)
{
    if (failure_count == 0) {
        tl_printf("PASS %s\n", current_test);
        return 0;
    }
    tl_printf("FAIL %s: %u failed check(s)\n", current_test, failure_count);
    return 1;
}

/* ---- PRNG ---------------------------------------------------------------- */

uint64_t tl_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void tl_rng_seed(tl_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t tl_rng_next(tl_rng *rng)
{
    rng->state += 0x9e3779b97f4a7c15ull;
    return tl_mix64(rng->state);
}

uint64_t tl_rng_below(tl_rng *rng, uint64_t bound)
{
    /* Modulo bias is irrelevant at test bounds (far below 2^32). */
    return tl_rng_next(rng) % bound;
}

size_t tl_rng_log_uniform(tl_rng *rng, unsigned max_bits)
{
    unsigned bits = (unsigned)tl_rng_below(rng, max_bits + 1);
    uint64_t limit = (uint64_t)1 << bits;            /* sizes in [0, 2^bits] */
    return (size_t)tl_rng_below(rng, limit + 1);
}

/* ---- arguments ----------------------------------------------------------- */

int tl_streq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) { a++; b++; }
    return *a == *b;
}

size_t tl_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

const char *tl_arg_str(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        if (tl_streq(argv[i], name)) {
            if (i + 1 >= argc) {
                tl_printf("error: option %s needs a value\n", name);
                lm_host_exit(2);
            }
            return argv[i + 1];
        }
    }
    return NULL;
}

uint64_t tl_arg_u64(int argc, char **argv, const char *name, uint64_t fallback)
{
    const char *text = tl_arg_str(argc, argv, name);
    if (text == NULL)
        return fallback;
    uint64_t value = 0;
    unsigned base = 10;
    const char *s = text;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    int digits = 0;
    for (; *s != '\0'; s++, digits++) {
        unsigned digit;
        if (*s >= '0' && *s <= '9')                      digit = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')   digit = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')   digit = (unsigned)(*s - 'A' + 10);
        else                                             digit = 99;
        if (digit >= base || value > (UINT64_MAX - digit) / base) {
            digits = 0;
            break;
        }
        value = value * base + digit;
    }
    if (digits == 0) {
        tl_printf("error: option %s wants an unsigned number (decimal or 0x hex), got '%s'\n",
                  name, text);
        lm_host_exit(2);
    }
    return value;
}

/* ---- memory -------------------------------------------------------------- */

void tl_memset(void *dst, int value, size_t len)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < len; i++)
        d[i] = (unsigned char)value;
}

void tl_memcpy(void *dst, const void *src, size_t len)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < len; i++)
        d[i] = s[i];
}

/* The pattern is defined per 8-byte word at absolute offset / 8, so filling
 * and checking can run a word at a time (blocks are 16-byte aligned); bytes
 * outside whole words use the same definition. */
static uint64_t pattern_word(uint64_t id_hash, size_t word_index)
{
    return id_hash ^ ((uint64_t)word_index * 0x9e3779b97f4a7c15ull + (uint64_t)word_index);
}

uint8_t tl_pattern_byte(uint64_t id, size_t offset)
{
    uint64_t word = pattern_word(tl_mix64(id + 1), offset / 8);
    return (uint8_t)(word >> (8 * (offset % 8)));
}

void tl_fill_pattern(void *p, size_t len, uint64_t id)
{
    uint64_t id_hash = tl_mix64(id + 1);
    unsigned char *bytes = p;
    size_t offset = 0;
    if (((uintptr_t)bytes & 7) == 0) {
        uint64_t *words = (uint64_t *)(void *)bytes;
        size_t word_count = len / 8;
        for (size_t w = 0; w < word_count; w++)
            words[w] = pattern_word(id_hash, w);   /* little-endian on every target */
        offset = word_count * 8;
    }
    for (; offset < len; offset++)
        bytes[offset] = tl_pattern_byte(id, offset);
}

size_t tl_find_pattern_mismatch(const void *p, size_t len, uint64_t id)
{
    uint64_t id_hash = tl_mix64(id + 1);
    const unsigned char *bytes = p;
    size_t offset = 0;
    if (((uintptr_t)bytes & 7) == 0) {
        const uint64_t *words = (const uint64_t *)(const void *)bytes;
        size_t word_count = len / 8;
        for (size_t w = 0; w < word_count; w++) {
            if (words[w] != pattern_word(id_hash, w)) {
                offset = w * 8;
                for (;; offset++)
                    if (bytes[offset] != tl_pattern_byte(id, offset))
                        return offset;
            }
        }
        offset = word_count * 8;
    }
    for (; offset < len; offset++)
        if (bytes[offset] != tl_pattern_byte(id, offset))
            return offset;
    return TL_NO_MISMATCH;
}

size_t tl_find_byte_mismatch(const void *p, size_t len, uint8_t value)
{
    const unsigned char *bytes = p;
    for (size_t i = 0; i < len; i++)
        if (bytes[i] != value)
            return i;
    return TL_NO_MISMATCH;
}

int tl_check_pattern(const char *file, int line, const void *p, size_t len, uint64_t id)
{
    size_t bad = tl_find_pattern_mismatch(p, len, id);
    if (bad == TL_NO_MISMATCH)
        return 1;
    tl_printf("%s:%d: CHECK_PATTERN failed: block %p (%zu bytes, id %llu) differs at "
              "offset %zu: found 0x%x, expected 0x%x\n",
              file, line, p, len, (unsigned long long)id, bad,
              (unsigned)((const unsigned char *)p)[bad], (unsigned)tl_pattern_byte(id, bad));
    failure_counted(0);
    return 0;
}

lm_stats_t tl_stats(void)
{
    lm_stats_t stats;
    lm_stats(&stats);
    return stats;
}

/* ---- targets ------------------------------------------------------------- */

#if LM_TEST_WASM
/* The node major version from "node 24.11.1", or 0 if the text is not that. */
static unsigned engine_node_major(const char *engine)
{
    const char *prefix = "node ";
    for (; *prefix != '\0'; prefix++, engine++)
        if (*engine != *prefix)
            return 0;
    unsigned major = 0;
    for (; *engine >= '0' && *engine <= '9'; engine++)
        major = major * 10 + (unsigned)(*engine - '0');
    return *engine == '.' ? major : 0;
}
#endif

int tl_target_holds_past_4gib(void)
{
#if LM_TEST_WASM
    char engine[64];
    intptr_t len = lm_host_getenv("LM_WASM_ENGINE", engine, sizeof engine);
    if (len <= 0 || (size_t)len >= sizeof engine || engine_node_major(engine) == 0) {
        tl_printf("error: the runner must set LM_WASM_ENGINE to \"node <version>\" "
                  "(toolchain/run-wasm.mjs does); got %s\n", len < 0 ? "nothing" : engine);
        lm_host_exit(2);
    }
    unsigned major = engine_node_major(engine);
    tl_printf("  engine: %s, wasm%u\n", engine, (unsigned)(sizeof(void *) * 8));
    if (sizeof(void *) == 8)
        return major >= 24;   /* node 20 stops memory64 at 4 GiB */
    return 0;                 /* wasm32 addresses end at 4 GiB */
#else
    tl_printf("  engine: native x86_64\n");
    return 1;
#endif
}
