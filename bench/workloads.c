/* The benchmark workloads (see workloads.h). Freestanding C11: the same source
 * runs natively and on wasm32/wasm64, calling the allocator under test
 * through allocators/allocator.h and nothing else for its blocks.
 *
 * Patterns. A block of `size` bytes gets a pattern derived from its tag:
 *  - sparse (default, what is timed): the 8-byte word at offset 0, one word
 *    every 4 KiB (so every page of a large block is touched, as a program
 *    would), the last whole word, and the trailing size % 8 bytes;
 *  - full (--verify=full, the smoke test): every byte.
 * Blocks are only ever 8-byte aligned or better, so words are aligned.
 */
#include "workloads.h"

#include "allocators/allocator.h"
#include "harness.h"
#include "lmtrace_reader.h"

#define PAGE_STRIDE 4096u

/* ---------------------------------------------------------------- patterns */

static inline uint64_t pattern_word(uint64_t tag, size_t offset)
{
    return tag ^ ((uint64_t)offset * 0x9e3779b97f4a7c15u);
}

static inline uint8_t pattern_byte(uint64_t tag, size_t offset)
{
    return (uint8_t)((tag >> ((offset & 7) * 8)) ^ offset ^ 0x5a);
}

static inline void word_store(unsigned char *at, uint64_t value)
{
    __builtin_memcpy(at, &value, sizeof value);
}

static inline uint64_t word_load(const unsigned char *at)
{
    uint64_t value;
    __builtin_memcpy(&value, at, sizeof value);
    return value;
}

static void verify_fail(bench_run *run, const char *what, const void *ptr, size_t size)
{
    if (run->verify_failures++ == 0) {
        str_fmt(run->first_failure, sizeof run->first_failure,
                "%s (block %U of %Z bytes, %U allocator calls into the pass)",
                what, (uint64_t)(uintptr_t)ptr, size, run_calls_total(run));
    }
}

/* Writes the pattern of `size` bytes. */
static void pattern_write(const bench_run *run, unsigned char *block, size_t size, uint64_t tag)
{
    size_t words_end = size & ~(size_t)7;
    if (run->full_verify) {
        for (size_t offset = 0; offset < words_end; offset += 8)
            word_store(block + offset, pattern_word(tag, offset));
    } else if (words_end > 0) {
        for (size_t offset = 0; offset < words_end; offset += PAGE_STRIDE)
            word_store(block + offset, pattern_word(tag, offset));
        word_store(block + words_end - 8, pattern_word(tag, words_end - 8));
    }
    for (size_t offset = words_end; offset < size; offset++)
        block[offset] = pattern_byte(tag, offset);
}

/* Checks the pattern of a `size`-byte block, only where it lies below `limit`
 * (the preserved prefix after a realloc). Returns 1 if intact. */
static int pattern_check(const bench_run *run, const unsigned char *block, size_t size,
                         uint64_t tag, size_t limit)
{
    size_t words_end = size & ~(size_t)7;
    if (run->full_verify) {
        for (size_t offset = 0; offset < words_end && offset + 8 <= limit; offset += 8) {
            if (word_load(block + offset) != pattern_word(tag, offset))
                return 0;
        }
    } else if (words_end > 0) {
        for (size_t offset = 0; offset < words_end && offset + 8 <= limit; offset += PAGE_STRIDE) {
            if (word_load(block + offset) != pattern_word(tag, offset))
                return 0;
        }
        size_t last = words_end - 8;
        if (last + 8 <= limit && word_load(block + last) != pattern_word(tag, last))
            return 0;
    }
    for (size_t offset = words_end; offset < size && offset < limit; offset++) {
        if (block[offset] != pattern_byte(tag, offset))
            return 0;
    }
    return 1;
}

