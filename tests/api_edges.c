/* api_edges — the edges of every public call: zero sizes, NULL, overflow,
 * impossible sizes, alignment, usable size, free_sized, and realloc's
 * growing, shrinking and in-place behaviour. */
#include "testlib.h"

static uint64_t live_blocks(void) { return tl_stats().live_blocks; }
static uint64_t failed_allocs(void) { return tl_stats().failed_allocs; }

static void test_malloc_zero(void)
{
    uint64_t before = live_blocks();
    void *a = lm_malloc(0);
    void *b = lm_malloc(0);
    REQUIRE(a != NULL);
    REQUIRE(b != NULL);
    CHECK(a != b);                          /* unique, not a shared sentinel */
    CHECK(tl_is_aligned(a, LM_ALIGNMENT));
    CHECK(tl_is_aligned(b, LM_ALIGNMENT));
    CHECK_EQ(live_blocks(), before + 2);
    /* Both are real blocks: their usable bytes must not overlap. */
    size_t a_usable = lm_usable_size(a), b_usable = lm_usable_size(b);
    CHECK((char *)a + a_usable <= (char *)b || (char *)b + b_usable <= (char *)a);
    tl_memset(a, 0x5a, a_usable);
    tl_memset(b, 0xa5, b_usable);
    CHECK_EQ(tl_find_byte_mismatch(a, a_usable, 0x5a), TL_NO_MISMATCH);
    lm_free(a);
    lm_free(b);
    CHECK_EQ(live_blocks(), before);
    CHECK_EQ(lm_check(), 0);
}

static void test_free_null(void)
{
    lm_stats_t before = tl_stats();
    lm_free(NULL);
    lm_free_sized(NULL, 0);
    lm_stats_t after = tl_stats();
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(after.live_bytes, before.live_bytes);
    CHECK_EQ(after.misuse_count, before.misuse_count);
    CHECK_EQ(lm_usable_size(NULL), 0);
}

static void test_realloc_null_and_zero(void)
{
    uint64_t before = live_blocks();
    char *p = lm_realloc(NULL, 100);        /* behaves as malloc(100) */
    REQUIRE(p != NULL);
    CHECK(tl_is_aligned(p, LM_ALIGNMENT));
    CHECK(lm_usable_size(p) >= 100);
    CHECK_EQ(live_blocks(), before + 1);
    tl_fill_pattern(p, 100, 1);
    CHECK_PATTERN(p, 100, 1);

    void *gone = lm_realloc(p, 0);          /* frees, returns NULL */
    CHECK(gone == NULL);
    CHECK_EQ(live_blocks(), before);

    void *q = lm_realloc(NULL, 0);          /* malloc(0): a unique block */
    REQUIRE(q != NULL);
    CHECK_EQ(live_blocks(), before + 1);
    lm_free(q);
    CHECK_EQ(live_blocks(), before);
}

