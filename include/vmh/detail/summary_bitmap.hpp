// A bitmap that answers "the next (or previous) set bit from here" in a constant number of steps:
// one bit per item at the leaf level (level 0), and at each level above one bit per word of the
// level below, set while that word has a set bit. The levels are a compile-time constant (those
// `Bits` items need), so a search is at most 2 * Levels word steps with no loop over levels.
//
// The packed backing heap keeps its used granules and its free-chunk index in these.
#pragma once

#include <bit>
#include <cstddef>

#include "bits.hpp"

namespace vmh::detail {

/// Levels a summary bitmap of `bits` items needs: leaf words, then one bit per word below, up
/// to a single word.
constexpr std::size_t summary_levels(std::size_t bits) noexcept {
  std::size_t levels = 1;
  for (std::size_t words = ceil_div(bits, word_bits); words > 1; words = ceil_div(words, word_bits)) ++levels;
  return levels;
}

/// Words of all levels of a summary bitmap of `bits` items.
constexpr std::size_t summary_words(std::size_t bits) noexcept {
  std::size_t total = 0, words = ceil_div(bits, word_bits);
  for (std::size_t l = 0; l < summary_levels(bits); ++l) {
    total += words;
    words = ceil_div(words, word_bits);
  }
  return total;
}

/// A summary bitmap of `Bits` items, all clear when zero-initialized.
template <std::size_t Bits>
class summary_bitmap {
 public:
  /// No set bit at or after (before) the place asked.
  static constexpr std::size_t npos = SIZE_MAX;
  static constexpr std::size_t levels = summary_levels(Bits);

  /// Whether item i is set.
  constexpr bool test(std::size_t i) const noexcept { return (w_[i >> word_shift] >> (i % word_bits)) & 1u; }
  /// Whether no item is set.
  constexpr bool empty() const noexcept { return w_[top] == 0; }
  /// The word of the leaf level holding items [k * word_bits, (k + 1) * word_bits).
  constexpr word leaf(std::size_t k) const noexcept { return w_[k]; }

  /// Sets item i.
  VMH_HOT_SMALL constexpr void set(std::size_t i) noexcept {
    VMH_UNROLL
    for (std::size_t l = 0; l < levels; ++l) {
      word& w = w_[start(l) + (i >> word_shift)];
      const bool was_empty = w == 0;
      w |= word{1} << (i % word_bits);
      if (!was_empty) return;  // the levels above know this word has a set bit
      i >>= word_shift;
    }
  }
  /// Clears item i.
  VMH_HOT_SMALL constexpr void clear(std::size_t i) noexcept {
    VMH_UNROLL
    for (std::size_t l = 0; l < levels; ++l) {
      word& w = w_[start(l) + (i >> word_shift)];
      w &= ~(word{1} << (i % word_bits));
      if (w != 0) return;  // the word still has a set bit: nothing changes above
      i >>= word_shift;
    }
  }

  /// Clears every item.
  constexpr void clear_all() noexcept {
    for (word& w : w_) w = 0;
  }

  /// Sets items [a, b), a < b.
  VMH_HOT_SMALL constexpr void set_range(std::size_t a, std::size_t b) noexcept {
    if (const std::size_t k = a >> word_shift; k == (b - 1) >> word_shift) {  // one word: most ranges
      word& w = w_[k];
      const bool was_empty = w == 0;
      w |= low_mask(b - (k << word_shift)) & ~low_mask(a % word_bits);
      if (was_empty) summarize_set(k);
      return;
    }
    for (std::size_t k = a >> word_shift; k <= (b - 1) >> word_shift; ++k) {
      word& w = w_[k];
      if (w == 0) summarize_set(k);
      w |= range_mask(k, a, b);
    }
  }
  /// Clears items [a, b), a < b.
  VMH_HOT_SMALL constexpr void clear_range(std::size_t a, std::size_t b) noexcept {
    if (const std::size_t k = a >> word_shift; k == (b - 1) >> word_shift) {
      word& w = w_[k];
      w &= ~(low_mask(b - (k << word_shift)) & ~low_mask(a % word_bits));
      if (w == 0) summarize_clear(k);
      return;
    }
    for (std::size_t k = a >> word_shift; k <= (b - 1) >> word_shift; ++k) {
      word& w = w_[k];
      w &= ~range_mask(k, a, b);
      if (w == 0) summarize_clear(k);
    }
  }

  /// The lowest set item, or npos: one count of trailing zeros per level, from the top.
  VMH_HOT_SMALL constexpr std::size_t first() const noexcept {
    if (w_[top] == 0) return npos;
    std::size_t i = 0;
    VMH_UNROLL
    for (std::size_t l = levels; l-- > 0;) i = (i << word_shift) + static_cast<std::size_t>(std::countr_zero(w_[start(l) + i]));
    return i;
  }

  /// The lowest set item at or after i, or npos.
  VMH_HOT_SMALL constexpr std::size_t next(std::size_t i) const noexcept {
    if (i >= Bits) return npos;
    if (const word w = w_[i >> word_shift] & (all_ones << (i % word_bits)); w != 0)  // mostly in the same word
      return (i & ~(word_bits - 1)) + static_cast<std::size_t>(std::countr_zero(w));
    return next_above(i);
  }

