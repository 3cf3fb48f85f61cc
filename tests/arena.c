/* arena — lm_arena_*: bump allocation in chunks taken from the heap.
 *
 *   arena [--case all|free-abort|threads] [--seed N]
 *
 * all (default):
 *   contents  blocks of varied sizes keep their bytes while more are added,
 *             every block 16-byte aligned, size 0 unique, aligned requests
 *             up to 64 KiB aligned; stats add up
 *   reset     200 request-sized cycles: after the first few neither the
 *             heap's footprint nor the arena's chunks move; trim gives
 *             back all chunks but the first
 *   scopes    a scope's blocks go at its end, the blocks before it stay
 *   destroy   the general heap then allocates as much as the arena held,
 *             in blocks of many sizes, without growing memory
 *   misuse    under LM_POLICY_CONTINUE each is reported as LM_MISUSE_ARENA
 *             naming the pointer, counted once, and refused: lm_free,
 *             lm_free_sized and lm_realloc of arena memory and of the
 *             handle, reset and destroy inside a scope, scopes ended out of
 *             order, every call on a destroyed arena; the arena's blocks
 *             and the heap's keep their bytes
 *   lm_check() == 0 after every case.
 * free-abort: lm_free of arena memory under the default policy: the test
 *   (EXPECT_ABORT) checks the one-line report and that the program stops.
 * threads: 4 threads each run arenas of their own, and hand one arena on
 *   to the next thread, which resets and destroys it.
 */
#include "testlib.h"

#define KiB ((size_t)1 << 10)

static const char *current_case = "";
static void print_context(void) { tl_printf("  (case: %s)\n", current_case); }

/* ---------------------------------------------------------------- contents */

#define BLOCKS 600

static void case_contents(tl_rng *rng)
{
    current_case = "contents";
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    static char *block[BLOCKS];
    static size_t len[BLOCKS];
    size_t asked = 0;
    for (int i = 0; i < BLOCKS; i++) {
        len[i] = i % 97 == 0 ? 100 * KiB + (size_t)i : tl_rng_log_uniform(rng, 13);
        block[i] = lm_arena_alloc(a, len[i]);
        REQUIRE(block[i] != NULL);
        CHECK(tl_is_aligned(block[i], LM_ALIGNMENT));
        tl_fill_pattern(block[i], len[i], (uint64_t)i);
        asked += len[i] ? (len[i] + 15) & ~(size_t)15 : 16;   /* size 0 takes 16 */
    }
    for (int i = 0; i < BLOCKS; i++)
        CHECK_PATTERN(block[i], len[i], (uint64_t)i);

    lm_arena_stats_t s;
    lm_arena_stats(a, &s);
    CHECK_EQ(s.used, asked);
    CHECK(s.reserved >= s.used && s.chunks >= 2 && s.peak == s.used);

    /* Size 0 is a unique block; alignments up to 64 KiB hold. */
    char *zero_a = lm_arena_alloc(a, 0), *zero_b = lm_arena_alloc(a, 0);
    CHECK(zero_a != NULL && zero_b != NULL && zero_a != zero_b);
    for (size_t alignment = 1; alignment <= 64 * KiB; alignment *= 2) {
        char *p = lm_arena_alloc_aligned(a, alignment, 24);
        REQUIRE(p != NULL);
        CHECK(tl_is_aligned(p, alignment < LM_ALIGNMENT ? LM_ALIGNMENT : alignment));
        tl_memset(p, 0xAB, 24);
    }
    CHECK(lm_arena_alloc_aligned(a, 48, 16) == NULL);       /* not a power of two */
    CHECK(lm_arena_alloc_aligned(a, 0, 16) == NULL);
    CHECK(lm_arena_alloc(a, SIZE_MAX) == NULL);             /* impossible: NULL, nothing broken */
    CHECK(lm_arena_alloc(a, SIZE_MAX / 2 + 1) == NULL);
    for (int i = 0; i < BLOCKS; i++)
        CHECK_PATTERN(block[i], len[i], (uint64_t)i);
    CHECK_EQ(tl_stats().misuse_count, 0);
    lm_arena_destroy(a);
    lm_arena_destroy(NULL);
    CHECK_EQ(lm_check(), 0);
}

