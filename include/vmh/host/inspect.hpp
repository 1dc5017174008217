// Page-level inspection of a heap on the host: which pages a bucket's live allocations use and
// how many of them are resident in physical memory.
//
// Built only on the heap's public queries (geometry, per-bucket statistics, usable_size), plus
// mincore for residency. It needs the start of the heap's virtual range (`base`), which is the
// window's base (for instance `mmap_range::base()`).
//
// It takes the heap's lock once per live block it looks at, not once for the whole walk: with
// other threads using the heap, the answer is a best-effort snapshot.
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

#include <cstddef>

#include "../detail/bits.hpp"
#include "../mapper.hpp"
#include "mmap.hpp"

namespace vmh::host {

/// Pages of one bucket.
struct page_count {
  std::size_t mapped_pages = 0;    ///< heap pages touched by the bucket's live allocations (the heap maps exactly these)
  std::size_t resident_bytes = 0;  ///< bytes of those pages resident in physical memory now (mincore)
};

/// The pages used by bucket `b`'s live allocations, for a heap whose virtual range starts at
/// `base`. A page shared with an allocation of a neighbouring bucket counts for both buckets.
/// O(blocks up to the last live one) calls of `usable_size`, plus one mincore per run of pages.
template <class Heap>
page_count bucket_pages(const Heap& heap, const void* base, std::size_t b) noexcept {
  page_count out{};
  const auto& g = heap.geometry();
  if (base == nullptr || b >= heap.bucket_count()) return out;
  const auto& bg = g.buckets[b];
  const auto* range = static_cast<const std::byte*>(base);
  const std::size_t in_use = heap.stats(b).in_use;

  // The pages of successive allocations, merged into maximal runs [first, end).
  std::size_t first = 0, end = 0;
  auto flush = [&] {
    out.mapped_pages += end - first;
    out.resident_bytes += resident_bytes(range + (first << g.page_shift), (end - first) << g.page_shift);
  };
  std::size_t covered = 0;  // blocks of live allocations seen so far
  for (std::size_t i = 0; i < bg.block_count && covered < in_use;) {
    const std::size_t offset = g.block_offset(bg, i);
    const std::size_t usable = heap.usable_size(range + offset);
    if (usable == 0) {
      ++i;
      continue;
    }
    // usable_size ends at the allocation's last page or last block, whichever comes first: the
    // allocation's pages are exactly those it touches, and its blocks those it spans.
    const std::size_t blocks = ::vmh::detail::ceil_div(usable, bg.block_size);
    const std::size_t p0 = offset >> g.page_shift;
    const std::size_t p1 = (offset + usable + g.page_size - 1) >> g.page_shift;
    if (end != 0 && p0 <= end) {
      if (p1 > end) end = p1;
    } else {
      if (end != 0) flush();
      first = p0;
      end = p1;
    }
    covered += blocks;
    i += blocks;
  }
  if (end != 0) flush();
  return out;
}

/// Whether the heap's mapper maps pages at all (false for plain RAM, `vmh::null_mapper`).
template <class Heap>
inline constexpr bool maps_pages = ::vmh::detail::tracks_pages<typename Heap::mapper_type>();

}  // namespace vmh::host
