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

// The bit array itself, for the models whose cost follows the real code's (sof_vmh.hpp): Zephyr's
// layout (bit i is bit i % 32 of 32-bit word i / 32) and the way its functions work on it, so
// that the model does the real code's work: a region is checked and changed a word at a time
// with a mask for its first and its last word; the lowest-run search starts at the first clear
// bit and, on a region that does not fit, goes on just past the first taken bit found in it.
// Written from that description, not from Zephyr's source. The functions a real caller reaches
// in another translation unit are kept out of line (VMH_BIT_ARRAY_CALL): Zephyr is not built
// with link-time optimisation, so each of them is a call there too; so are the region check and
// change, which the real bit array's functions share and its compiler keeps out of line.
#if defined(__GNUC__)
#define VMH_BIT_ARRAY_CALL [[gnu::noinline]]
#else
#define VMH_BIT_ARRAY_CALL
#endif

namespace bit_array {

/// Where a region [offset, offset + n) lies (n >= 1): its first and last word, the bit it starts
/// at in the first and ends at in the last, and the masks of those two words; a region in one
/// word has the two masks combined in `first_mask`.
struct region {
  std::size_t first, last;
  std::size_t first_bit, last_bit;
  std::uint32_t first_mask, last_mask;
};

inline void region_of(region& r, std::size_t offset, std::size_t n) {
  const std::size_t end = offset + n - 1;
  r.first = offset / bit_array_word_bits;
  r.first_bit = offset % bit_array_word_bits;
  r.last = end / bit_array_word_bits;
  r.last_bit = end % bit_array_word_bits;
  r.first_mask = ~std::uint32_t{0} << r.first_bit;
  r.last_mask = ~std::uint32_t{0} >> (bit_array_word_bits - 1 - r.last_bit);
  if (r.first == r.last) r.first_mask &= r.last_mask;
}

/// Whether every bit of [offset, offset + n) is `set` (true) or clear (false); its words and
/// masks go to r, for a change that follows. When not, *mismatch (if given) is the lowest wrong
/// bit of the first wrong word found, the words being checked first, last, then those between.
VMH_BIT_ARRAY_CALL inline bool region_is(const std::uint32_t* words, std::size_t offset, std::size_t n, bool set,
                                         region& r, std::size_t* mismatch) {
  region_of(r, offset, n);
  const std::uint32_t flip = set ? ~std::uint32_t{0} : 0;  // wrong bits: those equal to ~set
  std::size_t at = r.first;
  std::uint32_t wrong = (words[at] ^ flip) & r.first_mask;
  if (wrong == 0 && r.first != r.last) {
    at = r.last;
    wrong = (words[at] ^ flip) & r.last_mask;
    for (std::size_t k = r.first + 1; wrong == 0 && k < r.last; ++k) {
      at = k;
      wrong = words[k] ^ flip;
    }
  }
  if (wrong == 0) return true;
  if (mismatch != nullptr) *mismatch = at * bit_array_word_bits + static_cast<std::size_t>(std::countr_zero(wrong));
  return false;
}

/// Sets (or clears) every bit of [offset, offset + n); r, when given, is its region as
/// region_is found it.
VMH_BIT_ARRAY_CALL inline void set_region(std::uint32_t* words, std::size_t offset, std::size_t n, bool set,
                                          const region* r) {
  region own;
  if (r == nullptr) {
    region_of(own, offset, n);
    r = &own;
  }
  if (r->first == r->last) {
    words[r->first] = set ? words[r->first] | r->first_mask : words[r->first] & ~r->first_mask;
    return;
  }
  const std::uint32_t fill = set ? ~std::uint32_t{0} : 0;
  words[r->first] = set ? words[r->first] | r->first_mask : words[r->first] & ~r->first_mask;
  words[r->last] = set ? words[r->last] | r->last_mask : words[r->last] & ~r->last_mask;
  for (std::size_t k = r->first + 1; k < r->last; ++k) words[k] = fill;
}

/// Takes a run of n clear bits of an array of `bits` bits under `fit` (bit_runs' rules) and sets
/// them: the index of the run's first bit, or no_run (nothing changes then).
VMH_BIT_ARRAY_CALL inline std::size_t alloc(std::uint32_t* words, std::size_t bits, std::size_t n, bit_array_fit fit) {
  if (n == 0 || n > bits) return no_run;
  if (fit == bit_array_fit::gap && bits <= bit_array_word_bits) {
    const std::size_t at = gap_free_run(words[0], bits, n);
    if (at != no_run) words[0] |= run_mask(at, n);
    return at;
  }
  // Start at the first clear bit: skip the full words, then the taken bits of the next one.
  const std::size_t word_count = (bits + bit_array_word_bits - 1) / bit_array_word_bits;
  std::size_t at = 0;
  for (std::size_t k = 0; k < word_count; ++k) {
    if (words[k] == ~std::uint32_t{0}) {
      at += bit_array_word_bits;
      continue;
    }
    at += static_cast<std::size_t>(std::countr_one(words[k]));
    break;
  }
  std::size_t mismatch = 0;
  region r;
  while (at <= bits - n) {
    if (region_is(words, at, n, false, r, &mismatch)) {
      set_region(words, at, n, true, &r);
      return at;
    }
    at = mismatch + 1;
  }
  return no_run;
}

/// Clears region [offset, offset + n) if every bit of it is set; false (nothing changes) if not,
/// or if the region is not in the array.
VMH_BIT_ARRAY_CALL inline bool free(std::uint32_t* words, std::size_t bits, std::size_t n, std::size_t offset) {
  if (n == 0 || offset + n > bits) return false;
  region r;
  if (!region_is(words, offset, n, true, r, nullptr)) return false;
  set_region(words, offset, n, false, &r);
  return true;
}

/// Whether every bit of [offset, offset + n) is clear (false outside the array).
VMH_BIT_ARRAY_CALL inline bool is_region_cleared(const std::uint32_t* words, std::size_t bits, std::size_t n,
                                                 std::size_t offset) {
  if (n == 0 || offset + n > bits) return false;
  region r;
  return region_is(words, offset, n, false, r, nullptr);
}

/// Sets (or clears) [offset, offset + n) whatever it held (false outside the array).
VMH_BIT_ARRAY_CALL inline bool change_region(std::uint32_t* words, std::size_t bits, std::size_t n,
                                             std::size_t offset, bool set) {
  if (n == 0 || offset + n > bits) return false;
  set_region(words, offset, n, set, nullptr);
  return true;
}

/// Bit i (false outside the array).
inline bool test(const std::uint32_t* words, std::size_t bits, std::size_t i) {
  return i < bits && (words[i / bit_array_word_bits] >> (i % bit_array_word_bits) & 1u) != 0;
}

}  // namespace bit_array

}  // namespace vmh::baseline
