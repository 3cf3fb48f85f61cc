/* threads — lmalloc from several threads at once, the same source natively
 * (pthreads, and under ThreadSanitizer in the native-tsan preset) and on
 * wasm32 and wasm64 (node workers on one shared memory).
 *
 *   threads [--threads N] [--ops N] [--seed N]
 *           [--mode churn|large|written-remote|emptied-remote|grown-elsewhere]
 *
 * churn (default): N threads (default 4, at most 8), each with its own slots
 *   of blocks (8 B - 16 KiB, log-uniform: slots and page-sized blocks both),
 *   replaced at random with malloc, calloc, realloc and aligned_alloc. Every
 *   block carries a pattern of its own id, checked before it is freed. One
 *   block in four is handed to the next thread through a mailbox and freed
 *   there (lm_free, lm_free_sized or lm_free_aligned_sized): cross-thread frees. Two rounds run the
 *   same work (same seed) with new threads; the second must fit the memory
 *   the first threads handed back when they ended (footprint after round 2 within
 *   ROUND2_GROWTH_MAX of round 1). At the end: every block freed (live
 *   blocks back to where they started), lm_check() 0, and the footprint
 *   bounded by the live peak (FOOTPRINT_MAX_FACTOR).
 * large: two threads each take a 2.5 GiB block and churn beside it: a shared
 *   heap past 4 GiB on native and on wasm64 under Node >= 24; refused cleanly
 *   (NULL, counted) on wasm32 and on wasm64 under node 20.
 * written-remote: 200 slots this thread allocated are freed by another
 *   thread (onto their span's remote list), and one is written after free;
 *   this thread's next 400 mallocs of the size take the list back: the write
 *   is reported once (policy continue), no slot is handed out twice nor the
 *   damaged one at all, a live slot beside them keeps its bytes, and the
 *   heap checks clean once all are freed.
 * emptied-remote: this thread (a producer) fills spans of 48 sizes (16 B -
 *   3.7 KiB; more than IDLE_LOCAL spans come back empty at once),
 *   another thread frees every block, and this thread's next malloc takes
 *   the spans back empty; the same blocks again fit the same memory (up to
 *   an eighth), and this thread then frees them itself: the heap checks
 *   clean at each step (idle spans that either thread's frees emptied
 *   share one ring) and every block holds its pattern until it is freed.
 * grown-elsewhere: a thread waits, spinning, while this one grows memory
 *   by 64 MB (the page map moves into the new memory) and fills slots
 *   there; the waiting thread then frees them and allocates. On wasm each
 *   worker's engine learns of another worker's memory.grow late, and checks
 *   atomic accesses against what it knows: the allocator must not trap.
 */
#include "testlib.h"

#define MAX_THREADS 8
#define SLOTS 256
#define MAX_SIZE_BITS 14            /* blocks up to 16 KiB */
#define MAILBOX 64                  /* blocks in flight to the next thread */
#define GiB ((uint64_t)1 << 30)
#define LARGE_BLOCK (5 * GiB / 2)

/* The peak footprint may be this many times the peak of live bytes, plus a
 * fixed allowance per thread: each thread's heap keeps partly used pages of
 * the size classes it used, which others do not share. */
#define FOOTPRINT_MAX_FACTOR 2
#define FOOTPRINT_PER_THREAD ((uint64_t)4 << 20)
/* Round 2 runs the same work on new threads. Had the first threads' pages
 * stayed with them, it would need as much memory again (2x); handed back,
 * it reuses them. Interleavings differ, so not exactly: on a loaded machine
 * workers start late, run more one after another, and round 1's peak can
 * come out a third below a typical round's (wasm32 under load: 1499 KiB,
 * then 2331 KiB, a typical round's own peak). */
#define ROUND2_GROWTH_MAX 1.75

typedef struct handoff {
    void *ptr;
    size_t len;
    uint64_t id;
    size_t alignment;        /* from lm_aligned_alloc, or 0 */
} handoff;

/* Single producer (thread i), single consumer (thread i + 1). */
typedef struct mailbox {
    handoff items[MAILBOX];
    uint32_t head;           /* written by the consumer */
    uint32_t tail;           /* written by the producer */
    int32_t producer_done;
} mailbox;

typedef struct worker {
    int index;
    int count;
    uint64_t ops;
    uint64_t seed;
    mailbox *inbox;
    mailbox *outbox;
    uint64_t received;       /* blocks freed here that another thread allocated */
    uint64_t large_ok;       /* large mode: the big block was served */
} worker;

