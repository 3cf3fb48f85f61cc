/* lmalloc — one allocator source for wasm32, wasm64 and native.
 *
 * Assumptions (what a target provides, see targets/target.h)
 *   - One contiguous range of memory that grows upward in 64 KiB pages and
 *     never shrinks or moves. Another party (JS, a second allocator) may grow
 *     it too; lmalloc fences off memory it did not grow itself.
 *   - LM_UPTR_BITS (32 or 64) and LM_GROWN_MEMORY_ZEROED (0 or 1).
 *   - Single-threaded: the heap state below is one global instance.
 *
 * Layout
 *   Memory is a chain of blocks, each a whole number of granules (16 bytes).
 *   A block starts with a two-word header of 32-bit fields on both widths:
 *
 *       [ granules : u32 | check:28 prev_free:1 prev_one:1 state:2 ]  user data ...
 *       ^ block (8 mod 16)                                        ^ pointer (0 mod 16)
 *
 *   `check` is a hash of the block's address and size: a pointer that is not
 *   a block start, or a header someone wrote over, fails it (1 in 2^28 odds).
 *   A free block holds its list links (two u32 block indices) after the
 *   header and, from two granules up, its size in its last word (the
 *   footer), so `prev_free` lets a neighbour find it. A one-granule block
 *   (requests up to 8 bytes) has no room for a footer: `prev_one` in its
 *   successor says its size instead. Block indices are granule offsets
 *   from `origin`, so metadata is the same size on wasm32 and wasm64 and the
 *   heap may span up to 2^32 granules (64 GiB).
 *
 *   The last block before the end is `top`, free space never handed out yet
 *   or given back at the end; after it a zero-size sentinel header closes the
 *   chain. Top has no header: `top` and the sentinel bound it, so carving a
 *   block from it writes just that block's header.
 *
 * States
 *   USED   handed to the caller.
 *   QUICK  freed into an exact-size quick bin (blocks up to 1 KiB): reused
 *          LIFO by the fast path, not merged with neighbours until a flush.
 *          The bins hold at most QUICK_LIMIT blocks: a burst of frees (a
 *          program tearing down a structure) merges them instead of leaving
 *          thousands of small blocks to pin holes, and merges the rest of
 *          the burst as it comes, until a malloc misses the bins.
 *   FREE   in a size-class list (TLSF: first level a power of two, second
 *          level 16 linear steps); merged with free neighbours and with top.
 *   FENCE  the end sentinel, or memory that another party grew.
 *
 * Invariants (lm_check verifies each one)
 *   - The chain runs from `first` to `top`; every header's check holds.
 *   - No two FREE blocks are neighbours, and none precedes top; a block's
 *     prev_free bit is set exactly when its predecessor is FREE, and
 *     prev_one when that predecessor is one granule; a larger FREE block's
 *     footer equals its size.
 *   - Every FREE block but one is in the list of its size class; a bitmap
 *     bit is set exactly when its list is non-empty. The carve block (small
 *     requests cut it from the front) is FREE and in no list. Every QUICK
 *     block is in the bin of its size, and quick_count counts them;
 *     quick_max is QUICK_GRANULES, or 0 in a burst of frees.
 *   - `span` is the number of granules from `first` to the sentinel, and
 *     `origin` is one granule before `first`.
 *   - A header that falls off the chain (merged into a neighbour) never says
 *     USED, so freeing it again is reported, never obeyed.
 *
 * Growth: when neither a bin, a list, the carve block nor the top can serve
 * a request, the quick bins are flushed (merged) and the carve block listed,
 * and only then does the heap grow, by at least 1/32 of its size (1/8 past
 * 64 MiB), so a heap of N bytes grows O(log N) times. Requests of 64 KiB
 * and more flush the bins before they take the top, too.
 *
 * Debugging: misuse checks (LM_MISUSE_CHECKS, default 1) run in every build:
 * each free/realloc/free_sized/usable_size validates its pointer against the
 * header check and state, and malloc validates the quick-bin link it follows
 * (where a write after free lands). lm_check() walks everything.
 */
#include "lmalloc.h"
#include "../targets/target.h"

/* ===== Configuration and width ============================================ */

#ifndef LM_UPTR_BITS
#error "the target must define LM_UPTR_BITS (32 or 64)"
#endif
#ifndef LM_GROWN_MEMORY_ZEROED
#error "the target must define LM_GROWN_MEMORY_ZEROED (0 or 1)"
#endif
#ifndef LM_MISUSE_CHECKS
#define LM_MISUSE_CHECKS 1
#endif

#if LM_UPTR_BITS == 64
typedef uint64_t uptr;
/* Largest request: its granule count still fits a u32 (64 GiB - 272). */
#define MAX_REQUEST ((uptr)0xFFFFFFEFu << 4)
#elif LM_UPTR_BITS == 32
typedef uint32_t uptr;
/* Largest request: rounding it up to granules never wraps (4 GiB - 257). */
#define MAX_REQUEST ((uptr)0xFFFFFEFFu)
#else
#error "LM_UPTR_BITS must be 32 or 64"
#endif
_Static_assert(sizeof(uptr) == sizeof(void *), "LM_UPTR_BITS must match the pointer width");
_Static_assert(sizeof(uptr) == sizeof(size_t), "size_t must have the pointer width");

/* Memory the allocator reads as metadata may hold any user type. */
typedef uint32_t __attribute__((may_alias)) word;

