/* corruption — the heap corruption corpus: one program, one case per run.
 *
 *   corruption --case NAME     run one case
 *   corruption --list          print every case name, one a line
 *
 * Each case is a short program in the shape of hardened_malloc's
 * test/simple-memory-corruption (double frees, invalid frees, writes and
 * reads after free, overflows, wrong lengths, impossible sizes, and correct
 * uses that must not be reported), written for linear memory and run under
 * the default policy (LM_POLICY_ABORT) through the lm_* API. A case either
 * stops with lmalloc's report line (the allocator caught it), or carries on:
 * it then goes on using the heap a little (allocates and frees a few blocks
 * of the case's size, where damage found late shows), and ends with
 *
 *   corruption: carried on: [<what it observed>; ]lm_check() = N
 *
 * Nothing this program prints starts with "lmalloc: ", so a report line can
 * only be the allocator's. What each case must do on each target and in
 * each build is written in tests/corruption/expectations.json and checked
 * by tests/corruption/run.mjs.
 */
#ifdef __wasm__
#define WASM_PAGE 65536u
#else
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include <sys/mman.h>
#endif

#include "../testlib.h"

#define SMALL 16u                  /* a small request: a slot, no header */
#define LARGE (128u * 1024)        /* a large request: a block with a header */
#define CARRY_ON_BLOCKS 4

/* ---- helpers ------------------------------------------------------------- */

static char *take(size_t size)
{
    char *p = lm_malloc(size);
    REQUIRE(p != NULL);
    tl_memset(p, 'a', size);
    return p;
}

/* Does q start right after p's usable bytes? Between them lie at most a
 * header (blocks), and in the secure build p's canary and stored length. */
static int neighbours(const char *p, const char *q)
{
    return q > p && (size_t)(q - (p + lm_usable_size(p))) <= 32;
}

/* Two live blocks of `size`, the second right after the first's usable
 * bytes (slots of one span; blocks on the chain, header between). Where
 * memory grew, the page map may lie between the first two: a few more
 * tries. */
static char *take_with_neighbour(size_t size, char **neighbour)
{
    char *p = take(size);
    char *q = take(size);
    for (int tries = 0; !neighbours(p, q) && tries < 4; tries++) {
        p = q;
        q = take(size);
    }
    if (!neighbours(p, q))
        tl_printf("  %p and %p are not neighbours: the layout changed?\n", (void *)p, (void *)q);
    REQUIRE(neighbours(p, q));
    *neighbour = q;
    return p;
}

/* A large block that ends where the heap's unused end starts: nothing
 * follows it, not even a header. */
static char *take_at_end(size_t size)
{
    for (int tries = 0;; tries++) {
        char *p = take(size);
        char *probe = lm_malloc(SMALL + LM_SMALL_MAX);   /* a block: comes from the unused end */
        REQUIRE(probe != NULL);
        int at_end = neighbours(p, probe);
        lm_free(probe);                                   /* back into the unused end */
        if (at_end)
            return p;
        if (tries == 4)
            tl_printf("  %p is not followed by the unused end: the layout changed?\n", (void *)p);
        REQUIRE(tries < 4);
    }
}

static void flip(char *byte) { *(volatile char *)byte ^= 1; }

/* How many of p's `len` bytes still equal `value`. */
static size_t count_bytes(const char *p, size_t len, char value)
{
    size_t same = 0;
    for (size_t i = 0; i < len; i++)
        same += ((const volatile char *)p)[i] == value;
    return same;
}

/* Bytes equal to value, counted only in whole 8-byte words of it: what a
 * freed block's contents left. A byte of keyed metadata (random per run)
 * matches a one-byte pattern 1 time in 256; a whole word, 1 in 2^64. */
static size_t count_left(const char *p, size_t len, char value)
{
    size_t same = 0;
    for (size_t at = 0; at + 8 <= len; at += 8)
        same += count_bytes(p + at, 8, value) == 8 ? 8 : 0;
    return same;
}

