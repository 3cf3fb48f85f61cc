/* A multi-threaded program on the C library's malloc names, for
 * tests/preload/run.sh: 6 threads allocate with malloc, calloc, realloc and
 * posix_memalign, fill every block with a pattern, hand one block in three
 * to the next thread (which checks and frees it: cross-thread frees) and
 * free the rest. Prints what it did and "ok"; the same output with and
 * without a preloaded malloc. Exits 1 on a damaged block.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 6
#define OPS 60000
#define SLOTS 512
#define QUEUE 256

typedef struct block {
    unsigned char *bytes;
    size_t len;
    uint32_t id;
} block;

typedef struct queue {
    pthread_mutex_t lock;
    block items[QUEUE];
    unsigned head, count;
    int done;
} queue;

static queue queues[THREADS];
static unsigned long long handed[THREADS], damaged;

static void fill(block b)
{
    for (size_t i = 0; i < b.len; i++)
        b.bytes[i] = (unsigned char)(b.id * 31 + i);
}

static void check_and_free(block b)
{
    for (size_t i = 0; i < b.len; i++)
        if (b.bytes[i] != (unsigned char)(b.id * 31 + i)) {
            __atomic_fetch_add(&damaged, 1, __ATOMIC_RELAXED);
            break;
        }
    free(b.bytes);
}

static int queue_put(queue *q, block b)
{
    pthread_mutex_lock(&q->lock);
    int put = q->count < QUEUE;
    if (put)
        q->items[(q->head + q->count++) % QUEUE] = b;
    pthread_mutex_unlock(&q->lock);
    return put;
}

/* Frees what waits in q; returns whether its producer is done and q empty. */
static int queue_drain(queue *q, unsigned long long *count)
{
    for (;;) {
        pthread_mutex_lock(&q->lock);
        if (q->count == 0) {
            int finished = q->done;
            pthread_mutex_unlock(&q->lock);
            return finished;
        }
        block b = q->items[q->head];
        q->head = (q->head + 1) % QUEUE;
        q->count--;
        pthread_mutex_unlock(&q->lock);
        check_and_free(b);
        (*count)++;
    }
}

static unsigned char *allocate(unsigned way, size_t len)
{
    void *p = NULL;
    switch (way % 4) {
    case 0: return malloc(len);
    case 1: return calloc(1, len);
    case 2: p = malloc(len / 2 + 1); return realloc(p, len);
    default: return posix_memalign(&p, 64, len) == 0 ? p : NULL;
    }
}

static void *run(void *arg)
{
    unsigned index = (unsigned)(uintptr_t)arg;
    queue *inbox = &queues[(index + THREADS - 1) % THREADS], *outbox = &queues[index];
    block slots[SLOTS] = { { 0 } };
    uint32_t state = index * 2654435761u + 1;
    unsigned long long received = 0;
    for (uint32_t op = 0; op < OPS; op++) {
        state = state * 1664525u + 1013904223u;
        unsigned at = (state >> 8) % SLOTS;
        if (slots[at].bytes != NULL) {
            if ((state >> 20) % 3 != 0 || !queue_put(outbox, slots[at]))
                check_and_free(slots[at]);
            else
                handed[index]++;
        }
        size_t len = 1 + ((state >> 4) % 4096) % (1u << (1 + (state >> 28)));
        slots[at] = (block){ allocate(state >> 16, len), len, index << 24 | op };
        if (slots[at].bytes == NULL) {
            fprintf(stderr, "thread %u: allocation of %zu bytes failed\n", index, len);
            exit(1);
        }
        fill(slots[at]);
        if (op % 32 == 0)
            queue_drain(inbox, &received);
    }
    for (unsigned at = 0; at < SLOTS; at++)
        if (slots[at].bytes != NULL)
            check_and_free(slots[at]);
    pthread_mutex_lock(&outbox->lock);
    outbox->done = 1;
    pthread_mutex_unlock(&outbox->lock);
    while (!queue_drain(inbox, &received)) {
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&queues[i].lock, NULL);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, run, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    unsigned long long total = 0;
    for (unsigned i = 0; i < THREADS; i++)
        total += handed[i];
    printf("%d threads, %d allocations each, %s cross-thread frees\n", THREADS, OPS, total > 0 ? "with" : "without");
    printf("%s\n", damaged == 0 ? "ok" : "damaged blocks");
    return damaged == 0 ? 0 : 1;
}
