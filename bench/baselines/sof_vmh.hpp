// Model of SOF's virtual-memory heap (VMH), used as a baseline in the replay
// and benchmarks. It reproduces the heap's intended behaviour, without the
// defects of its history: a fixed table of bundles of power-of-two blocks laid
// out back to back in a virtual window, first fit over the table, the block
// within a bundle chosen as Zephyr's mem_blocks and bit array choose it (bit_runs.hpp),
// physical pages mapped only while a live block needs them, and
// a physical page budget standing in for the SRAM. Its bookkeeping outside the
// buffers is reported by metadata_bytes().
//
// The model owns no memory. Addresses are base + offset into the virtual
// window; they may be compared and printed but must never be dereferenced.
// Cache maintenance and the heap's mutex have no observable effect on which
// requests succeed or how many pages are mapped, so they are not modelled.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "baselines/bit_runs.hpp"

namespace vmh::baseline {

struct sof_bundle {
  std::size_t block_size;
  std::size_t block_count;
};

// SOF's default table (block size, count): its Kconfig enables the "extended"
// 32 KiB bundle by default, so the region is 1.25 MiB. The last bundle holds the
// key-phrase (wake-on-voice) history buffer. This is what a firmware build has.
inline constexpr sof_bundle sof_default_table[] = {
    {128, 32},  {512, 8},    {1024, 44},  {2048, 8},   {4096, 11},
    {8192, 10}, {32768, 8},  {65536, 3},  {131072, 1}, {524288, 1},
};

// The table without the 32 KiB bundle, a 1 MiB region (what SOF's Linux
// overlay configures).
inline constexpr sof_bundle sof_1mib_table[] = {
    {128, 32},  {512, 8},    {1024, 44},   {2048, 8},   {4096, 11},
    {8192, 10}, {65536, 3},  {131072, 1},  {524288, 1},
};

// Earlier names: SOF's production table is its default, the extended one.
inline constexpr const auto& sof_production_table = sof_default_table;
inline constexpr const auto& sof_extended_table = sof_default_table;

inline constexpr std::size_t sof_page_size = 4096;

class sof_vmh_model {
 public:
  static constexpr std::uintptr_t default_base = 0x10000000;
  // SOF's configuration holds at most this many bundles.
  static constexpr std::size_t max_bundles = 10;

  // What the real heap keeps outside its buffers, at 32 bits (ACE DSPs, SMP, so a
  // spinlock is one word), with Zephyr's mem_blocks statistics on (the per-bundle
  // statistics below need them); sizes from the structures' fields:
  //  - per bundle, a mem_blocks allocator (block count, block size shift, blocks in
  //    use and their peak, buffer and bitmap pointers, spinlock) and two bit arrays,
  //    the blocks' bitmap and the multi-block size bitmap, each a header (bit count,
  //    word count, word pointer, spinlock) and one 32-bit word per 32 blocks;
  //  - per heap, the heap structure: a mutex, the region pointer, per table slot an
  //    allocator pointer, a size-bitmap pointer and an out-of-blocks count, and two
  //    flags (logged, contiguous).
  // The real code takes each piece from the system heap at init, one allocation each,
  // in the order for_each_bookkeeping_allocation() gives; tests/real checks the sizes
  // against the real structures.
  static constexpr std::size_t mem_blocks_struct_bytes = 7 * 4;
  static constexpr std::size_t bitarray_struct_bytes = 4 * 4;
  static constexpr std::size_t mutex_bytes = 5 * 4;  // wait queue (two links), owner, lock count, priority
  static constexpr std::size_t heap_struct_bytes = mutex_bytes + 4 + 3 * 4 * max_bundles + 4;

