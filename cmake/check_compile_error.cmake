# Compiles a snippet that must be rejected and checks the compiler's answer (cmake -DCXX=<compiler>
# -DSOURCE=<snippet.cpp> -DINCLUDE=<include dir> -P this file). The snippet's first lines say what
# is expected:
#
#     // expect: <regular expression the error line must match>
#     // max-bytes: <bound on the whole diagnostic output>
#     // std: <language standard, c++20 unless given>
#
# It passes when the compiler fails with exactly one error line (one with "error:"), that line
# matches `expect`, and the whole output (errors, notes, instantiation context) is at most
# `max-bytes` long: a mistake is named once, by its cause, in a message a user can read.
cmake_minimum_required(VERSION 3.20)
file(STRINGS ${SOURCE} header LIMIT_COUNT 8)
set(expect "")
set(max_bytes "")
set(std "c++20")
foreach(line IN LISTS header)
  if(line MATCHES "^// expect: (.*)$")
    set(expect "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// max-bytes: ([0-9]+)$")
    set(max_bytes "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// std: (.*)$")
    set(std "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(expect STREQUAL "" OR max_bytes STREQUAL "")
  message(FATAL_ERROR "${SOURCE}: the first lines must give '// expect: REGEX' and '// max-bytes: N'")
endif()
set(ENV{LC_ALL} C)
execute_process(COMMAND ${CXX} -std=${std} -fsyntax-only -fdiagnostics-color=never -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
set(output "${out}${err}")
string(LENGTH "${output}" bytes)
string(REPLACE ";" "," lines "${output}")  # (a ';' would split the list of error lines)
string(REGEX MATCHALL "[^\n]*error:[^\n]*" errors "${lines}")
list(LENGTH errors count)
set(problems "")
if(rc EQUAL 0)
  string(APPEND problems "it compiled; ")
endif()
if(NOT count EQUAL 1)
  string(APPEND problems "${count} error lines (want 1); ")
elseif(NOT errors MATCHES "${expect}")
  string(APPEND problems "the error does not match '${expect}'; ")
endif()
if(bytes GREATER max_bytes)
  string(APPEND problems "${bytes} bytes of diagnostics (at most ${max_bytes}); ")
endif()
if(NOT problems STREQUAL "")
  message(FATAL_ERROR "${SOURCE}: ${problems}the compiler said:\n${output}")
endif()
message("${SOURCE}: one error, ${bytes} bytes: ${errors}")
