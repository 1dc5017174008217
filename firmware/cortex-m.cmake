# Included at the end of project(vmh) by the cortex-m4 preset (CMAKE_PROJECT_vmh_INCLUDE): adds
# the cross-build targets of firmware/. They name vmh::vmh, which the top-level CMakeLists.txt
# defines right after project(); target names are resolved when the build is generated.
add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${CMAKE_BINARY_DIR}/firmware)
