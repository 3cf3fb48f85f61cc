# Shared by wasm32.cmake and wasm64.cmake, which set LM_TARGET and
# CMAKE_SYSTEM_PROCESSOR (wasm32 | wasm64) before including this file.

find_program(LM_CLANG NAMES clang-14 REQUIRED)
find_program(LM_LLVM_AR NAMES llvm-ar-14 REQUIRED)
find_program(LM_LLVM_RANLIB NAMES llvm-ranlib-14 REQUIRED)

set(CMAKE_C_COMPILER "${LM_CLANG}")
set(CMAKE_C_COMPILER_TARGET ${CMAKE_SYSTEM_PROCESSOR})
set(CMAKE_AR "${LM_LLVM_AR}" CACHE FILEPATH "archiver for wasm objects")
set(CMAKE_RANLIB "${LM_LLVM_RANLIB}" CACHE FILEPATH "indexer for wasm archives")

# No libc, no start files: host services come from targets/wasm/host.c.
# -mmutable-globals: modules may export their stack pointer (lmalloc.wasm
# does, so the JS library can tell a stack overflow from other traps).
set(CMAKE_C_FLAGS_INIT "-ffreestanding -nostdlib -mbulk-memory -mmutable-globals")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib")
# Helpers the compiler calls for what wasm has no instruction for (__multi3
# for 128-bit products, long double arithmetic): compiler-rt's builtins,
# Debian package libclang-rt-14-dev-wasm32 / -wasm64.
execute_process(COMMAND "${LM_CLANG}" -print-resource-dir
                OUTPUT_VARIABLE LM_CLANG_RESOURCE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
find_file(LM_WASM_BUILTINS libclang_rt.builtins-${CMAKE_SYSTEM_PROCESSOR}.a
          PATHS "${LM_CLANG_RESOURCE_DIR}/lib/wasi" "${LM_CLANG_RESOURCE_DIR}/lib"
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
set(CMAKE_C_STANDARD_LIBRARIES "${LM_WASM_BUILTINS}" CACHE STRING "libraries linked into every wasm module")

# Compiler checks cannot link a freestanding module; compiling is enough.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Programs are <name>.wasm. The platform files reset CMAKE_EXECUTABLE_SUFFIX,
# so it is set in a rules file CMake reads after them.
set(CMAKE_USER_MAKE_RULES_OVERRIDE "${CMAKE_CURRENT_LIST_DIR}/wasm-rules.cmake")
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/run-wasm")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
