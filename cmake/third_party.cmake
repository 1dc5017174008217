# The real Zephyr heap and SOF's real allocators, compiled from the trees VMH_ZEPHYR_BASE and
# VMH_SOF_BASE name (a Zephyr tree, a SOF tree: the user's own checkout, or what
# scripts/third-party.sh unpacks), never copied into this repository. With them the tools put the
# real code beside its models: vmh-sim's zephyr_sys_heap, sof_vmh_real, sof_today_real and
# sof_vpage_real (bench/real), the instruction counts, the benchmarks and the code-size images.
# Empty (the default, unless the environment variables of the same names are set): models only.
include_guard(GLOBAL)
set(VMH_ZEPHYR_BASE "$ENV{VMH_ZEPHYR_BASE}" CACHE PATH
    "A Zephyr tree: build its real sys_heap (lib/heap) beside the model (empty: models only)")
set(VMH_SOF_BASE "$ENV{VMH_SOF_BASE}" CACHE PATH
    "A SOF tree: build its real VMH (regions_mm.c) and vpage.c beside their models (needs VMH_ZEPHYR_BASE)")

# vmh_check_tree(<variable> <what> <file>...): a set variable must name a tree holding the files.
function(vmh_check_tree variable what)
  if("${${variable}}" STREQUAL "")
    return()
  endif()
  foreach(file IN LISTS ARGN)
    if(NOT EXISTS "${${variable}}/${file}")
      message(FATAL_ERROR "${variable}=${${variable}} is not ${what}: ${file} is missing there")
    endif()
  endforeach()
endfunction()
vmh_check_tree(VMH_ZEPHYR_BASE "a Zephyr tree" lib/heap/heap.c lib/heap/heap.h lib/heap/heap_validate.c lib/heap/heap_stats.c
               lib/mem_blocks/mem_blocks.c lib/utils/bitarray.c include/zephyr/sys/sys_heap.h)
vmh_check_tree(VMH_SOF_BASE "a SOF tree" zephyr/lib/regions_mm.c zephyr/lib/vpage.c
               zephyr/include/sof/lib/regions_mm.h zephyr/include/sof/lib/vpage.h)
if(NOT VMH_SOF_BASE STREQUAL "" AND VMH_ZEPHYR_BASE STREQUAL "")
  message(FATAL_ERROR "VMH_SOF_BASE needs VMH_ZEPHYR_BASE too: SOF's allocators are built on Zephyr's")
endif()

# VMH_REAL_HOST: the real code is built for this host (the instruction counts and benchmarks);
# not in a sanitizer build, whose checks are the project's code's, not upstream's.
# VMH_REAL_ALLOCATORS: the real allocators vmh-sim gets from vmh-real (bench/real), a 32-bit
# program since the replay models a 32-bit DSP (the heap's chunk headers depend on it); empty
# when there is no Zephyr tree or no working g++ -m32. Each refusal says why in one line.
set(VMH_REAL_HOST OFF)
set(VMH_REAL_ALLOCATORS "")
if(NOT VMH_ZEPHYR_BASE STREQUAL "" AND NOT CMAKE_CROSSCOMPILING)
  set(reason "")
  if(CMAKE_CXX_FLAGS MATCHES "-fsanitize" OR CMAKE_C_FLAGS MATCHES "-fsanitize")
    message(STATUS "vmh: the real Zephyr and SOF code is not built: a sanitizer build (models only)")
  else()
    set(VMH_REAL_HOST ON)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      set(reason "the compiler is not GCC (the -m32 build is the one of Debian's g++-multilib)")
    else()
      include(CheckCXXSourceCompiles)
      set(CMAKE_REQUIRED_FLAGS "-m32 -std=c++20")
      set(CMAKE_REQUIRED_LINK_OPTIONS -m32)
      check_cxx_source_compiles("#include <unordered_map>
        int main() { std::unordered_map<int, int> m; return sizeof(void*) == 4 ? static_cast<int>(m.size()) : 1; }"
        VMH_HAVE_M32)
      unset(CMAKE_REQUIRED_FLAGS)
      unset(CMAKE_REQUIRED_LINK_OPTIONS)
      if(NOT VMH_HAVE_M32)
        set(reason "g++ -m32 does not work here (Debian: scripts/deps.sh --real installs g++-multilib)")
      endif()
    endif()
    if(reason STREQUAL "")
      set(VMH_REAL_ALLOCATORS zephyr_sys_heap)
      if(NOT VMH_SOF_BASE STREQUAL "")
        list(APPEND VMH_REAL_ALLOCATORS sof_vmh_real sof_today_real sof_vpage_real)
      endif()
    else()
      message(STATUS "vmh: the replay's real allocators are not built: ${reason}")
    endif()
  endif()
endif()

set(VMH_REAL_SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/../bench/real)
cmake_path(NORMAL_PATH VMH_REAL_SOURCE_DIR)

# vmh_zephyr_heap_library(<name> <prefix> [<compile option>...]): a static library of Zephyr's
# heap (heap.c, heap_validate.c, and heap_stats.c with -DCONFIG_SYS_HEAP_RUNTIME_STATS=1) and the
# harness's queries (sys_heap_extra.c), whose functions carry <prefix>
# (bench/real/standin/rename.h), compiled with the stand-in headers and the given options
# (e.g. -DCONFIG_SYS_HEAP_RUNTIME_STATS=1, -m32).
function(vmh_zephyr_heap_library name prefix)
  set(stats "")
  if("-DCONFIG_SYS_HEAP_RUNTIME_STATS=1" IN_LIST ARGN)
    set(stats ${VMH_ZEPHYR_BASE}/lib/heap/heap_stats.c)
  endif()
  add_library(${name} STATIC ${VMH_ZEPHYR_BASE}/lib/heap/heap.c ${VMH_ZEPHYR_BASE}/lib/heap/heap_validate.c ${stats}
                             ${VMH_REAL_SOURCE_DIR}/sys_heap_extra.c)
  vmh_real_c_options(${name})
  target_include_directories(${name} PRIVATE ${VMH_ZEPHYR_BASE}/lib/heap)
  target_compile_options(${name} PRIVATE "SHELL:-include ${VMH_REAL_SOURCE_DIR}/standin/rename.h" ${ARGN})
  target_compile_definitions(${name} PRIVATE VMH_REAL_PREFIX=${prefix} CONFIG_SYS_HEAP_VALIDATE=1)
endfunction()

# vmh_real_c_options(<target>): what every C file under the stand-ins needs: the stand-in headers
# first (they shadow a few of Zephyr's), Zephyr's and SOF's include trees, the forced autoconf.h;
# the upstream files' own warnings stay upstream's.
function(vmh_real_c_options target)
  target_include_directories(${target} PRIVATE ${VMH_REAL_SOURCE_DIR}/standin ${VMH_REAL_SOURCE_DIR}
                                               ${VMH_ZEPHYR_BASE}/include)
  if(NOT VMH_SOF_BASE STREQUAL "")
    target_include_directories(${target} PRIVATE ${VMH_SOF_BASE}/zephyr/include)
  endif()
  target_compile_options(${target} PRIVATE "SHELL:-include ${VMH_REAL_SOURCE_DIR}/standin/autoconf.h")
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE OUTPUT_VARIABLE path)
    cmake_path(IS_PREFIX VMH_REAL_SOURCE_DIR "${path}" NORMALIZE ours)
    if(NOT ours)
      set_source_files_properties(${source} TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS -w)
    endif()
  endforeach()
endfunction()
