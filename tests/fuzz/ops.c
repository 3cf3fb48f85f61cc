/* The fuzzing interpreter (see ops.h).
 *
 * Input format: a sequence of operations, each an opcode byte followed by
 * its argument bytes; a missing byte at the end of the input reads as 0, so
 * every byte string is a valid program. There are SLOT_COUNT slots, each
 * empty or holding one live block.
 *
 *   opcode % 14   operation                         arguments
 *   0, 1          malloc into slot                  slot, size(4)
 *   2             calloc into slot                  slot, count, size(4)
 *   3             calloc that overflows (NULL)      kind
 *   4, 5          realloc slot (NULL if empty)      slot, size(4)
 *   6             aligned_alloc into slot           slot, alignment, size(4)
 *   7             free slot                         slot
 *   8             free_sized slot                   slot
 *   9             realloc(slot, 0)                  slot
 *   10            impossible size (NULL)            kind, distance
 *   11            full check                        -
 *   12            misuse of slot's live block       slot, how, k
 *   13            free slot, then use it again      slot, how
 *
 * Misuse (12, 13) runs under LM_POLICY_CONTINUE and must be reported once,
 * as the kind the model expects, and refused; everything else runs under
 * LM_POLICY_ABORT, so any other report stops the program.
 *   12, how % 6: free_sized with a length past the usable size (wrong size);
 *       free, realloc, usable_size of an interior granule start, the k-th
 *       of those within the bytes asked for (not a block; a block asked for
 *       under two granules is left alone); free, realloc of the block plus
 *       1 + k % 15 (misaligned). The block stays live and whole.
 *   13, how % 4: after the free, free, free_sized, realloc or usable_size
 *       of it (double free); an empty slot: free of address 16 (not in the
 *       heap).
 *
 * size(4): a magnitude byte m and three value bytes; the size is the
 * value masked to `bits` bits, where bits = m % 14 for m < 0xE0 (sizes up
 * to 8 KiB) and 14 + (m - 0xE0) % 7 above (up to 1 MiB).
 *
 * The model checks: every pointer aligned (16, or the requested alignment),
 * usable size >= request, no live block overlaps another, each block's
 * pattern intact until it is freed and its prefix kept by realloc, calloc
 * memory zero, impossible requests NULL and counted in failed_allocs, and
 * on a full check (and at the end) lm_stats agrees with the model and
 * lm_check() == 0.
 */
#include "ops.h"
#include "../testlib.h"

#define SLOT_COUNT 64
#define MAX_FUZZ_SIZE ((size_t)1 << 20)

typedef struct fuzz_block {
    char *ptr;
    size_t size;
    size_t alignment;   /* what aligned_alloc was asked for; LM_ALIGNMENT otherwise */
    size_t usable;
    uint64_t id;
} fuzz_block;

typedef struct reader {
    const uint8_t *at, *end;
} reader;

static fuzz_block slots[SLOT_COUNT];
static uint64_t live_count, live_usable, next_id = 1;
static lm_stats_t baseline;
static uint64_t expected_failed_allocs, expected_misuses;
static uint64_t op_index;
static int tracing;

void lm_fuzz_trace(int on) { tracing = on; }

static void print_context(void)
{
    tl_printf("  (fuzz op %llu)\n", (unsigned long long)op_index);
}

static uint8_t read_byte(reader *r)
{
    return r->at < r->end ? *r->at++ : 0;
}

static size_t read_size(reader *r)
{
    /* Mostly up to 8 KiB (fast to fill and check), one in eight large. */
    uint8_t magnitude = read_byte(r);
    unsigned bits = magnitude >= 0xE0 ? 14 + (magnitude - 0xE0) % 7 : magnitude % 14;
    uint32_t value = read_byte(r);
    value |= (uint32_t)read_byte(r) << 8;
    value |= (uint32_t)read_byte(r) << 16;
    return (size_t)(value & (((uint32_t)1 << bits) - 1));
}

static unsigned read_slot(reader *r) { return read_byte(r) % SLOT_COUNT; }

static int overlaps(const char *a, size_t a_len, const char *b, size_t b_len)
{
    /* Zero-length extents still occupy their address. */
    if (a_len == 0) a_len = 1;
    if (b_len == 0) b_len = 1;
    return a < b + b_len && b < a + a_len;
}

/* The block's pattern, checked in full for small blocks and sampled for
 * big ones (head, tail and a prime stride between) so that inputs run
 * fast enough to fuzz: overlap is caught by the interval check anyway, and
 * allocator metadata written into a block lands at its ends. */
