# Compiles the code blocks of the documentation as they stand, so that an example that no longer
# builds breaks the build.
#
# A fenced block is marked for compilation by an HTML comment (invisible once rendered) that
# starts the line right above its opening fence:
#
#     <!-- compile: GROUP/FILE -->
#     ```cpp
#     ...
#     ```
#
# The blocks of one GROUP are written to FILE in a directory of their own, next to each other
# (so `#include "fw_heap.h"` finds the block named fw_heap.h). A group whose files define
# `main(` becomes an executable and a ctest entry `doc_snippet_GROUP` that must exit with 0; any
# other group is linked into a program of its own with an empty main, so that a declaration
# without its definition (C against C++ linkage, say) fails to link. .c files are strict C11, .cpp files
# C++20, both with -Wall -Wextra -Wpedantic -Werror, linked with vmh::vmh (and fmt::fmt when
# installed). Headers (.h, .hpp) are only included.
#
# A block marked `<!-- output: GROUP -->` is what that group's program prints: the test then
# compares the program's standard output with it, line for line (trailing spaces ignored).
#
# vmh_add_doc_snippets(<markdown files...>) does it at configure time; editing a listed file
# re-runs the configuration. A marker without a fence, a FILE named twice, an unknown extension
# or a group without a source file stops the configuration with a message naming the file.

