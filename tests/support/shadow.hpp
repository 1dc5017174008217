// A shadow model of the heap and a driver that runs the heap and the model side by side.
//
// Buckets: the model knows only the rules (smallest fitting aligned bucket, lowest free block,
// runs from the largest bucket down, pages touched by the requested bytes, a physical budget)
// and predicts every placement exactly.
//
// The packed region (the backing heap): the model keeps its own map of used granules but not the
// heap's placement policy, so it checks properties exactly instead of predicting an offset:
//  - a request goes to the region first when the API says so (a fixed request up to the
//    region's limit, a range grant the fairness rule sizes below a page), then to the buckets;
//  - a placement in the region lies inside it, is aligned (to min_align at least), takes
//    granules that were free and overlaps no live allocation;
//  - the region refuses a request only for a reason: one of its map calls was refused, or no
//    free run could surely hold it. "Surely": the free run that reaches the region's end (the
//    wilderness) holds the request at its alignment, or another free run is at least
//    `need` = granules + alignment granules - 1 rounded up to the next size-class boundary
//    (powers of two below 64 granules, quarter steps between powers of two from 64 up): every
//    run of such a class holds the request at any alignment, so the heap must find one;
//  - resize and grow of a packed allocation are predicted exactly (they depend only on the
//    free run after it, the pages and the fairness rule).
//
// After every operation the driver checks that the heap validates and agrees with the model on
// every live allocation (offset, usable size, contents), every statistic, and the exact set of
// mapped pages (page_set_mapper.hpp), and that no two live allocations overlap. Allocations are
// filled with a pattern that is checked before they are freed or resized. Optionally the mapper
// refuses a map call now and then (fault injection); the model then expects the refusal's
// consequence: the region's attempt fails and the request goes to the buckets, a bucket
// placement, resize or grow fails with no_memory and changes nothing.
//
// The driver takes its choices from a `Source` with `std::uint64_t below(std::uint64_t n)`
// (a value in [0, n)): a seeded generator in the randomized tests, the input bytes in the fuzzer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <vmh/vmh.hpp>

#include "support/misuse_log.hpp"
#include "support/page_set_mapper.hpp"

namespace vmh_test {

using vmh::status;

/// A layout (a table, page size, min_align, packed region), a physical budget and a fairness rule.
struct shadow_config {
  std::vector<vmh::bucket> table;
  std::size_t page = 4096;
  std::size_t min_align = 64;
  std::size_t budget = SIZE_MAX;
  vmh::packed_region packed{};  ///< bytes == 0: none
  vmh::range_policy policy{};
  bool inject = false;  ///< refuse a map call now and then
};

/// The runtime layouts the shadowed heaps use: up to 8 buckets, 512 blocks and 128 pages; the
/// second also up to 512 pages and a packed region of up to 8192 granules.
using shadow_layout = vmh::runtime_layout<8, 512, 128>;
using shadow_packed_layout = vmh::runtime_layout<8, 512, 512, 8192>;
inline constexpr std::size_t shadow_max_pages = 512;
inline constexpr std::size_t shadow_max_granules = 8192;

inline constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return a / b + (a % b != 0); }
inline constexpr bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/// The smallest free-run length that surely holds `need` granules at any placement the region's
/// size classes allow: `need` rounded up to the next class boundary (1, 2, 4, .. 64, then 80, 96,
/// 112, 128, 160, ...: four classes per power of two from 64 granules up).
inline std::size_t sure_run(std::size_t need) {
  if (need <= 64) {
    std::size_t p = 1;
    while (p < need) p <<= 1;
    return p;
  }
  unsigned log = 0;
  while ((need >> (log + 1)) != 0) ++log;
  const std::size_t step = std::size_t{1} << (log - 2);
  return ceil_div(need, step) * step;
}

/// The contents an allocation is filled with: byte i of the allocation with identity `id` is
/// `pattern_bytes()[pattern_start(id) + i % pattern_span]`, a pseudo-random sequence without a
/// short period, so that lost, moved or overwritten bytes show. Filled and checked with memcpy
/// and memcmp.
inline constexpr std::size_t pattern_span = std::size_t{1} << 20;
inline const std::byte* pattern_bytes() {
  static const std::vector<std::byte> bytes = [] {
    std::vector<std::byte> b(2 * pattern_span);
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (std::byte& v : b) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v = static_cast<std::byte>(x >> 32);
    }
    return b;
  }();
  return bytes.data();
}
inline std::size_t pattern_start(std::uint64_t id) { return (id * 0x2545f4914f6cdd1dull >> 40) % pattern_span; }

/// Page-aligned memory for a heap's virtual range.
class aligned_buffer {
 public:
  aligned_buffer(std::size_t bytes, std::size_t align)
      : align_(align), bytes_(static_cast<std::byte*>(::operator new(bytes == 0 ? 1 : bytes, std::align_val_t{align}))) {}
  ~aligned_buffer() { ::operator delete(bytes_, std::align_val_t{align_}); }
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  std::byte* data() const { return bytes_; }

 private:
  std::size_t align_;
  std::byte* bytes_;
};

/// The fairness rule's cap, written from the formulas of range_policy.hpp (exact integer
/// arithmetic): the most new physical bytes one grant may take.
inline std::size_t policy_cap(const vmh::range_policy& p, std::size_t available, std::size_t total, std::size_t lo) {
  __extension__ typedef unsigned __int128 wide;  // exact products of 64-bit figures
  if (p.kind == vmh::range_policy::rule::reserve) {
    const wide num = p.share_den == 0 ? 35 : p.share_num, den = p.share_den == 0 ? 1000 : p.share_den;
    const wide mins = p.reserve_mins == 0 ? 4 : p.reserve_mins;
    const wide keep = std::max(wide{total} * num / den, wide{lo} * mins);
    return wide{available} > keep && wide{available} - keep > lo ? static_cast<std::size_t>(available - keep) : lo;
  }
  // A fixed share (greedy is 1/1); the adaptive rule is not modelled.
  const wide den = p.share_den == 0 ? 3 : p.share_den;
  const wide num = p.share_den == 0 ? 2 : std::min<wide>(p.share_num, den);
  return std::max(static_cast<std::size_t>(wide{available} * num / den), lo);
}

// ------------------------------------------------------------------------------------------------
// The model

struct bucket_model {
  std::size_t size = 0, count = 0, offset = 0, align = 0;
  std::vector<std::uint8_t> used;   // block taken (by a start or a run)
  std::vector<std::uint8_t> start;  // block is the start of a live allocation
  std::size_t in_use = 0, peak = 0, full_failures = 0;
  std::size_t free_blocks() const { return count - in_use; }
};

struct live_alloc {
  std::size_t bucket = 0, index = 0, blocks = 0, size = 0;
  std::uint64_t id = 0;
  bool packed = false;       ///< in the packed region (bucket, index and blocks mean nothing)
  std::size_t granules = 0;  ///< granules it takes there
};

struct placement {
  status result = status::ok;
  std::size_t bucket = 0, index = 0;
};

/// The packed region as the model sees it: which granules are used, which start an allocation.
struct region_model {
  std::size_t bytes = 0, granule = 16, limit = 0, granules = 0;
  std::vector<std::uint8_t> used, start;
};