/* ------------------------------------------------------------------ reset */

#define CYCLES 200
#define WARMUP 8

/* One request's scratch: about 100-400 KiB in blocks of 1 B - 8 KiB. */
static size_t request_fill(lm_arena_t *a, tl_rng *rng, uint64_t id)
{
    size_t total = 0, target = 100 * KiB + (size_t)tl_rng_below(rng, 300 * KiB);
    while (total < target) {
        size_t n = tl_rng_log_uniform(rng, 13) + 1;
        char *p = lm_arena_alloc(a, n);
        REQUIRE(p != NULL);
        p[0] = (char)id;
        p[n - 1] = (char)id;
        total += n;
    }
    return total;
}

/* Fills about `bytes` with blocks of 4 KiB, each tagged with `id`; returns the first. */
static char *fill_small(lm_arena_t *a, size_t bytes, uint64_t id)
{
    char *first = NULL;
    for (size_t done = 0; done < bytes; done += 4 * KiB) {
        char *p = lm_arena_alloc(a, 4 * KiB);
        REQUIRE(p != NULL);
        tl_memset(p, (int)id, 4 * KiB);
        if (!first)
            first = p;
    }
    return first;
}

static void case_reset(tl_rng *rng)
{
    current_case = "reset";
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    /* The first cycle is the largest: after it the chunks hold any. */
    char *first = fill_small(a, 420 * KiB, 1);
    lm_arena_reset(a);
    uint64_t footprint = 0, reserved = 0, chunks = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        request_fill(a, rng, (uint64_t)cycle);
        lm_arena_reset(a);
        lm_arena_stats_t s;
        lm_arena_stats(a, &s);
        CHECK_EQ(s.used, 0);
        if (cycle == WARMUP) {
            footprint = tl_stats().footprint;
            reserved = s.reserved;
            chunks = s.chunks;
        } else if (cycle > WARMUP) {
            CHECK_EQ(tl_stats().footprint, footprint);
            CHECK_EQ(s.reserved, reserved);
            CHECK_EQ(s.chunks, chunks);
        }
    }
    lm_arena_stats_t s;
    lm_arena_stats(a, &s);
    tl_printf("  reset: %llu chunks, %llu bytes reserved, peak %llu\n", (unsigned long long)s.chunks,
              (unsigned long long)s.reserved, (unsigned long long)s.peak);
    CHECK(s.reserved < 420 * KiB * 5 / 4 + 64 * KiB);   /* a quarter over the largest cycle, at most */
    /* The same blocks again: the first lands where it did. */
    CHECK(fill_small(a, 8 * KiB, 2) == first);

    /* A large block that the chunk has no room for is a chunk of its own, given back by reset. */
    char *large = lm_arena_alloc(a, 300 * KiB);
    REQUIRE(large != NULL);
    tl_memset(large, 3, 300 * KiB);
    lm_arena_stats(a, &s);
    CHECK_EQ(s.chunks, chunks + 1);
    CHECK(s.reserved >= reserved + 300 * KiB);
    lm_arena_reset(a);
    lm_arena_stats(a, &s);
    CHECK(s.chunks == chunks && s.reserved == reserved);

    /* A larger cycle takes more chunks, which the reset keeps ... */
    fill_small(a, 2 * reserved, 4);
    lm_arena_reset(a);
    lm_arena_stats(a, &s);
    CHECK(s.chunks > chunks && s.reserved >= 2 * reserved);
    /* ... and trim gives back all but the first, to the heap. */
    uint64_t live_before = tl_stats().live_bytes, reserved_before = s.reserved;
    lm_arena_trim(a);
    lm_arena_stats(a, &s);
    CHECK_EQ(s.chunks, 1);
    CHECK(tl_stats().live_bytes <= live_before - (reserved_before - s.reserved));
    CHECK(fill_small(a, 8 * KiB, 5) == first);
    lm_arena_destroy(a);
    CHECK_EQ(lm_check(), 0);
}

/* ----------------------------------------------------------------- scopes */

