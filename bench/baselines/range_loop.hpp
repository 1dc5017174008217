// SOF's range front end (what buffer_alloc_range does), used by the baselines
// that have no better way to answer "between min and preferred bytes"
// (docs/baselines.md, "SOF's range loop").
#pragma once

#include <cstddef>
#include <limits>

namespace vmh::baseline {

struct range_grant {
  void* ptr = nullptr;
  std::size_t size = 0;      // bytes asked of the allocator by the winning call
  std::size_t attempts = 0;  // calls made to try_alloc, successful or not
};

// Fails at once if min == 0 or preferred < min. Otherwise rounds preferred UP
// to a multiple of min and tries preferred, preferred - min, ..., min with
// try_alloc(size, align); the first non-null result wins.
//
// The rounding is SOF's and is kept as is: when preferred is not a multiple
// of min, the first attempt (and so possibly the grant) is larger than the
// caller's preferred size. Judging whether a grant lies in [min, preferred]
// is left to the caller. A preferred size whose rounding would overflow
// fails without any attempt.
template <class TryAlloc>
range_grant sof_range_loop(TryAlloc&& try_alloc, std::size_t min, std::size_t preferred, std::size_t align) {
  range_grant g;
  if (min == 0 || preferred < min) return g;
  if (const std::size_t rem = preferred % min; rem != 0) {
    const std::size_t add = min - rem;
    if (preferred > std::numeric_limits<std::size_t>::max() - add) return g;
    preferred += add;
  }
  // preferred is now a multiple of min, so the walk lands exactly on min.
  for (std::size_t size = preferred;; size -= min) {
    ++g.attempts;
    if (void* p = try_alloc(size, align); p != nullptr) {  // called as an lvalue: it runs many times
      g.ptr = p;
      g.size = size;
      return g;
    }
    if (size == min) return g;
  }
}

// The same loop for an allocator that fails every size above `largest` without any effect
// (no state changes on such a call): it starts at the largest multiple of min that could fit,
// so it makes the same calls as sof_range_loop from there on and returns the same grant,
// without its up to 2^64 / min failing steps for a huge `preferred`. `attempts` counts the calls
// made. Fails at once when sof_range_loop would, or when min > largest.
template <class TryAlloc>
range_grant sof_range_loop_bounded(TryAlloc&& try_alloc, std::size_t min, std::size_t preferred, std::size_t align,
                                   std::size_t largest) {
  if (min == 0 || preferred < min) return {};
  // The plain loop's first size: preferred rounded up to a multiple of min, if that fits.
  std::size_t first = preferred;
  if (const std::size_t rem = preferred % min; rem != 0) {
    if (preferred > std::numeric_limits<std::size_t>::max() - (min - rem)) return {};
    first += min - rem;
  }
  const std::size_t top = first < largest / min * min ? first : largest / min * min;
  if (top < min) return {};
  return sof_range_loop(try_alloc, min, top, align);
}

}  // namespace vmh::baseline
