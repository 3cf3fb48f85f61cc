/* soak — a long random mix of every allocation call, checked against a
 * shadow model of the live blocks.
 *
 *   soak [--seed N] [--ops N] [--check-every N]
 *
 * Each live block is filled, up to its whole usable size, with a pattern
 * derived from its id and offsets; the pattern is verified before every free
 * and the common prefix after every realloc. Every --check-every ops the
 * live blocks are sorted and checked for overlap, lm_stats() must agree with
 * the model (block count and usable bytes), and lm_check() must find the
 * heap sound. The seed is always printed; rerun with --seed to reproduce.
 */
#include "testlib.h"

#define SLOT_COUNT 2048
#define LARGE_LIVE_MAX 8             /* live blocks above SMALL_MAX_BITS at once */
#define SMALL_MAX_BITS 16            /* ordinary sizes: log-uniform 0 .. 64 KiB */
#define LARGE_MAX_BYTES (4u << 20)   /* occasional large sizes: up to 4 MiB */

typedef struct block {
    char *ptr;              /* NULL: slot empty */
    size_t size;            /* bytes asked for */
    size_t alignment;       /* what aligned_alloc was asked for; LM_ALIGNMENT otherwise */
    size_t usable;          /* lm_usable_size at allocation: filled with the pattern */
    uint64_t id;
} block;

typedef struct extent {
    uintptr_t start, end;
    uint32_t slot;
} extent;

static block slots[SLOT_COUNT];
static extent extents[SLOT_COUNT];
static uint64_t live_count, live_usable, large_live;
static uint64_t next_id = 1;
static uint64_t seed, op_number;
static const char *current_op = "start";
static uint64_t op_counts[8];
/* Blocks the program's start code may own (e.g. argv on wasm). */
static uint64_t base_blocks, base_bytes;

static void print_context(void)
{
    tl_printf("  (soak --seed %llu, op %llu: %s)\n", (unsigned long long)seed,
              (unsigned long long)op_number, current_op);
}

static int is_large(size_t size) { return size > ((size_t)1 << SMALL_MAX_BITS); }

static size_t random_size(tl_rng *rng)
{
    if (tl_rng_below(rng, 400) == 0 && large_live < LARGE_LIVE_MAX)
        return ((size_t)1 << SMALL_MAX_BITS) + (size_t)tl_rng_below(rng, LARGE_MAX_BYTES);
    return tl_rng_log_uniform(rng, SMALL_MAX_BITS);
}

static size_t random_alignment(tl_rng *rng)
{
    /* Mostly modest alignments, sometimes a page or more. */
    unsigned bits = (unsigned)tl_rng_below(rng, 100) < 90 ? (unsigned)tl_rng_below(rng, 13)
                                                          : 13 + (unsigned)tl_rng_below(rng, 8);
    return (size_t)1 << bits;
}

/* Records a new block in `slot` and fills its whole usable size. */
static void block_adopt(uint32_t slot, char *ptr, size_t size, size_t alignment)
{
    REQUIRE(ptr != NULL);
    size_t min_alignment = alignment > LM_ALIGNMENT ? alignment : LM_ALIGNMENT;
    if (!tl_is_aligned(ptr, min_alignment))
        tl_printf("  %p is not %zu-byte aligned\n", (void *)ptr, min_alignment);
    CHECK(tl_is_aligned(ptr, min_alignment));
    size_t usable = lm_usable_size(ptr);
    if (usable < size)
        tl_printf("  usable size %zu < requested %zu\n", usable, size);
    REQUIRE(usable >= size);
    block *b = &slots[slot];
    b->ptr = ptr;
    b->size = size;
    b->alignment = min_alignment;
    b->usable = usable;
    b->id = next_id++;
    tl_fill_pattern(ptr, usable, b->id);
    live_count++;
    live_usable += usable;
    large_live += is_large(size);
}

static void block_forget(uint32_t slot)
{
    block *b = &slots[slot];
    live_count--;
    live_usable -= b->usable;
    large_live -= is_large(b->size);
    b->ptr = NULL;
}

static void block_verify(uint32_t slot)
{
    block *b = &slots[slot];
    CHECK_PATTERN(b->ptr, b->usable, b->id);
}

