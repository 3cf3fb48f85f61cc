/* size_rounding — every size 0..8192 and a sample up to a few MiB: the
 * block or slot handed out is never smaller than asked, always aligned, all
 * its usable bytes are writable without touching a neighbour, and the
 * rounding waste stays within what the allocator's layout promises. */
#include "testlib.h"

/* The most usable bytes a request of n bytes may get, from lmalloc's
 * layout (src/lmalloc.c):
 *   - up to 128 bytes, a slot of the next multiple of 16 (0 takes 16);
 *   - up to LM_SMALL_MAX, a slot of the next size class, eight classes per
 *     doubling: it wastes under 1/8 of itself, so less than n/7;
 *   - above, a block of whole 16-byte granules holding an 8-byte header,
 *     where a split never leaves a piece of one granule, so such a tail
 *     stays attached: block <= round_up(n + 8, 16) + 16, usable = block - 8. */
#define SMALL_LIMIT 8192u
#define SLOT_MAX LM_SMALL_MAX

static size_t slack_limit(size_t n)
{
    if (n <= 128)
        return 16;
    if (n <= SLOT_MAX)
        return n / 7;
    return ((n + 8 + 15) & ~(size_t)15) + 16 - 8 - n;
}

/* Requests of up to 8 bytes take one 16-byte slot: a run of them from a
 * fresh span sits 16 bytes apart. Freeing every other one and then the
 * rest puts them back on their span's free list in two passes. */
#define TINY_COUNT 3000

static void check_tiny_blocks(void)
{
    static char *tiny[TINY_COUNT];
    size_t usable_sum = 0, adjacent = 0;
    for (size_t i = 0; i < TINY_COUNT; i++) {
        tiny[i] = lm_malloc(1 + i % 8);
        REQUIRE(tiny[i] != NULL);
        usable_sum += lm_usable_size(tiny[i]);
        adjacent += i && tiny[i] - tiny[i - 1] == 16;
        tl_fill_pattern(tiny[i], 1 + i % 8, i);
    }
    tl_printf("  %d tiny blocks: %zu usable bytes, %zu of them 16 bytes after the one before\n",
              TINY_COUNT, usable_sum, adjacent);
    CHECK(usable_sum == TINY_COUNT * 16);
    CHECK(adjacent >= TINY_COUNT * 9 / 10);
    for (size_t i = 0; i < TINY_COUNT; i += 2)
        lm_free(tiny[i]);
    CHECK_EQ(lm_check(), 0);
    for (size_t i = 1; i < TINY_COUNT; i += 2) {
        CHECK_PATTERN(tiny[i], 1 + i % 8, i);
        lm_free(tiny[i]);
    }
    CHECK_EQ(lm_check(), 0);
}

static size_t worst_slack;
static size_t worst_slack_size;

/* Allocates two blocks of `n` bytes side by side, fills each one's whole
 * usable size, and checks neither disturbed the other. */
static void check_size(size_t n, uint64_t id)
{
    char *a = lm_malloc(n);
    char *b = lm_malloc(n);
    if (a == NULL || b == NULL)
        tl_printf("  malloc(%zu) returned NULL\n", n);
    REQUIRE(a != NULL && b != NULL);
    CHECK(tl_is_aligned(a, LM_ALIGNMENT));
    CHECK(tl_is_aligned(b, LM_ALIGNMENT));
    size_t usable_a = lm_usable_size(a), usable_b = lm_usable_size(b);
    if (usable_a < n || usable_a - n > slack_limit(n))
        tl_printf("  malloc(%zu): usable size %zu\n", n, usable_a);
    CHECK(usable_a >= n);
    CHECK(usable_b >= n);
    CHECK(usable_a - n <= slack_limit(n));
    if (usable_a - n > worst_slack && n < SMALL_LIMIT) {
        worst_slack = usable_a - n;
        worst_slack_size = n;
    }
    CHECK((char *)a + usable_a <= b || (char *)b + usable_b <= a);
    tl_fill_pattern(a, usable_a, id);
    tl_fill_pattern(b, usable_b, id + 1);
    CHECK_PATTERN(a, usable_a, id);
    CHECK_PATTERN(b, usable_b, id + 1);
    /* calloc and aligned_alloc round the same way. */
    char *c = lm_calloc(1, n);
    REQUIRE(c != NULL);
    CHECK(lm_usable_size(c) >= n);
    CHECK(lm_usable_size(c) - n <= slack_limit(n));
    CHECK_EQ(tl_find_byte_mismatch(c, n, 0), TL_NO_MISMATCH);
    /* A 32-aligned slot is of the first class that is a multiple of 32:
     * at most one 16-byte step more. */
    char *d = lm_aligned_alloc(32, n);
    REQUIRE(d != NULL);
    CHECK(tl_is_aligned(d, 32));
    CHECK(lm_usable_size(d) >= n);
    CHECK(lm_usable_size(d) - n <= slack_limit(n) + (n <= SLOT_MAX ? 16 : 0));
    lm_free(d);
    lm_free(c);
    CHECK_PATTERN(a, usable_a, id);
    lm_free_sized(b, n);
    lm_free(a);
}