static mailbox mailboxes[MAX_THREADS];
static worker workers[MAX_THREADS];
/* Bytes requested by all threads and not yet freed, and their peak. */
static uint64_t live_now, live_peak;

static void live_add(size_t len)
{
    uint64_t now = __atomic_add_fetch(&live_now, len, __ATOMIC_RELAXED);
    uint64_t peak = __atomic_load_n(&live_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&live_peak, &peak, now, 1,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

static int mailbox_put(mailbox *box, handoff item)
{
    uint32_t tail = box->tail;
    if (tail - __atomic_load_n(&box->head, __ATOMIC_ACQUIRE) == MAILBOX)
        return 0;
    box->items[tail % MAILBOX] = item;
    __atomic_store_n(&box->tail, tail + 1, __ATOMIC_RELEASE);
    return 1;
}

static int mailbox_take(mailbox *box, handoff *item)
{
    uint32_t head = box->head;
    if (head == __atomic_load_n(&box->tail, __ATOMIC_ACQUIRE))
        return 0;
    *item = box->items[head % MAILBOX];
    __atomic_store_n(&box->head, head + 1, __ATOMIC_RELEASE);
    return 1;
}

/* Frees a block after checking its pattern: by lm_free, or (odd ids) by the
 * sized free that checks the length too. */
static void block_release(handoff block)
{
    CHECK_PATTERN(block.ptr, block.len, block.id);
    __atomic_sub_fetch(&live_now, block.len, __ATOMIC_RELAXED);
    if (!(block.id & 1))
        lm_free(block.ptr);
    else if (block.alignment)
        lm_free_aligned_sized(block.ptr, block.alignment, block.len);
    else
        lm_free_sized(block.ptr, block.len);
}

static uint64_t drain(worker *self)
{
    handoff item;
    uint64_t count = 0;
    while (mailbox_take(self->inbox, &item)) {
        block_release(item);
        count++;
    }
    self->received += count;
    return count;
}

/* A new block of `len` bytes by one of the four ways, filled with id's pattern. */
static handoff block_new(tl_rng *rng, size_t len, uint64_t id)
{
    void *ptr;
    size_t alignment = 0;
    switch (tl_rng_below(rng, 8)) {
    case 0:
        ptr = lm_calloc(1, len);
        REQUIRE(ptr != NULL);
        CHECK_EQ(tl_find_byte_mismatch(ptr, len, 0), TL_NO_MISMATCH);
        break;
    case 1:
        alignment = 64;
        ptr = lm_aligned_alloc(alignment, len);
        REQUIRE(ptr != NULL);
        CHECK(tl_is_aligned(ptr, alignment));
        break;
    case 2: {
        /* Grown by realloc from a smaller block: the prefix must move along. */
        size_t first = len / 2;
        ptr = lm_malloc(first);
        REQUIRE(ptr != NULL);
        tl_fill_pattern(ptr, first, id);
        ptr = lm_realloc(ptr, len);
        REQUIRE(ptr != NULL);
        CHECK_PATTERN(ptr, first, id);
        break;
    }
    default:
        ptr = lm_malloc(len);
        REQUIRE(ptr != NULL);
        break;
    }
    CHECK(tl_is_aligned(ptr, LM_ALIGNMENT));
    tl_fill_pattern(ptr, len, id);
    live_add(len);
    return (handoff){ ptr, len, id, alignment };
}

static void churn(worker *self)
{
    tl_rng rng;
    tl_rng_seed(&rng, self->seed * 1000003u + (uint64_t)self->index);
    handoff slot[SLOTS] = { { 0 } };
    uint64_t next_id = (uint64_t)(self->index + 1) << 40;

    for (uint64_t op = 0; op < self->ops; op++) {
        unsigned at = (unsigned)tl_rng_below(&rng, SLOTS);
        if (slot[at].ptr != NULL) {
            /* One in four goes to the next thread, unless its mailbox is full. */
            if (self->count == 1 || tl_rng_below(&rng, 4) != 0 || !mailbox_put(self->outbox, slot[at]))
                block_release(slot[at]);
        }
        size_t len = tl_rng_log_uniform(&rng, MAX_SIZE_BITS);
        if (len == 0)
            len = 1;
        slot[at] = block_new(&rng, len, next_id++);
        if ((op & 15) == 0)
            drain(self);
    }
    for (unsigned at = 0; at < SLOTS; at++)
        if (slot[at].ptr != NULL)
            block_release(slot[at]);
    __atomic_store_n(&self->outbox->producer_done, 1, __ATOMIC_RELEASE);
    /* What the previous thread still sends, until it is done. */
    while (!__atomic_load_n(&self->inbox->producer_done, __ATOMIC_ACQUIRE) || drain(self) > 0)
        drain(self);
}

static void large_run(void *arg)
{
    worker *self = arg;
    unsigned char *big = lm_malloc(LARGE_BLOCK);
    if (big != NULL) {
        self->large_ok = 1;
        big[0] = (unsigned char)self->index;
        big[LARGE_BLOCK - 1] = (unsigned char)~self->index;
    }
    churn(self);
    if (big != NULL) {
        CHECK_EQ(big[0], (unsigned char)self->index);
        CHECK_EQ(big[LARGE_BLOCK - 1], (unsigned char)~self->index);
        lm_free(big);
    }
}

/* The round's threads begin together: a worker that starts late (a wasm
 * worker instantiates first) would find the others done, and a round run
 * one thread after another needs less memory than the next, concurrent
 * one, which the reuse check would take for a leak. */
static int started;

static void churn_run(void *arg)
{
    worker *self = arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < self->count)
        ;
    churn(self);
}

/* Runs `count` threads of `run`; returns the blocks they handed over. */
static uint64_t round_run(void (*run)(void *), int count, uint64_t ops, uint64_t seed)
{
    int handles[MAX_THREADS];
    for (int i = 0; i < count; i++) {
        mailboxes[i] = (mailbox){ .head = 0 };
        workers[i] = (worker){ .index = i, .count = count, .ops = ops, .seed = seed,
                               .inbox = &mailboxes[(i + count - 1) % count],
                               .outbox = &mailboxes[i] };
    }
    started = 0;
    for (int i = 0; i < count; i++) {
        handles[i] = lm_host_thread_start(run, &workers[i]);
        REQUIRE(handles[i] >= 0);
    }
    uint64_t received = 0;
    for (int i = 0; i < count; i++) {
        lm_host_thread_join(handles[i]);
        received += workers[i].received;
    }
    return received;
}

#define REMOTE_SLOTS 200
#define REMOTE_SIZE 48
static void *remote_slots[REMOTE_SLOTS];

static void remote_free_run(void *arg)
{
    (void)arg;
    for (int i = 0; i < REMOTE_SLOTS; i++)
        lm_free(remote_slots[i]);
}

static int written_remote(void)
{
    unsigned char *witness = lm_malloc(REMOTE_SIZE), *again[2 * REMOTE_SLOTS];
    REQUIRE(witness != NULL);
    tl_fill_pattern(witness, REMOTE_SIZE, 99);
    for (int i = 0; i < REMOTE_SLOTS; i++) {
        remote_slots[i] = lm_malloc(REMOTE_SIZE);
        REQUIRE(remote_slots[i] != NULL);
    }
    int handle = lm_host_thread_start(remote_free_run, NULL);
    REQUIRE(handle >= 0);
    lm_host_thread_join(handle);
    unsigned char *damaged = remote_slots[REMOTE_SLOTS / 2];
    __builtin_memset(damaged, 0x55, 8);                     /* a write after free */
    lm_set_policy(LM_POLICY_CONTINUE);
    uint64_t misuses = tl_stats().misuse_count;
    int handed_twice = 0, handed_damaged = 0;
    for (int i = 0; i < 2 * REMOTE_SLOTS; i++) {
        again[i] = lm_malloc(REMOTE_SIZE);
        REQUIRE(again[i] != NULL);
        handed_damaged += again[i] == damaged;
        for (int j = 0; j < i; j++)
            handed_twice += again[j] == again[i];
        __builtin_memset(again[i], 0xAB, REMOTE_SIZE);
    }
    lm_misuse last;
    lm_last_misuse(&last);
    tl_printf("  written after a cross-thread free: %llu report(s), kind %s\n",
              (unsigned long long)(tl_stats().misuse_count - misuses),
              lm_misuse_kind_name((lm_misuse_kind)last.kind));
    CHECK_EQ(tl_stats().misuse_count, misuses + 1);
    CHECK_EQ(last.kind, LM_MISUSE_CORRUPTED);
    CHECK_EQ(handed_twice, 0);
    CHECK_EQ(handed_damaged, 0);
    CHECK_PATTERN(witness, REMOTE_SIZE, 99);
    for (int i = 0; i < 2 * REMOTE_SLOTS; i++)
        lm_free(again[i]);
    lm_free(witness);
    lm_set_policy(LM_POLICY_ABORT);
    CHECK_EQ(lm_check(), 0);
    return tl_finish();
}

#define EMPTIED_CLASSES 48
#define EMPTIED_PER_CLASS 24
#define EMPTIED_BLOCKS (EMPTIED_CLASSES * EMPTIED_PER_CLASS)
static void *emptied_blocks[EMPTIED_BLOCKS];

static size_t emptied_size(int i) { return 16 + 80 * (size_t)(i % EMPTIED_CLASSES); }

static void emptied_fill(void)
{
    for (int i = 0; i < EMPTIED_BLOCKS; i++) {
        emptied_blocks[i] = lm_malloc(emptied_size(i));
        REQUIRE(emptied_blocks[i] != NULL);
        tl_fill_pattern(emptied_blocks[i], emptied_size(i), (uint64_t)i);
    }
}

static int emptied_state;        /* 1: the blocks are ready; 2: the other thread freed them */

/* Started before the blocks are made: a thread's start may allocate (its
 * stack, on wasm), which would then land among them. */
static void emptied_free_run(void *arg)
{
    (void)arg;
    while (__atomic_load_n(&emptied_state, __ATOMIC_ACQUIRE) != 1)
        ;
    for (int i = 0; i < EMPTIED_BLOCKS; i++) {
        CHECK_PATTERN(emptied_blocks[i], emptied_size(i), (uint64_t)i);
        lm_free(emptied_blocks[i]);
    }
    __atomic_store_n(&emptied_state, 2, __ATOMIC_RELEASE);
}

static int emptied_remote(void)
{
    lm_stats_t start = tl_stats();
    int handle = lm_host_thread_start(emptied_free_run, NULL);
    REQUIRE(handle >= 0);
    emptied_fill();
    __atomic_store_n(&emptied_state, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&emptied_state, __ATOMIC_ACQUIRE) != 2)
        ;
    void *probe = lm_malloc(24);              /* takes the spans the other thread emptied */
    REQUIRE(probe != NULL);
    CHECK_EQ(lm_check(), 0);
    uint64_t footprint = tl_stats().footprint;
    emptied_fill();
    tl_printf("  footprint %llu KiB after the other thread's frees, %llu KiB after the same blocks again\n",
              (unsigned long long)(footprint >> 10), (unsigned long long)(tl_stats().footprint >> 10));
    /* The emptied spans serve again, or went back to the page layer and
     * their memory does: had it stayed out of reach, the blocks would
     * need as much again. (Spans made anew may not fit the holes the old
     * ones left between descriptor tables: an eighth of room.) */
    CHECK(tl_stats().footprint <= footprint + footprint / 8);
    CHECK_EQ(lm_check(), 0);
    lm_host_thread_join(handle);
    for (int i = 0; i < EMPTIED_BLOCKS; i++) {
        CHECK_PATTERN(emptied_blocks[i], emptied_size(i), (uint64_t)i);
        lm_free(emptied_blocks[i]);
    }
    lm_free(probe);
    CHECK_EQ(lm_check(), 0);
    CHECK_EQ(tl_stats().live_blocks, start.live_blocks);
    return tl_finish();
}

