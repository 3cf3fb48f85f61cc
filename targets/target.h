/* The target seam: everything the allocator needs from the place it runs.
 *
 * Each target (targets/wasm/target.c for wasm32 and wasm64,
 * targets/wasi/target.c for wasm32-wasi with a libc, targets/native/target.c
 * for x86_64) implements these three functions and nothing else; CMake picks
 * the file, the allocator core never tests which target it is on. The
 * target's capabilities arrive as compile definitions (set in one place,
 * CMakeLists.txt), with defaults below for a build by hand:
 *
 *   LM_UPTR_BITS           32 or 64: the pointer width; uptr follows it.
 *                          Default: the compiler's own pointer size.
 *   LM_GROWN_MEMORY_ZEROED 1 if memory returned by lm_target_grow reads as
 *                          zero (wasm memory.grow and fresh mmap pages do).
 *                          Default 1: every target here grows zeroed memory.
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

/* LM_TARGET_TIME_GROWTH (0/1, set by CMake, default 0): when 1, lm_target_grow adds the
 * nanoseconds it spends to this counter, so a benchmark can tell the cost of
 * getting memory from the target apart from the allocator's own work. */
#if LM_TARGET_TIME_GROWTH
extern uint64_t lm_target_grow_ns;
#endif

#endif
