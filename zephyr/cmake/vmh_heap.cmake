# CONFIG_VMH_HEAP's build-time part (included by zephyr/CMakeLists.txt; the layout-file reader
# also runs alone in cmake -P, for tests/firmware/zephyr_heap_options_check.cmake):
#  - vmh_heap_check_options(): each scalar Kconfig value that Kconfig's ranges cannot check
#    (powers of two, multiples of the page, a trace ring too small for a line) stops the configuration with one line naming it;
#  - vmh_heap_layout_table(FILE OUT): reads a vmh-sim layout file into the initializer of a
#    bucket array, or stops with "FILE:LINE: what is wrong";
#  - vmh_heap_generate(DIR): writes vmh_heap_window.ld (the window's NOLOAD section) and, for a
#    layout file, vmh_heap_layout.h into DIR.

# vmh_heap_fail(MESSAGE): one line, then stop. (message(FATAL_ERROR) adds CMake's call stack;
# the text itself stays one line.)
function(vmh_heap_fail text)
  message(FATAL_ERROR "vmh heap: ${text}")
endfunction()

function(vmh_heap_is_pow2 value out)
  math(EXPR masked "${value} & (${value} - 1)")
  if(value GREATER 0 AND masked EQUAL 0)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(vmh_heap_check_options)
  set(page ${CONFIG_VMH_HEAP_PAGE_SIZE})
  vmh_heap_is_pow2(${page} ok)
  if(NOT ok)
    vmh_heap_fail("CONFIG_VMH_HEAP_PAGE_SIZE=${page} is not a power of two")
  endif()
  vmh_heap_is_pow2(${CONFIG_VMH_HEAP_LINE_SIZE} ok)
  if(NOT ok OR CONFIG_VMH_HEAP_LINE_SIZE GREATER page)
    vmh_heap_fail("CONFIG_VMH_HEAP_LINE_SIZE=${CONFIG_VMH_HEAP_LINE_SIZE} must be a power of two no larger than CONFIG_VMH_HEAP_PAGE_SIZE=${page}")
  endif()
  foreach(option VMH_HEAP_PHYSICAL_SIZE VMH_HEAP_VIRTUAL_SIZE VMH_HEAP_WINDOW_ADDRESS)
    math(EXPR rest "${CONFIG_${option}} % ${page}")
    if(NOT rest EQUAL 0)
      vmh_heap_fail("CONFIG_${option}=${CONFIG_${option}} is not a multiple of CONFIG_VMH_HEAP_PAGE_SIZE=${page}")
    endif()
  endforeach()
  if(CONFIG_VMH_HEAP_TRACE)
    # At least one trace line (VMH_TRACE_LINE_MAX, vmh/c/trace.h).
    if(NOT CONFIG_VMH_HEAP_TRACE_BYTES MATCHES "^[0-9]+$" OR CONFIG_VMH_HEAP_TRACE_BYTES LESS 96)
      vmh_heap_fail("CONFIG_VMH_HEAP_TRACE_BYTES=${CONFIG_VMH_HEAP_TRACE_BYTES} must be at least 96 (one trace line)")
    endif()
  endif()
  if(NOT CONFIG_MM_DRV AND CONFIG_VMH_HEAP_VIRTUAL_SIZE GREATER CONFIG_VMH_HEAP_PHYSICAL_SIZE)
    vmh_heap_fail("without CONFIG_MM_DRV the window is RAM: CONFIG_VMH_HEAP_VIRTUAL_SIZE=${CONFIG_VMH_HEAP_VIRTUAL_SIZE} exceeds CONFIG_VMH_HEAP_PHYSICAL_SIZE=${CONFIG_VMH_HEAP_PHYSICAL_SIZE}")
  endif()
endfunction()

# A size of a layout file: decimal with an optional K, M or G suffix (powers of 1024), below 4 GiB.
function(vmh_heap_layout_number text where what out)
  if(NOT text MATCHES "^([0-9]+)([KkMmGg]?)$")
    vmh_heap_fail("${where}: ${what} '${text}' is not a number (decimal, optional K, M or G suffix)")
  endif()
  set(digits ${CMAKE_MATCH_1})
  string(TOUPPER "${CMAKE_MATCH_2}" suffix)
  string(REGEX REPLACE "^0+([0-9])" "\\1" digits "${digits}")  # math() reads a leading 0 as octal
  string(LENGTH "${digits}" length)
  set(shift 0)
  if(suffix STREQUAL "K")
    set(shift 10)
  elseif(suffix STREQUAL "M")
    set(shift 20)
  elseif(suffix STREQUAL "G")
    set(shift 30)
  endif()
  if(length GREATER 10)
    set(value 4294967296)
  else()
    math(EXPR value "${digits} << ${shift}")
  endif()
  if(value GREATER 4294967295)
    vmh_heap_fail("${where}: ${what} '${text}' is too large (a layout spans less than 4 GiB)")
  endif()
  set(${out} ${value} PARENT_SCOPE)
