/* misuse_continue — under LM_POLICY_CONTINUE every misuse is reported with
 * the right kind and pointer, counted, and refused, and the heap carries on
 * unharmed: double free (by free, free_sized, realloc), pointers outside the
 * heap (static, stack, low, above the end), interior and misaligned
 * pointers, free_sized with a wrong length, realloc and usable_size of a
 * freed block.
 *
 * After each case: lm_last_misuse() names the kind and the pointer,
 * misuse_count went up by exactly one, every other live block kept its
 * bytes, the allocator hands out no block twice (so the refused free really
 * did nothing), and lm_check() finds the heap sound.
 * (Header corruption damages the heap for good: see misuse_corrupt.c.)
 */
#include "testlib.h"

#define POPULATION 48
#define FRESH_COUNT 12

static char *population[POPULATION];
static size_t population_size[POPULATION];
static uint64_t expected_misuses;
static const char *current_case = "";

static void print_context(void)
{
    tl_printf("  (case: %s)\n", current_case);
}

static void population_verify(void)
{
    for (int i = 0; i < POPULATION; i++)
        CHECK_PATTERN(population[i], population_size[i], 500 + (uint64_t)i);
}

static int overlaps(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a < b + b_len && b < a + a_len;
}

/* Allocates a batch of blocks of `size` (and neighbouring sizes): none may
 * overlap another or any live block, as it would if a refused free had
 * put a live block back on a free list, or a block on a list twice. */
static void check_no_double_handout(size_t size, const char *other, size_t other_len)
{
    char *fresh[FRESH_COUNT];
    size_t fresh_len[FRESH_COUNT];
    for (int i = 0; i < FRESH_COUNT; i++) {
        size_t request = i < FRESH_COUNT / 2 ? size : size + (size_t)(i - FRESH_COUNT / 2) * 8;
        fresh[i] = lm_malloc(request);
        REQUIRE(fresh[i] != NULL);
        fresh_len[i] = lm_usable_size(fresh[i]);
        for (int j = 0; j < i; j++)
            CHECK(!overlaps(fresh[i], fresh_len[i], fresh[j], fresh_len[j]));
        for (int p = 0; p < POPULATION; p++)
            CHECK(!overlaps(fresh[i], fresh_len[i], population[p], population_size[p]));
        if (other != NULL)
            CHECK(!overlaps(fresh[i], fresh_len[i], other, other_len));
        tl_fill_pattern(fresh[i], fresh_len[i], 9000 + (uint64_t)i);
    }
    for (int i = 0; i < FRESH_COUNT; i++) {
        CHECK_PATTERN(fresh[i], fresh_len[i], 9000 + (uint64_t)i);
        lm_free(fresh[i]);
    }
}

/* The checks every case ends with. `kind` and `ptr` are what lm_last_misuse
 * must say; `size` too unless it is (uint64_t)-1. */
static void expect_misuse(lm_misuse_kind kind, const void *ptr, uint64_t size)
{
    expected_misuses++;
    lm_misuse last;
    lm_last_misuse(&last);
    if (last.kind != (uint64_t)kind)
        tl_printf("  expected misuse '%s', got '%s'\n", lm_misuse_kind_name(kind),
                  lm_misuse_kind_name((lm_misuse_kind)last.kind));
    CHECK_EQ(last.kind, kind);
    CHECK_EQ(last.ptr, (uintptr_t)ptr);
    if (size != (uint64_t)-1)
        CHECK_EQ(last.size, size);
    lm_stats_t stats = tl_stats();
    CHECK_EQ(stats.misuse_count, expected_misuses);
    CHECK_EQ(stats.failed_allocs, 0);
    population_verify();
    CHECK_EQ(lm_check(), 0);
}

/* A fresh victim block whose neighbour after it is live (a guard of the
 * same size), so a free cannot merge it forward and a block keeps its own
 * header and size (a slot has neither, and never merges): tries until the
 * guard lands right behind the victim, parking the misses (they are freed
 * at the end). `guard_before` is one more live block nearby. */
#define PARKED_MAX 1024
static char *parked[PARKED_MAX];
static int parked_count;

static char *victim_new(size_t size, char **guard_before, char **guard_after)
{
    *guard_before = lm_malloc(48);
    REQUIRE(*guard_before != NULL);
    for (;;) {
        char *victim = lm_malloc(size);
        char *after = lm_malloc(size);
        REQUIRE(victim != NULL && after != NULL);
        size_t usable = lm_usable_size(victim);
        /* Slots (up to LM_SMALL_MAX) never merge, and come off a LIFO free
         * list in either order: a guard on either side will do. */
        int guarded = after > victim ? (size_t)(after - (victim + usable)) <= 16
                                     : usable <= LM_SMALL_MAX && victim - (after + usable) == 0;
        if (guarded) {
            *guard_after = after;
            tl_fill_pattern(victim, size, 77);
            return victim;
        }
        REQUIRE(parked_count + 2 <= PARKED_MAX);
        parked[parked_count++] = victim;
        parked[parked_count++] = after;
    }
}

