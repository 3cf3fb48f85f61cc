/* The JS-facing module's own exports: alloc/dealloc in the shape hosts
 * expect from a wasm allocator (length-checked frees). Every lm_* function of
 * src/lmalloc.h is exported under its C name by the link (CMakeLists.txt
 * reads the list from the header), so nothing here repeats them.
 */
#include "../../src/lmalloc.h"

/* 0 for a zero length or when memory is exhausted. */
__attribute__((export_name("alloc")))
void *lm_export_alloc(size_t len)
{
    return len == 0 ? NULL : lm_malloc(len);
}

/* Frees a block from alloc(len) given the same len; checked by lm_free_sized.
 * A null pointer or a zero length (what alloc(0) handed out) is a no-op. */
__attribute__((export_name("dealloc")))
void lm_export_dealloc(void *ptr, size_t len)
{
    if (ptr == NULL || len == 0)
        return;
    lm_free_sized(ptr, len);
}
