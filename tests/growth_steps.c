/* growth_steps — the heap grows in geometric steps, fine while it is small
 * and coarse once memory is large: from 8 MiB (where the 64 KiB minimum
 * step stops mattering) to 1 GiB each grow adds 1/32 of the footprint, past
 * 1 GiB 1/8 (rounded up to a 64 KiB page). Requests here are smaller than
 * any step (1/64 of the footprint), so the step alone decides the size of
 * each grow. The blocks are never written: little memory is touched. */
#include "testlib.h"

#define REQUEST_MIN 60000
#define BLOCK_MAX 2000
#define PAGE ((uint64_t)65536)
#define MIB ((uint64_t)1 << 20)
#define FINE_MAX (1024 * MIB)

static char *blocks[BLOCK_MAX];

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("growth_steps");
    int count = 0, fine = 0, coarse = 0;
    while (tl_stats().footprint < FINE_MAX + FINE_MAX / 4) {
        REQUIRE(count < BLOCK_MAX);
        uint64_t before = tl_stats().footprint;
        size_t request = before / 64 > REQUEST_MIN ? (size_t)(before / 64) : REQUEST_MIN;
        blocks[count] = lm_malloc(request);
        REQUIRE(blocks[count] != NULL);
        count++;
        uint64_t after = tl_stats().footprint;
        if (after == before || before < 8 * MIB)
            continue;
        uint64_t step = before < FINE_MAX ? before / 32 : before / 8;
        if (after - before < step || after - before >= step + PAGE)
            tl_printf("  grow at %llu bytes added %llu, expected %llu rounded up to a page\n",
                      (unsigned long long)before, (unsigned long long)(after - before),
                      (unsigned long long)step);
        CHECK(after - before >= step);
        CHECK(after - before < step + PAGE);
        if (before < FINE_MAX)
            fine++;
        else
            coarse++;
    }
    tl_printf("  %d blocks; %d fine and %d coarse grows checked\n", count, fine, coarse);
    CHECK(fine >= 100);     /* 8 MiB -> 1 GiB at 1/32 is about 155 grows */
    CHECK(coarse >= 1);     /* 1 -> 1.25 GiB at 1/8 is about 2 */
    while (count > 0)
        lm_free(blocks[--count]);
    CHECK_EQ(lm_check(), 0);
    return tl_finish();
}
