/* overflow — a module whose recursion overruns its stack (tests/stack/overflow.mjs
 * drives it). Built twice: with the project's --stack-first layout (stack at
 * the bottom of memory, then static data, then the heap), and with wasm-ld's
 * default layout (static data, then the stack growing down towards it).
 * Exports, beside lmalloc.wasm's: recurse(depth), the lowest stack address
 * a completed recursion reached, and where the static canary lies.
 */
#include <stdint.h>
#include "lmalloc.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* Static data with a known pattern: what an overflow would overwrite. */
unsigned char canary[4096] = { [0 ... 4095] = 0xA5 };

static uintptr_t lowest = UINTPTR_MAX;

EXPORT("canary_address") void *canary_address(void) { return canary; }
EXPORT("canary_size") size_t canary_size(void) { return sizeof canary; }
EXPORT("stack_lowest") uintptr_t stack_lowest(void) { return lowest; }

/* Each level keeps a 240-byte frame in memory and uses it after the call, so
 * the compiler can neither drop the frame nor turn the recursion into a loop. */
EXPORT("recurse") uint32_t recurse(uint32_t depth)
{
    volatile unsigned char frame[240];
    for (unsigned i = 0; i < sizeof frame; i++) frame[i] = (unsigned char)depth;
    /* Only the deepest level writes static data: an overflow never gets there. */
    if (depth == 0 && (uintptr_t)frame < lowest) lowest = (uintptr_t)frame;
    uint32_t below = depth > 0 ? recurse(depth - 1) : 0;
    return below + frame[depth % sizeof frame];
}
