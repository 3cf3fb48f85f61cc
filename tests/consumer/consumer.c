/* A consumer's program: allocates, fills, grows, checks and frees 2000
 * blocks through lm_malloc & co., or (CONSUMER_MALLOC=1) through malloc,
 * realloc and free, and returns 0 when every byte was kept and lmalloc's
 * heap is sound and holds none of them any more. */
#include <stddef.h>
#include "lmalloc.h"

#if CONSUMER_MALLOC
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
#define ALLOCATE malloc
#define REALLOCATE realloc
#define RELEASE free
#else
#define ALLOCATE lm_malloc
#define REALLOCATE lm_realloc
#define RELEASE lm_free
#endif

#define COUNT 2000

int consumer_run(void)
{
    static unsigned char *blocks[COUNT];
    lm_stats_t before, after;
    lm_stats(&before);
    for (int i = 0; i < COUNT; i++) {
        size_t len = 1 + (size_t)(i * 53) % 5000;
        blocks[i] = ALLOCATE(len);
        if (!blocks[i]) return 1;
        for (size_t j = 0; j < len; j++) blocks[i][j] = (unsigned char)(i + j);
        if (i % 3 == 0) {
            blocks[i] = REALLOCATE(blocks[i], len * 2);
            if (!blocks[i]) return 2;
        }
    }
    for (int i = 0; i < COUNT; i++) {
        size_t len = 1 + (size_t)(i * 53) % 5000;
        for (size_t j = 0; j < len; j++)
            if (blocks[i][j] != (unsigned char)(i + j)) return 3;
    }
    lm_stats(&after);
    if (after.live_blocks < before.live_blocks + COUNT) return 4;   /* the blocks are lmalloc's */
    for (int i = 0; i < COUNT; i++) RELEASE(blocks[i]);
    lm_stats(&after);
    if (after.live_blocks != before.live_blocks || lm_check() != 0) return 5;
    return 0;
}

#ifndef __wasm__
int main(void) { return consumer_run(); }
#endif
