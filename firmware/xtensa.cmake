# Included at the end of project(vmh) by the xtensa-lx106 preset (CMAKE_PROJECT_vmh_INCLUDE): adds
# the Xtensa cross-build targets of firmware/xtensa. They name vmh::vmh, which the top-level
# CMakeLists.txt defines right after project(); target names are resolved when the build is generated.
enable_testing()  # the self-test is this preset's test step
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/xtensa ${CMAKE_BINARY_DIR}/firmware)