/* calloc's promise: the bytes the pattern will cover (or all, if full) are 0. */
static int zero_check(const bench_run *run, const unsigned char *block, size_t size)
{
    if (run->full_verify) {
        for (size_t offset = 0; offset < size; offset++) {
            if (block[offset] != 0)
                return 0;
        }
        return 1;
    }
    size_t words_end = size & ~(size_t)7;
    for (size_t offset = 0; offset < words_end; offset += PAGE_STRIDE) {
        if (word_load(block + offset) != 0)
            return 0;
    }
    if (words_end > 0 && word_load(block + words_end - 8) != 0)
        return 0;
    for (size_t offset = words_end; offset < size; offset++) {
        if (block[offset] != 0)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------- checked allocator */

const char *const bench_call_names[BENCH_CALL_KINDS] = { "malloc", "calloc", "memalign", "realloc", "free" };

uint64_t run_calls_total(const bench_run *run)
{
    uint64_t total = 0;
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++)
        total += run->calls[kind];
    return total;
}

static inline void live_add(bench_run *run, uint64_t size)
{
    run->live_bytes += size;
    if (run->live_bytes > run->peak_live_bytes)
        run->peak_live_bytes = run->live_bytes;
}

static inline uint64_t tag_new(bench_run *run)
{
    return ++run->next_tag * 0xd1342543de82ef95u + run->seed;
}

/* A returned block: non-null (else counted out of memory) and aligned.
 * C only promises alignment for the objects that fit: a block smaller than
 * the allocator's alignment may be aligned to its size rounded down to a
 * power of two (mimalloc gives 8-byte blocks 8-byte alignment). A requested
 * alignment (memalign) holds whatever the size. */
static int block_accept(bench_run *run, void *block, size_t size, size_t requested)
{
    size_t alignment = bench_allocator_alignment;
    if (block == NULL) {
        if (size != 0)
            run->out_of_memory++;
        return 0;
    }
    while (alignment > 1 && size < alignment)
        alignment >>= 1;
    if (requested > alignment)
        alignment = requested;
    if (((uintptr_t)block & (alignment - 1)) != 0)
        verify_fail(run, "misaligned block", block, size);
    return 1;
}

/* What every checked allocation does once its block passed the checks:
 * tag it, write its pattern, count it live. */
static void *block_taken(bench_run *run, unsigned char *block, size_t size, uint64_t *tag)
{
    *tag = tag_new(run);
    pattern_write(run, block, size, *tag);
    live_add(run, size);
    return block;
}

static void *checked_malloc(bench_run *run, size_t size, uint64_t *tag)
{
    unsigned char *block = bench_malloc(size);
    run->calls[BENCH_MALLOC]++;
    if (!block_accept(run, block, size, 0))
        return NULL;
    return block_taken(run, block, size, tag);
}

static void *checked_calloc(bench_run *run, size_t count, size_t size, uint64_t *tag)
{
    unsigned char *block = bench_calloc(count, size);
    run->calls[BENCH_CALLOC]++;
    size_t total = count * size;
    if (!block_accept(run, block, total, 0))
        return NULL;
    if (!zero_check(run, block, total))
        verify_fail(run, "calloc block is not zero", block, total);
    return block_taken(run, block, total, tag);
}

static void *checked_memalign(bench_run *run, size_t alignment, size_t size, uint64_t *tag)
{
    unsigned char *block = bench_memalign(alignment, size);
    run->calls[BENCH_MEMALIGN]++;
    if (!block_accept(run, block, size, alignment))
        return NULL;
    return block_taken(run, block, size, tag);
}

static void checked_free(bench_run *run, void *block, size_t size, uint64_t tag)
{
    if (block != NULL) {
        if (!pattern_check(run, block, size, tag, size))
            verify_fail(run, "block contents changed before free", block, size);
        run->live_bytes -= size;
    }
    bench_free(block);
    run->calls[BENCH_FREE]++;
}

/* Grows or shrinks a block; the tag stays, the pattern is checked over the
 * preserved prefix and rewritten for the new size. On failure the old block
 * stays as it was (C's realloc contract) and NULL is returned. */
static void *checked_realloc(bench_run *run, void *block, size_t old_size, size_t new_size, uint64_t *tag)
{
    if (block == NULL)
        return checked_malloc(run, new_size, tag);
    unsigned char *moved = bench_realloc(block, new_size);
    run->calls[BENCH_REALLOC]++;
    if (!block_accept(run, moved, new_size, 0))
        return NULL;
    size_t kept = old_size < new_size ? old_size : new_size;
    if (!pattern_check(run, moved, old_size, *tag, kept))
        verify_fail(run, "realloc lost the preserved prefix", moved, new_size);
    pattern_write(run, moved, new_size, *tag);
    run->live_bytes -= old_size;
    live_add(run, new_size);
    return moved;
}

/* --------------------------------------------------- harness-side tables */

typedef struct slot {
    unsigned char *block;
    size_t size;
    uint64_t tag;
} slot;

static slot *slots_take(size_t count)
{
    slot *table = arena_take(count * sizeof(slot));
    if (table == NULL)
        bench_fail("the harness arena cannot hold %Z slots; lower --scale", count);
    for (size_t index = 0; index < count; index++)
        table[index] = (slot){ NULL, 0, 0 };   /* touch now, not in the timed pass */
    return table;
}

static size_t scaled(const bench_run *run, double base, size_t minimum)
{
    double value = base * run->scale;
    return value < (double)minimum ? minimum : (size_t)value;
}

static bench_rng workload_rng;
static slot *table;
static size_t table_count;

static void table_free_all(bench_run *run)
{
    for (size_t index = 0; index < table_count; index++) {
        if (table[index].block != NULL)
            checked_free(run, table[index].block, table[index].size, table[index].tag);
        table[index].block = NULL;
    }
}

/* ------------------------------------------------- LIFO churn, small objects */

/* A stack of small objects (8–128 bytes): a base of 32k objects, then bursts
 * of 1–256 pushes popped again in reverse order, as function-local and
 * scratch objects are. */
#define LIFO_BASE 32768
#define LIFO_BURST_MAX 256

static void lifo_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    table_count = scaled(run, LIFO_BASE, 64) + LIFO_BURST_MAX;
    table = slots_take(table_count);
    rng_seed(&workload_rng, run->seed ^ 0x11f0);
}