set(VMH_SNIPPETS_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

function(vmh_snippet_error md message)
  message(FATAL_ERROR "${md}: ${message}")
endfunction()

# vmh_next_block(<md> <text_var> <kind_var> <label_var> <block_var>): finds in ${text_var} the
# next line "<!-- KIND: LABEL -->" (KIND compile or output) followed by a fenced block; sets
# KIND, LABEL and the block's lines, and leaves ${text_var} after the block. KIND is empty when
# there is none. A marker counts only at the start of a line (the text starts with a newline),
# so prose may quote one in backticks.
function(vmh_next_block md text_var kind_var label_var block_var)
  set(text "${${text_var}}")
  set(${kind_var} "" PARENT_SCOPE)
  set(at -1)
  foreach(candidate compile output)
    string(FIND "${text}" "\n<!-- ${candidate}: " found)
    if(NOT found EQUAL -1 AND (at EQUAL -1 OR found LESS at))
      set(at ${found})
      set(kind ${candidate})
    endif()
  endforeach()
  if(at EQUAL -1)
    return()
  endif()
  string(LENGTH "\n<!-- ${kind}: " skip)
  math(EXPR at "${at} + ${skip}")
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n" eol)
  string(SUBSTRING "${text}" 0 ${eol} line)
  if(NOT line MATCHES "^([A-Za-z0-9_./-]+) -->$")
    vmh_snippet_error(${md} "bad marker '<!-- ${kind}: ${line}': expected '<!-- ${kind}: NAME -->'")
  endif()
  set(label ${CMAKE_MATCH_1})
  math(EXPR eol "${eol} + 1")
  string(SUBSTRING "${text}" ${eol} -1 text)
  # The opening fence must be the next line; the block ends at the first line that is a fence.
  if(NOT text MATCHES "^```[a-z]*\n")
    vmh_snippet_error(${md} "the marker '${kind}: ${label}' is not followed by a ``` fence")
  endif()
  string(LENGTH "${CMAKE_MATCH_0}" skip)
  string(SUBSTRING "${text}" ${skip} -1 text)
  # Searched with a newline in front, so that an empty block's fence is found too.
  string(FIND "\n${text}" "\n```" end)
  if(end EQUAL -1)
    vmh_snippet_error(${md} "the block '${kind}: ${label}' has no closing fence")
  endif()
  string(SUBSTRING "${text}" 0 ${end} block)
  string(SUBSTRING "${text}" ${end} -1 text)
  set(${text_var} "${text}" PARENT_SCOPE)
  set(${kind_var} "${kind}" PARENT_SCOPE)
  set(${label_var} "${label}" PARENT_SCOPE)
  set(${block_var} "${block}" PARENT_SCOPE)
endfunction()

# Writes <path> through a .in copy, so that an unchanged block is not rebuilt.
function(vmh_write_block path content)
  file(WRITE ${path}.in "${content}")
  configure_file(${path}.in ${path} COPYONLY)
endfunction()

function(vmh_add_doc_snippets)
  set(root ${CMAKE_CURRENT_BINARY_DIR}/doc_snippets)
  set(groups "")
  foreach(md ${ARGN})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${md})
    file(READ ${md} page)
    string(PREPEND page "\n")
    set(text "${page}")
    while(TRUE)
      vmh_next_block(${md} text kind label block)
      if(kind STREQUAL "")
        break()
      elseif(kind STREQUAL "output")
        # What group LABEL's program prints.
        if(NOT label MATCHES "^[A-Za-z0-9_-]+$")
          vmh_snippet_error(${md} "'output: ${label}': expected the name of a snippet group")
        endif()
        if(DEFINED vmh_snippet_output_${label})
          vmh_snippet_error(${md} "the output of ${label} is given twice")
        endif()
        set(vmh_snippet_output_${label} ${md})
        vmh_write_block(${root}/${label}.expected "${block}")
        continue()
      endif()
      if(NOT label MATCHES "^([A-Za-z0-9_-]+)/([A-Za-z0-9_.-]+\\.(c|cpp|h|hpp))$")
        vmh_snippet_error(${md} "'compile: ${label}': expected GROUP/FILE, FILE a .c, .cpp, .h or .hpp file")
      endif()
      set(group ${CMAKE_MATCH_1})
      set(name ${CMAKE_MATCH_2})
      if(DEFINED vmh_snippet_${group}_${name})
        vmh_snippet_error(${md} "${group}/${name} is marked twice (also in ${vmh_snippet_${group}_${name}})")
      endif()
      set(vmh_snippet_${group}_${name} ${md})
      if(NOT group IN_LIST groups)
        list(APPEND groups ${group})
        set(files_${group} "")
        set(main_${group} OFF)
      endif()
      list(APPEND files_${group} ${name})
      if(block MATCHES "(^|\n)int main\\(")
        set(main_${group} ON)
      endif()
      vmh_write_block(${root}/${group}/${name} "${block}")
    endwhile()
  endforeach()

  foreach(group ${groups})
    set(sources "")
    foreach(name ${files_${group}})
      if(name MATCHES "\\.(c|cpp)$")
        list(APPEND sources ${root}/${group}/${name})
      endif()
    endforeach()
    if(sources STREQUAL "")
      message(FATAL_ERROR "the documentation snippet group ${group} has no .c or .cpp file")
    endif()
    set(target vmh_doc_snippet_${group})
    if(main_${group})
      add_executable(${target} ${sources})
      if(DEFINED vmh_snippet_output_${group})
        add_test(NAME doc_snippet_${group}
                 COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> -DEXPECTED=${root}/${group}.expected
                         -P ${VMH_SNIPPETS_SCRIPT})
      else()
        add_test(NAME doc_snippet_${group} COMMAND ${target})
      endif()
    else()
      if(DEFINED vmh_snippet_output_${group})
        message(FATAL_ERROR "${vmh_snippet_output_${group}}: the snippet group ${group} has an output but no main")
      endif()
      # Linked into a program whose main does nothing: every symbol the blocks use must resolve.
      vmh_write_block(${root}/${group}.main.c "int main(void) { return 0; }\n")
      add_executable(${target} ${sources} ${root}/${group}.main.c)
    endif()
    target_link_libraries(${target} PRIVATE vmh::vmh)
    # Host examples print with fmt; it is linked when installed, and a block that needs it
    # without it fails to build, as it would for a reader.
    find_package(fmt QUIET)
    if(TARGET fmt::fmt)
      target_link_libraries(${target} PRIVATE fmt::fmt)
    endif()
    target_include_directories(${target} PRIVATE ${root}/${group})
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
    set_target_properties(${target} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                                               CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
                                               LINKER_LANGUAGE CXX)
  endforeach()
  list(LENGTH groups n)
  message(STATUS "Documentation snippets: ${n} groups (${groups})")
endfunction()

# Run as a script (cmake -DPROGRAM=... -DEXPECTED=... -P snippets.cmake): runs the program and
# compares its standard output with the expected block.
if(CMAKE_SCRIPT_MODE_FILE AND PROGRAM)
  execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE rc OUTPUT_VARIABLE actual)
  file(READ ${EXPECTED} expected)
  foreach(v actual expected)
    string(REGEX REPLACE "[ \t]+\n" "\n" ${v} "${${v}}")
    string(REGEX REPLACE "\n+$" "" ${v} "${${v}}")
  endforeach()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} exited with ${rc}; output:\n${actual}")
  endif()
  if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "the output differs from the documentation (${EXPECTED}).\nprinted:\n${actual}\ndocumented:\n${expected}")
  endif()
  message("the output matches the documentation")
endif()
