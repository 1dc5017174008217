// vmh::heap::validate -- the consistency checker, apart from the algorithm (heap.hpp includes
// this header at its end, so `validate()` is there wherever the heap is).
//
// It recomputes everything the heap keeps incrementally -- bucket counts, full bits, size
// records, page counts, mapped pages -- from the bitmaps and the live allocations, streaming
// once over the blocks in address order with no scratch memory, and compares. O(blocks + pages).
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <cstddef>
#include <cstdint>

#include "heap.hpp"

namespace vmh {

/// The invariants `heap::validate` checks.
enum class invariant : std::uint8_t {
  ok = 0,
  not_configured,     ///< the heap has no usable layout (not an inconsistency)
  bitmap_summary,     ///< an upper bitmap bit disagrees with the fullness of the word below
  bitmap_padding,     ///< a bitmap bit past the block count is set
  in_use_count,       ///< a bucket's in_use differs from the used bits of its bitmap
  peak_in_use,        ///< a bucket's peak is below its in_use
  full_mask,          ///< a bucket's open bit disagrees with in_use < block_count (or is set past the last bucket)
  free_block_size,    ///< a free block has a size record
  orphan_block,       ///< a used block is neither an allocation start nor covered by a run
  run_overflow,       ///< an allocation's size exceeds its block, or its run the bucket's remaining blocks
  page_refs,          ///< a page's reference count differs from the live allocations touching it
  pages_mapped,       ///< pages_mapped differs from the pages the live allocations touch (or peak below it)
  mapper_mapped,      ///< the mapper reports other mapped bytes than the heap's pages
  block_bytes,        ///< the bytes in blocks differ from the blocks in use (or peak below it)
  live_allocations,   ///< the live allocation count differs from the allocation starts
  packed_region,      ///< the backing heap's packed region is inconsistent (`check::bucket`: which way, `check::index`: where)
};

/// A short human-readable description of an invariant, for logs ("ok" for `invariant::ok`).
constexpr const char* to_string(invariant i) noexcept {
  switch (i) {
    case invariant::ok: return "ok";
    case invariant::not_configured: return "heap not configured";
    case invariant::bitmap_summary: return "bitmap summary bit wrong";
    case invariant::bitmap_padding: return "bitmap padding bit set";
    case invariant::in_use_count: return "bucket in_use count wrong";
    case invariant::peak_in_use: return "bucket peak below in_use";
    case invariant::full_mask: return "bucket full bit wrong";
    case invariant::free_block_size: return "free block has a size";
    case invariant::orphan_block: return "used block without allocation";
    case invariant::run_overflow: return "allocation runs past its block or bucket";
    case invariant::page_refs: return "page reference count wrong";
    case invariant::pages_mapped: return "mapped page count wrong";
    case invariant::mapper_mapped: return "mapper's mapped bytes disagree";
    case invariant::block_bytes: return "bytes in blocks wrong";
    case invariant::live_allocations: return "live allocation count wrong";
    case invariant::packed_region: return "packed region inconsistent";
  }
  return "unknown";
}

/// The result of `validate`: which invariant broke, and where (bucket and block, or page).
struct check {
  /// the invariant that broke, `invariant::ok` when the heap is consistent
  invariant broken = invariant::ok;
  /// the bucket it broke in: 0 for a heap-wide count, `bucket_count` for a full bit past the last bucket
  std::size_t bucket = 0;
  /// where in the bucket, or what was found: the block, page or bitmap level, or for a count
  /// that disagrees the recomputed figure
  std::size_t index = 0;
  /// True when no invariant broke.
  constexpr explicit operator bool() const noexcept { return broken == invariant::ok; }
};

namespace detail {

/// Checks bucket b's bitmap: no padding bit set, and every upper bit says whether the word
/// below is full.
template <class Bucket>
check check_bitmap(const word* words, const Bucket& bg, std::size_t levels, std::size_t b) noexcept {
  std::size_t bits = bg.block_count;  // meaningful bits at this level
  for (std::size_t level = 0; level < levels; ++level) {
    const std::size_t nwords = ceil_div(bits, word_bits);
    const word* w = words + bg.level_word[level];
    if (const std::size_t tail = bits % word_bits; tail != 0 && (w[nwords - 1] & ~low_mask(tail)) != 0)
      return {invariant::bitmap_padding, b, level};
    if (level + 1 < levels) {
      const word* up = words + bg.level_word[level + 1];
      for (std::size_t i = 0; i < nwords; ++i) {
        const bool full = w[i] == all_ones;
        if ((((up[i / word_bits] >> (i % word_bits)) & 1u) != 0) != full) return {invariant::bitmap_summary, b, level + 1};
      }
    }
    bits = nwords;
  }
  return {};
}

/// Streams the live allocations in address order and checks each shared page's count against
/// the allocations touching it, without a scratch array: allocations are disjoint and sorted,
/// so only the last page seen can still gain references.
struct page_walk {
  std::size_t next = 0;     ///< pages below this are checked
  std::size_t pending = 0;  ///< the last page touched so far, not yet checked
  std::size_t count = 0;    ///< allocations touching `pending` (0: none pending)
  std::size_t bad = 0;
  bool expect(const std::uint16_t* refs, std::size_t p, std::size_t n) {
    if (refs[p] == n) return true;
    bad = p;
    return false;
  }
  bool visit(const std::uint16_t* refs, std::size_t first, std::size_t end) {
    if (count != 0 && pending < first) {
      if (!expect(refs, pending, count)) return false;
      next = pending + 1;
      count = 0;
    }
    for (std::size_t p = next; p < first; ++p)
      if (!expect(refs, p, 0)) return false;
    if (count == 0) pending = first;
    ++count;
    if (end - first > 1) {
      if (!expect(refs, first, count)) return false;
      for (std::size_t p = first + 1; p + 1 < end; ++p)
        if (!expect(refs, p, 1)) return false;
      pending = end - 1;
      count = 1;
    }
    next = pending;
    return true;
  }
  bool finish(const std::uint16_t* refs, std::size_t total) {
    if (count != 0) {
      if (!expect(refs, pending, count)) return false;
      next = pending + 1;
    }
    for (std::size_t p = next; p < total; ++p)
      if (!expect(refs, p, 0)) return false;
    return true;
  }
};

}  // namespace detail

template <bucket_layout Layout, page_mapper Mapper, window_range Window, lock_policy Lock, heap_options Options>
check heap<Layout, Mapper, Window, Lock, Options>::validate() const noexcept {
  detail::lock_guard guard(lock_);
  const geometry_type& g = layout_.geo();
  if (current_state() != layout_error::none) return {invariant::not_configured, 0, 0};
  // A heap not yet opened (constant-initialized, no request yet) opens every bucket at its first.
  const mask open = unopened() ? g.all_buckets() : open_;
  std::size_t live = 0, bytes = 0, owned_pages = 0;
  detail::page_walk walk{};
  if constexpr (packs) {
    // The packed region comes first in the window: its allocations open the page walk.
    if (const auto f = packed_.check(detail::packed_of<Layout>(g)); f.what != backing_heap::fault::kind::none)
      return {invariant::packed_region, static_cast<std::size_t>(f.what), f.where};
    const unsigned to_pages = detail::packed_of<Layout>(g).page_granule_shift;
    bool pages_ok = true;
    packed_.for_each(detail::packed_of<Layout>(g), [&](std::size_t first, std::size_t end) {
      if constexpr (tracks_pages) pages_ok = walk.visit(refs_, first >> to_pages, ((end - 1) >> to_pages) + 1);
      return pages_ok;
    });
    if (!pages_ok) return {invariant::page_refs, 0, walk.bad};
    live += packed_.live();
    bytes += packed_.granules_in_use() << detail::packed_of<Layout>(g).granule_shift;
  }
  for (std::size_t b = 0; b < g.bucket_count; ++b) {
    const bucket_type& bg = detail::index_of<Layout>(g).buckets[b];
    const bool has_records = has_record(bg);
    if (const check k = detail::check_bitmap(words_, bg, g.levels, b); !k) return k;
    std::size_t used = 0, run_left = 0;
    for (std::size_t i = 0; i < bg.block_count; ++i) {
      const std::size_t size = has_records ? records_[record_index(bg, i)] : 0;
      if (!detail::bitmap_test(words_, bg, i)) {
        if (size != 0) return {invariant::free_block_size, b, i};
        if (run_left != 0) return {invariant::orphan_block, b, i};
        continue;
      }
      ++used;
      if (records_all && size == 0) {  // must continue the run of an earlier allocation
        if (run_left == 0) return {invariant::orphan_block, b, i};
        --run_left;
        continue;
      }
      if (run_left != 0) return {invariant::orphan_block, b, i};
      if (has_records && size == 0) return {invariant::orphan_block, b, i};  // a used block without its size
      const std::size_t n = run_length(bg, recorded(bg, i));
      if (n > bg.block_count - i || (!records_all && size > bg.block_size)) return {invariant::run_overflow, b, i};
      run_left = n - 1;
      ++live;
      const std::size_t offset = detail::index_of<Layout>(g).block_offset(b, i);
      const std::size_t first = offset >> g.page_shift, end = page_end_of(g, bg, offset, recorded(bg, i));
      if constexpr (tracks_pages) {
        if (bg.owned) owned_pages += end - first;
        else if (!walk.visit(refs_, first, end)) return {invariant::page_refs, b, walk.bad};
      }
    }
    bytes += used * bg.block_size;
    if (used != in_use_[b]) return {invariant::in_use_count, b, used};
    if constexpr (keeps_stats)
      if (stats_[b].peak < in_use_[b]) return {invariant::peak_in_use, b, stats_[b].peak};
    if (((open >> b) & 1u) != (in_use_[b] < bg.block_count ? 1u : 0u)) return {invariant::full_mask, b, 0};
  }
  if ((open & static_cast<mask>(~g.all_buckets())) != 0) return {invariant::full_mask, g.bucket_count, 0};
  if (live != live_) return {invariant::live_allocations, 0, live};
  if constexpr (keeps_stats)
    if (bytes != totals_.bytes || totals_.peak_bytes < bytes) return {invariant::block_bytes, 0, bytes};
  if constexpr (tracks_pages) {
    if (!walk.finish(refs_, g.ref_pages)) return {invariant::page_refs, 0, walk.bad};
    std::size_t mapped = owned_pages;
    for (std::size_t p = 0; p < g.ref_pages; ++p) mapped += refs_[p] != 0;
    if (mapped != pages_) return {invariant::pages_mapped, 0, mapped};
    if constexpr (keeps_stats)
      if (totals_.peak_pages < mapped) return {invariant::pages_mapped, 0, mapped};
    if constexpr (detail::reports_mapped<Mapper>)
      if (mapper_.mapped() != (mapped << g.page_shift)) return {invariant::mapper_mapped, 0, mapper_.mapped()};
  }
  return {};
}

}  // namespace vmh