  // Calls f(bytes) for each allocation the real heap's init makes for a table: the heap
  // structure, then per bundle its allocator, its two bit arrays and their two word arrays.
  template <class F>
  static constexpr void for_each_bookkeeping_allocation(std::span<const sof_bundle> table, F&& f) {
    f(heap_struct_bytes);
    for (const sof_bundle& b : table) {
      const std::size_t words = 4 * ((b.block_count + 31) / 32);
      f(mem_blocks_struct_bytes);
      f(bitarray_struct_bytes);
      f(bitarray_struct_bytes);
      f(words);
      f(words);
    }
  }

  // Bytes of that bookkeeping for a table (0 for an empty one).
  static constexpr std::size_t metadata_bytes(std::span<const sof_bundle> table) noexcept {
    if (table.empty()) return 0;
    std::size_t bytes = 0;
    for_each_bookkeeping_allocation(table, [&bytes](std::size_t n) { bytes += n; });
    return bytes;
  }

  struct bundle_stats {
    std::size_t block_size;
    std::size_t block_count;
    std::size_t used;           // blocks in use now
    std::size_t max_used;       // most blocks ever in use at once
    std::size_t full_failures;  // see alloc(): requests that failed with this bundle full
  };

  // The table is checked as SOF checks it: 1..max_bundles entries, every block
  // size a power of two, and the running total a multiple of the page size
  // after every bundle. Checking the total after each bundle (not only at the
  // end) keeps every bundle page-aligned, so pages of blocks >= a page are
  // never shared with another bundle. page_size must be a power of two and base
  // page-aligned. Ascending order is not required (SOF does not check it);
  // first fit then simply follows the table order. An invalid model fails
  // every alloc and free. `fit` is the bit array's rule (bit_runs.hpp).
  sof_vmh_model(std::span<const sof_bundle> table, std::size_t page_size,
                std::size_t physical_pages_budget, std::uintptr_t base = default_base,
                bit_array_fit fit = sof_bit_array_fit)
      : page_size_(page_size), budget_(physical_pages_budget), base_(base), fit_(fit) {
    if (table.empty() || table.size() > max_bundles) return;
    if (page_size == 0 || !std::has_single_bit(page_size) || base % page_size != 0) return;
    std::vector<bundle> bundles;
    std::size_t offset = 0;
    std::size_t blocks = 0;
    for (const sof_bundle& t : table) {
      if (!std::has_single_bit(t.block_size)) return;
      if (t.block_count > (SIZE_MAX - offset) / t.block_size) return;
      bundles.push_back({t.block_size, t.block_count, offset, blocks, 0, 0, 0, 0});
      offset += t.block_size * t.block_count;
      blocks += t.block_count;
      if (offset % page_size != 0) return;
    }
    if (offset > UINTPTR_MAX - base) return;
    metadata_bytes_ = metadata_bytes(table);
    bundles_ = std::move(bundles);
    region_bytes_ = offset;
    used_.assign(blocks, 0);
    cont_.assign(blocks, 0);
    page_users_.assign(offset / page_size, 0);
    valid_ = true;
  }

  bool valid() const { return valid_; }

  /// RAM the heap's bookkeeping takes outside the buffers, as the real code keeps
  /// it on the 32-bit DSP (metadata_bytes(table) for this model's table; 0 when
  /// invalid): what a budget comparison charges against the SRAM. The model's own
  /// host-side vectors are not counted; they stand in for the same bitmaps.
  std::size_t metadata_bytes() const noexcept { return valid_ ? metadata_bytes_ : 0; }

