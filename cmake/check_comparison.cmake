# Checks that the README's comparison table is what scripts/comparison.sh prints now
# (cmake -DVMH_SOURCE_DIR=<repo> -DVMH_BUILD_DIR=<build> -P this file): the table between the
# README's `<!-- comparison: begin -->` and `<!-- comparison: end -->` lines must equal the
# script's output. After a change that moves a figure, regenerate the table with the script.
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND bash ${VMH_SOURCE_DIR}/scripts/comparison.sh ${VMH_BUILD_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE now ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/comparison.sh failed (exit ${rc}): ${err}")
endif()
file(READ ${VMH_SOURCE_DIR}/README.md readme)
string(FIND "${readme}" "<!-- comparison: begin -->\n" begin)
string(FIND "${readme}" "<!-- comparison: end -->" end)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "README.md: no '<!-- comparison: begin -->' ... '<!-- comparison: end -->' block")
endif()
string(LENGTH "<!-- comparison: begin -->\n" marker)
math(EXPR from "${begin} + ${marker}")
math(EXPR length "${end} - ${from}")
string(SUBSTRING "${readme}" ${from} ${length} shown)
if(NOT shown STREQUAL now)
  message(FATAL_ERROR "README.md's comparison table is not what scripts/comparison.sh prints now; "
                      "regenerate it:\n--- README.md\n${shown}--- scripts/comparison.sh\n${now}")
endif()
message("README.md's comparison table is current")
