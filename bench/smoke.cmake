# The benchmark smoke test (ctest bench_smoke): runs every workload very
# briefly, with full pattern checks, with each bench program of this build,
# and checks the JSON: it parses, has a row per workload, positive
# throughput, no verification failure and no out-of-memory.
#
#   cmake -DEMULATOR=<runner or empty> -DPROGRAMS=|<prog>|<prog>... -DTRACE=<file>
#         -DOUT_DIR=<dir> -P smoke.cmake

string(REPLACE "|" ";" programs "${PROGRAMS}")
list(FILTER programs EXCLUDE REGEX "^$")
if(NOT programs)
  message(FATAL_ERROR "bench smoke: no bench programs were built")
endif()
file(MAKE_DIRECTORY "${OUT_DIR}")
set(expected_rows 7)   # six synthetic workloads + one replay
set(failures 0)

foreach(program ${programs})
  get_filename_component(name "${program}" NAME_WE)
  set(json "${OUT_DIR}/${name}.json")
  file(REMOVE "${json}")
  execute_process(
    COMMAND ${EMULATOR} "${program}" --workload=all "--trace=${TRACE}" --scale=0.02
            --min-time=0 --repetitions=1 --verify=full "--json=${json}"
    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  message(STATUS "${name}:\n${output}${errors}")
  if(NOT status EQUAL 0)
    message(SEND_ERROR "${name}: exited with ${status}")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  if(NOT EXISTS "${json}")
    message(SEND_ERROR "${name}: wrote no JSON to ${json}")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  file(READ "${json}" text)
  string(JSON rows ERROR_VARIABLE json_error LENGTH "${text}" benchmarks)
  if(json_error)
    message(SEND_ERROR "${name}: ${json} does not parse: ${json_error}")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  if(NOT rows EQUAL expected_rows)
    message(SEND_ERROR "${name}: ${rows} result rows, expected ${expected_rows}")
    math(EXPR failures "${failures} + 1")
  endif()
  math(EXPR last "${rows} - 1")
  foreach(index RANGE ${last})
    string(JSON row_name GET "${text}" benchmarks ${index} name)
    foreach(field verify_failures out_of_memory items_per_second)
      string(JSON value ERROR_VARIABLE field_error GET "${text}" benchmarks ${index} ${field})
      if(field_error)
        message(SEND_ERROR "${name}: ${row_name} has no ${field}")
        math(EXPR failures "${failures} + 1")
      elseif(field STREQUAL "items_per_second" AND NOT value GREATER 0)
        message(SEND_ERROR "${name}: ${row_name}: items_per_second is ${value}")
        math(EXPR failures "${failures} + 1")
      elseif(NOT field STREQUAL "items_per_second" AND NOT value EQUAL 0)
        message(SEND_ERROR "${name}: ${row_name}: ${field} is ${value}")
        math(EXPR failures "${failures} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

list(LENGTH programs count)
if(failures GREATER 0)
  message(FATAL_ERROR "bench smoke: ${failures} problem(s) across ${count} programs")
endif()
message(STATUS "bench smoke: ${count} programs x ${expected_rows} workloads verified")
