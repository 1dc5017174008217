// Compiled, not run: the header's version is the CMake project's (tests/CMakeLists.txt passes it).
#include <vmh/vmh.hpp>

static_assert(VMH_VERSION_MAJOR == VMH_PROJECT_MAJOR && VMH_VERSION_MINOR == VMH_PROJECT_MINOR &&
                  VMH_VERSION_PATCH == VMH_PROJECT_PATCH,
              "include/vmh/version.hpp and the CMake project's VERSION disagree: change both");
static_assert(VMH_VERSION == VMH_PROJECT_MAJOR * 10000 + VMH_PROJECT_MINOR * 100 + VMH_PROJECT_PATCH);
