/* program — an emscripten program (emcc -sMALLOC=none) whose malloc is
 * lmalloc: libc's own allocations (strdup, printf's buffers) and the
 * runtime's emscripten_builtin_malloc are lmalloc blocks, memory grows past
 * the initial 16 MiB and the JS side still prints, and a double free is
 * reported by lmalloc on stderr and stops the program.
 *   program                 the checks; prints "emscripten: PASS"
 *   program --double-free   frees a block twice
 * Built without lmalloc's malloc names (beside emscripten's dlmalloc), the
 * first lm_malloc must refuse to start, saying why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmalloc.h"

void *emscripten_builtin_malloc(size_t size);
void emscripten_builtin_free(void *ptr);

int main(int argc, char **argv)
{
    int failures = 0;
#define CHECK(expr) ((expr) ? (void)0 : (void)(failures++, printf("CHECK failed: %s\n", #expr)))
#if LM_PROGRAM_BESIDE
    (void)argc, (void)argv;
    void *block = lm_malloc(100);   /* refused: lmalloc must not share emscripten's heap */
    printf("lm_malloc beside emscripten's malloc returned %p\n", block);
    return 1;
#else
    if (argc > 1 && strcmp(argv[1], "--double-free") == 0) {
        char *block = malloc(64);
        free(block);
        free(block);
        printf("the double free was not stopped\n");
        return 1;
    }
    char *copy = strdup("a string libc copies with malloc");
    CHECK(copy && lm_usable_size(copy) > strlen(copy));
    void *builtin = emscripten_builtin_malloc(1000);
    CHECK(builtin && lm_usable_size(builtin) >= 1000);
    emscripten_builtin_free(builtin);

    lm_stats_t before, after;
    lm_stats(&before);
    unsigned char *big = malloc(64 << 20);   /* past the initial 16 MiB: memory grows */
    CHECK(big != NULL);
    if (big) {
        memset(big, 0x5A, 64 << 20);
        CHECK(big[(64 << 20) - 1] == 0x5A);
    }
    lm_stats(&after);
    CHECK(after.grow_calls > before.grow_calls);
    printf("after growth JS still prints: %s (%llu growth calls)\n", copy, (unsigned long long)after.grow_calls);
    free(big);
    free(copy);
    CHECK(lm_check() == 0);
    printf("emscripten: %s\n", failures ? "FAIL" : "PASS");
    return failures != 0;
#endif
}
