// Bit and integer helpers shared by the layout, the bitmaps and the heap.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

/// Forces inlining of a hot-path helper, so that a fixed layout's geometry folds into constants.
#if defined(__GNUC__)
#define VMH_HOT [[gnu::always_inline]] inline
#else
#define VMH_HOT inline
#endif

/// Keeps a failure-path helper out of line: one copy in flash, and none of its code in the hot paths.
#if defined(__GNUC__)
#define VMH_NOINLINE [[gnu::noinline]]
#else
#define VMH_NOINLINE
#endif

/// Inlines a small callee that several hot paths call, except when optimising for size, where
/// one out-of-line copy is smaller than one per caller.
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define VMH_HOT_SMALL [[gnu::always_inline]] inline
#else
#define VMH_HOT_SMALL inline
#endif

/// Unrolls a loop with a constant trip count (GCC and Clang leave such loops rolled at -O2; not
/// when optimising for size).
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define VMH_UNROLL _Pragma("GCC unroll 8")
#else
#define VMH_UNROLL
#endif

namespace vmh::detail {

/// Bitmap words have the width of the machine's size_t: 32 bits on a DSP or a Cortex-M, so no
/// 64-bit shifts or bit counts are emulated there.
using word = std::size_t;
inline constexpr std::size_t word_bits = std::numeric_limits<word>::digits;
inline constexpr unsigned word_shift = word_bits == 64 ? 6 : 5;
inline constexpr word all_ones = ~word{0};
inline constexpr unsigned size_bits = std::numeric_limits<std::size_t>::digits;

constexpr bool is_pow2(std::size_t x) noexcept { return x != 0 && (x & (x - 1)) == 0; }

/// Leading (trailing) zeros of x > 0: std::countl_zero tests for zero first where the target's
/// count instruction is undefined for it (x86-64 without lzcnt), a branch in every hot path.
template <class T>
VMH_HOT constexpr unsigned leading_zeros(T x) noexcept {
#if defined(__GNUC__)
  if constexpr (sizeof(T) <= sizeof(unsigned)) return static_cast<unsigned>(__builtin_clz(x)) - (std::numeric_limits<unsigned>::digits - std::numeric_limits<T>::digits);
  else if constexpr (sizeof(T) == sizeof(unsigned long)) return static_cast<unsigned>(__builtin_clzl(x));
  else return static_cast<unsigned>(__builtin_clzll(x));
#else
  return static_cast<unsigned>(std::countl_zero(x));
#endif
}
template <class T>
VMH_HOT constexpr unsigned trailing_zeros(T x) noexcept {
#if defined(__GNUC__)
  if constexpr (sizeof(T) <= sizeof(unsigned)) return static_cast<unsigned>(__builtin_ctz(x));
  else if constexpr (sizeof(T) == sizeof(unsigned long)) return static_cast<unsigned>(__builtin_ctzl(x));
  else return static_cast<unsigned>(__builtin_ctzll(x));
#else
  return static_cast<unsigned>(std::countr_zero(x));
#endif
}

/// floor(log2(x)) for x > 0.
VMH_HOT constexpr unsigned log2_floor(std::size_t x) noexcept {
  return static_cast<unsigned>(std::numeric_limits<std::size_t>::digits - 1) - leading_zeros(x);
}

/// Lowest set bit of x (its largest power-of-two divisor); 0 for x == 0.
constexpr std::size_t lowest_bit(std::size_t x) noexcept { return x & (~x + 1); }

/// ceil(a / b) for b > 0, without overflow.
constexpr std::size_t ceil_div(std::size_t a, std::size_t b) noexcept { return a / b + (a % b != 0); }

/// a rounded up to a multiple of the power of two p; the caller guarantees no overflow
/// (`fits_align_up`).
constexpr std::size_t align_up(std::size_t a, std::size_t p) noexcept { return (a + p - 1) & ~(p - 1); }
/// True when align_up(a, p) does not wrap around.
constexpr bool fits_align_up(std::size_t a, std::size_t p) noexcept { return a <= SIZE_MAX - (p - 1); }

/// Index of the highest set bit of x > 0.
template <class T>
constexpr unsigned highest_bit_index(T x) noexcept {
  return static_cast<unsigned>(std::numeric_limits<T>::digits - 1) - leading_zeros(x);
}

/// The lowest clear bit of a word that has one (no test for an all-ones word).
constexpr std::size_t first_zero(word w) noexcept {
#if defined(__GNUC__)
  if (!std::is_constant_evaluated()) {
    if constexpr (sizeof(word) == sizeof(unsigned long)) return static_cast<std::size_t>(__builtin_ctzl(~w));
    else if constexpr (sizeof(word) == sizeof(unsigned long long)) return static_cast<std::size_t>(__builtin_ctzll(~w));
  }
#endif
  return static_cast<std::size_t>(std::countr_one(w));
}

/// A member that takes no room ([[no_unique_address]]) where an optional capability is off.
struct empty {};

/// Mask of the n lowest bits of an unsigned T, n in [0, bits of T].
template <class T>
constexpr T low_mask_of(std::size_t n) noexcept {
  return n >= std::numeric_limits<T>::digits ? static_cast<T>(~T{0}) : static_cast<T>((T{1} << n) - 1);
}
/// Mask of the n lowest bits of a word, n in [0, word_bits].
constexpr word low_mask(std::size_t n) noexcept { return low_mask_of<word>(n); }

}  // namespace vmh::detail