#define GRANULE        16u    /* block size unit and alignment (= LM_ALIGNMENT) */
#define GRANULE_SHIFT  4
#define HEADER         8u     /* two u32 words on both widths */
#define MIN_SPLIT      2u     /* splits leave no piece smaller: only a freed 1-granule block is one */
#define QUICK_GRANULES 64u    /* blocks of up to 1 KiB go through quick bins */
#define SL_SHIFT       4      /* 16 second-level lists per power of two */
#define SL_COUNT       (1u << SL_SHIFT)
#define FL_COUNT       29u    /* first levels for granule counts below 2^32 */
#define CLASS_COUNT    (FL_COUNT * SL_COUNT)
#define CLASS_LOOKS    4u     /* blocks of its own class a request looks at before a larger class */
#define QUICK_LIMIT    512u   /* the bins hold at most this many blocks, then merge */
#define FLUSH_GRANULES 4096u  /* requests of 64 KiB and up merge the quick bins before taking top */
#define MIN_GROWTH     (4u * LM_TARGET_PAGE_SIZE)
#define GROWTH_SHIFT   3      /* grow by at least footprint / 8 ... */
#define FINE_SHIFT     5      /* ... or / 32 below FINE_GROWTH_MAX */
#define FINE_GROWTH_MAX ((uptr)64 << 20)  /* past this a classic buffer's grow costs milliseconds */

_Static_assert(GRANULE == LM_ALIGNMENT, "blocks are aligned to one granule");
_Static_assert(GRANULE == 1u << GRANULE_SHIFT, "granule shift");
_Static_assert(GRANULE >= HEADER + 2 * sizeof(word), "a free granule holds its header and links");
_Static_assert(MIN_SPLIT * GRANULE >= HEADER + 3 * sizeof(word),
               "a split remainder holds its header, links and footer");
_Static_assert(LM_TARGET_PAGE_SIZE % GRANULE == 0, "pages are whole granules");

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Slow and cold paths stay out of line: one copy each keeps the code small. */
#define NOINLINE    __attribute__((noinline))
/* Growth and misuse reports run rarely: compile them for size. */
#ifdef __clang__
#define COLD        __attribute__((noinline, cold, minsize))
/* A short search loop stays a loop: unrolled it costs code, not time. */
#define NO_UNROLL   _Pragma("clang loop unroll(disable)")
#else
#define COLD        __attribute__((noinline, cold))
#define NO_UNROLL
#endif

/* ===== Block headers ====================================================== */

enum { STATE_FREE = 0, STATE_USED = 1, STATE_QUICK = 2, STATE_FENCE = 3 };
#define STATE_MASK 3u
#define PREV_ONE   4u     /* with PREV_FREE: the predecessor is one granule (no footer) */
#define PREV_FREE  8u
#define PREV_MASK  (PREV_FREE | PREV_ONE)
#define CHECK_MASK (~15u)

static inline word *block_words(uptr b) { return (word *)b; }
static inline uint32_t block_granules(uptr b) { return block_words(b)[0]; }
static inline uint32_t block_tag(uptr b) { return block_words(b)[1]; }
static inline uint32_t block_state(uptr b) { return block_tag(b) & STATE_MASK; }
static inline uptr block_bytes(uint32_t granules) { return (uptr)granules << GRANULE_SHIFT; }
static inline uptr block_next(uptr b) { return b + block_bytes(block_granules(b)); }
static inline uptr block_usable(uint32_t granules) { return block_bytes(granules) - HEADER; }

/* A hash of where a header is and what size it claims, cheap because free
 * computes it every time: one multiply spreads the size over the word, and
 * a second carries every input bit into the 28 high bits kept. (Only the
 * address's low 32 bits: bytes that are not a header match by chance once
 * in 2^28 wherever they are.) The odd multipliers are within 2^27 of zero as
 * signed numbers, so wasm encodes each in 4 bytes, not 5. */
static inline uint32_t header_check(uptr b, uint32_t granules) {
    return (((uint32_t)b ^ (granules * 0xFDEBCA77u)) * 0xFE3779B1u) & CHECK_MASK;
}

/* Out of line: one copy serves every slow path (no fast path writes a header). */
static NOINLINE void block_write(uptr b, uint32_t granules, uint32_t flags) {
    block_words(b)[0] = granules;
    block_words(b)[1] = header_check(b, granules) | flags;
}

/* Turns a USED block QUICK and back: one xor where the state is known. */
static inline void block_flip_used_quick(uptr b) { block_words(b)[1] ^= STATE_USED ^ STATE_QUICK; }

static inline void block_set_state(uptr b, uint32_t state) {
    block_words(b)[1] = (block_tag(b) & ~STATE_MASK) | state;
}

/* `prev` is 0, or prev_of_free() of the free predecessor. */
static inline void block_set_prev(uptr b, uint32_t prev) {
    block_words(b)[1] = (block_tag(b) & ~PREV_MASK) | prev;
}

/* The PREV_MASK bits a free block of g granules gives its successor. */
static inline uint32_t prev_of_free(uint32_t g) { return g == 1 ? PREV_FREE | PREV_ONE : PREV_FREE; }

static inline int header_valid(uptr b) {
    return (block_tag(b) & CHECK_MASK) == header_check(b, block_granules(b));
}

/* Granules needed for a request of `size` bytes (size <= MAX_REQUEST). */
static inline uint32_t request_granules(uptr size) {
    return (uint32_t)((size + HEADER + GRANULE - 1) >> GRANULE_SHIFT);
}

/* ===== Heap state ========================================================= */