static void test_calloc(void)
{
    /* Fresh memory. */
    unsigned char *p = lm_calloc(100, 10);
    REQUIRE(p != NULL);
    CHECK(tl_is_aligned(p, LM_ALIGNMENT));
    CHECK(lm_usable_size(p) >= 1000);
    CHECK_EQ(tl_find_byte_mismatch(p, 1000, 0), TL_NO_MISMATCH);
    lm_free(p);

    /* Dirty memory handed back out: calloc must clear it, for every size
     * class and for large blocks. */
    static const size_t sizes[] = { 1, 8, 16, 24, 32, 40, 64, 100, 128, 256, 1000, 4096,
                                    8192, 20000, 65536, 100000, 262144, 1 << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        for (int round = 0; round < 3; round++) {
            unsigned char *dirty = lm_malloc(size);
            REQUIRE(dirty != NULL);
            tl_memset(dirty, 0xff, lm_usable_size(dirty));
            lm_free(dirty);
            /* The same bytes as count*size in a few shapes. */
            size_t count = round == 0 ? 1 : (round == 1 ? size : (size % 8 == 0 ? size / 8 : 1));
            size_t each = round == 0 ? size : (round == 1 ? 1 : (size % 8 == 0 ? 8 : size));
            unsigned char *clean = lm_calloc(count, each);
            REQUIRE(clean != NULL);
            size_t bad = tl_find_byte_mismatch(clean, size, 0);
            if (bad != TL_NO_MISMATCH)
                tl_printf("  calloc(%zu, %zu) after a dirty free of %zu bytes: byte %zu is 0x%x\n",
                          count, each, size, bad, (unsigned)clean[bad]);
            CHECK_EQ(bad, TL_NO_MISMATCH);
            lm_free(clean);
        }
    }

    /* A zero-byte calloc is a unique block, like malloc(0). */
    void *zero_a = lm_calloc(0, 100);
    void *zero_b = lm_calloc(100, 0);
    CHECK(zero_a != NULL);
    CHECK(zero_b != NULL);
    CHECK(zero_a != zero_b);
    lm_free(zero_a);
    lm_free(zero_b);

    /* count * size overflows size_t: NULL, counted as a failed allocation. */
    const size_t half = SIZE_MAX / 2 + 1;
    const size_t root = (size_t)1 << (sizeof(size_t) * 4);  /* root * root == 2^width */
    const size_t overflows[][2] = {
        { half, 2 }, { 2, half }, { SIZE_MAX, SIZE_MAX }, { root, root },
        { SIZE_MAX, 2 }, { SIZE_MAX / 3 + 1, 3 }, { root + 1, root + 1 },
    };
    for (size_t i = 0; i < sizeof overflows / sizeof overflows[0]; i++) {
        uint64_t failed = failed_allocs();
        uint64_t live = live_blocks();
        void *none = lm_calloc(overflows[i][0], overflows[i][1]);
        if (none != NULL)
            tl_printf("  calloc(%zu, %zu) returned %p\n", overflows[i][0], overflows[i][1], none);
        CHECK(none == NULL);
        CHECK_EQ(failed_allocs(), failed + 1);
        CHECK_EQ(live_blocks(), live);
    }
    /* Large but not overflowing, and impossible: NULL too. (Nothing much
     * below SIZE_MAX: wasm32 can really give out 15/16 of its 4 GiB.) */
    uint64_t failed = failed_allocs();
    CHECK(lm_calloc(1, SIZE_MAX) == NULL);
    CHECK(lm_calloc(SIZE_MAX / 4, 4) == NULL);
    CHECK_EQ(failed_allocs(), failed + 2);
}

/* Static data lies below the heap, so no block can start below this
 * variable's address: on wasm32 that caps a block at 2^32 minus it. */
static char below_the_heap;

/* True if `size` bytes cannot fit in this address space whatever the heap
 * does. On 64-bit targets everything near SIZE_MAX qualifies; wasm32 can
 * really give out nearly all of its 4 GiB, so only sizes within the static
 * data's size of SIZE_MAX are sure to fail there. */
static int surely_impossible(size_t size)
{
    if (SIZE_MAX > 0xFFFFFFFFu)
        return size > SIZE_MAX / 2;
    return SIZE_MAX - size < (uintptr_t)&below_the_heap;
}

