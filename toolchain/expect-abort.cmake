# Runs a program that must stop on a misuse: the test passes only if it exits
# non-zero (or dies by a signal, as abort() does) AND its output matches a regex.
#   cmake -DEXPECT_FILE=<file setting EXPECT_REGEX> -P expect-abort.cmake <command...>
# Registered by lm_add_test(... EXPECT_ABORT <regex>).
if(NOT DEFINED EXPECT_FILE)
  message(FATAL_ERROR "expect-abort.cmake: pass -DEXPECT_FILE=<file>")
endif()
include("${EXPECT_FILE}")

# The command is everything after "-P <this script>".
set(command "")
set(command_start 0)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(index RANGE 1 ${last})
  if(command_start EQUAL 0 AND CMAKE_ARGV${index} STREQUAL "-P")
    math(EXPR command_start "${index} + 2")
  elseif(command_start GREATER 0 AND index GREATER_EQUAL command_start)
    list(APPEND command "${CMAKE_ARGV${index}}")
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "expect-abort.cmake: no command to run")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(result STREQUAL "0")
  message(FATAL_ERROR "expected the program to stop with a non-zero status, but it exited 0")
endif()
if(NOT output MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "the program stopped (${result}) but its output does not match: ${EXPECT_REGEX}")
endif()
message("stopped as expected (${result}); output matches: ${EXPECT_REGEX}")
