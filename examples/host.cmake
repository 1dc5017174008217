# Host-only example: std::pmr containers on a vmh heap over mmap (Linux), printed with fmt.
# Included from examples/CMakeLists.txt.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  find_package(fmt REQUIRED)
  add_executable(vmh-example-pmr ${CMAKE_CURRENT_LIST_DIR}/pmr_frames.cpp)
  target_link_libraries(vmh-example-pmr PRIVATE vmh::vmh fmt::fmt vmh_warnings)
  add_test(NAME example_pmr COMMAND vmh-example-pmr)
endif()