static void observe(const char *what, size_t count, size_t of)
{
    tl_printf("corruption: observed: %s: %zu of %zu\n", what, count, of);
}

static _Alignas(16) char static_bytes[64];

/* A pointer past the heap's end: the heap starts at or below any block and
 * is footprint bytes long. */
static char *above_heap_end(void)
{
    char *probe = take(SMALL);
    uintptr_t end = (uintptr_t)probe + (uintptr_t)tl_stats().footprint + (1u << 20);
    return (char *)(end & ~(uintptr_t)15);
}

/* Memory that is not lmalloc's, as another party in the process would hold
 * it. Natively a fresh mapping, readable and writable or not accessible at
 * all (`protected`). Linear memory has no protection: pages the program
 * grows itself, past lmalloc's end, or (`protected`) between two of
 * lmalloc's growths, inside the range lmalloc manages, which it fences off. */
static char *foreign_memory(int protected)
{
#ifdef __wasm__
    (void)take(SMALL);                              /* the heap exists first */
    size_t page = __builtin_wasm_memory_grow(0, 1);
    REQUIRE(page != (size_t)-1);
    char *foreign = (char *)(page * WASM_PAGE);
    if (protected) {
        char *after = take(4u << 20);                 /* lmalloc grows past the page */
        REQUIRE(after > foreign);
    }
    return foreign + WASM_PAGE / 2;
#else
    size_t bytes = 16 * 4096;
    char *mapping = mmap(NULL, bytes, protected ? PROT_NONE : PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapping != MAP_FAILED);
    return mapping + bytes / 2;
#endif
}

/* The first slot of a span whose later slots were never handed out (new
 * spans put their slots on the free list a batch at a time): 16-byte slots
 * (32 in the secure build) until a new span starts after 48 KiB of them,
 * whose span is then big. *step is the slot size. */
static char *slot_before_untouched_slots(size_t *step)
{
    char *previous = take(SMALL);
    char *second = take(SMALL);
    *step = (size_t)(second - previous);
    previous = second;
    for (unsigned count = 2;; count++) {
        char *p = take(SMALL);
        if (count > 3000 && p != previous + *step)
            return p;
        REQUIRE(count < 100000);
        previous = p;
    }
}

/* ---- double free --------------------------------------------------------- */

static void double_free(size_t size)
{
    char *p = take(size);
    lm_free(p);
    lm_free(p);
}
static void double_free_small(void) { double_free(SMALL); }
static void double_free_large(void) { double_free(LARGE); }

static void double_free_delayed(size_t size)
{
    char *p = take(size);
    char *q = take(size);
    lm_free(p);
    lm_free(q);
    lm_free(p);
}
static void double_free_small_delayed(void) { double_free_delayed(SMALL); }
static void double_free_large_delayed(void) { double_free_delayed(LARGE); }

/* Freed, then a hundred other frees, then freed again. */
static void double_free_small_extended_delayed(void)
{
    char *p = take(SMALL);
    char *others[100];
    for (int i = 0; i < 100; i++)
        others[i] = take(SMALL);
    lm_free(p);
    for (int i = 0; i < 100; i++)
        lm_free(others[i]);
    lm_free(p);
}

static void double_free_sized(void)
{
    char *p = take(64);
    lm_free_sized(p, 64);
    lm_free_sized(p, 64);
}

/* Freed, handed out again at the same address, freed through the old copy
 * (as when both a `finally` and an error path free one pointer). */
static void double_free_stale(size_t size)
{
    char *p = take(size);
    lm_free(p);
    char *q = take(size);
    tl_printf("  the block came back %s\n", q == p ? "at the same address" : "elsewhere");
    lm_free(p);
}
static void double_free_stale_small(void) { double_free_stale(64); }
static void double_free_stale_large(void) { double_free_stale(LARGE); }

/* A class's first span filled and emptied while a second one is current:
 * the first stays, idle. */
