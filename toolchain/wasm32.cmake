# Cross-compiles lmalloc for wasm32: freestanding C11 with clang-14 and
# wasm-ld, no libc. Programs become .wasm modules run by toolchain/run-wasm.
#   cmake --preset wasm32     (or -DCMAKE_TOOLCHAIN_FILE=toolchain/wasm32.cmake)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(LM_TARGET wasm32)
include("${CMAKE_CURRENT_LIST_DIR}/wasm-common.cmake")
