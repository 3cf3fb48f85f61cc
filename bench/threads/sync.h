/* Waiting and locking for the thread benchmarks, on every target: a
 * futex-style wait on a 32-bit word (natively the futex system call; on wasm
 * memory.atomic.wait32 / notify, which node allows on every thread), and on
 * it a mutex (Drepper's three-state lock) and a barrier. The peers that are
 * not thread-safe (dlmalloc, emmalloc) run behind sync_mutex.
 */
#ifndef BENCH_SYNC_H
#define BENCH_SYNC_H

#include <stdint.h>

/* Sleeps while *word == expected (may wake early: callers re-check). */
void sync_wait(int32_t *word, int32_t expected);
/* Wakes up to `count` threads waiting on word. */
void sync_wake(int32_t *word, int32_t count);

typedef struct sync_mutex {
    int32_t state;   /* 0 free, 1 held, 2 held with waiters */
} sync_mutex;

void sync_lock(sync_mutex *mutex);
void sync_unlock(sync_mutex *mutex);

/* All `count` threads leave sync_barrier_wait together. */
typedef struct sync_barrier {
    int32_t arrived;
    int32_t generation;
    int32_t count;
} sync_barrier;

void sync_barrier_wait(sync_barrier *barrier);

#endif
