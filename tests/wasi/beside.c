/* beside — lmalloc linked beside wasi-libc's own malloc (library lmalloc,
 * not lmalloc_malloc): the two allocators never hand out the same bytes.
 * Both allocate blocks of many sizes, large ones too so each grows memory
 * between the other's growths; every block is filled with its own pattern,
 * and at the end no block overlaps another and every pattern is intact.
 *
 * wasi-libc's dlmalloc claims the memory from __heap_base to the end of
 * memory on its first call. main takes no arguments, so nothing calls malloc
 * before main; built with LM_BESIDE_LMALLOC_FIRST=1, lm_malloc is called
 * before any malloc (the order that overlapped before lmalloc's WASI seam
 * let dlmalloc start first), else malloc is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lmalloc.h"

#define BLOCKS 600

typedef struct block { unsigned char *ptr; size_t len; int from_lmalloc; } block;
static block blocks[BLOCKS];
static int failures;

static unsigned char pattern(int index, size_t offset) { return (unsigned char)(index * 131 + offset * 7 + 1); }

static size_t block_size(int index)
{
    if (index % 50 == 7) return 300000 + (size_t)index * 1000;     /* grows memory */
    return 8 + (size_t)(index * 37) % 3000;
}

static void allocate(int index)
{
    int from_lmalloc = (index % 2 == 0) == LM_BESIDE_LMALLOC_FIRST;
    size_t len = block_size(index);
    unsigned char *ptr = from_lmalloc ? lm_malloc(len) : malloc(len);
    if (!ptr) {
        fprintf(stderr, "beside: block %d (%zu bytes) could not be allocated\n", index, len);
        exit(1);
    }
    for (size_t offset = 0; offset < len; offset++) ptr[offset] = pattern(index, offset);
    blocks[index] = (block){ ptr, len, from_lmalloc };
}

int main(void)
{
    for (int index = 0; index < BLOCKS; index++) {
        allocate(index);
        /* Free some as we go, so both allocators reuse memory too. */
        if (index % 5 == 4) {
            block *old = &blocks[index - 3];
            old->from_lmalloc ? lm_free(old->ptr) : free(old->ptr);
            allocate(index - 3);
        }
    }
    for (int a = 0; a < BLOCKS; a++) {
        for (size_t offset = 0; offset < blocks[a].len; offset++) {
            if (blocks[a].ptr[offset] != pattern(a, offset)) {
                fprintf(stderr, "beside: block %d (%s) lost its bytes at offset %zu\n", a,
                        blocks[a].from_lmalloc ? "lm_malloc" : "malloc", offset);
                failures++;
                break;
            }
        }
        for (int b = a + 1; b < BLOCKS; b++) {
            uintptr_t a_start = (uintptr_t)blocks[a].ptr, b_start = (uintptr_t)blocks[b].ptr;
            if (a_start < b_start + blocks[b].len && b_start < a_start + blocks[a].len) {
                fprintf(stderr, "beside: %s block %d [0x%lx, +%zu) overlaps %s block %d [0x%lx, +%zu)\n",
                        blocks[a].from_lmalloc ? "lm_malloc" : "malloc", a, (unsigned long)a_start, blocks[a].len,
                        blocks[b].from_lmalloc ? "lm_malloc" : "malloc", b, (unsigned long)b_start, blocks[b].len);
                failures++;
            }
        }
    }
    lm_stats_t stats;
    lm_stats(&stats);
    for (int index = 0; index < BLOCKS; index++)
        blocks[index].from_lmalloc ? lm_free(blocks[index].ptr) : free(blocks[index].ptr);
    if (lm_check() != 0) {
        fprintf(stderr, "beside: lm_check() found the heap damaged\n");
        failures++;
    }
    printf("beside (%s first): %d blocks, lmalloc grew memory %llu times: %s\n",
           LM_BESIDE_LMALLOC_FIRST ? "lm_malloc" : "malloc", BLOCKS,
           (unsigned long long)stats.grow_calls, failures ? "FAIL" : "PASS");
    return failures != 0;
}
