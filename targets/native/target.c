/* The native target (x86_64 Linux): imitates wasm linear memory so the
 * allocator runs the very same growth path here, under ASan and valgrind.
 *
 * On first use one range is reserved with mmap(PROT_NONE) and never moves;
 * lm_target_grow commits its next pages with mprotect, in 64 KiB steps, like
 * memory.grow. The reservation is the heap's maximum: LMALLOC_HEAP_MAX bytes
 * from the environment (K/M/G suffixes accepted), else LM_NATIVE_HEAP_MAX
 * from the build (default 64 GiB; or as much of it as the address space
 * allows). Fresh
 * anonymous pages read as zero.
 */
#define _GNU_SOURCE
#include "../target.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The reservation when LMALLOC_HEAP_MAX is not set: 64 GiB of address space,
 * which costs nothing until committed. */
#ifndef LM_NATIVE_HEAP_MAX
#define LM_NATIVE_HEAP_MAX (64ull << 30)
#endif

#if LM_TARGET_TIME_GROWTH
uint64_t lm_target_grow_ns;

static uint64_t clock_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
#endif

static unsigned char *reservation_start;  /* NULL until first use */
static uintptr_t reservation_bytes;
static uintptr_t committed_bytes;         /* [start, start + committed) is usable */

static void write_all(int fd, const struct iovec *parts, int count)
{
    struct iovec rest[4];
    memcpy(rest, parts, (size_t)count * sizeof *parts);
    struct iovec *next = rest;
    while (count > 0) {
        ssize_t written = writev(fd, next, count);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        while (count > 0 && (size_t)written >= next->iov_len) {
            written -= (ssize_t)next->iov_len;
            next++;
            count--;
        }
        if (count > 0) {
            next->iov_base = (char *)next->iov_base + written;
            next->iov_len -= (size_t)written;
        }
    }
}

/* Set-up failures are the user's to fix, so they say exactly what was wrong. */
static _Noreturn void reservation_fail(const char *what, const char *value)
{
    struct iovec parts[3] = {
        { (void *)what, strlen(what) },
        { (void *)value, strlen(value) },
        { (void *)"\n", 1 },
    };
    write_all(2, parts, 3);
    abort();
}

/* Parses "<digits>[K|M|G]" (binary units, either case); 0 if malformed. */
static uintptr_t size_parse(const char *text)
{
    uintptr_t value = 0;
    const char *cursor = text;
    if (*cursor < '0' || *cursor > '9')
        return 0;
    for (; *cursor >= '0' && *cursor <= '9'; cursor++) {
        uintptr_t digit = (uintptr_t)(*cursor - '0');
        if (value > (UINTPTR_MAX - digit) / 10)
            return 0;
        value = value * 10 + digit;
    }
    unsigned shift = 0;
    switch (*cursor) {
    case 'k': case 'K': shift = 10; cursor++; break;
    case 'm': case 'M': shift = 20; cursor++; break;
    case 'g': case 'G': shift = 30; cursor++; break;
    default: break;
    }
    if (*cursor != '\0' || value > (UINTPTR_MAX >> shift))
        return 0;
    return value << shift;
}

static void reservation_init(void)
{
    uintptr_t bytes = (uintptr_t)LM_NATIVE_HEAP_MAX;
    const char *setting = getenv("LMALLOC_HEAP_MAX");
    if (setting != NULL) {
        bytes = size_parse(setting);
        if (bytes == 0)
            reservation_fail("lmalloc: LMALLOC_HEAP_MAX must be a positive size in bytes, "
                             "optionally with a K, M or G suffix; got: ", setting);
    }
    /* Whole pages only, as on wasm; rounding down keeps the limit a limit. */
    bytes -= bytes % LM_TARGET_PAGE_SIZE;
    if (bytes == 0)
        reservation_fail("lmalloc: LMALLOC_HEAP_MAX is below one 64 KiB page: ",
                         setting != NULL ? setting : "(build default)");
    void *start = mmap(NULL, bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    /* The build default is a ceiling, not a demand: where the address space
     * is smaller (valgrind allows about 32 GiB), take the largest half that fits.
     * An explicit LMALLOC_HEAP_MAX is taken exactly or not at all. */
    while (start == MAP_FAILED && setting == NULL && bytes > 2 * LM_TARGET_PAGE_SIZE) {
        bytes = bytes / 2 - (bytes / 2) % LM_TARGET_PAGE_SIZE;
        start = mmap(NULL, bytes, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (start == MAP_FAILED)
        reservation_fail("lmalloc: cannot reserve the heap's address range; "
                         "lower LMALLOC_HEAP_MAX (bytes) from: ",
                         setting != NULL ? setting : "(build default)");
    reservation_start = start;
    reservation_bytes = bytes;
}

void lm_target_region(uintptr_t *start, uintptr_t *end)
{
    if (reservation_start == NULL)
        reservation_init();
    *start = (uintptr_t)reservation_start;
    *end = (uintptr_t)reservation_start + committed_bytes;
}

uintptr_t lm_target_grow(uintptr_t bytes)
{
#if LM_TARGET_TIME_GROWTH
    uint64_t started = clock_now_ns();
#endif
    if (reservation_start == NULL)
        reservation_init();
    uintptr_t result = LM_TARGET_GROW_FAILED;
    if (bytes % LM_TARGET_PAGE_SIZE == 0 && bytes <= reservation_bytes - committed_bytes) {
        unsigned char *old_end = reservation_start + committed_bytes;
        if (bytes == 0 || mprotect(old_end, bytes, PROT_READ | PROT_WRITE) == 0) {
            committed_bytes += bytes;
            result = (uintptr_t)old_end;
        }
    }
#if LM_TARGET_TIME_GROWTH
    lm_target_grow_ns += clock_now_ns() - started;
#endif
    return result;
}

void lm_target_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                      const char *line, size_t line_len, int fatal)
{
    (void)kind;
    (void)ptr;
    (void)size;
    struct iovec parts[2] = { { (void *)line, line_len }, { (void *)"\n", 1 } };
    write_all(2, parts, 2);
    if (fatal)
        abort();
}

int lm_target_random(void *out, size_t bytes)
{
    unsigned char *next = out;
    while (bytes > 0) {
        ssize_t got = getrandom(next, bytes, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;   /* no getrandom (Linux before 3.17): fixed keys */
        next += got;
        bytes -= (size_t)got;
    }
    return 1;
}

#if LM_THREADS
void lm_target_wait(uint32_t *word, uint32_t expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void lm_target_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void lm_target_on_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    pthread_atfork(prepare, parent, child);
}

/* A thread-specific value's destructor runs when its thread ends: the key
 * carries `done` to every thread that allocated. */
static pthread_key_t thread_end_key;
static pthread_once_t thread_end_once = PTHREAD_ONCE_INIT;
static void (*thread_end_done)(void);

static void thread_end(void *value)
{
    (void)value;
    __atomic_load_n(&thread_end_done, __ATOMIC_RELAXED)();
}

static void thread_end_key_create(void)
{
    pthread_key_create(&thread_end_key, thread_end);
}

void lm_target_on_thread_exit(void (*done)(void))
{
    __atomic_store_n(&thread_end_done, done, __ATOMIC_RELAXED);
    pthread_once(&thread_end_once, thread_end_key_create);
    pthread_setspecific(thread_end_key, (void *)1);
}
#endif
