/* secure — the secure build (LM_SECURE=1, library lmalloc_secure) under
 * LM_POLICY_CONTINUE: each misuse is reported once, refused, and the heap
 * carries on sound.
 *   - usable_size is the requested size; contents survive realloc;
 *   - a stale-pointer double free (freed, another block handed out, freed
 *     again through the old pointer) is found in the quarantine;
 *   - a write after free anywhere in a block is found when it leaves the
 *     quarantine (a later free);
 *   - a 1- or 8-byte overflow past the requested bytes is found at free,
 *     for a slot and for a block just below the unused top;
 *   - free_sized needs exactly the requested size, dealloc(p, 0) is wrong;
 *   - freed bytes read back as the fill, never the old contents;
 *   - a random mix of calls with patterns keeps every block intact.
 * After each case: the kind lm_last_misuse names, one more misuse
 * counted, and lm_check() == 0.
 */
#include "testlib.h"

#define QUARANTINE 4       /* blocks a heap keeps from reuse (src/lmalloc.c) */
#define LARGE (128u * 1024)

static uint64_t expected_misuses;

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
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
    CHECK_EQ(lm_check(), 0);
}

/* Frees QUARANTINE fresh blocks of `size`: whatever waited leaves. */
static void quarantine_cycle(size_t size)
{
    for (int i = 0; i < QUARANTINE; i++)
        lm_free(lm_malloc(size));
}

static void test_usable_size(void)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 100, 4080, 4096, 5000, LARGE };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = lm_malloc(sizes[i]);
        REQUIRE(p != NULL);
        CHECK_EQ(lm_usable_size(p), sizes[i]);
        tl_fill_pattern(p, sizes[i], i);
        char *q = lm_realloc(p, sizes[i] + 100);
        REQUIRE(q != NULL);
        CHECK_EQ(lm_usable_size(q), sizes[i] + 100);
        CHECK_PATTERN(q, sizes[i], i);
        lm_free_sized(q, sizes[i] + 100);
    }
    char *z = lm_calloc(300, 7);
    REQUIRE(z != NULL);
    CHECK_EQ(tl_find_byte_mismatch(z, 2100, 0), (size_t)-1);
    lm_free(z);
    for (size_t alignment = 32; alignment <= 8192; alignment *= 4) {
        char *a = lm_aligned_alloc(alignment, 100);
        REQUIRE(a != NULL && tl_is_aligned(a, alignment));
        CHECK_EQ(lm_usable_size(a), 100);
        lm_free_aligned_sized(a, alignment, 100);
    }
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
}

static void test_stale_double_free(size_t size)
{
    char *p = lm_malloc(size);
    REQUIRE(p != NULL);
    lm_free(p);
    char *q = lm_malloc(size);
    REQUIRE(q != NULL);
    CHECK(q != p);                  /* p waits in the quarantine */
    lm_free(p);
    expect_misuse(LM_MISUSE_DOUBLE_FREE, p, size);
    lm_free(q);
}

static void test_write_after_free(size_t size, size_t at)
{
    char *p = lm_malloc(size);
    REQUIRE(p != NULL);
    tl_memset(p, 'a', size);
    lm_free(p);
    CHECK_EQ(tl_find_byte_mismatch(p, size, 0xDB), (size_t)-1);   /* read back: the fill */
    p[at] ^= 1;
    quarantine_cycle(size);
    expect_misuse(LM_MISUSE_CORRUPTED, p, (uint64_t)-1);
    quarantine_cycle(size);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
}

/* The byte `past` after the requested ones written: free reports it and
 * refuses (the block stays, leaked, its neighbour untouched). */
static void test_overflow(size_t size, size_t past)
{
    char *p = lm_malloc(size);
    char *after = lm_malloc(size);
    REQUIRE(p != NULL && after != NULL);
    tl_fill_pattern(after, size, 9);
    p[size + past] ^= 1;
    lm_free(p);
    expect_misuse(LM_MISUSE_CORRUPTED, p, size);
    CHECK_PATTERN(after, size, 9);
    lm_free(after);
}

static void test_lengths(void)
{
    char *p = lm_malloc(16384);
    REQUIRE(p != NULL);
    lm_free_sized(p, 16384 - 10);
    expect_misuse(LM_MISUSE_WRONG_SIZE, p, 16384);
    char *q = lm_malloc(16);
    REQUIRE(q != NULL);
    lm_free_sized(q, 0);
    expect_misuse(LM_MISUSE_WRONG_SIZE, q, 16);
    lm_dealloc(q, 0);
    expect_misuse(LM_MISUSE_WRONG_SIZE, q, 16);
    lm_free_sized(q, 17);
    expect_misuse(LM_MISUSE_WRONG_SIZE, q, 16);
    char *z = lm_malloc(0);
    REQUIRE(z != NULL);
    lm_free_sized(z, 0);            /* right: malloc(0) asked for 0 */
    lm_free_sized(q, 16);
    lm_dealloc(p, 16384);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
}

/* Random malloc, realloc and free of patterned blocks: every block keeps
 * its bytes, and nothing is reported. */
static void test_mix(void)
{
    enum { LIVE = 64 };
    char *blocks[LIVE] = { 0 };
    size_t sizes[LIVE] = { 0 };
    uint64_t base_blocks = tl_stats().live_blocks;
    tl_rng rng;
    tl_rng_seed(&rng, 25);
    for (unsigned op = 0; op < 20000; op++) {
        unsigned i = (unsigned)tl_rng_below(&rng, LIVE);
        if (blocks[i]) {
            CHECK_PATTERN(blocks[i], sizes[i], i);
            CHECK_EQ(lm_usable_size(blocks[i]), sizes[i]);
            if (tl_rng_below(&rng, 3) == 0) {
                size_t size = tl_rng_log_uniform(&rng, 17);
                char *moved = lm_realloc(blocks[i], size);
                REQUIRE(moved != NULL || size == 0);
                size_t kept = size < sizes[i] ? size : sizes[i];
                if (moved)
                    CHECK_PATTERN(moved, kept, i);
                blocks[i] = moved;
                sizes[i] = size;
                if (moved)
                    tl_fill_pattern(moved, size, i);
                continue;
            }
            lm_free_sized(blocks[i], sizes[i]);
            blocks[i] = NULL;
        } else {
            sizes[i] = tl_rng_log_uniform(&rng, 17);
            blocks[i] = lm_malloc(sizes[i]);
            REQUIRE(blocks[i] != NULL);
            tl_fill_pattern(blocks[i], sizes[i], i);
        }
    }
    for (unsigned i = 0; i < LIVE; i++)
        lm_free(blocks[i]);
    CHECK_EQ(tl_stats().live_blocks, base_blocks);   /* the quarantine holds freed blocks */
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
    CHECK_EQ(lm_check(), 0);
}

int main(void)
{
    tl_begin("secure");
    lm_set_policy(LM_POLICY_CONTINUE);
    test_usable_size();
    test_stale_double_free(64);
    test_stale_double_free(LARGE);
    test_write_after_free(128, 64);
    test_write_after_free(2 * LARGE, 65537);
    test_overflow(16, 0);
    test_overflow(16, 7);
    test_overflow(LARGE, 0);
    test_overflow(LARGE, 7);
    test_lengths();
    test_mix();
    return tl_finish();
}
