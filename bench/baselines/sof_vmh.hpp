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
    std::size_t words = 0;
    for (const sof_bundle& t : table) {
      if (!std::has_single_bit(t.block_size)) return;
      if (t.block_count > (SIZE_MAX - offset) / t.block_size) return;
      const std::size_t n = (t.block_count + bit_array_word_bits - 1) / bit_array_word_bits;
      bundles.push_back({t.block_size, static_cast<unsigned>(std::countr_zero(t.block_size)), t.block_count, offset,
                         words, words + n, 0, 0, 0});
      words += 2 * n;
      offset += t.block_size * t.block_count;
      if (offset % page_size != 0) return;
    }
    if (offset > UINTPTR_MAX - base) return;
    metadata_bytes_ = metadata_bytes(table);
    bundles_ = std::move(bundles);
    region_bytes_ = offset;
    words_.assign(words, 0);
    page_mapped_.assign(offset / page_size, 0);
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
  // blocks provides one. Which blocks of a bundle: the bit array's rule.
  //
  // `align` is accepted and ignored, as in SOF: a block's address is fixed by
  // its position, so the alignment is whatever the block gives (sub-page
  // blocks are aligned to their size, larger blocks at least to the page).
  //
  // Pages: for blocks >= a page only the pages covering `size` are mapped; for
  // blocks < a page, a page is mapped when its first block comes into use.
  // If the budget cannot supply the new pages the blocks are given back and the
  // call fails (counted in mapping_failures()); like SOF it does not go on to try
  // a later bundle. The driver maps page by page until the pages run out and
  // SOF then unmaps what it mapped, so for a moment every page of the budget
  // is mapped: the peak counts it. A zero-byte request fails.
  //
  // "Full": when no eligible bundle has a free block (or run), the request
  // fails and each eligible bundle counts one full failure. A request that
  // spilled to a later bundle did not fail and counts nothing; a request too
  // large for every bundle (none eligible) or failing on the page budget counts
  // no full failure either, since no bundle was full for it.
  //
  // The work is the real code's (its cost is checked against it: docs/baselines.md):
  // per bundle the block count, the eligibility checks, then mem_blocks' allocation
  // over the blocks' bit array; SOF's size bits for a run; for a block under a page
  // the checks of the blocks around it in its first and last pages (are they all
  // free?), which decide the pages to map; the pages mapped one by one.
  void* alloc(std::size_t size, std::size_t align = 0, bool contiguous = false) {
    (void)align;
    if (!valid_ || size == 0) return nullptr;
    // The bundles found full on the way (bit i: bundles_[i]); as SOF counts its
    // "out of blocks" in this loop. Every eligible bundle the loop reaches is full
    // or serves the request, so a failed request's full bundles are its eligible ones.
    std::uint32_t full = 0;
    for (std::size_t bi = 0; bi < bundles_.size(); ++bi) {
      bundle& b = bundles_[bi];
      const std::size_t n = blocks_needed(b, size);
      if (b.block_size < size && !contiguous) continue;
      if (n > b.block_count) continue;
      const std::size_t max_used = b.max_used;
      std::size_t offset = 0;  // of the first block in the window
      if (!(contiguous ? blocks_alloc_contiguous(b, n, offset) : blocks_alloc(b, n, &offset))) {
        full |= std::uint32_t{1} << bi;
        continue;
      }
      // SOF's size bits: the run's position from its address.
      const std::size_t first = (offset - b.offset) / b.block_size;
      if (n > 1) bit_array::change_region(size_bits(b), b.block_count, n - 1, first, true);
      if (!map_blocks(b, offset, size)) {
        // The real code gives the blocks back; the model also clears their size
        // bits and keeps their peak as it was, as the request never held them.
        if (n > 1) bit_array::change_region(size_bits(b), b.block_count, n - 1, first, false);
        blocks_free_contiguous(b, offset, n);
        b.max_used = max_used;
        ++mapping_failures_;
        return nullptr;
      }
      return reinterpret_cast<void*>(base_ + offset);
    }
    for (; full != 0; full &= full - 1) ++bundles_[static_cast<std::size_t>(std::countr_zero(full))].full_failures;
    return nullptr;
  }

  // Releases the block (or run) starting at p and unmaps the pages no live
  // block uses any more. Anything but the start of a live block or run is
  // rejected and leaves the heap unchanged. The work is the real code's: the
  // bundle found by a walk over the table, the run's length from the size bits,
  // mem_blocks' free over the blocks' bit array, then for a block under a page
  // the checks of the blocks around it, for larger ones a binary search for the
  // end of the mapped pages; the pages unmapped one by one.
  bool free(void* p) {
    if (!valid_) return false;
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    bundle* found = nullptr;
    for (bundle& b : bundles_) {
      const std::uintptr_t start = base_ + b.offset;
      if (addr >= start && addr < start + (b.block_count << b.shift)) {
        found = &b;
        break;
      }
    }
    if (found == nullptr) return false;
    bundle& b = *found;
    const std::size_t offset = addr - base_;
    const std::size_t in_bundle = offset - b.offset;
    if ((in_bundle & (b.block_size - 1)) != 0) return false;  // not a block's start
    const std::size_t index = in_bundle >> b.shift;
    // The size bits: set on every block of a run but its last. A set bit before
    // the block means it lies inside a run.
    const std::uint32_t* sizes = size_bits(b);
    if (index > 0 && bit_array::test(sizes, b.block_count, index - 1)) return false;
    std::size_t n = 1;
    while (bit_array::test(sizes, b.block_count, index + n - 1)) ++n;
    if (!(n == 1 ? blocks_free(b, 1, &offset) : blocks_free_contiguous(b, offset, n))) return false;  // not in use
    if (n > 1) bit_array::change_region(size_bits(b), b.block_count, n - 1, index, false);
    unmap_blocks(b, offset, n << b.shift);
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
  bool page_mapped(std::size_t q) const { return q < page_mapped_.size() && page_mapped_[q] != 0; }
  bit_array_fit fit() const { return fit_; }
  // Whether p lies in the heap's virtual window.
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return valid_ && a >= base_ && a - base_ < region_bytes_;
  }

  // Cross-checks the blocks' bit arrays, the size bits, the per-bundle counters
  // and the mapped pages against each other.
  bool validate() const {
    if (!valid_) return true;
    std::vector<std::uint8_t> expected(page_mapped_.size(), 0);
    for (const bundle& b : bundles_) {
      const std::uint32_t* used_words = used_bits(b);
      const std::uint32_t* size_words = size_bits(b);
      const std::size_t word_count = (b.block_count + bit_array_word_bits - 1) / bit_array_word_bits;
      // No bit past the last block.
      for (std::size_t i = b.block_count; i < word_count * bit_array_word_bits; ++i)
        if (bit_array::test(used_words, SIZE_MAX, i) || bit_array::test(size_words, SIZE_MAX, i)) return false;
      std::size_t used = 0;
      for (std::size_t i = 0; i < b.block_count; ++i) {
        const bool in_use = bit_array::test(used_words, b.block_count, i);
        used += in_use;
        // A run continues into the next block, which must exist and be used.
        if (bit_array::test(size_words, b.block_count, i) &&
            (!in_use || !bit_array::test(used_words, b.block_count, i + 1)))
          return false;
      }
      if (used != b.used || b.max_used < b.used || b.max_used > b.block_count) return false;

      if (b.block_size < page_size_) {
        // A page is mapped while any block in it is used.
        for (std::size_t i = 0; i < b.block_count; ++i)
          if (bit_array::test(used_words, b.block_count, i)) expected[(b.offset + i * b.block_size) / page_size_] = 1;
        continue;
      }
      // Blocks >= a page: a live run has a non-empty mapped prefix of its pages;
      // a free block has no mapped page.
      const std::size_t per_block = b.block_size / page_size_;
      for (std::size_t i = 0; i < b.block_count;) {
        const std::size_t first_page = (b.offset + i * b.block_size) / page_size_;
        if (!bit_array::test(used_words, b.block_count, i)) {
          ++i;
          continue;
        }
        const std::size_t n = run_length(b, i);
        bool in_prefix = true;
        for (std::size_t q = 0; q < n * per_block; ++q) {
          const std::uint8_t mapped = page_mapped_[first_page + q];
          if ((q == 0 && mapped == 0) || (!in_prefix && mapped != 0)) return false;
          if (mapped == 0) in_prefix = false;
          expected[first_page + q] = mapped;
        }
        i += n;
      }
    }
    if (expected != page_mapped_) return false;
    std::size_t mapped = 0;
    for (std::uint8_t m : page_mapped_) mapped += (m != 0);
    return mapped == mapped_ && mapped_ <= budget_ && peak_mapped_ >= mapped_;
  }

 private:
  // One bundle: Zephyr's mem_blocks allocator over its blocks (the blocks' bit
  // array and the statistics) and SOF's size bit array beside it.
  struct bundle {
    std::size_t block_size;
    unsigned shift;           // log2(block_size)
    std::size_t block_count;
    std::size_t offset;       // bytes from base
    std::size_t used_word;    // first word of the blocks' bit array in words_
    std::size_t size_word;    // first word of the size bit array in words_
    std::size_t used;
    std::size_t max_used;
    std::size_t full_failures;
  };

  static constexpr std::size_t npos = no_run;

  std::uint32_t* used_bits(const bundle& b) { return words_.data() + b.used_word; }
  const std::uint32_t* used_bits(const bundle& b) const { return words_.data() + b.used_word; }
  std::uint32_t* size_bits(const bundle& b) { return words_.data() + b.size_word; }
  const std::uint32_t* size_bits(const bundle& b) const { return words_.data() + b.size_word; }

  // Blocks of b a request of `size` bytes spans (SOF computes it for every bundle).
  static std::size_t blocks_needed(const bundle& b, std::size_t size) {
    return (size >> b.shift) + ((size & (b.block_size - 1)) != 0);
  }

  // Zephyr's mem_blocks over a bundle, which works with the blocks' addresses
  // (here their offsets in the window). One allocation of n adjacent blocks:
  // the bit array's choice, then the statistics; npos when none is free.
  std::size_t take_blocks(bundle& b, std::size_t n) {
    const std::size_t first = bit_array::alloc(used_bits(b), b.block_count, n, fit_);
    if (first == npos) return npos;
    b.used += n;
    if (b.used > b.max_used) b.max_used = b.used;
    return b.offset + (first << b.shift);
  }

  // `count` blocks, one at a time (the default mode asks for one), into out[];
  // false, with nothing taken, when they cannot all be had.
  VMH_BIT_ARRAY_CALL bool blocks_alloc(bundle& b, std::size_t count, std::size_t* out) {
    if (count == 0 || count > b.block_count) return false;
    std::size_t i = 0;
    for (; i < count; ++i) {
      const std::size_t at = take_blocks(b, 1);
      if (at == npos) break;
      out[i] = at;
    }
    if (i < count) {
      if (i > 0) blocks_free(b, i, out);
      return false;
    }
    return true;
  }

  // A run of n adjacent blocks (the contiguous mode); its first block's offset
  // goes to `out`.
  VMH_BIT_ARRAY_CALL bool blocks_alloc_contiguous(bundle& b, std::size_t n, std::size_t& out) {
    if (n == 0 || n > b.block_count) return false;
    const std::size_t at = take_blocks(b, n);
    if (at == npos) return false;
    out = at;
    return true;
  }

  // Gives back blocks [at, at + n * block): false (nothing changes) unless all of
  // them are in use.
  bool give_blocks(bundle& b, std::size_t at, std::size_t n) {
    if (at < b.offset) return false;
    const std::size_t first = (at - b.offset) >> b.shift;
    if (first >= b.block_count) return false;
    if (!bit_array::free(used_bits(b), b.block_count, n, first)) return false;
    b.used -= n;
    return true;
  }

  // Frees `count` single blocks, in[] their offsets: false if any was not in use.
  VMH_BIT_ARRAY_CALL bool blocks_free(bundle& b, std::size_t count, const std::size_t* in) {
    if (count == 0 || count > b.block_count) return false;
    bool ok = true;
    for (std::size_t i = 0; i < count; ++i)
      if (!give_blocks(b, in[i], 1)) ok = false;
    return ok;
  }

  VMH_BIT_ARRAY_CALL bool blocks_free_contiguous(bundle& b, std::size_t at, std::size_t n) {
    if (n == 0 || n > b.block_count) return false;
    return give_blocks(b, at, n);
  }

  // Whether the bytes [from, from + bytes) of the window, in bundle b, hold no
  // block in use (mem_blocks' region query).
  VMH_BIT_ARRAY_CALL bool blocks_region_free(const bundle& b, std::size_t from, std::size_t bytes) const {
    return bit_array::is_region_cleared(used_bits(b), b.block_count, bytes >> b.shift, (from - b.offset) >> b.shift);
  }

  // The pages [begin, begin + bytes) (window offsets, page-aligned) that `size`
  // bytes of a sub-page bundle's blocks at `offset` have to themselves: those
  // they touch, less the first if a block before them in that page is in use and
  // the last if a block after them is. False when none is left. SOF keeps this
  // a function of its own, called on allocation and on free.
  VMH_BIT_ARRAY_CALL bool pages_to_itself(const bundle& b, std::size_t offset, std::size_t size, std::size_t& begin,
                                          std::size_t& bytes) const {
    const std::size_t page_mask = page_size_ - 1;
    const std::size_t aligned = (size + b.block_size - 1) & ~(b.block_size - 1);
    std::size_t lo = offset & ~page_mask;
    std::size_t hi = (offset + size + page_mask) & ~page_mask;
    const std::size_t before = offset - lo;
    const std::size_t after = hi - offset - aligned;
    if (before != 0 && !blocks_region_free(b, lo, before)) lo += page_size_;
    if (after != 0 && !blocks_region_free(b, offset + aligned, after)) hi -= page_size_;
    if (lo >= hi) return false;
    begin = lo;
    bytes = hi - lo;
    return true;
  }

  // Maps the pages a new allocation of `size` bytes at `offset` needs: for
  // blocks of a page or more those covering `size` from its start, for smaller
  // blocks the pages it has to itself. False, with nothing mapped, when the
  // budget runs out.
  bool map_blocks(const bundle& b, std::size_t offset, std::size_t size) {
    if (b.block_size >= page_size_) return map_pages(offset, (size + page_size_ - 1) & ~(page_size_ - 1));
    std::size_t begin = 0, bytes = 0;
    if (!pages_to_itself(b, offset, size, begin, bytes)) return true;
    return map_pages(begin, bytes);
  }

  // Unmaps the pages the freed `size` bytes (whole blocks) at `offset` no longer
  // need: for blocks of a page or more the mapped prefix of their pages (found by
  // a binary search over the page table), for smaller blocks the pages they had
  // to themselves.
  void unmap_blocks(const bundle& b, std::size_t offset, std::size_t size) {
    if (b.block_size >= page_size_) {
      if (size > page_size_) size = mapped_prefix(offset, size);
      unmap_pages(offset, size);
      return;
    }
    std::size_t begin = 0, bytes = 0;
    if (pages_to_itself(b, offset, size, begin, bytes)) unmap_pages(begin, bytes);
  }

  // Bytes of [offset, offset + bytes) (page multiples) mapped from its start:
  // a binary search over its pages, the first of which is mapped.
  std::size_t mapped_prefix(std::size_t offset, std::size_t bytes) const {
    std::size_t bottom = offset, top = offset + bytes;
    std::size_t check = top - page_size_;
    while (top - bottom > page_size_) {
      if (page_is_mapped(check)) bottom = check;
      else top = check;
      check = (bottom / 2 + top / 2) & ~(page_size_ - 1);
    }
    return top - offset;
  }

  // The page driver (its real counterpart is another translation unit): a range
  // must be page-aligned and inside the window; its pages are mapped and unmapped
  // one at a time, each looked up in the page table (mapping a mapped page is
  // refused, as the driver refuses it; the model never asks).
  VMH_BIT_ARRAY_CALL bool map_pages(std::size_t offset, std::size_t bytes) {
    if (offset > region_bytes_ || bytes > region_bytes_ - offset || (offset & (page_size_ - 1)) != 0 ||
        (bytes & (page_size_ - 1)) != 0)
      return false;
    for (std::size_t at = offset; at < offset + bytes; at += page_size_) {
      const std::size_t q = at / page_size_;
      if (q >= page_mapped_.size() || page_mapped_[q] != 0 || mapped_ == budget_) {
        if (mapped_ == budget_ && budget_ > peak_mapped_) peak_mapped_ = budget_;
        unmap_pages(offset, at - offset);
        return false;
      }
      page_mapped_[q] = 1;
      if (++mapped_ > peak_mapped_) peak_mapped_ = mapped_;
    }
    return true;
  }

  VMH_BIT_ARRAY_CALL void unmap_pages(std::size_t offset, std::size_t bytes) {
    for (std::size_t at = offset; at < offset + bytes; at += page_size_) {
      const std::size_t q = at / page_size_;
      if (q >= page_mapped_.size() || page_mapped_[q] == 0) continue;
      page_mapped_[q] = 0;
      --mapped_;
    }
  }

  VMH_BIT_ARRAY_CALL bool page_is_mapped(std::size_t offset) const {
    const std::size_t q = offset / page_size_;
    return q < page_mapped_.size() && page_mapped_[q] != 0;
  }

  std::size_t run_length(const bundle& b, std::size_t index) const {
    std::size_t n = 1;
    while (bit_array::test(size_bits(b), b.block_count, index + n - 1)) ++n;
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
      if (!bit_array::test(used_bits(b), b.block_count, i)) return false;
      if (i > 0 && bit_array::test(size_bits(b), b.block_count, i - 1)) return false;  // inside a run
      bundle_index = bi;
      index = i;
      return true;
    }
    return false;
  }

  std::vector<bundle> bundles_;
  // The bundles' bit arrays, Zephyr's layout (bit i is bit i % 32 of word i / 32):
  // per bundle the blocks' array (a bit set while the block is in use), then SOF's
  // size array, set on every block of a multi-block run except its last, so a run
  // is its first block plus the set bits chained from it, and adjacent runs stay
  // distinguishable.
  std::vector<std::uint32_t> words_;
  // The page table: 1 while the page of the window is mapped. A page of a sub-page
  // bundle is mapped while any block in it is used; a page of a larger bundle
  // while it belongs to the mapped prefix of a live run.
  std::vector<std::uint8_t> page_mapped_;
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