static void op_allocate(tl_rng *rng, uint32_t slot)
{
    size_t size = random_size(rng);
    unsigned choice = (unsigned)tl_rng_below(rng, 100);
    if (choice < 55) {
        current_op = "malloc";
        op_counts[0]++;
        block_adopt(slot, lm_malloc(size), size, 1);
    } else if (choice < 75) {
        current_op = "calloc";
        op_counts[1]++;
        /* Split the size into count * each when it divides evenly. */
        size_t each = (size % 16 == 0 && size > 0) ? 16 : 1;
        char *p = lm_calloc(size / each, each);
        REQUIRE(p != NULL);
        size_t bad = tl_find_byte_mismatch(p, size, 0);
        if (bad != TL_NO_MISMATCH)
            tl_printf("  calloc(%zu, %zu) = %p: byte %zu is 0x%x\n", size / each, each,
                      (void *)p, bad, (unsigned)(unsigned char)p[bad]);
        CHECK_EQ(bad, TL_NO_MISMATCH);
        block_adopt(slot, p, size, 1);
    } else if (choice < 90) {
        current_op = "aligned_alloc";
        op_counts[2]++;
        size_t alignment = random_alignment(rng);
        block_adopt(slot, lm_aligned_alloc(alignment, size), size, alignment);
    } else {
        current_op = "realloc(NULL)";
        op_counts[3]++;
        block_adopt(slot, lm_realloc(NULL, size), size, 1);
    }
}

static void op_release_or_resize(tl_rng *rng, uint32_t slot)
{
    block *b = &slots[slot];
    unsigned choice = (unsigned)tl_rng_below(rng, 100);
    block_verify(slot);
    if (choice < 40) {
        current_op = "free";
        op_counts[4]++;
        lm_free(b->ptr);
        block_forget(slot);
    } else if (choice < 55) {
        current_op = "free_sized";
        op_counts[5]++;
        /* An aligned block is freed with its alignment (C23's free_aligned_sized). */
        if (b->alignment > LM_ALIGNMENT)
            lm_free_aligned_sized(b->ptr, b->alignment, b->size);
        else
            lm_free_sized(b->ptr, b->size);
        block_forget(slot);
    } else if (choice < 58) {
        current_op = "realloc(p, 0)";
        op_counts[6]++;
        CHECK(lm_realloc(b->ptr, 0) == NULL);
        block_forget(slot);
    } else {
        current_op = "realloc";
        op_counts[7]++;
        /* Often a nearby size (the in-place cases), otherwise any size. */
        size_t new_size;
        if (tl_rng_below(rng, 2) == 0) {
            size_t delta = (size_t)tl_rng_below(rng, b->size / 4 + 64);
            new_size = tl_rng_below(rng, 2) == 0 || delta > b->size ? b->size + delta
                                                                    : b->size - delta;
        } else {
            new_size = random_size(rng);
        }
        if (is_large(new_size) && !is_large(b->size) && large_live >= LARGE_LIVE_MAX)
            new_size = (size_t)1 << SMALL_MAX_BITS;
        if (new_size == 0)
            new_size = 1;   /* realloc(p, 0) frees: that is its own op above */
        size_t old_size = b->size;
        uint64_t old_id = b->id;
        char *q = lm_realloc(b->ptr, new_size);
        REQUIRE(q != NULL);
        block_forget(slot);
        CHECK_PATTERN(q, old_size < new_size ? old_size : new_size, old_id);
        block_adopt(slot, q, new_size, 1);
    }
}

/* In-place heapsort of the live extents by start address. */
static void extents_sift_down(extent *items, size_t root, size_t count)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && items[child + 1].start > items[child].start)
            child++;
        if (items[root].start >= items[child].start)
            return;
        extent t = items[root];
        items[root] = items[child];
        items[child] = t;
        root = child;
    }
}

static void extents_sort(extent *items, size_t count)
{
    for (size_t i = count / 2; i-- > 0;)
        extents_sift_down(items, i, count);
    for (size_t end = count; end-- > 1;) {
        extent t = items[0];
        items[0] = items[end];
        items[end] = t;
        extents_sift_down(items, 0, end);
    }
}