  /// The highest set item at or before i, or npos.
  VMH_HOT_SMALL constexpr std::size_t prev(std::size_t i) const noexcept {
    if (i >= Bits) i = Bits - 1;
    if (const word w = w_[i >> word_shift] & low_mask((i % word_bits) + 1); w != 0)
      return (i & ~(word_bits - 1)) + highest_bit_index(w);
    return prev_above(i);
  }

  /// Checks that every upper bit says whether the word below has a set bit, and that no bit at
  /// or past `bits` is set. Returns the first level that is wrong, or `levels` when none is.
  constexpr std::size_t check(std::size_t bits) const noexcept {
    if (bits < Bits && next(bits) != npos) return 0;
    for (std::size_t l = 1; l < levels; ++l)
      for (std::size_t k = 0; k < words_at(l - 1); ++k)
        if (((w_[start(l) + (k >> word_shift)] >> (k % word_bits)) & 1u) != (w_[start(l - 1) + k] != 0)) return l;
    return levels;
  }

  /// Bytes of RAM a bitmap of `bits` items takes, counted as a layout of exactly that many would size it.
  static constexpr std::size_t bytes_for(std::size_t bits) noexcept { return summary_words(bits) * sizeof(word); }

 private:
  /// next(i) when the leaf word of i has no set bit at or after i: up the levels, then down.
  constexpr std::size_t next_above(std::size_t i) const noexcept {
    if (levels == 1) return npos;
    i = (i >> word_shift) + 1;  // the next leaf word, as a bit of level 1
    if (i >= words_at(0)) return npos;
    std::size_t l = 1;
    // Up: the first level whose word from i's position on has a set bit.
    for (;; ++l) {
      const word w = w_[start(l) + (i >> word_shift)] & (all_ones << (i % word_bits));
      if (w != 0) {
        i = (i & ~(word_bits - 1)) + static_cast<std::size_t>(std::countr_zero(w));
        break;
      }
      if (l + 1 == levels) return npos;
      i = (i >> word_shift) + 1;  // the next word of this level
      if (i >= words_at(l)) return npos;
    }
    // Down: every word on the way has a set bit; take its lowest.
    while (l-- > 0) i = (i << word_shift) + static_cast<std::size_t>(std::countr_zero(w_[start(l) + i]));
    return i;
  }

  /// prev(i) when the leaf word of i has no set bit at or before i.
  constexpr std::size_t prev_above(std::size_t i) const noexcept {
    if (levels == 1 || (i >> word_shift) == 0) return npos;
    i = (i >> word_shift) - 1;  // the previous leaf word, as a bit of level 1
    std::size_t l = 1;
    for (;; ++l) {
      const word w = w_[start(l) + (i >> word_shift)] & low_mask((i % word_bits) + 1);
      if (w != 0) {
        i = (i & ~(word_bits - 1)) + highest_bit_index(w);
        break;
      }
      if (l + 1 == levels || (i >> word_shift) == 0) return npos;
      i = (i >> word_shift) - 1;  // the previous word of this level
    }
    while (l-- > 0) i = (i << word_shift) + highest_bit_index(w_[start(l) + i]);
    return i;
  }

  struct level_table {
    std::size_t words[levels + 1] = {}, start[levels + 1] = {};
  };
  static constexpr level_table table = [] {
    level_table t{};
    std::size_t words = ceil_div(Bits, word_bits), at = 0;
    for (std::size_t l = 0; l <= levels; ++l) {
      t.words[l] = words;
      t.start[l] = at;
      at += words;
      words = ceil_div(words, word_bits);
    }
    return t;
  }();
  static constexpr std::size_t words_at(std::size_t l) noexcept { return table.words[l]; }
  static constexpr std::size_t start(std::size_t l) noexcept { return table.start[l]; }
  static constexpr std::size_t top = summary_words(Bits) - 1;

  /// The bits of leaf word k inside [a, b).
  static constexpr word range_mask(std::size_t k, std::size_t a, std::size_t b) noexcept {
    const std::size_t lo = k << word_shift;
    const std::size_t from = a > lo ? a - lo : 0, to = b - lo < word_bits ? b - lo : word_bits;
    return low_mask(to) & ~low_mask(from);
  }
  /// Leaf word k just got its first set bit: tell the levels above.
  constexpr void summarize_set(std::size_t k) noexcept {
    for (std::size_t l = 1; l < levels; ++l) {
      word& w = w_[start(l) + (k >> word_shift)];
      const bool was_empty = w == 0;
      w |= word{1} << (k % word_bits);
      if (!was_empty) return;
      k >>= word_shift;
    }
  }
  /// Leaf word k just lost its last set bit.
  constexpr void summarize_clear(std::size_t k) noexcept {
    for (std::size_t l = 1; l < levels; ++l) {
      word& w = w_[start(l) + (k >> word_shift)];
      w &= ~(word{1} << (k % word_bits));
      if (w != 0) return;
      k >>= word_shift;
    }
  }

  word w_[summary_words(Bits)] = {};
};

}  // namespace vmh::detail
