// Bit and integer helpers shared by the layout, the bitmaps and the heap.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace vmh::detail {

using word = std::uint64_t;
inline constexpr std::size_t word_bits = 64;
inline constexpr word all_ones = ~word{0};

constexpr bool is_pow2(std::size_t x) noexcept { return x != 0 && (x & (x - 1)) == 0; }

/// floor(log2(x)) for x > 0.
constexpr unsigned log2_floor(std::size_t x) noexcept {
  return static_cast<unsigned>(std::numeric_limits<std::size_t>::digits - 1 - std::countl_zero(x));
}

/// Lowest set bit of x (its largest power-of-two divisor); 0 for x == 0.
constexpr std::size_t lowest_bit(std::size_t x) noexcept { return x & (~x + 1); }

/// ceil(a / b) for b > 0, without overflow.
constexpr std::size_t ceil_div(std::size_t a, std::size_t b) noexcept { return a / b + (a % b != 0); }

/// a rounded up to a multiple of the power of two p; the caller guarantees no overflow.
constexpr std::size_t align_up(std::size_t a, std::size_t p) noexcept { return (a + p - 1) & ~(p - 1); }

/// Mask of the n lowest bits, n in [0, 64].
constexpr word low_mask(std::size_t n) noexcept { return n >= word_bits ? all_ones : (word{1} << n) - 1; }

}  // namespace vmh::detail