static void span_idle(size_t size)
{
    char *blocks[1024 / SMALL + 1];
    size_t slots = (1024 + size - 1) / size;        /* a first span holds 1 KiB of slots */
    for (size_t i = 0; i <= slots; i++)
        blocks[i] = take(size);
    for (size_t i = 0; i < slots; i++)
        lm_free(blocks[i]);
}

/* The block's span was idle once and served again; it empties again when
 * the heap already keeps 31 more idle spans (one per class up to 1 KiB). */
static void double_free_after_idle(void)
{
    char *p = take(LM_SMALL_MAX);                   /* a span of one 4 KiB slot */
    (void)take(LM_SMALL_MAX);                       /* another: p's span is not current */
    lm_free(p);                                     /* p's span is idle */
    if (take(LM_SMALL_MAX) != p)                    /* and serves again (not in the secure build) */
        tl_printf("  the block came back elsewhere\n");
    (void)take(LM_SMALL_MAX);                       /* a third span is current */
    for (size_t size = SMALL, classes = 0; classes < 31; size += SMALL) {
        unsigned step = size <= 256 ? 16 : size <= 512 ? 32 : 64;   /* class sizes */
        if (size % step == 0) {
            span_idle(size);
            classes++;
        }
    }
    lm_free(p);
    lm_free(p);
}

/* C23 made realloc(p, 0) undefined; lmalloc frees p and returns NULL. */
static void double_free_after_realloc_zero(void)
{
    char *p = take(SMALL);
    REQUIRE(lm_realloc(p, 0) == NULL);
    lm_free(p);
}

static void realloc_freed(void)
{
    char *p = take(64);
    lm_free(p);
    (void)lm_realloc(p, 100);
}

static void usable_size_freed(void)
{
    char *p = take(SMALL);
    lm_free(p);
    (void)lm_usable_size(p);
}

/* ---- invalid pointers ---------------------------------------------------- */

static void free_unaligned_small(void) { lm_free(take(SMALL) + 1); }
static void free_unaligned_large(void) { lm_free(take(LARGE) + 1); }
static void free_misaligned_8(void) { lm_free(take(256) + 8); }
static void usable_size_unaligned(void) { (void)lm_usable_size(take(SMALL) + 1); }
static void free_interior_small(void) { lm_free(take(256) + 32); }
static void free_interior_large(void) { lm_free(take(LARGE) + 4096); }
static void realloc_interior(void) { (void)lm_realloc(take(256) + 16, 10); }
static void free_small_region(void) { lm_free(take(SMALL) + 4096 * 4); }
static void usable_size_small_region(void) { (void)lm_usable_size(take(SMALL) + 4096 * 4); }
static void free_small_region_far(void) { lm_free(take(SMALL) + (1u << 30)); }
static void free_never_handed_out(void)
{
    size_t step;
    char *slot = slot_before_untouched_slots(&step);
    lm_free(slot + 300 * step);
}

static void free_static(void)
{
    (void)take(SMALL);
    lm_free(static_bytes);
}

static void free_stack(void)
{
    _Alignas(16) char stack_bytes[64];
    stack_bytes[0] = 0;
    (void)take(SMALL);
    lm_free(stack_bytes);
}

static void free_above_heap(void) { lm_free(above_heap_end()); }
static void free_protected_memory(void) { lm_free(foreign_memory(1)); }
static void free_unprotected_memory(void) { lm_free(foreign_memory(0)); }
static void free_uninitialized(void) { lm_free((void *)1); }
static void realloc_uninitialized(void) { (void)lm_realloc((void *)1, SMALL); }
static void usable_size_uninitialized(void) { (void)lm_usable_size((void *)1); }

static void realloc_not_in_heap(void)
{
    (void)take(SMALL);
    (void)lm_realloc(static_bytes, 100);
}

static void usable_size_not_in_heap(void) { (void)lm_usable_size(above_heap_end()); }

static void free_sized_not_in_heap(void)
{
    _Alignas(16) char stack_bytes[64];
    stack_bytes[0] = 0;
    (void)take(SMALL);
    lm_free_sized(stack_bytes, 64);
}