static uint64_t lifo_pass(bench_run *run)
{
    size_t base = table_count - LIFO_BURST_MAX;
    size_t rounds = scaled(run, 4096, 4);
    uint64_t started = bench_now_ns();
    size_t depth = 0;
    for (; depth < base; depth++) {
        slot *entry = &table[depth];
        entry->size = 8 * (1 + (size_t)rng_below(&workload_rng, 16));
        entry->block = checked_malloc(run, entry->size, &entry->tag);
    }
    for (size_t round = 0; round < rounds; round++) {
        size_t burst = 1 + (size_t)rng_below(&workload_rng, LIFO_BURST_MAX);
        for (size_t pushed = 0; pushed < burst; pushed++, depth++) {
            slot *entry = &table[depth];
            entry->size = 8 * (1 + (size_t)rng_below(&workload_rng, 16));
            entry->block = checked_malloc(run, entry->size, &entry->tag);
        }
        while (depth > base) {
            slot *entry = &table[--depth];
            checked_free(run, entry->block, entry->size, entry->tag);
            entry->block = NULL;
        }
    }
    while (depth > 0) {
        slot *entry = &table[--depth];
        checked_free(run, entry->block, entry->size, entry->tag);
        entry->block = NULL;
    }
    return bench_now_ns() - started;
}

/* ------------------------------------- random sizes, bounded live set */

/* 16k slots; each step frees a random slot's block and allocates a new one
 * of a log-uniform size in [8 B, 4 KiB). */
#define RANDOM_SLOTS 16384

/* The pass shared by random_small and large_blocks: each step frees a
 * random slot's block and puts a new log-uniform [low, high) one there. */
static uint64_t replace_random_slots(bench_run *run, size_t steps, uint64_t low, uint64_t high)
{
    uint64_t started = bench_now_ns();
    for (size_t step = 0; step < steps; step++) {
        slot *entry = &table[rng_below(&workload_rng, table_count)];
        if (entry->block != NULL)
            checked_free(run, entry->block, entry->size, entry->tag);
        entry->size = (size_t)rng_log_uniform(&workload_rng, low, high);
        entry->block = checked_malloc(run, entry->size, &entry->tag);
    }
    table_free_all(run);
    return bench_now_ns() - started;
}

