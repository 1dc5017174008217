// Range fairness policy: how much of the free physical memory one range request may take.
//
// `allocate_range(min, preferred)` could always grant as much as fits. On a heap short of
// physical memory that starves the next request: it finds nothing left for its `min`. The
// policy caps a grant, never below the request's smallest grant `lo`:
//
//     cap = max(lo, available * min(share, sqrt(available / total)))   (adaptive, the default)
//     cap = max(lo, available * share)                                 (fixed share)
//
// `available` is the physical memory free now and `total` the heap's whole physical memory
// (free + mapped by the heap). With the default share of 2/3, a request on an empty heap may
// take two thirds of it; as memory fills, the share shrinks with the square root of the free
// fraction, so grants get smaller just when the next request's minimum is at risk, but not so
// fast that deep buffers are refused while memory is still plentiful. The README shows the
// trade-off (requests satisfied against granted/preferred) of this rule, fixed shares and greedy.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace vmh {

struct range_policy {
  enum class rule : std::uint8_t {
    adaptive = 0,  ///< share limited to sqrt(free fraction)
    fixed = 1,     ///< a fixed share
  };
  // All zero is the default (adaptive, 2/3), so a constinit heap keeps its metadata in .bss.
  rule kind = rule::adaptive;
  std::uint32_t share_num = 0;  ///< the largest share of the free memory one grant may take;
  std::uint32_t share_den = 0;  ///< 0/0 means the default share, 2/3

  /// Greedy: every grant takes all it can.
  static constexpr range_policy greedy() noexcept { return {rule::fixed, 1, 1}; }
  /// A fixed share of the free physical memory.
  static constexpr range_policy share(std::uint32_t num, std::uint32_t den) noexcept { return {rule::fixed, num, den}; }
  /// A share of the free memory limited to sqrt(free fraction); the default is adaptive_share(2, 3).
  static constexpr range_policy adaptive_share(std::uint32_t num, std::uint32_t den) noexcept {
    return {rule::adaptive, num, den};
  }

  /// The largest grant allowed with `available` free of `total` physical bytes, for a request
  /// whose smallest grant is `lo`.
  constexpr std::size_t cap(std::size_t available, std::size_t total, std::size_t lo) const noexcept {
    const std::size_t num = share_den == 0 ? 2 : share_num, den = share_den == 0 ? 3 : share_den;
    std::size_t c = available / den * num + available % den * num / den;
    if (kind == rule::adaptive && total != 0 && available <= total) {
      // sqrt(available / total) in 16.16 fixed point (no floating point on the DSP). Scale both
      // down until available fits 32 bits, which keeps the fraction.
      std::uint64_t a = available, t = total;
      while ((a >> 32) != 0) {
        a >>= 1;
        t >>= 1;
      }
      const std::uint64_t root = isqrt((a << 32) / t);  // <= 1 << 16
      const std::uint64_t by_fraction = (available >> 16) * root + (((available & 0xffffu) * root) >> 16);
      if (by_fraction < c) c = static_cast<std::size_t>(by_fraction);
    }
    return c < lo ? lo : c;
  }

 private:
  /// floor(sqrt(x)), digit by digit: 32 steps, no division.
  static constexpr std::uint64_t isqrt(std::uint64_t x) noexcept {
    if (x == 0) return 0;
    std::uint64_t root = 0, bit = std::uint64_t{1} << ((std::bit_width(x) - 1) & ~1u);
    while (bit != 0) {
      if (x >= root + bit) {
        x -= root + bit;
        root = (root >> 1) + bit;
      } else {
        root >>= 1;
      }
      bit >>= 2;
    }
    return root;
  }
};

}  // namespace vmh
