/* lmalloc — one allocator source for wasm32, wasm64 and native.
 *
 * Assumptions (what a target provides, see targets/target.h)
 *   - One contiguous range of memory that grows upward in 64 KiB pages and
 *     never shrinks or moves. Another party (JS, a second allocator) may grow
 *     it too; lmalloc fences off memory it did not grow itself.
 *   - LM_UPTR_BITS (32 or 64) and LM_GROWN_MEMORY_ZEROED (0 or 1).
 *   - With LM_THREADS (default 1; 0 on wasm without atomics): a lock that
 *     waits (futex, memory.atomic.wait32), thread-exit and fork hooks.
 *
 * Two layers
 *   The page layer owns all memory from the target. It keeps it as one chain
 *   of blocks (a coalescing heap: TLSF lists, merging on free), which serves
 *   medium and large requests directly, and a page map: one word per 1 KiB
 *   page naming the span that starts in the page, else the span covering
 *   the page's start, else 0. Single-threaded the map lies after the
 *   chain's end and moves to the new end when memory grows, so it never
 *   splits the free space; with threads it is an INTERNAL block (see
 *   map_bytes), because frees read it without the lock.
 *
 *   A heap serves small requests (up to SMALL_MAX bytes) from spans: blocks
 *   of the page layer cut into equal slots of one size class. Slots carry no
 *   header. A heap keeps, per class, a queue of spans with room; malloc pops
 *   the first span's free list, free pushes onto the slot's own span (found
 *   through the page map in O(1), before anything in the slot is trusted).
 *   A span that empties goes back to the page layer, where its memory merges
 *   and serves any size (the most recently emptied stay a while: see
 *   span_emptied). All heap state is a struct internal functions take; lm_*
 *   serve the calling thread's heap, claimed on its first call and pooled
 *   when it ends. The page layer is shared, under one lock; a free of
 *   another thread's slot goes onto its span's remote list without it.
 *
 * Blocks of the page layer
 *   Each is a whole number of granules (16 bytes) with a two-word header of
 *   32-bit fields on both widths:
 *
 *       [ granules : u32 | check:28 prev_free:1 prev_one:1 state:2 ]  payload ...
 *       ^ block (8 mod 16)                                        ^ pointer (0 mod 16)
 *
 *   `check` is a hash of the block's address and size keyed with a secret
 *   from the target (lm_target_random): a pointer that is not a block
 *   start, or a header someone wrote over, fails it (1 in 2^28 odds), and
 *   nobody without the key can forge one. A free block holds its list
 *   links (two u32 block indices xor a second secret) after the header
 *   and, from two granules up, its size in its last word (the footer), so
 *   `prev_free` lets a neighbour find it. Links and footers lie in freed
 *   memory: they are checked before they are followed (links agree with
 *   their neighbours', a footer names a free block of its size), and a
 *   damaged one is reported, never followed. A one-granule block
 *   has no room for a footer: `prev_one` in its successor says its size.
 *   Block indices are granule offsets from `origin`, so metadata is the same
 *   size on wasm32 and wasm64 and the heap may span up to 2^32 granules
 *   (64 GiB). The last block before the end is `top`, free space never
 *   handed out yet or given back at the end; it keeps no header (`top` and
 *   the sentinel bound it). A zero-size FENCE header closes the chain.
 *
 * Spans and slots
 *   A span is at least a page long, so at most one starts in any page; its
 *   slot 0 is aligned to the power of two in its slot size (up to 64). Its
 *   descriptor (80 bytes, in a descriptor table of the page layer) says
 *   where slot 0 is, the slot size, how many slots were ever put on its free
 *   list (`fresh`: the rest are added a batch at a time), how many are live,
 *   and the head of its free list. A free slot holds two words: the index of
 *   the next free slot, and that index xor the page layer's secret key. malloc pops
 *   a slot only if the pair still agrees (a write after free over it is
 *   reported); free pushes one only if the pointer is a slot start of the
 *   span below `fresh` and does not already carry an agreeing pair (then it
 *   walks the list to tell a double free from chance, 1 in 2^32).
 *
 * States (of a block)
 *   USED      handed to the caller (a medium or large block).
 *   INTERNAL  the allocator's own: a span, a descriptor table, a heap, or
 *             (with threads) the page map.
 *   FREE      in a size-class list; merged with free neighbours and with top.
 *   FENCE     the end sentinel, or memory that another party grew.
 *
 * Invariants (lm_check verifies each one)
 *   - The chain runs from `first` to `top`; every header's check holds.
 *   - No two FREE blocks are neighbours, and none precedes top; a block's
 *     prev_free bit is set exactly when its predecessor is FREE, and
 *     prev_one when that predecessor is one granule; a larger FREE block's
 *     footer equals its size.
 *   - Every FREE block is in the list of its size class; a bitmap bit is set
 *     exactly when its list is non-empty.
 *   - Every span's descriptor check holds; its block is INTERNAL and holds
 *     its slots; the map names it for every page its slots touch but a last
 *     page another span starts in, and names nothing else; its free list
 *     holds distinct slots below `fresh` with agreeing pairs; used + listed
 *     + (capacity - full) == fresh <= capacity.
 *   - A span is queued in its class exactly when `queued` says so; the
 *     first span of each class queue is `current` (never IDLE), and
 *     direct[g] is the current span of g's class.
 *   - The map covers every page up to `end`; single-threaded it sits right
 *     after the sentinel, with threads in an INTERNAL block.
 *   - A heap's class queues hold only spans it owns.
 *   - `extent` is the number of granules from `first` to the sentinel, and
 *     `origin` is one granule before `first`.
 *   - A header that falls off the chain (merged into a neighbour) never says
 *     USED, so freeing it again is reported, never obeyed.
 *
 * Growth: when neither a list nor the top can serve a block, the heap's
 * empty spans go back, and then it grows by at least 1/32 of its size (1/8
 * past 1 GiB), so a heap of N bytes grows O(log N) times.
 *
 * Debugging: misuse checks (LM_MISUSE_CHECKS, default 1) run in every build:
 * free/realloc/free_sized/usable_size validate their pointer (a slot: its
 * span, offset and pair; a block: its header check and state), malloc
 * validates the free slot it pops (where a write after free lands), and the
 * page layer checks a free block's links and footer before it follows them.
 * lm_check() walks everything; lm_walk() and lm_histogram() show it.
 * Secure mode (LM_SECURE, default 0) adds a quarantine, a fill checked at
 * reuse, canaries and exact lengths: see "Secure mode" below.
 */
#include "lmalloc.h"
#include "arena_internal.h"
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
#ifndef LM_SECURE
#define LM_SECURE 0      /* secure mode (issue 25): see "Secure mode" below */
#endif
#if LM_SECURE && !LM_MISUSE_CHECKS
#error "LM_SECURE needs LM_MISUSE_CHECKS"
#endif
#ifndef LM_TOOL_HOOKS
#define LM_TOOL_HOOKS 0  /* ASan poisoning of free memory and headers: see "Tool hooks" below */
#endif
#if LM_TOOL_HOOKS && LM_SECURE
#error "LM_TOOL_HOOKS and LM_SECURE do not go together (the fill writes freed memory through memset)"
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

#define GRANULE        16u    /* block and slot size unit and alignment (= LM_ALIGNMENT) */
#define GRANULE_SHIFT  4
#define HEADER         8u     /* two u32 words on both widths */
#define MIN_SPLIT      2u     /* splits leave no piece smaller: only a freed 1-granule block is one */
#define PAGE_SHIFT     10     /* the page map's unit: 1 KiB */
#define PAGE_SIZE      (1u << PAGE_SHIFT)
#define SMALL_MAX      LM_SMALL_MAX   /* requests up to 4 KiB come from spans */
#define SMALL_GRANULES (SMALL_MAX / GRANULE)
#define SMALL_CLASSES  48u    /* 16..128 bytes by 16, then eight classes per doubling */
#define SPAN_MIN_SLOTS 1u     /* a span holds at least this many slots ... */
#define SPAN_MAX_BYTES (64u << 10)  /* ... and at most about this many bytes of them */
#define EXTEND_BYTES   4096u  /* never-used slots go on the free list this many bytes at a time */
#define QUARANTINE     4u     /* secure mode: freed blocks a heap keeps from reuse, oldest going first */
#define SECURE_EXTRA   16u    /* secure mode: at least a word of canary, and the requested size */
#define FILL_BYTE      0xDBu  /* secure mode: what freed bytes hold */
#define IDLE_MIN_BYTES (64u << 10)  /* empty spans kept: this much, or an eighth of all spans, */
#define IDLE_LOCAL     32u    /* ... and at most this many that frees of the heap's own thread emptied, */
#define IDLE_RING      (LM_THREADS ? 128u : IDLE_LOCAL)  /* ... or this many in all, the oldest going first (see span_emptied) */
#define SLOT_ALIGN_MAX 64u    /* slot 0 is aligned to its size's power-of-two part, up to this */
#define TABLE_SPANS    32u    /* descriptors per descriptor table (the first links the tables) */
#define SL_SHIFT       4      /* 16 second-level lists per power of two */
#define SL_COUNT       (1u << SL_SHIFT)
#define FL_COUNT       29u    /* first levels for granule counts below 2^32 */
#define LIST_COUNT     (FL_COUNT * SL_COUNT)
#define LIST_LOOKS     4u     /* blocks of its own list a request looks at before a larger list */
#define MIN_GROWTH     LM_TARGET_PAGE_SIZE
#define GROWTH_SHIFT   3      /* grow by at least footprint / 8 ... */
#define FINE_SHIFT     5      /* ... or / 32 below FINE_GROWTH_MAX */
#define FINE_GROWTH_MAX ((uptr)1 << 30)   /* past this a classic buffer's grow costs milliseconds */

_Static_assert(GRANULE == LM_ALIGNMENT, "blocks and slots are aligned to one granule");
_Static_assert(GRANULE == 1u << GRANULE_SHIFT, "granule shift");
_Static_assert(GRANULE >= HEADER + 2 * sizeof(word), "a free granule holds its header and links");
_Static_assert(MIN_SPLIT * GRANULE >= HEADER + 3 * sizeof(word),
               "a split remainder holds its header, links and footer");
_Static_assert(LM_TARGET_PAGE_SIZE % PAGE_SIZE == 0, "target pages are whole map pages");
_Static_assert(GRANULE >= 2 * sizeof(word), "a free slot holds its link and its check");

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

static inline unsigned msb32(uint32_t x) { return 31u - (unsigned)__builtin_clz(x); }
static inline unsigned lsb32(uint32_t x) { return (unsigned)__builtin_ctz(x); }

/* ===== Tool hooks ========================================================= */

/* LM_TOOL_HOOKS=1 (lm_add_library TOOL_HOOKS, native): AddressSanitizer
 * and valgrind memcheck see lmalloc's blocks.
 *   ASan: free slots and freed blocks' bytes and every block header are
 *   poisoned; a block is unpoisoned when it is handed out. The allocator's
 *   own code is compiled without ASan (it reads and writes free memory:
 *   links, pairs, headers) and finds ASan's interface through weak
 *   symbols: without ASan these hooks do nothing.
 *   memcheck (client requests, nothing unless run under valgrind): a block
 *   handed out by the API is a MALLOCLIKE block, a freed one FREELIKE (no
 *   access) but for the words the allocator keeps there (a slot's pair, a
 *   free block's links and footer, headers), which are made defined before
 *   the allocator writes them; memory the page layer takes is made
 *   accessible first.
 * (Neither sees memory never handed out yet, above the last block.) */
#if LM_TOOL_HOOKS
#include <valgrind/memcheck.h>
void __asan_poison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
/* Freed bytes: no access (ASan). */
static inline void tool_poison(uptr p, uptr bytes) {
    if (__asan_poison_memory_region) __asan_poison_memory_region((void *)p, bytes);
}
/* Bytes the page layer takes: accessible again (both tools). */
static inline void tool_unpoison(uptr p, uptr bytes) {
    if (__asan_unpoison_memory_region) __asan_unpoison_memory_region((void *)p, bytes);
    VALGRIND_MAKE_MEM_UNDEFINED((void *)p, bytes);
}
/* Words the allocator is about to write in free memory (memcheck). */
static inline void tool_metadata(uptr p, uptr bytes) { VALGRIND_MAKE_MEM_DEFINED((void *)p, bytes); }
/* A block the API hands out, or frees (memcheck). */
static inline void tool_malloclike(uptr p, uptr bytes, int zeroed) { VALGRIND_MALLOCLIKE_BLOCK((void *)p, bytes, 0, zeroed); }
static inline void tool_freelike(uptr p) { VALGRIND_FREELIKE_BLOCK((void *)p, 0); }
static inline void tool_resized(uptr p, uptr old_bytes, uptr new_bytes) {
    VALGRIND_RESIZEINPLACE_BLOCK((void *)p, old_bytes, new_bytes, 0);
    if (new_bytes < old_bytes) {     /* what the shrink wrote: the tail's header and links, its footer */
        VALGRIND_MAKE_MEM_DEFINED((void *)(p + new_bytes), 2 * HEADER);
        VALGRIND_MAKE_MEM_DEFINED((void *)(p + old_bytes - sizeof(word)), sizeof(word));
    }
}
#else
static inline void tool_poison(uptr p, uptr bytes) { (void)p, (void)bytes; }
static inline void tool_unpoison(uptr p, uptr bytes) { (void)p, (void)bytes; }
static inline void tool_metadata(uptr p, uptr bytes) { (void)p, (void)bytes; }
static inline void tool_malloclike(uptr p, uptr bytes, int zeroed) { (void)p, (void)bytes, (void)zeroed; }
static inline void tool_freelike(uptr p) { (void)p; }
static inline void tool_resized(uptr p, uptr old_bytes, uptr new_bytes) { (void)p, (void)old_bytes, (void)new_bytes; }
#endif

/* ===== Block headers ====================================================== */

enum { STATE_FREE = 0, STATE_USED = 1, STATE_INTERNAL = 2, STATE_FENCE = 3 };
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
static inline word *block_links(uptr b) { return block_words(b) + 2; }   /* next, prev: see link_read */
static inline word *block_footer(uptr b, uint32_t g) { return (word *)(b + block_bytes(g)) - 1; }

/* Secret keys from the target (lm_target_random), drawn once, at the
 * heap's first use, before any header is written (heap_init): `header`
 * keys the header check, `link` encodes free blocks' list links, `canary`
 * gives the bytes after a block's requested size in secure mode. */
static struct { uint32_t header, link; uint64_t canary; } keys;

/* A keyed hash of where a header is and what size it claims, cheap because
 * free computes it every time: the key and one multiply spread the size
 * over the word, and a second carries every input bit into the 28 high bits
 * kept. Without the key nobody can compute a header that passes; bytes
 * that are not a header match by chance once in 2^28 wherever they are.
 * (Against someone who can read the heap, a header is no secret: the key
 * guards against blind writes and forged headers, see docs/hardening.md.)
 * The odd multipliers are within 2^27 of zero as signed numbers, so wasm
 * encodes each in 4 bytes, not 5. */
static inline uint32_t header_check(uptr b, uint32_t granules) {
    return (((uint32_t)b ^ keys.header ^ (granules * 0xFDEBCA77u)) * 0xFE3779B1u) & CHECK_MASK;
}

/* Out of line: one copy serves every slow path (no fast path writes a header). */
static NOINLINE void block_write(uptr b, uint32_t granules, uint32_t flags) {
    if (LM_TOOL_HOOKS) tool_metadata(b, HEADER);
    block_words(b)[0] = granules;
    block_words(b)[1] = header_check(b, granules) | flags;
    if (LM_TOOL_HOOKS) tool_poison(b, HEADER);
}

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

/* Granules a block needs for a request of `size` bytes (size <= MAX_REQUEST). */
static inline uint32_t request_granules(uptr size) {
    return (uint32_t)((size + HEADER + GRANULE - 1) >> GRANULE_SHIFT);
}

/* Secure mode: freed memory holds FILL_BYTE, checked when it is handed
 * out again (a write after free shows). */
static inline void fill(uptr from, uptr to) { __builtin_memset((void *)from, FILL_BYTE, to - from); }

typedef uint64_t __attribute__((may_alias)) fill_word;
#define FILL_WORD (FILL_BYTE * 0x0101010101010101u)
#define FILL_CHUNK 256u   /* bytes compared without a branch: the compiler may use vectors */

/* The first byte of [from, to) that is not FILL_BYTE, or 0: a chunk at a
 * time, then (in the chunk that differs, and the rest) a word and a byte
 * at a time. Secure mode checks every freed byte this way twice. */
static uptr fill_broken(uptr from, uptr to) {
    for (; from < to && from % sizeof(fill_word); from++)
        if (*(const uint8_t *)from != FILL_BYTE) return from;
    for (; to - from >= FILL_CHUNK && to > from; from += FILL_CHUNK) {
        uint64_t differs = 0;
        for (unsigned i = 0; i < FILL_CHUNK / sizeof(fill_word); i++) differs |= ((const fill_word *)from)[i] ^ FILL_WORD;
        if (differs) break;
    }
    for (; to - from >= sizeof(fill_word) && to > from; from += sizeof(fill_word))
        if (*(const fill_word *)from != FILL_WORD) break;
    for (; from < to; from++)
        if (*(const uint8_t *)from != FILL_BYTE) return from;
    return 0;
}


/* ===== Small size classes ================================================= */

/* Classes by slot granules: 1..8 one by one, then eight per doubling, so a
 * 16-byte object takes 16 bytes and, past 128 bytes, a slot wastes under
 * 1/8 of itself. `g` is a request's granules, 0..SMALL_GRANULES. */
static inline unsigned sizeclass_small(uint32_t g) {
    if (g <= 8) return g ? g - 1 : 0;
    unsigned m = msb32(g - 1);
    return (m - 2) * 8 + ((g - 1) >> (m - 3)) - 8;
}

static inline uint32_t class_granules(unsigned c) {
    return c < 8 ? c + 1 : (9 + c % 8) << (c / 8 - 1);
}

static inline uint32_t class_bytes(unsigned c) { return class_granules(c) << GRANULE_SHIFT; }

/* Slots of a new span of class c when the class's spans already hold
 * `bytes`: a quarter of that, so a small heap pays little per class, a big
 * class has few spans (each span's turn at the head of its queue is a slow
 * call), and the slots a new span has not handed out yet stay a small part
 * of its class; at least SPAN_MIN_SLOTS and a page's worth (so at most one
 * span starts in any page, see span_holding). */
