/* Arenas: memory for one request or frame, given back all at once.
 *
 * Built on the public lm_* API alone (plus src/arena_internal.h for the
 * misuse reports), so the heap needs no arena code in its paths.
 *
 * Chunks
 *   An arena allocates by bumping a pointer through its current chunk, a
 *   block of at least CHUNK_MIN bytes from lm_malloc (so from the page
 *   layer's blocks, never a span). Its chunks form a chain in the order
 *   they are filled. A request that does not fit moves on to the next
 *   chunk, or puts a new one there, of at least a quarter of what the
 *   chunks hold since the last reset: few chunks, and at most a quarter
 *   more than a cycle needs. Reset returns to the first chunk and keeps
 *   them all, so a steady workload takes no memory after its largest cycle
 *   and leaves no holes for the heap to fill; trim gives back the chunks
 *   after the current one, destroy all of them, where the heap and other
 *   arenas reuse them.
 *
 *   A request of more than LARGE_MIN bytes (alignment padding included)
 *   gets a block of its own, a "large" chunk, which reset gives back: in
 *   the chain, large blocks would make every later chunk as large, or skip
 *   chunks too small for them, and hold their memory away from the heap.
 *
 *       chunk:  [ mark | next | end ]  bump space ...                end
 *       handle: [ mark | - | - ]  struct lm_arena     <- lm_arena_t * points here
 *
 *   Every block the arena holds starts with lm_internal_arena_mark of its
 *   address, cleared before it goes back: an lm_free of a pointer into one
 *   is reported as arena memory, and a handle whose mark is gone (destroy
 *   cleared it, or its block was freed) is reported as not a live arena.
 *   The handle points past its block's start, so lm_free(handle) is caught
 *   the same way instead of freeing the arena under its user.
 *
 * Scopes
 *   lm_arena_scope_begin saves where the arena is in a record allocated
 *   from the arena itself; lm_arena_scope_end returns there.
 *
 * Threads: an arena has no lock; one thread at a time uses it. The chunks
 * come from and go back to the thread-safe heap.
 */
#include "lmalloc.h"
#include "arena_internal.h"

typedef uintptr_t uptr;

#define CHUNK_MIN    ((uptr)64 << 10)  /* the smallest chunk, and the unit chunks are rounded to */
#define LARGE_MIN    (CHUNK_MIN / 4)   /* larger requests get a block of their own */
#define GROWTH_SHIFT 2                 /* a new chunk holds at least used / 4: few chunks, little overshoot */
#define ALIGN        ((uptr)LM_ALIGNMENT)
#define ROUND_UP(x, unit) (((x) + (unit) - 1) & ~((unit) - 1))

typedef struct chunk {
    uint32_t mark;          /* lm_internal_arena_mark(this) while the arena holds it */
    struct chunk *next;     /* the chunk filled after this one; for large ones, the one before */
    uptr end;               /* one past its last byte */
} chunk;
#define CHUNK_HEADER ROUND_UP((uptr)sizeof(chunk), ALIGN)
_Static_assert(LARGE_MIN <= CHUNK_MIN - CHUNK_HEADER, "a request that is not large fits any chunk");

/* Where lm_arena_scope_begin found the arena. */
typedef struct scope {
    struct scope *outer;
    chunk *current, *large;
    uptr bump, older_used, large_used;
} scope;

struct lm_arena {
    uptr bump;              /* next free byte of the current chunk: always ALIGN-aligned ... */
    uptr end;               /* ... and <= end; both 0 with no chunk (or destroyed) */
    chunk *current;         /* the chunk being filled; 0 until the first allocation */
    chunk *first;
    chunk *large;           /* the newest large chunk */
    uptr older_used;        /* bytes handed out from the chunks before the current one */
    uptr large_used;        /* bytes handed out as large chunks */
    uptr reserved;          /* bytes of all its chunks */
    uptr chunks;
    uptr peak;              /* most bytes used at once so far */
    scope *scopes;          /* the innermost open scope */
    unsigned depth;         /* scopes open */
};

static inline chunk *arena_block(lm_arena_t *a) { return (chunk *)((char *)a - CHUNK_HEADER); }
static inline uptr chunk_start(chunk *c) { return (uptr)c + CHUNK_HEADER; }
static inline uptr chunk_bytes(chunk *c) { return c->end - (uptr)c; }

/* Bytes handed out from the chain since the last reset. */
static uptr chain_used(lm_arena_t *a) {
    return a->older_used + (a->current ? a->bump - chunk_start(a->current) : 0);
}

