/* lmtrace.so: an LD_PRELOAD interposer over glibc malloc that records every
 * heap call a program makes, in the lmtrace v1 text format
 * (../shared/lmtrace-format.md), so its allocation behaviour can be replayed
 * by the benchmark on native, wasm32 and wasm64.
 *
 *   LMTRACE_OUT=/tmp/run/prog LD_PRELOAD=build/.../lmtrace.so prog args...
 *
 * Each process writes <prefix>.<pid>.events while it runs and, at exit,
 * <prefix>.<pid>.header (the header needs the final slot and event counts);
 * bench/tracer/record joins and gzips them into a .lmtrace.gz. A forked
 * child stops recording (its ids would refer to the parent's file); a child
 * that execs starts a trace of its own.
 *
 * Calls go on to glibc through its __libc_* entry points, so the interposer
 * needs no dlsym and allocates nothing itself: its tables live in mmap'd
 * memory and its output goes through write(2). Pointers are mapped to ids
 * with an open-addressing table; freed ids are reused so `slots` stays near
 * the peak number of live objects. Frees of blocks allocated before
 * recording started are skipped and counted (skipped_frees=).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

/* ------------------------------------------------------------------ state */

typedef struct entry {
    uintptr_t ptr;      /* 0: empty */
    uint64_t size;
    uint32_t id;
} entry;

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static int recording;           /* 1 between start and stop, in the recording process */
static pid_t recording_pid;
static int events_fd = -1;
static char out_prefix[4096];

static entry *table;            /* ptr -> id, linear probing */
static size_t table_capacity;   /* power of two */
static size_t table_count;

static uint32_t *free_ids;      /* ids free for reuse (stack) */
static size_t free_id_count, free_id_capacity;
static uint32_t slots;          /* ids handed out so far: 0..slots-1 */

static uint64_t events, skipped_frees, live_bytes, peak_live_bytes, live_objects, peak_live_objects;

static char out_buf[1 << 20];
static size_t out_len;

static __thread int in_tracer;  /* no recording from inside the tracer */

/* ------------------------------------------------------------- raw memory */

