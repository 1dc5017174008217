// Everything observable about a heap through its public queries, to show that a call that
// failed (or did nothing) left the heap exactly as it was: statistics in total and per bucket,
// the usable size at every block start, and what a counting mapper holds and was asked.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <vmh/vmh.hpp>

namespace vmh_test {

/// For each granule of the packed region and each block start of the heap's geometry, the
/// usable size there (0 when no live allocation starts there).
template <class Heap>
std::vector<std::size_t> live_blocks(const Heap& h, const std::byte* base) {
  std::vector<std::size_t> out;
  const auto& g = h.geometry();
  for (std::size_t k = 0; k < g.packed.granules; ++k) out.push_back(h.usable_size(base + (k << g.packed.granule_shift)));
  for (std::size_t b = 0; b < g.bucket_count; ++b)
    for (std::size_t i = 0; i < g.buckets[b].block_count; ++i)
      out.push_back(h.usable_size(base + g.block_offset(g.buckets[b], i)));
  return out;
}

/// What a failed call may change; everything else must stay as it was.
struct allowed_changes {
  std::size_t no_block = 0;    ///< failed_no_block grows by exactly this
  std::size_t no_memory = 0;   ///< failed_no_memory grows by exactly this
  bool full_failures = false;  ///< a bucket's full_failures may grow (the request's first fit was full)
  bool mapper_calls = false;   ///< the mapper's call counts may change (a refused map call is a call)
  bool peaks = false;          ///< the peak figures may grow (an allocation came and went)
};

/// A heap's observable state. `base` is the start of its virtual range.
template <class Heap>
struct heap_state {
  vmh::heap_stats totals{};
  std::vector<vmh::bucket_stats> buckets;
  std::vector<std::size_t> live;  ///< live_blocks()
  // What a counting_mapper holds and was asked; 0 with any other mapper.
  std::size_t mapped = 0, map_calls = 0, unmap_calls = 0;

  heap_state(const Heap& h, const std::byte* base) : totals(h.stats()), live(live_blocks(h, base)) {
    for (std::size_t b = 0; b < h.bucket_count(); ++b) buckets.push_back(h.stats(b));
    if constexpr (std::is_same_v<typename Heap::mapper_type, vmh::counting_mapper>) {
      mapped = h.mapper().mapped();
      map_calls = h.mapper().map_calls();
      unmap_calls = h.mapper().unmap_calls();
    }
  }
  bool operator==(const heap_state&) const = default;
};

/// What differs between `before` and `now` beyond what `allowed` permits, as a list of the
/// parts that differ; empty when nothing does.
template <class Heap>
std::string changes(const heap_state<Heap>& before, const heap_state<Heap>& now, allowed_changes allowed = {}) {
  heap_state<Heap> expected = before;
  expected.totals.failed_no_block += allowed.no_block;
  expected.totals.failed_no_memory += allowed.no_memory;
  if (allowed.mapper_calls) {
    expected.map_calls = now.map_calls;
    expected.unmap_calls = now.unmap_calls;
  }
  if (allowed.peaks) {
    expected.totals.peak_bytes_in_blocks = std::max(now.totals.peak_bytes_in_blocks, before.totals.peak_bytes_in_blocks);
    expected.totals.peak_pages_mapped = std::max(now.totals.peak_pages_mapped, before.totals.peak_pages_mapped);
    if (now.buckets.size() == expected.buckets.size())
      for (std::size_t b = 0; b < now.buckets.size(); ++b)
        expected.buckets[b].peak_in_use = std::max(now.buckets[b].peak_in_use, before.buckets[b].peak_in_use);
  }
  if (allowed.full_failures && now.buckets.size() == expected.buckets.size())
    for (std::size_t b = 0; b < now.buckets.size(); ++b)
      if (now.buckets[b].full_failures >= before.buckets[b].full_failures)
        expected.buckets[b].full_failures = now.buckets[b].full_failures;
  if (now == expected) return {};
  std::string out;
  auto differs = [&out](const std::string& what) { out += (out.empty() ? "" : ", ") + what; };
  if (!(now.totals == expected.totals)) differs("total statistics");
  if (now.buckets.size() != expected.buckets.size()) differs("bucket count");
  else
    for (std::size_t b = 0; b < now.buckets.size(); ++b)
      if (!(now.buckets[b] == expected.buckets[b])) differs("statistics of bucket " + std::to_string(b));
  if (now.live != expected.live) differs("live blocks");
  if (now.mapped != expected.mapped) differs("mapped bytes");
  if (now.map_calls != expected.map_calls || now.unmap_calls != expected.unmap_calls) differs("mapper calls");
  return out;
}

}  // namespace vmh_test
