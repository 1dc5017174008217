// The one thing every vmh header checks first: the language standard. vmh is C++20 (concepts,
// constinit, class-type template arguments); in an earlier mode the first error says so.
#pragma once

#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L
#error "vmh needs C++20: compile with -std=c++20 (or -std=gnu++20) or later"
#else
/// Defined when the compiler is in C++20 mode or later (vmh.hpp includes the rest only then).
#define VMH_DETAIL_CXX20 1
#endif
