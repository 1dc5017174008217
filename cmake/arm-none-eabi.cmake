# Cross toolchain for a bare-metal Cortex-M4 with Debian's arm-none-eabi GCC
# (packages gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib; scripts/deps-firmware.sh).
#
#   cmake --preset cortex-m4            (CMakePresets.json), or
#   cmake -B build-cm4 --toolchain cmake/arm-none-eabi.cmake -DVMH_BUILD_TESTS=OFF ...
#
# Everything built with it is freestanding: no exceptions, no RTTI, no C library unless a
# target links one on purpose. The CPU flags can be changed with VMH_ARM_CPU_FLAGS.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(VMH_ARM_PREFIX arm-none-eabi- CACHE STRING "Prefix of the cross tools")
set(VMH_ARM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb" CACHE STRING "CPU flags of every cross-compiled file")

find_program(CMAKE_C_COMPILER ${VMH_ARM_PREFIX}gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER ${VMH_ARM_PREFIX}g++ REQUIRED)
set(CMAKE_ASM_COMPILER ${CMAKE_C_COMPILER})
find_program(VMH_ARM_SIZE ${VMH_ARM_PREFIX}size)
find_program(VMH_ARM_NM ${VMH_ARM_PREFIX}nm)
find_program(VMH_ARM_OBJDUMP ${VMH_ARM_PREFIX}objdump)

# Compiler checks build a static library: there is no startup code to link an executable with.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_FLAGS_INIT "${VMH_ARM_CPU_FLAGS} -ffreestanding")
set(CMAKE_CXX_FLAGS_INIT "${VMH_ARM_CPU_FLAGS} -ffreestanding -fno-exceptions -fno-rtti")
set(CMAKE_ASM_FLAGS_INIT "${VMH_ARM_CPU_FLAGS}")
# No start files and no C library by default: an image brings its own startup code.
set(CMAKE_EXE_LINKER_FLAGS_INIT "${VMH_ARM_CPU_FLAGS} -nostdlib -Wl,--gc-sections")

# Headers and libraries come from the cross toolchain only; programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
