/* Thread workloads: the same total work split over 1, 2 or 4 threads, so
 * throughput(T) ÷ throughput(1) is the speed-up and footprint(T) ÷
 * footprint(1) what the threads cost in memory.
 *
 *   bench_threads_<allocator> --workload=churn|larson|prodcons --threads=N
 *       [--seed=N] [--scale=F] [--min-time=S] [--repetitions=N] [--json=PATH]
 *
 * churn     each thread replaces blocks at random in its own share of the
 *           slots (16 B - 1 KiB, log-uniform): independent heaps' work
 * larson    a server (mimalloc-bench's larson, in rounds): the slots are in
 *           T chunks, and in each round every thread works on the chunk the
 *           previous thread had, so it frees blocks another thread allocated
 * prodcons  T/2 producers allocate (16 - 256 B) and pass every block through
 *           a ring to their consumer, which checks and frees it: every free
 *           is cross-thread (one thread: produce a batch, then consume it);
 *           the rings hold RING blocks in all, so at most as many are live
 *           at any thread count
 *
 * Every block gets its first and last word written and checked before it is
 * freed. Threads start once per run; each timed pass starts them together
 * and ends when the last is done. Throughput is allocator calls (malloc and
 * free) per second, the median of the repetitions, each repeating passes
 * for at least --min-time; the first pass (cold) is not timed. The
 * footprint is the allocator's (bench_allocator_usage) after all passes.
 * Allocators that are not thread-safe (BENCH_LOCKED=1: dlmalloc, emmalloc)
 * run behind one lock, as their own builds with locks would.
 */
#include "../allocators/allocator.h"
#include "../harness.h"
#include "host.h"
#include "sync.h"

#ifndef BENCH_LOCKED
#define BENCH_LOCKED 0
#endif
#ifndef BENCH_TARGET_NAME
#define BENCH_TARGET_NAME "unknown"
#endif

#define MAX_THREADS 8
#define CHURN_SLOTS 8192
#define CHURN_OPS 400000          /* per pass, all threads together, at --scale=1 */
#define LARSON_ROUNDS 8
#define RING 1024                 /* blocks in flight from producers to consumers, all pairs together */
#define LINE 128                  /* what threads write apart (x86 prefetches lines in pairs) */
#define MAX_REPETITIONS 15

/* ----------------------------------------------------------- allocator -- */

#if BENCH_LOCKED
static sync_mutex allocator_lock;
#endif

static void *block_malloc(size_t size)
{
#if BENCH_LOCKED
    sync_lock(&allocator_lock);
    void *ptr = bench_malloc(size);
    sync_unlock(&allocator_lock);
    return ptr;
#else
    return bench_malloc(size);
#endif
}

static void block_free(void *ptr)
{
#if BENCH_LOCKED
    sync_lock(&allocator_lock);
    bench_free(ptr);
    sync_unlock(&allocator_lock);
#else
    bench_free(ptr);
#endif
}

/* --------------------------------------------------------------- blocks -- */

typedef struct block {
    uint64_t *words;
    uint32_t len;       /* bytes */
    uint32_t tag;
} block;

static uint64_t verify_failures;

static block block_new(size_t len, uint32_t tag)
{
    block b = { block_malloc(len), (uint32_t)len, tag };
    if (b.words == NULL)
        bench_fail("%s: out of memory (%Z bytes)", bench_allocator_name, len);
    b.words[0] = tag;
    b.words[len / 8 - 1] = ~(uint64_t)tag;
    return b;
}

static void block_drop(block b)
{
    if (b.words[0] != b.tag || b.words[b.len / 8 - 1] != ~(uint64_t)b.tag)
        __atomic_fetch_add(&verify_failures, 1, __ATOMIC_RELAXED);
    block_free(b.words);
}

/* ------------------------------------------------------------ workloads -- */

typedef struct worker worker;
typedef void (*workload_fn)(worker *self);

/* Each side's index on a line of its own, and each worker's state: a
 * line two threads write would time the harness, not the allocator. */
typedef struct ring {
    block items[RING];
    _Alignas(LINE) int32_t head;   /* consumer's */
    _Alignas(LINE) int32_t tail;   /* producer's */
    int32_t capacity;              /* RING / pairs: the same blocks in flight at any thread count */
} ring;

struct worker {
    _Alignas(LINE) int index;
    int count;           /* threads in the run */
    uint64_t ops;        /* this thread's share of the pass */
    bench_rng rng;
    uint64_t calls;      /* allocator calls in the pass */
};

static workload_fn workload;
static worker workers[MAX_THREADS];
static block slots[CHURN_SLOTS];
static ring rings[MAX_THREADS / 2];
static sync_barrier round_barrier;

/* Slots [first, first + count): replace blocks at random, `ops` times. */
static void replace(worker *self, unsigned first, unsigned count, uint64_t ops, uint64_t low, uint64_t high)
{
    for (uint64_t op = 0; op < ops; op++) {
        unsigned at = first + (unsigned)rng_below(&self->rng, count);
        if (slots[at].words != NULL) {
            block_drop(slots[at]);
            self->calls++;
        }
        slots[at] = block_new((size_t)rng_log_uniform(&self->rng, low, high), (uint32_t)op);
        self->calls++;
    }
}

