/* See sync.h. */
#define _GNU_SOURCE   /* syscall() */
#include "sync.h"

#if defined(__wasm__)
#if !defined(__wasm_atomics__)
#error "the thread benchmarks are threaded programs: compile with -matomics (lm_add_program THREADS)"
#endif

void sync_wait(int32_t *word, int32_t expected)
{
    __builtin_wasm_memory_atomic_wait32(word, expected, -1);
}

void sync_wake(int32_t *word, int32_t count)
{
    __builtin_wasm_memory_atomic_notify(word, (uint32_t)count);
}
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void sync_wait(int32_t *word, int32_t expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void sync_wake(int32_t *word, int32_t count)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
#endif

/* A few spins before sleeping: a lock held for one allocator call is
 * usually free again by then. */
#define SPINS 100

void sync_lock(sync_mutex *mutex)
{
    for (int spin = 0; spin < SPINS; spin++) {
        int32_t free_state = 0;
        if (__atomic_compare_exchange_n(&mutex->state, &free_state, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
    }
    /* Marked contended, so the holder's unlock wakes us. */
    while (__atomic_exchange_n(&mutex->state, 2, __ATOMIC_ACQUIRE) != 0)
        sync_wait(&mutex->state, 2);
}

void sync_unlock(sync_mutex *mutex)
{
    if (__atomic_exchange_n(&mutex->state, 0, __ATOMIC_RELEASE) == 2)
        sync_wake(&mutex->state, 1);
}

void sync_barrier_wait(sync_barrier *barrier)
{
    int32_t generation = __atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL) == barrier->count) {
        __atomic_store_n(&barrier->arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&barrier->generation, 1, __ATOMIC_RELEASE);
        sync_wake(&barrier->generation, INT32_MAX);
        return;
    }
    while (__atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE) == generation)
        sync_wait(&barrier->generation, generation);
}