/* ---- wrong lengths ------------------------------------------------------- */

static void free_sized_larger(void) { lm_free_sized(take(1000), 4000); }
static void free_sized_smaller(void) { lm_free_sized(take(1000), 10); }
static void free_sized_zero(void) { lm_free_sized(take(SMALL), 0); }

/* C++ `delete` of a 32-byte type through a pointer to a 1-byte object. */
static void sized_delete_type_mismatch(void) { lm_free_sized(take(1), 32); }

/* C23: free_aligned_sized's alignment must be one aligned_alloc accepts. */
static void free_aligned_sized_bad_alignment(void) { lm_free_aligned_sized(take(SMALL), 3, SMALL); }

static void sized_delete_10_short(void) { lm_free_sized(take(16384), 16384 - 10); }

static void aligned_sized_delete_10_short(void)
{
    char *p = lm_aligned_alloc(8192, 9000);
    REQUIRE(p != NULL);
    lm_free_aligned_sized(p, 8192, 9000 - 10);
}

/* ---- correct use: must not be reported ----------------------------------- */

static void free_sized_small_control(void) { lm_free_sized(take(100), 100); }
static void free_sized_large_control(void) { lm_free_sized(take(LARGE), LARGE); }

static void aligned_sized_delete_control(size_t alignment, size_t size)
{
    char *p = lm_aligned_alloc(alignment, size);
    REQUIRE(p != NULL && tl_is_aligned(p, alignment));
    lm_free_aligned_sized(p, alignment, size);
}
static void aligned_sized_delete_small_control(void) { aligned_sized_delete_control(64, SMALL); }
static void aligned_sized_delete_large_control(void) { aligned_sized_delete_control(8192, 9000); }

static void impossibly_large_malloc(void)
{
    if (lm_malloc(SIZE_MAX - 7) == NULL)
        tl_printf("corruption: observed: malloc(SIZE_MAX - 7) returned NULL\n");
}

static void impossibly_large_realloc(void)
{
    char *p = take(SMALL);
    if (lm_realloc(p, SIZE_MAX - 7) == NULL && count_bytes(p, SMALL, 'a') == SMALL)
        tl_printf("corruption: observed: realloc(p, SIZE_MAX - 7) returned NULL and kept p\n");
    lm_free(p);
}

static void calloc_overflow(void)
{
    if (lm_calloc(SIZE_MAX / 2 + 1, 2) == NULL)
        tl_printf("corruption: observed: calloc(SIZE_MAX / 2 + 1, 2) returned NULL\n");
}

static void malloc_zero_different(void)
{
    char *p = lm_malloc(0), *q = lm_malloc(0);
    REQUIRE(p != NULL && q != NULL);
    if (p != q)
        tl_printf("corruption: observed: two malloc(0) blocks differ\n");
    lm_free(p);
    lm_free(q);
}

/* ---- writes after free --------------------------------------------------- */

static void write_after_free_small(void)
{
    char *p = take(SMALL);
    lm_free(p);
    tl_memset(p, 'b', SMALL);
}

/* Past the first two words of a freed slot (where its free-list link is). */
static void write_after_free_small_tail(void)
{
    char *p = take(128);
    lm_free(p);
    flip(p + 64);
}

/* The write lands in the block malloc handed out again; then many cycles
 * of reuse. */
static void write_after_free_small_reuse(void)
{
    char *p = take(128);
    lm_free(p);
    char *q = take(128);
    flip(p + 65);
    for (unsigned i = 0; i < 100000; i++)
        lm_free(take(128));
    lm_free(q);
}

static void write_after_free_large(void)
{
    char *p = take(2 * LARGE);
    lm_free(p);
    flip(p + 64 * 1024 + 1);
}

static void write_after_free_large_reuse(void)
{
    char *p = take(2 * LARGE);
    lm_free(p);
    char *q = take(2 * LARGE);
    flip(p + 64 * 1024 + 1);
    lm_free(q);
}

