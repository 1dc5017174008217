# Compiles a snippet that must be rejected and checks the compiler's answer (cmake -DCXX=<compiler>
# -DSOURCE=<snippet.cpp> -DINCLUDE=<include dir> -P this file). The snippet's first lines say what
# is expected:
#
#     // expect: <regular expression the error line must match>
#     // max-bytes: <bound on the whole diagnostic output>
#     // std: <language standard, c++20 unless given>
#     // flags: <more compiler options, e.g. -Werror=unused-result>
#     // errors: <how many error lines, 1 unless given: one per mistake the snippet makes>
#     // also: <a regular expression the whole output must match, e.g. the line naming the bucket>
#
# It passes when the compiler fails with exactly that many error lines (": error: "),
# each matching `expect`, and the whole output (errors, notes, instantiation context) is at most
# `max-bytes` long: a mistake is named once, by its cause, in a message a user can read.
cmake_minimum_required(VERSION 3.20)
file(STRINGS ${SOURCE} header LIMIT_COUNT 10)
set(expect "")
set(max_bytes "")
set(std "c++20")
set(flags "")
set(want_errors 1)
set(also "")
foreach(line IN LISTS header)
  if(line MATCHES "^// expect: (.*)$")
    set(expect "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// max-bytes: ([0-9]+)$")
    set(max_bytes "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// std: (.*)$")
    set(std "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// flags: (.*)$")
    separate_arguments(flags UNIX_COMMAND "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// errors: ([0-9]+)$")
    set(want_errors "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// also: (.*)$")
    set(also "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(expect STREQUAL "" OR max_bytes STREQUAL "")
  message(FATAL_ERROR "${SOURCE}: the first lines must give '// expect: REGEX' and '// max-bytes: N'")
endif()
set(ENV{LC_ALL} C)
execute_process(COMMAND ${CXX} -std=${std} -fsyntax-only -fdiagnostics-color=never ${flags} -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
set(output "${out}${err}")
string(LENGTH "${output}" bytes)
string(REPLACE ";" "," lines "${output}")  # (a ';' would split the list of error lines)
string(REGEX MATCHALL "[^\n]*: (fatal )?error: [^\n]*" errors "${lines}")
list(LENGTH errors count)
set(problems "")
if(rc EQUAL 0)
  string(APPEND problems "it compiled; ")
endif()
if(NOT count EQUAL want_errors)
  string(APPEND problems "${count} error lines (want ${want_errors}); ")
endif()
foreach(error IN LISTS errors)
  if(NOT error MATCHES "${expect}")
    string(APPEND problems "'${error}' does not match '${expect}'; ")
  endif()
endforeach()
if(NOT also STREQUAL "" AND NOT lines MATCHES "${also}")
  string(APPEND problems "the output does not match '${also}'; ")
endif()
if(bytes GREATER max_bytes)
  string(APPEND problems "${bytes} bytes of diagnostics (at most ${max_bytes}); ")
endif()
if(NOT problems STREQUAL "")
  message(FATAL_ERROR "${SOURCE}: ${problems}the compiler said:\n${output}")
endif()
message("${SOURCE}: ${count} error(s), ${bytes} bytes: ${errors}")
