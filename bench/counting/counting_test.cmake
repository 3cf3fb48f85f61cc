# ctest bench_count_traffic / bench_count_instructions: bench/count's methods
# checked on the bump allocator, whose work can be counted by hand.
#
#   cmake -DMODE=traffic -DPROGRAM=<bench_traffic_bump> -DWORD=<pointer bytes>
#         [-DEMULATOR=<runner>] -DOUT_DIR=<dir> -P counting_test.cmake
#   cmake -DMODE=instructions -DPROGRAM=<bench_instructions_bump.wasm> -DNODE=<toolchain/node>
#         -DINSTRUMENT=<instrument_wasm.js> -DEMULATOR=<runner> -DOUT_DIR=<dir> -P counting_test.cmake
#
# traffic: in a warm pass the bump allocator never grows, so its malloc
# (allocators/bump.c, sbrk.c) loads heap_start (is sbrk set up?), heap_break
# and memory_end, and stores heap_break, the block's size header and
# newest_block: 3 loads and 3 stores of one word each, whatever the size. Its
# free does nothing: no load, no store. So per malloc exactly 3 loads of WORD
# bytes and 3 stores of WORD bytes (4 on wasm32, 8 on wasm64 and natively),
# per free none, on lifo_small (mallocs and frees only).
#
# instructions: the rewritten module must count every call the harness made,
# no instruction for bump's free (an empty function), the same number for
# every malloc (one path, whatever the size) on two different workloads, and
# more instructions in the whole pass than in the allocator.

file(MAKE_DIRECTORY "${OUT_DIR}")

# run(<workload> <json>): runs PROGRAM (or the rewritten module) briefly.
function(run workload json)
  execute_process(
    COMMAND ${EMULATOR} "${program}" --workload=${workload} --scale=0.02 --repetitions=1 --min-time=0
            "--json=${json}"
    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} --workload=${workload} failed (${status}):\n${output}${errors}")
  endif()
endfunction()

# counter(<json> <name> <variable>): the named counter of the measured pass.
function(counter json name variable)
  file(READ "${json}" text)
  string(JSON rows LENGTH "${text}" benchmarks)
  math(EXPR last "${rows} - 1")
  string(JSON value ERROR_VARIABLE error GET "${text}" benchmarks ${last} ${name})
  if(error)
    message(FATAL_ERROR "${json}: no counter ${name}")
  endif()
  # google-benchmark writes counters as doubles, which string(JSON) gives
  # back as 11430.0 (or 2.9502e+04): whole numbers here, written out.
  if(value MATCHES "^([0-9]+)\\.0*$")
    set(value "${CMAKE_MATCH_1}")
  elseif(value MATCHES "^([0-9]+)\\.([0-9]+)e\\+([0-9]+)$")
    set(digits "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
    math(EXPR length "${CMAKE_MATCH_3} + 1")
    string(SUBSTRING "${digits}00000000000000000000" 0 ${length} value)
  endif()
  math(EXPR value "${value}" OUTPUT_FORMAT DECIMAL)
  set(${variable} ${value} PARENT_SCOPE)
endfunction()

function(expect what actual expected)
  if(NOT actual EQUAL expected)
    message(SEND_ERROR "${what}: ${actual}, expected ${expected}")
  else()
    message(STATUS "${what}: ${actual}")
  endif()
endfunction()

if(MODE STREQUAL "traffic")
  set(program "${PROGRAM}")
  run(lifo_small "${OUT_DIR}/traffic.json")
  counter("${OUT_DIR}/traffic.json" malloc_calls mallocs)
  counter("${OUT_DIR}/traffic.json" free_calls frees)
  if(mallocs LESS 100 OR NOT frees EQUAL mallocs)
    message(FATAL_ERROR "lifo_small made ${mallocs} mallocs and ${frees} frees")
  endif()
  math(EXPR accesses "3 * ${mallocs}")
  math(EXPR access_bytes "3 * ${WORD} * ${mallocs}")
  foreach(check loads_malloc:${accesses} load_bytes_malloc:${access_bytes} stores_malloc:${accesses}
                store_bytes_malloc:${access_bytes} loads_free:0 load_bytes_free:0 stores_free:0 store_bytes_free:0)
    string(REPLACE ":" ";" check "${check}")
    list(GET check 0 name)
    list(GET check 1 expected)
    counter("${OUT_DIR}/traffic.json" ${name} actual)
    expect("bump ${name} over ${mallocs} mallocs" ${actual} ${expected})
  endforeach()
elseif(MODE STREQUAL "instructions")
  set(program "${OUT_DIR}/bench_instructions_bump.counted.wasm")
  execute_process(COMMAND "${NODE}" "${INSTRUMENT}" "${PROGRAM}" "${program}"
                  RESULT_VARIABLE status ERROR_VARIABLE errors)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "instrument_wasm.js failed (${status}): ${errors}")
  endif()
  set(per_malloc "")
  foreach(workload lifo_small tree_list)
    set(json "${OUT_DIR}/instructions-${workload}.json")
    run(${workload} "${json}")
    foreach(kind malloc calloc memalign realloc free)
      counter("${json}" ${kind}_calls calls)
      counter("${json}" instruction_calls_${kind} counted)
      expect("${workload}: ${kind} calls counted" ${counted} ${calls})
    endforeach()
    counter("${json}" instructions_free free_instructions)
    expect("${workload}: instructions in bump's free" ${free_instructions} 0)
    counter("${json}" malloc_calls mallocs)
    counter("${json}" instructions_malloc malloc_instructions)
    counter("${json}" instructions_pass pass_instructions)
    math(EXPR remainder "${malloc_instructions} % ${mallocs}")
    math(EXPR each "${malloc_instructions} / ${mallocs}")
    expect("${workload}: instructions left over by ${mallocs} mallocs of ${each}" ${remainder} 0)
    list(APPEND per_malloc ${each})
    if(NOT pass_instructions GREATER malloc_instructions OR each LESS 10)
      message(SEND_ERROR "${workload}: ${pass_instructions} instructions in the pass, ${each} per malloc")
    endif()
  endforeach()
  list(GET per_malloc 0 first)
  list(GET per_malloc 1 second)
  expect("instructions per malloc on tree_list as on lifo_small" ${second} ${first})
else()
  message(FATAL_ERROR "MODE must be traffic or instructions")
endif()