/* A freed block with a live neighbour goes on a free list, its two links
 * (block numbers) in its first bytes; the write lands there, then malloc
 * takes that block off its list. Links of bytes of text, or links that name
 * the heap's first block (number 1), as an attacker would write them. */
static void write_after_free_large_links(const uint32_t links[2])
{
    char *neighbour;
    char *p = take_with_neighbour(LARGE, &neighbour);
    lm_free(p);
    tl_memcpy(p, links, 2 * sizeof links[0]);
    lm_free(take(LARGE));
    lm_free(neighbour);
}
static void write_after_free_large_links_text(void)
{
    static const uint32_t text[2] = { 0x62626262, 0x62626262 };   /* "bbbbbbbb" */
    write_after_free_large_links(text);
}
static void write_after_free_large_links_in_heap(void)
{
    static const uint32_t first_block[2] = { 1, 1 };
    write_after_free_large_links(first_block);
}

/* A request of 0 bytes gets a block of its own (16 usable bytes): a write
 * to it writes past what was asked. */
static void write_zero_size(void)
{
    char *p = lm_malloc(0);
    REQUIRE(p != NULL);
    *(volatile char *)p = 5;
    lm_free(p);
}

/* ---- reads --------------------------------------------------------------- */

static void read_after_free(size_t size)
{
    char *p = take(size);
    lm_free(p);
    observe("freed bytes that still hold their contents", count_left(p, size, 'a'), size);
}
static void read_after_free_small(void) { read_after_free(SMALL); }
static void read_after_free_large(void) { read_after_free(2 * LARGE); }

/* A freed block's bytes, seen through the next block of its size. */
static void read_after_reuse(size_t size)
{
    char *p = take(size);
    lm_free(p);
    char *q = lm_malloc(size);
    REQUIRE(q != NULL);
    observe("bytes of a new block that still hold a freed block's", count_left(q, size, 'a'), size);
    lm_free(q);
}
static void read_after_reuse_small(void) { read_after_reuse(64); }
static void read_after_reuse_large(void) { read_after_reuse(LARGE); }

static void uninitialized_read(size_t size)
{
    char *p = lm_malloc(size);
    REQUIRE(p != NULL);
    /* How many depends on keyed metadata; whether any does not. */
    tl_printf("corruption: observed: a fresh block holds old bytes: %s\n",
              count_bytes(p, size, 0) < size ? "yes" : "no");
    lm_free(p);
}
static void uninitialized_read_small(void) { uninitialized_read(8); }
static void uninitialized_read_large(void) { uninitialized_read(2 * LARGE); }

/* A C string filling its block's usable bytes without a terminator, a
 * live string right after it: whether strlen reads past the block. */
static void string_overflow(void)
{
    char *neighbour;
    char *p = take_with_neighbour(SMALL, &neighbour);
    neighbour[SMALL - 1] = '\0';
    size_t usable = lm_usable_size(p);
    tl_printf("corruption: observed: strlen reads past the block: %s\n", tl_strlen(p) > usable ? "yes" : "no");
    lm_free(neighbour);
    lm_free(p);
}

/* ---- overflows ----------------------------------------------------------- */

/* The next block is live; it is freed after the overflowing one. */
static void overflow_into_neighbour(size_t size, size_t past_end)
{
    char *neighbour;
    char *p = take_with_neighbour(size, &neighbour);
    flip(p + lm_usable_size(p) + past_end);
    lm_free(p);
    lm_free(neighbour);
}
static void overflow_small_1_byte(void) { overflow_into_neighbour(SMALL, 0); }
static void overflow_small_8_byte(void) { overflow_into_neighbour(SMALL, 7); }
static void overflow_large_1_byte(void) { overflow_into_neighbour(LARGE, 0); }
static void overflow_large_8_byte(void) { overflow_into_neighbour(LARGE, 7); }

