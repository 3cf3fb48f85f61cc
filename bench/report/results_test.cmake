# ctest bench_results: bench/results on the hand-made report in
# bench/report/fixture/ (three targets, one workload and one trace, counts and
# code size): the README block is rewritten, and only it, as a well-formed
# table with the fixture's figures; RESULTS.md gets the report's tables, dated,
# and keeps what follows its block; a second run changes nothing; a partial
# report leaves both files alone; a README without the markers is refused.
#
#   cmake -DNODE=<toolchain/node> -DRESULTS=<bench/results> -DFIXTURE=<bench/report/fixture>
#         -DOUT_DIR=<dir> -P results_test.cmake

file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
set(readme "${OUT_DIR}/README.md")
set(results "${OUT_DIR}/RESULTS.md")
file(WRITE "${readme}" "# before\n\n<!-- results:begin -->\nstale figures\n<!-- results:end -->\n\n## after\n")
file(WRITE "${results}" "# results\n\n<!-- results:begin -->\n<!-- results:end -->\n\n## Earlier rounds\n\nkept text\n")

function(run_results report out_var)
  execute_process(COMMAND "${NODE}" "${RESULTS}" "--report=${report}" "--readme=${readme}" "--results=${results}"
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  set(${out_var} "${status}|${output}${errors}" PARENT_SCOPE)
endfunction()

function(expect text pattern what)
  string(FIND "${text}" "${pattern}" at)
  if(at EQUAL -1)
    message(SEND_ERROR "${what}: no '${pattern}' in:\n${text}")
  endif()
endfunction()

function(expect_count text pattern count what)
  string(REGEX MATCHALL "${pattern}" found "${text}")
  list(LENGTH found n)
  if(NOT n EQUAL count)
    message(SEND_ERROR "${what}: '${pattern}' found ${n} times, expected ${count}")
  endif()
endfunction()

# The first run rewrites both files.
run_results("${FIXTURE}" outcome)
if(NOT outcome MATCHES "^0\\|")
  message(FATAL_ERROR "bench/results failed: ${outcome}")
endif()
file(READ "${readme}" text)
expect_count("${text}" "<!-- results:begin -->" 1 "README")
expect_count("${text}" "<!-- results:end -->" 1 "README")
expect("${text}" "# before\n\n<!-- results:begin -->\n" "README: what comes before the block")
expect("${text}" "<!-- results:end -->\n\n## after\n" "README: what comes after the block")
if(text MATCHES "stale figures")
  message(SEND_ERROR "README: the old block is still there")
endif()
expect("${text}" "2026-01-02T03:04:05Z" "README: the report's date")
expect("${text}" "Fixture CPU, 2 cores" "README: the report's machine")
expect("${text}" "[bench/RESULTS.md](bench/RESULTS.md)" "README: the link to the full tables")
expect("${text}" "| | wasm32 | wasm64 | native |\n|---|---:|---:|---:|\n" "README: the table's head")
expect("${text}" "| throughput, geomean × dlmalloc | 1.50× | 1.50× | 1.50× (0.75× mimalloc) |" "README: throughput")
expect("${text}" "| footprint ÷ peak live, traces' geomean (dlmalloc's) | 1.10 (1.21) | 1.10 (1.32) | 1.10 (1.21) |" "README: footprint")
expect("${text}" "| allocator instructions per call, geomean × dlmalloc's | 0.50× | 0.50× | 0.50× (2.00× mimalloc) |" "README: instructions")
expect("${text}" "|  | 1.00 (2.00) |  |" "README: wasm64 ÷ wasm32 traffic")
expect("${text}" "| 9,000 (12,000) | 9,500 (12,700) |  |" "README: code size")
expect("${text}" "| misuse checks on ÷ compiled out, throughput geomean | 0.95× | 0.90× | 1.00× |" "README: checks")
# Well-formed: every table line in the block has the head's four columns.
string(REGEX MATCH "<!-- results:begin -->.*<!-- results:end -->" block "${text}")
string(REPLACE "\n" ";" lines "${block}")
set(table_lines 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^\\|")
    math(EXPR table_lines "${table_lines} + 1")
    string(REGEX MATCHALL "\\|" bars "${line}")
    list(LENGTH bars n)
    if(NOT n EQUAL 5)
      message(SEND_ERROR "README: table line with ${n} bars, not 5: ${line}")
    endif()
  endif()
endforeach()
if(table_lines LESS 7)
  message(SEND_ERROR "README: the results table has ${table_lines} lines")
endif()

file(READ "${results}" text)
expect_count("${text}" "<!-- results:begin -->" 1 "RESULTS.md")
expect("${text}" "## Latest report: 2026-01-02T03:04:05Z" "RESULTS.md: the dated heading")
expect("${text}" "\n### wasm32\n" "RESULTS.md: the report's sections, one level down")
expect("${text}" "| random_small | 30.0 (1.50×) | 20.0 (1.00×) |" "RESULTS.md: the report's tables")
expect("${text}" "<!-- results:end -->\n\n## Earlier rounds\n\nkept text\n" "RESULTS.md: what follows the block")
if(text MATCHES "## Charts|## Files|charts/")
  message(SEND_ERROR "RESULTS.md: the report's charts or files, which point into report/")
endif()

# A second run finds nothing to change.
file(READ "${readme}" readme_before)
run_results("${FIXTURE}" outcome)
file(READ "${readme}" readme_after)
if(NOT outcome MATCHES "^0\\|.*already show" OR NOT readme_before STREQUAL readme_after)
  message(SEND_ERROR "a second run changed something: ${outcome}")
endif()

# A report without native (a run with --targets) leaves both files alone.
file(COPY "${FIXTURE}/" DESTINATION "${OUT_DIR}/partial")
file(REMOVE "${OUT_DIR}/partial/raw/native.json")
run_results("${OUT_DIR}/partial" outcome)
file(READ "${readme}" readme_after)
if(NOT outcome MATCHES "^0\\|.*left as they are" OR NOT readme_before STREQUAL readme_after)
  message(SEND_ERROR "a partial report changed README.md: ${outcome}")
endif()

# No markers: refused, nothing written.
file(WRITE "${readme}" "# no block here\n")
run_results("${FIXTURE}" outcome)
file(READ "${readme}" text)
if(outcome MATCHES "^0\\|" OR NOT text STREQUAL "# no block here\n")
  message(SEND_ERROR "a README without the markers was not refused: ${outcome}")
endif()