static inline uint32_t span_capacity(unsigned c, uptr bytes) {
    uint32_t size = class_bytes(c);
    uptr want = bytes >> 2;
    if (want > SPAN_MAX_BYTES) want = SPAN_MAX_BYTES;
    if (want < PAGE_SIZE) want = PAGE_SIZE;
    uint32_t capacity = (uint32_t)((want + size - 1) / size);
    return capacity > SPAN_MIN_SLOTS ? capacity : SPAN_MIN_SLOTS;
}

/* Slot 0 of a class's spans is aligned to the power of two in its size
 * (up to SLOT_ALIGN_MAX), so every slot is: aligned_alloc picks a class
 * that is a multiple of its alignment. */
static inline uint32_t class_alignment(unsigned c) {
    uint32_t power = class_bytes(c) & -class_bytes(c);
    return power < SLOT_ALIGN_MAX ? power : SLOT_ALIGN_MAX;
}

/* With threads, two threads' hot data must not share a line, which would
 * make every write of one a miss of the other. The line is two cache lines:
 * x86 prefetchers fetch lines in pairs (and some ARM cores have 128-byte
 * lines). Heaps and descriptor tables end with a line of padding. */
#define CACHE_LINE 128u
#define THREAD_PAD (LM_THREADS ? CACHE_LINE : 0u)

/* Once a second heap exists, each new span keeps SPAN_APART bytes from its
 * block's ends (slot 0 aligned to it, the last slot ending on it): the
 * spans of two threads lie side by side in the page layer, and a thread's
 * prefetches of the lines past its own span's end made the other's writes
 * miss. (Measured, 2 threads of independent churn, bench_threads: 64-byte
 * lines 0.99x one thread; 128, 1.1x; spans 512 apart, 1.8x.) With one heap
 * spans are packed as without threads. */
#define SPAN_APART 512u
#define SPAN_ALIGN_MAX (LM_THREADS ? SPAN_APART : SLOT_ALIGN_MAX)   /* slot 0 is at most this past its block's payload */

_Static_assert(SMALL_CLASSES == 48 && SMALL_GRANULES == 256, "class_granules(47) == SMALL_GRANULES");

/* ===== State ============================================================== */

/* A span's descriptor: 80 bytes, referenced by its granule index. The
 * fields free reads come first. */
typedef struct span {
    uptr slot0;          /* address of slot 0 */
    uptr inverse;        /* the slot size's odd part, inverted mod 2^LM_UPTR_BITS (see slot_number) */
    uint32_t free;       /* granule index of the first free slot; 0: none */
    uint32_t used;       /* slots handed out and not freed */
    uint32_t fresh;      /* slots from here to capacity were never handed out */
    uint32_t watch;      /* `used` when no slot is left (capacity, less slots a write after free
                          * lost), less 2: a free that finds used - 2 >= watch looks further */
    uint8_t shift;       /* the slot size's trailing zero bits */
    uint8_t sizeclass;
    uint8_t queued;      /* QUEUED or IDLE in its class's queue, or 0 (full) */
    uint8_t kind;        /* SPAN_SMALL, or SPAN_SPARE / SPAN_TABLE in a descriptor table */
    uint32_t owner;      /* id of the heap it belongs to */
    uint32_t capacity;
    uint32_t next, prev; /* its class queue, or the spare list: descriptor refs, 0 = none */
    uint32_t block;      /* block index of the span's own block */
    uint32_t check;      /* keyed hash of the fields fixed at creation */
    uint32_t idle_stamp; /* when it last became IDLE (its entry in the heap's idle ring) */
    uint32_t pending_next; /* next span on its owner's pending stack (see slot_free_remote) */
    uint32_t table;      /* ref of its descriptor table (whose first entry counts those in use,
                          * without threads: see table_release) */
#if LM_UPTR_BITS == 32
    uint32_t unused[2];
#endif
    /* Slots other threads freed, changed together: the head of their list
     * (bits 0-31), whether the owner must be told (32-33: REMOTE_*), and
     * how many there are (34-63), so the owner takes them without a walk. */
    uint64_t remote;
} span;
enum { REMOTE_QUIET = 0, REMOTE_NOTIFY = 1, REMOTE_NOTIFIED = 2 };
#define REMOTE_STATE(w) ((uint32_t)((w) >> 32) & 3u)
#define REMOTE_COUNT(w) ((uint32_t)((w) >> 34))
enum { SPAN_SPARE = 0, SPAN_SMALL = 1, SPAN_TABLE = 2 };
enum { QUEUED = 1, IDLE = 2 };   /* IDLE: empty, queued, not first, counted in idle_bytes */
_Static_assert(sizeof(span) == 80, "descriptors are referenced by granule index");

/* The page layer: all memory from the target, as a chain of blocks, and
 * the page map and span descriptors. One per process. The fields every
 * free and pointer check reads come first and change only when memory
 * grows; with threads the rest, written under the lock, start a new cache
 * line, or each thread's frees would miss on the other's block takes. */
typedef struct pages {
    uptr base;           /* address of map page 0: origin rounded down to a page */
    word *map;           /* by page: ref of the span covering it, 0 if none (see heap_adopt) */
    uptr payloads;       /* origin + HEADER: slots and descriptors are counted from here */
    uptr origin;         /* address of block index 0 (first is index 1) */
    uptr extent;         /* (sentinel - first) / GRANULE, kept for the one-compare pointer checks */
    uptr first;          /* header of the first block; 0 until initialised */
    uptr map_pages;      /* entries in map: every page up to `end` (with threads, more) */
    uint32_t key;        /* secret, nonzero: free slots' pairs and span checks are keyed with it */
    _Alignas(LM_THREADS ? CACHE_LINE : _Alignof(uptr))
    uptr sentinel;       /* header of the end sentinel; memory ends 8 bytes later */
    uptr top;            /* header of the top block (== sentinel when empty) */
    uptr start;          /* first byte taken from the target */
    uptr untouched;      /* bytes at and above this were never written (zero if grown zeroed) */
    uptr grown_from;     /* where the last growth began: no byte past it was written before */
    uptr retired_bytes;  /* old maps kept for lock-free readers (with threads) */
    uptr end;            /* end of the map, and of the memory the heap uses */
    uint32_t lists[LIST_COUNT];           /* free list heads by size class */
    uint32_t sl_bitmap[FL_COUNT];
    uint32_t fl_bitmap;
    uint32_t tables;     /* ref of the first descriptor table */
    uint32_t policy;
    uint32_t lock;       /* 0 free, 1 held, 2 held with sleepers (LM_THREADS) */
    struct heap *heaps;  /* every heap, linked by next_heap */
    struct heap *pool;   /* heaps whose threads ended, for new threads to adopt */
    lm_misuse last_misuse;
    uint64_t peak_footprint, grow_calls, failed_allocs, misuse_count;
} pages;

/* A heap: the spans small requests come from. */
typedef struct heap {
    span *direct[SMALL_GRANULES + 1];   /* by request granules: current[] of their class */
    span *current[SMALL_CLASSES];       /* first span of each class's queue, or &empty_span */
    uint32_t last[SMALL_CLASSES];       /* ref of the last span of each queue, 0 if empty */
    uptr class_bytes[SMALL_CLASSES];    /* slot bytes in the spans of each class, queued or full */
    uptr span_bytes;                    /* the sum of class_bytes */
    uptr idle_bytes;                    /* slot bytes in IDLE spans */
    struct { uint32_t ref, stamp; } idle_ring[IDLE_RING];  /* spans made IDLE, oldest first */
    uint32_t idle_head, idle_count, idle_clock;
    uint32_t idle_local;                /* ring entries of spans its own frees emptied (with threads) */
    uptr quarantine[LM_SECURE ? QUARANTINE : 1];   /* secure mode: freed, not yet reusable, oldest first */
    uint32_t quarantine_head, quarantine_count;
    uint32_t id;                        /* its spans' owner; 0 for heap_none */
    uint32_t spare;                     /* ref of its first unused descriptor */
    uint32_t pending;                   /* parked spans other threads freed into (see slot_free_remote) */
    struct heap *next_heap, *pool_next;
    pages *pages;                       /* where its spans come from and go back to */
} heap;

/* No free slot and no room: the first malloc of each class takes the slow
 * path, which needs no "initialised?" test on the fast one. */
static span empty_span;

#define EMPTY4  &empty_span, &empty_span, &empty_span, &empty_span
#define EMPTY16 EMPTY4, EMPTY4, EMPTY4, EMPTY4
#define EMPTY64 EMPTY16, EMPTY16, EMPTY16, EMPTY16
#define HEAP_EMPTY { .direct = { EMPTY64, EMPTY64, EMPTY64, EMPTY64, &empty_span }, \
                     .current = { EMPTY16, EMPTY16, EMPTY16 }, .pages = &page_layer }
_Static_assert(SMALL_GRANULES + 1 == 257 && SMALL_CLASSES == 48, "HEAP_EMPTY counts entries");
static word no_map[1];    /* the map before the first: its count word says 0 */
/* Until the heap begins, ref 0 (every ref, see span_lookup) leads to empty_span. */
static pages page_layer = { .map = &no_map[1], .payloads = (uptr)&empty_span };

#if LM_THREADS
/* Each thread allocates from a heap of its own, claimed at its first slow
 * call; until then it holds heap_none, whose spans are all empty_span. */
#ifdef __ELF__
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define THREAD_LOCAL _Thread_local
#endif
static heap heap_none = HEAP_EMPTY;
static THREAD_LOCAL heap *thread_heap = &heap_none;
static THREAD_LOCAL uint32_t lock_depth;   /* the page layer's lock is taken again by the holder */
static inline heap *heap_here(void) { return thread_heap; }
#else
static heap default_heap = HEAP_EMPTY;
static inline heap *heap_here(void) { return &default_heap; }
#endif

/* ===== Threads: shared fields, and memory another thread grew =========== */

/* Fields other threads read without the lock (the map, descriptors, remote
 * lists) are read with ATOMIC_LOAD and written with ATOMIC_STORE.
 *
 * With LM_TARGET_LAGGING_BOUNDS, each thread checks atomic accesses (at 2,
 * all accesses) against its own record of memory's size, which learns of
 * other threads' growth late (targets/target.h): an atomic access to a
 * descriptor or map another thread just placed in new memory would trap.
 * So ATOMIC_LOAD is a plain (volatile) load, which still orders what it
 * must: every acquire load here leads by address to what it guards (map
 * entry to descriptor, list head to slot), and engines keep such loads in
 * order. Read-modify-writes, and stores into another heap's memory, first
 * make sure this thread has seen memory up to their address (ATOMIC_AT:
 * one compare, and rarely the target's catch-up); at 2, so do the
 * lock-free readers, once per object (READ_AT, see span_lookup). What the
 * lock guards lies below pg->end, seen when the lock is taken: stores
 * under it, or into spans this thread's heap took under it, need no check. */
#if LM_TARGET_LAGGING_BOUNDS
static THREAD_LOCAL uptr memory_seen_end;
static NOINLINE void memory_catch_up(void) { memory_seen_end = lm_target_memory_catch_up(); }
#define SEEN_UP_TO(p) (UNLIKELY((uptr)(p) >= memory_seen_end) ? memory_catch_up() : (void)0)
#define ATOMIC_AT(p) (SEEN_UP_TO(p), (p))
#define ATOMIC_LOAD(p, order) (*(volatile __typeof__(*(p)) *)(p))
#else
#define ATOMIC_AT(p) (p)
#if LM_THREADS
#define ATOMIC_LOAD(p, order) __atomic_load_n((p), __ATOMIC_##order)
#else
#define ATOMIC_LOAD(p, order) (*(p))
#endif
#endif
#if LM_TARGET_LAGGING_BOUNDS > 1
#define READ_AT(p) SEEN_UP_TO(p)
#else
#define READ_AT(p) ((void)0)
#endif
#if LM_THREADS
#define ATOMIC_STORE(p, v, order) __atomic_store_n((p), (v), __ATOMIC_##order)
#else
#define ATOMIC_STORE(p, v, order) (*(p) = (v))
#endif

/* ===== Threads: the page layer's lock ===================================== */

/* With LM_THREADS, the page layer (blocks, descriptors, the map, growth)
 * is shared and taken under one lock; a heap's spans and queues belong to
 * its thread. The lock is a futex (three states: free, held, held with
 * sleepers) that its holder may take again (lock_depth), so the page
 * layer's functions can call each other freely. Its holder has seen all
 * memory up to pg->end (see above). */
#if LM_THREADS
static NOINLINE void pages_lock_wait(pages *pg) {
    while (__atomic_exchange_n(&pg->lock, 2, __ATOMIC_ACQUIRE) != 0) lm_target_wait(&pg->lock, 2);
}

