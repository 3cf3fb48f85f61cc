/* Stacks and thread-local blocks for the threads of a threaded wasm module:
 * see threads.c. Hosts call them in this order for each thread:
 *
 *   slot = lm_wasm_thread_claim()            on the thread that starts it
 *   __stack_pointer = lm_wasm_thread_stack_top(slot)   in the new instance,
 *   lm_wasm_thread_enter(slot)               before any other call into it
 *   ... the thread's work, then lm_thread_exit() (src/lmalloc.h) ...
 *   lm_wasm_thread_release(slot)             once the thread has ended
 *
 * The main thread calls lm_wasm_thread_enter(0) once, first.
 */
#ifndef LM_WASM_THREADS_H
#define LM_WASM_THREADS_H

#include <stdint.h>

/* A free slot (1 .. LM_WASM_THREAD_SLOTS), or -1 when all are taken. */
int lm_wasm_thread_claim(void);

/* The address the slot's stack starts from (it grows down); 0 for a bad slot. */
uintptr_t lm_wasm_thread_stack_top(int slot);

/* Points this instance's thread-locals at the slot's TLS block, initialised
 * from the module's. 0, or -1 when the module's TLS does not fit. */
int lm_wasm_thread_enter(int slot);

void lm_wasm_thread_release(int slot);

#endif