class model {
 public:
  explicit model(const shadow_config& c)
      : page_(c.page), min_align_(c.min_align), budget_(c.budget), policy_(c.policy) {
    if (c.packed.bytes != 0) {
      region_.bytes = c.packed.bytes;
      region_.granule = c.packed.granule;
      region_.limit = std::min(c.packed.limit, c.packed.bytes);
      region_.granules = c.packed.bytes / c.packed.granule;
      region_.used.assign(region_.granules, 0);
      region_.start.assign(region_.granules, 0);
    }
    std::size_t off = region_.bytes;  // the buckets follow the region
    for (const vmh::bucket& t : c.table) {
      bucket_model m;
      m.size = t.block_size;
      m.count = t.block_count;
      m.offset = off;
      const std::size_t low = t.block_size & (~t.block_size + 1);
      m.align = low < page_ ? low : page_;
      m.used.assign(t.block_count, 0);
      m.start.assign(t.block_count, 0);
      buckets_.push_back(m);
      off += t.block_size * t.block_count;
    }
    virtual_size_ = off;
  }

  std::size_t page() const { return page_; }
  std::size_t min_align() const { return min_align_; }
  std::size_t virtual_size() const { return virtual_size_; }
  const std::vector<bucket_model>& buckets() const { return buckets_; }
  const region_model& region() const { return region_; }
  const std::map<std::size_t, live_alloc>& live() const { return live_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t peak_bytes() const { return peak_bytes_; }
  std::size_t peak_pages() const { return peak_pages_; }
  std::size_t failed_no_block() const { return failed_no_block_; }
  std::size_t failed_no_memory() const { return failed_no_memory_; }
  void set_policy(const vmh::range_policy& p) { policy_ = p; }

  // Bytes of the allocation's pages: its size in a bucket, its whole granules in the region
  // (which touch the same pages, a page being a multiple of the granule).
  std::size_t extent(const live_alloc& a) const { return a.packed ? a.granules * region_.granule : a.size; }

  // Page references computed from the live set.
  std::vector<std::size_t> page_refs() const {
    std::vector<std::size_t> refs(ceil_div(virtual_size_, page_), 0);
    for (const auto& [off, a] : live_)
      for (std::size_t p = off / page_; p < ceil_div(off + extent(a), page_); ++p) ++refs[p];
    return refs;
  }
  std::size_t mapped_pages() const {
    const auto refs = page_refs();
    return static_cast<std::size_t>(std::count_if(refs.begin(), refs.end(), [](std::size_t r) { return r != 0; }));
  }
  // Pages of [off, off + size) that nothing maps yet.
  std::size_t new_pages(std::size_t off, std::size_t size, std::size_t from_page = 0) const {
    const auto refs = page_refs();
    std::size_t n = 0;
    for (std::size_t p = std::max(off / page_, from_page); p < ceil_div(off + size, page_); ++p) n += refs[p] == 0;
    return n;
  }
  std::size_t mapped_bytes() const { return mapped_pages() * page_; }
  std::size_t available() const { return budget_ - mapped_bytes(); }
  bool fits_budget(std::size_t pages) const { return pages <= available() / page_; }
  // The mapper keeps its budget at or above what is mapped.
  void set_budget(std::size_t bytes) { budget_ = std::max(bytes, mapped_pages() * page_); }

  // New pages the fairness rule lets one grant map now, for a request whose smallest grant is lo.
  std::size_t fair_pages(std::size_t lo) const {
    const std::size_t avail = available(), mapped = mapped_bytes();
    const std::size_t total = avail > SIZE_MAX - mapped ? SIZE_MAX : avail + mapped;
    return std::min(policy_cap(policy_, avail, total, lo), avail) / page_;
  }

  std::size_t offset_of(std::size_t b, std::size_t i) const { return buckets_[b].offset + i * buckets_[b].size; }

  // The lowest index of n free blocks in a row, or count.
  std::size_t find_run(const bucket_model& m, std::size_t n) const {
    std::size_t run = 0;
    for (std::size_t i = 0; i < m.count; ++i) {
      run = m.used[i] ? 0 : run + 1;
      if (run == n) return i + 1 - n;
    }
    return m.count;
  }
  std::size_t first_free(const bucket_model& m) const { return find_run(m, 1); }

  // allocate(size, align) in the buckets: which block the rules pick, or why none.
  placement choose(std::size_t size, std::size_t align, bool runs) const {
    if (size == 0 || size > virtual_size_) return {status::invalid_size};
    if (align == 0) align = min_align_;
    if (!is_pow2(align)) return {status::invalid_alignment};
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      const bucket_model& m = buckets_[b];
      if (m.size >= size && m.align >= align && m.free_blocks() != 0) return {status::ok, b, first_free(m)};
    }
    if (runs) {
      for (std::size_t b = buckets_.size(); b-- > 0;) {
        const bucket_model& m = buckets_[b];
        if (m.align < align) continue;
        const std::size_t i = find_run(m, ceil_div(size, m.size));
        if (i < m.count) return {status::ok, b, i};
      }
    }
    // Full now, or never: no bucket aligned so could hold it even empty (no_bucket).
    for (const bucket_model& m : buckets_)
      if (m.align >= align && (m.size >= size || (runs && m.size * m.count >= size))) return {status::no_block};
    return {status::no_bucket};
  }

  // The bucket whose full_failures a no_block failure of a request of `size` counts.
  void count_no_block(std::size_t size, std::size_t align) {
    if (align == 0) align = min_align_;
    ++failed_no_block_;
    for (bucket_model& m : buckets_)
      if (m.size >= size && m.align >= align) {
        ++m.full_failures;
        return;
      }
  }
  void count_no_memory() { ++failed_no_memory_; }

  void place(const placement& at, std::size_t size, std::uint64_t id) {
    bucket_model& m = buckets_[at.bucket];
    const std::size_t n = ceil_div(size, m.size);
    for (std::size_t i = at.index; i < at.index + n; ++i) m.used[i] = 1;
    m.start[at.index] = 1;
    m.in_use += n;
    m.peak = std::max(m.peak, m.in_use);
    live_[offset_of(at.bucket, at.index)] = live_alloc{at.bucket, at.index, n, size, id};
    bytes_ += n * m.size;  // the statistics count the bytes of the blocks taken
    note_peaks();
  }

  void release(std::size_t off) {
    const live_alloc a = live_.at(off);
    if (a.packed) {
      set_granules(off / region_.granule, a.granules, 0);
      region_.start[off / region_.granule] = 0;
      bytes_ -= a.granules * region_.granule;
    } else {
      bucket_model& m = buckets_[a.bucket];
      for (std::size_t i = a.index; i < a.index + a.blocks; ++i) m.used[i] = 0;
      m.start[a.index] = 0;
      m.in_use -= a.blocks;
      bytes_ -= a.blocks * m.size;
    }
    live_.erase(off);
  }

