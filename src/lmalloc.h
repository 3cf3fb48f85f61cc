/* lmalloc — a memory allocator for WebAssembly linear memory.
 *
 * One source builds for wasm32, wasm64 (Memory64) and native x86_64. Sizes
 * and pointers are `size_t` / `void *`, so they follow the target's width;
 * every field of lm_stats_t is 64-bit on every target so hosts read one layout.
 *
 * Misuse (double free, foreign or interior pointer, wrong length, damaged
 * metadata) is caught at the call, reported as one line through the target's
 * report hook, and then either stops the program (LM_POLICY_ABORT, default)
 * or refuses the call and carries on (LM_POLICY_CONTINUE).
 */
#ifndef LMALLOC_H
#define LMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every block is aligned to this many bytes (both widths). */
#define LM_ALIGNMENT 16

/* Requests up to this many bytes get a slot of their size class (no header,
 * nothing to damage next to it); larger ones a block with an 8-byte header. */
#define LM_SMALL_MAX 4096

void  *lm_malloc(size_t size);                      /* NULL on failure; size 0 gives a unique minimum block */
void   lm_free(void *ptr);                          /* NULL is a no-op */
void  *lm_calloc(size_t count, size_t size);        /* NULL on overflow or failure */
void  *lm_realloc(void *ptr, size_t size);          /* NULL ptr: malloc; size 0: free, returns NULL */
void  *lm_aligned_alloc(size_t alignment, size_t size); /* any power of two; NULL otherwise */
size_t lm_usable_size(const void *ptr);             /* 0 for NULL */
void   lm_free_sized(void *ptr, size_t size);       /* free, checking `size` is the length asked for */
void   lm_free_aligned_sized(void *ptr, size_t alignment, size_t size); /* the same for lm_aligned_alloc */
/* A host's dealloc(ptr, len) of a block from lm_malloc(len), len >= 1 (the
 * JS module exports it as `dealloc`): as lm_free_sized, but since no block
 * comes from a zero length, a live block with len 0 is a wrong length. */
void   lm_dealloc(void *ptr, size_t len);

/* With threads (natively, and in wasm built with atomics) each thread
 * allocates from a heap of its own and any thread may free any block. A
 * thread that ends hands its heap back: natively that happens by itself;
 * a wasm host's thread wrapper calls this as the thread's last act. Its
 * blocks stay valid. Safe to call again, and a no-op without threads. */
void   lm_thread_exit(void);

typedef struct lm_stats {
    uint64_t live_bytes;      /* usable bytes of all live blocks */
    uint64_t live_blocks;     /* blocks handed out and not yet freed */
    uint64_t footprint;       /* bytes of memory the heap has taken from the target */
    uint64_t peak_footprint;  /* largest footprint so far */
    uint64_t grow_calls;      /* successful requests to the target for more memory */
    uint64_t failed_allocs;   /* allocations that returned NULL (out of memory, overflow) */
    uint64_t misuse_count;    /* misuse reports (refused calls under LM_POLICY_CONTINUE) */
    uint64_t metadata_bytes;  /* memory the allocator uses for itself: headers and tables */
} lm_stats_t;

void lm_stats(lm_stats_t *out);

/* Walks all metadata; returns the number of inconsistencies found (0 = sound).
 * Never asserts and never reports: it only counts. */
size_t lm_check(void);

/* Heap walk: every block and slot, with what it is. Under the page
 * layer's lock (with threads, a moment's view of other threads' slots). */
typedef enum lm_block_kind {
    LM_BLOCK_LARGE = 0,     /* a block of the page layer (requests above LM_SMALL_MAX) */
    LM_BLOCK_SLOT = 1,      /* a slot of a span (small requests) */
    LM_BLOCK_INTERNAL = 2,  /* the allocator's own: descriptor tables, heaps, the page map */
    LM_BLOCK_TOP = 3        /* the free end of the heap, never handed out or given back there */
} lm_block_kind;

typedef struct lm_block_info {
    uint64_t address;       /* where its usable bytes start (what malloc returned) */
    uint64_t size;          /* its usable bytes */
    uint32_t live;          /* 1 handed out (or the allocator's), 0 free */
    uint32_t kind;          /* lm_block_kind */
} lm_block_info;

/* Called for each block; returning nonzero stops the walk. It must not
 * allocate or free. */
typedef int (*lm_walk_fn)(const lm_block_info *block, void *arg);

/* Visits every block and slot in address order (a span's slots where its
 * block is); returns how many it visited. A live slot whose first two
 * words happen to look like a freed slot's (1 in 2^32) shows as free. */
size_t lm_walk(lm_walk_fn visit, void *arg);

