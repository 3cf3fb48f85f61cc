/* walk — lm_walk visits every block and slot once, in address order,
 * without overlaps, each with its usable size, live or free, and kind;
 * it agrees with lm_stats and with what the program holds; a visit that
 * returns nonzero stops it. lm_histogram's buckets add up to the same
 * figures, and its fragmentation is 1 - largest free / free bytes of the
 * page layer.
 */
#include "testlib.h"

#define HELD 96

static char *held[HELD];

typedef struct walk_state {
    uint64_t visited, live_blocks, live_bytes, free_block_bytes, largest_free;
    uint64_t last_end;
    unsigned found_live, found_freed;
    char *freed[HELD];
    unsigned freed_count;
} walk_state;

static int held_index(uint64_t address)
{
    for (int i = 0; i < HELD; i++)
        if (held[i] != NULL && (uintptr_t)held[i] == address)
            return i;
    return -1;
}

static int visit(const lm_block_info *block, void *arg)
{
    walk_state *w = arg;
    w->visited++;
    CHECK(block->address >= w->last_end);               /* in order, no overlap */
    CHECK(block->address % LM_ALIGNMENT == 0);
    CHECK(block->kind <= LM_BLOCK_TOP);
    w->last_end = block->address + block->size;
    int i = held_index(block->address);
    if (block->live && block->kind != LM_BLOCK_INTERNAL) {
        w->live_blocks++;
        w->live_bytes += block->size;
    }
    if (!block->live && block->kind != LM_BLOCK_SLOT) {
        w->free_block_bytes += block->size;
        if (w->largest_free < block->size)
            w->largest_free = block->size;
    }
    if (i >= 0) {
        CHECK(block->live);
        CHECK_EQ(block->size, lm_usable_size(held[i]));
        CHECK_EQ(block->kind, lm_usable_size(held[i]) <= LM_SMALL_MAX ? LM_BLOCK_SLOT : LM_BLOCK_LARGE);
        w->found_live++;
    }
    for (unsigned f = 0; f < w->freed_count; f++) {
        if ((uintptr_t)w->freed[f] == block->address) {
            CHECK(!block->live);
            w->found_freed++;
        }
    }
    return 0;
}

static int stop_after_three(const lm_block_info *block, void *arg)
{
    (void)block;
    return ++*(unsigned *)arg == 3;
}

int main(void)
{
    tl_begin("walk");
    tl_rng rng;
    tl_rng_seed(&rng, 7);
    walk_state w = { 0 };
    for (int i = 0; i < HELD; i++) {
        size_t size = i % 8 == 0 ? 20000 + (size_t)tl_rng_below(&rng, 100000) : tl_rng_log_uniform(&rng, 12);
        held[i] = lm_malloc(size);
        REQUIRE(held[i] != NULL);
    }
    /* Every third block freed: slots on their free lists, blocks between
     * live neighbours on the page layer's lists. */
    for (int i = 0; i < HELD; i += 3) {
        w.freed[w.freed_count++] = held[i];
        lm_free(held[i]);
        held[i] = NULL;
    }
    size_t visited = lm_walk(visit, &w);
    CHECK_EQ(visited, w.visited);
    CHECK_EQ(w.found_live, HELD - w.freed_count);
    CHECK_EQ(w.found_freed, w.freed_count);
    lm_stats_t stats = tl_stats();
    CHECK_EQ(w.live_blocks, stats.live_blocks);
    CHECK_EQ(w.live_bytes, stats.live_bytes);

    unsigned count = 0;
    CHECK_EQ(lm_walk(stop_after_three, &count), 3);
    CHECK_EQ(count, 3);

    lm_histogram_t h;
    lm_histogram(&h);
    uint64_t live_blocks = 0, live_bytes = 0, free_bytes = 0;
    for (unsigned k = 0; k < LM_HISTOGRAM_BUCKETS; k++) {
        live_blocks += h.live_blocks[k];
        live_bytes += h.live_bytes[k];
        free_bytes += h.free_bytes[k];
        CHECK(h.live_bytes[k] >= h.live_blocks[k] * ((uint64_t)1 << k) || k == 0);
    }
    CHECK_EQ(live_blocks, stats.live_blocks);
    CHECK_EQ(live_bytes, stats.live_bytes);
    CHECK_EQ(h.free_block_bytes, w.free_block_bytes);
    CHECK_EQ(h.largest_free, w.largest_free);
    CHECK(free_bytes >= h.free_block_bytes);
    CHECK(h.internal_bytes > 0);
    CHECK(h.largest_free > 0 && h.largest_free <= h.free_block_bytes);
    /* Holes between live blocks: part of the free memory no one request gets. */
    CHECK(h.fragmentation > 0.0 && h.fragmentation < 1.0);
    double expected = 1.0 - (double)w.largest_free / (double)w.free_block_bytes;
    CHECK(h.fragmentation == expected);

    for (int i = 0; i < HELD; i++)
        lm_free(held[i]);
    lm_histogram(&h);
    live_blocks = 0;
    for (unsigned k = 0; k < LM_HISTOGRAM_BUCKETS; k++)
        live_blocks += h.live_blocks[k];
    CHECK_EQ(live_blocks, tl_stats().live_blocks);
    return tl_finish();
}
