// Per-bucket hierarchical bitmaps: one bit per block at the leaf level (1 = used), and at each
// level above one bit per word of the level below (1 = that word is full). Every bucket of a
// layout has the same number of levels, a constant (`Levels`), so finding the lowest free block
// is exactly Levels count-trailing-zeros steps with no loop: O(1), whatever the fill.
//
// Padding bits past the block count stay 0; they are never returned because the search finds
// the *lowest* free bit and the heap only searches buckets that have a free block.
#pragma once

#include <bit>
#include <cstddef>

#include "../layout.hpp"
#include "bits.hpp"

namespace vmh::detail {

/// The lowest free block of a bucket that has at least one.
template <std::size_t Levels, class Bucket>
VMH_HOT std::size_t bitmap_find_free(const word* words, const Bucket& b) noexcept {
  std::size_t index = 0;
  VMH_UNROLL
  for (std::size_t step = 0; step < Levels; ++step)  // from the top: each word on the way down has a free bit
    index = (index << word_shift) + first_zero(words[b.level_word[Levels - 1 - step] + index]);
  return index;
}

/// Whether block i is used.
template <class Bucket>
VMH_HOT bool bitmap_test(const word* words, const Bucket& b, std::size_t i) noexcept {
  return (words[b.level_word[0] + (i >> word_shift)] >> (i % word_bits)) & 1u;
}

/// Marks block i used and propagates "full" upwards.
template <std::size_t Levels, class Bucket>
VMH_HOT void bitmap_set(word* words, const Bucket& b, std::size_t i) noexcept {
  VMH_UNROLL
  for (std::size_t level = 0; level < Levels; ++level) {
    word& w = words[b.level_word[level] + (i >> word_shift)];
    w |= word{1} << (i % word_bits);
    if (w != all_ones) return;
    i >>= word_shift;
  }
}

/// Marks block i free and clears "full" upwards.
template <std::size_t Levels, class Bucket>
VMH_HOT void bitmap_clear(word* words, const Bucket& b, std::size_t i) noexcept {
  VMH_UNROLL
  for (std::size_t level = 0; level < Levels; ++level) {
    word& w = words[b.level_word[level] + (i >> word_shift)];
    const bool was_full = w == all_ones;
    w &= ~(word{1} << (i % word_bits));
    if (!was_full) return;
    i >>= word_shift;
  }
}

/// The first index of n consecutive free blocks, or b.block_count if there is none.
/// A linear scan of the leaf words: O(block_count / 64), used for multi-block runs only.
template <class Bucket>
std::size_t bitmap_find_run(const word* words, const Bucket& b, std::size_t n) noexcept {
  const word* leaf = words + b.level_word[0];
  std::size_t start = 0, run = 0;
  for (std::size_t wi = 0; wi * word_bits < b.block_count; ++wi) {
    const word w = leaf[wi];
    if (w == 0) {  // 64 free blocks (or padding, cut off by the final check)
      if (run == 0) start = wi * word_bits;
      run += word_bits;
    } else {
      for (std::size_t bit = 0; bit < word_bits; ++bit) {
        if ((w >> bit) & 1u) {
          run = 0;
        } else {
          if (run == 0) start = wi * word_bits + bit;
          ++run;
        }
        if (run >= n) break;
      }
    }
    if (run >= n) return start + n <= b.block_count ? start : b.block_count;
  }
  return b.block_count;
}

}  // namespace vmh::detail
