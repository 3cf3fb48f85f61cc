/* lmalloc with its misuse checks compiled out (LM_MISUSE_CHECKS=0): the same
 * source, so `lmalloc ÷ lmalloc_nochecks` is what the release-mode checks
 * cost (issue 6, goal 6). This translation unit defines every lm_* function,
 * so the linker takes only the target seam from the lmalloc library; the
 * adapter is lmalloc's own under another name. */
#define LM_MISUSE_CHECKS 0
#include "../../src/lmalloc.c"

#define BENCH_LMALLOC_NAME "lmalloc_nochecks"
#include "lmalloc.c"
