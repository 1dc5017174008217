# Checks the command line of every script in scripts/ (cmake -DVMH_SOURCE_DIR=<repo> -P this file):
# `--help` exits 0 with a usage text on stdout, nothing on stderr, within a few seconds (so it
# starts no work); an unknown option exits 2 with exactly one line on stderr. Scripts listed in
# VMH_SCRIPTS_UNCHECKED are skipped (each with the reason), every other *.sh is checked.
cmake_minimum_required(VERSION 3.20)
set(VMH_SCRIPTS_UNCHECKED)
file(GLOB scripts RELATIVE ${VMH_SOURCE_DIR}/scripts ${VMH_SOURCE_DIR}/scripts/*.sh)
list(REMOVE_ITEM scripts common.sh)
set(failed 0)
set(checked 0)
foreach(script ${scripts})
  if(script IN_LIST VMH_SCRIPTS_UNCHECKED)
    message("skipped: ${script} (see VMH_SCRIPTS_UNCHECKED)")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  set(path ${VMH_SOURCE_DIR}/scripts/${script})
  execute_process(COMMAND bash ${path} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 10)
  if(NOT rc EQUAL 0 OR out STREQUAL "" OR NOT err STREQUAL "")
    message("check failed: ${script} --help: exit ${rc}, stdout '${out}', stderr '${err}'")
    math(EXPR failed "${failed} + 1")
  endif()
  execute_process(COMMAND bash ${path} --no-such-option RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 10)
  string(REGEX MATCHALL "\n" newlines "${err}")
  list(LENGTH newlines lines)
  if(NOT rc EQUAL 2 OR NOT lines EQUAL 1 OR NOT out STREQUAL "" OR NOT err MATCHES "no-such-option")
    message("check failed: ${script} --no-such-option: exit ${rc} (want 2), ${lines} lines on stderr "
            "(want 1, naming the option): '${err}'")
    math(EXPR failed "${failed} + 1")
  endif()
endforeach()
message("scripts: ${checked} checked, ${failed} failed")
if(NOT failed EQUAL 0 OR checked EQUAL 0)
  message(FATAL_ERROR "script command-line check failed")
endif()
