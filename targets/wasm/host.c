/* Host services for wasm programs: imports from the embedder's "host"
 * module (toolchain/wasm-program.mjs implements them with node's fs, zlib and
 * clock), and the start code that hands the command line to main.
 *
 * Pointers and sizes cross the boundary at the target's width: i32 on
 * wasm32, i64 (BigInt in JS) on wasm64. Strings are NUL-terminated.
 */
#include "../host.h"

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

void lm_host_write(int fd, const void *buf, size_t len) { host_write(fd, buf, len); }
uint64_t lm_host_now_ns(void) { return host_now_ns(); }
int lm_host_open(const char *path) { return host_open(path); }
intptr_t lm_host_read(int handle, void *buf, size_t len) { return host_read(handle, buf, len); }
void lm_host_close(int handle) { host_close(handle); }
int lm_host_create(const char *path) { return host_create(path); }
intptr_t lm_host_getenv(const char *name, char *buf, size_t cap) { return host_getenv(name, buf, cap); }
_Noreturn void lm_host_exit(int code) { host_exit(code); }

/* Compiled -ffreestanding, `int main(int, char **)` keeps its name; a hosted
 * compile makes clang-14 call it __main_argc_argv. Accept either. */
int main(int argc, char **argv) __attribute__((weak));
int __main_argc_argv(int argc, char **argv) __attribute__((weak));

/* The command's entry point, called once by the runner. The arguments live
 * on the stack so the program starts with an untouched heap. */
void _start(void)
{
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
