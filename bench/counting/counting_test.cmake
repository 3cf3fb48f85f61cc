# ctest bench_count: bench/count run on this build's bump allocator, whose
# work can be counted by hand, and its counts checked.
#
#   cmake -DCOUNT=<bench/count> -DPROGRAMS=<this build's bench folder> -DTARGET=<target>
#         -DMEASURES=<instructions,traffic> -DWORD=<pointer bytes> -DOUT_DIR=<dir> -P counting_test.cmake
#
# traffic: in a warm pass the bump allocator never grows, so its malloc
# (allocators/bump.c, sbrk.c) loads heap_start (is sbrk set up?), heap_break
# and memory_end, and stores heap_break, the block's size header and
# newest_block: 3 loads and 3 stores of one word each, whatever the size. Its
# free does nothing: no load, no store. So per malloc exactly 3 loads of WORD
# bytes and 3 stores of WORD bytes (4 on wasm32, 8 on wasm64 and natively),
# per free none.
#
# instructions: bench/count already fails when its count of calls differs
# from the harness's. In a warm pass every bump malloc takes the same path
# whatever the size, and so does every free: the same number of
# instructions per call on two different workloads, a whole number; on wasm
# none in free (an empty function), natively its return.

file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
set(json "${OUT_DIR}/counts.json")
execute_process(
  COMMAND "${COUNT}" "--programs=${PROGRAMS}" --targets=${TARGET} --measures=${MEASURES} --allocators=bump
          --workloads=lifo_small,tree_list --traces=none --scale=0.02 --jobs=1 "--json=${json}"
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
message(STATUS "${output}${errors}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "bench/count failed (${status})")
endif()
file(READ "${json}" text)
string(JSON count LENGTH "${text}" counts)

# value(<index> <kind> <field> <variable>): a count's field of one kind, 0 if
# that kind made no call; a whole number.
function(value index kind field variable)
  string(JSON found ERROR_VARIABLE missing GET "${text}" counts ${index} kinds ${kind} ${field})
  if(missing)
    set(found 0)
  endif()
  if(found MATCHES "^([0-9]+)(\\.0*)?$")
    set(${variable} ${CMAKE_MATCH_1} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "count ${index}: ${kind} ${field} is '${found}', not a whole number")
  endif()
endfunction()

function(expect what actual expected)
  if(NOT actual EQUAL expected)
    message(SEND_ERROR "${what}: ${actual}, expected ${expected}")
  else()
    message(STATUS "${what}: ${actual}")
  endif()
endfunction()

set(per_call_seen "")
set(checked "")
math(EXPR last "${count} - 1")
foreach(index RANGE ${last})
  string(JSON measure GET "${text}" counts ${index} measure)
  string(JSON bench GET "${text}" counts ${index} bench)
  value(${index} malloc calls mallocs)
  if(mallocs LESS 100)
    message(FATAL_ERROR "${bench}: only ${mallocs} mallocs")
  endif()
  list(APPEND checked ${measure})
  if(measure STREQUAL "traffic")
    math(EXPR accesses "3 * ${mallocs}")
    math(EXPR bytes "3 * ${WORD} * ${mallocs}")
    foreach(check malloc:loads:${accesses} malloc:loadBytes:${bytes} malloc:stores:${accesses}
                  malloc:storeBytes:${bytes} free:loads:0 free:loadBytes:0 free:stores:0 free:storeBytes:0)
      string(REPLACE ":" ";" check "${check}")
      list(GET check 0 kind)
      list(GET check 1 field)
      list(GET check 2 expected)
      value(${index} ${kind} ${field} actual)
      expect("${bench}: bump ${kind} ${field} over ${mallocs} mallocs" ${actual} ${expected})
    endforeach()
  else()
    foreach(kind malloc free)
      value(${index} ${kind} calls calls)
      value(${index} ${kind} instructions instructions)
      math(EXPR remainder "${instructions} % ${calls}")
      math(EXPR each "${instructions} / ${calls}")
      expect("${bench}: instructions left over by ${calls} ${kind} calls of ${each}" ${remainder} 0)
      list(APPEND per_call_seen ${kind}:${bench}:${each})
      if(kind STREQUAL "malloc")
        set(malloc_each ${each})
      else()
        set(free_each ${each})
      endif()
    endforeach()
    if("${TARGET}" STREQUAL "native")
      if(free_each LESS 1 OR NOT free_each LESS malloc_each)
        message(SEND_ERROR "${bench}: ${free_each} instructions per free, ${malloc_each} per malloc")
      endif()
    else()
      expect("${bench}: instructions in bump's free" ${free_each} 0)
    endif()
  endif()
endforeach()

# The same per call on both workloads.
foreach(kind malloc free)
  set(values ${per_call_seen})
  list(FILTER values INCLUDE REGEX "^${kind}:")
  list(TRANSFORM values REPLACE "^.*:" "")
  list(REMOVE_DUPLICATES values)
  list(LENGTH values distinct)
  if(distinct GREATER 1)
    message(SEND_ERROR "instructions per ${kind} differ between workloads: ${values}")
  endif()
endforeach()

string(REPLACE "," ";" wanted "${MEASURES}")
foreach(measure ${wanted})
  list(FIND checked ${measure} found)
  if(found EQUAL -1)
    message(SEND_ERROR "bench/count counted no ${measure}")
  endif()
endforeach()
