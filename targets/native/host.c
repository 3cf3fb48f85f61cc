/* Host services for native programs: libc, plus zlib for .gz input.
 *
 * Handles are small integers >= 3 so lm_host_write can tell a created file
 * from stdout (1) and stderr (2), the same numbering the node runner uses.
 */
#define _GNU_SOURCE
#include "../host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define HANDLE_FIRST 3
#define HANDLE_COUNT 64

typedef struct host_file {
    int in_use;
    int fd;          /* plain file (read or write), -1 when gz is used */
    gzFile gz;       /* .gz file being read */
} host_file;

static host_file host_files[HANDLE_COUNT];

static host_file *handle_file(int handle)
{
    if (handle < HANDLE_FIRST || handle >= HANDLE_FIRST + HANDLE_COUNT)
        return NULL;
    host_file *file = &host_files[handle - HANDLE_FIRST];
    return file->in_use ? file : NULL;
}

static int handle_new(int fd, gzFile gz)
{
    for (int index = 0; index < HANDLE_COUNT; index++) {
        if (!host_files[index].in_use) {
            host_files[index] = (host_file){ 1, fd, gz };
            return index + HANDLE_FIRST;
        }
    }
    return -1;
}

/* A handle for a file just opened (fd < 0: it was not), closing it if no
 * handle is free. */
static int handle_for_fd(int fd)
{
    if (fd < 0)
        return -1;
    int handle = handle_new(fd, NULL);
    if (handle < 0)
        close(fd);
    return handle;
}

static int ends_with(const char *text, const char *suffix)
{
    size_t text_len = strlen(text), suffix_len = strlen(suffix);
    return text_len >= suffix_len && strcmp(text + text_len - suffix_len, suffix) == 0;
}

static void fd_write_all(int fd, const unsigned char *bytes, size_t len)
{
    while (len > 0) {
        ssize_t written = write(fd, bytes, len);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        bytes += written;
        len -= (size_t)written;
    }
}

void lm_host_write(int fd, const void *buf, size_t len)
{
    if (fd == 1 || fd == 2) {
        fd_write_all(fd, buf, len);
        return;
    }
    host_file *file = handle_file(fd);
    if (file != NULL && file->fd >= 0)
        fd_write_all(file->fd, buf, len);
}

uint64_t lm_host_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int lm_host_open(const char *path)
{
    if (ends_with(path, ".gz")) {
        gzFile gz = gzopen(path, "rb");
        if (gz == NULL)
            return -1;
        gzbuffer(gz, 1u << 17);
        int handle = handle_new(-1, gz);
        if (handle < 0)
            gzclose(gz);
        return handle;
    }
    return handle_for_fd(open(path, O_RDONLY | O_CLOEXEC));
}

intptr_t lm_host_read(int handle, void *buf, size_t len)
{
    host_file *file = handle_file(handle);
    if (file == NULL)
        return -1;
    if (file->gz != NULL) {
        unsigned chunk = len > INT_MAX ? INT_MAX : (unsigned)len;
        int got = gzread(file->gz, buf, chunk);
        return got < 0 ? -1 : (intptr_t)got;
    }
    for (;;) {
        ssize_t got = read(file->fd, buf, len > SSIZE_MAX ? SSIZE_MAX : len);
        if (got < 0 && errno == EINTR)
            continue;
        return got < 0 ? -1 : (intptr_t)got;
    }
}

void lm_host_close(int handle)
{
    host_file *file = handle_file(handle);
    if (file == NULL)
        return;
    if (file->gz != NULL)
        gzclose(file->gz);
    else
        close(file->fd);
    *file = (host_file){ 0, -1, NULL };
}

int lm_host_create(const char *path)
{
    return handle_for_fd(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
}

intptr_t lm_host_getenv(const char *name, char *buf, size_t cap)
{
    const char *value = getenv(name);
    if (value == NULL)
        return -1;
    size_t len = strlen(value);
    if (cap > 0) {
        size_t copied = len < cap - 1 ? len : cap - 1;
        memcpy(buf, value, copied);
        buf[copied] = '\0';
    }
    return (intptr_t)len;
}


/* ---- threads: pthreads, handles index a fixed table ---------------------- */

#define THREAD_COUNT 64

typedef struct host_thread {
    pthread_t id;
    void (*fn)(void *arg);
    void *arg;
    int in_use;
    int exit_code;       /* from lm_host_exit on the thread: ends the program at the join */
} host_thread;

static host_thread host_threads[THREAD_COUNT];
static pthread_mutex_t host_threads_lock = PTHREAD_MUTEX_INITIALIZER;

/* The thread this is, when it is one that lm_host_thread_start started. */
static _Thread_local host_thread *current_thread;

static void *thread_run(void *started)
{
    current_thread = started;
    current_thread->fn(current_thread->arg);
    return NULL;
}

/* A thread that exits ends only itself, as on wasm; its join ends the
 * program with the code. */
_Noreturn void lm_host_exit(int code)
{
    if (current_thread == NULL)
        exit(code);
    current_thread->exit_code = code;
    pthread_exit(NULL);
}

int lm_host_thread_start(void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&host_threads_lock);
    int handle = -1;
    for (int index = 0; index < THREAD_COUNT && handle < 0; index++) {
        if (!host_threads[index].in_use) {
            host_threads[index] = (host_thread){ .fn = fn, .arg = arg, .in_use = 1, .exit_code = 0 };
            if (pthread_create(&host_threads[index].id, NULL, thread_run, &host_threads[index]) == 0)
                handle = index;
            else
                host_threads[index].in_use = 0;
            break;
        }
    }
    pthread_mutex_unlock(&host_threads_lock);
    return handle;
}

void lm_host_thread_join(int handle)
{
    if (handle < 0 || handle >= THREAD_COUNT)
        return;
    pthread_join(host_threads[handle].id, NULL);
    int code = host_threads[handle].exit_code;
    pthread_mutex_lock(&host_threads_lock);
    host_threads[handle].in_use = 0;
    pthread_mutex_unlock(&host_threads_lock);
    if (code != 0)
        exit(code);
}

int lm_host_cpu_count(void)
{
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count < 1 ? 1 : (int)count;
}
