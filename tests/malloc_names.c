/* malloc_names — the standard names (targets/malloc/malloc.c) are lmalloc:
 * every block they hand out is an lmalloc block, each name keeps its C/POSIX
 * contract (zeroing, content across realloc, alignment, NULL and errno on
 * failure, EINVAL for a bad alignment; reallocarray, and natively glibc's
 * valloc and pvalloc), C23 free_sized/free_aligned_sized
 * check the length, and misuse through these names is reported as through
 * the lm_ functions.
 *
 * Linked with the lmalloc_malloc library, so on native this malloc serves
 * the whole process (libc's own calls included). Built -fno-builtin: the
 * compiler must not fold a malloc it knows into something else.
 */
#include "testlib.h"

#if __has_include(<errno.h>)
#include <errno.h>
#define ERRNO_IS(code) CHECK_EQ(errno, code)
#define ERRNO_CLEAR() (errno = 0)
#else
#define ERRNO_IS(code) ((void)0)    /* freestanding wasm: no errno */
#define ERRNO_CLEAR() ((void)0)
#define ENOMEM 12
#define EINVAL 22
#endif

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
void *memalign(size_t alignment, size_t size);
int posix_memalign(void **out, size_t alignment, size_t size);
size_t malloc_usable_size(void *ptr);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
void *reallocarray(void *ptr, size_t count, size_t size);
#if defined(__linux__)
void *valloc(size_t size);
void *pvalloc(size_t size);
#define PAGE_BYTES 4096
#endif

static uint64_t live_blocks(void)
{
    lm_stats_t stats;
    lm_stats(&stats);
    return stats.live_blocks;
}

static void check_contract(void)
{
    uint64_t live_before = live_blocks();

    /* malloc: an lmalloc block, 16-byte aligned, at least what was asked. */
    char *text = malloc(100);
    REQUIRE(text != NULL);
    CHECK((uintptr_t)text % LM_ALIGNMENT == 0);
    CHECK(malloc_usable_size(text) >= 100);
    CHECK_EQ(malloc_usable_size(text), lm_usable_size(text));
    CHECK_EQ(live_blocks(), live_before + 1);
    tl_fill_pattern(text, 100, 1);

    /* realloc keeps the contents, growing and shrinking. */
    text = realloc(text, 5000);
    REQUIRE(text != NULL);
    CHECK_PATTERN(text, 100, 1);
    text = realloc(text, 40);
    REQUIRE(text != NULL);
    CHECK_PATTERN(text, 40, 1);
    /* realloc(ptr, 0) frees and returns NULL; realloc(NULL, n) allocates. */
    CHECK(realloc(text, 0) == NULL);
    CHECK_EQ(live_blocks(), live_before);
    char *fresh = realloc(NULL, 24);
    REQUIRE(fresh != NULL);
    free(fresh);
    free(NULL);

    /* calloc zeroes, also memory that held a pattern before. */
    unsigned char *dirty = malloc(4096);
    REQUIRE(dirty != NULL);
    tl_memset(dirty, 0xAB, 4096);
    free(dirty);
    unsigned char *zeroed = calloc(64, 64);
    REQUIRE(zeroed != NULL);
    for (size_t i = 0; i < 4096; i++)
        if (zeroed[i] != 0) { CHECK_EQ(zeroed[i], 0); break; }
    free(zeroed);

    /* Alignment: aligned_alloc, memalign and posix_memalign up to 64 KiB. */
    for (size_t alignment = 1; alignment <= 65536; alignment *= 4) {
        void *a = aligned_alloc(alignment, 3 * alignment);
        void *m = memalign(alignment, 100);
        void *small = aligned_alloc(alignment, 16);    /* far smaller than its alignment */
        void *p = NULL;
        size_t posix_alignment = alignment < sizeof(void *) ? sizeof(void *) : alignment;
        CHECK_EQ(posix_memalign(&p, posix_alignment, 200), 0);
        REQUIRE(a != NULL && m != NULL && small != NULL && p != NULL);
        CHECK((uintptr_t)a % alignment == 0);
        CHECK((uintptr_t)small % alignment == 0);
        CHECK((uintptr_t)m % alignment == 0);
        CHECK((uintptr_t)p % posix_alignment == 0);
        CHECK(lm_usable_size(a) >= 3 * alignment);
        tl_fill_pattern(a, 3 * alignment, 2);
        CHECK_PATTERN(a, 3 * alignment, 2);
        free_aligned_sized(a, alignment, 3 * alignment);
        free_aligned_sized(small, alignment, 16);
        free(m);
        free(p);
    }
    CHECK_EQ(live_blocks(), live_before);

    /* reallocarray: realloc of count * size, keeping the contents. */
    unsigned char *array = reallocarray(NULL, 10, 8);
    REQUIRE(array != NULL);
    tl_fill_pattern(array, 80, 4);
    array = reallocarray(array, 100, 8);
    REQUIRE(array != NULL);
    CHECK_PATTERN(array, 80, 4);
    free(array);
#if defined(__linux__)
    /* glibc's page-aligned names: valloc, and pvalloc rounding up to pages. */
    void *page = valloc(100), *pages = pvalloc(PAGE_BYTES + 1);
    REQUIRE(page != NULL && pages != NULL);
    CHECK((uintptr_t)page % PAGE_BYTES == 0);
    CHECK((uintptr_t)pages % PAGE_BYTES == 0);
    CHECK(lm_usable_size(pages) >= 2 * PAGE_BYTES);
    free(page);
    free(pages);
#endif
    CHECK_EQ(live_blocks(), live_before);

    /* C23 sized frees, with the length asked for. */
    void *sized = malloc(300);
    REQUIRE(sized != NULL);
    free_sized(sized, 300);
    sized = calloc(10, 30);
    REQUIRE(sized != NULL);
    free_sized(sized, 300);
    CHECK_EQ(live_blocks(), live_before);
}