static void test_impossible_sizes(void)
{
    /* None of these fits in an address space that also holds the program. */
    const size_t candidates[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 7, SIZE_MAX - 8, SIZE_MAX - 15, SIZE_MAX - 16,
        SIZE_MAX - 31, SIZE_MAX - 32, SIZE_MAX - 63, SIZE_MAX - 65535, SIZE_MAX - 65536,
        SIZE_MAX - 131071, SIZE_MAX - (1u << 20),
    };
    size_t impossible[sizeof candidates / sizeof candidates[0]];
    size_t impossible_count = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (surely_impossible(candidates[i]))
            impossible[impossible_count++] = candidates[i];
    CHECK(impossible_count >= 9);
    char *keep = lm_malloc(300);
    REQUIRE(keep != NULL);
    tl_fill_pattern(keep, 300, 77);
    lm_stats_t start = tl_stats();
    uint64_t expected_failures = start.failed_allocs;
    for (size_t i = 0; i < impossible_count; i++) {
        size_t size = impossible[i];
        void *p = lm_malloc(size);
        if (p != NULL)
            tl_printf("  malloc(%zu) returned %p\n", size, p);
        CHECK(p == NULL);
        expected_failures++;

        p = lm_aligned_alloc(64, size);
        CHECK(p == NULL);
        expected_failures++;
        p = lm_aligned_alloc(65536, size);
        CHECK(p == NULL);
        expected_failures++;

        /* A failed realloc leaves the block where and as it was. */
        char *same = lm_realloc(keep, size);
        CHECK(same == NULL);
        expected_failures++;
        CHECK_PATTERN(keep, 300, 77);
        CHECK_EQ(tl_stats().failed_allocs, expected_failures);
    }
    lm_stats_t end = tl_stats();
    CHECK_EQ(end.live_blocks, start.live_blocks);
    CHECK_EQ(end.live_bytes, start.live_bytes);
    CHECK_EQ(lm_check(), 0);

    /* The heap is still perfectly usable afterwards. */
    for (size_t size = 1; size <= (1u << 20); size *= 4) {
        char *p = lm_malloc(size);
        REQUIRE(p != NULL);
        tl_fill_pattern(p, size, size);
        CHECK_PATTERN(p, size, size);
        lm_free(p);
    }
    CHECK_PATTERN(keep, 300, 77);
    lm_free(keep);
}

/* The top of each width's size range, one byte at a time: where rounding
 * up to whole granules, adding a header or an alignment's slack can wrap
 * around. On 64-bit targets lmalloc indexes at most 2^32 granules (64 GiB),
 * so the sweep covers both sides of 2^36 as well as SIZE_MAX. Nothing here
 * fits in memory, so every call fails, is counted, and harms nothing. */
static void test_sizes_near_the_limits(void)
{
    size_t tops[3];
    size_t top_count = 0;
    tops[top_count++] = SIZE_MAX;
    CHECK(surely_impossible(SIZE_MAX - 1535));
#if SIZE_MAX > 0xFFFFFFFFu
    tops[top_count++] = (size_t)1 << 36;
    tops[top_count++] = ((size_t)1 << 36) + 2048;
#endif
    char *keep = lm_malloc(100);
    REQUIRE(keep != NULL);
    tl_fill_pattern(keep, 100, 4242);
    lm_stats_t start = tl_stats();
    uint64_t expected_failures = start.failed_allocs;
    unsigned non_null = 0;
    for (size_t t = 0; t < top_count; t++) {
        tl_printf("  sizes %zu - 0..1535\n", tops[t]);
        for (size_t below = 0; below < 1536; below++) {
            size_t size = tops[t] - below;
            void *results[32];   /* 3 + 21 alignments + 1 */
            unsigned result_count = 0;
            results[result_count++] = lm_malloc(size);
            results[result_count++] = lm_calloc(1, size);
            results[result_count++] = lm_calloc(size, 1);
            for (size_t alignment = 1; alignment <= ((size_t)1 << 20); alignment *= 2)
                results[result_count++] = lm_aligned_alloc(alignment, size);
            results[result_count++] = lm_realloc(keep, size);
            expected_failures += result_count;
            for (unsigned r = 0; r < result_count; r++) {
                if (results[r] != NULL && non_null++ < 10)
                    tl_printf("  call %u for size %zu returned %p\n", r, size, results[r]);
                CHECK(results[r] == NULL);
            }
        }
        CHECK_EQ(lm_check(), 0);
    }
    CHECK_EQ(non_null, 0);
    lm_stats_t end = tl_stats();
    CHECK_EQ(end.failed_allocs, expected_failures);
    CHECK_EQ(end.live_blocks, start.live_blocks);
    CHECK_PATTERN(keep, 100, 4242);
    lm_free(keep);
}