static void parked_free(void)
{
    while (parked_count > 0)
        lm_free(parked[--parked_count]);
}

/* The free end of the heap: a block freed back into it is reported as a
 * double free with its own size, and a pointer further into that free end,
 * where no block starts, as not in the heap. Runs before anything else is
 * freed, so the block comes from the free end and merges back into it. */
static void test_free_end(void)
{
    current_case = "free end of the heap";
    char *last = lm_malloc(LM_SMALL_MAX + 4096);
    REQUIRE(last != NULL);
    uint64_t usable = lm_usable_size(last);
    tl_memset(last, 0, usable);
    lm_free(last);
    lm_free(last);
    expect_misuse(LM_MISUSE_DOUBLE_FREE, last, usable);
    char *beyond = last + 1024;
    lm_free(beyond);
    expect_misuse(LM_MISUSE_NOT_IN_HEAP, beyond, 0);
    CHECK_EQ(lm_usable_size(beyond), 0);
    expect_misuse(LM_MISUSE_NOT_IN_HEAP, beyond, 0);
}

#define BURST_COUNT 3000   /* more frees in a row than the quick bins hold */

static void test_double_free(void)
{
    static const size_t sizes[] = { 0, 64, 1000, LM_SMALL_MAX + 1000, 200000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int how = 0; how < 4; how++) {
            current_case = how == 0 ? "double free by lm_free"
                         : how == 1 ? "double free by lm_free_sized"
                         : how == 2 ? "realloc of a freed block"
                                    : "usable_size of a freed block";
            char *before, *after;
            char *victim = victim_new(sizes[s], &before, &after);
            uint64_t usable = lm_usable_size(victim);
            uint64_t live = tl_stats().live_blocks;
            lm_free_sized(victim, sizes[s]);
            CHECK_EQ(tl_stats().live_blocks, live - 1);
            if (how == 0) {
                lm_free(victim);
            } else if (how == 1) {
                lm_free_sized(victim, sizes[s]);
            } else if (how == 2) {
                CHECK(lm_realloc(victim, sizes[s] + 100) == NULL);
            } else {
                CHECK_EQ(lm_usable_size(victim), 0);
            }
            CHECK_EQ(tl_stats().live_blocks, live - 1);
            expect_misuse(LM_MISUSE_DOUBLE_FREE, victim, usable);
            check_no_double_handout(sizes[s], before, 48);
            check_no_double_handout(sizes[s], after, lm_usable_size(after));
            lm_free(before);
            lm_free(after);
        }
    }

    /* The freed block has merged with a freed neighbour, so its header is
     * inside a bigger free block: still a double free, never obeyed. */
    current_case = "double free after merging with the neighbour before it";
    char *before, *after;
    char *victim = victim_new(5000, &before, &after);
    char *left = lm_malloc(3000);
    char *middle = lm_malloc(3000);
    char *right = lm_malloc(48);
    REQUIRE(left != NULL && middle != NULL && right != NULL);
    lm_free(left);
    lm_free(middle);            /* merges into left's free block */
    lm_free(middle);
    expect_misuse(LM_MISUSE_DOUBLE_FREE, middle, (uint64_t)-1);
    check_no_double_handout(3000, right, 48);
    check_no_double_handout(6000, right, 48);
    lm_free(right);
    lm_free(victim);
    lm_free(before);
    lm_free(after);

    /* A burst of frees: the first blocks go to the quick bins and merge
     * when the bins fill, the rest merge as they are freed. A block from
     * either part freed again is still a double free. */
    current_case = "double free after a burst of frees";
    static char *burst[BURST_COUNT];
    for (int i = 0; i < BURST_COUNT; i++) {
        burst[i] = lm_malloc(64);
        REQUIRE(burst[i] != NULL);
    }
    for (int i = 0; i < BURST_COUNT; i++)
        lm_free(burst[i]);
    CHECK_EQ(lm_check(), 0);
    lm_free(burst[BURST_COUNT - 1]);
    expect_misuse(LM_MISUSE_DOUBLE_FREE, burst[BURST_COUNT - 1], (uint64_t)-1);
    lm_free(burst[0]);
    expect_misuse(LM_MISUSE_DOUBLE_FREE, burst[0], (uint64_t)-1);
    check_no_double_handout(64, NULL, 0);
}

