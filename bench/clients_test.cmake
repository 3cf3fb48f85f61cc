# ctest bench_clients_rust: bench/clients runs the Rust example on lmalloc and
# on Rust's own allocator (briefly), and a report made from what it wrote has
# the "Real clients" table with both, lmalloc's row with ratios to the
# baseline's.
#
#   cmake -DNODE=<toolchain/node> -DCLIENTS=<bench/clients> -DREPORT=<report.mjs>
#         -DROOT=<repository> -DLMALLOC=<rust_sum_bytes.wasm> -DSTD=<rust_sum_bytes_std.wasm>
#         -DOUT_DIR=<dir> -P clients_test.cmake

file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}/raw/logs")
file(WRITE "${OUT_DIR}/raw/run.json"
     "{\"mode\": \"test\", \"seed\": 42, \"min_time\": 0, \"repetitions\": 1, \"scale\": 1, "
     "\"targets\": \"wasm32\", \"wasm_engine\": \"node\", \"date\": \"\", \"command\": \"ctest bench_clients_rust\"}\n")

execute_process(COMMAND "${NODE}" "${CLIENTS}" "--out=${OUT_DIR}/raw/clients.json" --runs=1 --cycles=5000
                        "--rust-lmalloc=${LMALLOC}" "--rust-std=${STD}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "bench/clients failed (${status}): ${output}${errors}")
endif()
message(STATUS "${output}")

execute_process(COMMAND "${NODE}" "${REPORT}" "${OUT_DIR}" "${ROOT}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "report.mjs failed (${status}): ${output}${errors}")
endif()

file(READ "${OUT_DIR}/summary.md" summary)
if(NOT summary MATCHES "\n## Real clients\n")
  message(SEND_ERROR "summary.md has no Real clients table")
endif()
if(NOT summary MATCHES "\\| rust-sum-bytes \\| wasm32 \\| node [0-9]+ \\| lmalloc \\| [0-9.]+ ms \\([0-9.]+×\\) \\| [0-9.]+ MiB \\([0-9.]+×\\) \\| [0-9]+ \\|")
  message(SEND_ERROR "summary.md has no lmalloc row, with ratios, for rust-sum-bytes")
endif()
if(NOT summary MATCHES "\\| rust-sum-bytes \\| wasm32 \\| node [0-9]+ \\| Rust std \\(dlmalloc\\) \\(toolchain\\) \\|")
  message(SEND_ERROR "summary.md has no baseline row for rust-sum-bytes")
endif()