static void test_alignment_of_every_pointer(void)
{
    void *blocks[200];
    for (size_t i = 0; i < 200; i++) {
        size_t size = (i * 37) % 700 + (i % 7 == 0 ? 5000 * i : 0);
        blocks[i] = lm_malloc(size);
        REQUIRE(blocks[i] != NULL);
        CHECK(tl_is_aligned(blocks[i], LM_ALIGNMENT));
        CHECK(lm_usable_size(blocks[i]) >= size);
    }
    for (size_t i = 0; i < 200; i += 2)
        lm_free(blocks[i]);
    for (size_t i = 0; i < 200; i += 2) {
        blocks[i] = lm_calloc(i % 13 + 1, 3);
        REQUIRE(blocks[i] != NULL);
        CHECK(tl_is_aligned(blocks[i], LM_ALIGNMENT));
    }
    for (size_t i = 1; i < 200; i += 2) {
        blocks[i] = lm_realloc(blocks[i], i * 3 + 1);
        REQUIRE(blocks[i] != NULL);
        CHECK(tl_is_aligned(blocks[i], LM_ALIGNMENT));
    }
    for (size_t i = 0; i < 200; i++)
        lm_free(blocks[i]);
}

static void test_aligned_alloc(void)
{
    const size_t largest = (size_t)1 << 20;
    const size_t sizes[] = { 0, 1, 24, 100, 4096, 70000 };
    enum { SIZE_COUNT = sizeof sizes / sizeof sizes[0] };
    /* All blocks stay live until the end, so overlap would show as a
     * damaged pattern. */
    static void *blocks[21][SIZE_COUNT];
    uint64_t id = 1000;
    int shift = 0;
    for (size_t alignment = 1; alignment <= largest; alignment *= 2, shift++) {
        for (size_t s = 0; s < SIZE_COUNT; s++) {
            size_t size = sizes[s];
            if (size == 70000 && alignment > 65536)
                size = alignment + 24;      /* also a block bigger than its alignment */
            void *p = lm_aligned_alloc(alignment, size);
            if (p == NULL)
                tl_printf("  aligned_alloc(%zu, %zu) returned NULL\n", alignment, size);
            REQUIRE(p != NULL);
            size_t expected = alignment < LM_ALIGNMENT ? LM_ALIGNMENT : alignment;
            if (!tl_is_aligned(p, expected))
                tl_printf("  aligned_alloc(%zu, %zu) = %p\n", alignment, size, p);
            CHECK(tl_is_aligned(p, expected));
            CHECK(lm_usable_size(p) >= size);
            tl_fill_pattern(p, size, id + (uint64_t)(shift * SIZE_COUNT + s));
            blocks[shift][s] = p;
        }
        CHECK_EQ(lm_check(), 0);
    }
    shift = 0;
    for (size_t alignment = 1; alignment <= largest; alignment *= 2, shift++) {
        for (size_t s = 0; s < SIZE_COUNT; s++) {
            size_t size = sizes[s];
            if (size == 70000 && alignment > 65536)
                size = alignment + 24;
            CHECK_PATTERN(blocks[shift][s], size, id + (uint64_t)(shift * SIZE_COUNT + s));
            lm_free(blocks[shift][s]);
        }
    }

    /* Alignments that are not powers of two are refused. */
    const size_t bad_alignments[] = { 0, 3, 5, 6, 12, 24, 48, 100, 65535, 65537, 3u << 20,
                                      SIZE_MAX, SIZE_MAX / 2 };
    uint64_t live = live_blocks();
    for (size_t i = 0; i < sizeof bad_alignments / sizeof bad_alignments[0]; i++) {
        void *p = lm_aligned_alloc(bad_alignments[i], 64);
        if (p != NULL)
            tl_printf("  aligned_alloc(%zu, 64) returned %p\n", bad_alignments[i], p);
        CHECK(p == NULL);
    }
    CHECK_EQ(live_blocks(), live);

    /* An aligned request reuses a freed small block of its padded size, as
     * malloc does: free one block of every small size, and the aligned block
     * lies inside one of them. */
    enum { SMALL_SIZES = 64 };
    void *small[SMALL_SIZES];
    uintptr_t freed[SMALL_SIZES];
    for (size_t i = 0; i < SMALL_SIZES; i++) {
        small[i] = lm_malloc(i * LM_ALIGNMENT + 8);
        REQUIRE(small[i] != NULL);
        freed[i] = (uintptr_t)small[i];
    }
    for (size_t i = 0; i < SMALL_SIZES; i++)
        lm_free(small[i]);
    char *aligned = lm_aligned_alloc(64, 100);
    REQUIRE(aligned != NULL);
    CHECK(tl_is_aligned(aligned, 64));
    uintptr_t at = (uintptr_t)aligned;
    int reused = 0;
    for (size_t i = 0; i < SMALL_SIZES; i++)
        reused |= at >= freed[i] && at + 100 <= freed[i] + i * LM_ALIGNMENT + 8;
    CHECK(reused);
    tl_fill_pattern(aligned, 100, 6);
    CHECK_EQ(lm_check(), 0);
    CHECK_PATTERN(aligned, 100, 6);
    lm_free(aligned);
    CHECK_EQ(lm_check(), 0);

    /* Aligned blocks are ordinary blocks afterwards: realloc keeps the bytes. */
    char *p = lm_aligned_alloc(4096, 1000);
    REQUIRE(p != NULL);
    CHECK(tl_is_aligned(p, 4096));
    tl_fill_pattern(p, 1000, 5);
    p = lm_realloc(p, 50000);
    REQUIRE(p != NULL);
    CHECK_PATTERN(p, 1000, 5);
    lm_free(p);
}