static void arena_note_peak(lm_arena_t *a) {
    uptr used = chain_used(a) + a->large_used;
    if (used > a->peak) a->peak = used;
}

/* Is a a live arena? Else reports it for `op` (0 = refuse the call). */
static int arena_live(lm_arena_t *a, enum arena_op op) {
    if (a && arena_block(a)->mark == lm_internal_arena_mark(arena_block(a))) return 1;
    lm_internal_arena_misuse(ARENA_NOT_LIVE, op, a, 0);
    return 0;
}

/* A new block of the arena of `total` bytes, marked, or 0. All of its
 * header is written: stale bytes there, before the first bump block,
 * could pass for a block header when that block is freed by mistake. */
static chunk *chunk_take(uptr total) {
    chunk *c = lm_malloc(total);
    if (!c) return 0;
    __builtin_memset(c, 0, CHUNK_HEADER);
    c->mark = lm_internal_arena_mark(c);
    c->end = (uptr)c + total;
    return c;
}

static void chunk_give_back(lm_arena_t *a, chunk *c) {
    a->reserved -= chunk_bytes(c);
    a->chunks--;
    c->mark = 0;
    lm_free(c);
}

/* Makes c (0: none) the chunk being filled. */
static void arena_enter(lm_arena_t *a, chunk *c, uptr bump, uptr older_used) {
    a->current = c;
    a->bump = c ? bump : 0;
    a->end = c ? c->end : 0;
    a->older_used = older_used;
}

/* Gives back the large chunks newer than `keep`. */
static void arena_drop_large(lm_arena_t *a, chunk *keep) {
    while (a->large != keep) {
        chunk *c = a->large;
        a->large = c->next;
        a->large_used -= chunk_bytes(c) - CHUNK_HEADER;
        chunk_give_back(a, c);
    }
}

/* A chunk of at least `bytes` of bump space, put after the current one
 * and entered; 0 when out of memory. */
static chunk *arena_grow(lm_arena_t *a, uptr bytes) {
    chunk *c = chunk_take(ROUND_UP(bytes + CHUNK_HEADER, CHUNK_MIN));
    if (!c) return 0;
    if (a->current) {
        c->next = a->current->next;
        a->current->next = c;
    } else {
        a->first = c;
    }
    a->reserved += chunk_bytes(c);
    a->chunks++;
    arena_note_peak(a);
    arena_enter(a, c, chunk_start(c), chain_used(a));
    return c;
}

lm_arena_t *lm_arena_create(void) {
    chunk *block = chunk_take(CHUNK_HEADER + sizeof(struct lm_arena));
    if (!block) return 0;
    lm_arena_t *a = (lm_arena_t *)chunk_start(block);
    __builtin_memset(a, 0, sizeof *a);
    return a;
}

/* Bumps `rounded` bytes aligned to `alignment` out of the current chunk, or 0. */
static void *arena_bump(lm_arena_t *a, uptr alignment, uptr rounded) {
    uptr p = ROUND_UP(a->bump, alignment);
    if (!a->current || p > a->end || rounded > a->end - p) return 0;
    a->bump = p + rounded;
    return (void *)p;
}

/* What the fast path did not serve: size 0, an alignment, a large
 * request, the next chunk or a new one, misuse, or no memory. */
static __attribute__((noinline)) void *arena_alloc_slow(lm_arena_t *a, uptr alignment, uptr size) {
    if (!arena_live(a, ARENA_OP_ALLOC)) return 0;
    if (size > SIZE_MAX / 2 || alignment > SIZE_MAX / 4) return 0;
    uptr rounded = size ? ROUND_UP(size, ALIGN) : ALIGN, need = rounded + alignment - ALIGN;
    if (need > LARGE_MIN) {
        chunk *c = chunk_take(CHUNK_HEADER + need);
        if (!c) return 0;
        c->next = a->large;
        a->large = c;
        a->large_used += need;
        a->reserved += chunk_bytes(c);
        a->chunks++;
        arena_note_peak(a);
        return (void *)ROUND_UP(chunk_start(c), alignment);
    }
    void *p = arena_bump(a, alignment, rounded);
    if (p) return p;
    /* Small requests fit any chunk: the next one, kept from an earlier cycle, or a new one. */
    chunk *next = a->current ? a->current->next : 0;
    if (next) arena_enter(a, next, chunk_start(next), chain_used(a));
    else if (!arena_grow(a, need > chain_used(a) >> GROWTH_SHIFT ? need : chain_used(a) >> GROWTH_SHIFT)) return 0;
    return arena_bump(a, alignment, rounded);
}