static void random_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    table_count = RANDOM_SLOTS;
    table = slots_take(table_count);
    rng_seed(&workload_rng, run->seed ^ 0x2a4d);
}

static uint64_t random_pass(bench_run *run)
{
    return replace_random_slots(run, scaled(run, 500000, 100), 8, 4096);
}

/* ----------------------------------------------------------- mixed lifetimes */

/* Every allocation (16 B–1 KiB) is long-lived with probability 1/8 and joins
 * a FIFO of 16k blocks, else short-lived in a FIFO of 256: long-lived blocks
 * end up scattered between short-lived ones, the classic fragmentation case. */
#define MIXED_LONG 16384
#define MIXED_SHORT 256

static size_t mixed_long_head, mixed_short_head;

static void mixed_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    table_count = MIXED_LONG + MIXED_SHORT;
    table = slots_take(table_count);
    rng_seed(&workload_rng, run->seed ^ 0x3b5e);
}

static uint64_t mixed_pass(bench_run *run)
{
    size_t steps = scaled(run, 500000, 100);
    slot *long_ring = table, *short_ring = table + MIXED_LONG;
    mixed_long_head = mixed_short_head = 0;
    uint64_t started = bench_now_ns();
    for (size_t step = 0; step < steps; step++) {
        slot *entry;
        if (rng_below(&workload_rng, 8) == 0) {
            entry = &long_ring[mixed_long_head];
            mixed_long_head = (mixed_long_head + 1) % MIXED_LONG;
        } else {
            entry = &short_ring[mixed_short_head];
            mixed_short_head = (mixed_short_head + 1) % MIXED_SHORT;
        }
        if (entry->block != NULL)
            checked_free(run, entry->block, entry->size, entry->tag);
        entry->size = (size_t)rng_log_uniform(&workload_rng, 16, 1024);
        entry->block = checked_malloc(run, entry->size, &entry->tag);
    }
    table_free_all(run);
    return bench_now_ns() - started;
}

/* ------------------------------------------- realloc growth of many vectors */

/* 1024 vectors grow by appending 8–64 bytes per realloc (a string builder,
 * a growing array); a vector past 8 KiB is freed and starts again empty. */
#define VECTOR_COUNT 1024
#define VECTOR_LIMIT (8u << 10)

static void vectors_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    table_count = VECTOR_COUNT;
    table = slots_take(table_count);
    rng_seed(&workload_rng, run->seed ^ 0x4c6f);
}

static uint64_t vectors_pass(bench_run *run)
{
    size_t steps = scaled(run, 200000, 100);
    uint64_t started = bench_now_ns();
    for (size_t step = 0; step < steps; step++) {
        slot *entry = &table[rng_below(&workload_rng, table_count)];
        size_t grown = entry->size + 8 + (size_t)rng_below(&workload_rng, 57);
        if (grown > VECTOR_LIMIT) {
            checked_free(run, entry->block, entry->size, entry->tag);
            entry->block = NULL;
            entry->size = 0;
            continue;
        }
        unsigned char *moved = checked_realloc(run, entry->block, entry->size, grown, &entry->tag);
        if (moved != NULL) {
            entry->block = moved;
            entry->size = grown;
        }
    }
    table_free_all(run);
    for (size_t index = 0; index < table_count; index++)
        table[index].size = 0;
    return bench_now_ns() - started;
}

/* -------------------------------------------------------------- large blocks */

/* 16 slots of log-uniform 64 KiB–4 MiB blocks replaced at random; the sparse
 * pattern touches every 4 KiB page, as a program filling a buffer would. */
#define LARGE_SLOTS 16

static void large_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    table_count = LARGE_SLOTS;
    table = slots_take(table_count);
    rng_seed(&workload_rng, run->seed ^ 0x5d70);
}

