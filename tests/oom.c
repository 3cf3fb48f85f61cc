/* oom — running out of memory at a small declared maximum (16 MiB, set by
 * MAX_MEMORY in tests/CMakeLists.txt: wasm --max-memory, native
 * LMALLOC_HEAP_MAX). Allocates until NULL at several sizes, checks every
 * failure is counted and harmless, frees half, allocates again, and checks
 * every surviving block kept its bytes; freed all, the largest block that
 * fits is as large as at the start. At the limit, a realloc that only
 * the exact size fits (not the room realloc first asks for) succeeds and
 * counts no failure.
 *
 * The live blocks form a chain through the heap itself (each block starts
 * with a link to the previous one), so the test needs no table: a static
 * table would take the very memory under test.
 */
#include "testlib.h"
#include "target.h"   /* LM_THREADS: whether the library linked here is the threaded one */

#define MAX_MEMORY (16u << 20)   /* keep in step with MAX_MEMORY in CMakeLists.txt */

typedef struct node {
    struct node *older;     /* the block allocated before this one */
    size_t size;            /* bytes asked for, including this node */
    uint64_t id;            /* pattern id of the bytes after the node */
} node;

static node *newest;
static uint64_t chain_length, next_id = 1;

static int node_push(size_t size)
{
    node *n = lm_malloc(size);
    if (n == NULL)
        return 0;
    /* Run outside ctest (natively without LMALLOC_HEAP_MAX) this would fill
     * all of the machine's memory: stop as soon as the limit is not there. */
    if (size >= 4096 && tl_stats().footprint > MAX_MEMORY) {
        tl_printf("error: the heap grew past %u bytes: the limit is missing; run through "
                  "ctest, or natively with LMALLOC_HEAP_MAX=%u\n", MAX_MEMORY, MAX_MEMORY);
        lm_host_exit(2);
    }
    CHECK(tl_is_aligned(n, LM_ALIGNMENT));
    CHECK(lm_usable_size(n) >= size);
    n->older = newest;
    n->size = size;
    n->id = next_id++;
    tl_fill_pattern(n + 1, size - sizeof *n, n->id);
    newest = n;
    chain_length++;
    return 1;
}

static void chain_verify(void)
{
    uint64_t count = 0;
    for (node *n = newest; n != NULL; n = n->older) {
        CHECK_PATTERN(n + 1, n->size - sizeof *n, n->id);
        count++;
    }
    CHECK_EQ(count, chain_length);
}

/* The largest block malloc gives now, to 4 KiB: a binary search over
 * sizes up to the limit. Before any block is live, and after every block
 * was freed, it is nearly the whole limit: the allocator's own blocks
 * (descriptor tables, idle spans) must not stay behind and split it. */
static size_t largest_fit(void)
{
    size_t fits = 0, fails = MAX_MEMORY;
    while (fails - fits > 4096) {
        size_t size = fits + (fails - fits) / 2;
        void *block = lm_malloc(size);
        if (block != NULL) {
            lm_free(block);
            fits = size;
        } else {
            fails = size;
        }
    }
    return fits;
}