  // resize of a bucket allocation: the expected result (nothing applied).
  status expect_resize(std::size_t off, std::size_t new_size) const {
    const live_alloc& a = live_.at(off);
    if (new_size == 0) return status::invalid_size;
    if (a.packed) return expect_packed_resize(off, new_size);
    const bucket_model& m = buckets_[a.bucket];
    if (new_size > a.blocks * m.size) return status::exceeds_block;
    if (new_size > a.size && !fits_budget(new_pages(off, new_size, ceil_div(off + a.size, page_)))) return status::no_memory;
    return status::ok;
  }
  // Applies a resize the heap accepted.
  void apply_resize(std::size_t off, std::size_t new_size) {
    live_alloc& a = live_.at(off);
    if (a.packed) {
      const std::size_t first = off / region_.granule, n = granules_for(new_size);
      if (n < a.granules) set_granules(first + n, a.granules - n, 0);
      if (n > a.granules) set_granules(first + a.granules, n - a.granules, 1);
      bytes_ = bytes_ - a.granules * region_.granule + n * region_.granule;
      a.granules = n;
    } else {
      bucket_model& m = buckets_[a.bucket];
      const std::size_t kept = ceil_div(new_size, m.size);
      for (std::size_t i = a.index + kept; i < a.index + a.blocks; ++i) m.used[i] = 0;
      m.in_use -= a.blocks - kept;
      bytes_ -= (a.blocks - kept) * m.size;
      a.blocks = kept;
    }
    a.size = new_size;
    note_peaks();
  }

  // What deallocate(ptr) must answer for a pointer at byte offset `off` (may be out of range).
  status classify(std::ptrdiff_t off) const {
    if (off < 0 || static_cast<std::size_t>(off) >= virtual_size_) return status::foreign_pointer;
    const std::size_t o = static_cast<std::size_t>(off);
    if (o < region_.bytes) {  // a granule: free, inside an allocation, or an allocation's start
      const std::size_t k = o / region_.granule;
      if (!region_.used[k]) return status::double_free;
      return o % region_.granule == 0 && region_.start[k] ? status::ok : status::interior_pointer;
    }
    for (const bucket_model& m : buckets_) {
      if (o >= m.offset + m.size * m.count) continue;
      const std::size_t rel = o - m.offset;
      if (rel % m.size != 0) return status::interior_pointer;
      const std::size_t i = rel / m.size;
      if (!m.used[i]) return status::double_free;
      if (!m.start[i]) return status::interior_pointer;
      return status::ok;
    }
    return status::foreign_pointer;
  }

  // ---- the packed region ----------------------------------------------------------------------

  std::size_t granules_for(std::size_t size) const { return ceil_div(size, region_.granule); }
  std::size_t align_granules(std::size_t align) const { return align > region_.granule ? align / region_.granule : 1; }
  // One past the free run that starts at granule i (i itself when i is used).
  std::size_t free_run_end(std::size_t i) const {
    while (i < region_.granules && !region_.used[i]) ++i;
    return i;
  }

  // Whether the region must place n granules at an alignment of a granules (see the top).
  bool surely_fits(std::size_t n, std::size_t a) const {
    const std::size_t bound = sure_run(n + a - 1);
    for (std::size_t i = 0; i < region_.granules;) {
      if (region_.used[i]) {
        ++i;
        continue;
      }
      const std::size_t end = free_run_end(i);
      if (end == region_.granules) return (i + a - 1) / a * a + n <= region_.granules;  // the wilderness
      if (end - i >= bound) return true;
      i = end;
    }
    return false;
  }

  // Why a placement of `size` bytes at `off` with alignment `align` breaks the rules ("" if none).
  std::string bad_placement(std::size_t off, std::size_t size, std::size_t align) const {
    std::ostringstream o;
    const std::size_t n = granules_for(size), first = off / region_.granule;
    if (off % region_.granule != 0) o << "not on a granule";
    else if (align != 0 && off % align != 0) o << "not aligned to " << align;
    else if (first + n > region_.granules) o << "runs past the region";
    else
      for (std::size_t k = first; k < first + n; ++k)
        if (region_.used[k]) {
          o << "granule " << k << " was in use";
          break;
        }
    return o.str();
  }

  void place_packed(std::size_t off, std::size_t size, std::uint64_t id) {
    const std::size_t n = granules_for(size), first = off / region_.granule;
    set_granules(first, n, 1);
    region_.start[first] = 1;
    live_alloc a{};
    a.size = size;
    a.id = id;
    a.packed = true;
    a.granules = n;
    live_[off] = a;
    bytes_ += n * region_.granule;
    note_peaks();
  }

  // resize of a packed allocation: in place, into the free run after it.
  status expect_packed_resize(std::size_t off, std::size_t new_size) const {
    const live_alloc& a = live_.at(off);
    const std::size_t first = off / region_.granule;
    if (new_size > (region_.granules - first) * region_.granule) return status::exceeds_block;
    const std::size_t n = granules_for(new_size);
    if (n <= a.granules) return status::ok;
    if (first + n > free_run_end(first + a.granules)) return status::exceeds_block;
    const std::size_t old_end = ceil_div(off + a.granules * region_.granule, page_);
    return fits_budget(new_pages(off, n * region_.granule, old_end)) ? status::ok : status::no_memory;
  }

  // grow of a packed allocation: the size the grant must have (the allocation's whole granules
  // when it cannot grow). The page cap counts every page after the one it ends in as new.
  std::size_t expect_packed_grow(std::size_t off, std::size_t preferred, std::size_t granule) const {
    const live_alloc& a = live_.at(off);
    const std::size_t g = region_.granule, first = off / g, size = a.granules * g;
    std::size_t reach = (free_run_end(first + a.granules) - first) * g;
    const std::size_t fresh = fair_pages(0);
    if (fresh < ceil_div(virtual_size_, page_)) {
      const std::size_t mapped_end = (off + size - 1) / page_ + 1;
      reach = std::min(reach, (mapped_end + fresh) * page_ - off);
    }
    const std::size_t want = std::min(preferred, reach) / granule * granule;
    return want <= size ? size : want;
  }

 private:
  void set_granules(std::size_t first, std::size_t n, std::uint8_t v) {
    for (std::size_t k = first; k < first + n; ++k) region_.used[k] = v;
  }
  void note_peaks() {
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    peak_pages_ = std::max(peak_pages_, mapped_pages());
  }

  std::vector<bucket_model> buckets_;
  region_model region_;
  std::map<std::size_t, live_alloc> live_;
  std::size_t page_ = 0, min_align_ = 0;
  std::size_t virtual_size_ = 0, budget_ = 0;
  vmh::range_policy policy_{};
  std::size_t bytes_ = 0, peak_bytes_ = 0, peak_pages_ = 0, failed_no_block_ = 0, failed_no_memory_ = 0;
};

// ------------------------------------------------------------------------------------------------
// Layouts

/// The shadow configuration of a fixed layout: its table, page, min_align and packed region.
template <class Layout>
shadow_config config_of(std::size_t budget = SIZE_MAX) {
  const auto& g = Layout::geo();
  shadow_config c;
  for (std::size_t b = 0; b < g.bucket_count; ++b) c.table.push_back({g.buckets[b].block_size, g.buckets[b].block_count});
  c.page = g.page_size;
  c.min_align = g.min_align;
  c.budget = budget;
  if (g.packed.bytes != 0) c.packed = {g.packed.bytes, g.packed.limit, std::size_t{1} << g.packed.granule_shift};
  return c;
}

