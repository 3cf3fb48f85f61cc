/* Host services for wasm programs: imports from the embedder's "host"
 * module (toolchain/wasm-program.mjs implements them with node's fs, zlib and
 * clock), and the start code that hands the command line to main.
 *
 * Pointers and sizes cross the boundary at the target's width: i32 on
 * wasm32, i64 (BigInt in JS) on wasm64. Strings are NUL-terminated.
 */
#include "../host.h"

#ifndef LM_THREADS
#define LM_THREADS 0
#endif
#if LM_THREADS
#include "threads.h"
#endif

#define HOST_IMPORT(name) __attribute__((import_module("host"), import_name(name)))

HOST_IMPORT("write")     void host_write(int32_t fd, const void *buf, size_t len);
HOST_IMPORT("now_ns")    uint64_t host_now_ns(void);
HOST_IMPORT("open")      int32_t host_open(const char *path);
HOST_IMPORT("read")      intptr_t host_read(int32_t handle, void *buf, size_t len);
HOST_IMPORT("close")     void host_close(int32_t handle);
HOST_IMPORT("create")    int32_t host_create(const char *path);
HOST_IMPORT("getenv")    intptr_t host_getenv(const char *name, char *buf, size_t cap);
HOST_IMPORT("exit")      _Noreturn void host_exit(int32_t code);
/* The command line: how many arguments, how many bytes they take with their
 * NULs, then one call that fills argv[0..count) and the string bytes. */
HOST_IMPORT("arg_count") int32_t host_arg_count(void);
HOST_IMPORT("arg_bytes") size_t host_arg_bytes(void);
HOST_IMPORT("args_get")  void host_args_get(char **argv, char *bytes);
HOST_IMPORT("cpu_count") int32_t host_cpu_count(void);
#if LM_THREADS
/* Starts a worker that instantiates this module on the same memory, sets
 * its __stack_pointer to stack_top and calls lm_host_thread_entry(slot, fn,
 * arg); 0, or -1 if it could not. thread_join waits for the worker to end,
 * and ends the program if the thread failed. */
HOST_IMPORT("thread_spawn") int32_t host_thread_spawn(int32_t slot, uintptr_t stack_top,
                                                      void (*fn)(void *), void *arg);
HOST_IMPORT("thread_join")  void host_thread_join(int32_t slot);
#endif

void lm_host_write(int fd, const void *buf, size_t len) { host_write(fd, buf, len); }
uint64_t lm_host_now_ns(void) { return host_now_ns(); }
int lm_host_open(const char *path) { return host_open(path); }
intptr_t lm_host_read(int handle, void *buf, size_t len) { return host_read(handle, buf, len); }
void lm_host_close(int handle) { host_close(handle); }
int lm_host_create(const char *path) { return host_create(path); }
intptr_t lm_host_getenv(const char *name, char *buf, size_t cap) { return host_getenv(name, buf, cap); }
_Noreturn void lm_host_exit(int code) { host_exit(code); }
int lm_host_cpu_count(void) { return host_cpu_count(); }

#if LM_THREADS
/* lmalloc's thread-exit hook, declared weak until the core provides it:
 * where it is missing there is nothing to hand back. */
void lm_thread_exit(void) __attribute__((weak));

int lm_host_thread_start(void (*fn)(void *arg), void *arg)
{
    int slot = lm_wasm_thread_claim();
    if (slot < 0)
        return -1;
    if (host_thread_spawn(slot, lm_wasm_thread_stack_top(slot), fn, arg) != 0) {
        lm_wasm_thread_release(slot);
        return -1;
    }
    return slot;
}

void lm_host_thread_join(int handle)
{
    host_thread_join(handle);
    lm_wasm_thread_release(handle);
}

/* A worker's first call, with __stack_pointer already on the slot's stack. */
__attribute__((export_name("lm_host_thread_entry")))
void lm_host_thread_entry(int32_t slot, void (*fn)(void *), void *arg)
{
    if (lm_wasm_thread_enter(slot) != 0) {
        static const char line[] = "lm_host: the module's thread-locals do not fit a thread slot\n";
        host_write(2, line, sizeof line - 1);
        host_exit(2);
    }
    fn(arg);
    if (lm_thread_exit)
        lm_thread_exit();
}
#else
int lm_host_thread_start(void (*fn)(void *arg), void *arg)
{
    (void)fn;
    (void)arg;
    return -1;
}

void lm_host_thread_join(int handle) { (void)handle; }
#endif

/* Compiled -ffreestanding, `int main(int, char **)` keeps its name; a hosted
 * compile makes clang-14 call it __main_argc_argv. Accept either. */
int main(int argc, char **argv) __attribute__((weak));
int __main_argc_argv(int argc, char **argv) __attribute__((weak));

/* The command's entry point, called once by the runner. The arguments live
 * on the stack so the program starts with an untouched heap. */
void _start(void)
{
#if LM_THREADS
    if (lm_wasm_thread_enter(0) != 0) {
        static const char line[] = "lm_host: the module's thread-locals do not fit the main thread's block\n";
        host_write(2, line, sizeof line - 1);
        host_exit(2);
    }
#endif
    int argc = host_arg_count();
    size_t bytes = host_arg_bytes();
    char *argv[argc + 1];
    char strings[bytes > 0 ? bytes : 1];
    host_args_get(argv, strings);
    argv[argc] = 0;
    int code;
    if (__main_argc_argv)
        code = __main_argc_argv(argc, argv);
    else if (main)
        code = main(argc, argv);
    else
        __builtin_trap(); /* no main linked */
    host_exit(code);
}