/* Allocates blocks of `size` until the first NULL; returns how many. */
static uint64_t fill_with(size_t size)
{
    uint64_t count = 0;
    uint64_t failed_before = tl_stats().failed_allocs;
    while (node_push(size))
        count++;
    CHECK_EQ(tl_stats().failed_allocs, failed_before + 1);
    tl_printf("  %zu-byte blocks: %llu more before NULL\n", size, (unsigned long long)count);
    return count;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("oom");
    size_t largest_at_start = largest_fit();
    tl_printf("  largest block at the start: %zu bytes\n", largest_at_start);
    CHECK(largest_at_start >= MAX_MEMORY - (2u << 20));
    lm_stats_t start = tl_stats();

    /* Fill: big blocks first, then ever smaller ones into what is left. */
    static const size_t sizes[] = { 1u << 20, 65536, 4096, 256, 32 };
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += fill_with(sizes[i]);
    CHECK(total > 0);

    lm_stats_t full = tl_stats();
    tl_printf("  full: %llu blocks, %llu live bytes, footprint %llu, %llu failed allocations\n",
              (unsigned long long)full.live_blocks, (unsigned long long)full.live_bytes,
              (unsigned long long)full.footprint, (unsigned long long)full.failed_allocs);
    CHECK_EQ(full.live_blocks, start.live_blocks + chain_length);
    CHECK(full.footprint <= MAX_MEMORY);
    CHECK(full.peak_footprint <= MAX_MEMORY);
    /* The heap used nearly all it was allowed (program data and stack take
     * the rest on wasm) before it gave up: growth falls back to exactly
     * what is needed when a bigger step is refused. */
    CHECK(full.footprint >= MAX_MEMORY - (2u << 20));
    CHECK(full.live_bytes >= full.footprint - (full.footprint >> 4));
    CHECK_EQ(full.failed_allocs, start.failed_allocs + sizeof sizes / sizeof sizes[0]);
    CHECK_EQ(lm_check(), 0);

    /* At the limit every kind of allocation fails cleanly, and is counted. */
    uint64_t failed = full.failed_allocs;
    CHECK(lm_malloc(1u << 20) == NULL);
    CHECK(lm_calloc(1024, 1024) == NULL);
    CHECK(lm_aligned_alloc(4096, 65536) == NULL);
    CHECK(lm_realloc(newest, newest->size + (1u << 20)) == NULL);   /* newest stays valid */
    CHECK(lm_malloc(MAX_MEMORY) == NULL);
    CHECK_EQ(tl_stats().failed_allocs, failed + 5);
    chain_verify();

    /* Free every other block. */
    uint64_t freed_bytes = 0, freed_count = 0;
    for (node *keep = newest; keep != NULL && keep->older != NULL; keep = keep->older) {
        node *victim = keep->older;
        CHECK_PATTERN(victim + 1, victim->size - sizeof *victim, victim->id);
        keep->older = victim->older;
        freed_bytes += victim->size;
        freed_count++;
        if (freed_count % 2 == 0)
            lm_free(victim);
        else
            lm_free_sized(victim, victim->size);
        chain_length--;
    }
    tl_printf("  freed %llu blocks (%llu bytes)\n", (unsigned long long)freed_count,
              (unsigned long long)freed_bytes);
    CHECK_EQ(tl_stats().live_blocks, start.live_blocks + chain_length);
    CHECK_EQ(lm_check(), 0);
    chain_verify();

    /* Allocating again succeeds, in the freed space. */
    uint64_t again = 0, again_bytes = 0;
    for (;;) {
        size_t size = again % 2 ? 200 : 3000;
        if (again_bytes >= freed_bytes / 2 || !node_push(size))
            break;
        again++;
        again_bytes += size;
    }
    tl_printf("  allocated %llu blocks (%llu bytes) again\n", (unsigned long long)again,
              (unsigned long long)again_bytes);
    CHECK(again_bytes >= freed_bytes / 2);
    CHECK(tl_stats().footprint <= MAX_MEMORY);
    chain_verify();
    CHECK_EQ(lm_check(), 0);

    /* Free everything: the space merges back into one piece, so the
     * largest block fits again (the spans and, without threads, the
     * descriptor tables made for small blocks between large ones went
     * back too). */
    while (newest != NULL) {
        node *older = newest->older;
        CHECK_PATTERN(newest + 1, newest->size - sizeof *newest, newest->id);
        lm_free(newest);
        newest = older;
    }
    chain_length = 0;
    lm_stats_t empty = tl_stats();
    CHECK_EQ(empty.live_blocks, start.live_blocks);
    CHECK_EQ(empty.live_bytes, start.live_bytes);
    size_t largest_at_end = largest_fit();
    tl_printf("  largest block after freeing everything: %zu bytes\n", largest_at_end);
#if LM_THREADS
    /* With threads the descriptor tables stay where they were made (a free
     * on another thread may be reading one): they split the space. */
    CHECK(largest_at_end >= largest_at_start / 2);
#else
    CHECK(largest_at_end >= largest_at_start - (largest_at_start >> 6));
#endif
    char *big = lm_malloc(largest_at_end);
    CHECK(big != NULL);
    if (big != NULL) {
        tl_fill_pattern(big, largest_at_end, 1);
        CHECK_PATTERN(big, largest_at_end, 1);
        lm_free(big);
    }
    CHECK_EQ(tl_stats().footprint, empty.footprint);   /* no growth was needed */
    CHECK_EQ(lm_check(), 0);

    /* realloc of a block that must move to grow asks for an eighth more
     * first; when only the exact size fits, it takes that, and counts no
     * failure. The heap is filled to the limit with blocks of 64 KiB and
     * of 1/16 more, in turn; one of the larger goes, and a 64 KiB block
     * followed by a live one grows by 64 bytes: it fits only that hole
     * (the header before a block is 8 bytes). */
    enum { FILL_MAX = 1024 };
    static char *fill_blocks[FILL_MAX];
    size_t small_size = 65536, large_size = small_size + small_size / 16;
    int filled = 0;
    while (filled < FILL_MAX && (fill_blocks[filled] = lm_malloc(filled % 2 ? large_size : small_size)))
        filled++;
    REQUIRE(filled >= 8 && filled < FILL_MAX);
    int hole_at = filled / 2 | 1, a_at = 0;
    lm_free(fill_blocks[hole_at]);
    /* A 64 KiB block whose successor is the next block of the fill (live):
     * one of the first few filled the holes the heap had, and has room
     * after it. */
    for (int i = 2; i + 1 < filled && !a_at; i += 2)
        if (i + 1 != hole_at && fill_blocks[i] + lm_usable_size(fill_blocks[i]) + 8 == fill_blocks[i + 1])
            a_at = i;
    REQUIRE(a_at != 0);
    char *a = fill_blocks[a_at];
    tl_fill_pattern(a, small_size, 2);
    uint64_t failed_now = tl_stats().failed_allocs;
    char *grown = lm_realloc(a, small_size + 64);
    tl_printf("  %d blocks to the limit; realloc of one by 64 bytes: %s, %llu failure(s) counted\n",
              filled, grown == NULL ? "NULL" : grown == a ? "in place" : "moved",
              (unsigned long long)(tl_stats().failed_allocs - failed_now));
    CHECK(grown != NULL && grown != a);
    CHECK_EQ(tl_stats().failed_allocs, failed_now);
    if (grown != NULL) {
        CHECK_PATTERN(grown, small_size, 2);
        fill_blocks[a_at] = grown;
    }
    for (int i = 0; i < filled; i++)
        if (i != hole_at)
            lm_free(fill_blocks[i]);
    CHECK_EQ(lm_check(), 0);
    return tl_finish();
}
