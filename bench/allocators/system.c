/* Native system allocators: glibc malloc, and mimalloc, jemalloc, tcmalloc
 * which replace malloc for the whole process when linked (CMake builds this
 * file once per allocator, naming it with BENCH_SYSTEM_NAME and linking the
 * library). They get memory from the kernel, not from the target seam, so
 * footprint is the growth of the process's peak resident set (VmHWM) over
 * what it was when the allocator was first used; growth calls are not seen. */
#define _GNU_SOURCE
#include "allocator.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BENCH_SYSTEM_NAME
#error "BENCH_SYSTEM_NAME must name the system allocator (glibc, mimalloc, ...)"
#endif

const char bench_allocator_name[] = BENCH_SYSTEM_NAME;
const size_t bench_allocator_alignment = 16;

static uint64_t resident_baseline;

/* Reads "<key> <n> kB" from /proc/self/status; 0 if absent. */
static uint64_t status_kib(const char *key)
{
    char text[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0)
        return 0;
    text[got] = '\0';
    const char *line = strstr(text, key);
    if (line == NULL)
        return 0;
    return strtoull(line + strlen(key), NULL, 10);
}

void bench_allocator_init(void)
{
    /* Take the allocator's start-up cost before the baseline. */
    free(malloc(1));
    resident_baseline = status_kib("VmRSS:") * 1024;
}

void bench_allocator_reset(void) {}

void *bench_malloc(size_t size) { return malloc(size); }
void bench_free(void *ptr) { free(ptr); }
void *bench_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
void *bench_calloc(size_t count, size_t size) { return calloc(count, size); }

void *bench_memalign(size_t alignment, size_t size)
{
    void *result = NULL;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    return posix_memalign(&result, alignment, size) == 0 ? result : NULL;
}

void bench_allocator_usage(bench_usage *out)
{
    uint64_t peak = status_kib("VmHWM:") * 1024;
    out->footprint_bytes = peak > resident_baseline ? peak - resident_baseline : 0;
    out->grow_calls = 0;
    out->grow_ns = 0;
    out->footprint_kind = BENCH_FOOTPRINT_RSS;
    out->grow_timed = 0;
}