static _Alignas(16) char static_bytes[64];

static void test_not_in_heap(void)
{
    _Alignas(16) char stack_bytes[64];
    stack_bytes[0] = 1;
    /* Above the end: the heap starts at or below the lowest block and is
     * footprint bytes long, so past the highest block plus the footprint
     * is past its end. */
    uintptr_t highest = 0;
    for (int i = 0; i < POPULATION; i++)
        if ((uintptr_t)population[i] > highest)
            highest = (uintptr_t)population[i];
    uintptr_t above_end = (highest + (uintptr_t)tl_stats().footprint + (1u << 20)) & ~(uintptr_t)15;

    char *outside[4] = { static_bytes, stack_bytes, (char *)(uintptr_t)64, (char *)above_end };
    static const char *const names[4] = { "static", "stack", "low address", "above the heap end" };
    for (int i = 0; i < 4; i++) {
        tl_printf("  not in heap: %s %p\n", names[i], (void *)outside[i]);
        current_case = names[i];
        lm_free(outside[i]);
        expect_misuse(LM_MISUSE_NOT_IN_HEAP, outside[i], 0);
        lm_free_sized(outside[i], 64);
        expect_misuse(LM_MISUSE_NOT_IN_HEAP, outside[i], 0);
        CHECK(lm_realloc(outside[i], 128) == NULL);
        expect_misuse(LM_MISUSE_NOT_IN_HEAP, outside[i], 0);
        CHECK_EQ(lm_usable_size(outside[i]), 0);
        expect_misuse(LM_MISUSE_NOT_IN_HEAP, outside[i], 0);
    }
    CHECK_EQ(stack_bytes[0], 1);
    check_no_double_handout(64, NULL, 0);
}

static void test_interior_and_misaligned(void)
{
    static const size_t sizes[] = { 64, 256, 5000, 300000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *before, *after;
        char *block = victim_new(sizes[s], &before, &after);
        uint64_t usable = lm_usable_size(block);
        uint64_t live = tl_stats().live_blocks;

        static const size_t interior[] = { 16, 32, 48 };
        for (size_t k = 0; k < 3; k++) {
            char *p = block + interior[k];
            current_case = "interior pointer";
            lm_free(p);
            expect_misuse(LM_MISUSE_NOT_A_BLOCK, p, usable);
            lm_free_sized(p, sizes[s] - interior[k]);
            expect_misuse(LM_MISUSE_NOT_A_BLOCK, p, usable);
            CHECK(lm_realloc(p, 10) == NULL);
            expect_misuse(LM_MISUSE_NOT_A_BLOCK, p, usable);
            CHECK_EQ(lm_usable_size(p), 0);
            expect_misuse(LM_MISUSE_NOT_A_BLOCK, p, usable);
        }
        /* The last interior pointer: just inside the end. */
        char *last = block + ((usable - 1) & ~(uint64_t)15);
        if (last != block) {
            lm_free(last);
            expect_misuse(LM_MISUSE_NOT_A_BLOCK, last, usable);
        }

        static const size_t misaligned[] = { 1, 4, 8, 15, 24 };
        for (size_t k = 0; k < 5; k++) {
            char *p = block + misaligned[k];
            current_case = "misaligned pointer";
            lm_free(p);
            expect_misuse(LM_MISUSE_MISALIGNED, p, 0);
            lm_free_sized(p, sizes[s]);
            expect_misuse(LM_MISUSE_MISALIGNED, p, 0);
            CHECK(lm_realloc(p, 10) == NULL);
            expect_misuse(LM_MISUSE_MISALIGNED, p, 0);
            CHECK_EQ(lm_usable_size(p), 0);
            expect_misuse(LM_MISUSE_MISALIGNED, p, 0);
        }
        /* The block itself was never touched. */
        CHECK_EQ(tl_stats().live_blocks, live);
        CHECK_EQ(lm_usable_size(block), usable);
        CHECK_PATTERN(block, sizes[s], 77);
        check_no_double_handout(sizes[s], block, usable);
        lm_free_sized(block, sizes[s]);
        lm_free(before);
        lm_free(after);
    }
}

/* A write after free over a small block's first bytes (its free-list
 * link): the next malloc of its size pops it, sees the link no longer
 * agrees with its check, reports it, and serves the request with another
 * block (the damaged one, and the rest of its list, are not handed out). */
