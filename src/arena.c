/* Arenas: memory for one request or frame, given back all at once.
 *
 * Built on the public lm_* API alone (plus src/arena_internal.h for the
 * misuse reports), so the heap needs no arena code in its paths.
 *
 * Chunks
 *   An arena allocates by bumping a pointer through its newest chunk, a
 *   block of at least CHUNK_MIN bytes from lm_malloc (so from the page
 *   layer's blocks, never a span). A request that does not fit opens a new
 *   chunk big enough for everything the arena holds since its last reset,
 *   so chunks double and a steady workload soon needs one. Reset gives the
 *   chunks back and keeps (or takes) one that holds what the cycle used;
 *   destroy gives them all back, where the heap and other arenas reuse them.
 *
 *       chunk:  [ mark | older | end ]  bump space ...             end
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
 *   from the arena itself; lm_arena_scope_end returns there and gives back
 *   the chunks opened since.
 *
 * Threads: an arena has no lock; one thread at a time uses it. The chunks
 * come from and go back to the thread-safe heap.
 */
#include "lmalloc.h"
#include "arena_internal.h"

typedef uintptr_t uptr;

#define CHUNK_MIN   ((uptr)64 << 10)   /* the smallest chunk, and the unit chunks are rounded to */
#define ALIGN       ((uptr)LM_ALIGNMENT)
#define ROUND_UP(x, unit) (((x) + (unit) - 1) & ~((unit) - 1))

typedef struct chunk {
    uint32_t mark;          /* lm_internal_arena_mark(this) while the arena holds it */
    struct chunk *older;    /* the chunk filled before this one */
    uptr end;               /* one past its last byte */
} chunk;
#define CHUNK_HEADER ROUND_UP((uptr)sizeof(chunk), ALIGN)

/* Where lm_arena_scope_begin found the arena. */
typedef struct scope {
    struct scope *outer;
    chunk *newest;
    uptr bump, older_used;
} scope;

struct lm_arena {
    uptr bump;              /* next free byte of the newest chunk: always ALIGN-aligned ... */
    uptr end;               /* ... and <= end; both 0 with no chunk (or destroyed) */
    chunk *newest;          /* 0 until the first allocation */
    uptr older_used;        /* bytes handed out from the chunks before the newest */
    uptr reserved;          /* bytes of all its chunks */
    uptr chunks;
    uptr peak;              /* most bytes used at once so far */
    scope *scopes;          /* the innermost open scope */
    unsigned depth;         /* scopes open */
};

static inline chunk *arena_block(lm_arena_t *a) { return (chunk *)((char *)a - CHUNK_HEADER); }
static inline uptr chunk_start(chunk *c) { return (uptr)c + CHUNK_HEADER; }

/* Bytes handed out since the last reset. */
static uptr arena_used(lm_arena_t *a) {
    return a->older_used + (a->newest ? a->bump - chunk_start(a->newest) : 0);
}

static void arena_note_peak(lm_arena_t *a) {
    uptr used = arena_used(a);
    if (used > a->peak) a->peak = used;
}

/* Is a a live arena? Else reports it for `op` (0 = refuse the call). */
static int arena_live(lm_arena_t *a, enum arena_op op) {
    if (a && arena_block(a)->mark == lm_internal_arena_mark(arena_block(a))) return 1;
    lm_internal_arena_misuse(ARENA_NOT_LIVE, op, a, 0);
    return 0;
}

/* Marks a new block of the arena. All of its header is written: stale
 * bytes there, before the first bump block, could pass for a block header
 * when that block is freed by mistake. */
static void chunk_mark(chunk *c) {
    __builtin_memset(c, 0, CHUNK_HEADER);
    c->mark = lm_internal_arena_mark(c);
}

/* Takes a chunk of at least `bytes` of bump space; 0 when out of memory. */
static chunk *chunk_take(uptr bytes) {
    if (bytes > SIZE_MAX - CHUNK_HEADER - CHUNK_MIN) return 0;
    uptr total = ROUND_UP(bytes + CHUNK_HEADER, CHUNK_MIN);
    chunk *c = lm_malloc(total);
    if (!c) return 0;
    chunk_mark(c);
    c->end = (uptr)c + total;
    return c;
}

static void chunk_give_back(chunk *c) {
    c->mark = 0;
    lm_free(c);
}

static void arena_push(lm_arena_t *a, chunk *c) {
    if (a->newest) a->older_used += a->bump - chunk_start(a->newest);
    c->older = a->newest;
    a->newest = c;
    a->bump = chunk_start(c);
    a->end = c->end;
    a->reserved += c->end - (uptr)c;
    a->chunks++;
}

/* Gives back the chunks newer than `keep` (0: all of them). */
static void arena_drop_until(lm_arena_t *a, chunk *keep) {
    while (a->newest != keep) {
        chunk *c = a->newest;
        a->newest = c->older;
        a->reserved -= c->end - (uptr)c;
        a->chunks--;
        chunk_give_back(c);
    }
}

