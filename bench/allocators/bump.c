/* The bump allocator: the speed limit. malloc moves the break, free does
 * nothing, realloc extends the newest block in place or copies. Each block
 * carries its size in a 16-byte header so realloc knows what to copy; the
 * header keeps every block 16-byte aligned. Between passes, when the
 * workload has freed everything, the break goes back to the heap start. */
#include "allocator.h"
#include "sbrk.h"

#define BUMP_HEADER 16u

const char bench_allocator_name[] = "bump";
const size_t bench_allocator_alignment = 16;

static unsigned char *newest_block;

void bench_allocator_init(void) {}

void bench_allocator_reset(void)
{
    bench_sbrk_reset();
    newest_block = NULL;
}

static size_t bump_round(size_t size)
{
    return (size + 15) & ~(size_t)15;
}

void *bench_malloc(size_t size)
{
    size_t rounded = bump_round(size);
    if (rounded < size || rounded > SIZE_MAX - BUMP_HEADER)
        return NULL;
    unsigned char *header = bench_sbrk((intptr_t)(rounded + BUMP_HEADER));
    if (header == (void *)-1)
        return NULL;
    *(size_t *)header = size;
    newest_block = header + BUMP_HEADER;
    return newest_block;
}

void bench_free(void *ptr) { (void)ptr; }

void *bench_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return bench_malloc(size);
    unsigned char *block = ptr;
    size_t old_size = *(size_t *)(block - BUMP_HEADER);
    if (block == newest_block) {
        /* The newest block ends at the break: grow or shrink it in place. */
        intptr_t delta = (intptr_t)bump_round(size) - (intptr_t)bump_round(old_size);
        if (delta == 0 || bench_sbrk(delta) != (void *)-1) {
            *(size_t *)(block - BUMP_HEADER) = size;
            return block;
        }
        return NULL;
    }
    unsigned char *fresh = bench_malloc(size);
    if (fresh != NULL)
        __builtin_memcpy(fresh, block, old_size < size ? old_size : size);
    return fresh;
}

void *bench_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t total = count * size;
    unsigned char *block = bench_malloc(total);
    /* Memory reused after a reset is not zero; fresh memory is, but cheaply
     * telling them apart is not the bump allocator's job. */
    if (block != NULL)
        __builtin_memset(block, 0, total);
    return block;
}

void *bench_memalign(size_t alignment, size_t size)
{
    if (alignment <= 16)
        return bench_malloc(size);
    /* Pad the break so the block after the header lands on the alignment. */
    unsigned char *now = bench_sbrk(0);
    uintptr_t wanted = ((uintptr_t)now + BUMP_HEADER + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (bench_sbrk((intptr_t)(wanted - BUMP_HEADER - (uintptr_t)now)) == (void *)-1)
        return NULL;
    return bench_malloc(size);
}

void bench_allocator_usage(bench_usage *out)
{
    bench_sbrk_usage(out);
}
