# What the bare-metal toolchain files (arm-none-eabi.cmake, xtensa-lx106.cmake) share.
#
#   vmh_bare_metal_toolchain(<prefix> <cpu flags> [<more C++ flags>...])
#
# Uses <prefix>gcc and <prefix>g++ (the C compiler also assembles), passes <cpu flags> to every
# compile and link, and builds everything freestanding: no exceptions, no RTTI, no start files
# and no C library unless a target links one on purpose (an image brings its own startup code).
# Compiler checks build a static library, since there is nothing to link an executable with;
# headers and libraries come from the cross toolchain only, programs from the host.
macro(vmh_bare_metal_toolchain prefix cpu_flags)
  set(CMAKE_SYSTEM_NAME Generic)
  find_program(CMAKE_C_COMPILER ${prefix}gcc REQUIRED)
  find_program(CMAKE_CXX_COMPILER ${prefix}g++ REQUIRED)
  set(CMAKE_ASM_COMPILER ${CMAKE_C_COMPILER})
  set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
  string(JOIN " " vmh_more_cxx_flags ${ARGN})
  set(CMAKE_C_FLAGS_INIT "${cpu_flags} -ffreestanding")
  set(CMAKE_CXX_FLAGS_INIT "${cpu_flags} -ffreestanding -fno-exceptions -fno-rtti ${vmh_more_cxx_flags}")
  set(CMAKE_ASM_FLAGS_INIT "${cpu_flags}")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${cpu_flags} -nostdlib -Wl,--gc-sections")
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
endmacro()