static void *pages_get(size_t bytes)
{
    void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

static void stop_with(const char *why)
{
    /* The trace cannot stay correct; say so once and stop recording. */
    static const char prefix[] = "lmtrace: stopped recording: ";
    if (write(2, prefix, sizeof prefix - 1) < 0 || write(2, why, strlen(why)) < 0 || write(2, "\n", 1) < 0) {
        /* nothing more to do */
    }
    recording = 0;
}

/* ----------------------------------------------------------------- output */

static void out_flush(void)
{
    size_t done = 0;
    while (done < out_len) {
        ssize_t wrote = write(events_fd, out_buf + done, out_len - done);
        if (wrote < 0) {
            if (errno == EINTR)
                continue;
            stop_with("cannot write the events file");
            break;
        }
        done += (size_t)wrote;
    }
    out_len = 0;
}

static void out_text(const char *text)
{
    size_t len = strlen(text);
    memcpy(out_buf + out_len, text, len);
    out_len += len;
}

static void out_u64(uint64_t value)
{
    char digits[24];
    size_t count = 0;
    do {
        digits[sizeof digits - 1 - count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    memcpy(out_buf + out_len, digits + sizeof digits - count, count);
    out_len += count;
}

/* One event line: letter, id, then up to two numbers (count says how many). */
static void out_event(char letter, uint32_t id, int count, uint64_t first, uint64_t second)
{
    if (out_len > sizeof out_buf - 80)
        out_flush();
    out_buf[out_len++] = letter;
    out_buf[out_len++] = ' ';
    out_u64(id);
    if (count >= 1) {
        out_buf[out_len++] = ' ';
        out_u64(first);
    }
    if (count >= 2) {
        out_buf[out_len++] = ' ';
        out_u64(second);
    }
    out_buf[out_len++] = '\n';
    events++;
}

/* ------------------------------------------------------------------ table */

static size_t slot_of(uintptr_t ptr)
{
    uint64_t hash = (uint64_t)ptr * 0x9e3779b97f4a7c15u;
    return (size_t)(hash >> 20) & (table_capacity - 1);
}

static int table_grow(void)
{
    size_t new_capacity = table_capacity ? table_capacity * 2 : (1u << 16);
    entry *fresh = pages_get(new_capacity * sizeof(entry));
    if (fresh == NULL)
        return 0;
    entry *old = table;
    size_t old_capacity = table_capacity;
    table = fresh;
    table_capacity = new_capacity;
    for (size_t index = 0; index < old_capacity; index++) {
        if (old[index].ptr != 0) {
            size_t at = slot_of(old[index].ptr);
            while (table[at].ptr != 0)
                at = (at + 1) & (table_capacity - 1);
            table[at] = old[index];
        }
    }
    if (old != NULL)
        munmap(old, old_capacity * sizeof(entry));
    return 1;
}

static entry *table_find(uintptr_t ptr)
{
    if (table_capacity == 0)
        return NULL;
    for (size_t at = slot_of(ptr);; at = (at + 1) & (table_capacity - 1)) {
        if (table[at].ptr == ptr)
            return &table[at];
        if (table[at].ptr == 0)
            return NULL;
    }
}

static int table_insert(uintptr_t ptr, uint32_t id, uint64_t size)
{
    if ((table_count + 1) * 2 > table_capacity && !table_grow())
        return 0;
    size_t at = slot_of(ptr);
    while (table[at].ptr != 0 && table[at].ptr != ptr)
        at = (at + 1) & (table_capacity - 1);
    if (table[at].ptr == 0)
        table_count++;
    table[at] = (entry){ ptr, size, id };
    return 1;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void table_remove(entry *removed)
{
    size_t hole = (size_t)(removed - table);
    size_t at = hole;
    for (;;) {
        at = (at + 1) & (table_capacity - 1);
        if (table[at].ptr == 0)
            break;
        size_t home = slot_of(table[at].ptr);
        /* Move the entry into the hole if its home is not within (hole, at]. */
        int between = hole <= at ? (home > hole && home <= at) : (home > hole || home <= at);
        if (!between) {
            table[hole] = table[at];
            hole = at;
        }
    }
    table[hole].ptr = 0;
    table_count--;
}

/* ------------------------------------------------------------- ids & live */

static int id_new(uint32_t *id)
{
    if (free_id_count > 0) {
        *id = free_ids[--free_id_count];
        return 1;
    }
    if (slots == UINT32_MAX)
        return 0;
    *id = slots++;
    return 1;
}

static int id_release(uint32_t id)
{
    if (free_id_count == free_id_capacity) {
        size_t new_capacity = free_id_capacity ? free_id_capacity * 2 : (1u << 16);
        uint32_t *fresh = pages_get(new_capacity * sizeof(uint32_t));
        if (fresh == NULL)
            return 0;
        if (free_ids != NULL) {
            memcpy(fresh, free_ids, free_id_count * sizeof(uint32_t));
            munmap(free_ids, free_id_capacity * sizeof(uint32_t));
        }
        free_ids = fresh;
        free_id_capacity = new_capacity;
    }
    free_ids[free_id_count++] = id;
    return 1;
}

static void live_change(int64_t bytes, int64_t objects)
{
    live_bytes += (uint64_t)bytes;
    live_objects += (uint64_t)objects;
    if (live_bytes > peak_live_bytes)
        peak_live_bytes = live_bytes;
    if (live_objects > peak_live_objects)
        peak_live_objects = live_objects;
}

/* ---------------------------------------------------------------- records */

static int record_begin(void)
{
    if (!recording || in_tracer)
        return 0;
    in_tracer = 1;
    pthread_mutex_lock(&trace_lock);
    if (!recording || getpid() != recording_pid) {
        pthread_mutex_unlock(&trace_lock);
        in_tracer = 0;
        return 0;
    }
    return 1;
}

static void record_end(void)
{
    pthread_mutex_unlock(&trace_lock);
    in_tracer = 0;
}

/* A new block: 'a', 'c' or 'm' line. */
static void record_alloc(void *ptr, char letter, int count, uint64_t first, uint64_t second, uint64_t size)
{
    uint32_t id;
    if (!id_new(&id) || !table_insert((uintptr_t)ptr, id, size)) {
        stop_with("out of memory for the tracer's tables");
        return;
    }
    out_event(letter, id, count, first, second);
    live_change((int64_t)size, 1);
}

/* Returns 1 if the block was known (and records its 'f'). */
static int record_free(void *ptr)
{
    entry *found = table_find((uintptr_t)ptr);
    if (found == NULL) {
        skipped_frees++;
        return 0;
    }
    uint32_t id = found->id;
    live_change(-(int64_t)found->size, -1);
    table_remove(found);
    out_event('f', id, 0, 0, 0);
    if (!id_release(id))
        stop_with("out of memory for the tracer's id list");
    return 1;
}

/* ---------------------------------------------------------- interposition */

EXPORT void *malloc(size_t size)
{
    void *ptr = __libc_malloc(size);
    if (ptr != NULL && record_begin()) {
        record_alloc(ptr, 'a', 1, size, 0, size);
        record_end();
    }
    return ptr;
}

EXPORT void free(void *ptr)
{
    if (ptr != NULL && record_begin()) {
        record_free(ptr);
        record_end();
    }
    __libc_free(ptr);
}

EXPORT void *calloc(size_t count, size_t size)
{
    void *ptr = __libc_calloc(count, size);
    if (ptr != NULL && record_begin()) {
        record_alloc(ptr, 'c', 2, count, size, (uint64_t)count * size);
        record_end();
    }
    return ptr;
}

EXPORT void *realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return malloc(size);
    if (size == 0) {
        /* glibc frees and returns NULL: written as 'f'. */
        free(ptr);
        return NULL;
    }
    /* Under the lock across the call: another thread must not get `ptr`'s
     * address from malloc before the table says it moved. */
    if (!record_begin())
        return __libc_realloc(ptr, size);
    void *moved = __libc_realloc(ptr, size);
    if (moved != NULL) {
        entry *found = table_find((uintptr_t)ptr);
        if (found == NULL) {
            /* Allocated before recording: appears as a new block. */
            skipped_frees++;
            record_alloc(moved, 'a', 1, size, 0, size);
        } else {
            uint32_t id = found->id;
            live_change((int64_t)size - (int64_t)found->size, 0);
            table_remove(found);
            if (!table_insert((uintptr_t)moved, id, size))
                stop_with("out of memory for the tracer's tables");
            else
                out_event('r', id, 1, size, 0);
        }
    }
    record_end();
    return moved;
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, count * size);
}

static void *aligned(size_t alignment, size_t size)
{
    void *ptr = __libc_memalign(alignment, size);
    if (ptr != NULL && record_begin()) {
        record_alloc(ptr, 'm', 2, alignment, size, size);
        record_end();
    }
    return ptr;
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    void *ptr = aligned(alignment, size);
    if (ptr == NULL)
        return ENOMEM;
    *out = ptr;
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        /* glibc rounds a bad alignment up to a power of two. */
        size_t power = 1;
        while (power < alignment)
            power <<= 1;
        alignment = power;
    }
    return aligned(alignment, size);
}

EXPORT void *valloc(size_t size)
{
    return aligned((size_t)sysconf(_SC_PAGESIZE), size);
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return aligned(page, (size + page - 1) & ~(page - 1));
}

/* ---------------------------------------------------------- start & stop */

static void file_path(char *dest, size_t cap, const char *suffix)
{
    char pid_text[24];
    size_t count = 0;
    for (pid_t pid = recording_pid; pid > 0 || count == 0; pid /= 10)
        pid_text[count++] = (char)('0' + pid % 10);
    size_t at = 0;
    for (const char *from = out_prefix; *from != '\0' && at < cap - 40; from++)
        dest[at++] = *from;
    dest[at++] = '.';
    while (count > 0)
        dest[at++] = pid_text[--count];
    for (const char *from = suffix; *from != '\0'; from++)
        dest[at++] = *from;
    dest[at] = '\0';
}

static void child_after_fork(void)
{
    /* The child's trace would start mid-stream: it records nothing. */
    recording = 0;
    events_fd = -1;
}

__attribute__((constructor)) static void trace_start(void)
{
    const char *prefix = getenv("LMTRACE_OUT");
    if (prefix == NULL || *prefix == '\0' || strlen(prefix) >= sizeof out_prefix - 40)
        return;
    strcpy(out_prefix, prefix);
    recording_pid = getpid();
    char path[4200];
    file_path(path, sizeof path, ".events");
    events_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (events_fd < 0)
        return;
    pthread_atfork(NULL, NULL, child_after_fork);
    recording = 1;
}

__attribute__((destructor)) static void trace_stop(void)
{
    pthread_mutex_lock(&trace_lock);
    int was_recording = recording && getpid() == recording_pid;
    recording = 0;
    if (was_recording) {
        out_flush();
        close(events_fd);
        char program[64] = "unknown";
        int comm = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
        if (comm >= 0) {
            ssize_t got = read(comm, program, sizeof program - 1);
            close(comm);
            program[got > 0 ? got : 0] = '\0';
            for (char *at = program; *at != '\0'; at++) {
                if (*at == '\n' || *at == ' ')
                    *at = '\0';
            }
        }
        out_len = 0;
        out_text("lmtrace 1 slots=");
        out_u64(slots);
        out_text(" events=");
        out_u64(events);
        out_text(" program=");
        out_text(program);
        out_text(" peak_live_bytes=");
        out_u64(peak_live_bytes);
        out_text(" peak_live_objects=");
        out_u64(peak_live_objects);
        out_text(" skipped_frees=");
        out_u64(skipped_frees);
        out_buf[out_len++] = '\n';
        char path[4200];
        file_path(path, sizeof path, ".header");
        events_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (events_fd >= 0) {
            out_flush();
            close(events_fd);
        }
        events_fd = -1;
    }
    pthread_mutex_unlock(&trace_lock);
}