#define SAMPLE_EDGE 128
#define SAMPLE_STRIDE 61

static void block_check(const fuzz_block *b)
{
    if (b->usable <= 4 * SAMPLE_EDGE) {
        CHECK_PATTERN(b->ptr, b->usable, b->id);
        return;
    }
    const uint8_t *bytes = (const uint8_t *)b->ptr;
    size_t offset = 0;
    while (offset < b->usable) {
        if (bytes[offset] != tl_pattern_byte(b->id, offset)) {
            tl_printf("  block %p (%zu usable bytes) differs at offset %zu: 0x%x, expected 0x%x\n",
                      (void *)b->ptr, b->usable, offset, (unsigned)bytes[offset],
                      (unsigned)tl_pattern_byte(b->id, offset));
            CHECK(bytes[offset] == tl_pattern_byte(b->id, offset));
            return;
        }
        if (offset < SAMPLE_EDGE || offset + SAMPLE_EDGE >= b->usable)
            offset++;
        else if (offset + SAMPLE_STRIDE + SAMPLE_EDGE < b->usable)
            offset += SAMPLE_STRIDE;
        else
            offset = b->usable - SAMPLE_EDGE;
    }
}

static void slot_release(unsigned s)
{
    live_count--;
    live_usable -= slots[s].usable;
    slots[s].ptr = NULL;
}

/* Verifies and frees whatever `s` holds. */
static void slot_empty(unsigned s)
{
    if (slots[s].ptr == NULL)
        return;
    block_check(&slots[s]);
    lm_free(slots[s].ptr);
    slot_release(s);
}

/* Records `p` (non-NULL) as slot s's block and fills it. */
static void slot_adopt(unsigned s, char *p, size_t size, size_t alignment)
{
    if (alignment < LM_ALIGNMENT)
        alignment = LM_ALIGNMENT;
    CHECK(tl_is_aligned(p, alignment));
    size_t usable = lm_usable_size(p);
    CHECK(usable >= size);
    if (usable < size)
        usable = size;   /* keep going without writing past what we asked */
    for (unsigned other = 0; other < SLOT_COUNT; other++) {
        if (other == s || slots[other].ptr == NULL)
            continue;
        if (overlaps(p, usable, slots[other].ptr, slots[other].usable)) {
            tl_printf("  new block %p (+%zu) overlaps slot %u: %p (+%zu)\n", (void *)p, usable,
                      other, (void *)slots[other].ptr, slots[other].usable);
            CHECK(!overlaps(p, usable, slots[other].ptr, slots[other].usable));
        }
    }
    slots[s].ptr = p;
    slots[s].size = size;
    slots[s].alignment = alignment;
    slots[s].usable = usable;
    slots[s].id = next_id++;
    tl_fill_pattern(p, usable, slots[s].id);
    live_count++;
    live_usable += usable;
}

static void expect_null(void *p)
{
    CHECK(p == NULL);
    expected_failed_allocs++;
}

static void full_check(void)
{
    for (unsigned s = 0; s < SLOT_COUNT; s++) {
        if (slots[s].ptr == NULL)
            continue;
        block_check(&slots[s]);
        CHECK_EQ(lm_usable_size(slots[s].ptr), slots[s].usable);
    }
    lm_stats_t stats = tl_stats();
    CHECK_EQ(stats.live_blocks, baseline.live_blocks + live_count);
    CHECK_EQ(stats.live_bytes, baseline.live_bytes + live_usable);
    CHECK_EQ(stats.failed_allocs, baseline.failed_allocs + expected_failed_allocs);
    CHECK_EQ(stats.misuse_count, baseline.misuse_count + expected_misuses);
    CHECK(stats.footprint <= stats.peak_footprint);
    CHECK_EQ(lm_check(), 0);
}

/* The misuse just made was reported once, as `kind` about `ptr`, with
 * `size` as the usable size concerned (unless it is (uint64_t)-1). */
static void expect_report(lm_misuse_kind kind, const void *ptr, uint64_t size)
{
    lm_misuse last;
    lm_last_misuse(&last);
    expected_misuses++;
    CHECK_EQ(tl_stats().misuse_count, baseline.misuse_count + expected_misuses);
    CHECK_EQ(last.kind, kind);
    CHECK_EQ(last.ptr, (uintptr_t)ptr);
    if (size != (uint64_t)-1)
        CHECK_EQ(last.size, size);
    if (tracing)
        tl_printf("  op %llu: %s\n", (unsigned long long)op_index, lm_misuse_kind_name(kind));
}