static struct heap {
    uptr first;          /* header of the first block; 0 until initialised */
    uptr sentinel;       /* header of the end sentinel; memory ends 8 bytes later */
    uptr top;            /* header of the top block (== sentinel when empty) */
    uptr span;           /* (sentinel - first) / GRANULE, kept for the one-compare pointer checks */
    uptr carve;          /* header of the carve block, or 0 (see free_lists_take) */
    uptr origin;         /* address of block index 0 (first is index 1) */
    uptr start;          /* first byte taken from the target */
    uptr untouched;      /* bytes at and above this were never written (zero if grown zeroed) */
    uint32_t quick[QUICK_GRANULES + 1];   /* bin heads by granule count */
    uint32_t quick_count;                 /* blocks in all quick bins */
    uint32_t quick_max;                   /* largest block free puts in a bin; 0 in a burst */
    uint32_t lists[CLASS_COUNT];          /* free list heads by size class */
    uint32_t sl_bitmap[FL_COUNT];
    uint32_t fl_bitmap;
    uint32_t policy;
    lm_misuse last_misuse;
    uint64_t peak_footprint, grow_calls, failed_allocs, misuse_count;
} heap;

static inline uptr block_at(uint32_t index) { return heap.origin + block_bytes(index); }
/* The inverse of block_at (origin is first - GRANULE), counted from first so
 * free shares the subtraction with its pointer check. */
static inline uint32_t block_index(uptr b) { return (uint32_t)((b - heap.first) >> GRANULE_SHIFT) + 1; }
static inline word *block_links(uptr b) { return block_words(b) + 2; }   /* next, prev */
static inline word *block_footer(uptr b, uint32_t g) { return (word *)(b + block_bytes(g)) - 1; }
static inline uint32_t top_granules(void) {
    return (uint32_t)((heap.sentinel - heap.top) >> GRANULE_SHIFT);
}

/* ===== Size classes (TLSF two-level index) ================================ */

static inline unsigned msb32(uint32_t x) { return 31u - (unsigned)__builtin_clz(x); }
static inline unsigned lsb32(uint32_t x) { return (unsigned)__builtin_ctz(x); }

/* The class whose blocks are at least 2^fl-ish: blocks of `g` granules live here. */
static NOINLINE unsigned sizeclass_of(uint32_t g) {
    if (g < SL_COUNT) return g;
    unsigned m = msb32(g);
    return (m - SL_SHIFT + 1) * SL_COUNT + ((g >> (m - SL_SHIFT)) - SL_COUNT);
}

/* The first non-empty class >= `c`, or CLASS_COUNT if none. */
static unsigned sizeclass_find(unsigned c) {
    unsigned fl = c / SL_COUNT;
    if (fl >= FL_COUNT) return CLASS_COUNT;
    uint32_t sl_map = heap.sl_bitmap[fl] & (~0u << (c % SL_COUNT));
    if (!sl_map) {
        uint32_t fl_map = heap.fl_bitmap & (~0u << (fl + 1));
        if (!fl_map) return CLASS_COUNT;
        fl = lsb32(fl_map);
        sl_map = heap.sl_bitmap[fl];
    }
    return fl * SL_COUNT + lsb32(sl_map);
}

/* ===== Free lists ========================================================= */

static NOINLINE void free_list_insert(uptr b, uint32_t g) {
    unsigned c = sizeclass_of(g);
    uint32_t head = heap.lists[c];
    block_write(b, g, STATE_FREE);
    *block_footer(b, g) = g;          /* in a 1-granule block, the prev link below overwrites it */
    block_links(b)[0] = head;
    block_links(b)[1] = 0;
    if (head) block_links(block_at(head))[1] = block_index(b);
    heap.lists[c] = block_index(b);
    heap.sl_bitmap[c / SL_COUNT] |= 1u << (c % SL_COUNT);
    heap.fl_bitmap |= 1u << (c / SL_COUNT);
    block_set_prev(b + block_bytes(g), prev_of_free(g));
}

static NOINLINE void free_list_remove(uptr b) {
    if (b == heap.carve) {          /* the carve block is in no list */
        heap.carve = 0;
        return;
    }
    unsigned c = sizeclass_of(block_granules(b));
    uint32_t next = block_links(b)[0], prev = block_links(b)[1];
    if (next) block_links(block_at(next))[1] = prev;
    if (prev) block_links(block_at(prev))[0] = next;
    else if (!(heap.lists[c] = next)) {
        heap.sl_bitmap[c / SL_COUNT] &= ~(1u << (c % SL_COUNT));
        if (!heap.sl_bitmap[c / SL_COUNT]) heap.fl_bitmap &= ~(1u << (c / SL_COUNT));
    }
}

/* ===== Page layer: taking memory from the target ========================== */

/* Moves the top block to start at `t`. Top has no header of its own (its
 * bounds are `top` and `sentinel`), so carving from it writes one header;
 * everything below it may have been handed out, so `untouched` rises. */
static NOINLINE void top_set(uptr t) {
    heap.top = t;
    if (heap.untouched < t) heap.untouched = t;
}

/* Adopts [old_end, old_end + bytes), just obtained from the target. */
static COLD void heap_adopt(uptr old_end, uptr bytes) {
    uptr new_sentinel = old_end + bytes - HEADER;
    if (old_end == heap.sentinel + HEADER) {
        /* Contiguous: the old sentinel becomes part of the top block. */
        if (LM_GROWN_MEMORY_ZEROED) __builtin_memset(block_words(heap.sentinel), 0, HEADER);
        heap.sentinel = new_sentinel;
    } else {
        /* Someone else grew memory in between: fence off their part, list
         * our old top, and start a new top. */
        block_write(heap.sentinel, (uint32_t)((old_end - HEADER - heap.sentinel) >> GRANULE_SHIFT),
                    STATE_FENCE);
        if (top_granules()) free_list_insert(heap.top, top_granules());
        heap.sentinel = new_sentinel;
        top_set(old_end - HEADER);   /* all below the new top counts as written */
    }
    block_write(heap.sentinel, 0, STATE_FENCE);
    heap.span = (heap.sentinel - heap.first) >> GRANULE_SHIFT;
    uptr footprint = heap.sentinel + HEADER - heap.start;
    if (heap.peak_footprint < footprint) heap.peak_footprint = footprint;
}

