# ctest bench_tracer: records a short perl run with the LD_PRELOAD interposer,
# joins it into a .lmtrace.gz and checks the validator accepts it with events.
#
#   cmake -DPRELOAD=<lmtrace.so> -DCHECK=<lmtrace_check> -DRECORD=<bench/tracer/record>
#         -DOUT_DIR=<dir> -P tracer_test.cmake
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env "LMTRACE_OUT=${OUT_DIR}/perl" "LD_PRELOAD=${PRELOAD}"
          perl -e "my %h; for my \$i (1..20000) { \$h{\"k\$i\"} = 'x' x (\$i % 50) } my @k = sort keys %h; print scalar(@k), qq(\\n);"
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status EQUAL 0 OR NOT output MATCHES "^20000")
  message(FATAL_ERROR "the traced perl run failed (${status}): ${output}${errors}")
endif()
execute_process(COMMAND "${RECORD}" --join "${OUT_DIR}/perl" "${OUT_DIR}/perl.lmtrace.gz"
                RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "record --join failed: ${errors}")
endif()
execute_process(COMMAND "${CHECK}" "${OUT_DIR}/perl.lmtrace.gz" RESULT_VARIABLE status OUTPUT_VARIABLE output)
message(STATUS "${output}")
if(NOT status EQUAL 0 OR NOT output MATCHES "valid: [0-9][0-9][0-9][0-9]+ events")
  message(FATAL_ERROR "the recorded trace is not valid or nearly empty: ${output}")
endif()