/// A random layout that follows the rules, within the capacities of `shadow_packed_layout`:
/// pages of 256 B to 4 KiB, 1 to 8 buckets of sizes that are rarely powers of two (sub-page,
/// straddling and multi-page blocks), and with `packed` a region of 1 to 16 pages with a granule
/// of 8 to 64 B and a limit from below a granule to the whole region. Then a budget (unlimited
/// now and then, else 1 page to all pages + 2) and a fairness rule.
template <class Source>
shadow_config random_config(Source& src, bool packed) {
  shadow_config c;
  c.page = std::size_t{256} << src.below(5);
  c.min_align = std::min<std::size_t>(std::size_t{8} << src.below(4), c.page);
  std::size_t offset = 0;
  if (packed) {
    c.packed.granule = std::min<std::size_t>(std::size_t{8} << src.below(4), c.page);
    const std::size_t pages = 1 + src.below(16);
    c.packed.bytes = std::min(pages * c.page, shadow_max_granules * c.packed.granule / c.page * c.page);
    const std::size_t limits[] = {c.packed.granule / 2, c.packed.granule, c.page / 2, c.page, 2 * c.page, 16384,
                                  c.packed.bytes, SIZE_MAX, 1 + src.below(c.packed.bytes)};
    c.packed.limit = std::max<std::size_t>(1, limits[src.below(9)]);
    offset = c.packed.bytes;
  }
  const std::size_t buckets = 1 + src.below(8);
  std::size_t size = c.min_align * (1 + src.below(c.page / c.min_align / 2 + 1)), blocks = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    std::size_t count = 1 + src.below(src.below(4) == 0 ? 32 : 6);
    const std::size_t grow = size * (1 + src.below(150)) / 100;
    const std::size_t next = size + (grow / c.min_align + 1) * c.min_align;
    // Raise the count until the next bucket starts aligned to its blocks.
    const std::size_t align = std::min(next & (~next + 1), c.page);
    while ((offset + count * size) % align != 0) ++count;
    if (blocks + count > 512 || ceil_div(offset + count * size, c.page) > shadow_max_pages) break;
    c.table.push_back({size, count});
    blocks += count;
    offset += count * size;
    size = next;
  }
  if (c.table.empty()) {  // the first bucket did not fit: one block of min_align
    c.table.push_back({c.min_align, 1});
    offset += c.min_align;
  }
  const std::size_t pages = ceil_div(offset, c.page);
  c.budget = src.below(8) == 0 ? SIZE_MAX : (1 + src.below(pages + 2)) * c.page;
  switch (src.below(8)) {
    case 0: c.policy = vmh::range_policy::greedy(); break;
    case 1: c.policy = vmh::range_policy::share(1, 2); break;
    case 2: c.policy = vmh::range_policy::reserve(2, 1, 10); break;
    default: break;  // the default rule
  }
  return c;
}

// ------------------------------------------------------------------------------------------------
// The driver

/// Runs a heap with layout `Layout` (a runtime layout configured from the config, or a fixed
/// layout whose table the config describes) against the model.
template <class Source, vmh::heap_options Options, class Layout = shadow_layout>
class differential {
 public:
  using heap_type = vmh::heap<Layout, page_set_mapper, vmh::external_range, vmh::no_lock, Options>;
  static constexpr bool runtime = vmh::reconfigurable_layout<Layout>;

  differential(Source& source, const shadow_config& config)
      : src_(source),
        config_(config),
        shadow_(config),
        // The window holds whole pages: the heap maps (and with poison fills) the last page whole
        // even where the layout ends inside it.
        mem_(std::max<std::size_t>(window_bytes(), 1), config.page),
        h_(std::make_unique<heap_type>(vmh::external_range{mem_.data(), window_bytes()}, page_set_mapper{config.budget})) {
    h_->mapper().watch(mem_.data(), window_bytes(), config.page);
    smallest_ = config.table.empty() ? 64 : config.table.front().block_size;
    largest_ = config.table.empty() ? 64 : config.table.back().block_size;
    for (std::size_t p = config.page; p > 1; p >>= 1) ++page_log2_;
  }

  std::string configure() {
    if constexpr (runtime) {
      const vmh::layout_error e = h_->configure(config_.table.data(), config_.table.size(), config_.page,
                                                config_.min_align, false, config_.packed);
      if (e != vmh::layout_error::none) return std::string("configure: ") + vmh::to_string(e);
    }
    if (h_->state() != vmh::layout_error::none) return std::string("state: ") + vmh::to_string(h_->state());
    if (h_->geometry().blocks_end != shadow_.virtual_size()) return "end of the blocks differs";
    if (h_->geometry().virtual_size != window_bytes()) return "virtual size is not the whole pages of the blocks";
    if (h_->geometry().packed.bytes != shadow_.region().bytes) return "packed region differs";
    h_->set_range_policy(config_.policy);
    return {};
  }

  const model& shadow() const { return shadow_; }
  const heap_type& heap() const { return *h_; }

  // One operation chosen by the source; returns a description of the first disagreement, or "".
  std::string step() {
    const std::size_t live = shadow_.live().size();
    const std::uint64_t r = src_.below(100);
    const std::uint64_t free_cut = 25 + std::min<std::size_t>(live, 60);
    h_->mapper().clear_log();
    if (config_.inject && src_.below(12) == 0) h_->mapper().refuse_next();
    std::string problem;
    if (live != 0 && r < free_cut / 2) problem = op_free();
    else if (r < free_cut / 2 + 8) problem = op_bad_free();
    else if (live != 0 && r < free_cut / 2 + 8 + 8) problem = op_resize();
    else if (live != 0 && r < free_cut / 2 + 8 + 12) problem = op_grow();
    else if (r < free_cut / 2 + 8 + 12 + 10) problem = op_range();
    else problem = op_allocate();
    h_->mapper().disarm();
    return finish(problem);
  }

  // Changes the mapper's budget (it never drops below what is mapped).
  std::string change_budget(std::size_t bytes) {
    last_op_ = "set_budget(" + std::to_string(bytes) + ")";
    h_->mapper().set_budget(bytes);
    shadow_.set_budget(bytes);
    if (h_->mapper().budget() < h_->mapper().mapped()) return finish("budget below the mapped bytes");
    return finish({});
  }

  // configure() must refuse a heap with live allocations, and a broken table always, leaving
  // everything as it was (a fixed layout has no configure).
  std::string reconfigure_refused() {
    last_op_ = "configure(live " + std::to_string(shadow_.live().size()) + ")";
    if constexpr (runtime) {
      if (!shadow_.live().empty()) {
        const vmh::layout_error e = h_->configure(config_.table.data(), config_.table.size(), config_.page,
                                                  config_.min_align, false, config_.packed);
        if (e != vmh::layout_error::heap_not_empty) return finish(std::string("configure: ") + vmh::to_string(e));
      }
      const vmh::bucket broken[] = {{2 * config_.min_align, 1}, {config_.min_align, 1}};
      const vmh::layout_error e = h_->configure(broken, 2, config_.page, config_.min_align, false, config_.packed);
      const vmh::layout_error expected =
          shadow_.live().empty() ? vmh::layout_error::not_ascending : vmh::layout_error::heap_not_empty;
      if (e != expected) return finish(std::string("configure(broken): ") + vmh::to_string(e));
    }
    return finish({});
  }

