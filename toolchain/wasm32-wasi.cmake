# Cross-compiles for wasm32-wasi with Debian's wasi-libc, libc++ and libc++abi
# (sysroot /usr): C11 and C++17 programs with a C library, run as WASI
# commands by toolchain/run-wasi (Node's node:wasi).
#   cmake --preset wasm32-wasi   (or -DCMAKE_TOOLCHAIN_FILE=toolchain/wasm32-wasi.cmake)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(LM_TARGET wasm32-wasi)

find_program(LM_CLANG NAMES clang-14 REQUIRED)
find_program(LM_CLANGXX NAMES clang++-14 REQUIRED)
find_program(LM_LLVM_AR NAMES llvm-ar-14 REQUIRED)
find_program(LM_LLVM_RANLIB NAMES llvm-ranlib-14 REQUIRED)

set(CMAKE_C_COMPILER "${LM_CLANG}")
set(CMAKE_CXX_COMPILER "${LM_CLANGXX}")
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_CXX_COMPILER_TARGET wasm32-wasi)
set(CMAKE_SYSROOT /usr)
set(CMAKE_AR "${LM_LLVM_AR}" CACHE FILEPATH "archiver for wasm objects")
set(CMAKE_RANLIB "${LM_LLVM_RANLIB}" CACHE FILEPATH "indexer for wasm archives")

set(CMAKE_USER_MAKE_RULES_OVERRIDE "${CMAKE_CURRENT_LIST_DIR}/wasm-rules.cmake")
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/run-wasi")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