static uint64_t large_pass(bench_run *run)
{
    return replace_random_slots(run, scaled(run, 2000, 20), 64u << 10, 4u << 20);
}

/* ------------------------------------------------------ tree and list build */

/* A binary search tree of 50k nodes (two child pointers, key, payload
 * pointer: the node grows with the pointer width), each with an 8–64 byte
 * payload; an in-order walk builds a linked list of cells pointing at the
 * nodes; the list is walked and checked (order, key sum, payloads), then
 * everything is freed. Pointer chasing through the allocator's layout. */
typedef struct tree_node {
    struct tree_node *left, *right;
    uint64_t key;
    unsigned char *payload;
    size_t payload_size;
    uint64_t payload_tag;
} tree_node;

typedef struct list_cell {
    struct list_cell *next;
    tree_node *node;
} list_cell;

static tree_node **tree_stack;
static size_t tree_nodes;

static void tree_setup(bench_run *run, const char *trace_path)
{
    (void)trace_path;
    tree_nodes = scaled(run, 50000, 16);
    /* The walk's explicit stack: deep enough for any tree of this many nodes. */
    tree_stack = arena_take(tree_nodes * sizeof *tree_stack);
    if (tree_stack == NULL)
        bench_fail("the harness arena cannot hold a %Z-node walk stack; lower --scale", tree_nodes);
    for (size_t index = 0; index < tree_nodes; index++)
        tree_stack[index] = NULL;
    rng_seed(&workload_rng, run->seed ^ 0x6e81);
}

static uint64_t tree_pass(bench_run *run)
{
    uint64_t started = bench_now_ns();
    tree_node *root = NULL;
    uint64_t key_sum = 0;
    size_t built = 0;
    for (size_t count = 0; count < tree_nodes; count++) {
        uint64_t node_tag;
        tree_node *node = checked_malloc(run, sizeof *node, &node_tag);
        if (node == NULL)
            continue;
        node->left = node->right = NULL;
        node->key = rng_next(&workload_rng) >> 1;
        node->payload_size = 8 + (size_t)rng_below(&workload_rng, 57);
        node->payload = checked_malloc(run, node->payload_size, &node->payload_tag);
        key_sum += node->key;
        built++;
        tree_node **link = &root;
        while (*link != NULL)
            link = node->key < (*link)->key ? &(*link)->left : &(*link)->right;
        *link = node;
    }

    /* In-order walk, appending a cell per node to a list. */
    list_cell *head = NULL, **tail = &head;
    size_t depth = 0;
    tree_node *cursor = root;
    while (cursor != NULL || depth > 0) {
        while (cursor != NULL) {
            tree_stack[depth++] = cursor;
            cursor = cursor->left;
        }
        cursor = tree_stack[--depth];
        uint64_t cell_tag;
        list_cell *cell = checked_malloc(run, sizeof *cell, &cell_tag);
        if (cell != NULL) {
            cell->next = NULL;
            cell->node = cursor;
            *tail = cell;
            tail = &cell->next;
        }
        cursor = cursor->right;
    }

    /* Walk the list: keys in order, all present, payloads intact; free cells. */
    uint64_t previous = 0, walked_sum = 0;
    size_t walked = 0;
    for (list_cell *cell = head; cell != NULL;) {
        tree_node *node = cell->node;
        if (node->key < previous)
            verify_fail(run, "tree walk out of order", node, sizeof *node);
        previous = node->key;
        walked_sum += node->key;
        walked++;
        if (node->payload != NULL && !pattern_check(run, node->payload, node->payload_size,
                                                    node->payload_tag, node->payload_size))
            verify_fail(run, "tree payload changed", node->payload, node->payload_size);
        list_cell *next = cell->next;
        bench_free(cell);
        run->calls[BENCH_FREE]++;
        run->live_bytes -= sizeof *cell;
        cell = next;
    }
    if (walked != built || walked_sum != key_sum)
        verify_fail(run, "tree lost or changed nodes", root, sizeof *root);

    /* Free the tree, children before parents. Nodes' own patterns were
     * overwritten by their fields on purpose: the key sum checked them. */
    depth = 0;
    if (root != NULL)
        tree_stack[depth++] = root;
    while (depth > 0) {
        tree_node *node = tree_stack[--depth];
        if (node->left != NULL)
            tree_stack[depth++] = node->left;
        if (node->right != NULL)
            tree_stack[depth++] = node->right;
        checked_free(run, node->payload, node->payload_size, node->payload_tag);
        bench_free(node);
        run->calls[BENCH_FREE]++;
        run->live_bytes -= sizeof *node;
    }
    return bench_now_ns() - started;
}

