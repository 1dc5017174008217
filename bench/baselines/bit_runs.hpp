// Which run of free bits Zephyr's bit array (sys_bitarray_alloc) hands out, for the models of
// SOF's allocators built on it: the VMH's bundles (sof_vmh.hpp) and the vpage window
// (sof_vpage.hpp). Two rules exist, one per Zephyr version:
//  - lowest: the lowest run of n free bits (Zephyr 4.0.0: a scan from the first free bit);
//  - gap:    for an array of one 32-bit word, a free gap of exactly n bits, the one nearest the
//            top of the word, else the smallest longer gap (again the one nearest the top),
//            taking its lowest n bits; a larger array takes the lowest run (the Zephyr SOF's
//            west.yml pins, newer than 4.0.0; docs/baselines.md).
// The real code's rule is found by running it (bench/real): the models take the rule as an
// argument so that each can be checked against the Zephyr tree it is built with.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace vmh::baseline {

enum class bit_array_fit : bool { lowest, gap };

/// The rule of the Zephyr that SOF's firmware builds with.
inline constexpr bit_array_fit sof_bit_array_fit = bit_array_fit::gap;

inline constexpr std::size_t no_run = static_cast<std::size_t>(-1);
inline constexpr std::size_t bit_array_word_bits = 32;

/// Index of the lowest run of `n` (>= 1) zero entries of used[0, count), or no_run.
template <class Used>
std::size_t lowest_free_run(const Used& used, std::size_t count, std::size_t n) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < count; ++i) {
    run = used[i] != 0 ? 0 : run + 1;
    if (run == n) return i + 1 - n;
  }
  return no_run;
}

/// The gap rule over one word: `used_mask` has bit i set while bit i of the array is taken,
/// `count` <= 32 bits exist. Index of the run's first bit, or no_run.
inline std::size_t gap_free_run(std::uint32_t used_mask, std::size_t count, std::size_t n) {
  const std::uint64_t all = (std::uint64_t{1} << count) - 1;
  std::uint64_t free = ~std::uint64_t{used_mask} & all;
  std::size_t exact = no_run, best = no_run, best_len = SIZE_MAX;
  while (free != 0) {  // gaps from the lowest up: a later (higher) gap replaces an equal one
    const auto start = static_cast<std::size_t>(std::countr_zero(free));
    const auto len = static_cast<std::size_t>(std::countr_one(free >> start));
    if (len == n) exact = start;
    else if (len > n && len <= best_len) best = start, best_len = len;
    free &= ~(((std::uint64_t{1} << len) - 1) << start);
  }
  return exact != no_run ? exact : best;
}

/// The run of `n` free entries the bit array takes under `fit`: `used` has one entry per bit
/// (non-zero while taken), `used_mask` the same bits packed (read only when count <= 32).
template <class Used>
std::size_t choose_free_run(bit_array_fit fit, const Used& used, std::uint32_t used_mask, std::size_t count,
                            std::size_t n) {
  if (n == 0 || n > count) return no_run;
  if (fit == bit_array_fit::gap && count <= bit_array_word_bits) return gap_free_run(used_mask, count, n);
  return lowest_free_run(used, count, n);
}

/// Bits [first, first + n) of a one-word array as a mask (n >= 1, first + n <= 32).
inline std::uint32_t run_mask(std::size_t first, std::size_t n) {
  return static_cast<std::uint32_t>(((std::uint64_t{1} << n) - 1) << first);
}

}  // namespace vmh::baseline