/* Opcode 12: a call on a live block that must be refused. */
static void misuse_live(const fuzz_block *b, unsigned how, uint8_t k)
{
    /* Interior starts within the bytes asked for, so whether there is one
     * does not depend on how much more the block got. */
    size_t granules = b->size / LM_ALIGNMENT;
    char *interior = granules >= 2 ? b->ptr + LM_ALIGNMENT * (1 + k % (granules - 1)) : NULL;
    if (how >= 1 && how <= 3 && interior == NULL)
        return;                                   /* no interior slot start */
    char *misaligned = b->ptr + 1 + k % 15;
    lm_set_policy(LM_POLICY_CONTINUE);
    switch (how) {
    case 0:
        lm_free_sized(b->ptr, b->usable + 1 + k);
        expect_report(LM_MISUSE_WRONG_SIZE, b->ptr, b->usable);
        break;
    case 1:
        lm_free(interior);
        expect_report(LM_MISUSE_NOT_A_BLOCK, interior, b->usable);
        break;
    case 2:
        CHECK(lm_realloc(interior, 1) == NULL);
        expect_report(LM_MISUSE_NOT_A_BLOCK, interior, b->usable);
        break;
    case 3:
        CHECK_EQ(lm_usable_size(interior), 0);
        expect_report(LM_MISUSE_NOT_A_BLOCK, interior, b->usable);
        break;
    case 4:
        lm_free(misaligned);
        expect_report(LM_MISUSE_MISALIGNED, misaligned, 0);
        break;
    default:
        CHECK(lm_realloc(misaligned, 1) == NULL);
        expect_report(LM_MISUSE_MISALIGNED, misaligned, 0);
        break;
    }
    lm_set_policy(LM_POLICY_ABORT);
    CHECK_EQ(lm_usable_size(b->ptr), b->usable);
    block_check(b);
}

/* Opcode 13: slot s's block freed, then used again; or, for an empty slot,
 * a pointer that was never the heap's. (The size a double free reports is
 * not checked: a freed block may have merged with its neighbours.) */
static void misuse_freed(unsigned s, unsigned how)
{
    char *p = slots[s].ptr;
    if (p == NULL) {
        char *outside = (char *)(uintptr_t)LM_ALIGNMENT;
        lm_set_policy(LM_POLICY_CONTINUE);
        lm_free(outside);
        expect_report(LM_MISUSE_NOT_IN_HEAP, outside, 0);
        lm_set_policy(LM_POLICY_ABORT);
        return;
    }
    size_t size = slots[s].size;
    slot_empty(s);
    lm_set_policy(LM_POLICY_CONTINUE);
    if (how == 0)
        lm_free(p);
    else if (how == 1)
        lm_free_sized(p, size);
    else if (how == 2)
        CHECK(lm_realloc(p, 1) == NULL);
    else
        CHECK_EQ(lm_usable_size(p), 0);
    expect_report(LM_MISUSE_DOUBLE_FREE, p, (uint64_t)-1);
    lm_set_policy(LM_POLICY_ABORT);
}