endfunction()

function(vmh_heap_layout_table file out)
  if(NOT EXISTS "${file}" OR IS_DIRECTORY "${file}")
    vmh_heap_fail("CONFIG_VMH_HEAP_LAYOUT_FILE: no such file: ${file}")
  endif()
  # One list element per line, empty lines kept (they count for the line numbers). ';' and the
  # brackets would change how CMake splits the list: each becomes '?', which no number contains.
  file(READ "${file}" text)
  string(REGEX REPLACE "[][;]" "?" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(buckets "")
  set(count 0)
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    string(REGEX REPLACE "#.*" "" line "${line}")
    string(REGEX REPLACE "[ \t\r]+" " " line "${line}")
    string(STRIP "${line}" line)
    if(line STREQUAL "")
      continue()
    endif()
    set(where "${file}:${number}")
    string(REPLACE " " ";" fields "${line}")
    list(LENGTH fields n)
    if(NOT n EQUAL 2)
      vmh_heap_fail("${where}: expected '<block_size> <count>'")
    endif()
    if(count EQUAL 64)
      vmh_heap_fail("${where}: more than 64 buckets")
    endif()
    list(GET fields 0 size_text)
    list(GET fields 1 count_text)
    vmh_heap_layout_number("${size_text}" "${where}" "block size" size)
    vmh_heap_layout_number("${count_text}" "${where}" "count" blocks)
    list(APPEND buckets "{${size}u, ${blocks}u}")
    math(EXPR count "${count} + 1")
  endforeach()
  if(count EQUAL 0)
    vmh_heap_fail("${file}: no buckets")
  endif()
  list(JOIN buckets ", " joined)
  set(${out} "{${joined}}" PARENT_SCOPE)
endfunction()

function(vmh_heap_generate dir)
  set(page ${CONFIG_VMH_HEAP_PAGE_SIZE})
  math(EXPR address "${CONFIG_VMH_HEAP_WINDOW_ADDRESS}" OUTPUT_FORMAT HEXADECIMAL)
  if(address STREQUAL "0x0")
    set(start "(NOLOAD)")
    set(placement "GROUP_NOLOAD_LINK_IN(RAMABLE_REGION, ROMABLE_REGION)")
  else()
    set(start "${address} (NOLOAD)")  # outside every memory region: nothing of the image's RAM
    set(placement "")
  endif()
  file(WRITE ${dir}/vmh_heap_window.ld.new
"/* Generated by vmh's zephyr/cmake/vmh_heap.cmake: the window of CONFIG_VMH_HEAP (NOLOAD). */
SECTION_PROLOGUE(vmh_heap_window, ${start},)
{
\t. = ALIGN(${page});
\t__vmh_heap_window_start = .;
\tKEEP(*(.vmh_heap_window))
\t__vmh_heap_window_end = .;
} ${placement}
")
  configure_file(${dir}/vmh_heap_window.ld.new ${dir}/vmh_heap_window.ld COPYONLY)
  if(NOT CONFIG_VMH_HEAP_LAYOUT_FILE STREQUAL "")
    set(file ${CONFIG_VMH_HEAP_LAYOUT_FILE})
    if(NOT IS_ABSOLUTE "${file}")
      set(file ${APPLICATION_SOURCE_DIR}/${file})
    endif()
    vmh_heap_layout_table("${file}" table)
    file(WRITE ${dir}/vmh_heap_layout.h.new
"// Generated by vmh's zephyr/cmake/vmh_heap.cmake from ${file}.
#pragma once
#include <vmh/layout.hpp>
inline constexpr vmh::bucket vmh_heap_buckets[] = ${table};
")
    configure_file(${dir}/vmh_heap_layout.h.new ${dir}/vmh_heap_layout.h COPYONLY)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  endif()
endfunction()

# In script mode (cmake -DVMH_LAYOUT_FILE=F -P vmh_heap.cmake): reads F and prints its table.
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE AND DEFINED VMH_LAYOUT_FILE)
  vmh_heap_layout_table("${VMH_LAYOUT_FILE}" table)
  message("${table}")
endif()
