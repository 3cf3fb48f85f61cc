/* Stacks and thread-local blocks for the threads of a threaded wasm module
 * (lm_add_library THREADS: compiled with atomics, linked with a shared,
 * imported memory).
 *
 * A thread on wasm is another instance of the same module on the same
 * memory, in its own worker. Each instance has its own globals, so its
 * __stack_pointer and __tls_base start at the values wasm-ld linked in,
 * which belong to the main thread. Before a worker runs any C code its host
 * sets __stack_pointer to the top of a stack from this static pool (an
 * exported global: C cannot set it without a frame of its own, which would
 * already be on the wrong stack), then calls lm_wasm_thread_enter, which
 * points __tls_base at the slot's own TLS block. The main thread enters
 * slot 0: with a shared memory, wasm-ld leaves even the main thread's
 * __tls_base at 0 until __wasm_init_tls is called.
 *
 * The pool is static data, never the heap under test: LM_WASM_THREAD_SLOTS
 * slots of LM_WASM_THREAD_STACK_SIZE bytes, each with its TLS block at the
 * bottom and its stack above it, growing down towards it.
 */
#include <stddef.h>
#include <stdint.h>

#include "threads.h"

#ifndef LM_WASM_THREAD_STACK_SIZE
#define LM_WASM_THREAD_STACK_SIZE 131072
#endif
#ifndef LM_WASM_THREAD_SLOTS
#define LM_WASM_THREAD_SLOTS 8
#endif
/* The main thread's TLS block: the core's per-thread state and the
 * program's own thread-locals must fit. */
#define MAIN_TLS_BYTES 16384
/* A thread's TLS block may take at most this share of its slot. */
#define SLOT_TLS_MAX (LM_WASM_THREAD_STACK_SIZE / 4)

#if !defined(__wasm_atomics__)
#error "threads.c is for threaded builds: compile with -matomics (lm_add_library THREADS)"
#endif

/* wasm-ld's: copies the module's .tdata to `block` and sets __tls_base. */
extern void __wasm_init_tls(void *block);

static _Alignas(64) unsigned char main_tls[MAIN_TLS_BYTES];
static _Alignas(64) unsigned char slot_memory[LM_WASM_THREAD_SLOTS][LM_WASM_THREAD_STACK_SIZE];
static int32_t slot_taken[LM_WASM_THREAD_SLOTS + 1];   /* [0] is the main thread's, never claimed */

int lm_wasm_thread_claim(void)
{
    for (int slot = 1; slot <= LM_WASM_THREAD_SLOTS; slot++) {
        int32_t free_slot = 0;
        if (__atomic_compare_exchange_n(&slot_taken[slot], &free_slot, 1, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return slot;
    }
    return -1;
}

uintptr_t lm_wasm_thread_stack_top(int slot)
{
    if (slot < 1 || slot > LM_WASM_THREAD_SLOTS)
        return 0;
    return (uintptr_t)slot_memory[slot - 1] + LM_WASM_THREAD_STACK_SIZE;
}

int lm_wasm_thread_enter(int slot)
{
    size_t align = __builtin_wasm_tls_align(), size = __builtin_wasm_tls_size();
    if (align > 64)
        return -1;
    if (slot == 0) {
        if (size > MAIN_TLS_BYTES)
            return -1;
        __wasm_init_tls(main_tls);
        return 0;
    }
    if (slot < 1 || slot > LM_WASM_THREAD_SLOTS || size > SLOT_TLS_MAX)
        return -1;
    __wasm_init_tls(slot_memory[slot - 1]);
    return 0;
}

void lm_wasm_thread_release(int slot)
{
    if (slot >= 1 && slot <= LM_WASM_THREAD_SLOTS)
        __atomic_store_n(&slot_taken[slot], 0, __ATOMIC_RELEASE);
}