  // Frees everything, checking contents and agreement after each free; nothing may stay mapped.
  std::string drain() {
    while (!shadow_.live().empty()) {
      const std::size_t off = shadow_.live().begin()->first;
      if (std::string p = free_at(off); !p.empty()) return p;
      if (std::string p = compare(); !p.empty()) return p;
    }
    if (h_->mapper().mapped() != 0) return "pages left mapped after draining";
    return {};
  }

  std::size_t count(status s) const { return counts_[static_cast<std::size_t>(s)]; }
  std::size_t runs_taken() const { return runs_taken_; }
  /// Allocations placed in the packed region, and requests it could not place.
  std::size_t packed_placed() const { return packed_placed_; }
  std::size_t packed_refused() const { return packed_refused_; }
  /// Packed resizes and grows that changed the allocation's granules.
  std::size_t packed_resized() const { return packed_resized_; }
  /// Map calls refused on purpose.
  std::size_t injected() const { return injected_; }

 private:
  std::byte* base() const { return mem_.data(); }
  std::size_t window_bytes() const { return ceil_div(shadow_.virtual_size(), config_.page) * config_.page; }
  std::size_t region_bytes() const { return shadow_.region().bytes; }
  bool has_region() const { return region_bytes() != 0; }
  std::size_t granule() const { return shadow_.region().granule; }

  std::string finish(const std::string& problem) {
    if (!problem.empty()) return last_op_ + ": " + problem;
    const std::string disagreement = compare();
    return disagreement.empty() ? disagreement : last_op_ + ": " + disagreement;
  }

  std::size_t random_size() {
    const std::uint64_t k = src_.below(100);
    if (has_region() && k < 35) {
      const std::size_t limit = shadow_.region().limit;
      switch (src_.below(5)) {
        case 0: return 1 + src_.below(4 * granule());
        case 1: return 1 + src_.below(limit);
        case 2: return limit + src_.below(2);  // the limit, or just above it (buckets)
        case 3: return 1 + src_.below(shadow_.page());
        default: return 1 + src_.below(std::min(limit, 64 * granule()));
      }
    }
    if (k < 40) return 1 + src_.below(4 * smallest_);
    if (k < 65) return 1 + src_.below(32 * smallest_);
    if (k < 85) return 1 + src_.below(largest_ * 5 / 16);
    if (k < 90) return 1 + src_.below(largest_ * 2 + largest_ / 8);
    if (k < 95) return largest_ + 1 + src_.below(largest_ / 2);  // a run of two of the largest blocks
    switch (src_.below(6)) {
      case 0: return 0;
      case 1: return config_.table[src_.below(config_.table.size())].block_size;
      case 2: return shadow_.virtual_size();
      case 3: return shadow_.virtual_size() + 1;
      case 4: return SIZE_MAX;
      default: return largest_ + 1 + src_.below(largest_);
    }
  }
  std::size_t random_align() {
    const std::uint64_t k = src_.below(100);
    if (k < 70) return 0;
    if (k < 95) return std::size_t{1} << src_.below(page_log2_ + 2);  // 1 .. 2 pages
    const std::size_t bad[] = {3, 48, 96, 6144};
    return bad[src_.below(4)];
  }

  void note(status s) { ++counts_[static_cast<std::size_t>(s)]; }

  static std::string describe(const char* what, status got, status expected) {
    std::ostringstream o;
    o << what << ": got " << vmh::to_string(got) << ", expected " << vmh::to_string(expected);
    return o.str();
  }

  // The map calls of this operation: whether one was refused in the region or in the buckets.
  struct refusals {
    bool region = false, buckets = false, injected = false;
  };
  refusals refused() {
    refusals r;
    for (const page_set_mapper::call& c : h_->mapper().log()) {
      if (!c.refused) continue;
      (c.offset < region_bytes() ? r.region : r.buckets) = true;
      if (c.injected) r.injected = true;
    }
    if (r.injected) ++injected_;
    return r;
  }
  bool map_calls_in_region() const {
    for (const page_set_mapper::call& c : h_->mapper().log())
      if (c.offset < region_bytes()) return true;
    return false;
  }
  bool in_region(const void* p) const {
    return p != nullptr && static_cast<const std::byte*>(p) >= base() &&
           static_cast<std::size_t>(static_cast<const std::byte*>(p) - base()) < region_bytes();
  }

  // The packed region's part of a request: when it `packs` (the API sends the request there
  // first) the region placed `size` bytes at `align` (`placed` is set and the model keeps them)
  // or was allowed not to: a map call of the region was refused, or no free run surely holds
  // them. A request it does not pack must leave it alone. Returns the broken rule, or "".
  std::string region_part(bool packs, const vmh::grant& g, std::size_t size, std::size_t align, const refusals& r,
                          bool& placed) {
    placed = in_region(g.ptr);
    align = std::max(align, shadow_.min_align());  // the region, as every block, aligns to min_align at least
    if (!packs) return placed || map_calls_in_region() ? "a request the region may not take went there" : "";
    std::ostringstream o;
    if (placed) {
      const std::size_t off = static_cast<std::size_t>(static_cast<std::byte*>(g.ptr) - base());
      if (g.status != status::ok) return "a grant in the region with an error";
      if (r.region || r.buckets) return "placed although a map call was refused";
      if (std::string bad = shadow_.bad_placement(off, size, align); !bad.empty())
        o << "packed placement at +" << off << " of " << size << " bytes: " << bad;
      else if (g.size != size)
        o << "packed grant of " << g.size << " bytes, expected " << size;
      if (!o.str().empty()) return o.str();
      const std::uint64_t id = next_id_++;
      shadow_.place_packed(off, size, id);
      fill(off, 0, size, id);
      ++packed_placed_;
      return {};
    }
    ++packed_refused_;
    const std::size_t n = shadow_.granules_for(size), a = shadow_.align_granules(align);
    if (!r.region && shadow_.surely_fits(n, a))
      o << "the region refused " << n << " granules at alignment " << a << " although a free run surely holds them";
    return o.str();
  }