static void case_scopes(void)
{
    current_case = "scopes";
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    char *before = lm_arena_alloc(a, 1000);
    REQUIRE(before != NULL);
    tl_fill_pattern(before, 1000, 1);
    lm_arena_stats_t s;
    lm_arena_stats(a, &s);
    uint64_t used_before = s.used;

    unsigned outer = lm_arena_scope_begin(a);
    CHECK_EQ(outer, 1);
    char *in_outer = lm_arena_alloc(a, 3000);
    REQUIRE(in_outer != NULL);
    tl_fill_pattern(in_outer, 3000, 2);
    lm_arena_stats(a, &s);
    uint64_t used_outer = s.used, reserved_outer = s.reserved;
    unsigned inner = lm_arena_scope_begin(a);
    CHECK_EQ(inner, 2);
    fill_small(a, 600 * KiB, 9);                    /* new chunks inside the scope */
    REQUIRE(lm_arena_alloc(a, 200 * KiB) != NULL);  /* and a large block */
    lm_arena_stats(a, &s);
    uint64_t reserved_inner = s.reserved;
    lm_arena_scope_end(a, inner);
    CHECK_PATTERN(in_outer, 3000, 2);
    lm_arena_stats(a, &s);
    CHECK_EQ(s.used, used_outer);
    CHECK(s.chunks > 1 && s.reserved > reserved_outer);   /* chunks kept for what comes next ... */
    CHECK(s.reserved <= reserved_inner - 200 * KiB);       /* ... the large block given back */
    lm_arena_scope_end(a, outer);
    lm_arena_stats(a, &s);
    CHECK_EQ(s.used, used_before);
    CHECK_PATTERN(before, 1000, 1);
    /* The next block reuses the scope's memory. */
    CHECK(lm_arena_alloc(a, 16) == before + 1008);
    CHECK_EQ(tl_stats().misuse_count, 0);

    /* A scope on an empty arena keeps the chunk it took. */
    lm_arena_t *empty = lm_arena_create();
    REQUIRE(empty != NULL);
    unsigned scope = lm_arena_scope_begin(empty);
    REQUIRE(lm_arena_alloc(empty, 100) != NULL);
    lm_arena_scope_end(empty, scope);
    lm_arena_stats(empty, &s);
    CHECK(s.used == 0 && s.chunks == 1);
    lm_arena_destroy(empty);
    lm_arena_destroy(a);
    CHECK_EQ(lm_check(), 0);
}

/* ---------------------------------------------------------------- destroy */

#define GENERAL_BLOCKS 4096

static void case_destroy(tl_rng *rng)
{
    current_case = "destroy";
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    size_t held = 0;
    while (held < 6 * 1024 * KiB) {
        size_t n = tl_rng_log_uniform(rng, 16) + 1;
        char *p = lm_arena_alloc(a, n);
        REQUIRE(p != NULL);
        tl_memset(p, 7, n);
        held += n;
    }
    lm_arena_stats_t s;
    lm_arena_stats(a, &s);
    tl_printf("  arena held %llu bytes in %llu chunks (%llu reserved)\n", (unsigned long long)s.used,
              (unsigned long long)s.chunks, (unsigned long long)s.reserved);
    lm_arena_destroy(a);

    /* As much again from the general heap, in sizes from slots to large blocks. */
    lm_stats_t before = tl_stats();
    static char *general[GENERAL_BLOCKS];
    static size_t general_len[GENERAL_BLOCKS];
    size_t taken = 0;
    int count = 0;
    while (taken < held) {
        REQUIRE(count < GENERAL_BLOCKS);
        general_len[count] = tl_rng_log_uniform(rng, 17) + 1;
        general[count] = lm_malloc(general_len[count]);
        REQUIRE(general[count] != NULL);
        tl_fill_pattern(general[count], general_len[count], (uint64_t)count);
        taken += general_len[count++];
    }
    lm_stats_t after = tl_stats();
    tl_printf("  general heap took %llu bytes in %d blocks: %llu growth calls, footprint %llu -> %llu\n",
              (unsigned long long)taken, count, (unsigned long long)(after.grow_calls - before.grow_calls),
              (unsigned long long)before.footprint, (unsigned long long)after.footprint);
    CHECK_EQ(after.grow_calls, before.grow_calls);
    CHECK_EQ(after.footprint, before.footprint);
    for (int i = 0; i < count; i++) {
        CHECK_PATTERN(general[i], general_len[i], (uint64_t)i);
        lm_free(general[i]);
    }
    CHECK_EQ(lm_check(), 0);
}

