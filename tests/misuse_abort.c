/* misuse_abort — under the default policy (LM_POLICY_ABORT) one misuse
 * prints its report line and stops the program.
 *
 *   misuse_abort --case NAME
 *
 * Each case is its own test in tests/CMakeLists.txt, registered with
 * EXPECT_ABORT and a regex for the exact report line. If the allocator
 * carries on instead, this program says so and exits 0, which fails the
 * test. (Nothing printed here looks like a report line, so only the
 * allocator's own line can match.)
 */
#include "testlib.h"

static _Alignas(16) char static_bytes[64];

/* A 64-byte request gets a 64-byte slot, 256 gets 256 and 1000 gets 1024,
 * on every target: the regexes in CMakeLists.txt rely on it. */
static char *block_between_guards(size_t size)
{
    char *before = lm_malloc(48);
    char *block = lm_malloc(size);
    char *after = lm_malloc(48);
    REQUIRE(before != NULL && block != NULL && after != NULL);
    tl_memset(block, 0x11, size);
    return block;
}

static char *above_heap_end(void)
{
    char *probe = block_between_guards(64);
    uintptr_t end = (uintptr_t)probe + (uintptr_t)tl_stats().footprint + (1u << 20);
    return (char *)(end & ~(uintptr_t)15);
}

int main(int argc, char **argv)
{
    const char *name = tl_arg_str(argc, argv, "--case");
    tl_begin("misuse_abort");
    if (name == NULL) {
        tl_printf("usage: misuse_abort --case NAME\n");
        return 2;
    }
    tl_printf("  case %s\n", name);
    char stack_bytes[64] __attribute__((aligned(16)));
    stack_bytes[0] = 0;

    if (tl_streq(name, "double-free")) {
        char *p = block_between_guards(64);
        lm_free(p);
        lm_free(p);
    } else if (tl_streq(name, "double-free-sized")) {
        char *p = block_between_guards(64);
        lm_free_sized(p, 64);
        lm_free_sized(p, 64);
    } else if (tl_streq(name, "double-free-large")) {
        char *p = block_between_guards(200000);
        lm_free(p);
        lm_free(p);
    } else if (tl_streq(name, "realloc-freed")) {
        char *p = block_between_guards(64);
        lm_free(p);
        (void)lm_realloc(p, 100);
    } else if (tl_streq(name, "usable-size-freed")) {
        char *p = block_between_guards(64);
        lm_free(p);
        (void)lm_usable_size(p);
    } else if (tl_streq(name, "free-static")) {
        (void)block_between_guards(64);
        lm_free(static_bytes);
    } else if (tl_streq(name, "free-stack")) {
        (void)block_between_guards(64);
        lm_free(stack_bytes);
    } else if (tl_streq(name, "free-above-heap")) {
        lm_free(above_heap_end());
    } else if (tl_streq(name, "realloc-not-in-heap")) {
        (void)block_between_guards(64);
        (void)lm_realloc(static_bytes, 100);
    } else if (tl_streq(name, "usable-size-not-in-heap")) {
        (void)lm_usable_size(above_heap_end());
    } else if (tl_streq(name, "free-sized-not-in-heap")) {
        (void)block_between_guards(64);
        lm_free_sized(stack_bytes, 64);
    } else if (tl_streq(name, "free-interior")) {
        char *p = block_between_guards(256);
        lm_free(p + 32);
    } else if (tl_streq(name, "realloc-interior")) {
        char *p = block_between_guards(256);
        (void)lm_realloc(p + 16, 10);
    } else if (tl_streq(name, "free-misaligned")) {
        char *p = block_between_guards(256);
        lm_free(p + 8);
    } else if (tl_streq(name, "free-misaligned-odd")) {
        char *p = block_between_guards(256);
        lm_free(p + 1);
    } else if (tl_streq(name, "free-sized-larger")) {
        char *p = block_between_guards(1000);
        lm_free_sized(p, 4000);
    } else if (tl_streq(name, "free-sized-smaller")) {
        char *p = block_between_guards(1000);
        lm_free_sized(p, 10);
    } else if (tl_streq(name, "corrupted-header")) {
        /* Blocks above LM_SMALL_MAX carry a header; a fresh heap puts two in a row. */
        char *writer = lm_malloc(LM_SMALL_MAX + 1000);
        char *damaged = lm_malloc(LM_SMALL_MAX + 1000);
        REQUIRE(writer != NULL && damaged != NULL);
        size_t usable = lm_usable_size(writer);
        REQUIRE(damaged > writer && damaged - (writer + usable) <= 16);
        tl_memset(writer + usable, 0xab, 16);
        lm_free(damaged);
    } else if (tl_streq(name, "written-after-free")) {
        char *p = block_between_guards(64);
        lm_free(p);
        tl_memset(p, 0xff, 8);            /* over the freed slot's link */
        (void)lm_malloc(64);              /* pops p: its link and check disagree */
    } else {
        tl_printf("error: unknown --case '%s'\n", name);
        return 2;
    }
    tl_printf("FAIL misuse_abort: case %s: the allocator carried on instead of stopping\n", name);
    return 0;
}
