/* misuse_corrupt — a buffer overflow writes over the next block's header
 * (blocks above LM_SMALL_MAX have one; slots carry no metadata to damage).
 * lm_check() must count the damage, and under LM_POLICY_CONTINUE every
 * call on the damaged block (free, free_sized, realloc, usable_size) is
 * reported as a corrupted header and refused, while blocks elsewhere keep
 * their bytes. The heap is damaged for good, so this test runs alone and
 * ends with lm_check() > 0 instead of == 0.
 */
#include "testlib.h"

#define BLOCK_COUNT 16
#define BLOCK_SIZE (LM_SMALL_MAX + 1000)   /* a block with a header: slots have none to damage */

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("misuse_corrupt");
    lm_set_policy(LM_POLICY_CONTINUE);

    char *blocks[BLOCK_COUNT];
    for (int i = 0; i < BLOCK_COUNT; i++) {
        blocks[i] = lm_malloc(BLOCK_SIZE);
        REQUIRE(blocks[i] != NULL);
        tl_fill_pattern(blocks[i], BLOCK_SIZE, (uint64_t)i);
    }
    CHECK_EQ(lm_check(), 0);

    /* Two neighbours: the second's header follows the first's usable bytes. */
    int overflowing = -1;
    for (int i = 0; i + 1 < BLOCK_COUNT && overflowing < 0; i++) {
        size_t usable = lm_usable_size(blocks[i]);
        size_t gap = (size_t)(blocks[i + 1] - (blocks[i] + usable));
        if (blocks[i + 1] > blocks[i] && gap <= 16)
            overflowing = i;
    }
    if (overflowing < 0)
        tl_printf("  no two consecutive blocks are neighbours: the layout changed?\n");
    REQUIRE(overflowing >= 0);
    char *writer = blocks[overflowing];
    char *damaged = blocks[overflowing + 1];
    size_t usable = lm_usable_size(writer);
    tl_printf("  writing 16 bytes past %p (+%zu), over the header of %p\n", (void *)writer,
              usable, (void *)damaged);

    /* The overflow: 16 bytes past the usable end. */
    tl_memset(writer + usable, 0xab, 16);
    size_t problems = lm_check();
    tl_printf("  lm_check() counts %zu problem(s)\n", problems);
    CHECK(problems > 0);

    uint64_t misuses = tl_stats().misuse_count;
    lm_misuse last;

    lm_free(damaged);
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_CORRUPTED);
    CHECK_EQ(last.ptr, (uintptr_t)damaged);
    CHECK_EQ(tl_stats().misuse_count, misuses + 1);

    lm_free_sized(damaged, BLOCK_SIZE);
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_CORRUPTED);
    CHECK_EQ(last.ptr, (uintptr_t)damaged);

    CHECK(lm_realloc(damaged, 5000) == NULL);
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_CORRUPTED);
    CHECK_EQ(last.ptr, (uintptr_t)damaged);

    CHECK_EQ(lm_usable_size(damaged), 0);
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_CORRUPTED);
    CHECK_EQ(last.ptr, (uintptr_t)damaged);
    CHECK_EQ(tl_stats().misuse_count, misuses + 4);

    /* Nothing was freed, and the other blocks are intact. The writer itself
     * is a sound block: its own bytes are whole. */
    for (int i = 0; i < BLOCK_COUNT; i++) {
        if (i == overflowing + 1)
            continue;
        CHECK_PATTERN(blocks[i], BLOCK_SIZE, (uint64_t)i);
    }
    CHECK_EQ(lm_usable_size(writer), usable);
    CHECK(lm_check() > 0);      /* no repair is expected */
    return tl_finish_damaged_heap();
}