#define GROWN_BLOCKS 400
#define GROWN_BLOCK_SIZE (160 << 10)
#define GROWN_SLOTS 64
static void *grown_slots[GROWN_SLOTS];
static int grown_state;          /* 1: the other thread spins; 2: slots are ready */

static void grown_free_run(void *arg)
{
    (void)arg;
    __atomic_store_n(&grown_state, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&grown_state, __ATOMIC_ACQUIRE) != 2)
        ;
    for (int i = 0; i < GROWN_SLOTS; i++)
        lm_free(grown_slots[i]);
    for (int i = 0; i < GROWN_SLOTS; i++) {
        grown_slots[i] = lm_malloc(24);
        REQUIRE(grown_slots[i] != NULL);
    }
}

static int grown_elsewhere(void)
{
    static void *blocks[GROWN_BLOCKS];
    uint64_t footprint = tl_stats().footprint;
    int handle = lm_host_thread_start(grown_free_run, NULL);
    REQUIRE(handle >= 0);
    while (__atomic_load_n(&grown_state, __ATOMIC_ACQUIRE) != 1)
        ;
    for (int i = 0; i < GROWN_BLOCKS; i++) {
        blocks[i] = lm_malloc(GROWN_BLOCK_SIZE);
        REQUIRE(blocks[i] != NULL);
    }
    for (int i = 0; i < GROWN_SLOTS; i++) {
        grown_slots[i] = lm_malloc(16 + 16 * (size_t)i);
        REQUIRE(grown_slots[i] != NULL);
    }
    tl_printf("  footprint %llu KiB, then %llu KiB while the other thread waited\n",
              (unsigned long long)(footprint >> 10), (unsigned long long)(tl_stats().footprint >> 10));
    __atomic_store_n(&grown_state, 2, __ATOMIC_RELEASE);
    lm_host_thread_join(handle);
    for (int i = 0; i < GROWN_SLOTS; i++)
        lm_free(grown_slots[i]);
    for (int i = 0; i < GROWN_BLOCKS; i++)
        lm_free(blocks[i]);
    CHECK(tl_stats().footprint >= footprint + (uint64_t)GROWN_BLOCKS * GROWN_BLOCK_SIZE);
    CHECK_EQ(lm_check(), 0);
    return tl_finish();
}