  // First fit over the table. In the default mode a bundle is eligible when its
  // block is at least `size` (exact fit included) and takes one block. In
  // contiguous mode every bundle is eligible whose block count can hold
  // ceil(size / block) blocks, and the first bundle with such a run of free
  // blocks provides one. Which blocks of a bundle: choose_blocks.
  //
  // `align` is accepted and ignored, as in SOF: a block's address is fixed by
  // its position, so the alignment is whatever the block gives (sub-page
  // blocks are aligned to their size, larger blocks at least to the page).
  //
  // Pages: for blocks >= a page only the pages covering `size` are mapped; for
  // blocks < a page, a page is mapped when its first block comes into use.
  // If the budget cannot supply the new pages nothing is taken and the call
  // fails (counted in mapping_failures()); like SOF it does not go on to try
  // a later bundle. The driver maps page by page until the pages run out and
  // SOF then unmaps what it mapped, so for a moment every page of the budget
  // is mapped: the peak counts it. A zero-byte request fails.
  //
  // "Full": when no eligible bundle has a free block (or run), the request
  // fails and each eligible bundle counts one full failure. A request that
  // spilled to a later bundle did not fail and counts nothing; a request too
  // large for every bundle (none eligible) or failing on the page budget counts
  // no full failure either, since no bundle was full for it.
  void* alloc(std::size_t size, std::size_t align = 0, bool contiguous = false) {
    (void)align;
    if (!valid_ || size == 0) return nullptr;
    bool any_full = false;
    for (bundle& b : bundles_) {
      const std::size_t n = blocks_needed(b, size, contiguous);
      if (n == 0 || n > b.block_count) continue;
      const std::size_t first = choose_blocks(b, n);
      if (first == npos) {
        any_full = true;
        continue;
      }
      const std::size_t offset = b.offset + first * b.block_size;
      if (mapped_ + new_pages(b, offset, n, size) > budget_) {
        ++mapping_failures_;
        if (budget_ > peak_mapped_) peak_mapped_ = budget_;
        return nullptr;
      }
      take(b, first, n, size);
      return reinterpret_cast<void*>(base_ + offset);
    }
    if (any_full) {
      for (bundle& b : bundles_) {
        const std::size_t n = blocks_needed(b, size, contiguous);
        if (n != 0 && n <= b.block_count) ++b.full_failures;
      }
    }
    return nullptr;
  }

  // Releases the block (or run) starting at p and unmaps the pages no live
  // block uses any more. Anything but the start of a live block or run is
  // rejected and leaves the heap unchanged.
  bool free(void* p) {
    std::size_t bi = 0, index = 0;
    if (!find_live_start(p, bi, index)) return false;
    bundle* b = &bundles_[bi];
    const std::size_t n = run_length(*b, index);
    const std::size_t g = b->first_block + index;
    for (std::size_t k = 0; k < n; ++k) used_[g + k] = cont_[g + k] = 0;
    if (b->block_count <= bit_array_word_bits) b->used_mask &= ~run_mask(index, n);
    b->used -= n;
    const std::size_t offset = b->offset + index * b->block_size;
    if (b->block_size < page_size_) {
      for (std::size_t k = 0; k < n; ++k) unuse_page((offset + k * b->block_size) / page_size_);
    } else {
      // Only a prefix of the run was mapped; the rest of its pages are
      // unmapped already and exclusive to this run, so walking all is exact.
      const std::size_t first_page = offset / page_size_;
      const std::size_t pages = n * b->block_size / page_size_;
      for (std::size_t q = first_page; q < first_page + pages; ++q)
        if (page_users_[q] != 0) unuse_page(q);
    }
    return true;
  }

  // Bytes of the block or run starting at p (0 if p is not a live start).
  std::size_t usable_size(void* p) const {
    std::size_t bi = 0, index = 0;
    if (!find_live_start(p, bi, index)) return 0;
    return run_length(bundles_[bi], index) * bundles_[bi].block_size;
  }

  std::size_t bundle_count() const { return bundles_.size(); }
  bundle_stats stats(std::size_t bundle_index) const {
    const bundle& b = bundles_.at(bundle_index);
    return {b.block_size, b.block_count, b.used, b.max_used, b.full_failures};
  }

  std::size_t mapped_pages() const { return mapped_; }
  std::size_t peak_mapped_pages() const { return peak_mapped_; }
  std::size_t mapping_failures() const { return mapping_failures_; }
  std::size_t physical_pages_budget() const { return budget_; }
  std::size_t page_size() const { return page_size_; }
  std::size_t virtual_bytes() const { return region_bytes_; }
  std::uintptr_t base() const { return base_; }
  // Whether page q of the window (its offset / page size) is mapped now.
  bool page_mapped(std::size_t q) const { return q < page_users_.size() && page_users_[q] != 0; }
  bit_array_fit fit() const { return fit_; }
  // Whether p lies in the heap's virtual window.
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return valid_ && a >= base_ && a - base_ < region_bytes_;
  }