  std::string op_allocate() {
    const std::size_t size = random_size(), align = random_align();
    std::ostringstream o;
    o << "allocate(" << size << ", " << align << ")";
    last_op_ = o.str();
    // The buckets' answer, as the model predicts it before the call.
    placement at = shadow_.choose(size, align, Options.runs);
    std::size_t bucket_pages = 0;
    if (at.result == status::ok) {
      bucket_pages = shadow_.new_pages(shadow_.offset_of(at.bucket, at.index), size);
      if (!shadow_.fits_budget(bucket_pages)) at.result = status::no_memory;
    }
    const bool packs = at.result != status::invalid_size && at.result != status::invalid_alignment && has_region() &&
                       size <= shadow_.region().limit && align <= shadow_.page();
    const vmh::grant g = h_->try_allocate(size, align);
    note(g.status);
    const refusals r = refused();
    bool placed = false;
    if (std::string p = region_part(packs, g, size, align, r, placed); !p.empty() || placed) return p;
    // The buckets, after the region (if any) refused. No block after the region could not map
    // its pages is a failure for memory.
    if (at.result == status::ok && r.buckets) {
      if (bucket_pages == 0) return "a map call for a block whose pages were mapped";
      at.result = status::no_memory;  // the injected refusal
    }
    if (packs && at.result == status::no_bucket) at.result = status::no_block;  // the region may take it later
    if (at.result == status::no_block && r.region) at.result = status::no_memory;
    if (g.status != at.result) return describe("result", g.status, at.result);
    if (at.result == status::no_block) shadow_.count_no_block(size, align);
    if (at.result == status::no_memory) shadow_.count_no_memory();
    if (at.result != status::ok) return g.ptr == nullptr && g.size == 0 ? "" : "a failed grant has a pointer";
    const std::size_t off = shadow_.offset_of(at.bucket, at.index);
    if (g.ptr != base() + off) {
      std::ostringstream e;
      e << "placed at offset " << static_cast<std::byte*>(g.ptr) - base() << ", expected " << off << " (bucket "
        << at.bucket << " block " << at.index << ")";
      return e.str();
    }
    if (g.size != size) return "grant size differs from the request";
    if (size > shadow_.buckets()[at.bucket].size) ++runs_taken_;
    const std::uint64_t id = next_id_++;
    shadow_.place(at, size, id);
    fill(off, 0, size, id);
    return {};
  }

  std::string op_range() {
    const std::size_t min = src_.below(50) == 0 ? 0 : 1 + src_.below(src_.below(3) == 0 ? shadow_.page() : largest_ * 3 / 8);
    std::size_t preferred = min * (1 + src_.below(8)) + src_.below(64);
    if (src_.below(20) == 0) preferred = min / 2;
    if (src_.below(40) == 0) preferred = SIZE_MAX;
    std::size_t granule = 0;
    if (src_.below(3) == 0) granule = config_.min_align << src_.below(7);
    const std::size_t align = src_.below(4) == 0 ? random_align() : 0;
    std::ostringstream o;
    o << "allocate_range(" << min << ", " << preferred << ", " << align << ", " << granule << ")";
    last_op_ = o.str();

    // The rules of allocate_range: sizes first, then alignment, then the region, then the block.
    status expected = status::ok;
    std::size_t lo = 0, hi = 0, gran = granule == 0 ? min : granule;
    const std::size_t vs = shadow_.virtual_size();
    if (min == 0 || preferred < min) {
      expected = status::invalid_size;
    } else {
      const std::size_t low = ceil_div(min, gran);
      if (low > vs / gran) {
        expected = status::invalid_size;
      } else {
        lo = low * gran;
        hi = preferred / gran * gran;
        if (lo > hi) expected = status::invalid_size;
        else if (hi > vs) hi = vs / gran * gran;
      }
    }
    const std::size_t a = align == 0 ? shadow_.min_align() : align;
    if (expected == status::ok && !is_pow2(a)) expected = status::invalid_alignment;
    // The grant the fairness rule sizes: below a page it goes to the region first.
    std::size_t want = hi;
    bool packs = false;
    if (expected == status::ok) {
      const std::size_t fair = shadow_.fair_pages(lo) * shadow_.page();
      if (want > fair) want = fair > lo ? fair / gran * gran : lo;
      packs = has_region() && want < shadow_.page() && align <= shadow_.page() && want <= region_bytes();
    }
    placement at{status::no_block};
    std::size_t most = 0;
    if (expected == status::ok) {
      const auto& bs = shadow_.buckets();
      // The smallest free block that holds preferred, else the largest that holds the minimum.
      for (std::size_t b = 0; b < bs.size() && at.result != status::ok; ++b) {
        if (bs[b].size >= hi && bs[b].align >= a && bs[b].free_blocks() != 0) {
          at = {status::ok, b, 0};
          most = hi;
        }
      }
      for (std::size_t b = bs.size(); b-- > 0 && at.result != status::ok;) {
        if (bs[b].size >= lo && bs[b].align >= a && bs[b].free_blocks() != 0) {
          at = {status::ok, b, 0};
          most = bs[b].size / gran * gran;
        }
      }
      if (at.result == status::ok) {
        at.index = shadow_.first_free(bs[at.bucket]);
      } else {
        // Full now, or never: no block aligned so holds the minimum (range requests take no runs).
        expected = status::no_bucket;
        for (const auto& m : bs)
          if (m.size >= lo && m.align >= a) expected = status::no_block;
      }
    }

    const vmh::grant g = h_->allocate_range(min, preferred, align, granule);
    note(g.status);
    const refusals r = refused();
    bool placed = false;
    if (std::string p = region_part(packs, g, want, align, r, placed); !p.empty() || placed) return p;
    if (packs && expected == status::no_bucket) expected = status::no_block;  // the region may take it later
    if (expected == status::no_block && r.region) expected = status::no_memory;  // the region could not map
    if (expected != status::ok) {
      if (g.status != expected) return describe("result", g.status, expected);
      if (expected == status::no_block) shadow_.count_no_block(lo, align);
      if (expected == status::no_memory) shadow_.count_no_memory();
      return g.ptr == nullptr ? "" : "a failed grant has a pointer";
    }
    const std::size_t off = shadow_.offset_of(at.bucket, at.index);
    if (g.status == status::no_memory) {
      // Allowed only when the new pages of the smallest grant do not fit the budget, or the
      // block's map call was refused on purpose.
      if (!r.buckets && shadow_.fits_budget(shadow_.new_pages(off, lo))) return "no_memory although the smallest grant fits";
      if (g.ptr != nullptr) return "a failed grant has a pointer";
      shadow_.count_no_memory();
      return {};
    }
    if (g.status != status::ok) return describe("result", g.status, status::ok);
    if (r.buckets) return "a refused map call, yet a grant";
    if (g.ptr != base() + off) {
      std::ostringstream e;
      e << "range placed at offset " << static_cast<std::byte*>(g.ptr) - base() << ", expected " << off;
      return e.str();
    }
    if (g.size < lo || g.size > most || g.size % gran != 0) {
      std::ostringstream e;
      e << "range grant " << g.size << " outside [" << lo << ", " << most << "] or not a multiple of " << gran;
      return e.str();
    }
    if (!shadow_.fits_budget(shadow_.new_pages(off, g.size))) return "range grant beyond the budget";
    const std::uint64_t id = next_id_++;
    shadow_.place(at, g.size, id);
    fill(off, 0, g.size, id);
    return {};
  }

  std::size_t random_live() {
    auto it = shadow_.live().begin();
    std::advance(it, static_cast<std::ptrdiff_t>(src_.below(shadow_.live().size())));
    return it->first;
  }

  std::string free_at(std::size_t off) {
    const live_alloc a = shadow_.live().at(off);
    if (!intact(off, a.size, a.id)) return "contents changed before free";
    const status s = h_->deallocate(base() + off);
    note(s);
    if (s != status::ok) return describe("free", s, status::ok);
    if (!misuse_log::reported(s, base() + off)) return "a good free reached the misuse handler";
    shadow_.release(off);
    recently_freed_.push_back(off);
    if (recently_freed_.size() > 16) recently_freed_.erase(recently_freed_.begin());
    return {};
  }

