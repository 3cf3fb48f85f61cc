/* sum_bytes(ptr, len), the sum of len bytes, called from JavaScript end to
 * end: JavaScript copies a string into a block from alloc(len), calls
 * sum_bytes on it and frees it with dealloc(ptr, len). Built for wasm32 and
 * wasm64 with the allocator and the exports of lmalloc.wasm (see
 * CMakeLists.txt); driven by sum_bytes.mjs.
 */
#include <stddef.h>
#include <stdint.h>

/* The sum of `len` bytes at `bytes`. `size_t` is 32 or 64 bits with the target,
 * so on wasm64 both arguments arrive as i64 (BigInt in JS). */
__attribute__((export_name("sum_bytes")))
uint32_t sum_bytes(const uint8_t *bytes, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += bytes[i];
    return sum;
}