  // Cross-checks the block bitmap, the bit-array words, the run-length bitmap,
  // the per-bundle counters and the page user counts against each other.
  bool validate() const {
    if (!valid_) return true;
    std::vector<std::uint32_t> expected(page_users_.size(), 0);
    for (const bundle& b : bundles_) {
      std::size_t used = 0;
      for (std::size_t i = 0; i < b.block_count; ++i) {
        const std::size_t g = b.first_block + i;
        if (used_[g] > 1 || cont_[g] > 1) return false;
        used += used_[g];
        if (cont_[g] != 0) {
          // A run continues into the next block, which must exist and be used.
          if (used_[g] == 0 || i + 1 == b.block_count || used_[g + 1] == 0) return false;
        }
      }
      if (used != b.used || b.max_used < b.used || b.max_used > b.block_count) return false;
      if (b.block_count <= bit_array_word_bits) {
        std::uint32_t mask = 0;
        for (std::size_t i = 0; i < b.block_count; ++i) mask |= std::uint32_t{used_[b.first_block + i]} << i;
        if (mask != b.used_mask) return false;
      }

      if (b.block_size < page_size_) {
        for (std::size_t i = 0; i < b.block_count; ++i)
          if (used_[b.first_block + i] != 0) ++expected[(b.offset + i * b.block_size) / page_size_];
        continue;
      }
      // Blocks >= a page: a live run has a non-empty mapped prefix of its pages
      // (one user each); a free block has no mapped page.
      const std::size_t per_block = b.block_size / page_size_;
      for (std::size_t i = 0; i < b.block_count;) {
        const std::size_t first_page = (b.offset + i * b.block_size) / page_size_;
        if (used_[b.first_block + i] == 0) {
          ++i;
          continue;
        }
        const std::size_t n = run_length(b, i);
        bool in_prefix = true;
        for (std::size_t q = 0; q < n * per_block; ++q) {
          const std::uint32_t users = page_users_[first_page + q];
          if (users > 1 || (q == 0 && users == 0) || (!in_prefix && users != 0)) return false;
          if (users == 0) in_prefix = false;
          expected[first_page + q] = users;
        }
        i += n;
      }
    }
    if (expected != page_users_) return false;
    std::size_t mapped = 0;
    for (std::uint32_t u : page_users_) mapped += (u != 0);
    return mapped == mapped_ && mapped_ <= budget_ && peak_mapped_ >= mapped_;
  }

 private:
  struct bundle {
    std::size_t block_size;
    std::size_t block_count;
    std::size_t offset;       // bytes from base
    std::size_t first_block;  // index of its first block in used_/cont_
    std::size_t used;
    std::size_t max_used;
    std::size_t full_failures;
    // Bundles of at most bit_array_word_bits blocks: bit i set while block i is
    // in use (the bit array's word; used_ holds the same per block).
    std::uint32_t used_mask;
  };

  static constexpr std::size_t npos = no_run;

  std::size_t blocks_needed(const bundle& b, std::size_t size, bool contiguous) const {
    if (contiguous) return size / b.block_size + (size % b.block_size != 0);
    return b.block_size >= size ? 1 : 0;
  }

  // Which blocks a request of n blocks takes in b (the first of them), or npos:
  // the bit array's choice under this model's rule.
  std::size_t choose_blocks(const bundle& b, std::size_t n) const {
    return choose_free_run(fit_, used_.data() + b.first_block, b.used_mask, b.block_count, n);
  }