/* The first slot of a fresh span: the next one is free, never handed out. */
static void overflow_small_into_free(size_t past_end)
{
    char *p = take(SMALL);
    flip(p + lm_usable_size(p) + past_end);
    lm_free(p);
}
static void overflow_small_1_byte_into_free(void) { overflow_small_into_free(0); }
static void overflow_small_8_byte_into_free(void) { overflow_small_into_free(7); }

static void overflow_at_end(size_t past_end)
{
    char *p = take_at_end(LARGE);
    flip(p + lm_usable_size(p) + past_end);
    lm_free(p);
}
static void overflow_large_1_byte_at_end(void) { overflow_at_end(0); }
static void overflow_large_8_byte_at_end(void) { overflow_at_end(7); }

/* realloc shrinks a 4 MiB block in place; the write lands just past it. */
static void overflow_realloc_shrink_large(void)
{
    char *p = take(4u << 20);
    char *q = lm_realloc(p, 1u << 20);
    REQUIRE(q != NULL);
    flip(q + lm_usable_size(q));
    lm_free(q);
}

/* ---- the cases ----------------------------------------------------------- */

typedef struct corruption_case {
    const char *name;
    void (*run)(void);
    size_t size;          /* what the heap is used with afterwards */
} corruption_case;

static const corruption_case cases[] = {
    { "double-free-small", double_free_small, SMALL },
    { "double-free-small-delayed", double_free_small_delayed, SMALL },
    { "double-free-small-extended-delayed", double_free_small_extended_delayed, SMALL },
    { "double-free-large", double_free_large, LARGE },
    { "double-free-large-delayed", double_free_large_delayed, LARGE },
    { "double-free-sized", double_free_sized, 64 },
    { "double-free-stale-small", double_free_stale_small, 64 },
    { "double-free-stale-large", double_free_stale_large, LARGE },
    { "double-free-after-idle", double_free_after_idle, LM_SMALL_MAX },
    { "double-free-after-realloc-zero", double_free_after_realloc_zero, SMALL },
    { "realloc-freed", realloc_freed, 64 },
    { "usable-size-freed", usable_size_freed, SMALL },
    { "free-unaligned-small", free_unaligned_small, SMALL },
    { "free-unaligned-large", free_unaligned_large, LARGE },
    { "free-misaligned-8", free_misaligned_8, 256 },
    { "usable-size-unaligned", usable_size_unaligned, SMALL },
    { "free-interior-small", free_interior_small, 256 },
    { "free-interior-large", free_interior_large, LARGE },
    { "realloc-interior", realloc_interior, 256 },
    { "free-small-region", free_small_region, SMALL },
    { "usable-size-small-region", usable_size_small_region, SMALL },
    { "free-small-region-far", free_small_region_far, SMALL },
    { "free-never-handed-out", free_never_handed_out, SMALL },
    { "free-static", free_static, SMALL },
    { "free-stack", free_stack, SMALL },
    { "free-above-heap", free_above_heap, SMALL },
    { "free-protected-memory", free_protected_memory, SMALL },
    { "free-unprotected-memory", free_unprotected_memory, SMALL },
    { "free-uninitialized", free_uninitialized, SMALL },
    { "realloc-uninitialized", realloc_uninitialized, SMALL },
    { "usable-size-uninitialized", usable_size_uninitialized, SMALL },
    { "realloc-not-in-heap", realloc_not_in_heap, SMALL },
    { "usable-size-not-in-heap", usable_size_not_in_heap, SMALL },
    { "free-sized-not-in-heap", free_sized_not_in_heap, SMALL },
    { "free-sized-larger", free_sized_larger, 1000 },
    { "free-sized-smaller", free_sized_smaller, 1000 },
    { "free-sized-zero", free_sized_zero, SMALL },
    { "sized-delete-type-mismatch", sized_delete_type_mismatch, 1 },
    { "free-aligned-sized-bad-alignment", free_aligned_sized_bad_alignment, SMALL },
    { "sized-delete-10-short", sized_delete_10_short, 16384 },
    { "aligned-sized-delete-10-short", aligned_sized_delete_10_short, 9000 },
    { "free-sized-small-control", free_sized_small_control, 100 },
    { "free-sized-large-control", free_sized_large_control, LARGE },
    { "aligned-sized-delete-small-control", aligned_sized_delete_small_control, SMALL },
    { "aligned-sized-delete-large-control", aligned_sized_delete_large_control, 9000 },
    { "impossibly-large-malloc", impossibly_large_malloc, SMALL },
    { "impossibly-large-realloc", impossibly_large_realloc, SMALL },
    { "calloc-overflow", calloc_overflow, SMALL },
    { "malloc-zero-different", malloc_zero_different, 0 },
    { "write-after-free-small", write_after_free_small, SMALL },
    { "write-after-free-small-tail", write_after_free_small_tail, 128 },
    { "write-after-free-small-reuse", write_after_free_small_reuse, 128 },
    { "write-after-free-large", write_after_free_large, 2 * LARGE },
    { "write-after-free-large-reuse", write_after_free_large_reuse, 2 * LARGE },
    { "write-after-free-large-links-text", write_after_free_large_links_text, LARGE },
    { "write-after-free-large-links-in-heap", write_after_free_large_links_in_heap, LARGE },
    { "write-zero-size", write_zero_size, 0 },
    { "read-after-free-small", read_after_free_small, SMALL },
    { "read-after-free-large", read_after_free_large, 2 * LARGE },
    { "read-after-reuse-small", read_after_reuse_small, 64 },
    { "read-after-reuse-large", read_after_reuse_large, LARGE },
    { "uninitialized-read-small", uninitialized_read_small, 8 },
    { "uninitialized-read-large", uninitialized_read_large, 2 * LARGE },
    { "string-overflow", string_overflow, SMALL },
    { "overflow-small-1-byte", overflow_small_1_byte, SMALL },
    { "overflow-small-8-byte", overflow_small_8_byte, SMALL },
    { "overflow-small-1-byte-into-free", overflow_small_1_byte_into_free, SMALL },
    { "overflow-small-8-byte-into-free", overflow_small_8_byte_into_free, SMALL },
    { "overflow-large-1-byte", overflow_large_1_byte, LARGE },
    { "overflow-large-8-byte", overflow_large_8_byte, LARGE },
    { "overflow-large-1-byte-at-end", overflow_large_1_byte_at_end, LARGE },
    { "overflow-large-8-byte-at-end", overflow_large_8_byte_at_end, LARGE },
    { "overflow-realloc-shrink-large", overflow_realloc_shrink_large, 1u << 20 },
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* After a case that did not stop: the program goes on using the heap, where
 * damage a later call finds shows, then says how sound the heap looks. */
static void carry_on(size_t size)
{
    char *blocks[CARRY_ON_BLOCKS];
    for (int i = 0; i < CARRY_ON_BLOCKS; i++)
        blocks[i] = take(size);
    for (int i = 0; i < CARRY_ON_BLOCKS; i++)
        lm_free(blocks[i]);
    tl_printf("corruption: carried on: lm_check() = %zu\n", lm_check());
}

int main(int argc, char **argv)
{
    const char *name = tl_arg_str(argc, argv, "--case");
    if (argc == 2 && tl_streq(argv[1], "--list")) {
        for (size_t i = 0; i < CASE_COUNT; i++)
            tl_printf("%s\n", cases[i].name);
        return 0;
    }
    if (name == NULL) {
        tl_printf("usage: corruption --case NAME | --list\n");
        return 2;
    }
    for (size_t i = 0; i < CASE_COUNT; i++) {
        if (tl_streq(name, cases[i].name)) {
            tl_printf("  case %s\n", name);
            cases[i].run();
            carry_on(cases[i].size);
            return 0;
        }
    }
    tl_printf("error: unknown case '%s' (corruption --list names them)\n", name);
    return 2;
}
