// Range fairness policy: how much of the free physical memory one range request may take.
//
// `allocate_range(min, preferred)` could always grant as much as fits. On a heap that is short
// of physical memory that starves the next request: it finds nothing left for its `min`. The
// policy caps a grant at a share of the physical bytes still free; the grant is never capped
// below the request's own minimum.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmh {

struct range_policy {
  /// A grant takes at most available * share_num / share_den bytes; share_den == 0 disables the cap.
  std::uint32_t share_num = 1;
  std::uint32_t share_den = 3;

  /// Greedy: every grant takes all it can.
  static constexpr range_policy greedy() noexcept { return {1, 0}; }
  /// A fixed share of the free physical memory.
  static constexpr range_policy share(std::uint32_t num, std::uint32_t den) noexcept { return {num, den}; }

  /// The largest grant allowed with `available` free physical bytes, for a request whose
  /// smallest grant is `lo`, with `live` allocations in the heap.
  constexpr std::size_t cap(std::size_t available, std::size_t lo, std::size_t live) const noexcept {
    (void)live;
    if (share_den == 0) return SIZE_MAX;
    const std::size_t c = available / share_den * share_num + available % share_den * share_num / share_den;
    return c < lo ? lo : c;
  }
};

}  // namespace vmh