static void run_one(reader *r)
{
    uint8_t opcode = read_byte(r) % 14;
    switch (opcode) {
    case 0:
    case 1: {
        unsigned s = read_slot(r);
        size_t size = read_size(r);
        slot_empty(s);
        char *p = lm_malloc(size);
        REQUIRE(p != NULL);
        slot_adopt(s, p, size, 1);
        break;
    }
    case 2: {
        unsigned s = read_slot(r);
        size_t count = read_byte(r) % 17;
        size_t each = read_size(r) >> 4;   /* count * each stays within 1 MiB */
        slot_empty(s);
        char *p = lm_calloc(count, each);
        REQUIRE(p != NULL);
        size_t bad = tl_find_byte_mismatch(p, count * each, 0);
        if (bad != TL_NO_MISMATCH)
            tl_printf("  calloc(%zu, %zu) = %p: byte %zu is 0x%x\n", count, each, (void *)p,
                      bad, (unsigned)(uint8_t)p[bad]);
        CHECK_EQ(bad, TL_NO_MISMATCH);
        slot_adopt(s, p, count * each, 1);
        break;
    }
    case 3: {
        static const size_t halves[][2] = {
            { SIZE_MAX / 2 + 1, 2 }, { 2, SIZE_MAX / 2 + 1 }, { SIZE_MAX, SIZE_MAX },
            { SIZE_MAX / 3 + 1, 3 }, { (size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4) },
        };
        unsigned kind = read_byte(r) % 5;
        expect_null(lm_calloc(halves[kind][0], halves[kind][1]));
        break;
    }
    case 4:
    case 5: {
        unsigned s = read_slot(r);
        size_t size = read_size(r);
        if (size == 0)
            size = 1;   /* realloc(p, 0) is opcode 9 */
        fuzz_block old = slots[s];
        if (old.ptr != NULL)
            block_check(&old);
        char *p = lm_realloc(old.ptr, size);
        REQUIRE(p != NULL);
        if (old.ptr != NULL) {
            slot_release(s);
            size_t kept = old.size < size ? old.size : size;
            fuzz_block prefix = { .ptr = p, .size = kept, .usable = kept, .id = old.id };
            block_check(&prefix);
        }
        slot_adopt(s, p, size, 1);
        break;
    }
    case 6: {
        unsigned s = read_slot(r);
        uint8_t a = read_byte(r);
        size_t size = read_size(r);
        slot_empty(s);
        if (a >= 0xF0) {
            /* Not a power of two: refused. */
            size_t alignment = (size_t)(a & 0x0F) * 3 + 3;   /* 3, 6, 9, ... 48 */
            if ((alignment & (alignment - 1)) != 0)
                expect_null(lm_aligned_alloc(alignment, size));
            break;
        }
        size_t alignment = (size_t)1 << (a % 21);
        char *p = lm_aligned_alloc(alignment, size);
        REQUIRE(p != NULL);
        slot_adopt(s, p, size, alignment);
        break;
    }
    case 7:
        slot_empty(read_slot(r));
        break;
    case 8: {
        unsigned s = read_slot(r);
        if (slots[s].ptr != NULL) {
            block_check(&slots[s]);
            /* An aligned block is freed with its alignment too (C23's
             * free_aligned_sized); the length check covers both. */
            if (slots[s].alignment > LM_ALIGNMENT)
                lm_free_aligned_sized(slots[s].ptr, slots[s].alignment, slots[s].size);
            else
                lm_free_sized(slots[s].ptr, slots[s].size);
            slot_release(s);
        }
        break;
    }
    case 9: {
        unsigned s = read_slot(r);
        if (slots[s].ptr != NULL) {
            block_check(&slots[s]);
            CHECK(lm_realloc(slots[s].ptr, 0) == NULL);
            slot_release(s);
        }
        break;
    }
    case 10: {
        unsigned kind = read_byte(r) % 3;
        size_t distance = read_byte(r);
        size_t size = SIZE_MAX - distance * 16 - (distance & 15);
        if (kind == 0) {
            expect_null(lm_malloc(size));
        } else if (kind == 1) {
            expect_null(lm_aligned_alloc((size_t)64 << (distance % 8), size));
        } else {
            /* realloc that cannot be served leaves the block as it was. */
            unsigned s = (unsigned)(distance % SLOT_COUNT);
            if (slots[s].ptr != NULL) {
                expect_null(lm_realloc(slots[s].ptr, size));
                block_check(&slots[s]);
            }
        }
        break;
    }
    case 11:
        full_check();
        break;
    case 12: {
        unsigned s = read_slot(r);
        uint8_t how = read_byte(r), k = read_byte(r);
        if (slots[s].ptr != NULL)
            misuse_live(&slots[s], how % 6, k);
        break;
    }
    default: {
        unsigned s = read_slot(r);
        misuse_freed(s, read_byte(r) % 4);
        break;
    }
    }
}

unsigned lm_fuzz_run(const uint8_t *data, size_t size)
{
    unsigned failures_before = tl_failures();
    tl_set_context(print_context);
    baseline = tl_stats();
    expected_failed_allocs = expected_misuses = 0;
    reader r = { data, data + size };
    for (op_index = 0; r.at < r.end; op_index++) {
        run_one(&r);
        if (tl_failures() != failures_before)
            break;   /* report the first failure, not its consequences */
    }
    full_check();
    for (unsigned s = 0; s < SLOT_COUNT; s++)
        slot_empty(s);
    lm_stats_t end = tl_stats();
    CHECK_EQ(end.live_blocks, baseline.live_blocks);
    CHECK_EQ(end.live_bytes, baseline.live_bytes);
    CHECK_EQ(lm_check(), 0);
    if (tracing)
        tl_printf("  %llu ops, %llu NULLs, %llu misuses\n", (unsigned long long)op_index,
                  (unsigned long long)expected_failed_allocs, (unsigned long long)expected_misuses);
    tl_set_context(NULL);
    return tl_failures() - failures_before;
}