/* The fast path: a request that is not large and fits the current chunk.
 * bump and end are aligned, so size <= end - bump means its rounded size
 * fits too; size 0 (size - 1 wraps) and a destroyed arena (end == bump
 * == 0) go slow. */
void *lm_arena_alloc(lm_arena_t *a, size_t size) {
    uptr bump = a->bump;
    if (__builtin_expect(size - 1 < LARGE_MIN && size - 1 < a->end - bump, 1)) {
        a->bump = bump + ROUND_UP(size, ALIGN);
        return (void *)bump;
    }
    return arena_alloc_slow(a, ALIGN, size);
}

void *lm_arena_alloc_aligned(lm_arena_t *a, size_t alignment, size_t size) {
    if (!alignment || (alignment & (alignment - 1))) {
        arena_live(a, ARENA_OP_ALLOC);   /* a bad alignment is no misuse; a dead arena still is */
        return 0;
    }
    if (alignment <= ALIGN) return lm_arena_alloc(a, size);
    return arena_alloc_slow(a, alignment, size);
}

/* Refuses (reports) reset and destroy while scopes are open. */
static int arena_unscoped(lm_arena_t *a, enum arena_op op) {
    if (!a->depth) return 1;
    lm_internal_arena_misuse(ARENA_SCOPE_OPEN, op, a, a->depth);
    return 0;
}

void lm_arena_reset(lm_arena_t *a) {
    if (!arena_live(a, ARENA_OP_RESET) || !arena_unscoped(a, ARENA_OP_RESET)) return;
    arena_note_peak(a);
    arena_drop_large(a, 0);
    arena_enter(a, a->first, a->first ? chunk_start(a->first) : 0, 0);
}

/* Gives back the chunks after the current one: all but the first after a reset. */
void lm_arena_trim(lm_arena_t *a) {
    if (!arena_live(a, ARENA_OP_TRIM) || !a->current) return;
    chunk *c = a->current->next;
    a->current->next = 0;
    while (c) {
        chunk *next = c->next;
        chunk_give_back(a, c);
        c = next;
    }
}

void lm_arena_destroy(lm_arena_t *a) {
    if (!a) return;
    if (!arena_live(a, ARENA_OP_DESTROY) || !arena_unscoped(a, ARENA_OP_DESTROY)) return;
    arena_drop_large(a, 0);
    for (chunk *c = a->first, *next; c; c = next) {
        next = c->next;
        chunk_give_back(a, c);
    }
    arena_enter(a, 0, 0, 0);    /* a later alloc takes the slow path and is reported */
    arena_block(a)->mark = 0;
    lm_free(arena_block(a));
}

unsigned lm_arena_scope_begin(lm_arena_t *a) {
    if (!arena_live(a, ARENA_OP_SCOPE_BEGIN)) return 0;
    /* The first chunk is taken outside the scope, so the scope saves a place in it. */
    if (!a->current && !arena_grow(a, CHUNK_MIN)) return 0;
    scope saved = { a->scopes, a->current, a->large, a->bump, a->older_used, a->large_used };
    scope *record = lm_arena_alloc(a, sizeof *record);
    if (!record) return 0;
    *record = saved;
    a->scopes = record;
    return ++a->depth;
}

/* Returns to where the scope began: its large chunks go back, the chain's
 * chunks filled since stay for reuse. */
void lm_arena_scope_end(lm_arena_t *a, unsigned depth) {
    if (!arena_live(a, ARENA_OP_SCOPE_END)) return;
    if (!a->depth || depth != a->depth) {
        lm_internal_arena_misuse(ARENA_SCOPE_ORDER, ARENA_OP_SCOPE_END, a, depth);
        return;
    }
    arena_note_peak(a);
    scope saved = *a->scopes;
    arena_drop_large(a, saved.large);
    arena_enter(a, saved.current, saved.bump, saved.older_used);
    a->scopes = saved.outer;
    a->depth--;
}

void lm_arena_stats(lm_arena_t *a, lm_arena_stats_t *out) {
    __builtin_memset(out, 0, sizeof *out);
    if (!arena_live(a, ARENA_OP_STATS)) return;
    arena_note_peak(a);
    out->used = chain_used(a) + a->large_used;
    out->reserved = a->reserved;
    out->chunks = a->chunks;
    out->peak = a->peak;
}