static NOINLINE void pages_lock(pages *pg) {
    uint32_t unheld = 0;
    if (lock_depth++) return;
    if (!__atomic_compare_exchange_n(&pg->lock, &unheld, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        pages_lock_wait(pg);
#if LM_TARGET_LAGGING_BOUNDS
    if (pg->end) SEEN_UP_TO(pg->end - 1);
#endif
}

static NOINLINE void pages_unlock(pages *pg) {
    if (--lock_depth) return;
    if (__atomic_exchange_n(&pg->lock, 0, __ATOMIC_RELEASE) == 2) lm_target_wake(&pg->lock);
}
#else
static inline void pages_lock(pages *pg) { (void)pg; }
static inline void pages_unlock(pages *pg) { (void)pg; }
#endif

static inline uptr block_at(pages *pg, uint32_t index) { return pg->origin + block_bytes(index); }
/* The inverse of block_at, counted from first (origin is first - GRANULE). */
static inline uint32_t block_index(pages *pg, uptr b) {
    return (uint32_t)((b - pg->first) >> GRANULE_SHIFT) + 1;
}
static inline uint32_t top_granules(pages *pg) {
    return (uint32_t)((pg->sentinel - pg->top) >> GRANULE_SHIFT);
}
/* Slots and descriptors are 16-byte aligned: each is numbered like the
 * block header 8 bytes before it would be, and 0 is never one. */
static inline uptr payload_at(pages *pg, uint32_t index) { return pg->payloads + block_bytes(index); }
static inline uint32_t payload_index(pages *pg, uptr p) {
    return (uint32_t)((p - pg->payloads) >> GRANULE_SHIFT);
}
static inline span *span_at(pages *pg, uint32_t ref) { return (span *)payload_at(pg, ref); }
static inline uint32_t span_ref(pages *pg, span *s) { return payload_index(pg, (uptr)s); }
static inline uptr page_of(pages *pg, uptr p) { return (p - pg->base) >> PAGE_SHIFT; }
static inline uptr span_slot0(pages *pg, const span *s) { (void)pg; return ATOMIC_LOAD(&s->slot0, RELAXED); }

/* ===== Block lists (TLSF two-level index) ================================= */

/* The list whose blocks are at least 2^fl-ish: blocks of `g` granules live here. */
static inline unsigned list_of(uint32_t g) {
    if (g < SL_COUNT) return g;
    unsigned m = msb32(g);
    return (m - SL_SHIFT + 1) * SL_COUNT + ((g >> (m - SL_SHIFT)) - SL_COUNT);
}

/* The first non-empty list >= `c`, or LIST_COUNT if none. */
static unsigned list_find(pages *pg, unsigned c) {
    unsigned fl = c / SL_COUNT;
    if (fl >= FL_COUNT) return LIST_COUNT;
    uint32_t sl_map = pg->sl_bitmap[fl] & (~0u << (c % SL_COUNT));
    if (!sl_map) {
        uint32_t fl_map = pg->fl_bitmap & (~0u << (fl + 1));
        if (!fl_map) return LIST_COUNT;
        fl = lsb32(fl_map);
        sl_map = pg->sl_bitmap[fl];
    }
    return fl * SL_COUNT + lsb32(sl_map);
}

/* A free block's links (0: next, 1: prev) are block indices (0: none)
 * xor the secret link key: they lie in freed memory, where a write after
 * free lands, so they are decoded and checked (link_sound, links_agree)
 * before anything follows them. */
static inline uint32_t link_read(uptr b, unsigned which) { return block_links(b)[which] ^ keys.link; }
static inline void link_write(uptr b, unsigned which, uint32_t index) { block_links(b)[which] = index ^ keys.link; }

/* Is a decoded link none, or the index of a block of the heap? A damaged
 * link names anything: it is tested before it is followed. (That it
 * names a free block is left to links_agree, before any list changes:
 * without the key, a write cannot make two blocks' links name each
 * other.) */
static inline int link_sound(pages *pg, uint32_t index) {
    return index - 1 < pg->extent || !index;
}

/* Do free block b's links and its neighbours' agree (b is where they say)? */
static inline int links_agree(pages *pg, uptr b, unsigned c, uint32_t next, uint32_t prev) {
    uint32_t self = block_index(pg, b);
    return link_sound(pg, next) && link_sound(pg, prev) && (!next || link_read(block_at(pg, next), 1) == self) &&
           (prev ? link_read(block_at(pg, prev), 0) == self : pg->lists[c] == self);
}

static COLD void free_block_damaged(pages *pg, uptr b);

static NOINLINE void free_list_insert(pages *pg, uptr b, uint32_t g) {
    unsigned c = list_of(g);
    uint32_t head = pg->lists[c];
    block_write(b, g, STATE_FREE);
    if (LM_TOOL_HOOKS) tool_metadata(b + HEADER, HEADER),
                       tool_metadata((uptr)block_footer(b, g), sizeof(word));
    *block_footer(b, g) = g;          /* in a 1-granule block, the prev link below overwrites it */
    link_write(b, 0, head);
    link_write(b, 1, 0);
    if (head) link_write(block_at(pg, head), 1, block_index(pg, b));   /* a head is always sound */
    pg->lists[c] = block_index(pg, b);
    pg->sl_bitmap[c / SL_COUNT] |= 1u << (c % SL_COUNT);
    pg->fl_bitmap |= 1u << (c / SL_COUNT);
    block_set_prev(b + block_bytes(g), prev_of_free(g));
}

/* Takes free block b off its list. Links that do not agree with the
 * neighbours' (written after free, or forged) are reported, never
 * followed; the lists are then made anew from the chain, and b is taken
 * off if it is on one. */
static COLD void free_list_remove_damaged(pages *pg, uptr b);

static NOINLINE void free_list_remove(pages *pg, uptr b) {
    unsigned c = list_of(block_granules(b));
    uint32_t next = link_read(b, 0), prev = link_read(b, 1);
    if (LM_MISUSE_CHECKS && UNLIKELY(!links_agree(pg, b, c, next, prev))) {
        free_list_remove_damaged(pg, b);   /* a tail call: the fast path saves no registers */
        return;
    }
    if (next) link_write(block_at(pg, next), 1, prev);
    if (prev) link_write(block_at(pg, prev), 0, next);
    else if (!(pg->lists[c] = next)) {
        pg->sl_bitmap[c / SL_COUNT] &= ~(1u << (c % SL_COUNT));
        if (!pg->sl_bitmap[c / SL_COUNT]) pg->fl_bitmap &= ~(1u << (c / SL_COUNT));
    }
}

/* free_list_remove found b's links damaged: reports it, makes the lists
 * anew, and takes b off if it is on one now. */
static COLD void free_list_remove_damaged(pages *pg, uptr b) {
    free_block_damaged(pg, b);
    if (links_agree(pg, b, list_of(block_granules(b)), link_read(b, 0), link_read(b, 1))) free_list_remove(pg, b);
}

/* The lists made anew from the chain, which headers (keyed, checked) hold
 * together: every FREE block on it is listed with fresh links. After
 * damage to links in freed memory, under LM_POLICY_CONTINUE. (A chain
 * broken by a damaged header is followed up to the damage.) */
static uptr chain_next(pages *pg, uptr b);

static COLD void free_lists_rebuild(pages *pg) {
    __builtin_memset(pg->lists, 0, sizeof pg->lists);
    __builtin_memset(pg->sl_bitmap, 0, sizeof pg->sl_bitmap);
    pg->fl_bitmap = 0;
    for (uptr b = pg->first; b && b < pg->top; b = chain_next(pg, b))
        if (block_state(b) == STATE_FREE) free_list_insert(pg, b, block_granules(b));
}

/* The next block of b's list (b is listed), or 0; a damaged link is
 * reported and the lists made anew, and then `restart` is returned
 * (LIST_RESTART): the caller walks its list again. */
#define LIST_RESTART ((uint32_t)-1)
static inline uint32_t list_next(pages *pg, uptr b) {
    uint32_t next = link_read(b, 0);
    if (LM_MISUSE_CHECKS && UNLIKELY(!link_sound(pg, next))) {
        free_block_damaged(pg, b);
        return LIST_RESTART;
    }
    return next;
}

/* ===== Page layer: taking memory from the target ========================== */

/* Moves the top block to start at `t`. Everything below it may have been
 * handed out, so `untouched` rises. */
static NOINLINE void top_set(pages *pg, uptr t) {
    pg->top = t;
    if (pg->untouched < t) pg->untouched = t;
}

/* Where the page map lives. Single-threaded: after the sentinel, at the
 * very end, so it never splits the free space; it moves to the new end
 * whenever memory grows, and where it was becomes part of top. With
 * threads, frees read the map without the lock, so an old map must stay
 * as it was (a free still reading it finds old entries, never garbage, and
 * tests what they lead to before trusting them): the map is an INTERNAL
 * block, made with room for four times the pages memory has, so it moves
 * only when memory has grown fourfold; the old copies stay behind and add
 * up to a third of one map. The word before the entries holds their
 * count. */
#define MAP_ROOM 4u

/* Bytes of a map for memory that ends at `end`. */
static uptr map_bytes(pages *pg, uptr end) {
    uptr pages = page_of(pg, end - 1) + 1;
    if (LM_THREADS) return block_bytes(request_granules((pages * MAP_ROOM + 1) * sizeof(word)));
    return ((pages + 1) * sizeof(word) + GRANULE - 1) & ~(uptr)(GRANULE - 1);
}

/* What growing memory to `end` must leave for the map. */
static uptr map_room(pages *pg, uptr end) {
    return LM_THREADS && page_of(pg, end - 1) < pg->map_pages ? 0 : map_bytes(pg, end);
}

/* Makes `map` (its count word before it set) the map, copying the old. */
static void map_install(pages *pg, word *map) {
    uptr have = pg->map_pages, capacity = map[-1];
    __builtin_memmove(map, pg->map, have * sizeof(word));
    __builtin_memset(map + have, 0, (capacity - have) * sizeof(word));
    ATOMIC_STORE(&pg->map, map, RELEASE);
    pg->map_pages = capacity;
}

static uptr top_take(pages *pg, uint32_t g);

/* With threads: moves the map to a new block at the start of top, which
 * holds it (a growth leaves room for it); the old one stays behind. */
static COLD void map_move(pages *pg) {
    uptr old = (uptr)(pg->map - 1) - HEADER;
    uptr b = top_take(pg, (uint32_t)(map_bytes(pg, pg->end) >> GRANULE_SHIFT));
    block_set_state(b, STATE_INTERNAL);
    word *map = (word *)(b + HEADER) + 1;
    map[-1] = (uint32_t)(block_usable(block_granules(b)) / sizeof(word) - 1);
    if (pg->map_pages) pg->retired_bytes += block_bytes(block_granules(old));
    map_install(pg, map);
}

/* Map entry 0, no span, leads to the bytes at payload index 0, which
 * start the first block of the heap: made zero, they read as a span
 * descriptor with slot 0 at address 0 and no slot handed out, so a free
 * tests where an entry leads without first testing for none. (Its header
 * lies in the descriptor's `inverse` on 64-bit targets, which a free
 * reads: memcheck builds test for none instead, see span_lookup.) */
static COLD void no_span_make(pages *pg) {
    uptr b = top_take(pg, request_granules(sizeof(span))), payloads = pg->origin + HEADER;
    block_set_state(b, STATE_INTERNAL);
    __builtin_memset((void *)payloads, 0, b - payloads);   /* the word before b */
    __builtin_memset((void *)(b + HEADER), 0, block_usable(block_granules(b)));
    pg->payloads = payloads;   /* until now, every ref led to empty_span */
}

/* Adopts [old_end, old_end + bytes), just obtained from the target: top
 * grows into it (or starts anew there, after memory another party grew),
 * and the map covers it. */
static COLD void heap_adopt(pages *pg, uptr old_end, uptr bytes) {
    uptr new_end = (old_end + bytes) & ~(uptr)(GRANULE - 1);
    uptr old_sentinel = pg->sentinel, new_sentinel = new_end - HEADER;
    if (!LM_THREADS) {
        word *map = (word *)(new_end - map_bytes(pg, new_end)) + 1;
        map[-1] = (uint32_t)(page_of(pg, new_end - 1) + 1);
        map_install(pg, map);
        new_sentinel = (uptr)(map - 1) - HEADER;
    }
    if (old_end == pg->end) {
        /* Contiguous: the old sentinel (and map) become part of the top
         * block; they were written, so only the new memory reads as zero. */
        if (pg->untouched < old_end) pg->untouched = old_end;
    } else {
        /* Someone else grew memory in between: fence off the old end,
         * list our old top, and start a new top whose first header lies
         * past the old end. */
        block_write(old_sentinel, (uint32_t)((old_end + HEADER - old_sentinel) >> GRANULE_SHIFT), STATE_FENCE);
        if (top_granules(pg)) {
            if (LM_SECURE) fill(pg->top + HEADER, pg->sentinel);   /* listed blocks hold the fill */
            free_list_insert(pg, pg->top, top_granules(pg));
        }
        top_set(pg, old_end + HEADER);   /* all below the new top counts as written */
    }
    pg->sentinel = new_sentinel;
    block_write(pg->sentinel, 0, STATE_FENCE);
    pg->grown_from = old_end;
    pg->end = new_end;
    pg->extent = (pg->sentinel - pg->first) >> GRANULE_SHIFT;
    if (pg->peak_footprint < new_end - pg->start) pg->peak_footprint = new_end - pg->start;
    if (pg->top == pg->first) no_span_make(pg);   /* the heap's first block */
    if (LM_THREADS && page_of(pg, new_end - 1) >= pg->map_pages) map_move(pg);
}

/* Asks the target for memory so that top holds g granules, preferring a
 * geometric step: a fine one (1/32) while memory is below 1 GiB, so the
 * unused end stays a small part of the footprint (an engine without resizable buffers pays up
 * to ~50 us per grow there); a coarse one (1/8) past it, where such an
 * engine pays milliseconds per grow (see README, Growth). */
static COLD int heap_grow(pages *pg, uint32_t g) {
    uptr bytes = block_bytes(g - top_granules(pg));
    uptr footprint = pg->end - pg->start;
    uptr step = footprint >> GROWTH_SHIFT;
    if (footprint < FINE_GROWTH_MAX) step >>= FINE_SHIFT - GROWTH_SHIFT;
    if (step < MIN_GROWTH) step = MIN_GROWTH;
    bytes += 2 * GRANULE;
    if (step < bytes) step = bytes;
    for (int attempt = 0; attempt < 2; attempt++) {
        uptr end = pg->end;
        /* The map's share comes out of the step, unless the request then
         * would not fit (rounding up to pages may add a page of map). */
        uptr need = bytes + map_room(pg, end + step + LM_TARGET_PAGE_SIZE);
        if (step < need) step = need;
        uptr rounded = (step + LM_TARGET_PAGE_SIZE - 1) & ~(uptr)(LM_TARGET_PAGE_SIZE - 1);
        /* Granule indices are u32: the heap may not span more than 2^32 granules. */
        if (rounded >= step && end + rounded > end &&
            (uint64_t)(end + rounded - pg->origin) >> GRANULE_SHIFT <= 0xFFFFFFFFu) {
            uptr old_end = lm_target_grow(rounded);
            if (old_end != LM_TARGET_GROW_FAILED) {
                pg->grow_calls++;
                heap_adopt(pg, old_end, rounded);
                return 1;
            }
        }
        if (step == bytes) break;
        step = bytes;   /* the geometric step was refused: try just what is needed */
    }
    return 0;
}

/* Sets the page layer up on first use; 0 if the target gives no memory. */
static COLD int heap_init(pages *pg) {
    uintptr_t start, end;
    lm_target_region(&start, &end);
    uptr fresh = end;    /* only memory grown from here on is known to be zero */
    if (end - start < PAGE_SIZE) {
        /* Too little to start with (those few bytes stay unused): start in
         * a first step from the target. */
        if ((start = lm_target_grow(MIN_GROWTH)) == LM_TARGET_GROW_FAILED) return 0;
        pg->grow_calls++;
        fresh = start;
        end = start + MIN_GROWTH;
    }
    /* An empty chain (the sentinel at the first block) that then adopts the
     * region as if it had just grown. */
    pg->start = start;
    pg->first = pg->sentinel = pg->top = ((start + GRANULE - 1) & ~(uptr)(GRANULE - 1)) + HEADER;
    pg->end = pg->first + HEADER;
    pg->origin = pg->first - GRANULE;
    pg->base = pg->origin & ~(uptr)(PAGE_SIZE - 1);
    pg->untouched = fresh;
    /* Secret keys, before the first header is written. Without a source
     * (the target says so), fixed ones with the address mixed in. Any
     * nonzero slot key keeps freed slots apart from live ones. */
    uint32_t secret[5];
    if (!lm_target_random(secret, sizeof secret))
        for (unsigned i = 0; i < 5; i++) secret[i] = ((uint32_t)pg->origin + i) * 0x9E3779B1u ^ 0x5BD1E995u;
    pg->key = secret[0] | 1;
    keys.header = secret[1];
    keys.link = secret[2];
    /* Canary bytes are never 0 nor ASCII: a stray terminator or text shows. */
    keys.canary = ((uint64_t)secret[3] << 32 | secret[4]) | 0x8080808080808080u;
    heap_adopt(pg, pg->end, end - pg->end);
    return 1;
}

static inline int pages_ready(pages *pg) { return pg->first || heap_init(pg); }

/* ===== Page layer: blocks ================================================= */

/* The FREE block before b (whose PREV_FREE bit is set), found by its
 * footer, which lies in freed memory: a footer written after free is
 * reported, and the block before found by walking the chain. */
static uptr block_free_before(pages *pg, uptr b) {
    uint32_t g = block_tag(b) & PREV_ONE ? 1 : *((word *)b - 1);
    uptr prev = b - block_bytes(g);
    if (!LM_MISUSE_CHECKS ||
        LIKELY(g && prev >= pg->first && prev < b && header_valid(prev) && block_granules(prev) == g &&
               block_state(prev) == STATE_FREE))
        return prev;
    uptr at = pg->first;
    for (prev = 0; at && at < b; at = chain_next(pg, at)) prev = at;
    free_block_damaged(pg, prev && at == b ? prev : b);
    return prev && at == b && block_state(prev) == STATE_FREE ? prev : 0;
}

/* Gives block b (USED, INTERNAL or free-to-be, its payload filled in
 * secure mode) back: merges it with free neighbours and puts the result in
 * a list or the top block. Its header says FREE from the first list change
 * on (a merged-away header must never say USED; a list made anew meanwhile
 * must not hold it). In secure mode every byte of a listed block but its
 * header, links and footer holds the fill: the headers and footers merged
 * away are filled. */
static NOINLINE void block_merge(pages *pg, uptr b) {
    uint32_t g = block_granules(b);
    uptr next = b + block_bytes(g), prev = block_tag(b) & PREV_FREE ? block_free_before(pg, b) : 0;
    if (prev) free_list_remove(pg, prev);
    block_set_state(b, STATE_FREE);
    if (prev) {
        if (LM_SECURE) fill(b - sizeof(word), b + HEADER);      /* its footer, b's header */
        g += block_granules(prev);
        b = prev;
    }
    if (next == pg->top) {
        top_set(pg, b);
        return;
    }
    if (block_state(next) == STATE_FREE) {
        free_list_remove(pg, next);
        g += block_granules(next);
        if (LM_SECURE) fill(next, next + 2 * HEADER);          /* its header and links */
    }
    free_list_insert(pg, b, g);
}

/* Gives back a block whose payload may hold anything (filled first in
 * secure mode). */
static void block_release(pages *pg, uptr b) {
    if (LM_SECURE) fill(b + HEADER, block_next(b));
    block_merge(pg, b);
}

/* Splits a USED or INTERNAL block down to `g` granules, giving the tail back. */
static void block_shrink(pages *pg, uptr b, uint32_t g) {
    uint32_t have = block_granules(b);
    if (have - g < MIN_SPLIT) return;
    block_write(b, g, (block_tag(b) & (STATE_MASK | PREV_MASK)));
    uptr tail = b + block_bytes(g);
    block_write(tail, have - g, STATE_USED);
    block_release(pg, tail);
}

static NOINLINE void block_fill_check(pages *pg, uptr b, uptr end);

/* The smallest block of at least g granules among the first LIST_LOOKS of
 * list c, or 0. */
static uptr list_best(pages *pg, unsigned c, uint32_t g) {
    uptr best = 0;
    NO_UNROLL
    for (uint32_t index = pg->lists[c], looks = LIST_LOOKS; index && looks--;) {
        uptr b = block_at(pg, index);
        if (block_granules(b) >= g && (!best || block_granules(b) < block_granules(best))) best = b;
        if (looks && (index = list_next(pg, b)) == LIST_RESTART) return list_best(pg, c, g);
    }
    return best;
}

/* A block of at least `least` granules from the free lists, marked USED
 * and cut down to `most` if it is larger, or 0: the best fit among the
 * first blocks of the list `least` falls in (below 16 granules every block
 * there fits), else the first block of the next list that has any (where
 * every block fits and none is 1/16 larger than another), so large free
 * blocks stay whole for large requests. */
static NOINLINE uptr free_lists_take(pages *pg, uint32_t least, uint32_t most) {
    unsigned c = list_of(least);
    uptr b = list_best(pg, c, least);
    if (!b) {
        c = list_find(pg, c + 1);
        if (c == LIST_COUNT) return 0;
        b = block_at(pg, pg->lists[c]);
    }
    free_list_remove(pg, b);
    /* Neighbours of a free block are never free: b's header clears
     * prev_free, and the rest keeps the next block's prev_free set. */
    uint32_t have = block_granules(b), g = most;
    if (have < g + MIN_SPLIT) g = have;
    if (LM_SECURE) block_fill_check(pg, b, g == have ? block_next(b) - sizeof(word) : b + block_bytes(g));
    block_write(b, g, STATE_USED);
    uptr rest = b + block_bytes(g);
    if (g == have) block_set_prev(rest, 0);
    else free_list_insert(pg, rest, have - g);
    if (LM_TOOL_HOOKS) tool_unpoison(b + HEADER, block_usable(g));
    return b;
}

static int spans_release_for(heap *h, uint32_t g, int every);
static int pool_reclaim(pages *pg);

/* Carves g granules from the start of top, which holds them. */
static uptr top_take(pages *pg, uint32_t g) {
    uptr b = pg->top;
    top_set(pg, b + block_bytes(g));
    block_write(b, g, STATE_USED);
    if (LM_TOOL_HOOKS) tool_unpoison(b + HEADER, block_usable(g));
    return b;
}

/* A USED block of at least g granules: from the lists, else from top,
 * growing the heap if need be; 0 if memory runs out. Before it grows, the
 * heap's idle spans go back: they pin holes a large request may need. */
static NOINLINE uptr block_take(heap *h, uint32_t g) {
    pages *pg = h->pages;
    uptr b = pg->fl_bitmap ? free_lists_take(pg, g, g) : 0;
    if (b) return b;
    if (top_granules(pg) < g && (spans_release_for(h, g, 0) || pool_reclaim(pg))) return block_take(h, g);
    while (top_granules(pg) < g)
        if (!heap_grow(pg, g)) return spans_release_for(h, g, 1) ? block_take(h, g) : 0;
    return top_take(pg, g);
}

/* Where a block b of `have` granules would put a payload aligned to
 * `alignment` (leaving b's first granule or more as a free lead), or 0 if
 * `want` granules do not fit there. */
static inline uptr aligned_fit(uptr b, uint32_t have, uint32_t want, uptr alignment) {
    uptr p = b + HEADER;
    if (p & (alignment - 1)) p = (p + GRANULE + alignment - 1) & ~(alignment - 1);
    return p - HEADER + block_bytes(want) <= b + block_bytes(have) ? p : 0;
}

/* A free block that holds `want` granules at an aligned payload as it
 * is, among the first blocks of each list that may (a hole a span left
 * behind fits the next span exactly), marked USED; or 0. */
static COLD uptr free_lists_take_aligned(pages *pg, uint32_t want, uptr alignment) {
    uint32_t span_granules = want + (uint32_t)(alignment >> GRANULE_SHIFT) + 1;
    for (unsigned c = list_find(pg, list_of(want)); c < LIST_COUNT && c <= list_of(span_granules);
         c = list_find(pg, c + 1)) {
        uint32_t looks = LIST_LOOKS;
        for (uint32_t index = pg->lists[c]; index && looks--;) {
            uptr b = block_at(pg, index);
            if (aligned_fit(b, block_granules(b), want, alignment)) {
                free_list_remove(pg, b);
                if (LM_SECURE) block_fill_check(pg, b, block_next(b) - sizeof(word));
                block_write(b, block_granules(b), STATE_USED);
                block_set_prev(b + block_bytes(block_granules(b)), 0);
                if (LM_TOOL_HOOKS) tool_unpoison(b + HEADER, block_usable(block_granules(b)));
                return b;
            }
            if (looks && (index = list_next(pg, b)) == LIST_RESTART) return free_lists_take_aligned(pg, want, alignment);
        }
    }
    return 0;
}

/* A USED block whose payload is aligned to `alignment` (a power of two
 * above GRANULE) and holds `size` bytes, or 0: a free block that fits as
 * it is, else a block over-allocated by the alignment. A leading part (at
 * least a granule, so it can stand alone) and the tail go back. */
static NOINLINE uptr block_take_aligned(heap *h, uptr alignment, uptr size) {
    pages *pg = h->pages;
    uint32_t want = request_granules(size);
    uptr b = pg->fl_bitmap ? free_lists_take_aligned(pg, want, alignment) : 0;
    if (!b) b = block_take(h, want + (uint32_t)(alignment >> GRANULE_SHIFT) + 1);
    if (!b) return 0;
    uptr aligned = aligned_fit(b, block_granules(b), want, alignment);
    if (aligned != b + HEADER) {
        uint32_t lead = (uint32_t)((aligned - b - HEADER) >> GRANULE_SHIFT), g = block_granules(b);
        block_write(b + block_bytes(lead), g - lead, STATE_USED);
        block_write(b, lead, STATE_USED | (block_tag(b) & PREV_MASK));
        block_release(pg, b);
        b = aligned - HEADER;
    }
    block_shrink(pg, b, want);
    return b;
}

/* The allocator's own memory: a block nobody may free (INTERNAL). */
static uptr block_take_internal(heap *h, uptr bytes) {
    uptr b = block_take(h, request_granules(bytes));
    if (b) block_set_state(b, STATE_INTERNAL);
    return b;
}

/* ===== Page layer: the page map and span descriptors ====================== */

/* A spare descriptor of h, from a new descriptor table if none is left.
 * Each heap has its own tables: a descriptor is written on every malloc
 * and free of its span, and two threads' descriptors in one cache line
 * would make them wait for each other. */
static NOINLINE span *descriptor_take(heap *h) {
    pages *pg = h->pages;
    if (!h->spare) {
        uptr b = block_take_internal(h, TABLE_SPANS * sizeof(span) + THREAD_PAD);
        if (!b) return 0;
        span *table = (span *)(b + HEADER);
        __builtin_memset(table, 0, TABLE_SPANS * sizeof(span));
        table[0].kind = SPAN_TABLE;
        table[0].next = pg->tables;
        pg->tables = span_ref(pg, table);
        for (unsigned i = TABLE_SPANS - 1; i > 0; i--) {
            table[i].table = pg->tables;
            table[i].next = h->spare;
            h->spare = span_ref(pg, &table[i]);
        }
    }
    span *s = span_at(pg, h->spare);
    h->spare = s->next;
    if (!LM_THREADS) span_at(pg, s->table)->used++;
    return s;
}

/* Without threads, a table none of whose descriptors is in use goes back
 * to the page layer: tables are made wherever a block is free, and kept,
 * they would split the free space once everything around them was freed.
 * (With threads tables stay, like old maps: a free on another thread may
 * be reading a descriptor of a span given back a moment ago.) Its
 * descriptors all lie on h's spare list (a span is given back by the heap
 * that made it), and only h's idle ring may still name them (stale
 * entries): those are cleared, so nothing reads the table's memory once
 * it is a block again. */
static COLD void table_release(heap *h, span *table) {
    pages *pg = h->pages;
    uint32_t first = span_ref(pg, table);
    for (uint32_t *at = &h->spare; *at;) {
        span *d = span_at(pg, *at);
        if (d->table == first) *at = d->next;
        else at = &d->next;
    }
    for (unsigned i = 0; i < IDLE_RING; i++)
        if (h->idle_ring[i].ref - first < TABLE_SPANS * sizeof(span) / GRANULE) h->idle_ring[i].ref = 0;
    uint32_t *at = &pg->tables;
    while (*at != first) at = &span_at(pg, *at)->next;
    *at = table->next;
    block_release(pg, (uptr)table - HEADER);
}

static void descriptor_give_back(heap *h, span *s) {
    /* No owner: a stale idle ring entry of its last owner now fails at its
     * first test, before it reads what the next owner writes. */
    ATOMIC_STORE(&s->owner, 0, RELAXED);
    s->kind = SPAN_SPARE;
    s->next = h->spare;
    h->spare = span_ref(h->pages, s);
    span *table = span_at(h->pages, s->table);
    if (!LM_THREADS && !--table->used) table_release(h, table);
}

/* What a span's fixed fields hash to: a descriptor someone wrote over
 * fails it. */
static uint32_t span_check(pages *pg, const span *s) {
    uint32_t h = ((uint32_t)s->slot0 ^ s->block * 0x9E3779B1u) + (s->capacity << 8 | s->sizeclass) * 0x85EBCA77u;
    return (h ^ h >> 15) * 0xC2B2AE3Du ^ pg->key;
}

static int span_valid(pages *pg, const span *s) {
    return s->kind == SPAN_SMALL && s->check == span_check(pg, s);
}

/* The map names, for each page, the span that starts in it, else the span
 * that covers its start, else 0. Spans are at least a page long, so one
 * starts in a page at most, and a span that ends in a page where another
 * starts is named by the page before. */
static inline span *span_of_page(pages *pg, uptr page) {
    uint32_t ref = page < pg->map_pages ? pg->map[page] : 0;
    return ref ? span_at(pg, ref) : 0;
}

/* The span whose slot area may hold p, from the map without the lock
 * (and its slot 0 in *slot0): the span p's page names, or the one the
 * page before names if p lies below that one's slot 0 (a span that ends
 * in a page where another starts); a span that holds no slot if neither
 * (ref 0: see no_span_make). With threads the entry may be old (see
 * heap_adopt): whatever it leads to is tested before it is trusted, and a
 * miss looks again under the lock. An entry is read with
 * acquire, so the descriptor it names is seen as its maker wrote it (a
 * plain load on x86; on threaded wasm a plain load too, see ATOMIC_LOAD). */
static inline span *span_lookup(pages *pg, uptr p, uptr *slot0) {
    uptr payloads = pg->payloads, page = page_of(pg, p);   /* fixed once the heap began */
    word *map = ATOMIC_LOAD(&pg->map, ACQUIRE);
    READ_AT(&map[page]);                    /* and map[-1], map[page - 1] below it */
    READ_AT((word *)p + 1);                 /* the slot, which callers read once it checks out */
    uint32_t ref = LIKELY(page < map[-1]) ? ATOMIC_LOAD(&map[page], ACQUIRE) : 0;
    span *s = (span *)(payloads + block_bytes(ref));
    READ_AT((char *)(s + 1) - 1);           /* the whole descriptor */
    uptr first = ATOMIC_LOAD(&s->slot0, RELAXED);
    if (UNLIKELY(p < first) && page) {
        ref = ATOMIC_LOAD(&map[page - 1], ACQUIRE);
        s = (span *)(payloads + block_bytes(ref));
        READ_AT((char *)(s + 1) - 1);
        first = ATOMIC_LOAD(&s->slot0, RELAXED);
    }
    /* Memcheck would see no_span_make's reads of a header (see there). */
    if (LM_TOOL_HOOKS && !ref) s = &empty_span, first = 0;
    *slot0 = first;
    return s;
}

static inline uptr span_end(pages *pg, const span *s);

static int span_valid(pages *pg, const span *s);

/* The span whose slot area holds p, or 0: a block, or nothing. A map
 * entry that leads to a damaged descriptor is not followed. */
static span *span_holding(pages *pg, uptr p) {
    uptr page = page_of(pg, p);
    span *s = span_of_page(pg, page);
    if (s && span_valid(pg, s) && p < span_slot0(pg, s)) s = page ? span_of_page(pg, page - 1) : 0;
    if (!s || !span_valid(pg, s)) return 0;
    return p >= span_slot0(pg, s) && p < span_end(pg, s) ? s : 0;
}

/* The slot number of `offset` bytes past slot 0, or a number >= capacity
 * when the offset is not a slot start: one multiply by the inverse of the
 * size's odd part and a rotate (exact division test, Granlund-Montgomery). */
static inline uptr slot_number(const span *s, uptr offset) {
    uptr x = offset * ATOMIC_LOAD(&s->inverse, RELAXED);
    unsigned k = ATOMIC_LOAD(&s->shift, RELAXED);
    return x >> k | x << ((LM_UPTR_BITS - k) & (LM_UPTR_BITS - 1));
}

static inline uptr slot_at(pages *pg, uint32_t index) { return payload_at(pg, index); }
static inline uint32_t slot_index(pages *pg, uptr p) { return payload_index(pg, p); }

/* ===== Heap: spans of small slots ========================================= */

/* Makes `s` the first span of class c: what malloc pops from. */
static inline uptr span_bytes_of(const span *s) { return (uptr)s->capacity * class_bytes(s->sizeclass); }

/* An IDLE span that is about to serve again (or leave) is idle no more. */
static void span_unidle(heap *h, span *s) {
    if (s->queued == IDLE) {
        s->queued = QUEUED;
        h->idle_bytes -= span_bytes_of(s);
    }
}

static NOINLINE void queue_first_set(heap *h, unsigned c, span *s) {
    if (s != &empty_span) span_unidle(h, s);
    h->current[c] = s;
    for (uint32_t g = c ? class_granules(c - 1) + 1 : 0, last = class_granules(c); g <= last; g++)
        h->direct[g] = s;
}

/* The first span s of class c leaves its queue (it is full), and the next,
 * which has room, becomes first: the step malloc's slow path takes most. */
static inline void queue_advance(heap *h, unsigned c, span *s, span *next) {
    next->prev = 0;
    s->queued = 0;
    queue_first_set(h, c, next);
}

/* Queues s first (a new span: malloc pops from it next) or last (a span
 * that got room again: it collects more frees before malloc reaches it). */
static void queue_insert(heap *h, span *s, int first) {
    pages *pg = h->pages;
    unsigned c = s->sizeclass;
    uint32_t ref = span_ref(pg, s);
    span *head = h->current[c];
    s->queued = QUEUED;
    s->next = s->prev = 0;
    if (head == &empty_span) {
        h->last[c] = ref;
        queue_first_set(h, c, s);
    } else if (first) {
        s->next = span_ref(pg, head);
        head->prev = ref;
        queue_first_set(h, c, s);
    } else {
        s->prev = h->last[c];
        span_at(pg, h->last[c])->next = ref;
        h->last[c] = ref;
    }
}

static void queue_remove(heap *h, span *s) {
    pages *pg = h->pages;
    unsigned c = s->sizeclass;
    span_unidle(h, s);
    if (s->next) span_at(pg, s->next)->prev = s->prev;
    else h->last[c] = s->prev;
    if (s->prev) span_at(pg, s->prev)->next = s->next;
    else queue_first_set(h, c, s->next ? span_at(pg, s->next) : &empty_span);
    s->queued = 0;
}

static inline uptr span_end(pages *pg, const span *s) {
    return span_slot0(pg, s) + (uptr)s->capacity * class_bytes(s->sizeclass);
}

/* A new, empty span of class c, or 0 if memory runs out. It takes the
 * smallest free block that holds a page of slots, and all of it up to the
 * size span_capacity asks (a span fits any hole: the holes small requests
 * can no longer fill, as slots, are where spans go), else top. */
static COLD span *span_create(heap *h, unsigned c) {
    pages *pg = h->pages;
    if (!pages_ready(pg)) return 0;
    uint32_t size = class_bytes(c), target = span_capacity(c, h->class_bytes[c]);
    uint32_t least = (PAGE_SIZE + size - 1) / size;
    /* Slot 0 is aligned (see class_alignment) inside the block, so spans
     * need no aligned placement; lead is the most that costs, with the
     * unused end when spans keep apart. */
    uptr apart = LM_THREADS && pg->heaps && pg->heaps->next_heap ? SPAN_APART : 0;
    uptr alignment = apart ? apart : class_alignment(c);
    uptr lead = alignment - GRANULE + apart;
    uint32_t g_least = request_granules((uptr)least * size + lead);
    uint32_t g_target = request_granules((uptr)target * size + lead);
    span *s = descriptor_take(h);
    if (!s) return 0;
    uptr b = pg->fl_bitmap ? free_lists_take(pg, g_least, g_target) : 0;
    if (!b) b = block_take(h, g_target);
    if (!b) {
        descriptor_give_back(h, s);
        return 0;
    }
    block_set_state(b, STATE_INTERNAL);
    uptr slot0 = (b + HEADER + alignment - 1) & ~(alignment - 1);
    uptr end = apart ? block_next(b) & ~(apart - 1) : block_next(b);
    uint32_t capacity = (uint32_t)((end - slot0) / size);
    if (capacity > target) capacity = target;
    uptr odd = size >> lsb32(size), inverse = odd;
    for (int i = 0; i < 5; i++) inverse *= 2 - odd * inverse;   /* Newton: 3 -> 96 good bits */
    /* Frees on other threads read slot0, inverse, shift, fresh and owner
     * without the lock, maybe of this descriptor's last span (through a
     * map entry read just before it changed; the tests that follow refuse
     * it): those are stored atomically. */
    s->free = s->used = s->next = s->prev = s->idle_stamp = s->pending_next = 0;
    s->capacity = capacity;
    s->watch = capacity - 2;
    s->sizeclass = (uint8_t)c;
    s->queued = 0;
    s->kind = SPAN_SMALL;
    s->block = block_index(pg, b);
    ATOMIC_STORE(&s->slot0, slot0, RELAXED);
    ATOMIC_STORE(&s->inverse, inverse, RELAXED);
    ATOMIC_STORE(&s->shift, (uint8_t)lsb32(size), RELAXED);
    ATOMIC_STORE(&s->fresh, 0, RELAXED);
    ATOMIC_STORE(&s->owner, h->id, RELAXED);
    ATOMIC_STORE(&s->remote, 0, RELAXED);
    s->check = span_check(pg, s);
    /* Its last page may be where another span starts: that one keeps it. */
    uptr first = page_of(pg, slot0), last = page_of(pg, span_end(pg, s) - 1);
    span *after = span_of_page(pg, last);
    if (last > first && after && page_of(pg, span_slot0(pg, after)) == last) last--;
    for (uptr page = first; page <= last; page++) ATOMIC_STORE(&pg->map[page], span_ref(pg, s), RELEASE);
    h->class_bytes[c] += (uptr)capacity * size;
    h->span_bytes += (uptr)capacity * size;
    return s;
}

/* Gives an empty span's memory back to the page layer. Its first page
 * goes back to the span before, if that one reaches into it. */
static COLD void span_destroy(heap *h, span *s) {
    pages *pg = h->pages;
    pages_lock(pg);
    uptr slot0 = span_slot0(pg, s), first = page_of(pg, slot0), last = page_of(pg, span_end(pg, s) - 1);
    uint32_t ref = span_ref(pg, s), kept = 0;
    span *before = first ? span_of_page(pg, first - 1) : 0;
    if (before && span_end(pg, before) > pg->base + (first << PAGE_SHIFT)) kept = span_ref(pg, before);
    /* Each entry takes its final value at once: a free that reads the map
     * without the lock must never see a gap where the span before is. */
    for (uptr page = first; page <= last; page++)
        if (pg->map[page] == ref) ATOMIC_STORE(&pg->map[page], page == first ? kept : 0, RELEASE);
    block_release(pg, block_at(pg, s->block));
    h->class_bytes[s->sizeclass] -= span_bytes_of(s);
    h->span_bytes -= span_bytes_of(s);
    descriptor_give_back(h, s);
    pages_unlock(pg);
}

#if LM_THREADS
/* A full span leaves its owner's queue: from now on the first remote free
 * must tell the owner. 0 if remote frees came meanwhile (collect them).
 * A span back in the queue keeps NOTIFY (a remote free then tells the
 * owner, who finds it queued): a locked exchange on every turn of a
 * class's queue cost more than those rare needless notices. */
static int span_park(span *s) {
    uint64_t old = ATOMIC_LOAD(&s->remote, RELAXED);
    if ((uint32_t)old) return 0;
    if (REMOTE_STATE(old) != REMOTE_QUIET) return 1;   /* told already, or on the pending stack */
    return __atomic_compare_exchange_n(ATOMIC_AT(&s->remote), &old, (uint64_t)REMOTE_NOTIFY << 32, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Is s on its owner's pending stack? Then it must not go back to the page
 * layer (nor idle) before the owner takes the stack. */
static inline int span_pinned(span *s) {
    return REMOTE_STATE(ATOMIC_LOAD(&s->remote, RELAXED)) == REMOTE_NOTIFIED;
}
#else
static inline int span_park(span *s) { (void)s; return 1; }
static inline int span_pinned(span *s) { (void)s; return 0; }
#endif

/* The free block an empty span's block would merge into, in granules. */
static uint32_t span_merged_granules(pages *pg, const span *s) {
    uptr b = block_at(pg, s->block), next = block_next(b);
    uint32_t g = block_granules(b);
    if (block_tag(b) & PREV_FREE) g += block_tag(b) & PREV_ONE ? 1 : *((word *)b - 1);
    if (next == pg->top) g += top_granules(pg);
    else if (block_state(next) == STATE_FREE) g += block_granules(next);
    return g;
}

/* The span of idle ring entry `at`, if it has been IDLE in h since the
 * entry was made; else 0 (it served again, or went back, and its
 * descriptor may be another span's, even another heap's, by now; ref 0,
 * only without threads: its table went back, see table_release). */
static span *idle_entry_span(heap *h, unsigned at) {
    uint32_t ref = h->idle_ring[at].ref;
    span *s = span_at(h->pages, ref);
    /* The owner first: another heap's thread may be changing the rest. */
    return (LM_THREADS || ref) && ATOMIC_LOAD(&s->owner, RELAXED) == h->id && s->kind == SPAN_SMALL && s->queued == IDLE &&
           s->idle_stamp == h->idle_ring[at].stamp ? s : 0;
}

/* Before the heap grows for a block of g granules: gives back one empty
 * span (an IDLE one, or one a class allocates from) whose memory, merged
 * with its free neighbours, holds that block; returns whether it did. Only
 * such a span: giving back others would cost their classes a new span
 * each and spare no growth. With `every` (memory cannot grow), gives back
 * every empty span: together they may make room where none alone does. */
static COLD int spans_release_for(heap *h, uint32_t g, int every) {
    pages *pg = h->pages;
    int released = 0;
    for (uint32_t i = 0; i < h->idle_count; i++) {
        unsigned at = (h->idle_head + i) % IDLE_RING;
        span *s = idle_entry_span(h, at);
        if (s && (every || span_merged_granules(pg, s) >= g)) {
            queue_remove(h, s);
            span_destroy(h, s);
            if (!every) return 1;
            released = 1;
        }
    }
    for (unsigned c = 0; c < SMALL_CLASSES; c++) {
        span *s = h->current[c];
        if (s != &empty_span && !s->used && !span_pinned(s) && (every || span_merged_granules(pg, s) >= g)) {
            queue_remove(h, s);
            span_destroy(h, s);
            if (!every) return 1;
            released = 1;
        }
    }
    return released;
}


/* A full span got a free slot: it takes its place at the end of its queue. */
static void span_unfull(heap *h, span *s) {
    if (!s->queued) queue_insert(h, s, 0);
}

/* A free left s empty. The first span of its class stays as it is (which
 * spares a span's cost when a class goes 0, 1, 0, 1 live); others stay
 * queued as IDLE, the most recently emptied ones while they hold under an
 * eighth of all the heap's spans (a structure torn down and rebuilt reuses
 * them at no cost, and a double free into one is still named), and the
 * older ones go back to the page layer, so a burst of frees returns
 * memory to all sizes. A ring remembers the order; an entry whose span
 * served again (or was given back) since is skipped. Spans that other
 * threads' frees emptied (`remote`: a producer's, whose consumers free
 * its blocks) may take the whole ring: they come back in bursts, and a
 * producer that gave them back made new ones at once (a thread of
 * producer/consumer: 5,903 spans made and given back in 400k mallocs with
 * 32 entries, 196 with 128); its own frees' may take IDLE_LOCAL entries,
 * and the ring stays as it was for a heap without threads. */
#define REMOTE_EMPTIED 0x80000000u   /* in an idle stamp */
static void span_emptied(heap *h, span *s, int remote) {
    pages *pg = h->pages;
    if (!s->queued) queue_insert(h, s, 0);
    if (h->current[s->sizeclass] == s || span_pinned(s)) return;
    s->queued = IDLE;
    /* A new stamp first: an entry s left in the ring when it was IDLE
     * before must not match it now (it would go back twice). */
    s->idle_stamp = ++h->idle_clock;
    if (LM_THREADS)   /* without threads the ring is IDLE_LOCAL long, and remote is 0 */
        s->idle_stamp = (s->idle_stamp & ~REMOTE_EMPTIED) | (remote ? REMOTE_EMPTIED : 0);
    h->idle_bytes += span_bytes_of(s);
    uptr limit = h->span_bytes >> 3 > IDLE_MIN_BYTES ? h->span_bytes >> 3 : IDLE_MIN_BYTES;
    while (h->idle_count && (h->idle_bytes > limit || h->idle_count == IDLE_RING ||
                             (LM_THREADS && !remote && h->idle_local == IDLE_LOCAL))) {
        span *old = idle_entry_span(h, h->idle_head);
        if (LM_THREADS) h->idle_local -= !(h->idle_ring[h->idle_head].stamp & REMOTE_EMPTIED);
        h->idle_head = (h->idle_head + 1) % IDLE_RING;
        h->idle_count--;
        if (old) {
            queue_remove(h, old);
            span_destroy(h, old);
        }
    }
    if (h->idle_bytes > limit) {      /* none older to give back: this one goes */
        queue_remove(h, s);
        span_destroy(h, s);
        return;
    }
    unsigned at = (h->idle_head + h->idle_count++) % IDLE_RING;
    if (LM_THREADS) h->idle_local += !remote;
    h->idle_ring[at].ref = span_ref(pg, s);
    h->idle_ring[at].stamp = s->idle_stamp;
}

/* A slot just freed left s empty, or gave a full span room again. */
static NOINLINE void span_after_free(heap *h, span *s) {
    if (s->used) span_unfull(h, s);
    else span_emptied(h, s, 0);
}

#if LM_THREADS

static COLD void misuse_written_remote(heap *h, span *s);

/* Takes the remote list of s (an owner's act): its slots join the span's
 * free list and stop counting as used. A span taken off the pending stack
 * goes QUIET; otherwise its state stays (a NOTIFIED one is still on the
 * stack). An empty free list becomes the remote list as it is, unread:
 * the freeing threads wrote its slots, and a walk would wait for each of
 * them in turn (malloc checks each slot's pair as it pops it). Else the
 * walk finds the tail; a slot whose pair disagrees (a write after free)
 * ends it: it and the rest are lost until the span empties. */
static NOINLINE void span_collect(heap *h, span *s, int from_pending) {
    pages *pg = h->pages;
    uint64_t old = ATOMIC_LOAD(&s->remote, RELAXED), desired;
    /* Release too: the owner read pending_next before this, and a remote
     * free that pushes s again (after span_park's exchange, which carries
     * this one's release on) acquires it before it writes pending_next. */
    do desired = from_pending ? (uint64_t)REMOTE_QUIET << 32 : old & (uint64_t)3u << 32;
    while (!__atomic_compare_exchange_n(ATOMIC_AT(&s->remote), &old, desired, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    uint32_t head = (uint32_t)old, count = 0, key = pg->key;
    if (!s->free && REMOTE_COUNT(old) <= s->used) {
        s->free = head;
        s->used -= REMOTE_COUNT(old);
        return;
    }
    uptr first = span_slot0(pg, s), end = span_end(pg, s), tail = 0;
    for (uint32_t at = head; at; at = *(word *)tail) {
        uptr slot = slot_at(pg, at);
        if (slot < first || slot >= end || count == s->capacity ||
            (((word *)slot)[0] ^ ((word *)slot)[1]) != key) {
            /* The rest stays counted as used: the span never empties. */
            if (!tail) head = 0;
            misuse_written_remote(h, s);
            break;
        }
        tail = slot;
        count++;
    }
    if (tail) {
        ((word *)tail)[0] = s->free;
        ((word *)tail)[1] = s->free ^ key;
        s->free = head;
    }
    s->used -= count;
}

/* Takes the heap's pending stack: parked spans other threads freed into.
 * Each gets its slots back and rejoins its queue (or empties). */
static NOINLINE void heap_take_pending(heap *h) {
    pages *pg = h->pages;
    uint32_t ref = __atomic_exchange_n(ATOMIC_AT(&h->pending), 0, __ATOMIC_ACQUIRE);
    while (ref) {
        span *s = span_at(pg, ref);
        ref = s->pending_next;
        span_collect(h, s, 1);
        if (!s->used) span_emptied(h, s, 1);
        else if (!s->queued) queue_insert(h, s, 0);
    }
}
#endif

#if LM_THREADS
/* Takes the pending stack and the remote lists of h's queued spans, and
 * gives every empty span back: a heap whose thread ended keeps only spans
 * with live slots. */
static void heap_trim(heap *h) {
    pages *pg = h->pages;
    heap_take_pending(h);
    for (unsigned c = 0; c < SMALL_CLASSES; c++) {
        for (span *s = h->current[c], *next; s != &empty_span; s = next) {
            next = s->next ? span_at(pg, s->next) : &empty_span;
            if ((uint32_t)ATOMIC_LOAD(&s->remote, RELAXED)) span_collect(h, s, 0);
            if (!s->used && !span_pinned(s)) {
                queue_remove(h, s);
                span_destroy(h, s);
            }
        }
    }
}

/* Before memory grows (under the lock, which guards the pool): heaps of
 * threads that ended give back the spans other threads' frees emptied.
 * Returns whether any memory came back. */
static int pool_reclaim(pages *pg) {
    int released = 0;
    for (heap *h = pg->pool; h; h = h->pool_next) {
        if (!ATOMIC_LOAD(&h->pending, RELAXED)) continue;
        uptr before = h->span_bytes;
        heap_trim(h);
        released |= h->span_bytes != before;
    }
    return released;
}

/* fork() copies one thread: the child's copy of the lock must be free.
 * Other threads' heaps stay as they were, owned by no one (one of them
 * may have been mid-change): frees of their slots are kept, not reused. */
static void fork_prepare(void) { pages_lock(&page_layer); }
static void fork_parent(void) { pages_unlock(&page_layer); }
static void fork_child(void) { page_layer.lock = 0, lock_depth = 0; }

/* This thread's heap at its first slow call: one a thread that ended left
 * in the pool, else a new one (an INTERNAL block; its id is its index);
 * 0 if memory runs out. */
static COLD heap *heap_claim(void) {
    pages *pg = &page_layer;
    heap *h = 0;
    pages_lock(pg);
    if (pg->first || (heap_init(pg) && (lm_target_on_fork(fork_prepare, fork_parent, fork_child), 1))) {
        if (thread_heap != &heap_none) {
            h = thread_heap;          /* the target's set-up allocated, and claimed */
        } else if ((h = pg->pool)) {
            pg->pool = h->pool_next;
        } else {
            uptr b = block_take_internal(&heap_none, sizeof(heap) + THREAD_PAD);
            if (b) {
                h = (heap *)(b + HEADER);
                *h = (heap)HEAP_EMPTY;
                h->id = payload_index(pg, (uptr)h);
                h->next_heap = pg->heaps;
                pg->heaps = h;
            }
        }
    }
    pages_unlock(pg);
    if (h && thread_heap != h) {
        thread_heap = h;
        lm_target_on_thread_exit(lm_thread_exit);
    }
    return h;
}
#else
static inline int pool_reclaim(pages *pg) { (void)pg; return 0; }
#endif

#if LM_THREADS
static void quarantine_flush(heap *h);
#endif

void lm_thread_exit(void) {
#if LM_THREADS
    heap *h = thread_heap;
    pages *pg = &page_layer;
    if (h == &heap_none) return;
    if (LM_SECURE) quarantine_flush(h);
    thread_heap = &heap_none;
    pages_lock(pg);
    heap_trim(h);
    h->pool_next = pg->pool;
    pg->pool = h;
    pages_unlock(pg);
#endif
}

/* ===== Misuse reports (declarations) ====================================== */

enum op { OP_FREE, OP_FREE_SIZED, OP_REALLOC, OP_USABLE_SIZE, OP_MALLOC,
          OP_ARENA /* + enum arena_op */ };

/* One line per situation, %-codes filled in by misuse(). */
enum report {
    R_DOUBLE_FREE, R_NOT_IN_HEAP, R_MISALIGNED, R_INSIDE, R_OWN_MEMORY, R_NEVER_HANDED_OUT, R_WRONG_SIZE,
    R_CORRUPTED_HEADER, R_CORRUPTED_SPAN, R_FREED_BLOCK, R_WRITTEN_AFTER_FREE, R_DAMAGED_FREE,
    R_BAD_ALIGNMENT, R_OVERRUN, R_OVERRUN_END, R_ARENA_MEMORY,
    R_ARENA /* + enum arena_report */
};
static COLD void misuse(pages *pg, enum report r, enum op op, uptr ptr, uptr block, uptr usable,
                        uptr length);
static void *malloc_slow(heap *h, uptr size);

/* Does the block or slot with payload p belong to an arena (src/arena.c)? */
static COLD int arena_marked(uptr p) { return *(word *)p == lm_internal_arena_mark((void *)p); }

/* ===== Heap: small allocation ============================================= */

/* Pops the first free slot of s, `index` (s->free, not 0), into *out; 0
 * when the slot's pair does not agree: something wrote over it after it
 * was freed. */
static inline int slot_take(pages *pg, span *s, uint32_t index, void **out) {
    word *slot = (word *)slot_at(pg, index);
    uint32_t next = slot[0];
    if (LM_MISUSE_CHECKS && UNLIKELY((next ^ slot[1]) != pg->key)) return 0;
    s->free = next;
    s->used++;
    if (LM_MISUSE_CHECKS) slot[1] = 0;    /* a live slot must not look freed */
    if (LM_TOOL_HOOKS) tool_unpoison((uptr)slot, class_bytes(s->sizeclass));
    *out = slot;
    return 1;
}

#if LM_THREADS
/* A slot on the remote list of s was written after another thread freed it. */
static COLD void misuse_written_remote(heap *h, span *s) {
    misuse(h->pages, R_WRITTEN_AFTER_FREE, OP_MALLOC, 0, 0, 0, class_bytes(s->sizeclass));
}
#endif

/* The free list of s led malloc to a slot that was written after free:
 * reports it, drops the list (every free slot in it is lost until the
 * span empties; none of them can be trusted to be free), and serves the
 * request elsewhere. */
static COLD void *slot_damaged(heap *h, span *s, uptr size) {
    misuse(h->pages, R_WRITTEN_AFTER_FREE, OP_MALLOC, 0, 0, 0, class_bytes(s->sizeclass));
    s->free = 0;
    s->watch = s->capacity - (s->fresh - s->used) - 2;
    return malloc_slow(h, size);
}

/* Puts the next never-used slots of s, up to EXTEND_BYTES of them, on its
 * (empty) free list in address order, so the fast path hands them out:
 * one slow call for a batch, not one per slot (mimalloc's page extend). */
static NOINLINE void span_extend(pages *pg, span *s) {
    uint32_t size = class_bytes(s->sizeclass), count = s->capacity - s->fresh;
    if (count > EXTEND_BYTES / size) count = EXTEND_BYTES / size ? EXTEND_BYTES / size : 1;
    uptr slot = span_slot0(pg, s) + (uptr)(s->fresh + count) * size;
    uint32_t next = 0;
    /* Other threads' frees read fresh (a slot they may free is below it already). */
    ATOMIC_STORE(&s->fresh, s->fresh + count, RELAXED);
    if (LM_SECURE) fill(slot - (uptr)count * size, slot);   /* as if freed: malloc checks the fill */
    NO_UNROLL
    while (count--) {
        slot -= size;
        if (LM_TOOL_HOOKS) tool_metadata(slot, 2 * sizeof(word));
        ((word *)slot)[0] = next;
        ((word *)slot)[1] = next ^ pg->key;
        next = slot_index(pg, slot);
    }
    s->free = next;
}

/* A small request the first span of its class could not serve from its
 * free list: its never-used slots, then the next span with room, then a
 * new span. Full spans leave the queue; a free gives them a place again. */
static NOINLINE void *small_slow(heap *h, uptr size) {
    pages *pg = h->pages;
    unsigned c = sizeclass_small((uint32_t)((size + GRANULE - 1) >> GRANULE_SHIFT));
    span *s = h->current[c];
    for (;;) {
#if LM_THREADS
        if (UNLIKELY(ATOMIC_LOAD(&h->pending, RELAXED))) {
            heap_take_pending(h);
            s = h->current[c];
        }
#endif
        if (s == &empty_span) {
            pages_lock(pg);
            s = span_create(h, c);
            if (!s) pg->failed_allocs++;
            pages_unlock(pg);
            if (!s) return 0;
            queue_insert(h, s, 1);
        }
        if (LM_MISUSE_CHECKS && UNLIKELY(s->kind != SPAN_SMALL || s->sizeclass != c)) {
            /* Its descriptor was written over: leave it, do not follow it.
             * (A cheap test on this path; lm_check verifies each hash.) */
            misuse(pg, R_CORRUPTED_SPAN, OP_MALLOC, 0, (uptr)s, 0, 0);
            queue_first_set(h, c, &empty_span);
            s = &empty_span;
            continue;
        }
        void *p;
        if (s->free) return slot_take(pg, s, s->free, &p) ? p : slot_damaged(h, s, size);
#if LM_THREADS
        if ((uint32_t)ATOMIC_LOAD(&s->remote, RELAXED)) {    /* slots other threads freed */
            span_collect(h, s, 0);
            continue;
        }
#endif
        span *next = s->next ? span_at(pg, s->next) : 0;
        if (next && next->free && s->fresh == s->capacity) {
            if (!span_park(s)) continue;
            queue_advance(h, c, s, next);
            s = next;
            continue;
        }
        /* Freed slots of the next span before never-used ones of this one:
         * they are memory already in use. This one waits at the end. */
        if (next && next->free) {
            queue_remove(h, s);
            queue_insert(h, s, 0);
            s = h->current[c];
            continue;
        }
        if (s->fresh < s->capacity) {
            span_extend(pg, s);
            continue;
        }
        if (!span_park(s)) continue;
        queue_remove(h, s);
        s = h->current[c];
    }
}

/* A block for a request above SMALL_MAX, zeroed with BLOCK_ZERO, or 0
 * (counted as failed, unless BLOCK_TRY: the caller has a smaller request
 * to fall back on). Whether its memory still holds the zeros it was grown
 * with is decided under the lock; the clearing is done outside it. */
enum { BLOCK_ZERO = 1, BLOCK_TRY = 2 };
static NOINLINE void *block_alloc(heap *h, uptr size, int how) {
    pages *pg = h->pages;
    uptr b = 0, fresh = 0;
    pages_lock(pg);
    if (size <= MAX_REQUEST && pages_ready(pg)) {
        uptr untouched = pg->untouched;
        uint64_t grows = pg->grow_calls;
        b = block_take(h, request_granules(size));
        /* A block above `untouched` still holds the zeros it was grown
         * with, but a growth makes the old end (sentinel, map) part of
         * top: then only memory past where the last growth began is
         * known to be zero. */
        fresh = grows == pg->grow_calls ? untouched : pg->grown_from;
    }
    if (!b && !(how & BLOCK_TRY)) pg->failed_allocs++;
    pages_unlock(pg);
    if (!b) return 0;
    if ((how & BLOCK_ZERO) && !(LM_GROWN_MEMORY_ZEROED && b >= fresh)) __builtin_memset((void *)(b + HEADER), 0, size);
    return (void *)(b + HEADER);
}

/* Serves what the fast path did not: small requests from spans, the rest
 * from the page layer's blocks; counts a request it cannot serve. Out of
 * line, so lm_malloc stays small enough for a wasm engine to inline. */
static NOINLINE void *malloc_slow(heap *h, uptr size) {
#if LM_THREADS
    if (UNLIKELY(h == &heap_none) && !(h = heap_claim())) h = &heap_none, size = SIZE_MAX;  /* refused */
#endif
    if (size <= SMALL_MAX) return small_slow(h, size);
    return block_alloc(h, size, 0);
}

/* ===== Heap: small free =================================================== */

/* Puts live slot p back on its span's free list. */
static inline void slot_push(heap *h, span *s, uptr p) {
    pages *pg = &page_layer;
    /* Everything read before the slot is written: the slot's words may
     * alias anything, so later reads would be repeated. */
    uint32_t used = s->used, next = s->free, watch = s->watch, key = pg->key;
    uint32_t index = slot_index(pg, p);
    word *slot = (word *)p;
    if (LM_TOOL_HOOKS) tool_freelike(p), tool_metadata(p, 2 * sizeof(word));
    slot[0] = next;
    if (LM_MISUSE_CHECKS) slot[1] = next ^ key;
    s->free = index;
    s->used = used - 1;
    if (LM_TOOL_HOOKS) tool_poison(p, class_bytes(s->sizeclass));
    if (UNLIKELY(used - 2 >= watch)) span_after_free(h, s);   /* used was 1 or all there are */
}

/* Does s belong to h? Always, without threads. */
static inline int span_is_local(heap *h, const span *s) {
#if LM_THREADS
    return ATOMIC_LOAD(&s->owner, RELAXED) == h->id;
#else
    (void)h, (void)s;
    return 1;
#endif
}

#if LM_THREADS
/* free of a live slot of a span another thread's heap owns: pushes it on
 * the span's remote list (one compare-and-swap over head and state). If
 * the owner parked the span (full, out of its queue: REMOTE_NOTIFY), the
 * first such free also puts the span on the owner's pending stack, after
 * the push: until the owner takes that stack it does not look at the
 * span, so the span cannot go away under this thread. */
static NOINLINE void slot_free_remote(pages *pg, span *s, uptr p) {
    uint32_t index = slot_index(pg, p), key = pg->key;
    uint64_t old = ATOMIC_LOAD(&s->remote, RELAXED), desired;
    (void)ATOMIC_AT((word *)p + 1);   /* the slot is another heap's: both words below */
    if (LM_TOOL_HOOKS) tool_freelike(p), tool_metadata(p, 2 * sizeof(word));
    /* Acquire too: pending_next is written below (see span_collect). */
    do {
        uint32_t head = (uint32_t)old, state = REMOTE_STATE(old);
        ATOMIC_STORE((word *)p, head, RELAXED);
        ATOMIC_STORE((word *)p + 1, head ^ key, RELAXED);
        desired = index | (uint64_t)(state == REMOTE_NOTIFY ? REMOTE_NOTIFIED : state) << 32 |
                  (uint64_t)(REMOTE_COUNT(old) + 1) << 34;
    } while (!__atomic_compare_exchange_n(ATOMIC_AT(&s->remote), &old, desired, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    if (LM_TOOL_HOOKS) tool_poison(p, class_bytes(s->sizeclass));
    if (REMOTE_STATE(old) != REMOTE_NOTIFY) return;
    heap *owner = (heap *)payload_at(pg, ATOMIC_LOAD(&s->owner, RELAXED));
    uint32_t ref = span_ref(pg, s), top = ATOMIC_LOAD(ATOMIC_AT(&owner->pending), RELAXED);
    do s->pending_next = top;
    while (!__atomic_compare_exchange_n(ATOMIC_AT(&owner->pending), &top, ref, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}
#else
static void slot_free_remote(pages *pg, span *s, uptr p) { (void)pg, (void)s, (void)p; }
#endif

/* Frees live slot p of s, locally or remotely. */
static void slot_release(heap *h, span *s, uptr p) {
    if (span_is_local(h, s)) slot_push(h, s, p);
    else slot_free_remote(h->pages, s, p);
}

/* Is slot p of s (a slot start below fresh) on the span's free list? */
static COLD int slot_listed(pages *pg, span *s, uptr p) {
    uint32_t index = slot_index(pg, p), steps = s->fresh;
    uptr first = slot_index(pg, span_slot0(pg, s));
    uptr end = first + ((uptr)s->fresh * class_bytes(s->sizeclass) >> GRANULE_SHIFT);
    /* A link that leaves the span (damage) ends the walk before it is followed. */
    for (uint32_t at = s->free; at >= first && at < end && steps--; at = *(word *)slot_at(pg, at))
        if (at == index) return 1;
    return 0;
}

/* Classifies p, a pointer into the slot area of span s (valid), for `op`:
 * 1 if it is a live slot, 0 if it was reported (refuse the call). */
static COLD int slot_classify(heap *h, span *s, uptr p, enum op op) {
    pages *pg = h->pages;
    uptr size = class_bytes(s->sizeclass), offset = p - span_slot0(pg, s);
    uptr slot = p - offset % size;
    if (p % GRANULE) misuse(pg, R_MISALIGNED, op, p, 0, 0, 0);
    else if (slot != p && arena_marked(slot)) misuse(pg, R_ARENA_MEMORY, op, p, slot, 0, 0);
    else if (slot != p) misuse(pg, R_INSIDE, op, p, slot, size, 0);
    else if (offset / size >= ATOMIC_LOAD(&s->fresh, RELAXED)) misuse(pg, R_NEVER_HANDED_OUT, op, p, 0, 0, 0);
    /* The free list of another thread's span changes under us: there the
     * pair alone says freed (a live slot's bytes look so 1 in 2^32). */
    else if ((((word *)p)[0] ^ ((word *)p)[1]) == pg->key && (!span_is_local(h, s) || slot_listed(pg, s, p)))
        misuse(pg, op == OP_FREE || op == OP_FREE_SIZED ? R_DOUBLE_FREE : R_FREED_BLOCK, op, p, p, size, 0);
    else return 1;
    return 0;
}

/* Is p a live slot of s? The fast test: a slot start below fresh that does
 * not carry an agreeing pair. Anything else is looked at closer. (The
 * first half is needed without the checks too: a block after the slot
 * area may share the span's last page.) */
static inline int slot_plainly_live(pages *pg, span *s, uptr slot0, uptr p) {
    return slot_number(s, p - slot0) < ATOMIC_LOAD(&s->fresh, RELAXED) &&
           (!LM_MISUSE_CHECKS || (((word *)p)[0] ^ ((word *)p)[1]) != pg->key);
}

/* ===== Page layer: freeing blocks and naming bad pointers ================= */

/* The next block on the chain after `b`, or 0 if b's header is damaged,
 * says it is empty, or claims to reach past the sentinel. */
static COLD uptr chain_next(pages *pg, uptr b) {
    if (!header_valid(b)) return 0;
    uptr next = block_next(b);
    return next > b && next <= pg->sentinel ? next : 0;
}

/* A pointer that is no slot failed the block check: say exactly what is
 * wrong with it. */
static COLD void pointer_rejected(pages *pg, uptr p, enum op op) {
    uptr b = p - HEADER, block = 0;
    enum report r = R_NOT_IN_HEAP;
    if (!p) return;                                   /* NULL is never misuse */
    if (!pg->first || p < pg->first + HEADER || p >= pg->sentinel) {
        /* not in the heap */
    } else if (p % GRANULE) {
        r = R_MISALIGNED;
    } else if (header_valid(b)) {
        if (block_state(b) == STATE_FREE) {
            r = op == OP_FREE || op == OP_FREE_SIZED ? R_DOUBLE_FREE : R_FREED_BLOCK;
            block = b;
        } else if (block_state(b) == STATE_INTERNAL) {
            r = R_OWN_MEMORY;   /* a span's start before slot 0, a table, a map */
            block = b;
        }
    } else if (b >= pg->top) {
        /* in the top block, which holds no blocks: not in the heap */
    } else {
        /* Walk the chain to b: it is inside a block, or it is a block whose
         * header was overwritten, or the chain breaks before it. */
        uptr at = pg->first, prev = 0;
        while (at && at < b) { prev = at; at = chain_next(pg, at); }
        if (!at || at == b) {
            r = R_CORRUPTED_HEADER;
            block = at ? at : prev;
        } else if (block_state(prev) != STATE_FENCE) {
            r = block_state(prev) == STATE_USED && arena_marked(prev + HEADER) ? R_ARENA_MEMORY : R_INSIDE;
            block = prev;
        }
    }
    /* A damaged header is shown where it is, and has no size to trust; an
     * arena's block is the arena's business, not the caller's. */
    if (r == R_CORRUPTED_HEADER) misuse(pg, r, op, p, block, 0, 0);
    else if (r == R_ARENA_MEMORY) misuse(pg, r, op, p, block + HEADER, 0, 0);
    else misuse(pg, r, op, p, block ? block + HEADER : 0, block ? block_usable(block_granules(block)) : 0, 0);
}

/* Is b the header of a live (USED) block? One range test, one hash. */
static inline int block_is_live(pages *pg, uptr b) {
#if LM_MISUSE_CHECKS
    /* In range and 16-byte aligned in one compare: a misaligned offset
     * rotates its low bits to the top. */
    uptr offset = b - pg->first;
    return (offset >> GRANULE_SHIFT | offset << (LM_UPTR_BITS - GRANULE_SHIFT)) < pg->extent &&
           ((block_tag(b) ^ header_check(b, block_granules(b))) & ~PREV_MASK) == STATE_USED;
#else
    (void)pg;
    return b + HEADER != 0;
#endif
}

/* free of p when p is in no span: a medium or large block, or misuse. */
static void block_free(pages *pg, uptr p, enum op op) {
    uptr b = p - HEADER;
    if (UNLIKELY(!block_is_live(pg, b))) {
        pointer_rejected(pg, p, op);
        return;
    }
    if (LM_TOOL_HOOKS) tool_poison(p, block_usable(block_granules(b))), tool_freelike(p);
    block_release(pg, b);
}

static NOINLINE void block_free_locked(pages *pg, uptr p, enum op op) {
    pages_lock(pg);
    block_free(pg, p, op);
    pages_unlock(pg);
}

/* free under the lock, when the fast test did not settle it: a block, a
 * slot of the span before that shares the page, misuse, a live slot
 * whose bytes happen to look like a freed one's, or a slot whose span the
 * map, read without the lock, did not show yet. */
static NOINLINE void free_locked(heap *h, uptr p, enum op op, const span *seen) {
    pages *pg = h->pages;
    if (!p) return;                   /* free(NULL): nothing to do, and no lock */
    pages_lock(pg);
    /* Map entry 0 (the zero span) says no span touches p's page: an entry
     * that names a span is in place before any of its slots is handed out. */
    span *s = (uptr)seen == pg->payloads ? 0 : span_holding(pg, p);
    if (!s) block_free(pg, p, op);
    else if (slot_classify(h, s, p, op)) slot_release(h, s, p);
    pages_unlock(pg);
}

/* ===== Fast path and public API =========================================== */

static NOINLINE void *secure_malloc(heap *h, uptr size);
static NOINLINE void secure_free(heap *h, uptr p, enum op op, uptr length);
static uptr live_usable(pages *pg, uptr p, int *slot);

/* Tool hooks: p (or 0), just handed out by the API, is a block of its
 * usable bytes for memcheck. */
static void *tool_handed_out(void *p, int zeroed) {
    int slot;
    if (p) tool_malloclike((uptr)p, live_usable(&page_layer, (uptr)p, &slot), zeroed);
    /* free tests a slot's first two words (a freed slot's pair): they are
     * defined from the start (memcheck misses reads of them unwritten). */
    if (p && slot) tool_metadata((uptr)p, 2 * sizeof(word));
    return p;
}

/* size -> class -> pop. */
static inline void *malloc_fast(heap *h, uptr size) {
    if (LIKELY(size <= SMALL_MAX)) {
        span *s = h->direct[(size + GRANULE - 1) >> GRANULE_SHIFT];
        uint32_t index = s->free;
        void *p;
        if (LIKELY(index)) {
            if (LIKELY(slot_take(&page_layer, s, index, &p))) return p;
            return slot_damaged(h, s, size);
        }
    }
    return malloc_slow(h, size);
}

/* Not inlined into calloc and realloc: one copy of the fast path is enough. */
NOINLINE void *lm_malloc(size_t size) {
    heap *h = heap_here();
    if (LM_SECURE) return secure_malloc(h, size);
    if (LM_TOOL_HOOKS) return tool_handed_out(malloc_fast(h, size), 0);
    return malloc_fast(h, size);
}

void lm_free(void *ptr) {
    heap *h = heap_here();
    pages *pg = &page_layer;
    uptr p = (uptr)ptr;
    if (LM_SECURE) {
        secure_free(h, p, OP_FREE, (uptr)-1);
        return;
    }
    uptr slot0;
    span *s = span_lookup(pg, p, &slot0);
    if (LIKELY(slot_plainly_live(pg, s, slot0, p))) {
        if (LIKELY(span_is_local(h, s))) slot_push(h, s, p);
        else slot_free_remote(pg, s, p);
    } else {
        free_locked(h, p, OP_FREE, s);
    }
}

/* Classifies ptr for a call that is not free: 1 and *s set for a live
 * slot, 1 and *s == 0 for a live block, 0 if it was reported. */
static int pointer_live_locked(heap *h, uptr p, span **s, enum op op);

static NOINLINE int pointer_live(heap *h, uptr p, span **s, enum op op) {
    pages *pg = h->pages;
    uptr slot0;
    *s = span_lookup(pg, p, &slot0);
    if (slot_plainly_live(pg, *s, slot0, p)) return 1;
    pages_lock(pg);
    int live = pointer_live_locked(h, p, s, op);
    pages_unlock(pg);
    return live;
}

/* pointer_live's answer under the lock, for any pointer. */
static int pointer_live_locked(heap *h, uptr p, span **s, enum op op) {
    pages *pg = h->pages;
    if ((*s = span_holding(pg, p))) return slot_classify(h, *s, p, op);
    if (block_is_live(pg, p - HEADER)) return 1;
    pointer_rejected(pg, p, op);
    return 0;
}

/* The class an aligned request of `size` bytes gets a slot of: slot 0 is
 * aligned to the power of two in the slot size (class_alignment), so a
 * class whose size is a multiple of the alignment hands out aligned slots;
 * alignments above SLOT_ALIGN_MAX get blocks. */
static unsigned aligned_class(uptr size, uptr alignment) {
    unsigned c = sizeclass_small((uint32_t)((size + GRANULE - 1) >> GRANULE_SHIFT));
    if (alignment > SLOT_ALIGN_MAX) return SMALL_CLASSES;   /* a block, never a slot */
    while (class_bytes(c) % alignment) c++;
    return c;
}

/* ===== Secure mode ======================================================== */

/* LM_SECURE=1 (lm_add_library SECURE): every block, slot or page-layer
 * block, is asked for SECURE_EXTRA bytes more than the request and laid
 * out as
 *
 *     [ requested bytes | canary bytes ... | requested size: two words ]
 *     ^ p               ^ p + size         ^ p + usable - 8
 *
 * The canary (keys.canary, a byte by address) is checked at free, realloc
 * and usable_size: a write past the requested bytes shows, even in a block
 * below the unused top. free fills the block with FILL_BYTE, sets the top
 * bit of its stored size (freed) and queues it in its heap's quarantine,
 * a FIFO of QUARANTINE blocks; the oldest leaves it, its fill checked, and
 * is freed for real. A free through a stale pointer while the block waits
 * (also after malloc handed out another block) finds the freed bit: a
 * double free. malloc checks the fill of a slot it hands out again, and the
 * page layer that of a free block's bytes it hands out (listed blocks hold
 * the fill but for header, links and footer): a write after free shows.
 * free_sized must give exactly the requested size; usable_size is it. */
#define NO_LENGTH ((uptr)-1)
#define FREED_BIT ((uint64_t)1 << 63)

/* The canary byte at address a: the byte of keys.canary at a's offset in
 * its 8-byte word, so an aligned word holds keys.canary itself (both
 * targets are little-endian). */
static inline uint8_t canary_at(uptr a) { return (uint8_t)(keys.canary >> (a % 8 * 8)); }

/* The first byte of [from, to) that is not the canary, or 0. */
static uptr canary_broken(uptr from, uptr to) {
    for (; from < to && from % sizeof(fill_word); from++)
        if (*(const uint8_t *)from != canary_at(from)) return from;
    for (; to - from >= sizeof(fill_word) && to > from; from += sizeof(fill_word))
        if (*(const fill_word *)from != keys.canary) break;
    for (; from < to; from++)
        if (*(const uint8_t *)from != canary_at(from)) return from;
    return 0;
}

static inline uint64_t trailer_read(uptr at) { return (uint64_t)((word *)at)[1] << 32 | ((word *)at)[0]; }

static inline void trailer_write(uptr at, uint64_t value) {
    ((word *)at)[0] = (uint32_t)value;
    ((word *)at)[1] = (uint32_t)(value >> 32);
}

/* Usable bytes of live p: a slot (*slot set) or a block. */
static uptr live_usable(pages *pg, uptr p, int *slot) {
    uptr slot0;
    span *s = span_lookup(pg, p, &slot0);
    *slot = slot_number(s, p - slot0) < ATOMIC_LOAD(&s->fresh, RELAXED);
    return *slot ? class_bytes(s->sizeclass) : block_usable(block_granules(p - HEADER));
}

/* p serves a request of `size`: the canary after it, the size at the end. */
static void secure_seal(uptr p, uptr size, uptr usable) {
    uptr end = p + usable - 2 * sizeof(word), a = p + size;
    for (; a < end && a % sizeof(fill_word); a++) *(uint8_t *)a = canary_at(a);
    for (; a < end; a += sizeof(fill_word)) *(fill_word *)a = keys.canary;   /* end is word-aligned */
    trailer_write(end, size);
}

/* The requested size of live p (of `usable` bytes) after its trailer is
 * checked, or NO_LENGTH if it was reported: freed (in the quarantine), or
 * written past its requested bytes (the canary or the size itself). */
static NOINLINE uptr secure_size(pages *pg, uptr p, uptr usable, enum op op) {
    uptr end = p + usable - 2 * sizeof(word);
    uint64_t stored = trailer_read(end);
    if (stored & FREED_BIT) {
        uptr size = (uptr)(stored & ~FREED_BIT);
        misuse(pg, op == OP_FREE || op == OP_FREE_SIZED ? R_DOUBLE_FREE : R_FREED_BLOCK, op, p, p,
               size < usable ? size : usable, 0);
        return NO_LENGTH;
    }
    if (stored > usable - SECURE_EXTRA) {
        misuse(pg, R_OVERRUN_END, op, p, p, usable, 0);
        return NO_LENGTH;
    }
    if (canary_broken(p + (uptr)stored, end)) {
        misuse(pg, R_OVERRUN, op, p, p, (uptr)stored, 0);
        return NO_LENGTH;
    }
    return (uptr)stored;
}

/* A block just taken for a request of `size`: a slot must still hold the
 * fill it got when freed (or made); then it is sealed. */
static void *secure_handout(pages *pg, uptr p, uptr size) {
    int slot;
    uptr usable = live_usable(pg, p, &slot);
    if (slot && fill_broken(p + 2 * sizeof(word), p + usable - 2 * sizeof(word)))
        misuse(pg, R_WRITTEN_AFTER_FREE, OP_MALLOC, p, 0, 0, usable);
    fill(p, p + 2 * sizeof(word));          /* the free-list link: no key shows */
    secure_seal(p, size, usable);
    return (void *)p;
}

static NOINLINE void *secure_malloc(heap *h, uptr size) {
    if (size > MAX_REQUEST - SECURE_EXTRA) return malloc_slow(h, SIZE_MAX);   /* refused and counted */
    uptr p = (uptr)malloc_fast(h, size + SECURE_EXTRA);
    return p ? secure_handout(h->pages, p, size) : 0;
}

/* Block q leaves the quarantine: its fill checked (a write after free is
 * reported, here by `op`), it is freed for real. */
static NOINLINE void quarantine_leave(heap *h, uptr q, enum op op) {
    pages *pg = h->pages;
    int slot;
    uptr usable = live_usable(pg, q, &slot), end = q + usable - 2 * sizeof(word);
    if (fill_broken(q, end) || !(trailer_read(end) & FREED_BIT)) {
        misuse(pg, R_WRITTEN_AFTER_FREE, op, q, 0, 0, usable);
        fill(q, end);
    }
    if (slot) {
        uptr slot0;
        slot_release(h, span_lookup(pg, q, &slot0), q);
        return;
    }
    fill(end, end + 2 * sizeof(word));       /* a listed block holds the fill */
    pages_lock(pg);
    if (block_is_live(pg, q - HEADER)) block_merge(pg, q - HEADER);
    else pointer_rejected(pg, q, op);        /* its header was written over meanwhile */
    pages_unlock(pg);
}

/* free in secure mode: p checked (live, canary, and `length` if not
 * NO_LENGTH), filled, marked freed and queued; the oldest block in the
 * quarantine leaves it. */
static NOINLINE void secure_free(heap *h, uptr p, enum op op, uptr length) {
    pages *pg = h->pages;
    span *s;
    if (!p || !pointer_live(h, p, &s, op)) return;
    uptr usable = s ? class_bytes(s->sizeclass) : block_usable(block_granules(p - HEADER));
    uptr size = secure_size(pg, p, usable, op);
    if (size == NO_LENGTH) return;
    if (length != NO_LENGTH && length != size) {
        misuse(pg, R_WRONG_SIZE, op, p, p, size, length);
        return;
    }
    fill(p, p + usable - 2 * sizeof(word));
    trailer_write(p + usable - 2 * sizeof(word), size | FREED_BIT);
#if LM_THREADS
    if (h == &heap_none) {                   /* no heap of its own: no quarantine either */
        quarantine_leave(h, p, op);
        return;
    }
#endif
    if (h->quarantine_count < QUARANTINE) {
        h->quarantine[(h->quarantine_head + h->quarantine_count++) % QUARANTINE] = p;
        return;
    }
    uptr oldest = h->quarantine[h->quarantine_head];
    h->quarantine[h->quarantine_head] = p;
    h->quarantine_head = (h->quarantine_head + 1) % QUARANTINE;
    quarantine_leave(h, oldest, op);
}

#if LM_THREADS
/* Every block in h's quarantine leaves it (its thread ends). */
static void quarantine_flush(heap *h) {
    while (h->quarantine_count) {
        uptr q = h->quarantine[h->quarantine_head];
        h->quarantine_head = (h->quarantine_head + 1) % QUARANTINE;
        h->quarantine_count--;
        quarantine_leave(h, q, OP_FREE);
    }
}
#endif

static void *aligned_alloc_block(heap *h, uptr alignment, uptr size);

static NOINLINE void *secure_aligned_alloc(heap *h, uptr alignment, uptr size) {
    if (size > MAX_REQUEST - SECURE_EXTRA) return malloc_slow(h, SIZE_MAX);   /* refused and counted */
    uptr p = (uptr)aligned_alloc_block(h, alignment, size + SECURE_EXTRA);
    return p ? secure_handout(h->pages, p, size) : 0;
}

/* realloc in secure mode: stays while the new size and its trailer fit
 * and use at least half the block, else moves (the old block through the
 * quarantine). */
static NOINLINE void *secure_realloc(heap *h, uptr p, uptr size) {
    pages *pg = h->pages;
    span *s;
    if (!pointer_live(h, p, &s, OP_REALLOC)) return 0;
    uptr usable = s ? class_bytes(s->sizeclass) : block_usable(block_granules(p - HEADER));
    uptr have = secure_size(pg, p, usable, OP_REALLOC);
    if (have == NO_LENGTH) return 0;
    if (!size) {
        secure_free(h, p, OP_FREE, NO_LENGTH);
        return 0;
    }
    if (size > MAX_REQUEST - SECURE_EXTRA) return malloc_slow(h, SIZE_MAX);   /* refused and counted; p stays */
    if (size + SECURE_EXTRA <= usable && (size + SECURE_EXTRA > usable / 2 || usable <= 4 * GRANULE)) {
        secure_seal(p, size, usable);
        return (void *)p;
    }
    void *moved = secure_malloc(h, size);
    if (!moved) {
        if (size > have) return 0;
        secure_seal(p, size, usable);        /* no room to move: stay */
        return (void *)p;
    }
    __builtin_memcpy(moved, (void *)p, have < size ? have : size);
    secure_free(h, p, OP_FREE, NO_LENGTH);
    return moved;
}

/* free_sized and free_aligned_sized: the block must be the one a request
 * of `size` bytes (aligned to `alignment`) gets. */
static NOINLINE void free_sized(void *ptr, size_t size, size_t alignment) {
    heap *h = heap_here();
    pages *pg = h->pages;
    uptr p = (uptr)ptr;
    span *s;
    if (LM_SECURE) {
        secure_free(h, p, OP_FREE_SIZED, size);
        return;
    }
    if (!pointer_live(h, p, &s, OP_FREE_SIZED)) return;
    if (s) {
        /* A slot: the length must be one its class serves, or one realloc
         * left in it (more than half of it, see lm_realloc). */
        uptr have = class_bytes(s->sizeclass);
        if (LM_MISUSE_CHECKS && (size > have || (2 * size <= have && have > 2 * GRANULE &&
                                                 aligned_class(size, alignment) != s->sizeclass))) {
            misuse(pg, R_WRONG_SIZE, OP_FREE_SIZED, p, p, have, size);
            return;
        }
        slot_release(h, s, p);
        return;
    }
    /* A block: at most an eighth larger, the room realloc gives a growing
     * block (see realloc_move), and one split remainder (block_shrink). */
    uint32_t g = block_granules(p - HEADER);
    if (LM_MISUSE_CHECKS && (size > block_usable(g) || g - request_granules(size) >= MIN_SPLIT + g / 8)) {
        misuse(pg, R_WRONG_SIZE, OP_FREE_SIZED, p, p, block_usable(g), size);
        return;
    }
    block_free_locked(pg, p, OP_FREE_SIZED);
}

void lm_free_sized(void *ptr, size_t size) { free_sized(ptr, size, GRANULE); }

/* No block is ever from alloc(0): a live block with length 0 is reported
 * as a wrong length (and a freed or foreign pointer as what it is). */
void lm_dealloc(void *ptr, size_t len) {
    heap *h = heap_here();
    uptr p = (uptr)ptr, size;
    span *s;
    if (len || !ptr) {
        lm_free_sized(ptr, len);
        return;
    }
    if (!pointer_live(h, p, &s, OP_FREE_SIZED)) return;
    size = s ? class_bytes(s->sizeclass) : block_usable(block_granules(p - HEADER));
    if (LM_SECURE && (size = secure_size(h->pages, p, size, OP_FREE_SIZED)) == NO_LENGTH) return;
    misuse(h->pages, R_WRONG_SIZE, OP_FREE_SIZED, p, p, size, 0);
}

/* An alignment aligned_alloc refuses (0, not a power of two) is reported
 * and the call refused, before the pointer is looked at. */
void lm_free_aligned_sized(void *ptr, size_t alignment, size_t size) {
    if (LM_MISUSE_CHECKS && UNLIKELY(!alignment || (alignment & (alignment - 1)))) {
        if (ptr) misuse(&page_layer, R_BAD_ALIGNMENT, OP_FREE_SIZED, (uptr)ptr, 0, 0, alignment);
        return;
    }
    free_sized(ptr, size, alignment > GRANULE ? alignment : GRANULE);
}

void *lm_calloc(size_t count, size_t size) {
    /* Factors both under half the bits cannot overflow; else a division,
     * not __builtin_mul_overflow: on wasm64 that needs a 128-bit multiply
     * from a runtime library a freestanding module lacks. An overflowing
     * product asks for more than any heap holds: malloc refuses it and
     * counts the failure. */
    size_t total = count * size;
    if ((count | size) >> (sizeof(size_t) * 4) && size && count > MAX_REQUEST / size) total = SIZE_MAX;
    if (!LM_SECURE && total > SMALL_MAX) {
        void *p = block_alloc(heap_here(), total, BLOCK_ZERO);
        return LM_TOOL_HOOKS ? tool_handed_out(p, 1) : p;
    }
    /* Slots are written when their span puts them on its free list. */
    void *p = lm_malloc(total);
    if (p) __builtin_memset(p, 0, total);
    return p;
}

size_t lm_usable_size(const void *ptr) {
    heap *h = heap_here();
    uptr p = (uptr)ptr;
    span *s;
    if (!pointer_live(h, p, &s, OP_USABLE_SIZE)) return 0;
    uptr usable = s ? class_bytes(s->sizeclass) : block_usable(block_granules(p - HEADER));
    if (LM_SECURE && (usable = secure_size(h->pages, p, usable, OP_USABLE_SIZE)) == NO_LENGTH) return 0;
    return usable;
}

/* realloc of live block p (header b) to `size` bytes in place, under the
 * lock: 1 if it stayed (grown or shrunk where it is), else 0. */
static int block_resize(pages *pg, uptr b, uptr size) {
    uint32_t want = request_granules(size), have = block_granules(b);
    if (want <= have) {
        /* Shrink in place, unless the block keeps under a quarter of
         * itself or fits a slot: then the few bytes move, so they do not
         * pin a big hole. Up to an eighth stays: the room a growing block
         * was given (see realloc_move). */
        if (size <= SMALL_MAX || want < have / 4) return 0;
        if (have - want > have / 8) block_shrink(pg, b, want);
        return 1;
    }
    /* Grow in place into the top block, growing the heap if need be (a
     * growth that is not contiguous moves the top away). */
    uptr next = b + block_bytes(have);
    while (next == pg->top && top_granules(pg) < want - have)
        if (!heap_grow(pg, want - have)) break;
    if (next == pg->top && top_granules(pg) >= want - have) {
        block_write(b, want, STATE_USED | (block_tag(b) & PREV_MASK));
        top_set(pg, b + block_bytes(want));
        return 1;
    }
    /* Grow in place over a free neighbour. */
    if (next != pg->top && block_state(next) == STATE_FREE && have + block_granules(next) >= want) {
        free_list_remove(pg, next);
        have += block_granules(next);
        block_write(b, have, STATE_USED | (block_tag(b) & PREV_MASK));
        block_set_prev(b + block_bytes(have), 0);
        block_shrink(pg, b, want);
        return 1;
    }
    return 0;
}

/* realloc of live slot or block p (s its span, or 0), which cannot stay
 * as it is, to `size` bytes: moves it, or frees it (size 0). */
static NOINLINE void *realloc_move(heap *h, uptr p, uptr size, uptr have_bytes, span *s) {
    pages *pg = h->pages;
    if (!size) {
        lm_free((void *)p);
        return 0;
    }
    if (size > MAX_REQUEST) return malloc_slow(h, size);   /* refused and counted; p stays */
    /* A block that grows and must move gets an eighth more than it had,
     * so one grown a little at a time moves once per eighth (as a slot
     * moves once per class), not at every call. */
    uptr roomy = have_bytes + have_bytes / 8;
    void *moved = 0;
    if (size > have_bytes && size < roomy && size > SMALL_MAX) {
        moved = block_alloc(h, roomy, BLOCK_TRY);
        if (LM_TOOL_HOOKS) moved = tool_handed_out(moved, 0);
    }
    if (!moved) moved = lm_malloc(size);
    if (!moved) {
        if (size > have_bytes) return 0;
        if (!s) {      /* no room to move: stay */
            pages_lock(pg);
            block_shrink(pg, p - HEADER, request_granules(size));
            if (LM_TOOL_HOOKS) tool_resized(p, have_bytes, block_usable(block_granules(p - HEADER)));
            pages_unlock(pg);
        }
        return (void *)p;
    }
    __builtin_memcpy(moved, (void *)p, have_bytes < size ? have_bytes : size);
    lm_free((void *)p);
    return moved;
}

/* A slot stays while the new size fits and uses at least half of it. */
static inline int slot_keeps(uptr have_bytes, uptr size) {
    return size - 1 < have_bytes && (size > have_bytes / 2 || have_bytes <= 2 * GRANULE);
}

/* realloc when the fast test did not find a live slot: under the lock,
 * a block (grown or shrunk in place if it can be), a slot the map did
 * not show yet, or misuse. */
static NOINLINE void *realloc_locked(heap *h, uptr p, uptr size) {
    pages *pg = h->pages;
    uptr have_bytes;
    span *s;
    pages_lock(pg);
    int live = pointer_live_locked(h, p, &s, OP_REALLOC);
    if (!live || s) {
        pages_unlock(pg);
        if (!live) return 0;      /* reported */
        have_bytes = class_bytes(s->sizeclass);
        return slot_keeps(have_bytes, size) ? (void *)p : realloc_move(h, p, size, have_bytes, s);
    }
    have_bytes = block_usable(block_granules(p - HEADER));
    int stayed = size && size <= MAX_REQUEST && block_resize(pg, p - HEADER, size);
    if (LM_TOOL_HOOKS && stayed) {
        tool_unpoison(p, block_usable(block_granules(p - HEADER)));
        tool_resized(p, have_bytes, block_usable(block_granules(p - HEADER)));
    }
    pages_unlock(pg);
    return stayed ? (void *)p : realloc_move(h, p, size, have_bytes, 0);
}

void *lm_realloc(void *ptr, size_t size) {
    if (!ptr) return lm_malloc(size);
    heap *h = heap_here();
    uptr p = (uptr)ptr;
    if (LM_SECURE) return secure_realloc(h, p, size);
    uptr slot0;
    span *s = span_lookup(&page_layer, p, &slot0);
    if (LIKELY(slot_plainly_live(&page_layer, s, slot0, p))) {
        uptr have_bytes = class_bytes(s->sizeclass);
        return slot_keeps(have_bytes, size) ? ptr : realloc_move(h, p, size, have_bytes, s);
    }
    return realloc_locked(h, p, size);
}

/* A block (or slot) of `size` bytes aligned to `alignment`, or 0 (counted). */
static void *aligned_alloc_block(heap *h, uptr alignment, uptr size) {
    pages *pg = h->pages;
    if (!alignment || (alignment & (alignment - 1)) || size > MAX_REQUEST - 2 * GRANULE ||
        alignment > MAX_REQUEST - 2 * GRANULE - size)
        return malloc_slow(h, SIZE_MAX);   /* refused and counted */
    if (alignment <= GRANULE) return malloc_fast(h, size);
    if (size <= SMALL_MAX && alignment <= SLOT_ALIGN_MAX)
        return malloc_fast(h, class_bytes(aligned_class(size, alignment)));
    pages_lock(pg);
    uptr b = pages_ready(pg) ? block_take_aligned(h, alignment, size) : 0;
    pages_unlock(pg);
    if (!b) return malloc_slow(h, SIZE_MAX);   /* counted */
    return (void *)(b + HEADER);
}

void *lm_aligned_alloc(size_t alignment, size_t size) {
    heap *h = heap_here();
    if (LM_SECURE) return secure_aligned_alloc(h, alignment, size);
    if (LM_TOOL_HOOKS) return tool_handed_out(aligned_alloc_block(h, alignment, size), 0);
    return aligned_alloc_block(h, alignment, size);
}

/* ===== Misuse reports ===================================================== */

static const char *const op_names[] = { "free", "free_sized", "realloc", "usable_size", "malloc",
    "lm_arena_alloc", "lm_arena_reset", "lm_arena_destroy", "lm_arena_stats", "lm_arena_scope_begin",
    "lm_arena_scope_end", "lm_arena_trim" };
_Static_assert(sizeof op_names / sizeof *op_names == OP_ARENA + ARENA_OP_TRIM + 1, "a name for every op");

/* %o the operation, %p the caller's pointer, %b the block concerned, %n the
 * length passed, %s the block's usable size. */
static const struct { uint8_t kind; char text[67]; } reports[] = {
    [R_DOUBLE_FREE]        = { LM_MISUSE_DOUBLE_FREE, "double free of %p (%s-byte block)" },
    [R_NOT_IN_HEAP]        = { LM_MISUSE_NOT_IN_HEAP, "%o of %p, which is not in the heap" },
    [R_MISALIGNED]         = { LM_MISUSE_MISALIGNED, "%o of %p, which is not 16-byte aligned" },
    [R_INSIDE]             = { LM_MISUSE_NOT_A_BLOCK, "%o of %p, which is inside the block at %b (%s-byte block)" },
    [R_OWN_MEMORY]         = { LM_MISUSE_NOT_A_BLOCK, "%o of %p, which is lmalloc's own memory, not a block" },
    [R_NEVER_HANDED_OUT]   = { LM_MISUSE_NOT_A_BLOCK, "%o of %p, which was never handed out" },
    [R_WRONG_SIZE]         = { LM_MISUSE_WRONG_SIZE, "free_sized of %p with wrong length %n (%s-byte block)" },
    [R_CORRUPTED_HEADER]   = { LM_MISUSE_CORRUPTED, "corrupted block header at %b, found by %o of %p" },
    [R_CORRUPTED_SPAN]     = { LM_MISUSE_CORRUPTED, "corrupted span metadata at %b, found by %o of %p" },
    [R_FREED_BLOCK]        = { LM_MISUSE_DOUBLE_FREE, "%o of freed block %p (%s-byte block)" },
    [R_WRITTEN_AFTER_FREE] = { LM_MISUSE_CORRUPTED, "a freed %n-byte block was written after free, found by %o" },
    [R_DAMAGED_FREE]       = { LM_MISUSE_CORRUPTED, "damaged free block at %b (%s-byte block): written after free" },
    [R_BAD_ALIGNMENT]      = { LM_MISUSE_WRONG_SIZE, "free_aligned_sized of %p with invalid alignment %n" },
    [R_OVERRUN]            = { LM_MISUSE_CORRUPTED, "%o of %p, whose block was written past its %s bytes" },
    [R_OVERRUN_END]        = { LM_MISUSE_CORRUPTED, "%o of %p, whose block was written past its end" },
    [R_ARENA_MEMORY]       = { LM_MISUSE_ARENA, "%o of %p, which is arena memory (in the arena's block at %b)" },
    [R_ARENA + ARENA_NOT_LIVE]    = { LM_MISUSE_ARENA, "%o of %p, which is not a live arena (destroyed?)" },
    [R_ARENA + ARENA_SCOPE_OPEN]  = { LM_MISUSE_ARENA, "%o of arena %p while %n of its scopes are open" },
    [R_ARENA + ARENA_SCOPE_ORDER] = { LM_MISUSE_ARENA, "%o of arena %p for scope %n, not its innermost" },
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

/* Reports misuse of `ptr` in `op`; `block` is the block or slot concerned
 * (its header, for a damaged one), `usable` its usable size (0 if none).
 * Returns only under LM_POLICY_CONTINUE: the caller then refuses the call,
 * except malloc, which serves the request elsewhere. */
static COLD void misuse(pages *pg, enum report r, enum op op, uptr ptr, uptr block, uptr usable,
                        uptr length) {
    const char *t = reports[r].text;
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
            uptr v = c == 'p' ? ptr : c == 'b' ? block : c == 'n' ? length : usable;
            line_number(&l, v, c == 'n' || c == 's' ? 10 : 16);
        }
    }
    pages_lock(pg);
    pg->misuse_count++;
    pg->last_misuse = (lm_misuse){ reports[r].kind, ptr, usable };
    lm_target_report(reports[r].kind, ptr, usable, l.text, l.len, pg->policy == LM_POLICY_ABORT);
    if (pg->policy == LM_POLICY_ABORT) __builtin_trap();   /* the target did not stop */
    pages_unlock(pg);
}

/* The arena's side of the reports (src/arena_internal.h). */
uint32_t lm_internal_arena_mark(const void *block) {
    return ((uint32_t)(uptr)block * 0x2C1B3C6Du ^ page_layer.key ^ 0xA7E4A000u) | 1;
}

void lm_internal_arena_misuse(enum arena_report report, enum arena_op op, const void *arena, size_t count) {
    misuse(&page_layer, R_ARENA + report, OP_ARENA + op, (uptr)arena, 0, 0, count);
}

/* A free block b whose bytes up to `end` are handed out: in secure mode
 * they hold the fill past its header and links, or were written after
 * free (reported; the block is handed out all the same). */
static NOINLINE void block_fill_check(pages *pg, uptr b, uptr end) {
    if (fill_broken(b + 2 * HEADER, end))
        misuse(pg, R_WRITTEN_AFTER_FREE, OP_MALLOC, 0, 0, 0, block_usable(block_granules(b)));
}

/* Free block b's links or footer, in freed memory, were written over:
 * reports it, then makes the lists anew from the chain (under
 * LM_POLICY_CONTINUE), so no damaged link is ever followed. */
static COLD void free_block_damaged(pages *pg, uptr b) {
    misuse(pg, R_DAMAGED_FREE, OP_MALLOC, 0, b + HEADER, block_usable(block_granules(b)), 0);
    free_lists_rebuild(pg);
}

/* ===== Heap walk and histogram ============================================ */

/* The span whose block is b (INTERNAL), or 0: its slot 0 lies in b's first
 * granules, in the page the map names it for. */
static span *span_of_block(pages *pg, uptr b) {
    for (uptr at = b + HEADER; at <= b + HEADER + SPAN_ALIGN_MAX; at += SPAN_ALIGN_MAX) {
        span *s = span_of_page(pg, page_of(pg, at));
        if (s && span_valid(pg, s) && block_at(pg, s->block) == b) return s;
    }
    return 0;
}

/* Is slot p of s (below fresh) free: on a free list (its pair agrees; a
 * live slot's bytes look so 1 in 2^32), or, in secure mode, freed and in a
 * quarantine? */
static int slot_is_free(pages *pg, const span *s, uptr p) {
    if ((((word *)p)[0] ^ ((word *)p)[1]) == pg->key) return 1;
    return LM_SECURE && (trailer_read(p + class_bytes(s->sizeclass) - 2 * sizeof(word)) & FREED_BIT);
}

/* Calls visit for every block and slot, under the lock; stops early when
 * visit returns nonzero. Returns how many it visited. */
static size_t heap_walk(pages *pg, lm_walk_fn visit, void *arg) {
    size_t visited = 0;
    lm_block_info info;
    if (!pg->first) return 0;
    for (uptr b = pg->first; b && b < pg->top; b = chain_next(pg, b)) {
        uint32_t state = block_state(b);
        span *s = state == STATE_INTERNAL ? span_of_block(pg, b) : 0;
        if (state == STATE_FENCE) continue;             /* memory another party grew */
        if (!s) {
            info = (lm_block_info){ b + HEADER, block_usable(block_granules(b)), state != STATE_FREE,
                                    state == STATE_INTERNAL ? LM_BLOCK_INTERNAL : LM_BLOCK_LARGE };
            if (state == STATE_USED && LM_SECURE && (trailer_read(block_next(b) - 2 * sizeof(word)) & FREED_BIT))
                info.live = 0;                           /* in a quarantine */
            visited++;
            if (visit(&info, arg)) return visited;
            continue;
        }
        uptr size = class_bytes(s->sizeclass), slot0 = span_slot0(pg, s);
        for (uint32_t i = 0; i < s->capacity; i++) {
            uptr p = slot0 + (uptr)i * size;
            info = (lm_block_info){ p, size, i < s->fresh && !slot_is_free(pg, s, p), LM_BLOCK_SLOT };
            visited++;
            if (visit(&info, arg)) return visited;
        }
    }
    if (top_granules(pg)) {
        info = (lm_block_info){ pg->top + HEADER, block_usable(top_granules(pg)), 0, LM_BLOCK_TOP };
        visited++;
        visit(&info, arg);
    }
    return visited;
}

size_t lm_walk(lm_walk_fn visit, void *arg) {
    pages *pg = &page_layer;
    pages_lock(pg);
    size_t visited = heap_walk(pg, visit, arg);
    pages_unlock(pg);
    return visited;
}

/* The histogram's bucket of a size: floor(log2), 0 for 0. */
static unsigned histogram_bucket(uptr size) {
    unsigned bucket = 0;
    while (size >>= 1) bucket++;
    return bucket < LM_HISTOGRAM_BUCKETS ? bucket : LM_HISTOGRAM_BUCKETS - 1;
}

static int histogram_add(const lm_block_info *block, void *arg) {
    lm_histogram_t *h = arg;
    unsigned bucket = histogram_bucket((uptr)block->size);
    if (block->kind == LM_BLOCK_INTERNAL) {
        h->internal_bytes += block->size;
    } else if (block->live) {
        h->live_blocks[bucket]++;
        h->live_bytes[bucket] += block->size;
    } else {
        h->free_blocks[bucket]++;
        h->free_bytes[bucket] += block->size;
        if (block->kind != LM_BLOCK_SLOT) {
            h->free_block_bytes += block->size;
            if (h->largest_free < block->size) h->largest_free = block->size;
        }
    }
    return 0;
}

void lm_histogram(lm_histogram_t *out) {
    lm_histogram_t h;
    __builtin_memset(&h, 0, sizeof h);
    lm_walk(histogram_add, &h);
    h.fragmentation = h.free_block_bytes ? 1.0 - (double)h.largest_free / (double)h.free_block_bytes : 0.0;
    *out = h;
}

/* ===== Policy, statistics and validation ================================== */

void lm_set_policy(lm_policy policy) { page_layer.policy = policy; }

void lm_last_misuse(lm_misuse *out) { *out = page_layer.last_misuse; }

const char *lm_misuse_kind_name(lm_misuse_kind kind) {
    static const char *const names[LM_MISUSE_KIND_COUNT] = {
        "none", "double free", "not in heap", "misaligned", "not a block", "wrong size", "corrupted", "arena",
    };
    return (unsigned)kind < LM_MISUSE_KIND_COUNT ? names[kind] : "unknown";
}

/* Every descriptor in use: the spans. */
#define FOR_EACH_SPAN(pg, s)                                                           \
    for (uint32_t table_ = (pg)->tables; table_; table_ = span_at(pg, table_)->next) \
        for (span *s = span_at(pg, table_) + 1; s < span_at(pg, table_) + TABLE_SPANS; s++) \
            if (s->kind == SPAN_SMALL)

/* Every heap: the threads' (those that ended too), or the one default heap. */
#if LM_THREADS
#define FOR_EACH_HEAP(pg, h) for (heap *h = (pg)->heaps; h; h = h->next_heap)
#else
#define FOR_EACH_HEAP(pg, h) for (heap *h = &default_heap; h; h = 0)
#endif

/* Slots on the remote list of s: freed, but counted as used until its
 * owner takes them. (A walk that leaves the span, or loops, stops.) */
static uint32_t span_remote_count(pages *pg, span *s) {
#if LM_THREADS
    uint32_t count = 0;
    uptr first = span_slot0(pg, s), end = span_end(pg, s);
    for (uint32_t at = (uint32_t)ATOMIC_LOAD(&s->remote, ACQUIRE); at && count < s->used; count++) {
        uptr slot = slot_at(pg, at);
        if (slot < first || slot >= end) break;
        at = ATOMIC_LOAD((word *)slot, RELAXED);
    }
    return count;
#else
    (void)pg, (void)s;
    return 0;
#endif
}

/* With threads, the figures of spans other threads allocate from at the
 * same time are a moment's. */
void lm_stats(lm_stats_t *out) {
    pages *pg = &page_layer;
    lm_stats_t s = { 0 };
    uint64_t blocks = 0, tables = 0, heaps = 0;
    pages_lock(pg);
    FOR_EACH_HEAP(pg, h) heaps++;
    if (pg->first) {
        for (uptr b = pg->first; b && b < pg->top; b = chain_next(pg, b)) {
            blocks++;
            if (block_state(b) == STATE_USED) {
                s.live_blocks++;
                s.live_bytes += block_usable(block_granules(b));
            }
        }
        FOR_EACH_SPAN(pg, sp) {
            uint32_t live = sp->used - span_remote_count(pg, sp);
            s.live_blocks += live;
            s.live_bytes += (uint64_t)live * class_bytes(sp->sizeclass);
        }
        for (uint32_t t = pg->tables; t; t = span_at(pg, t)->next) tables++;
        /* Secure mode: blocks in a quarantine are freed, not live. */
        FOR_EACH_HEAP(pg, h) {
            for (uint32_t i = 0; LM_SECURE && i < h->quarantine_count; i++) {
                int slot;
                s.live_blocks--;
                s.live_bytes -= live_usable(pg, h->quarantine[(h->quarantine_head + i) % QUARANTINE], &slot);
            }
        }
        s.footprint = pg->end - pg->start;
    }
    s.peak_footprint = pg->peak_footprint;
    s.grow_calls = pg->grow_calls;
    s.failed_allocs = pg->failed_allocs;
    s.misuse_count = pg->misuse_count;
    s.metadata_bytes = sizeof *pg + heaps * sizeof(heap) + (blocks + 1) * HEADER +
                       tables * TABLE_SPANS * sizeof(span) + pg->map_pages * sizeof(word) +
                       pg->retired_bytes;
    pages_unlock(pg);
    *out = s;
}

/* Counts the entries of a block list, checking each; stops after `limit`
 * entries so a damaged (cyclic) list cannot loop forever. */
static size_t list_check(pages *pg, uint32_t index, unsigned c, uint64_t limit, uint64_t *count) {
    size_t errors = 0;
    uint32_t prev = 0;
    uint64_t max_index = (pg->sentinel - pg->origin) >> GRANULE_SHIFT;
    for (; index; index = link_read(block_at(pg, index), 0)) {
        uptr b = block_at(pg, index);
        if (index > max_index || b < pg->first || !header_valid(b) || block_state(b) != STATE_FREE ||
            b >= pg->top || ++*count > limit) return errors + 1;
        errors += list_of(block_granules(b)) != c;
        errors += link_read(b, 1) != prev;
        prev = index;
    }
    return errors;
}

/* Checks one span: descriptor, block, map entries and free list. */
static size_t span_check_all(pages *pg, span *s, uint64_t *mapped) {
    if (!span_valid(pg, s)) return 1;
    size_t errors = 0;
    uptr b = block_at(pg, s->block), size = class_bytes(s->sizeclass);
    uptr area = (uptr)s->capacity * size, slot0 = s->slot0;
    if (b < pg->first || b >= pg->top || !header_valid(b) || block_state(b) != STATE_INTERNAL ||
        slot0 < b + HEADER || slot0 > b + HEADER + SPAN_ALIGN_MAX || slot0 % class_alignment(s->sizeclass) ||
        area < PAGE_SIZE || slot0 + area > block_next(b))
        return errors + 1;
    /* Named by every page it touches, but a last page another span starts in. */
    for (uptr page = page_of(pg, slot0), last = page_of(pg, slot0 + area - 1); page <= last; page++) {
        span *named = span_of_page(pg, page);
        if (named != s && page == last && named && page_of(pg, span_slot0(pg, named)) == page) continue;
        errors += named != s;
        ++*mapped;
    }
    uint32_t listed = 0;
    for (uint32_t at = s->free; at; at = *(word *)slot_at(pg, at)) {
        uptr slot = slot_at(pg, at);
        if (slot < slot0 || (slot - slot0) % size || (slot - slot0) / size >= s->fresh ||
            ++listed > s->fresh || (((word *)slot)[0] ^ ((word *)slot)[1]) != pg->key)
            return errors + 1;
    }
    errors += s->used + listed + (s->capacity - (s->watch + 2)) != s->fresh || s->fresh > s->capacity;
    return errors;
}

/* Checks a heap's class queues: each links valid spans of its class it
 * owns, and holds exactly those that say they are queued. */
static size_t heap_check(heap *h) {
    pages *pg = h->pages;
    size_t errors = h->idle_count > IDLE_RING || (LM_THREADS && h->idle_local > h->idle_count);
    for (unsigned c = 0; c < SMALL_CLASSES; c++) {
        uint32_t queued = 0, prev = 0;
        span *s = h->current[c];
        if (s != &empty_span) {
            for (uint32_t at = span_ref(pg, s); at; at = span_at(pg, at)->next) {
                span *q = span_at(pg, at);
                if (!span_valid(pg, q) || q->sizeclass != c || !q->queued || q->prev != prev ||
                    q->owner != h->id || ++queued > 1u << 30) { errors++; break; }
                prev = at;
            }
        }
        errors += h->last[c] != prev;
        FOR_EACH_SPAN(pg, q) queued -= q->sizeclass == c && q->queued && q->owner == h->id;
        errors += queued != 0;
    }
    for (uint32_t g = 0; g <= SMALL_GRANULES; g++)
        errors += h->direct[g] != h->current[sizeclass_small(g)];
    return errors;
}

/* With threads, only while no other thread allocates or frees. */
size_t lm_check(void) {
    pages *pg = &page_layer;
    if (!pg->first) return 0;
    size_t errors = 0;
    uint64_t listed_blocks = 0, free_seen = 0, mapped = 0, map_entries = 0;
    uint32_t prev_bits = 0;    /* what the next block's PREV_MASK bits must say */
    uptr b = pg->first;
    while (b < pg->top) {
        uptr next = chain_next(pg, b);
        if (!next) { errors++; break; }
        uint32_t g = block_granules(b), state = block_state(b);
        errors += (block_tag(b) & PREV_MASK) != prev_bits;
        errors += state == STATE_FREE && prev_bits;                 /* two free neighbours */
        if (state == STATE_FREE) {
            free_seen++;
            errors += g > 1 && *block_footer(b, g) != g;
        }
        prev_bits = state == STATE_FREE ? prev_of_free(g) : 0;
        b = next;
    }
    /* The chain reaches top exactly, and a free block before it would have merged. */
    errors += b != pg->top || prev_bits || pg->top > pg->sentinel;
    errors += !header_valid(pg->sentinel) || block_state(pg->sentinel) != STATE_FENCE ||
              (block_tag(pg->sentinel) & PREV_MASK);
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        errors += !!(pg->fl_bitmap & (1u << fl)) != !!pg->sl_bitmap[fl];
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            unsigned c = fl * SL_COUNT + sl;
            errors += !!(pg->sl_bitmap[fl] & (1u << sl)) != !!pg->lists[c];
            errors += list_check(pg, pg->lists[c], c, free_seen, &listed_blocks);
        }
    }
    errors += listed_blocks != free_seen;
    errors += pg->extent != (pg->sentinel - pg->first) >> GRANULE_SHIFT;
    /* The map covers all pages: after the sentinel, or with threads in an
     * INTERNAL block. */
    uptr map_block = (uptr)(pg->map - 1) - HEADER;
    errors += pg->map[-1] != pg->map_pages || pg->map_pages <= page_of(pg, pg->end - 1);
    if (LM_THREADS)
        errors += map_block < pg->first || map_block >= pg->sentinel ||
                  block_state(map_block) != STATE_INTERNAL ||
                  block_usable(block_granules(map_block)) < (pg->map_pages + 1) * sizeof(word);
    else
        errors += map_block != pg->sentinel || (uptr)(pg->map + pg->map_pages) > pg->end;
    errors += pg->origin != pg->first - GRANULE;

    /* Spans, the map, and the class queues. */
    FOR_EACH_SPAN(pg, s) errors += span_check_all(pg, s, &mapped);
    for (uint32_t t = LM_THREADS ? 0 : pg->tables; t; t = span_at(pg, t)->next) {   /* counted without threads */
        span *table = span_at(pg, t);
        uint32_t in_use = 0;
        for (span *d = table + 1; d < table + TABLE_SPANS; d++) in_use += d->kind == SPAN_SMALL;
        errors += !in_use || in_use != table->used;   /* an empty one went back */
    }
    for (uptr page = 0; page < pg->map_pages; page++) map_entries += pg->map[page] != 0;
    errors += map_entries != mapped;
    FOR_EACH_HEAP(pg, h) errors += heap_check(h);
    return errors;
}