/* realloc to `n` (> 0: realloc to 0 frees) from a smaller and from a
 * larger block. */
static void check_realloc_size(size_t n)
{
    if (n == 0)
        return;
    char *p = lm_malloc(n / 2);
    REQUIRE(p != NULL);
    tl_fill_pattern(p, n / 2, n);
    p = lm_realloc(p, n);
    REQUIRE(p != NULL);
    CHECK(lm_usable_size(p) >= n);
    CHECK(tl_is_aligned(p, LM_ALIGNMENT));
    CHECK_PATTERN(p, n / 2, n);
    tl_fill_pattern(p, lm_usable_size(p), n + 1);
    lm_free(p);

    p = lm_malloc(n + 5000);
    REQUIRE(p != NULL);
    tl_fill_pattern(p, n, n + 2);
    p = lm_realloc(p, n);
    REQUIRE(p != NULL);
    CHECK(lm_usable_size(p) >= n);
    /* A block realloc shrinks keeps up to an eighth: room to grow again. */
    CHECK(lm_usable_size(p) - n <= (n <= SLOT_MAX ? slack_limit(n) : slack_limit(n) + n / 7));
    CHECK_PATTERN(p, n, n + 2);
    lm_free(p);
}

/* A vector grown 40 bytes at a time from 5000 to 100,000 bytes, with a
 * block after it each time it moves (so it cannot grow where it is), as a
 * program appends to a buffer: its bytes survive every call, it moves
 * about once per eighth it grows (26 moves: 1.125^26 is about 21), not at
 * every call, and free_sized takes the last length asked for. */
static void check_realloc_growth(void)
{
    enum { MOVES_MAX = 64 };
    size_t n = 5000;
    unsigned char *v = lm_malloc(n), *after[MOVES_MAX + 1];
    unsigned moves = 0;
    REQUIRE(v != NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 7);
    after[0] = lm_malloc(n + 4096);
    while (n < 100000 && moves < MOVES_MAX) {
        unsigned char *grown = lm_realloc(v, n + 40);
        REQUIRE(grown != NULL);
        if (grown != v)
            after[++moves] = lm_malloc(n + 4096);   /* larger than any hole left */
        v = grown;
        for (size_t i = n; i < n + 40; i++)
            v[i] = (unsigned char)(i * 7);
        n += 40;
    }
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += v[i] != (unsigned char)(i * 7);
    tl_printf("  a vector grown 40 bytes at a time to %zu bytes moved %u times\n", n, moves);
    CHECK_EQ(wrong, 0);
    CHECK(moves >= 2 && moves <= 32);
    uint64_t misuses = tl_stats().misuse_count;
    lm_free_sized(v, n);
    CHECK_EQ(tl_stats().misuse_count, misuses);
    for (unsigned i = 0; i <= moves; i++)
        lm_free(after[i]);
    CHECK_EQ(lm_check(), 0);
}

int main(int argc, char **argv)
{
    uint64_t seed = tl_arg_u64(argc, argv, "--seed", 20240601);
    tl_begin("size_rounding");
    tl_printf("  seed %llu\n", (unsigned long long)seed);
    uint64_t base_blocks = tl_stats().live_blocks;   /* the start code may own a few */
    check_realloc_growth();   /* first: with no free holes, each move lands past the last block */
    check_tiny_blocks();

    for (size_t n = 0; n <= SMALL_LIMIT; n++) {
        check_size(n, n * 2);
        if (n % 16 == 0 || n % 16 == 1 || n % 16 == 8 || n % 16 == 15)
            check_realloc_size(n);
        if (n % 1024 == 0)
            CHECK_EQ(lm_check(), 0);
    }
    tl_printf("  largest waste below %u bytes: %zu bytes (at %zu)\n", SMALL_LIMIT, worst_slack,
              worst_slack_size);

    /* Around every power of two up to 4 MiB, and random sizes between. */
    for (unsigned bits = 13; bits <= 22; bits++) {
        size_t power = (size_t)1 << bits;
        for (size_t delta = 0; delta <= 48; delta += 8) {
            check_size(power - delta, power - delta);
            check_size(power + delta, power + delta);
            check_size(power - delta - 1, power - delta - 1);
        }
        check_realloc_size(power + 1);
        CHECK_EQ(lm_check(), 0);
    }
    tl_rng rng;
    tl_rng_seed(&rng, seed);
    for (int i = 0; i < 150; i++) {
        size_t n = SMALL_LIMIT + (size_t)tl_rng_below(&rng, (size_t)4 << 20);
        check_size(n, (uint64_t)i * 7919);
        if (i % 10 == 0)
            check_realloc_size(n);
    }
    CHECK_EQ(tl_stats().live_blocks, base_blocks);
    return tl_finish();
}
