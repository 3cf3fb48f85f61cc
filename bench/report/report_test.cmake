# ctest bench_report: a small report from this target's benchmark programs,
# read back the way a user reads it: summary.md has the target's tables,
# benchres.csv has one line of eight fields per result, and google-benchmark's
# compare.py compares two allocators from raw/<target>.json, as
# bench/README.md shows.
#
#   cmake -DEMULATOR=<runner or empty> -DPROGRAMS=<prog>|<prog> -DTARGET=<target>
#         -DNODE=<toolchain/node> -DREPORT=<report.mjs> -DROOT=<repository>
#         -DPYTHON=<python3> -DCOMPARE=<compare.py> -DOUT_DIR=<dir> -P report_test.cmake

string(REPLACE "|" ";" programs "${PROGRAMS}")
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}/raw/logs")
file(WRITE "${OUT_DIR}/raw/run.json"
     "{\"mode\": \"test\", \"seed\": 42, \"min_time\": 0, \"repetitions\": 3, \"scale\": 0.02, "
     "\"targets\": \"${TARGET}\", \"wasm_engine\": \"node\", \"date\": \"\", \"command\": \"ctest bench_report\"}\n")

set(allocators "")
foreach(program ${programs})
  get_filename_component(name "${program}" NAME_WE)
  string(REGEX REPLACE "^bench_" "" allocator "${name}")
  list(APPEND allocators ${allocator})
  file(MAKE_DIRECTORY "${OUT_DIR}/raw/${TARGET}/${allocator}")
  execute_process(
    COMMAND ${EMULATOR} "${program}" --workload=tree_list --scale=0.02 --repetitions=3 --min-time=0
            "--json=${OUT_DIR}/raw/${TARGET}/${allocator}/tree_list.json"
    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${name} failed (${status}): ${output}${errors}")
  endif()
endforeach()

execute_process(COMMAND "${NODE}" "${REPORT}" "${OUT_DIR}" "${ROOT}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "report.mjs failed (${status}): ${output}${errors}")
endif()

file(READ "${OUT_DIR}/summary.md" summary)
if(NOT summary MATCHES "\n## ${TARGET}\n" OR NOT summary MATCHES "\\| tree_list \\|")
  message(SEND_ERROR "summary.md has no ${TARGET} table with tree_list")
endif()

file(STRINGS "${OUT_DIR}/benchres.csv" lines)
list(GET lines 0 header)
if(NOT header STREQUAL "# benchmark allocator elapsed rss user sys page-faults page-reclaims")
  message(SEND_ERROR "benchres.csv starts with '${header}'")
endif()
list(LENGTH lines count)
list(LENGTH programs expected)
math(EXPR expected "${expected} + 1")
if(NOT count EQUAL expected)
  message(SEND_ERROR "benchres.csv has ${count} lines, expected ${expected}")
endif()
list(SUBLIST lines 1 -1 rows)
foreach(row ${rows})
  if(NOT row MATCHES "^${TARGET}/tree_list [a-z_]+ [0-9]+\\.[0-9]+ [0-9]+ [0-9]+\\.[0-9]+ 0 0 0$")
    message(SEND_ERROR "benchres.csv line '${row}' is not: benchmark allocator elapsed rss user sys faults reclaims")
  endif()
endforeach()

if(NOT EXISTS "${COMPARE}")
  message(FATAL_ERROR "no ${COMPARE}: install libbenchmark-tools and python3-scipy (toolchain/setup.sh)")
endif()
list(GET allocators 0 first)
list(GET allocators 1 second)
execute_process(
  COMMAND "${PYTHON}" "${COMPARE}" filters "${OUT_DIR}/raw/${TARGET}.json" "tree_list/${first}" "tree_list/${second}"
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
message(STATUS "compare.py:\n${output}${errors}")
if(NOT status EQUAL 0 OR NOT output MATCHES "tree_list/${first}")
  message(SEND_ERROR "compare.py could not compare tree_list/${first} with tree_list/${second} (${status})")
endif()