/* Asks the target for at least `bytes` more, preferring a geometric step:
 * a fine one (1/32) while memory is small, where a grow costs about a
 * microsecond on every engine, so the unused end stays small; a coarse one
 * (1/8) past 64 MiB, where an engine without resizable buffers pays up to
 * milliseconds per grow (see README, Growth). */
static COLD int heap_grow(uptr bytes) {
    uptr footprint = heap.sentinel + HEADER - heap.start;
    uptr step = footprint >> GROWTH_SHIFT;
    if (footprint < FINE_GROWTH_MAX) step >>= FINE_SHIFT - GROWTH_SHIFT;
    if (step < MIN_GROWTH) step = MIN_GROWTH;
    if (step < bytes) step = bytes;
    for (int attempt = 0; attempt < 2; attempt++) {
        uptr rounded = (step + LM_TARGET_PAGE_SIZE - 1) & ~(uptr)(LM_TARGET_PAGE_SIZE - 1);
        uptr end = heap.sentinel + HEADER;
        /* Block indices are u32: the heap may not span more than 2^32 granules. */
        if (rounded >= step && end + rounded > end &&
            (uint64_t)(end + rounded - heap.origin) >> GRANULE_SHIFT <= 0xFFFFFFFFu) {
            uptr old_end = lm_target_grow(rounded);
            if (old_end != LM_TARGET_GROW_FAILED) {
                heap.grow_calls++;
                heap_adopt(old_end, rounded);
                return 1;
            }
        }
        if (step == bytes) break;
        step = bytes;   /* the geometric step was refused: try just what is needed */
    }
    return 0;
}

static COLD int heap_init(void) {
    uintptr_t start, end;
    lm_target_region(&start, &end);
    uptr fresh = end;    /* only memory grown from here on is known to be zero */
    if (end - start < 4 * GRANULE) {
        /* Too little to start with (those few bytes stay unused): start in
         * a first step from the target. */
        if ((start = lm_target_grow(MIN_GROWTH)) == LM_TARGET_GROW_FAILED) return 0;
        heap.grow_calls++;
        fresh = start;
        end = start + MIN_GROWTH;
    }
    /* An empty chain (the sentinel at the first block) that then adopts the
     * region as if it had just grown. */
    heap.start = start;
    heap.first = heap.sentinel = heap.top = ((start + GRANULE - 1) & ~(uptr)(GRANULE - 1)) + HEADER;
    heap.origin = heap.first - GRANULE;
    heap.untouched = fresh;
    heap_adopt(heap.first + HEADER, (end & ~(uptr)(GRANULE - 1)) - heap.first - HEADER);
    return 1;
}

/* ===== Allocation slow path =============================================== */

/* Gives block b (USED, QUICK or free-to-be) back: merges it with free
 * neighbours and puts the result in a list or the top block. */
static NOINLINE void block_release(uptr b) {
    uint32_t g = block_granules(b);
    uptr next = b + block_bytes(g);
    block_set_state(b, STATE_FREE);      /* a merged-away header must never say USED */
    if (block_tag(b) & PREV_FREE) {
        uptr prev = b - block_bytes(block_tag(b) & PREV_ONE ? 1 : *((word *)b - 1));
        free_list_remove(prev);
        g += block_granules(prev);
        b = prev;
    }
    if (next == heap.top) {
        top_set(b);
        return;
    }
    if (block_state(next) == STATE_FREE) {
        free_list_remove(next);
        g += block_granules(next);
    }
    free_list_insert(b, g);
}

/* Splits a USED block down to `g` granules, giving the tail back. */
static void block_shrink(uptr b, uint32_t g) {
    uint32_t have = block_granules(b);
    if (have - g < MIN_SPLIT) return;
    block_write(b, g, STATE_USED | (block_tag(b) & PREV_MASK));
    uptr tail = b + block_bytes(g);
    block_write(tail, have - g, STATE_USED);
    block_release(tail);
}

/* Is the block at `index`, the head of bin g, a freed block of g granules?
 * The index was the link in a freed block's first bytes, where a write
 * after free lands: check it before trusting it. No hash here (this is the
 * malloc fast path): the size word must be exactly g and the state QUICK,
 * which garbage matches about once in 2^34. */
static inline int quick_head_valid(uint32_t index, uint32_t g) {
    uptr b = block_at(index);
    return !LM_MISUSE_CHECKS ||
           (index - 1 < heap.span && block_granules(b) == g &&
            (block_tag(b) & STATE_MASK) == STATE_QUICK);
}

/* Puts the carve block, if any, into its list. */
static NOINLINE void carve_list(void) {
    if (heap.carve) free_list_insert(heap.carve, block_granules(heap.carve));
    heap.carve = 0;
}

/* Merges the quick bins and lists the carve block, so every free byte is in
 * a list: before the heap grows, and before a large request takes top. */
