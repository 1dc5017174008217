// Where an allocator's SRAM goes: the budget split into components that add up to it exactly.
//
// An allocator reports, at one moment, its live allocations where it placed them (offset,
// bytes the caller holds, bytes the allocation keeps from others) and, if it maps pages, the
// pages it has mapped (allocator::place). Everything else follows from those two lists:
//
//  pages model (vmh, SOF's VMH, a packed backing heap: pages mapped from a budget while live
//  bytes need them). Each byte of a mapped page is exactly one of
//    live requested       inside [offset, offset + requested) of a live allocation
//    sub-page rounding    inside [offset + requested, offset + reserved) of an allocation whose
//                         reserved bytes are fewer than a page (a block's or a granule's tail)
//    last-page rounding   the same for an allocation that reserves a page or more
//    free in mapped pages in no live allocation's reserved bytes (free blocks or granules in
//                         partly used pages)
//  and the rest of the budget is
//    metadata + rounding  budget - usable, usable = the bytes the allocator may map (its
//                         charged metadata rounded to pages)
//    unmapped             usable - mapped
//  so live + sub-page + last-page + free + metadata + unmapped = budget.
//
//  region model (sys_heap: one region of SRAM, always powered, headers in band):
//    live requested, per-allocation overhead (reserved - requested: the chunk's header, its
//    rounding to units and an aligned block's gap), free chunks (usable - reserved),
//    metadata (budget - usable: chunk 0 and the end marker), and
//  live + overhead + free + metadata = budget.
//
// A new kind of allocator only implements allocator::place; the split, its JSON, its tables and
// the heap map's colours come from here.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/replay.hpp"

namespace vmh::sim {

/// How an allocator holds its SRAM, which decides the components of its split.
enum class sram_model : unsigned char {
  none,    ///< the allocator does not report its placement: no split
  pages,   ///< pages mapped from a budget while live bytes need them
  region,  ///< one region of SRAM with in-band headers, all of it in use
};

/// One live allocation where its allocator placed it.
struct placed_allocation {
  std::size_t offset = 0;     ///< from the start of the allocator's range (pages: of its page 0)
  std::size_t requested = 0;  ///< bytes the caller holds (asked for; granted, for a range): [offset, offset + requested)
  /// Bytes from `offset` that no other allocation may use: its block(s), its granule-rounded size,
  /// or its chunk (header included). At least `requested`.
  std::size_t reserved = 0;
};

/// What an allocator reports to the split (allocator::place).
struct sram_placement {
  sram_model model = sram_model::none;
  std::size_t page = 0;    ///< pages: the page size (a power of two)
  /// Bytes the buffers may take: pages: the bytes of pages the allocator may map; region: the
  /// bytes its chunks may span. The budget less this is the metadata's share.
  std::size_t usable = 0;
  std::vector<placed_allocation> live;
  std::vector<std::size_t> mapped_pages;  ///< pages: the indices (offset / page) of the mapped pages
};

/// What one mapped byte is (the pages model).
enum class sram_part : unsigned char { live, sub_page_rounding, last_page_rounding, free_in_pages };
inline constexpr std::size_t sram_parts = 4;

/// A run [begin, end) of mapped bytes of one part.
struct sram_segment {
  std::size_t begin = 0, end = 0;
  sram_part part = sram_part::free_in_pages;
};

/// Every mapped byte of a pages placement, as ascending runs that cover the mapped pages exactly
/// (adjacent runs of one part merged). `consistent` is cleared when the placement cannot be
/// right: overlapping allocations, reserved < requested, or requested bytes in unmapped pages.
/// O(A log A + M log M) for A live allocations and M mapped pages.
std::vector<sram_segment> classify_pages(const sram_placement& p, bool& consistent);

/// The budget split at one moment. Pages model: every field; region model: `sub_page_rounding`
/// holds the per-allocation overhead, `free_in_pages` the free chunks, and `last_page_rounding`
/// and `unmapped` are 0.
struct sram_split {
  sram_model model = sram_model::none;
  long long op = -1;  ///< the operation after which it was taken (-1: none)
  std::size_t budget = 0;
  std::size_t live = 0;
  std::size_t sub_page_rounding = 0;
  std::size_t free_in_pages = 0;
  std::size_t last_page_rounding = 0;
  std::size_t metadata = 0;  ///< budget - usable
  std::size_t unmapped = 0;
  /// The components add up to the budget, the live bytes are all there, and the mapped pages
  /// match the bytes the allocator says it has mapped.
  bool exact = true;

  std::size_t sum() const {
    return live + sub_page_rounding + free_in_pages + last_page_rounding + metadata + unmapped;
  }
};

/// The split of `p` for an allocator given `budget` bytes of SRAM that says it has `committed`
/// bytes mapped now (pages model; the region model ignores it).
sram_split split_sram(const sram_placement& p, std::size_t budget, std::size_t committed);

/// Follows the live blocks of a replay (every event, in order) and splits an allocator's SRAM
/// on demand.
class sram_tracker {
 public:
  void follow(const event& e);
  /// The split of `a`, with `budget` bytes of SRAM, after operation `op`; model none when `a`
  /// does not report its placement.
  sram_split split(const allocator& a, std::size_t budget, long long op) const;
  /// The live blocks now (pointer and the bytes the caller holds), in no order.
  std::vector<live_block> live() const;

 private:
  std::unordered_map<const void*, std::size_t> live_;
};

/// Means of splits of one model over several replays (one split each).
struct sram_mean {
  sram_model model = sram_model::none;
  std::size_t samples = 0;
  double budget = 0, live = 0, sub_page_rounding = 0, free_in_pages = 0, last_page_rounding = 0, metadata = 0,
         unmapped = 0;  ///< sums until mean() divides them
  bool exact = true;
  /// Adds a split (one of model none is not counted).
  void add(const sram_split& s);
  /// The means: every sum divided by `samples` (unchanged when there are none).
  sram_mean mean() const;
};

/// A split as a JSON object: `null` when it was never taken (op -1) or the allocator does not
/// report its placement; the members are named after the model's components (docs/vmh-sim.md).
std::string sram_json(const sram_split& s);
/// A mean split as a JSON object with `samples`; `null` with no sample.
std::string sram_json(const sram_mean& m);

/// One row of the split tables: an allocator's mean split at one moment.
struct sram_row {
  std::string allocator, moment;
  sram_mean mean;  ///< already divided
};
/// The Markdown tables of `rows` (KiB, one decimal): one for the pages model, one for the region
/// model, each only when a row has that model.
std::string sram_tables(std::span<const sram_row> rows);

}  // namespace vmh::sim