  // Pages of [page_begin, page_end) that the allocation needs.
  void page_span(const bundle& b, std::size_t offset, std::size_t n, std::size_t size,
                 std::size_t& page_begin, std::size_t& page_end) const {
    page_begin = offset / page_size_;
    if (b.block_size < page_size_)
      page_end = (offset + n * b.block_size - 1) / page_size_ + 1;
    else
      page_end = page_begin + (size + page_size_ - 1) / page_size_;
  }

  std::size_t new_pages(const bundle& b, std::size_t offset, std::size_t n, std::size_t size) const {
    std::size_t begin = 0, end = 0, fresh = 0;
    page_span(b, offset, n, size, begin, end);
    for (std::size_t q = begin; q < end; ++q) fresh += (page_users_[q] == 0);
    return fresh;
  }

  void take(bundle& b, std::size_t first, std::size_t n, std::size_t size) {
    const std::size_t g = b.first_block + first;
    for (std::size_t k = 0; k < n; ++k) {
      used_[g + k] = 1;
      cont_[g + k] = (k + 1 < n) ? 1 : 0;
    }
    if (b.block_count <= bit_array_word_bits) b.used_mask |= run_mask(first, n);
    b.used += n;
    if (b.used > b.max_used) b.max_used = b.used;
    const std::size_t offset = b.offset + first * b.block_size;
    if (b.block_size < page_size_) {
      // One user per block, so the page stays mapped while any block in it lives.
      for (std::size_t k = 0; k < n; ++k) use_page((offset + k * b.block_size) / page_size_);
    } else {
      std::size_t begin = 0, end = 0;
      page_span(b, offset, n, size, begin, end);
      for (std::size_t q = begin; q < end; ++q) use_page(q);
    }
  }

  void use_page(std::size_t q) {
    if (page_users_[q]++ == 0) {
      ++mapped_;
      if (mapped_ > peak_mapped_) peak_mapped_ = mapped_;
    }
  }

  void unuse_page(std::size_t q) {
    if (--page_users_[q] == 0) --mapped_;
  }

  std::size_t run_length(const bundle& b, std::size_t index) const {
    std::size_t n = 1;
    while (cont_[b.first_block + index + n - 1] != 0) ++n;
    return n;
  }

  bool find_live_start(void* p, std::size_t& bundle_index, std::size_t& index) const {
    if (!valid_) return false;
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    if (addr < base_ || addr - base_ >= region_bytes_) return false;
    const std::size_t offset = addr - base_;
    for (std::size_t bi = 0; bi < bundles_.size(); ++bi) {
      const bundle& b = bundles_[bi];
      if (offset < b.offset || offset - b.offset >= b.block_size * b.block_count) continue;
      if ((offset - b.offset) % b.block_size != 0) return false;
      const std::size_t i = (offset - b.offset) / b.block_size;
      const std::size_t g = b.first_block + i;
      if (used_[g] == 0) return false;
      if (i > 0 && cont_[g - 1] != 0) return false;  // inside a run
      bundle_index = bi;
      index = i;
      return true;
    }
    return false;
  }

  std::vector<bundle> bundles_;
  std::vector<std::uint8_t> used_;  // one entry per block, all bundles back to back
  // Run lengths, encoded as SOF does: set on every block of a multi-block run
  // except its last, so a run is its first block plus the set entries chained
  // from it, and adjacent runs stay distinguishable.
  std::vector<std::uint8_t> cont_;
  // Sub-page bundles: used blocks in the page. Bundles of blocks >= a page:
  // 1 while the page belongs to the mapped prefix of a live run. A page is
  // mapped iff its count is non-zero.
  std::vector<std::uint32_t> page_users_;
  std::size_t page_size_;
  std::size_t budget_;
  std::uintptr_t base_;
  bit_array_fit fit_;
  std::size_t region_bytes_ = 0;
  std::size_t metadata_bytes_ = 0;
  std::size_t mapped_ = 0;
  std::size_t peak_mapped_ = 0;
  std::size_t mapping_failures_ = 0;
  bool valid_ = false;
};

}  // namespace vmh::baseline