lm_arena_t *lm_arena_create(void) {
    chunk *block = lm_malloc(CHUNK_HEADER + sizeof(struct lm_arena));
    if (!block) return 0;
    chunk_mark(block);
    lm_arena_t *a = (lm_arena_t *)((char *)block + CHUNK_HEADER);
    __builtin_memset(a, 0, sizeof *a);
    return a;
}

/* What the fast paths did not serve: a new chunk, or misuse, or no memory. */
static __attribute__((noinline)) void *arena_alloc_slow(lm_arena_t *a, uptr alignment, uptr size) {
    if (!arena_live(a, ARENA_OP_ALLOC)) return 0;
    if (size > SIZE_MAX / 2 || alignment > SIZE_MAX / 4) return 0;
    uptr rounded = size ? ROUND_UP(size, ALIGN) : ALIGN;
    uptr p = ROUND_UP(a->bump, alignment);
    if (a->newest && p <= a->end && rounded <= a->end - p) {
        a->bump = p + rounded;          /* it fitted: size 0, or a large alignment */
        return (void *)p;
    }
    uptr need = rounded + alignment - ALIGN;
    uptr used = arena_used(a);
    chunk *c = chunk_take(need > used ? need : used + need);
    if (!c) return 0;
    arena_note_peak(a);
    arena_push(a, c);
    p = ROUND_UP(a->bump, alignment);
    a->bump = p + rounded;
    return (void *)p;
}

/* The fast path: the request fits the newest chunk. bump and end are
 * aligned, so size <= end - bump means its rounded size fits too; size 0
 * (size - 1 wraps) and a destroyed arena (end == bump == 0) go slow. */
void *lm_arena_alloc(lm_arena_t *a, size_t size) {
    uptr bump = a->bump;
    if (__builtin_expect(size - 1 < a->end - bump, 1)) {
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

void lm_arena_reset(lm_arena_t *a) {
    if (!arena_live(a, ARENA_OP_RESET)) return;
    if (a->depth) {
        lm_internal_arena_misuse(ARENA_SCOPE_OPEN, ARENA_OP_RESET, a, a->depth);
        return;
    }
    arena_note_peak(a);
    uptr used = arena_used(a);
    if (a->newest && a->newest->older) {
        /* Several chunks: one that holds the whole cycle serves the next
         * alone. The old ones go first, so it can take their place. */
        arena_drop_until(a, 0);
        chunk *c = chunk_take(used);
        a->older_used = 0;
        a->bump = a->end = 0;
        if (c) arena_push(a, c);
        return;
    }
    a->older_used = 0;
    if (a->newest) a->bump = chunk_start(a->newest);
}

void lm_arena_destroy(lm_arena_t *a) {
    if (!a) return;
    if (!arena_live(a, ARENA_OP_DESTROY)) return;
    if (a->depth) {
        lm_internal_arena_misuse(ARENA_SCOPE_OPEN, ARENA_OP_DESTROY, a, a->depth);
        return;
    }
    arena_drop_until(a, 0);
    a->bump = a->end = 0;       /* a later alloc takes the slow path and is reported */
    chunk_give_back(arena_block(a));
}

unsigned lm_arena_scope_begin(lm_arena_t *a) {
    if (!arena_live(a, ARENA_OP_SCOPE_BEGIN)) return 0;
    if (!a->newest) {
        /* The first chunk is taken outside the scope, so ending it keeps it. */
        chunk *c = chunk_take(CHUNK_MIN);
        if (!c) return 0;
        arena_push(a, c);
    }
    scope saved = { a->scopes, a->newest, a->bump, a->older_used };
    scope *record = lm_arena_alloc(a, sizeof *record);
    if (!record) return 0;
    *record = saved;
    a->scopes = record;
    return ++a->depth;
}

void lm_arena_scope_end(lm_arena_t *a, unsigned depth) {
    if (!arena_live(a, ARENA_OP_SCOPE_END)) return;
    if (!a->depth || depth != a->depth) {
        lm_internal_arena_misuse(ARENA_SCOPE_ORDER, ARENA_OP_SCOPE_END, a, depth);
        return;
    }
    arena_note_peak(a);
    scope saved = *a->scopes;   /* the record may sit in a chunk given back below */
    arena_drop_until(a, saved.newest);
    a->bump = saved.bump;
    a->end = saved.newest->end;
    a->older_used = saved.older_used;
    a->scopes = saved.outer;
    a->depth--;
}

void lm_arena_stats(lm_arena_t *a, lm_arena_stats_t *out) {
    __builtin_memset(out, 0, sizeof *out);
    if (!arena_live(a, ARENA_OP_STATS)) return;
    arena_note_peak(a);
    out->used = arena_used(a);
    out->reserved = a->reserved;
    out->chunks = a->chunks;
    out->peak = a->peak;
}
