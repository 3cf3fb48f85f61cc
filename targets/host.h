/* Host services for test and benchmark programs (never for the allocator).
 *
 * Tests and benchmarks are written once in C and built for every target, but
 * a freestanding wasm module has no libc: these few functions are what such a
 * program may use instead. Native implements them with libc (and zlib);
 * wasm imports them from the node runner (module "host"), which implements
 * them with node's fs, zlib and clock. Programs define an ordinary
 * `int main(int argc, char **argv)`; on wasm the target's start code fetches
 * the arguments from the host and calls it, and main's return value becomes
 * the process exit code.
 */
#ifndef LM_HOST_H
#define LM_HOST_H

#include <stddef.h>
#include <stdint.h>

/* Writes bytes to standard output (fd 1) or standard error (fd 2). */
void lm_host_write(int fd, const void *buf, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t lm_host_now_ns(void);

/* Opens a file for reading; a path ending in .gz is decompressed on the fly.
 * Returns a handle >= 0, or -1 if the file cannot be opened. */
int lm_host_open(const char *path);

/* Reads up to `len` bytes; returns the count read, 0 at the end, -1 on error. */
intptr_t lm_host_read(int handle, void *buf, size_t len);

void lm_host_close(int handle);

/* Opens a file for writing (truncating it); -1 on failure. Written with
 * lm_host_write(handle, ...) where handle >= 3, closed with lm_host_close. */
int lm_host_create(const char *path);

/* Reads the environment variable `name`. Returns the value's length in bytes
 * (without the NUL), or -1 if it is not set. Copies at most cap - 1 bytes
 * and a NUL into buf (nothing when cap is 0), so a result >= cap means the
 * value was cut short. On wasm the node runner answers from its own
 * environment and also sets LM_WASM_ENGINE to the engine running the program
 * ("node 24.11.1"), so a test can hold the engine to what it can do. */
intptr_t lm_host_getenv(const char *name, char *buf, size_t cap);

/* Ends the program at once with `code` (for fatal test failures). From a
 * thread it ends that thread, and the join of it ends the program. */
_Noreturn void lm_host_exit(int code);

/* Threads. Natively pthreads; in a threaded wasm program (lm_add_program
 * THREADS) each thread is a node worker running the same module on the same
 * shared memory, with its own stack and TLS block from a static pool
 * (targets/wasm/threads.c), and calling lm_thread_exit() when `fn` returns.
 * Returns a handle >= 0 for lm_host_thread_join, or -1 when the build has no
 * threads (single-threaded wasm) or no more can start. */
int lm_host_thread_start(void (*fn)(void *arg), void *arg);

/* Waits until the thread has ended. A thread that failed (lm_host_exit from
 * a failed REQUIRE; on wasm also a fatal misuse report or a trap) ends the
 * program here, with the exit code it would have had on the main thread. */
void lm_host_thread_join(int handle);

/* Processors the host offers this process (at least 1). */
int lm_host_cpu_count(void);

#endif