static void check_model(void)
{
    current_op = "model check";
    size_t count = 0;
    uint64_t usable_sum = 0;
    for (uint32_t s = 0; s < SLOT_COUNT; s++) {
        if (slots[s].ptr == NULL)
            continue;
        extents[count].start = (uintptr_t)slots[s].ptr;
        extents[count].end = (uintptr_t)slots[s].ptr + slots[s].usable;
        extents[count].slot = s;
        usable_sum += slots[s].usable;
        count++;
        /* usable_size must not drift while a block is live. */
        CHECK_EQ(lm_usable_size(slots[s].ptr), slots[s].usable);
    }
    REQUIRE_EQ(count, live_count);
    CHECK_EQ(usable_sum, live_usable);
    extents_sort(extents, count);
    for (size_t i = 0; i + 1 < count; i++) {
        if (extents[i].end > extents[i + 1].start) {
            tl_printf("  overlap: slot %u [%p, %p) and slot %u [%p, %p)\n",
                      (unsigned)extents[i].slot, (void *)extents[i].start, (void *)extents[i].end,
                      (unsigned)extents[i + 1].slot, (void *)extents[i + 1].start,
                      (void *)extents[i + 1].end);
            CHECK(extents[i].end <= extents[i + 1].start);
        }
    }
    lm_stats_t stats = tl_stats();
    CHECK_EQ(stats.live_blocks, base_blocks + live_count);
    CHECK_EQ(stats.live_bytes, base_bytes + live_usable);
    CHECK(stats.footprint <= stats.peak_footprint);
    CHECK_EQ(stats.misuse_count, 0);
    CHECK_EQ(lm_check(), 0);
}

int main(int argc, char **argv)
{
    seed = tl_arg_u64(argc, argv, "--seed", 0x5eed);
    uint64_t op_total = tl_arg_u64(argc, argv, "--ops", 600000);
    uint64_t check_every = tl_arg_u64(argc, argv, "--check-every", 2500);
    if (check_every == 0)
        check_every = 1;
    tl_begin("soak");
    tl_printf("  seed %llu, %llu ops, model check every %llu ops (rerun: --seed %llu)\n",
              (unsigned long long)seed, (unsigned long long)op_total,
              (unsigned long long)check_every, (unsigned long long)seed);
    tl_set_context(print_context);
    base_blocks = tl_stats().live_blocks;
    base_bytes = tl_stats().live_bytes;

    tl_rng rng;
    tl_rng_seed(&rng, seed);
    uint64_t start_ns = lm_host_now_ns();
    for (op_number = 0; op_number < op_total; op_number++) {
        uint32_t slot = (uint32_t)tl_rng_below(&rng, SLOT_COUNT);
        if (slots[slot].ptr == NULL)
            op_allocate(&rng, slot);
        else
            op_release_or_resize(&rng, slot);
        if ((op_number + 1) % check_every == 0)
            check_model();
        if (tl_failures() > 20) {
            tl_printf("  too many failures, stopping early\n");
            break;
        }
    }
    check_model();

    current_op = "final free";
    for (uint32_t s = 0; s < SLOT_COUNT; s++) {
        if (slots[s].ptr != NULL) {
            block_verify(s);
            lm_free(slots[s].ptr);
            block_forget(s);
        }
    }
    lm_stats_t stats = tl_stats();
    CHECK_EQ(stats.live_blocks, base_blocks);
    CHECK_EQ(stats.live_bytes, base_bytes);
    uint64_t elapsed_ms = (lm_host_now_ns() - start_ns) / 1000000;
    tl_printf("  ops: malloc %llu calloc %llu aligned %llu realloc(NULL) %llu free %llu "
              "free_sized %llu realloc(p,0) %llu realloc %llu\n",
              (unsigned long long)op_counts[0], (unsigned long long)op_counts[1],
              (unsigned long long)op_counts[2], (unsigned long long)op_counts[3],
              (unsigned long long)op_counts[4], (unsigned long long)op_counts[5],
              (unsigned long long)op_counts[6], (unsigned long long)op_counts[7]);
    tl_printf("  peak footprint %llu bytes, %llu grow calls, %llu ms\n",
              (unsigned long long)stats.peak_footprint, (unsigned long long)stats.grow_calls,
              (unsigned long long)elapsed_ms);
    return tl_finish();
}
