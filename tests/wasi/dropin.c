/* dropin — lmalloc as the malloc of a WASI program (library lmalloc_malloc,
 * linked ahead of wasi-libc): the program's own calls and wasi-libc's
 * (strdup, stdio buffers, the environment, files) are served by lmalloc,
 * errno is set, and misuse through free() is reported on stderr with no JS
 * import.
 *   dropin                 the checks; exit 0 when all pass
 *   dropin --double-free   frees a block twice: must stop with lmalloc's line
 */
#define _POSIX_C_SOURCE 200809L   /* strdup, posix_memalign */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmalloc.h"

static int failures;
#define CHECK(expr) \
    ((expr) ? (void)0 : (void)(failures++, fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr)))

static unsigned long long live_blocks(void)
{
    lm_stats_t stats;
    lm_stats(&stats);
    return stats.live_blocks;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--double-free") == 0) {
        char *block = malloc(64);
        free(block);
        free(block);
        fprintf(stderr, "dropin: the double free was not stopped\n");
        return 1;
    }

    /* Before main, wasi-libc already allocated argv through malloc: lmalloc's. */
    CHECK(live_blocks() > 0);
    CHECK(lm_usable_size(argv) >= sizeof(char *) * (size_t)(argc + 1));

    unsigned long long before = live_blocks();
    char *copy = strdup("a string wasi-libc copies with malloc");
    CHECK(copy != NULL && lm_usable_size(copy) > strlen(copy));
    CHECK(live_blocks() == before + 1);
    free(copy);
    CHECK(live_blocks() == before);

    /* stdio allocates a FILE and its buffer. */
    FILE *file = fopen("dropin-scratch.txt", "w+");
    CHECK(file != NULL);
    if (file) {
        CHECK(live_blocks() > before);
        fprintf(file, "%s %d\n", "written through a buffer lmalloc gave", 42);
        rewind(file);
        char line[64] = "";
        CHECK(fgets(line, sizeof line, file) != NULL && strstr(line, "42") != NULL);
        fclose(file);
        remove("dropin-scratch.txt");
    }
    CHECK(live_blocks() == before);

    errno = 0;
    CHECK(malloc((size_t)-1 - 65536) == NULL && errno == ENOMEM);
    void *aligned = NULL;
    CHECK(posix_memalign(&aligned, 4096, 10000) == 0 && (size_t)aligned % 4096 == 0);
    free(aligned);

    CHECK(lm_check() == 0);
    printf("%s: %s\n", argv[0], failures ? "FAIL" : "PASS");
    return failures != 0;
}