/* ------------------------------------------------------------ trace replay */

/* The trace is parsed (and its liveness rules checked) before the clock
 * starts, into chunks of events in the harness arena; a trace that fits in
 * one chunk is parsed once and replayed every pass, a longer one is re-read
 * chunk by chunk, each chunk parsed untimed and replayed timed. */
static lmtrace_reader replay_reader;
static const char *replay_path;
static lmtrace_event *replay_events;
static size_t replay_capacity;      /* events a chunk can hold */
static size_t replay_loaded;        /* events in the chunk now */
static int replay_whole;            /* the whole trace is in one chunk */
static uint8_t *replay_live;        /* liveness bitmap, for checking rules */
static uint64_t replay_event_base;  /* number of the chunk's first event */

static void replay_open(void)
{
    if (lmtrace_open(&replay_reader, replay_path) != 0)
        bench_fail("%s", replay_reader.error);
}

/* Loads the next chunk; returns the number of events (0 at the end). */
static size_t replay_load(void)
{
    intptr_t got = lmtrace_read(&replay_reader, replay_events, replay_capacity);
    if (got < 0)
        bench_fail("%s: %s", replay_path, replay_reader.error);
    char error[200];
    for (intptr_t index = 0; index < got; index++) {
        if (lmtrace_liveness_apply(replay_live, &replay_events[index],
                                   replay_event_base + (uint64_t)index + 1, error, sizeof error) != 0)
            bench_fail("%s: %s", replay_path, error);
    }
    replay_loaded = (size_t)got;
    return replay_loaded;
}

static void replay_setup(bench_run *run, const char *trace_path)
{
    (void)run;
    if (trace_path == NULL)
        bench_fail("the replay workload needs --trace=<file.lmtrace[.gz]>");
    replay_path = trace_path;
    replay_open();
    table_count = (size_t)replay_reader.slots;
    if (replay_reader.slots > arena_available() / (2 * sizeof(slot)))
        bench_fail("%s: slots=%U needs more harness memory than there is", trace_path, replay_reader.slots);
    table = slots_take(table_count);
    size_t live_bytes = lmtrace_liveness_bytes(replay_reader.slots);
    replay_live = arena_take(live_bytes);
    replay_capacity = arena_available() / sizeof(lmtrace_event);
    replay_events = arena_take(replay_capacity * sizeof(lmtrace_event));
    if (replay_live == NULL || replay_events == NULL || replay_capacity < 1024)
        bench_fail("%s: not enough harness memory to replay", trace_path);
    for (size_t index = 0; index < live_bytes; index++)
        replay_live[index] = 0;
    replay_event_base = 0;
    replay_load();
    /* Whole if everything fit: the next read finds the end. */
    lmtrace_event probe;
    intptr_t more = replay_loaded < replay_capacity ? 0 : lmtrace_read(&replay_reader, &probe, 1);
    if (more < 0)
        bench_fail("%s: %s", replay_path, replay_reader.error);
    replay_whole = more == 0;
    lmtrace_close(&replay_reader);
}

