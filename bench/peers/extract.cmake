# Fetches dlmalloc.c and emmalloc.c from Debian's `emscripten` package and
# writes the copies the benchmark compiles (emmalloc patched, see
# bench/allocators/emmalloc.c for why). Never committed: run at configure
# time by bench/CMakeLists.txt.
#
#   cmake -DCACHE_DIR=<dir> -DOUT_DIR=<dir> -P extract.cmake
#
# CACHE_DIR keeps the two pristine sources (and the package version) so the
# 100 MB package is downloaded once for all build folders; OUT_DIR receives
# bench-peers/{dlmalloc.c,emmalloc.c,VERSION}. Fails with a message naming
# what went wrong; the caller decides whether that is fatal.

foreach(var CACHE_DIR OUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "extract.cmake: pass -D${var}=<dir>")
  endif()
endforeach()

set(package_dir "usr/share/emscripten/system/lib")
set(pristine "${CACHE_DIR}/emscripten-sources")
# Build folders configured at the same time share the cache: one at a time.
file(MAKE_DIRECTORY "${CACHE_DIR}")
file(LOCK "${CACHE_DIR}/extract.lock" GUARD PROCESS TIMEOUT 900 RESULT_VARIABLE lock_status)
if(NOT lock_status EQUAL 0)
  message(FATAL_ERROR "extract.cmake: cannot lock ${CACHE_DIR}/extract.lock: ${lock_status}")
endif()

if(NOT EXISTS "${pristine}/dlmalloc.c" OR NOT EXISTS "${pristine}/emmalloc.c"
   OR NOT EXISTS "${pristine}/VERSION")
  find_program(APT_GET apt-get)
  find_program(DPKG_DEB dpkg-deb)
  if(NOT APT_GET OR NOT DPKG_DEB)
    message(FATAL_ERROR "extract.cmake: apt-get and dpkg-deb are needed to fetch Debian's emscripten package")
  endif()
  set(download "${CACHE_DIR}/download")
  file(REMOVE_RECURSE "${download}")
  file(MAKE_DIRECTORY "${download}")
  message(STATUS "bench: downloading Debian's emscripten package for dlmalloc.c and emmalloc.c")
  execute_process(COMMAND "${APT_GET}" download -q emscripten
                  WORKING_DIRECTORY "${download}"
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(GLOB debs "${download}/emscripten_*.deb")
  if(NOT status EQUAL 0 OR NOT debs)
    message(FATAL_ERROR "extract.cmake: `apt-get download emscripten` failed (${status}): ${err}")
  endif()
  list(GET debs 0 deb)
  execute_process(COMMAND "${DPKG_DEB}" -f "${deb}" Version
                  OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND "${DPKG_DEB}" --fsys-tarfile "${deb}"
                  COMMAND tar -x -C "${download}"
                          "./${package_dir}/dlmalloc.c" "./${package_dir}/emmalloc.c"
                  RESULTS_VARIABLE statuses)
  foreach(name dlmalloc.c emmalloc.c)
    if(NOT EXISTS "${download}/${package_dir}/${name}")
      message(FATAL_ERROR "extract.cmake: ${deb} has no ${package_dir}/${name} (tar: ${statuses})")
    endif()
    file(COPY "${download}/${package_dir}/${name}" DESTINATION "${pristine}")
  endforeach()
  file(WRITE "${pristine}/VERSION" "${version}\n")
  file(REMOVE_RECURSE "${download}")
endif()

set(out "${OUT_DIR}/bench-peers")
file(MAKE_DIRECTORY "${out}")
file(COPY "${pristine}/VERSION" DESTINATION "${out}")
file(STRINGS "${pristine}/VERSION" version LIMIT_COUNT 1)
file(READ "${pristine}/dlmalloc.c" dlmalloc)
file(WRITE "${out}/dlmalloc.c" "/* Copied unchanged from Debian's emscripten package by bench/peers/extract.cmake. */\n${dlmalloc}")

# --- emmalloc: every patch must match, or the package changed under us.
file(READ "${pristine}/emmalloc.c" emmalloc)

function(patch_exact from to)
  string(FIND "${emmalloc}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "extract.cmake: emmalloc.c no longer contains:\n${from}")
  endif()
  string(REPLACE "${from}" "${to}" emmalloc "${emmalloc}")
  set(emmalloc "${emmalloc}" PARENT_SCOPE)
endfunction()

function(patch_regex pattern to)
  string(REGEX MATCHALL "${pattern}" found "${emmalloc}")
  if(NOT found)
    message(FATAL_ERROR "extract.cmake: emmalloc.c has nothing matching ${pattern}")
  endif()
  string(REGEX REPLACE "${pattern}" "${to}" emmalloc "${emmalloc}")
  set(emmalloc "${emmalloc}" PARENT_SCOPE)
endfunction()

patch_exact("#include <unistd.h>
#include <memory.h>
#include <assert.h>
#include <malloc.h>
#include <emscripten.h>
#include <emscripten/heap.h>
#include <emscripten/threading.h>"
  "/* bench: libc and emscripten headers replaced by bench/allocators/emmalloc.c */")
patch_exact("#define MALLOC_ALIGNMENT alignof(max_align_t)
static_assert(alignof(max_align_t) == 8, \"max_align_t must be correct\");"
  "#define MALLOC_ALIGNMENT BENCH_EMMALLOC_ALIGNMENT /* bench */")
patch_exact("#define EMMALLOC_EXPORT __attribute__((weak, __visibility__(\"default\")))"
  "#define EMMALLOC_EXPORT /* bench: plain definitions, renamed by the includer */")
patch_exact("#define SMALLEST_ALLOCATION_SIZE (2*sizeof(void*))"
  "#define SMALLEST_ALLOCATION_SIZE (sizeof(Region) - REGION_HEADER_SIZE) /* bench: room for the free-list links on 64-bit too */")
patch_exact("__attribute__((constructor(47)))
static void initialize_emmalloc_heap()"
  "static void initialize_emmalloc_heap(void) /* bench: called by bench_allocator_init */")
# Region-block list: pointer slots at word 1 and 2 of the block's head region.
patch_regex("\\(\\(uint32_t\\*\\)([A-Za-z]+)\\)\\[([12])\\]" "((uintptr_t*)\\1)[\\2]")
patch_regex("\\(uint32_t\\)(endPtr|listOfAllRegions|endSentinelRegion)" "(uintptr_t)\\1")

file(WRITE "${out}/emmalloc.c" "/* Patched copy of Debian's emscripten emmalloc.c, written by bench/peers/extract.cmake. */\n${emmalloc}")
message(STATUS "bench: dlmalloc.c and emmalloc.c from emscripten ${version} in ${out}")