  std::string op_free() {
    const std::size_t off = random_live();
    last_op_ = "free(+" + std::to_string(off) + ")";
    return free_at(off);
  }

  std::string op_bad_free() {
    std::ptrdiff_t off = 0;
    const std::ptrdiff_t vs = static_cast<std::ptrdiff_t>(shadow_.virtual_size());
    const std::ptrdiff_t pg = static_cast<std::ptrdiff_t>(shadow_.page());
    const std::size_t gr = has_region() ? granule() : 1;
    switch (src_.below(has_region() ? 8 : 6)) {
      case 0:  // a freed pointer (possibly reused since)
        off = recently_freed_.empty() ? 0 : static_cast<std::ptrdiff_t>(recently_freed_[src_.below(recently_freed_.size())]);
        break;
      case 1:  // inside a live allocation
        if (shadow_.live().empty()) {
          off = 1;
        } else {
          const std::size_t at = random_live();
          const live_alloc& a = shadow_.live().at(at);
          const std::size_t span = a.packed ? a.granules * gr : std::max(a.size, shadow_.min_align());
          off = static_cast<std::ptrdiff_t>(at + 1 + src_.below(span > 1 ? span - 1 : 1));
        }
        break;
      case 2: {  // a random block start
        const auto& m = shadow_.buckets()[src_.below(shadow_.buckets().size())];
        off = static_cast<std::ptrdiff_t>(m.offset + src_.below(m.count) * m.size);
        break;
      }
      case 3: off = -1 - static_cast<std::ptrdiff_t>(src_.below(static_cast<std::uint64_t>(pg))); break;
      case 4: off = vs + static_cast<std::ptrdiff_t>(src_.below(static_cast<std::uint64_t>(pg))); break;
      case 6:  // a granule of the region: free, inside an allocation or a start
        off = static_cast<std::ptrdiff_t>(src_.below(region_bytes() / gr) * gr);
        break;
      case 7:  // a byte of the region
        off = static_cast<std::ptrdiff_t>(src_.below(region_bytes()));
        break;
      default: off = static_cast<std::ptrdiff_t>(src_.below(static_cast<std::uint64_t>(vs))); break;
    }
    last_op_ = "free(" + std::to_string(off) + ")";
    const status expected = shadow_.classify(off);
    if (expected == status::ok) return free_at(static_cast<std::size_t>(off));
    // Out-of-range addresses are compared as integers only; they are never dereferenced.
    void* p = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(base()) + static_cast<std::uintptr_t>(off));
    if (h_->owns(p) != (off >= 0 && off < vs)) return "owns() disagrees with the range";
    const status s = h_->deallocate(p);
    note(s);
    if (s != expected) return describe("bad free", s, expected);
    if (!misuse_log::reported(s, p)) return "a bad free was not reported to the misuse handler once, as it was";
    if (h_->usable_size(p) != 0) return "usable_size of a bad pointer is not 0";
    if (h_->resize(p, 1) != expected) return "resize of a bad pointer gives another status than free";
    if (!misuse_log::reported(expected, p)) return "a bad resize was not reported to the misuse handler once, as it was";
    const vmh::grant g = h_->grow(p, 1 + src_.below(1024));
    if (g.status != expected || g.ptr != nullptr || g.size != 0) return "grow of a bad pointer gives another answer than free";
    if (!misuse_log::reported(expected, p)) return "a bad grow was not reported to the misuse handler once, as it was";
    return {};
  }

  std::string op_resize() {
    const std::size_t off = random_live();
    const live_alloc a = shadow_.live().at(off);
    std::size_t slot = 0;
    if (a.packed) {
      // The free run after it, and the region's end (beyond: exceeds_block whatever is free).
      const std::size_t first = off / granule();
      const std::size_t run = (shadow_.free_run_end(first + a.granules) - first) * granule();
      slot = src_.below(4) == 0 ? (shadow_.region().granules - first) * granule() : run;
    } else {
      slot = a.blocks * shadow_.buckets()[a.bucket].size;
    }
    std::size_t n = 0;
    switch (src_.below(5)) {
      case 0: n = 1 + src_.below(a.size); break;                // shrink
      case 1: n = a.size + 1 + src_.below(slot); break;         // grow, maybe past the block(s)
      case 2: n = slot; break;                                  // the whole block(s) or run
      case 3: n = src_.below(10) == 0 ? 0 : slot + 1; break;    // invalid or just too large
      default: n = 1 + src_.below(slot); break;
    }
    last_op_ = "resize(+" + std::to_string(off) + ", " + std::to_string(n) + ") from " + std::to_string(a.size);
    status expected = shadow_.expect_resize(off, n);
    const std::size_t granules_before = a.granules;
    const status s = h_->resize(base() + off, n);
    note(s);
    const refusals r = refused();
    if (r.injected && expected == status::ok) expected = status::no_memory;
    if (s != expected) return describe("resize", s, expected);
    if (!misuse_log::reported(s, base() + off)) return "a resize of a live block reached the misuse handler";
    if (s == status::no_memory) shadow_.count_no_memory();
    if (s == status::ok) {
      shadow_.apply_resize(off, n);
      if (a.packed && shadow_.live().at(off).granules != granules_before) ++packed_resized_;
      if (n > a.size) fill(off, a.size, n, a.id);
    }
    if (!intact(off, std::min(a.size, n == 0 ? a.size : n), a.id)) return "contents changed by resize";
    return {};
  }

  std::string op_grow() {
    const std::size_t off = random_live();
    const live_alloc a = shadow_.live().at(off);
    const std::size_t unit = a.packed ? granule() : shadow_.min_align();
    std::size_t preferred = 0;
    switch (src_.below(4)) {
      case 0: preferred = 1 + src_.below(a.size); break;  // below its size: no change
      case 1: preferred = a.size + 1 + src_.below(8 * unit); break;
      case 2: preferred = a.size + src_.below(4 * shadow_.page()); break;
      default: preferred = src_.below(40) == 0 ? 0 : SIZE_MAX; break;
    }
    std::size_t granule_arg = 0;
    switch (src_.below(4)) {
      case 0: granule_arg = unit << src_.below(3); break;
      case 1: granule_arg = 1 + src_.below(100); break;
      default: break;
    }
    std::ostringstream o;
    o << "grow(+" << off << ", " << preferred << ", " << granule_arg << ") from " << a.size;
    last_op_ = o.str();
    const vmh::grant g = h_->grow(base() + off, preferred, granule_arg);
    note(g.status);
    if (!misuse_log::reported(g.status, base() + off)) return "a grow of a live allocation reached the misuse handler";
    const refusals r = refused();
    if (preferred == 0) {
      if (g.status != status::invalid_size || g.ptr != nullptr) return describe("grow", g.status, status::invalid_size);
      return {};
    }
    const std::size_t step = granule_arg == 0 ? 1 : granule_arg;
    // grow never fails for want of pages: it takes what the mapper maps (a refused map call makes
    // it ask again for fewer pages).
    if (g.status != status::ok) return describe("grow", g.status, status::ok);
    if (g.ptr != base() + off) return "grow moved the allocation";
    if (a.packed) {
      const std::size_t expected = shadow_.expect_packed_grow(off, preferred, step), size = a.granules * granule();
      // Refused pages: less, in granules (or its size), never less than its size.
      const bool fewer = (r.region || r.buckets) && g.size <= expected && g.size >= size && (g.size == size || g.size % step == 0);
      if (g.size != expected && !fewer) {
        std::ostringstream e;
        e << "packed grow to " << g.size << ", expected " << expected << (r.region || r.buckets ? " or less" : "");
        return e.str();
      }
      if (g.size > size) {
        if (shadow_.expect_resize(off, g.size) != status::ok) return "packed grow beyond what a resize may reach";
        shadow_.apply_resize(off, g.size);
        ++packed_resized_;
        fill(off, a.size, g.size, a.id);
      }
    } else if (g.size != a.size) {
      // It grew (`size` granted), or a block that keeps no size record answered its whole block.
      const std::size_t block = shadow_.buckets()[a.bucket].size, span = a.blocks * block;
      const bool whole_block = a.blocks == 1 && g.size == block;
      if (g.size < a.size || g.size > span) return "grow outside [size, blocks]";
      if (!whole_block && (g.size > preferred || g.size % step != 0)) return "grown beyond preferred or off the granule";
      const std::size_t fresh = shadow_.new_pages(off, g.size, ceil_div(off + a.size, shadow_.page()));
      const std::size_t fair = shadow_.fair_pages(0);
      if (fair < ceil_div(shadow_.virtual_size(), shadow_.page()) && fresh > fair) return "grow beyond the fairness rule";
      if (shadow_.expect_resize(off, g.size) != status::ok) return "grow beyond what a resize may reach";
      shadow_.apply_resize(off, g.size);
      fill(off, a.size, g.size, a.id);
    }
    if (!intact(off, a.size, a.id)) return "contents changed by grow";
    return {};
  }

  // Byte i of an allocation is the pattern's byte pattern_start(id) + i % pattern_span.
  void fill(std::size_t off, std::size_t from, std::size_t to, std::uint64_t id) {
    for (std::size_t i = from, n = 0; i < to; i += n) {
      n = std::min(to - i, pattern_span - i % pattern_span);
      std::memcpy(base() + off + i, pattern_bytes() + pattern_start(id) + i % pattern_span, n);
    }
  }
  bool intact(std::size_t off, std::size_t size, std::uint64_t id) const {
    for (std::size_t i = 0, n = 0; i < size; i += n) {
      n = std::min(size - i, pattern_span - i % pattern_span);
      if (std::memcmp(base() + off + i, pattern_bytes() + pattern_start(id) + i % pattern_span, n) != 0) return false;
    }
    return true;
  }

  // The heap against the model.
  std::string compare() const {
    std::ostringstream o;
    if (!h_->mapper().misuse().empty()) return "mapper: " + h_->mapper().misuse();
    const vmh::check c = h_->validate();
    if (!c) {
      o << "validate: " << vmh::to_string(c.broken) << " bucket " << c.bucket << " index " << c.index;
      return o.str();
    }
    const vmh::heap_stats s = h_->stats();
    const auto refs = shadow_.page_refs();
    const std::size_t pages = shadow_.mapped_pages();
    const std::size_t page = shadow_.page();
    if (s.live_allocations != shadow_.live().size()) o << "live " << s.live_allocations << " vs " << shadow_.live().size();
    else if (s.bytes_in_blocks != shadow_.bytes()) o << "bytes " << s.bytes_in_blocks << " vs " << shadow_.bytes();
    else if (s.peak_bytes_in_blocks != shadow_.peak_bytes()) o << "peak bytes " << s.peak_bytes_in_blocks << " vs " << shadow_.peak_bytes();
    else if (s.pages_mapped != pages) o << "pages " << s.pages_mapped << " vs " << pages;
    else if (s.peak_pages_mapped != shadow_.peak_pages()) o << "peak pages " << s.peak_pages_mapped << " vs " << shadow_.peak_pages();
    else if (h_->mapper().mapped() != pages * page) o << "mapper " << h_->mapper().mapped() << " vs " << pages * page;
    else if (s.failed_no_block != shadow_.failed_no_block()) o << "no_block " << s.failed_no_block << " vs " << shadow_.failed_no_block();
    else if (s.failed_no_memory != shadow_.failed_no_memory()) o << "no_memory " << s.failed_no_memory << " vs " << shadow_.failed_no_memory();
    if (!o.str().empty()) return o.str();
    // The exact set of mapped pages: those the live allocations touch.
    for (std::size_t p = 0; p < refs.size(); ++p)
      if (h_->mapper().is_mapped(p) != (refs[p] != 0)) {
        o << "page " << p << (refs[p] != 0 ? " touched but not mapped" : " mapped but untouched");
        return o.str();
      }

    for (std::size_t b = 0; b < shadow_.buckets().size(); ++b) {
      const bucket_model& m = shadow_.buckets()[b];
      const vmh::bucket_stats bs = h_->stats(b);
      if (bs.in_use != m.in_use || bs.peak_in_use != m.peak || bs.full_failures != m.full_failures) {
        o << "bucket " << b << ": in_use " << bs.in_use << "/" << m.in_use << " peak " << bs.peak_in_use << "/"
          << m.peak << " full_failures " << bs.full_failures << "/" << m.full_failures;
        return o.str();
      }
    }

    // Every live allocation is live in the heap, holds its size, and none overlap.
    std::size_t end_of_previous = 0;
    for (const auto& [off, a] : shadow_.live()) {
      const std::size_t usable = h_->usable_size(base() + off);
      std::size_t expected = 0;
      if (a.packed) {
        expected = a.granules * granule();
      } else {
        const std::size_t slot_end = off + a.blocks * shadow_.buckets()[a.bucket].size;
        const std::size_t page_end = ceil_div(off + a.size, page) * page;
        expected = std::min(slot_end, page_end) - off;
      }
      if (usable < a.size || usable != expected) {
        o << "usable_size at +" << off << " is " << usable << ", expected " << expected << " for " << a.size;
        return o.str();
      }
      if (off < end_of_previous) {
        o << "allocation at +" << off << " overlaps the previous one";
        return o.str();
      }
      end_of_previous = off + usable;
    }
    return {};
  }

  misuse_log misuse_;  // every report of a misused pointer is checked against the call that made it
  Source& src_;
  shadow_config config_;
  model shadow_;
  aligned_buffer mem_;
  std::unique_ptr<heap_type> h_;
  std::size_t smallest_ = 64, largest_ = 64, page_log2_ = 0;
  std::vector<std::size_t> recently_freed_;
  std::uint64_t next_id_ = 1;
  std::size_t counts_[16] = {};
  std::size_t runs_taken_ = 0, packed_placed_ = 0, packed_refused_ = 0, packed_resized_ = 0, injected_ = 0;
  std::string last_op_;
};

}  // namespace vmh_test
