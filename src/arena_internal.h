/* What src/arena.c needs from src/lmalloc.c, and nothing else may use: not
 * API. lmalloc.c never calls into arena.c, so a program without arenas
 * links lmalloc.c alone. */
#ifndef LMALLOC_ARENA_INTERNAL_H
#define LMALLOC_ARENA_INTERNAL_H

#include "lmalloc.h"

/* The word an arena keeps first in each block it holds (its chunks and the
 * block of its handle) while it holds it: a keyed hash of the block's
 * address, never 0. The misuse reports look for it to name an lm_free of
 * arena memory. */
uint32_t lm_internal_arena_mark(const void *block);

/* The arena calls and situations lm_internal_arena_misuse reports. */
enum arena_op { ARENA_OP_ALLOC, ARENA_OP_RESET, ARENA_OP_DESTROY, ARENA_OP_STATS,
                ARENA_OP_SCOPE_BEGIN, ARENA_OP_SCOPE_END, ARENA_OP_TRIM };
enum arena_report {
    ARENA_NOT_LIVE,       /* the handle is not a live arena */
    ARENA_SCOPE_OPEN,     /* reset or destroy while `count` scopes are open */
    ARENA_SCOPE_ORDER     /* scope_end of `count`, which is not the innermost scope */
};

/* Reports misuse as lmalloc reports its own (one line, LM_MISUSE_ARENA);
 * returns only under LM_POLICY_CONTINUE, when the caller refuses the call. */
void lm_internal_arena_misuse(enum arena_report report, enum arena_op op, const void *arena, size_t count);

#endif
