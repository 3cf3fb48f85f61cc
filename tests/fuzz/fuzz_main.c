/* libFuzzer entry (native, clang, -DLM_FUZZ=ON): each input is one program
 * for the interpreter in ops.c. A failed check traps so libFuzzer keeps
 * the input; replay it on any target with replay_main.c.
 *
 *   fuzz_ops -max_total_time=60 <scratch-dir> tests/fuzz/corpus
 * (see tests/CMakeLists.txt)
 */
#include "ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (lm_fuzz_run(data, size) != 0)
        __builtin_trap();
    return 0;
}