static void check_failures(void)
{
    lm_stats_t before, after;
    lm_stats(&before);
    volatile size_t huge = (size_t)-1 - 65536;   /* more than any heap holds */

    ERRNO_CLEAR();
    CHECK(malloc(huge) == NULL);
    ERRNO_IS(ENOMEM);
    ERRNO_CLEAR();
    CHECK(calloc(huge, 4) == NULL);
    ERRNO_IS(ENOMEM);
    ERRNO_CLEAR();
    CHECK(reallocarray(NULL, huge, 4) == NULL);   /* count * size overflows */
    ERRNO_IS(ENOMEM);
    void *block = malloc(64);
    REQUIRE(block != NULL);
    tl_fill_pattern(block, 64, 3);
    ERRNO_CLEAR();
    CHECK(realloc(block, huge) == NULL);
    ERRNO_IS(ENOMEM);
    CHECK_PATTERN(block, 64, 3);              /* a failed realloc keeps the block */
    free(block);
    ERRNO_CLEAR();
    CHECK(aligned_alloc(48, 64) == NULL);     /* not a power of two */
    ERRNO_IS(EINVAL);
    void *untouched = (void *)&before;
    CHECK_EQ(posix_memalign(&untouched, 48, 64), EINVAL);
    CHECK_EQ(posix_memalign(&untouched, sizeof(void *) / 2, 64), EINVAL);
    CHECK_EQ(posix_memalign(&untouched, 64, huge), ENOMEM);
    CHECK(untouched == (void *)&before);      /* left alone on failure */

    lm_stats(&after);
    CHECK(after.failed_allocs > before.failed_allocs);
    CHECK_EQ(after.live_blocks, before.live_blocks);
}

/* Under LM_POLICY_CONTINUE misuse through the standard names is reported
 * with the same kinds as through lm_free and refused; the abort tests
 * (malloc_names_abort_*) check the lines themselves. */
static void check_misuse(void)
{
    lm_set_policy(LM_POLICY_CONTINUE);
    lm_misuse misuse;
    lm_stats_t before, after;
    lm_stats(&before);

    char *block = malloc(64);
    REQUIRE(block != NULL);
    free(block);
    free(block);
    lm_last_misuse(&misuse);
    CHECK_EQ(misuse.kind, LM_MISUSE_DOUBLE_FREE);
    CHECK_EQ(misuse.ptr, (uintptr_t)block);

    char *live = malloc(1000);
    REQUIRE(live != NULL);
    free(live + 16);
    lm_last_misuse(&misuse);
    CHECK_EQ(misuse.kind, LM_MISUSE_NOT_A_BLOCK);
    CHECK(realloc(live + 16, 10) == NULL);
    lm_last_misuse(&misuse);
    CHECK_EQ(misuse.kind, LM_MISUSE_NOT_A_BLOCK);
    free_sized(live, 4000);
    lm_last_misuse(&misuse);
    CHECK_EQ(misuse.kind, LM_MISUSE_WRONG_SIZE);
    static char not_heap[32];
    free(not_heap + 16);
    lm_last_misuse(&misuse);
    CHECK_EQ(misuse.kind, LM_MISUSE_NOT_IN_HEAP);
    free(live);

    lm_stats(&after);
    CHECK_EQ(after.misuse_count, before.misuse_count + 5);
    lm_set_policy(LM_POLICY_ABORT);
}

/* --case double-free|interior|wrong-size: one misuse under the default
 * policy, which must stop the program with lmalloc's line. */
static void misuse_abort(const char *name)
{
    char *block = malloc(64);
    char *large = malloc(1000);
    REQUIRE(block != NULL && large != NULL);
    if (tl_streq(name, "double-free")) {
        free(block);
        free(block);
    } else if (tl_streq(name, "interior")) {
        free(large + 32);
    } else if (tl_streq(name, "wrong-size")) {
        free_sized(large, 4000);
    } else {
        tl_eprintf("malloc_names: unknown --case %s\n", name);
        lm_host_exit(2);
    }
    tl_eprintf("malloc_names: the misuse was not stopped\n");
    lm_host_exit(1);
}

int main(int argc, char **argv)
{
    tl_begin("malloc_names");
    const char *abort_case = tl_arg_str(argc, argv, "--case");
    if (abort_case)
        misuse_abort(abort_case);
    check_contract();
    check_failures();
    check_misuse();
    return tl_finish();
}
