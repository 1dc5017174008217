// Range fairness policy: how much of the free physical memory one range request may take.
//
// `allocate_range(min, preferred)` could always grant as much as fits. On a heap short of
// physical memory that starves the next request: it finds nothing left for its `min`. The
// policy caps a grant, never below the request's smallest grant `lo`:
//
//     cap = max(lo, available * min(share, available / total))     (adaptive, the default)
//     cap = max(lo, available * share)                             (fixed share)
//
// `available` is the physical memory free now and `total` the heap's whole physical memory
// (free + mapped by the heap). With the default share of 1/2 a request on an empty heap may
// take half of it; as memory fills, the share shrinks with the free fraction, so grants get
// smaller just when the next request's minimum is at risk. The README shows the trade-off
// (requests satisfied against granted/preferred) of this rule, fixed shares and greedy.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmh {

struct range_policy {
  std::uint32_t share_num = 1;  ///< the largest share of the free memory one grant may take
  std::uint32_t share_den = 2;
  bool adaptive = true;         ///< also limit the share to the free fraction of the memory

  /// Greedy: every grant takes all it can.
  static constexpr range_policy greedy() noexcept { return {1, 1, false}; }
  /// A fixed share of the free physical memory.
  static constexpr range_policy share(std::uint32_t num, std::uint32_t den) noexcept { return {num, den, false}; }
  /// A share of the free memory that shrinks with the free fraction (the default is adaptive(1, 2)).
  static constexpr range_policy adaptive_share(std::uint32_t num, std::uint32_t den) noexcept { return {num, den, true}; }

  /// The largest grant allowed with `available` free of `total` physical bytes, for a request
  /// whose smallest grant is `lo`. A zero denominator is read as "no cap".
  constexpr std::size_t cap(std::size_t available, std::size_t total, std::size_t lo) const noexcept {
    if (share_den == 0) return SIZE_MAX;
    std::size_t c = available / share_den * share_num + available % share_den * share_num / share_den;
    if (adaptive && total != 0 && available <= total) {
      // available * available / total in 64-bit integers (no floating point on the DSP): scale
      // both down until the square fits, which keeps the free fraction.
      std::uint64_t a = available, t = total;
      unsigned shift = 0;
      while ((a >> 32) != 0) {
        a >>= 1;
        t >>= 1;
        ++shift;
      }
      const std::uint64_t by_fraction = (a * a / t) << shift;
      if (by_fraction < c) c = static_cast<std::size_t>(by_fraction);
    }
    return c < lo ? lo : c;
  }
};

}  // namespace vmh
