/* grown_zero — memory fresh from the target reads as zero, and calloc is
 * right whether or not it relies on that.
 *
 * Where the build declares LM_GROWN_MEMORY_ZEROED=1 (wasm memory.grow,
 * fresh mmap pages) the allocator may skip clearing such memory in calloc;
 * this test proves the claim by reading a large block carved from newly
 * grown memory with plain malloc. Whatever the flag, calloc must return
 * zeros, also when its block straddles dirty freed memory and fresh
 * memory, or reuses memory a realloc grew into and gave back.
 */
#include "testlib.h"

#if !defined(LM_GROWN_MEMORY_ZEROED)
#error "LM_GROWN_MEMORY_ZEROED must come from the build (the lmalloc target exports it)"
#endif

static void expect_zero(const char *what, const unsigned char *p, size_t from, size_t len)
{
    size_t bad = tl_find_byte_mismatch(p + from, len - from, 0);
    if (bad != TL_NO_MISMATCH)
        tl_printf("  %s: %p + %zu of %zu bytes is 0x%x, not zero\n", what, (const void *)p,
                  from + bad, len, (unsigned)p[from + bad]);
    CHECK_EQ(bad, TL_NO_MISMATCH);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tl_begin("grown_zero");
    tl_printf("  LM_GROWN_MEMORY_ZEROED=%d\n", LM_GROWN_MEMORY_ZEROED);

    /* The very first allocation: the target's initial region. */
    unsigned char *first = lm_calloc(1, 100000);
    REQUIRE(first != NULL);
    expect_zero("first calloc", first, 0, 100000);

    /* A block bigger than the whole heap so far must come from new memory. */
    lm_stats_t before = tl_stats();
    size_t fresh_size = (size_t)before.footprint + (8u << 20);
    unsigned char *fresh = lm_malloc(fresh_size);
    REQUIRE(fresh != NULL);
    lm_stats_t after = tl_stats();
    CHECK(after.grow_calls > before.grow_calls);
    CHECK(after.footprint >= before.footprint + (8u << 20));
#if LM_GROWN_MEMORY_ZEROED
    /* The claim itself: nobody has written to this memory, so it is zero.
     * (Only the part past the old footprint is known to be new: the heap
     * keeps its page map at its end, which becomes part of the block.) */
    expect_zero("fresh malloc from grown memory", fresh, (size_t)before.footprint, fresh_size);
#endif

    /* Dirty it, give it back, and calloc a block bigger still: it starts
     * in the dirty memory and runs on into memory grown just now. */
    tl_memset(fresh, 0xff, fresh_size);
    lm_free(fresh);
    lm_free(first);
    size_t straddle_size = fresh_size + (4u << 20);
    unsigned char *straddle = lm_calloc(straddle_size / 16, 16);
    REQUIRE(straddle != NULL);
    expect_zero("calloc over dirty and fresh memory", straddle, 0, straddle_size);
    tl_memset(straddle, 0xee, straddle_size);
    lm_free(straddle);

    /* realloc grows a block in place over free space, the bytes are
     * dirtied, and a shrink gives them back: calloc must clear them. */
    unsigned char *grower = lm_malloc(100);
    REQUIRE(grower != NULL);
    unsigned char *grown = lm_realloc(grower, 3u << 20);
    REQUIRE(grown != NULL);
    tl_memset(grown, 0xdd, 3u << 20);
    grown = lm_realloc(grown, 100);
    REQUIRE(grown != NULL);
    unsigned char *after_shrink = lm_calloc(1, 2u << 20);
    REQUIRE(after_shrink != NULL);
    expect_zero("calloc after a realloc shrink", after_shrink, 0, 2u << 20);
    lm_free(after_shrink);
    lm_free(grown);

    /* Many sizes over memory that is dirty everywhere by now. */
    for (size_t size = 1; size <= (6u << 20); size = size * 3 + 7) {
        unsigned char *dirty = lm_malloc(size);
        REQUIRE(dirty != NULL);
        tl_memset(dirty, 0xcc, size);
        lm_free(dirty);
        unsigned char *clean = lm_calloc(size, 1);
        REQUIRE(clean != NULL);
        expect_zero("calloc after a dirty free", clean, 0, size);
        lm_free(clean);
    }

    /* And fresh growth again, after all that. */
#if LM_GROWN_MEMORY_ZEROED
    lm_stats_t now = tl_stats();
    size_t beyond = (size_t)now.footprint + (4u << 20);
    unsigned char *fresh_again = lm_malloc(beyond);
    REQUIRE(fresh_again != NULL);
    /* Only the part past the old footprint is known to be new. */
    expect_zero("fresh malloc, second growth", fresh_again, (size_t)now.footprint, beyond);
    lm_free(fresh_again);
#endif
    return tl_finish();
}
