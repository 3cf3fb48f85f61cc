# The thread benchmarks' smoke test (ctest bench_threads_smoke): every
# bench_threads_<allocator> of this build runs each workload at 2 threads,
# briefly, and its JSON must parse with positive throughput and footprint
# and no verification failure.
#
#   cmake -DEMULATOR=<runner or empty> -DPROGRAMS=|<prog>|<prog>... -DOUT_DIR=<dir> -P smoke.cmake

string(REPLACE "|" ";" programs "${PROGRAMS}")
list(FILTER programs EXCLUDE REGEX "^$")
if(NOT programs)
  message(FATAL_ERROR "bench threads smoke: no thread benchmark programs were built")
endif()
file(MAKE_DIRECTORY "${OUT_DIR}")
foreach(program ${programs})
  get_filename_component(name "${program}" NAME_WE)
  foreach(workload churn larson prodcons)
    set(json "${OUT_DIR}/${name}-${workload}.json")
    file(REMOVE "${json}")
    execute_process(
      COMMAND ${EMULATOR} "${program}" --workload=${workload} --threads=2 --scale=0.05
              --min-time=0 --repetitions=1 "--json=${json}"
      RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
    message(STATUS "${output}${errors}")
    if(NOT status EQUAL 0 OR NOT EXISTS "${json}")
      message(SEND_ERROR "${name} ${workload}: exited with ${status}, JSON written: ${json}")
      continue()
    endif()
    file(READ "${json}" text)
    foreach(field ops_per_s footprint_bytes verify_failures threads)
      string(JSON ${field} ERROR_VARIABLE json_error GET "${text}" ${field})
      if(json_error)
        message(SEND_ERROR "${name} ${workload}: ${json}: ${json_error}")
      endif()
    endforeach()
    if(NOT ops_per_s GREATER 0 OR NOT footprint_bytes GREATER 0 OR NOT verify_failures EQUAL 0 OR NOT threads EQUAL 2)
      message(SEND_ERROR "${name} ${workload}: ops_per_s ${ops_per_s}, footprint ${footprint_bytes}, "
                         "verify failures ${verify_failures}, threads ${threads}")
    endif()
  endforeach()
endforeach()