static void test_usable_size_and_free_sized(void)
{
    for (size_t size = 0; size < 3000; size += 7) {
        char *p = lm_malloc(size);
        REQUIRE(p != NULL);
        size_t usable = lm_usable_size(p);
        CHECK(usable >= size);
        /* All usable bytes are the caller's to write. */
        tl_fill_pattern(p, usable, size);
        uint64_t live = live_blocks();
        uint64_t misuse = tl_stats().misuse_count;
        lm_free_sized(p, size);             /* the length asked for */
        CHECK_EQ(live_blocks(), live - 1);
        CHECK_EQ(tl_stats().misuse_count, misuse);
    }
    /* The same through calloc, realloc and a large block. */
    char *c = lm_calloc(10, 30);
    REQUIRE(c != NULL);
    lm_free_sized(c, 300);
    char *r = lm_malloc(10);
    REQUIRE(r != NULL);
    r = lm_realloc(r, 900);
    REQUIRE(r != NULL);
    lm_free_sized(r, 900);
    char *big = lm_malloc(3u << 20);
    REQUIRE(big != NULL);
    CHECK(lm_usable_size(big) >= (3u << 20));
    lm_free_sized(big, 3u << 20);
    CHECK_EQ(tl_stats().misuse_count, 0);
    CHECK_EQ(lm_check(), 0);
}