static NOINLINE void quick_flush(void) {
    carve_list();
    for (uint32_t g = 1; g <= QUICK_GRANULES; g++) {
        while (heap.quick[g]) {
            uptr b = block_at(heap.quick[g]);
            heap.quick[g] = block_links(b)[0];
            block_release(b);
        }
    }
    heap.quick_count = 0;
}

/* Many idle quick blocks pin holes all over the heap: merge them, and merge
 * the rest of this burst of frees as it comes (free skips the bins until
 * malloc_slow restores quick_max). */
static NOINLINE void quick_overflow(void) {
    quick_flush();
    heap.quick_max = 0;
}

/* A block of at least g granules from the free lists, marked USED, or 0.
 *
 * Small requests that find no close fit split a larger block and keep the
 * rest as the carve block (dlmalloc's "designated victim"): a free block in
 * no list that the next small requests cut from the front. A run of small
 * allocations then lands side by side and costs two header writes each,
 * instead of a list removal and insertion per split. */
static NOINLINE uptr free_lists_take(uint32_t g) {
    /* One of the first blocks of g's own class may be big enough (below 16
     * granules every block there is); then the carve block; every block of
     * a larger class is. */
    unsigned c = sizeclass_of(g);
    uptr b = 0;
    NO_UNROLL
    for (uint32_t index = heap.lists[c], looks = CLASS_LOOKS; index && looks--;
         index = block_links(b)[0]) {
        b = block_at(index);
        if (block_granules(b) >= g) goto found;
    }
    b = heap.carve;
    if (!b || block_granules(b) < g) {
        c = sizeclass_find(c + 1);
        if (c == CLASS_COUNT) return 0;
        b = block_at(heap.lists[c]);
    }
found:
    free_list_remove(b);
    /* Neighbours of a free block are never free: b's header clears
     * prev_free, and the rest keeps the next block's prev_free set. */
    uint32_t have = block_granules(b);
    if (have - g < MIN_SPLIT) g = have;
    block_write(b, g, STATE_USED);
    uptr rest = b + block_bytes(g);
    if (g == have) {
        block_set_prev(rest, 0);
        return b;
    }
    if (g > QUICK_GRANULES) {
        free_list_insert(rest, have - g);
        return b;
    }
    carve_list();
    block_write(rest, have - g, STATE_FREE);
    *block_footer(rest, have - g) = have - g;
    heap.carve = rest;
    return b;
}

/* Carves g granules from the start of the top block (which holds them). */
static uptr top_take(uint32_t g) {
    uptr b = heap.top;
    top_set(b + block_bytes(g));
    block_write(b, g, STATE_USED);
    return b;
}

/* Serves what the quick bins did not, from the lists, the carve block or
 * top, growing the heap if need be; counts a request it cannot serve. Out of
 * line, so lm_malloc stays small enough for a wasm engine to inline. (realloc
 * calls here too; wasm-opt would inline a function with one caller into it,
 * whatever its size.) */
static NOINLINE void *malloc_slow(uptr size) {
    heap.quick_max = QUICK_GRANULES;    /* a malloc that misses the bins ends a burst of frees */
    if (size > MAX_REQUEST || (UNLIKELY(!heap.first) && !heap_init())) goto refuse;
    uint32_t g = request_granules(size);
    /* With nothing listed (a young heap, or one whose structures were all
     * torn down and merged into top), skip the search. */
    uptr b = heap.fl_bitmap || heap.carve ? free_lists_take(g) : 0;
    /* Quick blocks pin small holes; merge them before growing, and before a
     * large request spends top (large requests are rare, so this is cheap). */
    if (!b && (g >= FLUSH_GRANULES || top_granules() < g)) {
        quick_flush();
        b = free_lists_take(g);
    }
    if (!b) {
        while (top_granules() < g)
            if (!heap_grow(block_bytes(g - top_granules()))) goto refuse;
        b = top_take(g);
    }
    return (void *)(b + HEADER);
refuse:
    heap.failed_allocs++;
    return 0;
}

/* ===== Misuse reports ===================================================== */

/* The next block on the chain after `b`, or 0 if b's header is damaged,
 * says it is empty, or claims to reach past the sentinel. */
static COLD uptr chain_next(uptr b) {
    if (!header_valid(b)) return 0;
    uptr next = block_next(b);
    return next > b && next <= heap.sentinel ? next : 0;
}

enum op { OP_FREE, OP_FREE_SIZED, OP_REALLOC, OP_USABLE_SIZE, OP_MALLOC };
static const char *const op_names[] = { "free", "free_sized", "realloc", "usable_size", "malloc" };

/* One line per kind: %o the operation, %p the caller's pointer, %b the block
 * concerned, %h its header, %n the length passed, %s the block's usable size. */
#define FREED_BLOCK LM_MISUSE_KIND_COUNT         /* a double free through realloc or usable_size */
#define WRITTEN_AFTER_FREE (FREED_BLOCK + 1)     /* a quick bin's link was overwritten */
static const char *const misuse_lines[] = {
    [LM_MISUSE_DOUBLE_FREE]  = "double free of %p (%s-byte block)",
    [LM_MISUSE_NOT_IN_HEAP]  = "%o of %p, which is not in the heap",
    [LM_MISUSE_MISALIGNED]   = "%o of %p, which is not 16-byte aligned",
    [LM_MISUSE_NOT_A_BLOCK]  = "%o of %p, which is inside the block at %b (%s-byte block)",
    [LM_MISUSE_WRONG_SIZE]   = "free_sized of %p with wrong length %n (%s-byte block)",
    [LM_MISUSE_CORRUPTED]    = "corrupted block header at %h, found by %o of %p",
    [FREED_BLOCK]            = "%o of freed block %p (%s-byte block)",
    [WRITTEN_AFTER_FREE]     = "a freed %n-byte block was written after free, found by malloc",
};

