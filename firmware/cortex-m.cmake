# Included at the end of project(vmh) by the cortex-m4 preset (CMAKE_PROJECT_vmh_INCLUDE): adds
# firmware/ once the top-level CMakeLists.txt has defined the vmh target.
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL add_subdirectory ${CMAKE_CURRENT_LIST_DIR}
               ${CMAKE_BINARY_DIR}/firmware)
