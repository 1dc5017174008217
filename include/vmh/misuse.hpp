// Misuse handler: what the heaps do, besides refusing it, with a pointer they did not hand out.
//
// `deallocate`, `resize` and `grow` refuse a foreign pointer, an interior pointer and a double
// free: they return the status and leave the heap unchanged. Such a call is a bug of its caller,
// which may well drop the status (a bad free through a container's allocator), so in a debug
// build (NDEBUG not defined), or wherever VMH_REPORT_MISUSE is defined to 1, the heap also calls
// the misuse handler. It runs on the failure path, with the heap's lock held: it must not call
// that heap (log, count, assert or trap instead).
//
//     vmh::set_misuse_handler([](vmh::status what, const void* ptr) noexcept { log(what, ptr); });
//
// The default handler stops a debug build at the bad call: with a C library it is `assert`, whose
// message names the handler to set; freestanding, `__builtin_trap()`. With NDEBUG it does nothing.
// One handler serves every heap of the program. Without reports (NDEBUG and no
// VMH_REPORT_MISUSE) the heaps call nothing: the hook costs no code and no instruction.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <atomic>

#include "detail/bits.hpp"
#include "status.hpp"

#if !defined(NDEBUG) && __STDC_HOSTED__
#include <cassert>
#endif

/// 1 when the heaps report misused pointers to the misuse handler: by default in debug builds
/// (NDEBUG not defined). Define it to 1 (or 0) for the whole program to decide otherwise.
#ifndef VMH_REPORT_MISUSE
#ifdef NDEBUG
#define VMH_REPORT_MISUSE 0
#else
#define VMH_REPORT_MISUSE 1
#endif
#endif

namespace vmh {

/// A misuse handler: called with what a heap refused (`status::foreign_pointer`,
/// `status::interior_pointer` or `status::double_free`) and the pointer it was given.
using misuse_handler = void (*)(status what, const void* ptr) noexcept;

namespace detail {
/// The default handler: stops a debug build at the bad call; does nothing with NDEBUG.
inline void stop_on_misuse(status, const void*) noexcept {
#if !defined(NDEBUG) && __STDC_HOSTED__
  assert(!"vmh: a pointer the heap did not hand out (or freed already) was freed, resized or grown; "
          "vmh::set_misuse_handler replaces this check");
#elif !defined(NDEBUG) && defined(__GNUC__)
  __builtin_trap();
#endif
}
/// The handler of the program (relaxed: it is set once, before the heaps are used).
inline std::atomic<misuse_handler> misuse_handler_now{stop_on_misuse};
/// Reports `what` for `ptr` to the handler if it is a misused pointer and reports are on;
/// returns `what`.
VMH_NOINLINE inline status report_misuse(status what, const void* ptr) noexcept {
  if (is_misused_pointer(what))
    misuse_handler_now.load(std::memory_order_relaxed)(what, ptr);
  return what;
}
/// `report_misuse` where reports are on; else `what`, at no cost.
inline status misused(status what, const void* ptr) noexcept {
  if constexpr (VMH_REPORT_MISUSE != 0) return report_misuse(what, ptr);
  else return what;
}
}  // namespace detail

/// Sets the handler every heap calls on a misused pointer; null restores the default. Returns
/// the handler it replaces.
inline misuse_handler set_misuse_handler(misuse_handler handler) noexcept {
  // A load and a store, not an exchange: cores without atomic read-modify-write (Xtensa LX106)
  // have no exchange, and the handler is set before the heaps are used, not raced.
  const misuse_handler previous = detail::misuse_handler_now.load(std::memory_order_relaxed);
  detail::misuse_handler_now.store(handler != nullptr ? handler : detail::stop_on_misuse, std::memory_order_relaxed);
  return previous;
}

}  // namespace vmh