static void test_written_after_free(void)
{
    static const size_t sizes[] = { 0, 40, 500, 1000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        current_case = "a freed block written after free";
        char *before, *after;
        char *block = victim_new(sizes[s], &before, &after);
        size_t usable = lm_usable_size(block);
        lm_free(block);
        tl_memset(block, 0xff, 8);
        char *next = lm_malloc(sizes[s]);         /* pops the damaged block */
        REQUIRE(next != NULL);
        CHECK(next != block);
        expect_misuse(LM_MISUSE_CORRUPTED, NULL, 0);
        tl_fill_pattern(next, sizes[s], 4242);
        check_no_double_handout(sizes[s], next, usable);
        check_no_double_handout(sizes[s], block, usable);
        CHECK_PATTERN(next, sizes[s], 4242);
        lm_free(next);
        lm_free(before);
        lm_free(after);
        CHECK_EQ(lm_check(), 0);
    }
}

static void test_wrong_size(void)
{
    static const size_t sizes[] = { 0, 40, 1000, 5000, 300000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *before, *after;
        size_t size = sizes[s];
        char *block = victim_new(size, &before, &after);
        size_t usable = lm_usable_size(block);
        /* Too long for the block, or (for blocks big enough to tell) far
         * too short: a length whose own block would be two granules smaller. */
        size_t wrong[8];
        size_t wrong_count = 0;
        wrong[wrong_count++] = usable + 1;
        wrong[wrong_count++] = usable + 16;
        wrong[wrong_count++] = size * 4 + 1000;
        wrong[wrong_count++] = SIZE_MAX;
        wrong[wrong_count++] = SIZE_MAX / 2;
        if (size >= 256) {
            wrong[wrong_count++] = size / 4;
            wrong[wrong_count++] = size / 2 - 48;
            wrong[wrong_count++] = 0;
        }
        for (size_t w = 0; w < wrong_count; w++) {
            current_case = "free_sized with a wrong length";
            uint64_t live = tl_stats().live_blocks;
            lm_free_sized(block, wrong[w]);
            if (tl_stats().misuse_count != expected_misuses + 1)
                tl_printf("  free_sized(%p [%zu bytes asked, %zu usable], %zu) was not refused\n",
                          (void *)block, size, usable, wrong[w]);
            expect_misuse(LM_MISUSE_WRONG_SIZE, block, usable);
            CHECK_EQ(tl_stats().live_blocks, live);
        }
        CHECK_EQ(lm_usable_size(block), usable);
        CHECK_PATTERN(block, size, 77);
        check_no_double_handout(size, block, usable);
        lm_free_sized(block, size);       /* the right length still works */
        CHECK_EQ(tl_stats().misuse_count, expected_misuses);
        lm_free(before);
        lm_free(after);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("misuse_continue");
    tl_set_context(print_context);
    lm_set_policy(LM_POLICY_CONTINUE);

    for (int i = 0; i < POPULATION; i++) {
        population_size[i] = (size_t)(i * 131 % 2000) + (i % 10 == 0 ? 70000 : 0);
        population[i] = lm_malloc(population_size[i]);
        REQUIRE(population[i] != NULL);
        tl_fill_pattern(population[i], population_size[i], 500 + (uint64_t)i);
    }
    uint64_t base_blocks = tl_stats().live_blocks;

    /* Every kind has a name. */
    for (int kind = 0; kind < LM_MISUSE_KIND_COUNT; kind++) {
        const char *name = lm_misuse_kind_name((lm_misuse_kind)kind);
        CHECK(name != NULL && name[0] != '\0');
        for (int other = 0; other < kind; other++)
            CHECK(!tl_streq(name, lm_misuse_kind_name((lm_misuse_kind)other)));
    }
    lm_misuse none;
    lm_last_misuse(&none);
    CHECK_EQ(none.kind, LM_MISUSE_NONE);

    tl_printf("  free end of the heap\n");
    test_free_end();
    tl_printf("  double free\n");
    test_double_free();
    tl_printf("  not in heap\n");
    test_not_in_heap();
    tl_printf("  interior and misaligned pointers\n");
    test_interior_and_misaligned();
    tl_printf("  wrong length for free_sized\n");
    test_wrong_size();
    tl_printf("  written after free\n");
    test_written_after_free();

    current_case = "end";
    parked_free();
    CHECK_EQ(tl_stats().live_blocks, base_blocks);
    population_verify();
    for (int i = 0; i < POPULATION; i++)
        lm_free_sized(population[i], population_size[i]);
    lm_stats_t end = tl_stats();
    tl_printf("  %llu misuses reported and refused\n", (unsigned long long)end.misuse_count);
    CHECK_EQ(end.misuse_count, expected_misuses);
    return tl_finish();
}
