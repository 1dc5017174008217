# Cross toolchain for a bare-metal Cortex-M4 with Debian's arm-none-eabi GCC
# (packages gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib; scripts/deps-firmware.sh).
#
#   cmake --preset cortex-m4            (CMakePresets.json), or
#   cmake -B build-cm4 --toolchain cmake/arm-none-eabi.cmake -DVMH_BUILD_TESTS=OFF ...
#
# Everything built with it is freestanding: no exceptions, no RTTI, no C library unless a
# target links one on purpose. The CPU flags can be changed with VMH_ARM_CPU_FLAGS.
include(${CMAKE_CURRENT_LIST_DIR}/bare-metal.cmake)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(VMH_ARM_PREFIX arm-none-eabi- CACHE STRING "Prefix of the cross tools")
set(VMH_ARM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb" CACHE STRING "CPU flags of every cross-compiled file")
vmh_bare_metal_toolchain(${VMH_ARM_PREFIX} "${VMH_ARM_CPU_FLAGS}")
find_program(VMH_ARM_SIZE ${VMH_ARM_PREFIX}size)
find_program(VMH_ARM_NM ${VMH_ARM_PREFIX}nm)
find_program(VMH_ARM_OBJDUMP ${VMH_ARM_PREFIX}objdump)