typedef struct line { char text[200]; size_t len; } line;

static COLD void line_put(line *l, char c) {
    if (l->len < sizeof l->text) l->text[l->len++] = c;
}

static COLD void line_text(line *l, const char *s) {
    while (*s) line_put(l, *s++);
}

static COLD void line_number(line *l, uptr v, unsigned base) {
    char digits[24];
    int n = 0;
    if (base == 16) line_text(l, "0x");
    do { digits[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
    while (n) line_put(l, digits[--n]);
}

/* A quick bin led malloc to something that is not a freed block of its
 * size: a freed block's link was overwritten. Empties the bins and merges
 * every QUICK block found on the chain, whose headers are checked, so the
 * heap stays consistent. (A merge leaves the merged-away headers intact, so
 * the walk goes on through them.) */
static COLD void quick_reclaim(void) {
    __builtin_memset(heap.quick, 0, sizeof heap.quick);
    heap.quick_count = 0;
    for (uptr b = heap.first; b && b < heap.top; b = chain_next(b))
        if (block_state(b) == STATE_QUICK) block_release(b);
}

/* Reports misuse of `ptr` in `op`; `b` is the block concerned (0 if none).
 * Returns only under LM_POLICY_CONTINUE: the caller then refuses the call,
 * except malloc, which serves the request once the bins are reclaimed. */
static COLD void misuse(lm_misuse_kind kind, enum op op, uptr ptr, uptr b, uptr length) {
    uptr usable = b && kind != LM_MISUSE_CORRUPTED ? block_usable(block_granules(b)) : 0;
    const char *t = misuse_lines[op == OP_MALLOC ? WRITTEN_AFTER_FREE
                                 : kind == LM_MISUSE_DOUBLE_FREE && op > OP_FREE_SIZED ? FREED_BLOCK : kind];
    line l;
    l.len = 0;
    line_text(&l, "lmalloc: ");
    for (; *t; t++) {
        char c = *t;
        if (c != '%') {
            line_put(&l, c);
        } else if ((c = *++t) == 'o') {
            line_text(&l, op_names[op]);
        } else {
            /* Lengths and sizes in decimal, addresses in hex. */
            uptr v = c == 'p' ? ptr : c == 'b' ? b + HEADER : c == 'h' ? b : c == 'n' ? length : usable;
            line_number(&l, v, c == 'n' || c == 's' ? 10 : 16);
        }
    }
    heap.misuse_count++;
    heap.last_misuse = (lm_misuse){ kind, ptr, usable };
    lm_target_report(kind, ptr, usable, l.text, l.len, heap.policy == LM_POLICY_ABORT);
    if (heap.policy == LM_POLICY_ABORT) __builtin_trap();   /* the target did not stop */
    if (op == OP_MALLOC) quick_reclaim();
}

/* A pointer failed the fast check: say exactly what is wrong with it. */
static COLD void pointer_rejected(void *ptr, enum op op) {
    uptr p = (uptr)ptr, b = p - HEADER, block = 0;
    lm_misuse_kind kind = LM_MISUSE_NOT_IN_HEAP;
    if (!p) return;                                   /* NULL is never misuse */
    if (!heap.first || p < heap.first + HEADER || p >= heap.sentinel) {
        /* not in the heap */
    } else if (p % GRANULE) {
        kind = LM_MISUSE_MISALIGNED;
    } else if (header_valid(b)) {
        if (block_state(b) != STATE_FENCE) {
            kind = LM_MISUSE_DOUBLE_FREE;
            block = b;
        }
    } else if (b >= heap.top) {
        /* in the top block, which holds no blocks: not in the heap */
    } else {
        /* Walk the chain to b: it is inside a block, or it is a block whose
         * header was overwritten, or the chain breaks before it. */
        uptr at = heap.first, prev = 0;
        while (at && at < b) { prev = at; at = chain_next(at); }
        if (!at || at == b) {
            kind = LM_MISUSE_CORRUPTED;
            block = at ? at : prev;
        } else if (block_state(prev) != STATE_FENCE) {
            kind = LM_MISUSE_NOT_A_BLOCK;
            block = prev;
        }
    }
    misuse(kind, op, p, block, 0);
}

/* ===== Fast path and public API =========================================== */

/* Is b the header of a live (USED) block? One range test, one hash. */
static inline int block_is_live(uptr b) {
#if LM_MISUSE_CHECKS
    /* In range and 16-byte aligned in one compare: a misaligned offset
     * rotates its low bits to the top. */
    uptr offset = b - heap.first;
    return (offset >> GRANULE_SHIFT | offset << (LM_UPTR_BITS - GRANULE_SHIFT)) < heap.span &&
           ((block_tag(b) ^ header_check(b, block_granules(b))) & ~PREV_MASK) == STATE_USED;
#else
    return b + HEADER != 0;
#endif
}

/* The head of the bin for a request of `size` is not a freed block: a freed
 * block's link was overwritten. misuse reports it and reclaims the bins,
 * then the slow path serves the request. (A call lm_malloc ends with, so
 * the fast path keeps nothing live across a call: natively, no register to
 * save on every malloc. wasm-opt inlines this into lm_malloc, its one
 * caller, which is why the bin walk lives in misuse, not here.) */
static COLD void *quick_damaged(uptr size) {
    misuse(LM_MISUSE_CORRUPTED, OP_MALLOC, 0, 0, block_usable(request_granules(size)));
    return malloc_slow(size);
}

/* Not inlined into calloc and realloc: one copy of the fast path is enough. */
NOINLINE void *lm_malloc(size_t size) {
    if (LIKELY(size <= QUICK_GRANULES * GRANULE - HEADER)) {
        uint32_t g = request_granules(size), index = heap.quick[g];
        if (LIKELY(index)) {
            if (LIKELY(quick_head_valid(index, g))) {
                uptr b = block_at(index);
                heap.quick[g] = block_links(b)[0];
                heap.quick_count--;
                block_flip_used_quick(b);
                return (void *)(b + HEADER);
            }
            return quick_damaged(size);
        }
    }
    return malloc_slow(size);
}

void lm_free(void *ptr) {
    uptr b = (uptr)ptr - HEADER;
    if (UNLIKELY(!block_is_live(b))) {
        pointer_rejected(ptr, OP_FREE);
        return;
    }
    uint32_t g = block_granules(b);
    if (LIKELY(g <= heap.quick_max)) {
        block_flip_used_quick(b);
        block_links(b)[0] = heap.quick[g];
        heap.quick[g] = block_index(b);
        if (UNLIKELY(++heap.quick_count > QUICK_LIMIT)) quick_overflow();
        return;
    }
    block_release(b);
}

void lm_free_sized(void *ptr, size_t size) {
    uptr b = (uptr)ptr - HEADER;
    if (UNLIKELY(!block_is_live(b))) {
        pointer_rejected(ptr, OP_FREE_SIZED);
        return;
    }
    /* The block is the one a request of `size` gets: at most one split
     * remainder larger (see block_shrink). */
    uint32_t g = block_granules(b);
    if (LM_MISUSE_CHECKS && (size > block_usable(g) || g - request_granules(size) >= MIN_SPLIT)) {
        misuse(LM_MISUSE_WRONG_SIZE, OP_FREE_SIZED, (uptr)ptr, b, size);
        return;
    }
    lm_free(ptr);   /* checks the header again: one copy of the free path */
}

void *lm_calloc(size_t count, size_t size) {
    /* A division, not __builtin_mul_overflow: on wasm64 that needs a 128-bit
     * multiply from a runtime library a freestanding module lacks. An
     * overflowing product asks for more than any heap holds: malloc refuses
     * it and counts the failure. */
    size_t total = size && count > MAX_REQUEST / size ? SIZE_MAX : count * size;
    uptr fresh = heap.untouched;
    void *p = lm_malloc(total);
    /* Memory above `untouched` still holds the zeros it was grown with. */
    if (p && !(LM_GROWN_MEMORY_ZEROED && (uptr)p >= fresh))
        __builtin_memset(p, 0, total);
    return p;
}

size_t lm_usable_size(const void *ptr) {
    uptr b = (uptr)ptr - HEADER;
    if (UNLIKELY(!block_is_live(b))) {
        pointer_rejected((void *)ptr, OP_USABLE_SIZE);
        return 0;
    }
    return block_usable(block_granules(b));
}

void *lm_realloc(void *ptr, size_t size) {
    if (!ptr) return lm_malloc(size);
    uptr b = (uptr)ptr - HEADER;
    if (UNLIKELY(!block_is_live(b))) {
        pointer_rejected(ptr, OP_REALLOC);
        return 0;
    }
    if (!size) {
        lm_free(ptr);
        return 0;
    }
    if (size > MAX_REQUEST) return malloc_slow(size);   /* refused and counted; ptr stays */
    uint32_t want = request_granules(size), have = block_granules(b);
    if (want <= have) {
        /* Shrink in place, unless a large block keeps under a quarter of
         * itself: then the few bytes move, so they do not pin a big hole. */
        if (have <= QUICK_GRANULES || want >= have / 4) {
            block_shrink(b, want);
            return ptr;
        }
    } else {
        /* Grow in place into the top block, growing the heap if need be (a
         * growth that is not contiguous moves the top away). */
        uptr next = b + block_bytes(have);
        while (next == heap.top && top_granules() < want - have)
            if (!heap_grow(block_bytes(want - have - top_granules()))) break;
        if (next == heap.top && top_granules() >= want - have) {
            block_write(b, want, STATE_USED | (block_tag(b) & PREV_MASK));
            top_set(b + block_bytes(want));
            return ptr;
        }
        /* Grow in place over a free neighbour. */
        if (next != heap.top && block_state(next) == STATE_FREE &&
            have + block_granules(next) >= want) {
            free_list_remove(next);
            have += block_granules(next);
            block_write(b, have, STATE_USED | (block_tag(b) & PREV_MASK));
            block_set_prev(b + block_bytes(have), 0);
            block_shrink(b, want);
            return ptr;
        }
    }
    void *moved = lm_malloc(size);
    if (!moved) {
        if (want > have) return 0;
        block_shrink(b, want);   /* a shrink never fails: no room to move, stay */
        return ptr;
    }
    __builtin_memcpy(moved, ptr, block_usable(have) < size ? block_usable(have) : size);
    lm_free(ptr);
    return moved;
}

void *lm_aligned_alloc(size_t alignment, size_t size) {
    if (!alignment || (alignment & (alignment - 1)) || size > MAX_REQUEST - 2 * GRANULE ||
        alignment > MAX_REQUEST - 2 * GRANULE - size)
        return malloc_slow(SIZE_MAX);   /* refused and counted */
    if (alignment <= GRANULE) return lm_malloc(size);
    /* Over-allocate, then give back a leading part (at least a granule, so
     * it can stand alone) and the tail. */
    uint32_t want = request_granules(size);
    uptr p = (uptr)lm_malloc(block_usable(want + (uint32_t)(alignment >> GRANULE_SHIFT) + 1));
    if (!p) return 0;
    uptr b = p - HEADER;
    if (p & (alignment - 1)) {
        uptr aligned = (p + GRANULE + alignment - 1) & ~(uptr)(alignment - 1);
        uint32_t lead = (uint32_t)((aligned - p) >> GRANULE_SHIFT), g = block_granules(b);
        block_write(b + block_bytes(lead), g - lead, STATE_USED);
        block_write(b, lead, STATE_USED | (block_tag(b) & PREV_MASK));
        block_release(b);
        b = aligned - HEADER;
    }
    block_shrink(b, want);
    return (void *)(b + HEADER);
}

/* ===== Policy, statistics and validation ================================== */

void lm_set_policy(lm_policy policy) { heap.policy = policy; }

void lm_last_misuse(lm_misuse *out) { *out = heap.last_misuse; }

const char *lm_misuse_kind_name(lm_misuse_kind kind) {
    static const char *const names[LM_MISUSE_KIND_COUNT] = {
        "none", "double free", "not in heap", "misaligned", "not a block", "wrong size", "corrupted",
    };
    return (unsigned)kind < LM_MISUSE_KIND_COUNT ? names[kind] : "unknown";
}

void lm_stats(lm_stats_t *out) {
    lm_stats_t s = { 0 };
    uint64_t blocks = 0;
    if (heap.first) {
        for (uptr b = heap.first; b && b < heap.top; b = chain_next(b)) {
            blocks++;
            if (block_state(b) == STATE_USED) {
                s.live_blocks++;
                s.live_bytes += block_usable(block_granules(b));
            }
        }
        s.footprint = heap.sentinel + HEADER - heap.start;
    }
    s.peak_footprint = heap.peak_footprint;
    s.grow_calls = heap.grow_calls;
    s.failed_allocs = heap.failed_allocs;
    s.misuse_count = heap.misuse_count;
    s.metadata_bytes = sizeof heap + (blocks + 1) * HEADER;
    *out = s;
}

/* Counts the entries of a list or bin, checking each; stops after `limit`
 * entries so a damaged (cyclic) list cannot loop forever. */
static size_t list_check(uint32_t index, uint32_t state, unsigned sizeclass, uint32_t bin,
                         uint64_t limit, uint64_t *count) {
    size_t errors = 0;
    uint32_t prev = 0;
    uint64_t max_index = (heap.sentinel - heap.origin) >> GRANULE_SHIFT;
    for (; index; index = block_links(block_at(index))[0]) {
        uptr b = block_at(index);
        if (index > max_index || b < heap.first || !header_valid(b) || block_state(b) != state ||
            b >= heap.top || ++*count > limit) return errors + 1;
        if (state == STATE_FREE) {
            errors += sizeclass_of(block_granules(b)) != sizeclass;
            errors += block_links(b)[1] != prev;
        } else {
            errors += block_granules(b) != bin;
        }
        prev = index;
    }
    return errors;
}

size_t lm_check(void) {
    if (!heap.first) return 0;
    size_t errors = 0;
    uint64_t listed_blocks = 0, quick_blocks = 0, free_seen = 0, quick_seen = 0;
    uint32_t prev_bits = 0;    /* what the next block's PREV_MASK bits must say */
    uptr b = heap.first;
    while (b < heap.top) {
        uptr next = chain_next(b);
        if (!next) { errors++; break; }
        uint32_t g = block_granules(b), state = block_state(b);
        errors += (block_tag(b) & PREV_MASK) != prev_bits;
        errors += state == STATE_FREE && prev_bits;                 /* two free neighbours */
        if (state == STATE_FREE) {
            free_seen++;
            errors += g > 1 && *block_footer(b, g) != g;
        } else if (state == STATE_QUICK) {
            quick_seen++;
            errors += g > QUICK_GRANULES;
        }
        prev_bits = state == STATE_FREE ? prev_of_free(g) : 0;
        b = next;
    }
    /* The chain reaches top exactly, and a free block before it would have merged. */
    errors += b != heap.top || prev_bits || heap.top > heap.sentinel;
    errors += !header_valid(heap.sentinel) || block_state(heap.sentinel) != STATE_FENCE ||
              (block_tag(heap.sentinel) & PREV_MASK);
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        errors += !!(heap.fl_bitmap & (1u << fl)) != !!heap.sl_bitmap[fl];
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            unsigned c = fl * SL_COUNT + sl;
            errors += !!(heap.sl_bitmap[fl] & (1u << sl)) != !!heap.lists[c];
            errors += list_check(heap.lists[c], STATE_FREE, c, 0, free_seen, &listed_blocks);
        }
    }
    for (uint32_t g = 0; g <= QUICK_GRANULES; g++)
        errors += list_check(heap.quick[g], STATE_QUICK, 0, g, quick_seen, &quick_blocks);
    if (heap.carve) {
        errors += block_state(heap.carve) != STATE_FREE || heap.carve >= heap.top;
        listed_blocks++;
    }
    errors += listed_blocks != free_seen || quick_blocks != quick_seen;
    errors += quick_seen != heap.quick_count;
    errors += heap.quick_max != QUICK_GRANULES && heap.quick_max != 0;
    errors += heap.span != (heap.sentinel - heap.first) >> GRANULE_SHIFT;
    errors += heap.origin != heap.first - GRANULE;
    return errors;
}
