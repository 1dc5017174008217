// Range fairness policy: how much of the free physical memory one range request may take.
//
// `allocate_range(min, preferred)` could always grant as much as fits. On a heap short of
// physical memory that starves the next request: it finds nothing left for its `min`. The
// policy caps the new physical memory a grant takes, never below the request's smallest grant `lo`:
//
//     cap = max(lo, available - max(4 * lo, total * 35/1000))         (reserve, the default)
//     cap = max(lo, available * min(share, sqrt(available / total)))   (adaptive)
//     cap = max(lo, available * share)                                 (fixed share; greedy is 1/1)
//
// `available` is the physical memory free now and `total` the heap's whole physical memory
// (free + mapped by the heap). The default keeps back what the next few requests of the same
// kind need as their minimum (four of them), and at least 3.5% of the memory, and lets a grant
// take the rest: deep buffers while memory is plentiful, the minimum when it is not. It was
// chosen by replaying the workload families against the adaptive rule, fixed shares and greedy
// (docs/measurements.md has the study and its held-out seeds).
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <bit>
#include <cstddef>
#include <cstdint>

namespace vmh {

/// The fairness rule of `heap::allocate_range`: caps the new physical memory one grant may take,
/// never below the request's smallest grant (the formulas are at the top of this header). The
/// default, all zero, is the reserve rule, reserve(4, 35, 1000). Every formula is exact for any
/// parameters and any sizes up to SIZE_MAX (an unlimited mapper's): a product past SIZE_MAX
/// saturates, so reserve(k, n, d) with n > d keeps back everything and grants the minimum.
struct range_policy {
  /// Which formula `cap` applies.
  enum class rule : std::uint8_t {
    reserve = 0,   ///< all but a reserve kept for the next requests
    adaptive = 1,  ///< share limited to sqrt(free fraction)
    fixed = 2,     ///< a fixed share
  };
  // All zero is the default (reserve of max(4 * lo, 35/1000 of the memory)), so a constinit
  // heap keeps its metadata in .bss.
  /// The formula; `share_num`, `share_den` and `reserve_mins` are its parameters.
  rule kind = rule::reserve;
  std::uint32_t share_num = 0;     ///< share of the free memory one grant may take, or of all memory kept back;
  std::uint32_t share_den = 0;     ///< 0/0: the rule's default (2/3 adaptive, 35/1000 reserve)
  std::uint32_t reserve_mins = 0;  ///< reserve rule: smallest grants kept back (0: 4)

  /// Greedy: every grant takes all it can.
  static constexpr range_policy greedy() noexcept { return {rule::fixed, 1, 1}; }
  /// A fixed share of the free physical memory.
  static constexpr range_policy share(std::uint32_t num, std::uint32_t den) noexcept { return {rule::fixed, num, den}; }
  /// A share of the free memory limited to sqrt(free fraction); adaptive_share(2, 3) was the default before the reserve rule.
  static constexpr range_policy adaptive_share(std::uint32_t num, std::uint32_t den) noexcept {
    return {rule::adaptive, num, den};
  }

  /// All of the free memory but a reserve of max(mins * lo, total * num / den), where lo is the
  /// request's smallest grant: the next requests' minimums stay servable. The default is
  /// reserve(4, 35, 1000).
  static constexpr range_policy reserve(std::uint32_t mins, std::uint32_t num, std::uint32_t den) noexcept {
    return {rule::reserve, num, den, mins};
  }

  /// The largest grant allowed with `available` free of `total` physical bytes, for a request
  /// whose smallest grant is `lo`.
  constexpr std::size_t cap(std::size_t available, std::size_t total, std::size_t lo) const noexcept {
    if (kind == rule::reserve) {
      const std::size_t rn = share_den == 0 ? 35 : share_num, rd = share_den == 0 ? 1000 : share_den;
      const std::size_t mins = reserve_mins == 0 ? 4 : reserve_mins;
      const std::size_t by_total = scaled(total, rn, rd);  // n > d keeps back more than everything: lo
      const std::size_t by_min = lo > SIZE_MAX / mins ? SIZE_MAX : lo * mins;
      const std::size_t keep = by_total > by_min ? by_total : by_min;
      return available > keep && available - keep > lo ? available - keep : lo;
    }
    const std::size_t den = share_den == 0 ? 3 : share_den;
    const std::size_t num = share_den == 0 ? 2 : share_num > share_den ? share_den : share_num;  // at most all of it
    std::size_t c = scaled(available, num, den);
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
  /// floor(x * num / den) for den > 0, or SIZE_MAX where that is more: exact, and no step wraps
  /// (the remainder's product has 64 bits, as num and den have 32).
  static constexpr std::size_t scaled(std::size_t x, std::size_t num, std::size_t den) noexcept {
    const std::size_t whole = x / den;
    const std::size_t part = static_cast<std::size_t>(std::uint64_t{x % den} * num / den);  // < num
    if (num != 0 && whole > (SIZE_MAX - part) / num) return SIZE_MAX;
    return whole * num + part;
  }
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