/* ----------------------------------------------------------------- misuse */

#define POPULATION 32
static char *population[POPULATION];
static size_t population_len[POPULATION];
static uint64_t expected_misuses;

/* The checks after each misuse: named as an arena's, the pointer the call
 * got, counted once, nothing else changed. */
static void expect_arena_misuse(const char *what, const void *ptr)
{
    current_case = what;
    expected_misuses++;
    lm_misuse last;
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_ARENA);
    CHECK_EQ(last.ptr, (uintptr_t)ptr);
    CHECK_EQ(last.size, 0);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
    for (int i = 0; i < POPULATION; i++)
        CHECK_PATTERN(population[i], population_len[i], 100 + (uint64_t)i);
    CHECK_EQ(lm_check(), 0);
}

static void case_misuse(void)
{
    current_case = "misuse";
    lm_set_policy(LM_POLICY_CONTINUE);
    expected_misuses = tl_stats().misuse_count;
    for (int i = 0; i < POPULATION; i++) {
        population_len[i] = (size_t)(i * 977 % 9000) + 1;
        population[i] = lm_malloc(population_len[i]);
        REQUIRE(population[i] != NULL);
        tl_fill_pattern(population[i], population_len[i], 100 + (uint64_t)i);
    }
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    char *first = lm_arena_alloc(a, 48), *middle = lm_arena_alloc(a, 5000), *big = lm_arena_alloc(a, 200 * KiB);
    REQUIRE(first != NULL && middle != NULL && big != NULL);
    tl_fill_pattern(first, 48, 1);
    tl_fill_pattern(middle, 5000, 2);
    tl_fill_pattern(big, 200 * KiB, 3);

    lm_free(first);
    expect_arena_misuse("free of an arena's first block", first);
    lm_free(middle);
    expect_arena_misuse("free of an arena block", middle);
    lm_free(big);
    expect_arena_misuse("free of a block in the arena's second chunk", big);
    lm_free_sized(middle, 5000);
    expect_arena_misuse("free_sized of an arena block", middle);
    CHECK(lm_realloc(middle, 10) == NULL);
    expect_arena_misuse("realloc of an arena block", middle);
    lm_free(a);
    expect_arena_misuse("free of the arena handle", a);
    CHECK_PATTERN(first, 48, 1);
    CHECK_PATTERN(middle, 5000, 2);
    CHECK_PATTERN(big, 200 * KiB, 3);

    /* Scopes: reset and destroy inside one, and ends out of order, are refused. */
    unsigned outer = lm_arena_scope_begin(a), inner = lm_arena_scope_begin(a);
    REQUIRE(outer == 1 && inner == 2);
    lm_arena_reset(a);
    expect_arena_misuse("reset inside a scope", a);
    lm_arena_destroy(a);
    expect_arena_misuse("destroy inside a scope", a);
    lm_arena_scope_end(a, outer);
    expect_arena_misuse("scope_end of the outer scope first", a);
    lm_arena_scope_end(a, inner);
    lm_arena_scope_end(a, outer);
    lm_arena_scope_end(a, outer);
    expect_arena_misuse("scope_end with no scope open", a);
    CHECK_PATTERN(big, 200 * KiB, 3);
    lm_arena_reset(a);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);

    /* A destroyed arena. */
    lm_arena_destroy(a);
    CHECK_EQ(tl_stats().misuse_count, expected_misuses);
    CHECK(lm_arena_alloc(a, 16) == NULL);
    expect_arena_misuse("alloc from a destroyed arena", a);
    CHECK(lm_arena_alloc_aligned(a, 256, 16) == NULL);
    expect_arena_misuse("aligned alloc from a destroyed arena", a);
    lm_arena_reset(a);
    expect_arena_misuse("reset of a destroyed arena", a);
    lm_arena_stats_t s;
    lm_arena_stats(a, &s);
    expect_arena_misuse("stats of a destroyed arena", a);
    CHECK(s.used == 0 && s.reserved == 0 && s.chunks == 0);
    CHECK_EQ(lm_arena_scope_begin(a), 0);
    expect_arena_misuse("scope_begin on a destroyed arena", a);
    lm_arena_destroy(a);
    expect_arena_misuse("destroy of a destroyed arena", a);

    /* The chunk's memory is the heap's again: an interior pointer there is
     * an ordinary one, not an arena's. */
    char *reused = lm_malloc(300 * KiB);
    REQUIRE(reused != NULL);
    lm_free(reused + 4096);
    current_case = "interior pointer after destroy";
    expected_misuses++;
    lm_misuse last;
    lm_last_misuse(&last);
    CHECK_EQ(last.kind, LM_MISUSE_NOT_A_BLOCK);
    lm_free(reused);
    for (int i = 0; i < POPULATION; i++)
        lm_free(population[i]);
    lm_set_policy(LM_POLICY_ABORT);
    CHECK_EQ(lm_check(), 0);
}