static void slots_clear(unsigned first, unsigned count, worker *self)
{
    for (unsigned at = first; at < first + count; at++) {
        if (slots[at].words != NULL) {
            block_drop(slots[at]);
            slots[at].words = NULL;
            self->calls++;
        }
    }
}

static void churn(worker *self)
{
    unsigned share = CHURN_SLOTS / (unsigned)self->count;
    replace(self, share * (unsigned)self->index, share, self->ops, 16, 1024);
    slots_clear(share * (unsigned)self->index, share, self);
}

static void larson(worker *self)
{
    unsigned share = CHURN_SLOTS / (unsigned)self->count;
    for (int round = 0; round < LARSON_ROUNDS; round++) {
        unsigned chunk = (unsigned)(self->index + round) % (unsigned)self->count;
        replace(self, share * chunk, share, self->ops / LARSON_ROUNDS, 16, 512);
        sync_barrier_wait(&round_barrier);
    }
    /* Each thread clears the chunk it ended on. */
    slots_clear(share * ((unsigned)(self->index + LARSON_ROUNDS - 1) % (unsigned)self->count), share, self);
}

/* Each side sleeps on the other's index; after moving its own it looks at
 * the other's again (sequentially consistent, so one of the two sees the
 * other's move) and wakes it if it may be asleep. */
static void ring_put(ring *r, block b)
{
    int32_t tail = r->tail;
    int32_t head;
    while (tail - (head = __atomic_load_n(&r->head, __ATOMIC_SEQ_CST)) == r->capacity)
        sync_wait(&r->head, head);
    r->items[tail % r->capacity] = b;
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) == tail)
        sync_wake(&r->tail, 1);   /* it was empty: the consumer may sleep */
}

static block ring_take(ring *r)
{
    int32_t head = r->head;
    int32_t tail;
    while ((tail = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST)) == head)
        sync_wait(&r->tail, tail);
    block b = r->items[head % r->capacity];
    __atomic_store_n(&r->head, head + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->tail, __ATOMIC_SEQ_CST) - head == r->capacity)
        sync_wake(&r->head, 1);   /* it was full: the producer may sleep */
    return b;
}

static void prodcons(worker *self)
{
    if (self->count == 1) {
        block batch[RING];
        for (uint64_t done = 0; done < self->ops; done += RING) {
            unsigned n = self->ops - done < RING ? (unsigned)(self->ops - done) : RING;
            for (unsigned i = 0; i < n; i++)
                batch[i] = block_new((size_t)rng_log_uniform(&self->rng, 16, 256), i);
            for (unsigned i = 0; i < n; i++)
                block_drop(batch[i]);
            self->calls += 2 * n;
        }
        return;
    }
    ring *r = &rings[self->index / 2];
    uint64_t ops = 2 * self->ops;   /* each pair moves its two threads' share */
    if (self->index % 2 == 0) {
        for (uint64_t op = 0; op < ops; op++)
            ring_put(r, block_new((size_t)rng_log_uniform(&self->rng, 16, 256), (uint32_t)op));
    } else {
        for (uint64_t op = 0; op < ops; op++)
            block_drop(ring_take(r));
    }
    self->calls += ops;
}

/* ------------------------------------------------------------ the runs -- */

/* A pass: the main thread raises `pass_generation`; every worker runs the
 * workload and counts itself into `pass_done`; the last one wakes main. */
static int32_t pass_generation, pass_done, stopping;

static void worker_run(void *arg)
{
    worker *self = arg;
    int32_t seen = 0;
    for (;;) {
        int32_t now;
        while ((now = __atomic_load_n(&pass_generation, __ATOMIC_ACQUIRE)) == seen)
            sync_wait(&pass_generation, seen);
        seen = now;
        if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
            return;
        workload(self);
        if (__atomic_add_fetch(&pass_done, 1, __ATOMIC_ACQ_REL) == self->count)
            sync_wake(&pass_done, 1);
    }
}

/* Runs one pass on all threads; returns its wall time in ns. */
static uint64_t pass_run(int count)
{
    __atomic_store_n(&pass_done, 0, __ATOMIC_RELAXED);
    uint64_t started = bench_now_ns();
    __atomic_add_fetch(&pass_generation, 1, __ATOMIC_RELEASE);
    sync_wake(&pass_generation, INT32_MAX);
    int32_t done;
    while ((done = __atomic_load_n(&pass_done, __ATOMIC_ACQUIRE)) < count)
        sync_wait(&pass_done, done);
    return bench_now_ns() - started;
}

static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        const char *value = str_after(argv[i], name);
        if (value != NULL && value[0] == '=')
            return value + 1;
    }
    return NULL;
}

static uint64_t option_u64(int argc, char **argv, const char *name, uint64_t fallback)
{
    const char *text = option(argc, argv, name);
    uint64_t value = fallback;
    if (text != NULL && !str_to_u64(text, &value))
        bench_fail("%s needs an unsigned integer, not '%s'", name, text);
    return value;
}

