/* The target seam: everything the allocator needs from the place it runs.
 *
 * Each target (targets/wasm/target.c for wasm32 and wasm64,
 * targets/wasi/target.c for wasm32-wasi with a libc, targets/native/target.c
 * for x86_64) implements these functions and nothing else; CMake picks
 * the file, the allocator core never tests which target it is on. The
 * target's capabilities arrive as compile definitions (set in one place,
 * CMakeLists.txt), with defaults below for a build by hand:
 *
 *   LM_UPTR_BITS           32 or 64: the pointer width; uptr follows it.
 *                          Default: the compiler's own pointer size.
 *   LM_GROWN_MEMORY_ZEROED 1 if memory returned by lm_target_grow reads as
 *                          zero (wasm memory.grow and fresh mmap pages do).
 *                          Default 1: every target here grows zeroed memory.
 *   LM_THREADS             1 if several threads share the heap: each gets a
 *                          heap of its own, the page layer takes a lock.
 *                          Default: 1, but on wasm built without atomics.
 *   LM_TARGET_LAGGING_BOUNDS 1 if each thread checks atomic accesses against
 *                          its own record of memory's size, which learns of
 *                          another thread's growth only later (V8 brings it
 *                          up to date at the thread's next stack check; until
 *                          then an access to the new memory traps). 2 if it
 *                          checks every access that way. Default, with
 *                          threads: 1 on wasm32 (plain accesses are left to
 *                          guard pages), 2 on wasm64 (node 20's Memory64
 *                          checks them all; Node 24's only atomics); else 0.
 *
 * Memory is one contiguous range that only grows upward, in whole pages of
 * LM_TARGET_PAGE_SIZE bytes, never shrinks and never moves: exactly what
 * wasm linear memory offers, and what the native target imitates with one
 * reserved range committed page by page.
 */
#ifndef LM_TARGET_H
#define LM_TARGET_H

#include <stddef.h>
#include <stdint.h>

#ifndef LM_UPTR_BITS
#define LM_UPTR_BITS (__SIZEOF_POINTER__ * 8)
#endif
#ifndef LM_GROWN_MEMORY_ZEROED
#define LM_GROWN_MEMORY_ZEROED 1
#endif
#ifndef LM_TARGET_TIME_GROWTH
#define LM_TARGET_TIME_GROWTH 0
#endif
#ifndef LM_THREADS
#if defined(__wasm__) && !defined(__wasm_atomics__)
#define LM_THREADS 0
#else
#define LM_THREADS 1
#endif
#endif

#ifndef LM_TARGET_LAGGING_BOUNDS
#if LM_THREADS && defined(__wasm64__)
#define LM_TARGET_LAGGING_BOUNDS 2
#elif LM_THREADS && defined(__wasm__)
#define LM_TARGET_LAGGING_BOUNDS 1
#else
#define LM_TARGET_LAGGING_BOUNDS 0
#endif
#endif

#define LM_TARGET_PAGE_SIZE 65536u
#define LM_TARGET_GROW_FAILED ((uintptr_t)-1)

/* The range the heap may use right now without growing: [*start, *end).
 * Called once, before the first growth; *start is the first free byte after
 * static data (wasm: __heap_base), *end the current end of memory. */
void lm_target_region(uintptr_t *start, uintptr_t *end);

/* Extends memory by `bytes` (a multiple of LM_TARGET_PAGE_SIZE) at its end.
 * Returns the old end, where the new bytes begin, or LM_TARGET_GROW_FAILED
 * when the target cannot (declared maximum reached, reservation used up). */
uintptr_t lm_target_grow(uintptr_t bytes);

/* Delivers one misuse report. `line` is the full message (no newline),
 * `kind` an lm_misuse_kind, `ptr` the caller's pointer, `size` the block's
 * usable size. If `fatal`, the target stops the program and does not return:
 * native prints the line to stderr and aborts; wasm calls the host import
 * lmalloc.report, whose JS side throws an LmallocError, and traps if the host
 * returns. If not fatal, the target passes the report on and returns. */
void lm_target_report(uint32_t kind, uintptr_t ptr, uintptr_t size,
                      const char *line, size_t line_len, int fatal);

/* Fills `bytes` bytes at `out` with secret random bytes: the keys of the
 * heap's checks (block headers, free-list links, freed slots, canaries),
 * asked for once, at the heap's first use, in a few dozen bytes. Returns 1,
 * or 0 when the target has no source of randomness (or it failed): the heap
 * then uses fixed keys, and docs/hardening.md names such targets. Natively
 * getrandom(); on wasm the host import lmalloc.random (JS:
 * crypto.getRandomValues); on WASI random_get (getentropy). */
int lm_target_random(void *out, size_t bytes);

#if LM_THREADS
/* Futex-like sleeping, for the page layer's lock: lm_target_wait returns
 * at once if *word != expected, else sleeps until lm_target_wake(word) or
 * spuriously; lm_target_wake wakes one sleeper. A thread that may not
 * sleep (a browser's main thread) spins instead. */
void lm_target_wait(uint32_t *word, uint32_t expected);
void lm_target_wake(uint32_t *word);

#if LM_TARGET_LAGGING_BOUNDS
/* Brings this thread's record of memory's size up to date with every
 * growth so far, by any thread, and returns the end of memory: after it,
 * accesses below that end do not trap. Wasm: memory.grow(0). */
uintptr_t lm_target_memory_catch_up(void);
#endif

/* Called once, at the heap's first use: `prepare` runs before fork(),
 * `parent` and `child` after it in each process (so the child can
 * allocate). A target without fork ignores it. */
void lm_target_on_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Called once per thread, when it first allocates: `done` must run when
 * the thread ends. A target whose host calls lm_thread_exit itself (wasm
 * workers) ignores it. */
void lm_target_on_thread_exit(void (*done)(void));
#endif

/* LM_TARGET_TIME_GROWTH (0/1, set by CMake, default 0): when 1, lm_target_grow adds the
 * nanoseconds it spends to this counter, so a benchmark can tell the cost of
 * getting memory from the target apart from the allocator's own work. */
#if LM_TARGET_TIME_GROWTH
extern uint64_t lm_target_grow_ns;
#endif

#endif
