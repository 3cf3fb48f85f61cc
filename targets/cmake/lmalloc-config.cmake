# find_package(lmalloc): the libraries `cmake --install` put in this prefix.
# Each build installs one target's libraries; install several builds into the
# same prefix to have several targets. For every installed target T (native,
# wasm32, wasm64, wasm32-wasi):
#   lmalloc::T::lmalloc   the lm_ API (lm_malloc, lm_free, ..., lm_check)
#   lmalloc::T::malloc    the same allocator as the program's malloc: the
#                         standard names (malloc, free, ..., posix_memalign)
#   lmalloc::T::secure    the lm_ API in secure mode (docs/hardening.md)
# and, for the consumer's own target, lmalloc::lmalloc, lmalloc::malloc and
# lmalloc::secure.
file(GLOB lmalloc_target_files "${CMAKE_CURRENT_LIST_DIR}/lmalloc-*-targets.cmake")
foreach(lmalloc_target_file IN LISTS lmalloc_target_files)
  include("${lmalloc_target_file}")
endforeach()

# The consumer's target, named as lmalloc's builds name theirs.
if(CMAKE_C_COMPILER_TARGET MATCHES "^wasm32-wasi")
  set(lmalloc_TARGET wasm32-wasi)
elseif(CMAKE_C_COMPILER_TARGET MATCHES "^wasm(32|64)" OR CMAKE_SYSTEM_PROCESSOR MATCHES "^wasm(32|64)$")
  string(REGEX MATCH "wasm(32|64)" lmalloc_TARGET "${CMAKE_C_COMPILER_TARGET}${CMAKE_SYSTEM_PROCESSOR}")
else()
  set(lmalloc_TARGET native)
endif()

if(TARGET lmalloc::${lmalloc_TARGET}::lmalloc)
  foreach(flavour lmalloc malloc secure)
    if(NOT TARGET lmalloc::${flavour})
      add_library(lmalloc::${flavour} INTERFACE IMPORTED)
      target_link_libraries(lmalloc::${flavour} INTERFACE lmalloc::${lmalloc_TARGET}::${flavour})
    endif()
  endforeach()
else()
  set(lmalloc_FOUND FALSE)
  list(TRANSFORM lmalloc_target_files REPLACE ".*/lmalloc-(.*)-targets\\.cmake$" "\\1"
       OUTPUT_VARIABLE lmalloc_installed)
  set(lmalloc_NOT_FOUND_MESSAGE
      "lmalloc is installed in ${CMAKE_CURRENT_LIST_DIR} for '${lmalloc_installed}', not for this "
      "build's target '${lmalloc_TARGET}': install an lmalloc build of that target into the same prefix")
endif()