int main(int argc, char **argv)
{
    tl_begin("threads");
    int count = (int)tl_arg_u64(argc, argv, "--threads", 4);
    uint64_t ops = tl_arg_u64(argc, argv, "--ops", 40000);
    uint64_t seed = tl_arg_u64(argc, argv, "--seed", 1);
    const char *mode = tl_arg_str(argc, argv, "--mode");
    REQUIRE(count >= 1 && count <= MAX_THREADS);
    tl_printf("  %d threads, %llu operations each, seed %llu\n", count, (unsigned long long)ops,
              (unsigned long long)seed);
    lm_stats_t start = tl_stats();

    if (mode != NULL && tl_streq(mode, "large")) {
        int expect = tl_target_holds_past_4gib();
        round_run(large_run, 2, ops, seed);
        lm_stats_t after = tl_stats();
        unsigned served = (unsigned)(workers[0].large_ok + workers[1].large_ok);
        tl_printf("  large blocks served: %u of 2, peak footprint %llu MiB\n", served,
                  (unsigned long long)(after.peak_footprint >> 20));
        if (expect) {
            CHECK_EQ(served, 2);
            CHECK(after.peak_footprint > 5 * GiB);
        } else {
            CHECK(after.failed_allocs > start.failed_allocs);
        }
        CHECK_EQ(after.live_blocks, start.live_blocks);
        return tl_finish();
    }

    if (mode != NULL && tl_streq(mode, "written-remote"))
        return written_remote();
    if (mode != NULL && tl_streq(mode, "grown-elsewhere"))
        return grown_elsewhere();
    if (mode != NULL && tl_streq(mode, "emptied-remote"))
        return emptied_remote();
    REQUIRE(mode == NULL || tl_streq(mode, "churn"));
    uint64_t received = round_run(churn_run, count, ops, seed);
    lm_stats_t first = tl_stats();
    received += round_run(churn_run, count, ops, seed);
    lm_stats_t second = tl_stats();

    tl_printf("  cross-thread frees: %llu\n", (unsigned long long)received);
    tl_printf("  footprint after round 1: %llu KiB, after round 2: %llu KiB\n",
              (unsigned long long)(first.footprint >> 10), (unsigned long long)(second.footprint >> 10));
    if (count > 1)
        CHECK(received > 0);
    CHECK_EQ(first.live_blocks, start.live_blocks);
    CHECK_EQ(second.live_blocks, start.live_blocks);
    CHECK_EQ(second.live_bytes, start.live_bytes);
    CHECK_EQ(live_now, 0);
    tl_printf("  peak footprint %llu KiB, peak of live bytes %llu KiB\n",
              (unsigned long long)(second.peak_footprint >> 10), (unsigned long long)(live_peak >> 10));
    CHECK(second.peak_footprint <= FOOTPRINT_MAX_FACTOR * live_peak + (uint64_t)count * FOOTPRINT_PER_THREAD);
    CHECK((double)second.peak_footprint <= ROUND2_GROWTH_MAX * (double)first.peak_footprint);
    return tl_finish();
}
