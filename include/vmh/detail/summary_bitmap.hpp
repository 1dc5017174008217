// A bitmap that finds its lowest set bit in a constant number of steps: one bit per item at the
// leaf level (level 0), and at each level above one bit per word of the level below, set while
// that word has a set bit. The levels are a compile-time constant (those `Bits` items need), so
// `first` is one count of trailing zeros per level, with no loop over a word of the level.
//
// The packed backing heap keeps, per class of small free chunk, the groups that hold one in these.
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
  /// No set bit.
  static constexpr std::size_t npos = SIZE_MAX;
  /// Levels of the bitmap, leaf included.
  static constexpr std::size_t levels = summary_levels(Bits);

  /// Whether item i is set.
  constexpr bool test(std::size_t i) const noexcept { return (w_[i >> word_shift] >> (i % word_bits)) & 1u; }
  /// Whether no item is set.
  constexpr bool empty() const noexcept { return w_[top] == 0; }

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

  /// The lowest set item, or npos: one count of trailing zeros per level, from the top.
  VMH_HOT_SMALL constexpr std::size_t first() const noexcept {
    if (w_[top] == 0) return npos;
    std::size_t i = 0;
    VMH_UNROLL
    for (std::size_t step = 0; step < levels; ++step)
      i = (i << word_shift) + static_cast<std::size_t>(trailing_zeros(w_[start(levels - 1 - step) + i]));
    return i;
  }

  /// Checks that every upper bit says whether the word below has a set bit, and that no bit at
  /// or past `bits` is set. Returns the first level that is wrong, or `levels` when none is.
  constexpr std::size_t check(std::size_t bits) const noexcept {
    for (std::size_t i = bits; i < words_at(0) * word_bits; ++i)
      if (test(i)) return 0;
    for (std::size_t l = 1; l < levels; ++l)
      for (std::size_t k = 0; k < words_at(l - 1); ++k)
        if (((w_[start(l) + (k >> word_shift)] >> (k % word_bits)) & 1u) != (w_[start(l - 1) + k] != 0)) return l;
    return levels;
  }

  /// Bytes of RAM a bitmap of `bits` items takes, counted as a bitmap of exactly that many would size it.
  static constexpr std::size_t bytes_for(std::size_t bits) noexcept { return summary_words(bits) * sizeof(word); }

 private:
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

  word w_[summary_words(Bits)] = {};
};

}  // namespace vmh::detail
