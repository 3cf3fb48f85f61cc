/* The benchmark harness (see harness.h). Freestanding C11: no libc calls. */
#include "harness.h"

#include <stdarg.h>

#include "../targets/host.h"

#ifndef BENCH_ARENA_BYTES
#define BENCH_ARENA_BYTES (48u << 20)
#endif

/* ------------------------------------------------------------------ output */

text_out bench_stdout = { 1, 0, { 0 } };
text_out bench_stderr = { 2, 0, { 0 } };

void out_flush(text_out *out)
{
    if (out->len > 0)
        lm_host_write(out->fd, out->buf, out->len);
    out->len = 0;
}

void out_bytes(text_out *out, const char *bytes, size_t len)
{
    while (len > 0) {
        size_t room = sizeof out->buf - out->len;
        if (room == 0) {
            out_flush(out);
            continue;
        }
        size_t chunk = len < room ? len : room;
        for (size_t index = 0; index < chunk; index++)
            out->buf[out->len + index] = bytes[index];
        out->len += chunk;
        bytes += chunk;
        len -= chunk;
    }
}

void out_str(text_out *out, const char *text)
{
    out_bytes(out, text, str_len(text));
}

void out_u64(text_out *out, uint64_t value)
{
    char digits[24];
    size_t count = 0;
    do {
        digits[sizeof digits - 1 - count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    out_bytes(out, digits + sizeof digits - count, count);
}

void out_i64(text_out *out, int64_t value)
{
    if (value < 0) {
        out_bytes(out, "-", 1);
        out_u64(out, (uint64_t)0 - (uint64_t)value);
    } else {
        out_u64(out, (uint64_t)value);
    }
}

void out_f64(text_out *out, double value, int decimals)
{
    if (value != value) {          /* NaN is not JSON: say null */
        out_str(out, "null");
        return;
    }
    if (value < 0) {
        out_bytes(out, "-", 1);
        value = -value;
    }
    if (value >= 1e18) {           /* beyond uint64: exponent form */
        int exponent = 0;
        while (value >= 10.0) {
            value /= 10.0;
            exponent++;
        }
        out_f64(out, value, 6);
        out_bytes(out, "e+", 2);
        out_u64(out, (uint64_t)exponent);
        return;
    }
    uint64_t scale = 1;
    for (int digit = 0; digit < decimals; digit++)
        scale *= 10;
    uint64_t fixed = (uint64_t)(value * (double)scale + 0.5);
    out_u64(out, fixed / scale);
    if (decimals > 0) {
        char fraction[24];
        uint64_t rest = fixed % scale;
        for (int digit = decimals - 1; digit >= 0; digit--) {
            fraction[digit] = (char)('0' + rest % 10);
            rest /= 10;
        }
        out_bytes(out, ".", 1);
        out_bytes(out, fraction, (size_t)decimals);
    }
}

void out_json_string(text_out *out, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    out_bytes(out, "\"", 1);
    for (; *text != '\0'; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '"' || c == '\\') {
            char escaped[2] = { '\\', (char)c };
            out_bytes(out, escaped, 2);
        } else if (c < 0x20) {
            char escaped[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            out_bytes(out, escaped, 6);
        } else {
            out_bytes(out, (const char *)&c, 1);
        }
    }
    out_bytes(out, "\"", 1);
}

static void out_vfmt(text_out *out, const char *format, va_list args)
{
    for (const char *cursor = format; *cursor != '\0'; cursor++) {
        if (*cursor != '%' || cursor[1] == '\0') {
            const char *run = cursor;
            while (cursor[1] != '\0' && cursor[1] != '%')
                cursor++;
            out_bytes(out, run, (size_t)(cursor - run + 1));
            continue;
        }
        cursor++;
        switch (*cursor) {
        case 's': { const char *text = va_arg(args, const char *); out_str(out, text ? text : "(null)"); break; }
        case 'd': out_i64(out, va_arg(args, int)); break;
        case 'u': out_u64(out, va_arg(args, unsigned)); break;
        case 'U': out_u64(out, va_arg(args, uint64_t)); break;
        case 'Z': out_u64(out, va_arg(args, size_t)); break;
        case 'F': out_f64(out, va_arg(args, double), 3); break;
        case 'c': { char letter = (char)va_arg(args, int); out_bytes(out, &letter, 1); break; }
        case '%': out_bytes(out, "%", 1); break;
        default: out_bytes(out, cursor - 1, 2); break;
        }
    }
}

void out_fmt(text_out *out, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    out_vfmt(out, format, args);
    va_end(args);
}

void str_fmt(char *dest, size_t cap, const char *format, ...)
{
    /* Format through a scratch text_out, then copy what fits. */
    static text_out scratch;
    scratch.fd = -1;
    scratch.len = 0;
    va_list args;
    va_start(args, format);
    out_vfmt(&scratch, format, args);
    va_end(args);
    size_t count = scratch.len < cap - 1 ? scratch.len : cap - 1;
    for (size_t index = 0; index < count; index++)
        dest[index] = scratch.buf[index];
    dest[count] = '\0';
    scratch.len = 0;
}

_Noreturn void bench_fail(const char *format, ...)
{
    out_flush(&bench_stdout);
    out_str(&bench_stderr, "bench: ");
    va_list args;
    va_start(args, format);
    out_vfmt(&bench_stderr, format, args);
    va_end(args);
    out_str(&bench_stderr, "\n");
    out_flush(&bench_stderr);
    lm_host_exit(2);
}

/* ----------------------------------------------------------------- strings */

size_t str_len(const char *text)
{
    size_t len = 0;
    while (text[len] != '\0')
        len++;
    return len;
}

int str_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const char *str_after(const char *text, const char *prefix)
{
    while (*prefix != '\0') {
        if (*text != *prefix)
            return NULL;
        text++;
        prefix++;
    }
    return text;
}

int str_to_u64(const char *text, uint64_t *value)
{
    uint64_t result = 0;
    if (*text < '0' || *text > '9')
        return 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        uint64_t digit = (uint64_t)(*text - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return 0;
        result = result * 10 + digit;
    }
    if (*text != '\0')
        return 0;
    *value = result;
    return 1;
}

int str_to_f64(const char *text, double *value)
{
    double result = 0.0;
    int digits = 0;
    for (; *text >= '0' && *text <= '9'; text++, digits++)
        result = result * 10.0 + (double)(*text - '0');
    if (*text == '.') {
        double place = 0.1;
        for (text++; *text >= '0' && *text <= '9'; text++, digits++, place /= 10.0)
            result += place * (double)(*text - '0');
    }
    if (*text != '\0' || digits == 0)
        return 0;
    *value = result;
    return 1;
}

void str_trace_label(char *dest, size_t cap, const char *path)
{
    const char *base = path;
    for (const char *cursor = path; *cursor != '\0'; cursor++) {
        if (*cursor == '/')
            base = cursor + 1;
    }
    size_t len = str_len(base);
    static const char *const suffixes[] = { ".gz", ".lmtrace" };
    for (size_t which = 0; which < 2; which++) {
        size_t suffix_len = str_len(suffixes[which]);
        if (len <= suffix_len)
            continue;
        size_t at = 0;
        while (at < suffix_len && base[len - suffix_len + at] == suffixes[which][at])
            at++;
        if (at == suffix_len)
            len -= suffix_len;
    }
    if (len >= cap)
        len = cap - 1;
    for (size_t index = 0; index < len; index++)
        dest[index] = base[index];
    dest[len] = '\0';
}

/* ------------------------------------------------------------------ random */

void rng_seed(bench_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t rng_next(bench_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t rng_below(bench_rng *rng, uint64_t bound)
{
    /* Multiply-shift on the top 32 bits (no division, no 128-bit helper calls
     * on wasm32); bias is far below what a benchmark could see. */
    uint64_t random = rng_next(rng);
    if (bound <= UINT32_MAX)
        return ((random >> 32) * bound) >> 32;
    return random % bound;
}

uint64_t rng_log_uniform(bench_rng *rng, uint64_t low, uint64_t high)
{
    unsigned low_log = (unsigned)__builtin_ctzll(low);
    unsigned high_log = (unsigned)__builtin_ctzll(high);
    unsigned octave = low_log + (unsigned)rng_below(rng, high_log - low_log);
    uint64_t base = (uint64_t)1 << octave;
    return base + rng_below(rng, base);
}

/* ------------------------------------------------------------------- arena */

/* A static array: the linker places it in zero-initialised memory. (A wasm
 * object file still carries it as zeros, which is why the bench programs
 * share one compiled copy, the bench_harness library.) */
static _Alignas(16) unsigned char arena_bytes[BENCH_ARENA_BYTES];
static size_t arena_used;

void *arena_take(size_t bytes)
{
    size_t rounded = (bytes + 15) & ~(size_t)15;
    if (rounded < bytes || rounded > sizeof arena_bytes - arena_used)
        return NULL;
    void *result = arena_bytes + arena_used;
    arena_used += rounded;
    return result;
}

size_t arena_available(void)
{
    return sizeof arena_bytes - arena_used;
}

void arena_reset(void)
{
    arena_used = 0;
}

uint64_t bench_now_ns(void)
{
    return lm_host_now_ns();
}
