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

/* Frees a block from alloc(len) given the same len, checked by lm_dealloc:
 * dealloc(0, len) is a no-op (what alloc handed out for a zero length or
 * when memory ran out), and a live block with len 0 a wrong length. */
__attribute__((export_name("dealloc")))
void lm_export_dealloc(void *ptr, size_t len)
{
    lm_dealloc(ptr, len);
}
