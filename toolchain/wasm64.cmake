# Cross-compiles lmalloc for wasm64 (Memory64): freestanding C11 with clang-14 and
# wasm-ld, no libc. Programs become .wasm modules run by toolchain/run-wasm.
#   cmake --preset wasm64     (or -DCMAKE_TOOLCHAIN_FILE=toolchain/wasm64.cmake)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm64)
set(LM_TARGET wasm64)
include("${CMAKE_CURRENT_LIST_DIR}/wasm-common.cmake")
