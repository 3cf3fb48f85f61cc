/* growth — blocks stay valid while the heap grows under them: small blocks
 * are filled, then many big allocations (and one block realloc'd ever
 * larger) force growth after growth, and every small block is verified
 * after each one. Memory only grows at its end and never moves, so no
 * pointer may change and no byte may be lost. */
#include "testlib.h"

#define SMALL_COUNT 600
#define BIG_COUNT 48

static char *small[SMALL_COUNT];
static size_t small_size[SMALL_COUNT];
static uint64_t small_id[SMALL_COUNT];
static char *big[BIG_COUNT];
static size_t big_size[BIG_COUNT];

static void verify_all_small(void)
{
    for (int i = 0; i < SMALL_COUNT; i++)
        CHECK_PATTERN(small[i], small_size[i], small_id[i]);
}

int main(int argc, char **argv)
{
    uint64_t seed = tl_arg_u64(argc, argv, "--seed", 77);
    tl_begin("growth");
    tl_printf("  seed %llu\n", (unsigned long long)seed);
    tl_rng rng;
    tl_rng_seed(&rng, seed);
    uint64_t next_id = 1;

    for (int i = 0; i < SMALL_COUNT; i++) {
        small_size[i] = (size_t)tl_rng_below(&rng, 400);
        small[i] = lm_malloc(small_size[i]);
        REQUIRE(small[i] != NULL);
        small_id[i] = next_id++;
        tl_fill_pattern(small[i], small_size[i], small_id[i]);
    }
    lm_stats_t before = tl_stats();
    uint64_t growths_seen = 0;

    /* One block that grows by realloc alongside: at the end of the heap it
     * grows in place, elsewhere it moves; its prefix survives either way. */
    size_t grower_size = 1000;
    char *grower = lm_malloc(grower_size);
    REQUIRE(grower != NULL);
    tl_fill_pattern(grower, grower_size, 999999);

    for (int round = 0; round < BIG_COUNT; round++) {
        uint64_t grows = tl_stats().grow_calls;
        big_size[round] = ((size_t)1 << 20) + (size_t)tl_rng_below(&rng, (size_t)1 << 20);
        big[round] = lm_malloc(big_size[round]);
        REQUIRE(big[round] != NULL);
        tl_fill_pattern(big[round], big_size[round], 1000000 + (uint64_t)round);

        size_t new_size = grower_size + grower_size / 4;
        char *moved = lm_realloc(grower, new_size);
        REQUIRE(moved != NULL);
        CHECK_PATTERN(moved, grower_size, 999999);
        grower = moved;
        tl_fill_pattern(grower, new_size, 999999);   /* same id: extends the pattern */
        grower_size = new_size;

        /* Churn a few small blocks so growth meets a heap with holes. */
        for (int k = 0; k < 20; k++) {
            int i = (int)tl_rng_below(&rng, SMALL_COUNT);
            CHECK_PATTERN(small[i], small_size[i], small_id[i]);
            lm_free(small[i]);
            small_size[i] = (size_t)tl_rng_below(&rng, 2000);
            small[i] = lm_malloc(small_size[i]);
            REQUIRE(small[i] != NULL);
            small_id[i] = next_id++;
            tl_fill_pattern(small[i], small_size[i], small_id[i]);
        }

        if (tl_stats().grow_calls != grows) {
            growths_seen++;
            verify_all_small();
            for (int r = 0; r <= round; r++)
                CHECK_PATTERN(big[r], big_size[r], 1000000 + (uint64_t)r);
            CHECK_EQ(lm_check(), 0);
        }
    }
    lm_stats_t after = tl_stats();
    tl_printf("  %llu of %d rounds grew the heap; footprint %llu -> %llu bytes\n",
              (unsigned long long)growths_seen, BIG_COUNT,
              (unsigned long long)before.footprint, (unsigned long long)after.footprint);
    CHECK(growths_seen >= 5);
    CHECK(after.grow_calls >= before.grow_calls + growths_seen);
    CHECK(after.footprint >= before.footprint + BIG_COUNT * ((uint64_t)1 << 20));

    verify_all_small();
    CHECK_PATTERN(grower, grower_size, 999999);
    for (int r = 0; r < BIG_COUNT; r++) {
        CHECK_PATTERN(big[r], big_size[r], 1000000 + (uint64_t)r);
        lm_free(big[r]);
    }
    for (int i = 0; i < SMALL_COUNT; i++)
        lm_free(small[i]);
    lm_free(grower);
    CHECK_EQ(tl_stats().live_blocks, before.live_blocks - SMALL_COUNT);
    return tl_finish();
}
