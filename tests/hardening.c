/* hardening — the keyed checks on linear memory (issue 25), under
 * LM_POLICY_CONTINUE, where each damage is reported once and the heap
 * carries on sound:
 *   - the target gives secret bytes (lm_target_random): natively
 *     getrandom, on wasm the host's crypto.getRandomValues;
 *   - a header forged with the unkeyed hash of old does not pass;
 *   - a free block's list links written after free (text, or links naming
 *     the heap's first block, as an attacker would write them) are
 *     reported when malloc walks the list, never followed, and the lists
 *     are made anew from the chain;
 *   - a free block's footer (its size, in freed memory) written after
 *     free is reported when its neighbour is freed, and the two merge;
 *   - free_aligned_sized with an alignment that is not a power of two, and
 *     dealloc(p, 0) of a live block, are reported and refused.
 * After each case: the kind lm_last_misuse names, one more misuse
 * counted, and lm_check() == 0.
 */
#include "testlib.h"
#include "target.h"

#define BLOCK (16u * 1024)   /* a block of the page layer: header, links, footer */

static uint64_t expected_misuses;

static void expect_misuse(lm_misuse_kind kind, uint64_t size)
{
    expected_misuses++;
    lm_misuse last;
    lm_last_misuse(&last);
    if (last.kind != (uint64_t)kind)
        tl_printf("  expected misuse '%s', got '%s'\n", lm_misuse_kind_name(kind),
                  lm_misuse_kind_name((lm_misuse_kind)last.kind));
    CHECK_EQ(last.kind, kind);
    CHECK_EQ(last.size, size);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
    CHECK_EQ(lm_check(), 0);
}

static void test_random(void)
{
    uint8_t first[32], second[32];
    tl_memset(first, 0, sizeof first);
    tl_memset(second, 0, sizeof second);
    CHECK_EQ(lm_target_random(first, sizeof first), 1);
    CHECK_EQ(lm_target_random(second, sizeof second), 1);
    size_t same = 0, zero = 0;
    for (size_t i = 0; i < sizeof first; i++) {
        same += first[i] == second[i];
        zero += first[i] == 0;
    }
    CHECK(same < sizeof first / 2);
    CHECK(zero < sizeof first / 2);
}

/* The header check the allocator had before it was keyed. */
static uint32_t unkeyed_check(uintptr_t b, uint32_t granules)
{
    return (((uint32_t)b ^ (granules * 0xFDEBCA77u)) * 0xFE3779B1u) & ~15u;
}

/* A live block with a header forged inside another (one granule, USED):
 * free of it is refused as an interior pointer. */
static void test_forged_header(void)
{
    char *outer = lm_malloc(BLOCK);
    REQUIRE(outer != NULL);
    char *inner = outer + 4096;
    uint32_t *header = (uint32_t *)(inner - 8);
    header[0] = 1;
    header[1] = unkeyed_check((uintptr_t)header, 1) | 1;   /* USED */
    lm_free(inner);
    expect_misuse(LM_MISUSE_NOT_A_BLOCK, lm_usable_size(outer));
    lm_free(outer);
    CHECK_EQ(lm_check(), 0);
}

/* A free block between two live ones, on a free list, its links (its
 * first two words) written over: the malloc that walks to it reports it,
 * and is served all the same. */
static void links_written(const uint32_t links[2])
{
    char *before = lm_malloc(BLOCK), *victim = lm_malloc(BLOCK), *after = lm_malloc(BLOCK);
    REQUIRE(before != NULL && victim != NULL && after != NULL);
    size_t usable = lm_usable_size(victim);
    lm_free(victim);
    tl_memcpy(victim, links, 2 * sizeof links[0]);
    char *again = lm_malloc(BLOCK);
    expect_misuse(LM_MISUSE_CORRUPTED, usable);
    REQUIRE(again != NULL);
    tl_fill_pattern(again, BLOCK, 3);
    CHECK_PATTERN(again, BLOCK, 3);
    lm_free(again);
    lm_free(before);
    lm_free(after);
    CHECK_EQ(lm_check(), 0);
}

static void test_links(void)
{
    static const uint32_t text[2] = { 0x62626262, 0x62626262 };   /* "bbbbbbbb" */
    static const uint32_t first_block[2] = { 1, 1 };
    links_written(text);
    links_written(first_block);
}

/* A free block's footer (its last word: its size) written over: the free
 * of the live block after it, which merges with it, reports it, finds the
 * free block by the chain instead, and merges all the same. */
static void test_footer(void)
{
    char *first = lm_malloc(BLOCK), *second = lm_malloc(BLOCK), *guard = lm_malloc(BLOCK);
    REQUIRE(first != NULL && second != NULL && guard != NULL);
    size_t usable = lm_usable_size(first);
    REQUIRE(second == first + usable + 8);
    lm_free(first);
    *(volatile uint32_t *)(second - 12) = 0x12345;   /* first's footer */
    lm_free(second);
    expect_misuse(LM_MISUSE_CORRUPTED, usable);
    lm_free(guard);
    CHECK_EQ(lm_check(), 0);
}

static void test_free_aligned_sized_alignment(void)
{
    char *p = lm_malloc(16);
    REQUIRE(p != NULL);
    tl_fill_pattern(p, 16, 5);
    lm_free_aligned_sized(p, 3, 16);
    expect_misuse(LM_MISUSE_WRONG_SIZE, 0);
    lm_free_aligned_sized(p, 0, 16);
    expect_misuse(LM_MISUSE_WRONG_SIZE, 0);
    CHECK_PATTERN(p, 16, 5);                          /* refused: still live */
    lm_free_aligned_sized(p, 16, 16);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
}

/* dealloc(p, 0) (the JS module's dealloc): no block comes from a zero
 * length, so a live block with it is a wrong length, refused. */
static void test_dealloc_zero(void)
{
    char *p = lm_malloc(20);
    REQUIRE(p != NULL);
    size_t usable = lm_usable_size(p);
    lm_dealloc(p, 0);
    expect_misuse(LM_MISUSE_WRONG_SIZE, usable);
    lm_dealloc(NULL, 0);                              /* what alloc(0) gave: nothing */
    lm_dealloc(p, 20);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
}

int main(void)
{
    tl_begin("hardening");
    lm_set_policy(LM_POLICY_CONTINUE);
    test_random();
    test_forged_header();
    test_links();
    test_footer();
    test_free_aligned_sized_alignment();
    test_dealloc_zero();
    return tl_finish();
}
