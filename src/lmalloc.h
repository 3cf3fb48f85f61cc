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

/* Misuse kinds, in the order of lm_misuse_kind_name(). */
typedef enum lm_misuse_kind {
    LM_MISUSE_NONE = 0,
    LM_MISUSE_DOUBLE_FREE,      /* free/free_sized/realloc of a block already freed */
    LM_MISUSE_NOT_IN_HEAP,      /* pointer outside the heap lmalloc manages */
    LM_MISUSE_MISALIGNED,       /* pointer not on the LM_ALIGNMENT grid: never a block start */
    LM_MISUSE_NOT_A_BLOCK,      /* inside the heap but not the start of a block (interior pointer) */
    LM_MISUSE_WRONG_SIZE,       /* free_sized length that does not match the block */
    LM_MISUSE_CORRUPTED,        /* a block header failed its check: something wrote over it */
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

#ifdef __cplusplus
}
#endif
#endif
