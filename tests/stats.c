/* stats — lm_stats() tells the truth: live counts follow every call,
 * footprint never exceeds its peak, growth and failures are counted, and
 * the allocator's own metadata is accounted for. */
#include "testlib.h"

static void check_invariants(const lm_stats_t *s)
{
    CHECK(s->footprint <= s->peak_footprint);
    CHECK(s->live_bytes <= s->footprint);
    /* Headers and tables exist from the start (the tables are static, so
     * they are not part of the footprint). */
    CHECK(s->metadata_bytes > 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("stats");

    lm_stats_t start = tl_stats();
    /* The program's start code may own a few blocks (e.g. argv on wasm):
     * every count below is relative to this baseline. */
    const uint64_t base_blocks = start.live_blocks, base_bytes = start.live_bytes;
    CHECK_EQ(start.failed_allocs, 0);
    CHECK_EQ(start.misuse_count, 0);
    check_invariants(&start);

    /* Counts go up by one block and its usable size per allocation... */
    enum { COUNT = 64 };
    void *blocks[COUNT];
    uint64_t expected_bytes = base_bytes;
    for (int i = 0; i < COUNT; i++) {
        size_t size = (size_t)i * 97 + (i % 8 == 0 ? 100000 : 0);
        switch (i % 4) {
        case 0: blocks[i] = lm_malloc(size); break;
        case 1: blocks[i] = lm_calloc(1, size); break;
        case 2: blocks[i] = lm_aligned_alloc(256, size); break;
        default: blocks[i] = lm_realloc(NULL, size); break;
        }
        REQUIRE(blocks[i] != NULL);
        expected_bytes += lm_usable_size(blocks[i]);
        lm_stats_t now = tl_stats();
        CHECK_EQ(now.live_blocks, base_blocks + (uint64_t)i + 1);
        CHECK_EQ(now.live_bytes, expected_bytes);
        check_invariants(&now);
    }
    lm_stats_t full = tl_stats();
    CHECK(full.grow_calls > 0);             /* 64 blocks incl. 8 of 100 KB needed memory */
    CHECK(full.footprint > 0);
    CHECK(full.metadata_bytes > 0);
    CHECK(full.footprint >= expected_bytes);

    /* ...follow a realloc's change of usable size... */
    uint64_t old_usable = lm_usable_size(blocks[5]);
    blocks[5] = lm_realloc(blocks[5], 30000);
    REQUIRE(blocks[5] != NULL);
    expected_bytes = expected_bytes - old_usable + lm_usable_size(blocks[5]);
    CHECK_EQ(tl_stats().live_blocks, base_blocks + COUNT);
    CHECK_EQ(tl_stats().live_bytes, expected_bytes);
    old_usable = lm_usable_size(blocks[5]);
    blocks[5] = lm_realloc(blocks[5], 10);
    REQUIRE(blocks[5] != NULL);
    expected_bytes = expected_bytes - old_usable + lm_usable_size(blocks[5]);
    CHECK_EQ(tl_stats().live_bytes, expected_bytes);

    /* ...and come down again with every free. */
    for (int i = 0; i < COUNT; i++) {
        expected_bytes -= lm_usable_size(blocks[i]);
        if (i % 3 == 0)
            lm_free(blocks[i]);
        else if (i % 3 == 1)
            lm_free_sized(blocks[i], i == 5 ? 10 : (size_t)i * 97 + (i % 8 == 0 ? 100000 : 0));
        else
            CHECK(lm_realloc(blocks[i], 0) == NULL);
        lm_stats_t now = tl_stats();
        CHECK_EQ(now.live_blocks, base_blocks + (uint64_t)(COUNT - 1 - i));
        CHECK_EQ(now.live_bytes, expected_bytes);
        check_invariants(&now);
    }
    lm_stats_t empty = tl_stats();
    CHECK_EQ(empty.live_blocks, base_blocks);
    CHECK_EQ(empty.live_bytes, base_bytes);
    /* Memory is never given back to the target, so the peak stays. */
    CHECK(empty.peak_footprint >= full.footprint);
    CHECK(empty.grow_calls >= full.grow_calls);
    CHECK_EQ(empty.misuse_count, 0);

    /* Growth is counted: a block bigger than the whole footprint needs it. */
    uint64_t grows_before = empty.grow_calls;
    uint64_t footprint_before = empty.footprint;
    size_t big_size = (size_t)empty.footprint + (1u << 20);
    void *big = lm_malloc(big_size);
    REQUIRE(big != NULL);
    lm_stats_t grown = tl_stats();
    CHECK(grown.grow_calls > grows_before);
    CHECK(grown.footprint >= footprint_before + (1u << 20));
    CHECK(grown.footprint >= big_size);
    CHECK_EQ(grown.peak_footprint, grown.footprint);
    CHECK_EQ(grown.live_blocks, base_blocks + 1);
    check_invariants(&grown);
    lm_free(big);

    /* Failures are counted once each, and change nothing else. */
    lm_stats_t before_fail = tl_stats();
    CHECK(lm_malloc(SIZE_MAX - 64) == NULL);
    CHECK(lm_calloc(SIZE_MAX / 2 + 1, 4) == NULL);
    CHECK(lm_aligned_alloc(4096, SIZE_MAX - 4096) == NULL);
    lm_stats_t after_fail = tl_stats();
    CHECK_EQ(after_fail.failed_allocs, before_fail.failed_allocs + 3);
    CHECK_EQ(after_fail.live_blocks, before_fail.live_blocks);
    CHECK_EQ(after_fail.live_bytes, before_fail.live_bytes);
    CHECK_EQ(after_fail.misuse_count, 0);
    check_invariants(&after_fail);

    /* The layouts hosts read: eight and three 64-bit fields on every target. */
    CHECK_EQ(sizeof(lm_stats_t), 64);
    CHECK_EQ(sizeof(lm_misuse), 24);
    return tl_finish();
}
