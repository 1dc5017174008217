// Model of SOF's virtual page allocator (vpage, SOF's zephyr/lib/vpage.c), the base of the
// page runs SOF plans for large allocations ("vregions"), used as a baseline in the replay.
//
// A window of virtual pages, one bit each in a Zephyr bit array. An allocation of n pages takes
// a run of n free bits (the bit array's rule, bit_runs.hpp: the lowest run on a window of more
// than 32 pages) and maps all n pages at once: no mapping on demand, no partial unmapping, no
// resize. A record {pages, first page} per live allocation, at most 128, is how a free finds
// its length: a linear scan of the 128 slots.
//
// The records come in two kinds (vpage_records):
//  - mended: a free moves the last record into the freed slot, so the records stay dense.
//    This is what the code means to do, and what the replay's `sof_vpage` runs: vmh is
//    compared with the design, not with its bug.
//  - as_upstream: a free copies the slot one past the last record (which is empty) into the
//    freed slot, as vpage.c does. After alloc A, alloc B, free A, alloc C the record of B is
//    overwritten: B can never be freed and its pages leak. With 128 records in use the copy
//    reads and clears the slot past the array; the model keeps that slot as a zero record.
//    tests/real checks this kind against vpage.c itself.
//
// The window is physical memory too (SOF sizes it from the L2 SRAM left), so a map never runs
// out of pages before the window does; the model maps from the window alone. Addresses are
// base + page offsets; they are never dereferenced.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "baselines/bit_runs.hpp"

namespace vmh::baseline {

enum class vpage_records : bool { mended, as_upstream };

class sof_vpage_model {
 public:
  static constexpr std::uintptr_t default_base = 0x20000000;
  /// At most this many live allocations (CONFIG_SOF_VPAGE_MAX_ALLOCS).
  static constexpr std::size_t max_allocs = 128;

  /// The allocator's static state on the 32-bit DSP: a mutex (5 words), the free and total
  /// page counts, the region pointer, a mem_blocks allocator (7 words, statistics on), a bit
  /// array header (4 words), the count of records in use and 128 records of two 16-bit fields.
  static constexpr std::size_t context_bytes = 5 * 4 + 3 * 4 + 7 * 4 + 4 * 4 + 4 + max_allocs * 4;
  /// Its bit array's words, one per 32 pages, which its init takes from the system heap.
  static constexpr std::size_t bitmap_bytes(std::size_t pages) { return 4 * ((pages + 31) / 32); }

  /// A window of `pages` pages of `page_size` bytes starting at `base` (page-aligned). A window
  /// of no page, or of more pages than a record's 16-bit fields can name, is invalid and
  /// refuses every call.
  sof_vpage_model(std::size_t pages, std::size_t page_size, std::uintptr_t base = default_base,
                  bit_array_fit fit = sof_bit_array_fit, vpage_records records = vpage_records::mended)
      : pages_(pages), page_(page_size), base_(base), fit_(fit), kind_(records), free_pages_(pages) {
    if (pages == 0 || pages > 0xffff || page_size == 0 || base % page_size != 0) return;
    used_.assign(pages, 0);
    valid_ = true;
  }

  bool valid() const { return valid_; }

  /// A run of `pages` pages, all mapped, or null: for no page, when fewer pages are free than
  /// asked, when 128 records are in use, or when no run of free pages is long enough.
  void* alloc(std::size_t pages) {
    if (!valid_ || pages == 0 || free_pages_ < pages || in_use_ >= max_allocs) return nullptr;
    const std::size_t first = choose_free_run(fit_, used_, mask_, pages_, pages);
    if (first == no_run) return nullptr;
    for (std::size_t i = first; i < first + pages; ++i) used_[i] = 1;
    if (pages_ <= bit_array_word_bits) mask_ |= run_mask(first, pages);
    free_pages_ -= pages;
    mapped_ += pages;
    if (mapped_ > peak_) peak_ = mapped_;
    records_[in_use_++] = {static_cast<std::uint16_t>(pages), static_cast<std::uint16_t>(first)};
    return reinterpret_cast<void*>(base_ + first * page_);
  }

  /// Frees the run starting at p and unmaps its pages. False, changing nothing, for a pointer
  /// that is not page-aligned or that no record names (a leaked run's among them).
  bool free(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    if (!owns(p) || (a - base_) % page_ != 0) return false;
    const std::size_t first = (a - base_) / page_;
    std::size_t slot = 0;
    while (slot < max_allocs && !(records_[slot].pages > 0 && records_[slot].first == first)) ++slot;
    if (slot == max_allocs) return false;
    const std::size_t pages = records_[slot].pages;
    for (std::size_t i = first; i < first + pages; ++i) used_[i] = 0;
    if (pages_ <= bit_array_word_bits) mask_ &= ~run_mask(first, pages);
    mapped_ -= pages;
    // The slot that fills the freed one: the last record, or (as vpage.c has it) the one after.
    const std::size_t from = kind_ == vpage_records::mended ? in_use_ - 1 : in_use_;
    if (from != slot) records_[slot] = records_[from];
    records_[from] = {};
    --in_use_;
    free_pages_ += pages;
    return true;
  }

  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return valid_ && a >= base_ && (a - base_) / page_ < pages_;
  }
  /// Pages: of the window, free, mapped now and at most at once.
  std::size_t pages() const { return pages_; }
  std::size_t free_pages() const { return free_pages_; }
  std::size_t mapped_pages() const { return mapped_; }
  std::size_t peak_mapped_pages() const { return peak_; }
  /// Records in use (live allocations, and with as_upstream the leaked ones too).
  std::size_t records_in_use() const { return in_use_; }

  /// The bit array, the mapped pages and the free count agree; with mended records every run
  /// of taken pages is exactly one record's.
  bool validate() const {
    if (!valid_) return true;
    std::size_t taken = 0;
    std::uint32_t mask = 0;
    for (std::size_t i = 0; i < pages_; ++i) {
      taken += used_[i];
      if (i < bit_array_word_bits) mask |= std::uint32_t{used_[i]} << i;
    }
    if (taken != mapped_ || free_pages_ + taken != pages_ || peak_ < mapped_) return false;
    if (pages_ <= bit_array_word_bits && mask != mask_) return false;
    if (in_use_ > max_allocs || records_[max_allocs].pages != 0) return false;
    if (kind_ == vpage_records::as_upstream) return true;
    std::vector<std::uint8_t> recorded(pages_, 0);
    std::size_t recorded_pages = 0;
    for (std::size_t s = 0; s < max_allocs; ++s) {
      const record& r = records_[s];
      if ((s < in_use_) != (r.pages != 0)) return false;
      for (std::size_t i = r.first; i < std::size_t{r.first} + r.pages; ++i) {
        if (i >= pages_ || recorded[i] != 0 || used_[i] == 0) return false;
        recorded[i] = 1;
        ++recorded_pages;
      }
    }
    return recorded_pages == taken;
  }

 private:
  struct record {
    std::uint16_t pages = 0, first = 0;
  };
  std::size_t pages_, page_;
  std::uintptr_t base_;
  bit_array_fit fit_;
  vpage_records kind_;
  bool valid_ = false;
  std::vector<std::uint8_t> used_;  // one entry per page, 1 while taken
  std::uint32_t mask_ = 0;          // the same bits packed, for a window of at most 32 pages
  std::size_t free_pages_, mapped_ = 0, peak_ = 0, in_use_ = 0;
  std::array<record, max_allocs + 1> records_{};  // the last: the slot past vpage.c's array
};

}  // namespace vmh::baseline