static void case_free_abort(void)
{
    lm_arena_t *a = lm_arena_create();
    REQUIRE(a != NULL);
    char *p = lm_arena_alloc(a, 100);
    REQUIRE(p != NULL);
    tl_printf("freeing arena block %p\n", (void *)p);
    lm_free(p);   /* reported; the default policy stops here */
    tl_printf("not stopped\n");
}

/* ---------------------------------------------------------------- threads */

#define THREADS 4

typedef struct worker {
    uint64_t seed;
    lm_arena_t *mine;          /* created here, handed to the next worker */
    lm_arena_t *handed;        /* from the previous worker */
    int ready;
} worker;

static worker workers[THREADS];

static void worker_run(void *arg)
{
    worker *w = arg;
    tl_rng rng;
    tl_rng_seed(&rng, w->seed);
    for (int round = 0; round < 20; round++) {
        lm_arena_t *a = lm_arena_create();
        REQUIRE(a != NULL);
        for (int request = 0; request < 5; request++) {
            request_fill(a, &rng, (uint64_t)request);
            lm_arena_reset(a);
        }
        lm_arena_destroy(a);
    }
    w->mine = lm_arena_create();
    REQUIRE(w->mine != NULL);
    char *p = lm_arena_alloc(w->mine, 70 * KiB);
    REQUIRE(p != NULL);
    tl_memset(p, 5, 70 * KiB);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
}

static void case_threads(void)
{
    current_case = "threads";
    int handles[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].seed = 1000 + (uint64_t)i;
        handles[i] = lm_host_thread_start(worker_run, &workers[i]);
        REQUIRE(handles[i] >= 0);
    }
    for (int i = 0; i < THREADS; i++)
        lm_host_thread_join(handles[i]);
    /* Arenas made on other threads: reset and destroyed here. */
    for (int i = 0; i < THREADS; i++) {
        REQUIRE(__atomic_load_n(&workers[i].ready, __ATOMIC_ACQUIRE));
        lm_arena_t *a = workers[i].mine;
        lm_arena_stats_t s;
        lm_arena_stats(a, &s);
        CHECK_EQ(s.used, 70 * KiB);
        lm_arena_reset(a);
        REQUIRE(lm_arena_alloc(a, 1000) != NULL);
        lm_arena_destroy(a);
    }
    CHECK_EQ(tl_stats().misuse_count, 0);
    CHECK_EQ(lm_check(), 0);
}

int main(int argc, char **argv)
{
    tl_begin("arena");
    tl_set_context(print_context);
    const char *which = tl_arg_str(argc, argv, "--case");
    uint64_t seed = tl_arg_u64(argc, argv, "--seed", 23);
    tl_printf("seed %llu\n", (unsigned long long)seed);
    tl_rng rng;
    tl_rng_seed(&rng, seed);
    if (which && tl_streq(which, "free-abort")) {
        case_free_abort();
    } else if (which && tl_streq(which, "threads")) {
        case_threads();
    } else {
        REQUIRE(!which || tl_streq(which, "all"));
        case_contents(&rng);
        case_reset(&rng);
        case_scopes();
        case_destroy(&rng);
        case_misuse();
    }
    return tl_finish();
}