static void replay_events_run(bench_run *run, const lmtrace_event *events, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        const lmtrace_event *event = &events[index];
        slot *entry = &table[event->id];
        size_t size = (size_t)event->size;
        unsigned op = lmtrace_event_op(event);
        if (op != LMTRACE_FREE && (event->size > SIZE_MAX
            || (op == LMTRACE_CALLOC && size != 0 && lmtrace_event_arg(event) > SIZE_MAX / size))) {
            /* More than this target's address space: the call could only fail. */
            run->out_of_memory++;
            if (op != LMTRACE_REALLOC) {
                entry->block = NULL;
                entry->size = 0;
            }
            continue;
        }
        switch (op) {
        case LMTRACE_MALLOC:
            entry->block = checked_malloc(run, size, &entry->tag);
            entry->size = size;
            break;
        case LMTRACE_CALLOC: {
            size_t count_arg = lmtrace_event_arg(event);
            entry->block = checked_calloc(run, count_arg, size, &entry->tag);
            entry->size = count_arg * size;
            break;
        }
        case LMTRACE_MEMALIGN:
            if (lmtrace_event_arg(event) >= sizeof(size_t) * 8) {
                /* An alignment this target cannot express: cannot succeed. */
                run->out_of_memory++;
                entry->block = NULL;
            } else {
                entry->block = checked_memalign(run, (size_t)1 << lmtrace_event_arg(event), size, &entry->tag);
            }
            entry->size = size;
            break;
        case LMTRACE_REALLOC: {
            unsigned char *moved = checked_realloc(run, entry->block, entry->size, size, &entry->tag);
            if (moved != NULL) {
                entry->block = moved;
                entry->size = size;
            }
            break;
        }
        default:
            checked_free(run, entry->block, entry->size, entry->tag);
            entry->block = NULL;
            break;
        }
    }
}

static uint64_t replay_pass(bench_run *run)
{
    if (replay_whole) {
        uint64_t started = bench_now_ns();
        replay_events_run(run, replay_events, replay_loaded);
        return bench_now_ns() - started;
    }
    /* Streamed: re-read from the start, timing only the replay of each chunk. */
    uint64_t elapsed = 0;
    size_t live_bytes = lmtrace_liveness_bytes(table_count);
    for (size_t index = 0; index < live_bytes; index++)
        replay_live[index] = 0;
    replay_event_base = 0;
    replay_open();
    while (replay_load() > 0) {
        uint64_t started = bench_now_ns();
        replay_events_run(run, replay_events, replay_loaded);
        elapsed += bench_now_ns() - started;
        replay_event_base += replay_loaded;
    }
    lmtrace_close(&replay_reader);
    return elapsed;
}

static void replay_finish(bench_run *run)
{
    /* Blocks the traced program never freed: freed here, untimed. */
    table_free_all(run);
}

static void nothing_to_finish(bench_run *run)
{
    (void)run;
}

/* ------------------------------------------------------------------- list */

const workload bench_workloads[] = {
    { "lifo_small", "LIFO churn of 8-128 B objects over a 32k-object base", 0,
      lifo_setup, lifo_pass, nothing_to_finish },
    { "random_small", "log-uniform 8 B-4 KiB, random replacement in 16k slots", 0,
      random_setup, random_pass, nothing_to_finish },
    { "mixed_lifetimes", "16 B-1 KiB, 1/8 long-lived (16k FIFO) among short-lived (256 FIFO)", 0,
      mixed_setup, mixed_pass, nothing_to_finish },
    { "realloc_vectors", "1024 vectors grown by 8-64 B reallocs up to 8 KiB", 0,
      vectors_setup, vectors_pass, nothing_to_finish },
    { "large_blocks", "log-uniform 64 KiB-4 MiB, random replacement in 16 slots", 0,
      large_setup, large_pass, nothing_to_finish },
    { "tree_list", "50k-node search tree + payloads, in-order list, walk, free", 0,
      tree_setup, tree_pass, nothing_to_finish },
    { "replay", "replay of an lmtrace file (--trace)", 1,
      replay_setup, replay_pass, replay_finish },
};

const size_t bench_workload_count = sizeof bench_workloads / sizeof bench_workloads[0];

const workload *workload_find(const char *name)
{
    for (size_t index = 0; index < bench_workload_count; index++) {
        if (str_eq(bench_workloads[index].name, name))
            return &bench_workloads[index];
    }
    return NULL;
}