static void test_realloc_keeps_prefix(void)
{
    /* Walk one block through a series of sizes; at each step the bytes
     * common to the old and new size survive. */
    static const size_t steps[] = { 1, 17, 100, 5000, 64, 70000, 3, 1 << 20, 200000, 24,
                                    65536, 65520, 4 << 20, 10, 0x2345 };
    char *p = lm_malloc(steps[0]);
    REQUIRE(p != NULL);
    tl_fill_pattern(p, steps[0], 0);
    for (size_t i = 1; i < sizeof steps / sizeof steps[0]; i++) {
        size_t old_size = steps[i - 1], new_size = steps[i];
        uint64_t live = live_blocks();
        char *q = lm_realloc(p, new_size);
        REQUIRE(q != NULL);
        CHECK(tl_is_aligned(q, LM_ALIGNMENT));
        CHECK(lm_usable_size(q) >= new_size);
        CHECK_EQ(live_blocks(), live);      /* a moved block frees its old place */
        CHECK_PATTERN(q, old_size < new_size ? old_size : new_size, i - 1);
        tl_fill_pattern(q, new_size, i);
        p = q;
    }
    lm_free(p);
    CHECK_EQ(lm_check(), 0);
}

static void test_realloc_in_place(void)
{
    /* Shrinking stays in place while the block keeps more than half of a
     * slot (up to 1 KiB) or a quarter of a block: then it moves, so a few
     * bytes do not pin a big hole. */
    char *p = lm_malloc(1000);
    REQUIRE(p != NULL);
    tl_fill_pattern(p, 1000, 9);
    char *q = lm_realloc(p, 600);
    CHECK(q == p);
    CHECK_PATTERN(q, 600, 9);
    /* Nor does the same size, or anything within the usable size. */
    size_t usable = lm_usable_size(q);
    char *r = lm_realloc(q, usable);
    CHECK(r == q);
    CHECK_PATTERN(r, 600, 9);
    char *moved = lm_realloc(r, 100);
    REQUIRE(moved != NULL);
    CHECK(moved != r);
    CHECK_PATTERN(moved, 100, 9);
    lm_free(moved);

    char *big = lm_malloc(1 << 20);
    REQUIRE(big != NULL);
    char *big_smaller = lm_realloc(big, 300000);
    CHECK(big_smaller == big);
    lm_free(big_smaller);

    /* Growing into free space right behind the block: a freed neighbour. */
    int grew_in_place = 0;
    for (int trial = 0; trial < 20; trial++) {
        size_t size = 64 + (size_t)trial * 48;
        char *a = lm_malloc(size);
        char *b = lm_malloc(size);
        char *c = lm_malloc(size);
        REQUIRE(a != NULL && b != NULL && c != NULL);
        tl_fill_pattern(a, size, 100 + (uint64_t)trial);
        tl_fill_pattern(c, size, 200 + (uint64_t)trial);
        lm_free(b);
        char *a2 = lm_realloc(a, size + size / 2);
        REQUIRE(a2 != NULL);
        grew_in_place += a2 == a;
        CHECK_PATTERN(a2, size, 100 + (uint64_t)trial);
        CHECK_PATTERN(c, size, 200 + (uint64_t)trial);
        lm_free(a2);
        lm_free(c);
    }
    /* Growing the most recent block at the end of the heap. */
    for (int trial = 0; trial < 20; trial++) {
        size_t size = 1000 + (size_t)trial * 4000;
        char *a = lm_malloc(size);
        REQUIRE(a != NULL);
        tl_fill_pattern(a, size, 300 + (uint64_t)trial);
        char *a2 = lm_realloc(a, size * 2);
        REQUIRE(a2 != NULL);
        grew_in_place += a2 == a;
        CHECK_PATTERN(a2, size, 300 + (uint64_t)trial);
        lm_free(a2);
    }
    tl_printf("  realloc grew in place %d times out of 40\n", grew_in_place);
    CHECK(grew_in_place > 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("api_edges");
    uint64_t base_blocks = live_blocks();   /* the start code may own a few (argv) */
    test_malloc_zero();
    test_free_null();
    test_realloc_null_and_zero();
    test_calloc();
    test_impossible_sizes();
    test_sizes_near_the_limits();
    test_alignment_of_every_pointer();
    test_aligned_alloc();
    test_usable_size_and_free_sized();
    test_realloc_keeps_prefix();
    test_realloc_in_place();
    CHECK_EQ(live_blocks(), base_blocks);
    return tl_finish();
}
