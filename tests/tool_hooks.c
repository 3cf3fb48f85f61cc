/* tool_hooks — lmalloc built with LM_TOOL_HOOKS (library lmalloc_tools)
 * in a program built with AddressSanitizer (preset native-asan), or run
 * under valgrind memcheck: the tool sees lmalloc's blocks.
 *   tool_hooks --case sound        every call used rightly: the tool says nothing
 *   tool_hooks --case read-freed   a read of a freed slot: ASan stops it
 *   tool_hooks --case freed-block  a write into a freed large block
 *   tool_hooks --case header       a write past a block, over the next
 *                                  block's header (ASan only: memcheck
 *                                  keeps headers accessible)
 */
#include "testlib.h"

static void sound(void)
{
    tl_rng rng;
    tl_rng_seed(&rng, 3);
    char *blocks[64] = { 0 };
    size_t sizes[64] = { 0 };
    for (unsigned op = 0; op < 20000; op++) {
        unsigned i = (unsigned)tl_rng_below(&rng, 64);
        size_t size = tl_rng_log_uniform(&rng, 18);
        switch (tl_rng_below(&rng, 4)) {
        case 0:
            lm_free(blocks[i]);
            blocks[i] = lm_malloc(size);
            break;
        case 1:
            lm_free(blocks[i]);
            blocks[i] = lm_calloc(1, size);
            break;
        case 2:
            blocks[i] = lm_realloc(blocks[i], size);
            break;
        default:
            lm_free(blocks[i]);
            blocks[i] = lm_aligned_alloc((size_t)64 << tl_rng_below(&rng, 8), size);
            break;
        }
        REQUIRE(blocks[i] != NULL || size == 0);
        sizes[i] = blocks[i] ? lm_usable_size(blocks[i]) : 0;
        if (blocks[i])
            tl_memset(blocks[i], (int)i, sizes[i]);     /* every usable byte is the program's */
    }
    for (unsigned i = 0; i < 64; i++)
        lm_free_sized(blocks[i], sizes[i] ? sizes[i] : 0);
    CHECK_EQ(lm_check(), 0);
    tl_printf("tool_hooks: sound: every call used rightly\n");
}

int main(int argc, char **argv)
{
    const char *name = tl_arg_str(argc, argv, "--case");
    tl_begin("tool_hooks");
    if (name == NULL || tl_streq(name, "sound")) {
        sound();
    } else if (tl_streq(name, "read-freed")) {
        volatile char *p = lm_malloc(64);
        lm_free((void *)p);
        tl_printf("read %d\n", p[10]);
    } else if (tl_streq(name, "freed-block")) {
        char *keep = lm_malloc(100000);
        volatile char *p = lm_malloc(100000);
        char *after = lm_malloc(100000);
        lm_free((void *)p);
        p[50000] = 1;
        lm_free(keep);
        lm_free(after);
    } else if (tl_streq(name, "header")) {
        char *p = lm_malloc(100000);
        char *q = lm_malloc(100000);
        ((volatile char *)p)[lm_usable_size(p)] = 1;    /* q's header */
        lm_free(p);
        lm_free(q);
    }
    return tl_finish();
}
