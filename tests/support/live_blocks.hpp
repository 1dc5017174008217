// What a heap holds, seen through its public queries only: for each block start, the usable
// size there (0 when no live allocation starts there). Tests compare it before and after an
// operation to show that the operation changed nothing.
#pragma once

#include <cstddef>
#include <vector>

namespace vmh_test {

template <class Heap>
std::vector<std::size_t> live_blocks(const Heap& h, const std::byte* base) {
  std::vector<std::size_t> out;
  const auto& g = h.geometry();
  for (std::size_t b = 0; b < g.bucket_count; ++b)
    for (std::size_t i = 0; i < g.buckets[b].block_count; ++i)
      out.push_back(h.usable_size(base + g.buckets[b].offset + i * g.buckets[b].block_size));
  return out;
}

}  // namespace vmh_test
