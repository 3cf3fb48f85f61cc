/* leak — the same allocate-then-free cycle repeated 1000 times must not
 * make the heap grow once it has settled (after two cycles, within 1/8 of
 * the first cycle's footprint): every byte freed is found again. Sizes range from 0 to several MiB; the cycle mixes malloc,
 * calloc, aligned_alloc and realloc, and frees in a different order from
 * the allocation order. Also: a free block that fits is found even when a
 * smaller block of its size class was freed after it. */
#include "testlib.h"

#define CYCLES 1000
#define WARMUP_CYCLES 2     /* cycles the heap may take to settle */

static const size_t sizes[] = { 0, 1, 24, 100, 1000, 1024, 5000, 70000, 1u << 20, 3u << 20,
                                40, 4000, 300000 };
enum { SIZE_COUNT = sizeof sizes / sizeof sizes[0] };

static void one_cycle(void)
{
    void *blocks[SIZE_COUNT + 4];
    int count = 0;
    for (int i = 0; i < SIZE_COUNT; i++) {
        blocks[count] = lm_malloc(sizes[i]);
        REQUIRE(blocks[count] != NULL);
        /* Touch the block's ends: a block that overlaps another shows up
         * in lm_check or in the soak, here it is only the footprint. */
        if (sizes[i] > 0) {
            ((char *)blocks[count])[0] = 1;
            ((char *)blocks[count])[sizes[i] - 1] = 1;
        }
        count++;
    }
    blocks[count] = lm_calloc(100, 30);
    REQUIRE(blocks[count++] != NULL);
    blocks[count] = lm_aligned_alloc(65536, 10000);
    REQUIRE(blocks[count++] != NULL);
    blocks[count] = lm_aligned_alloc(256, 700);
    REQUIRE(blocks[count++] != NULL);
    void *grown = lm_realloc(NULL, 500);
    REQUIRE(grown != NULL);
    grown = lm_realloc(grown, 200000);
    REQUIRE(grown != NULL);
    grown = lm_realloc(grown, 50);
    REQUIRE(grown != NULL);
    blocks[count++] = grown;

    /* Free odd positions from the back, then even ones from the front. */
    for (int i = count - 1; i >= 0; i--)
        if (i % 2 == 1)
            lm_free(blocks[i]);
    for (int i = 0; i < count; i += 2)
        lm_free(blocks[i]);
}

/* Blocks of 400 and 402 granules share a size class of the block lists,
 * and the 400 is freed last, so it heads the list: a 402-granule request
 * must still find the 402, not take a larger class or fresh memory and
 * leave a hole. (Blocks: above LM_SMALL_MAX, guards included, so none of
 * them merges with another.) */
static void check_fit_behind_list_head(void)
{
    enum { FITS = 402 * 16 - 8, SMALLER = 400 * 16 - 8, GUARD = LM_SMALL_MAX + 16 };
    _Static_assert(SMALLER > LM_SMALL_MAX, "the blocks have headers");
    char *fits = lm_malloc(FITS);
    char *guard = lm_malloc(GUARD);
    char *smaller = lm_malloc(SMALLER);
    char *guard2 = lm_malloc(GUARD);
    REQUIRE(fits != NULL && guard != NULL && smaller != NULL && guard2 != NULL);
    lm_free(fits);
    lm_free(smaller);
    char *again = lm_malloc(FITS);
    CHECK(again == fits);
    lm_free(again);
    lm_free(guard);
    lm_free(guard2);
    CHECK_EQ(lm_check(), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("leak");
    check_fit_behind_list_head();
    lm_stats_t start = tl_stats();
    one_cycle();
    lm_stats_t first = tl_stats();
    CHECK_EQ(first.live_blocks, start.live_blocks);
    CHECK_EQ(first.live_bytes, start.live_bytes);
    /* The first cycle lays the heap out from fresh memory; the next ones
     * reuse freed space, whose shape may cost a grow more before it
     * settles. From then on the footprint is exactly flat. */
    for (int cycle = 2; cycle <= WARMUP_CYCLES; cycle++)
        one_cycle();
    lm_stats_t settled = tl_stats();
    tl_printf("  after the first cycle: footprint %llu bytes, %llu grow calls; after %d: %llu bytes, "
              "%llu grow calls\n", (unsigned long long)first.footprint,
              (unsigned long long)first.grow_calls, WARMUP_CYCLES,
              (unsigned long long)settled.footprint, (unsigned long long)settled.grow_calls);
    CHECK(settled.footprint <= first.footprint + first.footprint / 8);
    unsigned reported = 0;
    for (int cycle = WARMUP_CYCLES + 1; cycle <= CYCLES; cycle++) {
        one_cycle();
        lm_stats_t now = tl_stats();
        if ((now.footprint != settled.footprint || now.live_blocks != start.live_blocks) &&
            reported++ < 5) {
            tl_printf("  cycle %d: footprint %llu (settled %llu), live blocks %llu\n", cycle,
                      (unsigned long long)now.footprint, (unsigned long long)settled.footprint,
                      (unsigned long long)now.live_blocks);
        }
        if (cycle % 100 == 0)
            CHECK_EQ(lm_check(), 0);
    }
    lm_stats_t last = tl_stats();
    CHECK_EQ(reported, 0);
    CHECK_EQ(last.footprint, settled.footprint);
    CHECK_EQ(last.peak_footprint, settled.peak_footprint);
    CHECK_EQ(last.grow_calls, settled.grow_calls);
    CHECK_EQ(last.live_blocks, start.live_blocks);
    CHECK_EQ(last.live_bytes, start.live_bytes);
    CHECK_EQ(last.failed_allocs, 0);
    return tl_finish();
}
