# Checks the build-time part of CONFIG_VMH_HEAP without Zephyr (cmake -DVMH_SOURCE_DIR=<repo>
# -DVMH_WORK_DIR=<scratch> -P this file): zephyr/CMakeLists.txt runs with stand-ins of Zephyr's
# CMake functions and a set of Kconfig values, each in a child cmake process. A good set must
# register the heap's library, its source and its linker snippet, and generate the window's
# section (and the layout file's table); each bad value must stop the configuration with one
# "vmh heap:" message naming the option. Prints a closing "N passed, N failed" line.
#
# The C++ side of the checks (a layout larger than its window) needs a compiler and Zephyr's
# headers: scripts/zephyr-check.sh builds such a configuration and expects its message.
cmake_minimum_required(VERSION 3.20)

if(DEFINED VMH_CHILD)
  # One configuration: stand-ins record what the module asks of Zephyr's build.
  function(zephyr_include_directories)
  endfunction()
  function(zephyr_interface_library_named name)
  endfunction()
  function(target_include_directories)
  endfunction()
  function(zephyr_library_named name)
    message("library: ${name}")
  endfunction()
  function(zephyr_library_sources)
    message("sources: ${ARGN}")
  endfunction()
  function(zephyr_library_include_directories)
  endfunction()
  function(zephyr_library_compile_definitions)
    message("definitions: ${ARGN}")
  endfunction()
  function(zephyr_linker_sources where file)
    message("linker: ${where} ${file}")
    file(READ ${file} snippet)
    message("snippet: ${snippet}")
  endfunction()
  set(CMAKE_CURRENT_BINARY_DIR ${VMH_WORK_DIR}/${VMH_CHILD})
  set(APPLICATION_SOURCE_DIR ${VMH_WORK_DIR})
  include(${VMH_SOURCE_DIR}/zephyr/CMakeLists.txt)
  file(GLOB headers ${CMAKE_CURRENT_BINARY_DIR}/vmh_heap/*.h)
  foreach(h ${headers})
    file(READ ${h} text)
    message("header: ${text}")
  endforeach()
  return()
endif()

set(passed 0)
set(failed 0)
file(REMOVE_RECURSE ${VMH_WORK_DIR})
file(MAKE_DIRECTORY ${VMH_WORK_DIR})
file(WRITE ${VMH_WORK_DIR}/good.layout "# a plan\n64 16\n\n512 8   # comment\n4K 2\n")
file(WRITE ${VMH_WORK_DIR}/bad.layout "64 16\n512 eight\n")

# vmh_case(NAME EXPECT_OK PATTERN [CONFIG_X=value...]): runs one configuration; it must succeed
# (EXPECT_OK true) and print PATTERN, or fail with exactly one "vmh heap:" message matching it.
set(defaults CONFIG_VMH=y CONFIG_VMH_HEAP=y CONFIG_VMH_HEAP_PAGE_SIZE=4096 CONFIG_VMH_HEAP_LINE_SIZE=64
             CONFIG_VMH_HEAP_PHYSICAL_SIZE=16384 CONFIG_VMH_HEAP_VIRTUAL_SIZE=0 CONFIG_VMH_HEAP_WINDOW_ADDRESS=0x0
             CONFIG_VMH_HEAP_LAYOUT_FILE=)
function(vmh_case name expect_ok pattern)
  set(values ${defaults})
  foreach(v ${ARGN})  # later values win
    string(REGEX REPLACE "=.*" "" key "${v}")
    list(FILTER values EXCLUDE REGEX "^${key}=")
    list(APPEND values ${v})
  endforeach()
  set(args "")
  foreach(v ${values})
    list(APPEND args "-D${v}")
  endforeach()
  execute_process(COMMAND ${CMAKE_COMMAND} -DVMH_CHILD=${name} -DVMH_SOURCE_DIR=${VMH_SOURCE_DIR}
                          -DVMH_WORK_DIR=${VMH_WORK_DIR} ${args} -P ${CMAKE_CURRENT_LIST_FILE}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \n]+" " " flat "${err}")  # CMake wraps long messages
  string(REGEX MATCHALL "vmh heap:" messages "${err}")
  list(LENGTH messages n)
  if(expect_ok AND rc EQUAL 0 AND flat MATCHES "${pattern}")
    math(EXPR passed "${passed} + 1")
  elseif(NOT expect_ok AND NOT rc EQUAL 0 AND n EQUAL 1 AND flat MATCHES "${pattern}")
    math(EXPR passed "${passed} + 1")
  else()
    math(EXPR failed "${failed} + 1")
    message("check failed: ${name}: exit ${rc}, want '${pattern}', got: ${flat}")
  endif()
  set(passed ${passed} PARENT_SCOPE)
  set(failed ${failed} PARENT_SCOPE)
endfunction()

# Good configurations.
vmh_case(auto TRUE "library: vmh_heap.*sources: .*/zephyr/src/heap.cpp.*linker: RAM_SECTIONS .*vmh_heap_window.ld")
vmh_case(section TRUE "SECTION_PROLOGUE\\(vmh_heap_window, \\(NOLOAD\\),\\).*ALIGN\\(4096\\).*KEEP\\(\\*\\(.vmh_heap_window\\)\\).*GROUP_NOLOAD_LINK_IN")
vmh_case(address TRUE "SECTION_PROLOGUE\\(vmh_heap_window, 0x40000000 \\(NOLOAD\\),\\)" CONFIG_VMH_HEAP_WINDOW_ADDRESS=0x40000000)
vmh_case(layout TRUE "definitions: VMH_HEAP_HAS_LAYOUT_FILE.*vmh_heap_buckets\\[\\] = {{64u, 16u}, {512u, 8u}, {4096u, 2u}}"
         CONFIG_VMH_HEAP_LAYOUT_FILE=good.layout)
vmh_case(mm_drv_window TRUE "library: vmh_heap" CONFIG_MM_DRV=y CONFIG_VMH_HEAP_VIRTUAL_SIZE=1048576)
vmh_case(no_heap TRUE "^$" CONFIG_VMH_HEAP=)
vmh_case(trace TRUE "sources: .*/zephyr/src/heap.cpp" CONFIG_VMH_HEAP_TRACE=y CONFIG_VMH_HEAP_TRACE_BYTES=4096)
vmh_case(trace_shell TRUE "sources: .*/zephyr/src/heap.cpp.*sources: .*/zephyr/src/heap_shell.c" CONFIG_VMH_HEAP_TRACE=y
         CONFIG_VMH_HEAP_TRACE_BYTES=4096 CONFIG_SHELL=y)

# Bad values: one message each, naming the option.
vmh_case(page FALSE "CONFIG_VMH_HEAP_PAGE_SIZE=3000 is not a power of two" CONFIG_VMH_HEAP_PAGE_SIZE=3000)
vmh_case(line FALSE "CONFIG_VMH_HEAP_LINE_SIZE=96 must be a power of two" CONFIG_VMH_HEAP_LINE_SIZE=96)
vmh_case(line_page FALSE "CONFIG_VMH_HEAP_LINE_SIZE=512 must be a power of two no larger than CONFIG_VMH_HEAP_PAGE_SIZE=256"
         CONFIG_VMH_HEAP_LINE_SIZE=512 CONFIG_VMH_HEAP_PAGE_SIZE=256)
vmh_case(physical FALSE "CONFIG_VMH_HEAP_PHYSICAL_SIZE=10000 is not a multiple of CONFIG_VMH_HEAP_PAGE_SIZE=4096"
         CONFIG_VMH_HEAP_PHYSICAL_SIZE=10000)
vmh_case(virtual FALSE "CONFIG_VMH_HEAP_VIRTUAL_SIZE=5000 is not a multiple" CONFIG_VMH_HEAP_VIRTUAL_SIZE=5000)
vmh_case(address_page FALSE "CONFIG_VMH_HEAP_WINDOW_ADDRESS=0x1234 is not a multiple" CONFIG_VMH_HEAP_WINDOW_ADDRESS=0x1234)
vmh_case(ram_window FALSE "without CONFIG_MM_DRV the window is RAM: CONFIG_VMH_HEAP_VIRTUAL_SIZE=32768 exceeds"
         CONFIG_VMH_HEAP_VIRTUAL_SIZE=32768)
vmh_case(layout_missing FALSE "CONFIG_VMH_HEAP_LAYOUT_FILE: no such file: .*/missing.layout"
         CONFIG_VMH_HEAP_LAYOUT_FILE=missing.layout)
vmh_case(layout_line FALSE "bad.layout:2: count 'eight' is not a number" CONFIG_VMH_HEAP_LAYOUT_FILE=bad.layout)
vmh_case(trace_bytes FALSE "CONFIG_VMH_HEAP_TRACE_BYTES=50 must be at least 96" CONFIG_VMH_HEAP_TRACE=y
         CONFIG_VMH_HEAP_TRACE_BYTES=50)

file(REMOVE_RECURSE ${VMH_WORK_DIR})
message("zephyr heap options: ${passed} passed, ${failed} failed")
if(NOT failed EQUAL 0)
  message(FATAL_ERROR "zephyr heap options check failed")
endif()
