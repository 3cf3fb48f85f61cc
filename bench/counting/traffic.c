/* The allocator's own memory traffic, for bench_traffic_<allocator>.
 *
 * That build compiles the allocator's sources (and the lmalloc library) with
 * -fsanitize-coverage=trace-loads,trace-stores: the compiler calls
 * __sanitizer_cov_loadN(address) before every load of N bytes and
 * __sanitizer_cov_storeN before every store, in the code it has optimized,
 * the same way on every target. Bulk copies and fills (realloc's memcpy,
 * calloc's memset: memory.copy / memory.fill on wasm, glibc natively) are
 * not loads or stores to the compiler and are not counted.
 *
 * The same build renames the allocator's entry points (bench_malloc becomes
 * bench_counted_malloc, ...); this file, compiled plainly, defines the entry
 * points the harness calls: each runs the allocator's and books the traffic
 * of the call to its kind. An entry calling another (bump's realloc calls its
 * malloc) stays inside the outer call. */
#include "../allocators/allocator.h"
#include "counting.h"

void *bench_counted_malloc(size_t size);
void bench_counted_free(void *ptr);
void *bench_counted_realloc(void *ptr, size_t size);
void *bench_counted_calloc(size_t count, size_t size);
void *bench_counted_memalign(size_t alignment, size_t size);

static bench_traffic now;                          /* all traffic so far */
static bench_traffic by_kind[BENCH_CALL_KINDS];

#define TRAFFIC_CALLBACKS(bytes, type)                                        \
    void __sanitizer_cov_load##bytes(type *address);                          \
    void __sanitizer_cov_store##bytes(type *address);                         \
    void __sanitizer_cov_load##bytes(type *address)                           \
    {                                                                         \
        (void)address;                                                        \
        now.loads++;                                                          \
        now.load_bytes += bytes;                                              \
    }                                                                         \
    void __sanitizer_cov_store##bytes(type *address)                          \
    {                                                                         \
        (void)address;                                                        \
        now.stores++;                                                         \
        now.store_bytes += bytes;                                             \
    }
TRAFFIC_CALLBACKS(1, uint8_t)
TRAFFIC_CALLBACKS(2, uint16_t)
TRAFFIC_CALLBACKS(4, uint32_t)
TRAFFIC_CALLBACKS(8, uint64_t)
TRAFFIC_CALLBACKS(16, void)

static bench_traffic call_start(void)
{
    return now;
}

static void call_end(bench_call kind, bench_traffic start)
{
    by_kind[kind].loads += now.loads - start.loads;
    by_kind[kind].load_bytes += now.load_bytes - start.load_bytes;
    by_kind[kind].stores += now.stores - start.stores;
    by_kind[kind].store_bytes += now.store_bytes - start.store_bytes;
}

void *bench_malloc(size_t size)
{
    bench_traffic start = call_start();
    void *block = bench_counted_malloc(size);
    call_end(BENCH_MALLOC, start);
    return block;
}

void bench_free(void *ptr)
{
    bench_traffic start = call_start();
    bench_counted_free(ptr);
    call_end(BENCH_FREE, start);
}

void *bench_realloc(void *ptr, size_t size)
{
    bench_traffic start = call_start();
    void *block = bench_counted_realloc(ptr, size);
    call_end(BENCH_REALLOC, start);
    return block;
}

void *bench_calloc(size_t count, size_t size)
{
    bench_traffic start = call_start();
    void *block = bench_counted_calloc(count, size);
    call_end(BENCH_CALLOC, start);
    return block;
}

void *bench_memalign(size_t alignment, size_t size)
{
    bench_traffic start = call_start();
    void *block = bench_counted_memalign(alignment, size);
    call_end(BENCH_MEMALIGN, start);
    return block;
}

int bench_traffic_read(bench_traffic traffic[BENCH_CALL_KINDS])
{
    for (int kind = 0; kind < BENCH_CALL_KINDS; kind++)
        traffic[kind] = by_kind[kind];
    return 1;
}
