/* The fuzzing interpreter: bytes in, allocator calls out, every result
 * checked against a shadow model. Shared by the libFuzzer entry
 * (fuzz_main.c, native clang only) and the corpus replayer (replay_main.c,
 * every target). */
#ifndef LM_FUZZ_OPS_H
#define LM_FUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Runs the operations encoded in `data` (format: see ops.c), then frees
 * every block still live. Returns the number of failed checks (0 = good);
 * the heap is back to where it started either way, unless a check found it
 * damaged. */
unsigned lm_fuzz_run(const uint8_t *data, size_t size);

/* With tracing on, lm_fuzz_run prints each misuse op it makes ("  op N:
 * <kind>") and ends each input with "  N ops, N NULLs, N misuses", so
 * another interpreter of the language (tests/fuzz/differential.mjs) can
 * be compared with this one. */
void lm_fuzz_trace(int on);

#endif
