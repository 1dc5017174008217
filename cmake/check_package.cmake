# Builds examples/consumer against vmh in one of the ways a project uses it, runs it, and checks
# what gets installed (cmake -DMODE=... -DVMH_SOURCE_DIR=... -DWORK_DIR=... -P this file):
#   MODE=install       vmh configured alone and installed to a prefix: headers, CMake package and
#                      pkg-config file under share/ (nothing under lib/), LICENSE; the consumer
#                      then finds it with find_package, and a compile with pkg-config's flags
#   MODE=subdirectory  the consumer adds vmh with add_subdirectory: installing the consumer
#                      installs no vmh file unless it sets VMH_INSTALL=ON
#   MODE=fetchcontent  the consumer's FetchContent, pointed at this source tree
#                      (FETCHCONTENT_SOURCE_DIR_VMH), so it runs offline
# Optional: GENERATOR, CXX_COMPILER (passed on to every configuration).
cmake_minimum_required(VERSION 3.20)

set(consumer ${VMH_SOURCE_DIR}/examples/consumer)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(common -Wno-dev -DCMAKE_BUILD_TYPE=Release)
if(GENERATOR)
  list(APPEND common -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND common -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

# step(<what> <command...>): runs the command, stops with its output if it fails.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${MODE}: ${what} failed (${rc}):\n${out}")
  endif()
  message("${MODE}: ${what}: ok")
endfunction()

function(expect_files prefix)
  foreach(f ${ARGN})
    if(NOT EXISTS ${prefix}/${f})
      message(FATAL_ERROR "${MODE}: ${f} is not installed under ${prefix}")
    endif()
  endforeach()
endfunction()

# consumer(<name> <cmake args...>): configures, builds and runs the consumer in WORK_DIR/<name>.
function(consumer name)
  set(build ${WORK_DIR}/${name})
  step("configure the consumer (${name})" ${CMAKE_COMMAND} -S ${consumer} -B ${build} ${common} ${ARGN})
  step("build the consumer (${name})" ${CMAKE_COMMAND} --build ${build})
  step("run the consumer (${name})" ${build}/vmh_consumer)
endfunction()

set(vmh_files include/vmh/vmh.hpp include/vmh/c/vmh.h share/cmake/vmh/vmhConfig.cmake
              share/cmake/vmh/vmhConfigVersion.cmake share/cmake/vmh/vmhTargets.cmake
              share/pkgconfig/vmh.pc share/doc/vmh/LICENSE)

if(MODE STREQUAL "install")
  set(prefix ${WORK_DIR}/prefix)
  step("configure vmh alone" ${CMAKE_COMMAND} -S ${VMH_SOURCE_DIR} -B ${WORK_DIR}/vmh ${common}
       -DVMH_BUILD_TESTS=OFF -DVMH_BUILD_BENCH=OFF -DVMH_BUILD_EXAMPLES=OFF)
  step("install vmh" ${CMAKE_COMMAND} --install ${WORK_DIR}/vmh --prefix ${prefix})
  expect_files(${prefix} ${vmh_files})
  if(EXISTS ${prefix}/lib)
    message(FATAL_ERROR "install: a header-only package installs nothing under lib/")
  endif()
  consumer(find_package -DVMH_CONSUME=find_package -DCMAKE_PREFIX_PATH=${prefix})
  # pkg-config, when installed: its flags alone must compile the consumer's program.
  find_program(PKG_CONFIG NAMES pkg-config pkgconf)
  if(PKG_CONFIG AND CXX_COMPILER)
    set(ENV{PKG_CONFIG_PATH} ${prefix}/share/pkgconfig)
    execute_process(COMMAND ${PKG_CONFIG} --cflags vmh RESULT_VARIABLE rc OUTPUT_VARIABLE cflags
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0 OR NOT cflags MATCHES "-I")
      message(FATAL_ERROR "install: pkg-config --cflags vmh gave '${cflags}' (exit ${rc})")
    endif()
    separate_arguments(cflags UNIX_COMMAND "${cflags}")
    step("compile with pkg-config's flags" ${CXX_COMPILER} -std=c++20 ${cflags} ${consumer}/main.cpp
         -o ${WORK_DIR}/pkg-config-consumer)
    step("run the pkg-config build" ${WORK_DIR}/pkg-config-consumer)
  endif()
elseif(MODE STREQUAL "subdirectory")
  consumer(subdirectory -DVMH_CONSUME=subdirectory -DVMH_SOURCE_DIR=${VMH_SOURCE_DIR})
  step("install the consumer" ${CMAKE_COMMAND} --install ${WORK_DIR}/subdirectory --prefix ${WORK_DIR}/p1)
  if(EXISTS ${WORK_DIR}/p1/include/vmh OR EXISTS ${WORK_DIR}/p1/share/cmake/vmh)
    message(FATAL_ERROR "subdirectory: vmh's files were installed although VMH_INSTALL is off by default")
  endif()
  consumer(subdirectory-install -DVMH_CONSUME=subdirectory -DVMH_SOURCE_DIR=${VMH_SOURCE_DIR} -DVMH_INSTALL=ON)
  step("install the consumer with VMH_INSTALL=ON" ${CMAKE_COMMAND} --install ${WORK_DIR}/subdirectory-install
       --prefix ${WORK_DIR}/p2)
  expect_files(${WORK_DIR}/p2 ${vmh_files} bin/vmh_consumer)
elseif(MODE STREQUAL "fetchcontent")
  consumer(fetchcontent -DVMH_CONSUME=fetchcontent -DFETCHCONTENT_SOURCE_DIR_VMH=${VMH_SOURCE_DIR})
else()
  message(FATAL_ERROR "MODE is '${MODE}': use install, subdirectory or fetchcontent")
endif()