static double option_f64(int argc, char **argv, const char *name, double fallback)
{
    const char *text = option(argc, argv, name);
    double value = fallback;
    if (text != NULL && !str_to_f64(text, &value))
        bench_fail("%s needs a number, not '%s'", name, text);
    return value;
}

static void sort_f64(double *values, int count)
{
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && values[j - 1] > values[j]; j--) {
            double swap = values[j];
            values[j] = values[j - 1];
            values[j - 1] = swap;
        }
}

int main(int argc, char **argv)
{
    const char *name = option(argc, argv, "--workload");
    int count = (int)option_u64(argc, argv, "--threads", 1);
    uint64_t seed = option_u64(argc, argv, "--seed", 42);
    double scale = option_f64(argc, argv, "--scale", 1);
    double min_time = option_f64(argc, argv, "--min-time", 0.1);
    int repetitions = (int)option_u64(argc, argv, "--repetitions", 3);
    const char *json_path = option(argc, argv, "--json");
    if (name == NULL || str_eq(name, "churn"))
        workload = churn, name = "churn";
    else if (str_eq(name, "larson"))
        workload = larson;
    else if (str_eq(name, "prodcons"))
        workload = prodcons;
    else
        bench_fail("--workload must be churn, larson or prodcons, not '%s'", name);
    if (count < 1 || count > MAX_THREADS || (workload == prodcons && count > 1 && count % 2 != 0))
        bench_fail("--threads must be 1 to %d (prodcons: 1 or even), not %d", MAX_THREADS, count);
    if (repetitions < 1 || repetitions > MAX_REPETITIONS)
        bench_fail("--repetitions must be 1 to %d", MAX_REPETITIONS);

    bench_allocator_init();
    uint64_t total_ops = (uint64_t)(CHURN_OPS * scale);
    round_barrier.count = count;
    for (int i = 0; i < MAX_THREADS / 2; i++)
        rings[i].capacity = count > 1 ? RING / (count / 2) : RING;
    int handles[MAX_THREADS];
    for (int i = 0; i < count; i++) {
        workers[i] = (worker){ .index = i, .count = count, .ops = total_ops / (uint64_t)count };
        rng_seed(&workers[i].rng, seed * 1000003u + (uint64_t)i);
        handles[i] = lm_host_thread_start(worker_run, &workers[i]);
        if (handles[i] < 0)
            bench_fail("cannot start thread %d (a single-threaded build?)", i);
    }

    pass_run(count);   /* cold */
    double rates[MAX_REPETITIONS];
    uint64_t passes = 1;
    for (int rep = 0; rep < repetitions; rep++) {
        uint64_t elapsed = 0, calls_before = 0, calls_after = 0;
        for (int i = 0; i < count; i++)
            calls_before += workers[i].calls;
        do {
            elapsed += pass_run(count);
            passes++;
        } while ((double)elapsed < min_time * 1e9);
        for (int i = 0; i < count; i++)
            calls_after += workers[i].calls;
        rates[rep] = (double)(calls_after - calls_before) / ((double)elapsed / 1e9);
    }
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&pass_generation, 1, __ATOMIC_RELEASE);
    sync_wake(&pass_generation, INT32_MAX);
    for (int i = 0; i < count; i++)
        lm_host_thread_join(handles[i]);

    sort_f64(rates, repetitions);
    double median = rates[repetitions / 2];
    bench_usage usage = { 0 };
    bench_allocator_usage(&usage);
    out_fmt(&bench_stdout, "%s %s threads=%d: %F M ops/s, footprint %U KiB%s, %U passes%s\n",
            bench_allocator_name, name, count, median / 1e6, usage.footprint_bytes >> 10,
            usage.footprint_kind == BENCH_FOOTPRINT_RSS ? " (peak RSS growth)" : "", passes,
            verify_failures ? ", VERIFY FAILED" : "");
    out_flush(&bench_stdout);
    if (json_path != NULL) {
        int handle = lm_host_create(json_path);
        if (handle < 0)
            bench_fail("cannot create %s", json_path);
        static text_out file;
        file.fd = handle;
        text_out *json = &file;
        out_fmt(json, "{\"target\": \"%s\", \"allocator\": \"%s\", \"workload\": \"%s\", \"threads\": %d, "
                      "\"ops_per_s\": ", BENCH_TARGET_NAME, bench_allocator_name, name, count);
        out_f64(json, median, 1);
        out_fmt(json, ", \"footprint_bytes\": %U, \"footprint_kind\": \"%s\", \"locked\": %d, "
                      "\"passes\": %U, \"verify_failures\": %U, \"cpus\": %d}\n",
                usage.footprint_bytes, usage.footprint_kind == BENCH_FOOTPRINT_RSS ? "rss" : "seam",
                BENCH_LOCKED, passes, verify_failures, lm_host_cpu_count());
        out_flush(json);
        lm_host_close(handle);
    }
    return verify_failures ? 1 : 0;
}