/* Live and free bytes by size, in power-of-two buckets: bucket k holds
 * blocks of 2^k .. 2^(k+1) - 1 usable bytes (bucket 0 also 0; the last
 * also all larger). `fragmentation` is 1 - largest_free / free_block_bytes
 * over the page layer's free memory (free blocks and the free end): the
 * part of it no single request can get; 0 with no free memory. Free slots
 * count in free_bytes, not in the fragmentation (they serve their class). */
#define LM_HISTOGRAM_BUCKETS 40
typedef struct lm_histogram {
    uint64_t live_blocks[LM_HISTOGRAM_BUCKETS];
    uint64_t live_bytes[LM_HISTOGRAM_BUCKETS];
    uint64_t free_blocks[LM_HISTOGRAM_BUCKETS];
    uint64_t free_bytes[LM_HISTOGRAM_BUCKETS];
    uint64_t internal_bytes;    /* the allocator's own blocks */
    uint64_t free_block_bytes;  /* free blocks of the page layer and the free end */
    uint64_t largest_free;      /* the largest of them */
    double fragmentation;
} lm_histogram_t;

void lm_histogram(lm_histogram_t *out);

/* Misuse kinds, in the order of lm_misuse_kind_name(). */
typedef enum lm_misuse_kind {
    LM_MISUSE_NONE = 0,
    LM_MISUSE_DOUBLE_FREE,      /* free/free_sized/realloc of a block already freed */
    LM_MISUSE_NOT_IN_HEAP,      /* pointer outside the heap lmalloc manages */
    LM_MISUSE_MISALIGNED,       /* pointer not on the LM_ALIGNMENT grid: never a block start */
    LM_MISUSE_NOT_A_BLOCK,      /* inside the heap but not the start of a block (interior pointer) */
    LM_MISUSE_WRONG_SIZE,       /* free_sized length that does not match the block */
    LM_MISUSE_CORRUPTED,        /* a block header failed its check: something wrote over it */
    LM_MISUSE_ARENA,            /* lm_free of arena memory, a destroyed arena, a reset inside a scope */
    LM_MISUSE_KIND_COUNT
} lm_misuse_kind;

typedef enum lm_policy {
    LM_POLICY_ABORT = 0,        /* report, then stop the program (default) */
    LM_POLICY_CONTINUE = 1      /* report, refuse the call, count it, carry on */
} lm_policy;

void lm_set_policy(lm_policy policy);

/* The last misuse seen (kind LM_MISUSE_NONE if none), for hosts and tests. */
typedef struct lm_misuse {
    uint64_t kind;   /* lm_misuse_kind */
    uint64_t ptr;    /* the pointer the caller passed */
    uint64_t size;   /* the usable size of the block concerned (0 if none) */
} lm_misuse;

void lm_last_misuse(lm_misuse *out);
const char *lm_misuse_kind_name(lm_misuse_kind kind);

/* Arenas (src/arena.c): memory for one request or frame, given back all at
 * once. Allocation is a bump within the arena's chunks, whole blocks of
 * 64 KiB or more taken from the heap. lm_arena_reset drops every block at
 * once and keeps the chunks for the next cycle; lm_arena_trim (after a
 * reset: every chunk but the first) and lm_arena_destroy give chunks back,
 * where the heap and other arenas reuse them. An arena's blocks are never
 * lm_free'd (that is reported). One thread at a time may use an arena; any
 * thread may, in turn. Misuse (a destroyed arena, reset or destroy inside
 * a scope, scopes ended out of order) is reported as LM_MISUSE_ARENA and
 * the call refused. */
typedef struct lm_arena lm_arena_t;

lm_arena_t *lm_arena_create(void);                  /* NULL when out of memory */
void  *lm_arena_alloc(lm_arena_t *arena, size_t size);  /* 16-byte aligned; NULL on failure */
void  *lm_arena_alloc_aligned(lm_arena_t *arena, size_t alignment, size_t size); /* any power of two */
void   lm_arena_reset(lm_arena_t *arena);           /* every block at once; keeps the chunks for reuse */
void   lm_arena_trim(lm_arena_t *arena);            /* gives back the chunks after the current one */
void   lm_arena_destroy(lm_arena_t *arena);         /* NULL is a no-op */

/* A scope: lm_arena_scope_end drops what was allocated since its begin.
 * Scopes nest; begin returns the scope's depth (1 for the outermost, 0 on
 * failure), which end takes to check they close innermost first. */
unsigned lm_arena_scope_begin(lm_arena_t *arena);
void   lm_arena_scope_end(lm_arena_t *arena, unsigned scope);

typedef struct lm_arena_stats {
    uint64_t used;        /* bytes handed out since the last reset (alignment included) */
    uint64_t reserved;    /* bytes of the chunks the arena holds */
    uint64_t chunks;      /* chunks it holds */
    uint64_t peak;        /* most bytes handed out at once since it was created */
} lm_arena_stats_t;

void   lm_arena_stats(lm_arena_t *arena, lm_arena_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
