// A shadow model of the heap and a driver that runs the heap and the model side by side.
//
// The model knows only the rules (smallest fitting aligned bucket, lowest free block, runs from
// the largest bucket down, pages touched by the requested bytes, a physical budget) and
// recomputes page references from its own list of live allocations. After every operation the
// driver checks that the heap validates and agrees with the model on every live allocation,
// every statistic and every mapped page, and that no two live allocations overlap. Allocations
// are filled with a pattern that is checked before they are freed or resized.
//
// The driver takes its choices from a `Source` with `std::uint64_t below(std::uint64_t n)`
// (a value in [0, n)): a seeded generator in the randomized test, the input bytes in the fuzzer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <cstring>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "misuse_log.hpp"

namespace vmh_test {

using vmh::status;

/// A layout (a table, page size and min_align) and a physical budget.
struct shadow_config {
  std::vector<vmh::bucket> table;
  std::size_t page = 4096;
  std::size_t min_align = 64;
  std::size_t budget = SIZE_MAX;
};

/// The runtime layout every shadowed heap uses: up to 8 buckets, 512 blocks and 128 pages.
using shadow_layout = vmh::runtime_layout<8, 512, 128>;

inline constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return a / b + (a % b != 0); }
inline constexpr bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/// The contents an allocation is filled with: byte i of the allocation with identity `id` is
/// `pattern_bytes()[pattern_start(id) + i]`, a pseudo-random sequence without a short period, so
/// that lost, moved or overwritten bytes show. Filled and checked with memcpy and memcmp.
inline constexpr std::size_t pattern_span = std::size_t{1} << 20;  // more than any shadowed heap
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
};

struct placement {
  status result = status::ok;
  std::size_t bucket = 0, index = 0;
};

class model {
 public:
  explicit model(const shadow_config& c) : page_(c.page), min_align_(c.min_align), budget_(c.budget) {
    std::size_t off = 0;
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
  const std::map<std::size_t, live_alloc>& live() const { return live_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t peak_bytes() const { return peak_bytes_; }
  std::size_t peak_pages() const { return peak_pages_; }
  std::size_t failed_no_block() const { return failed_no_block_; }
  std::size_t failed_no_memory() const { return failed_no_memory_; }

  // Page references computed from the live set.
  std::vector<std::size_t> page_refs() const {
    std::vector<std::size_t> refs(ceil_div(virtual_size_, page_), 0);
    for (const auto& [off, a] : live_)
      for (std::size_t p = off / page_; p < ceil_div(off + a.size, page_); ++p) ++refs[p];
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
  bool fits_budget(std::size_t pages) const { return pages * page_ <= budget_ - mapped_pages() * page_; }
  // The mapper keeps its budget at or above what is mapped.
  void set_budget(std::size_t bytes) { budget_ = std::max(bytes, mapped_pages() * page_); }

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

  // allocate(size, align): which block the rules pick, or why none.
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
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    peak_pages_ = std::max(peak_pages_, mapped_pages());
  }

  void release(std::size_t off) {
    const live_alloc a = live_.at(off);
    bucket_model& m = buckets_[a.bucket];
    for (std::size_t i = a.index; i < a.index + a.blocks; ++i) m.used[i] = 0;
    m.start[a.index] = 0;
    m.in_use -= a.blocks;
    bytes_ -= a.blocks * m.size;
    live_.erase(off);
  }

  // resize: the expected result, applied when ok.
  status resize(std::size_t off, std::size_t new_size) {
    live_alloc& a = live_.at(off);
    bucket_model& m = buckets_[a.bucket];
    if (new_size == 0) return status::invalid_size;
    if (new_size > a.blocks * m.size) return status::exceeds_block;
    if (new_size > a.size && !fits_budget(new_pages(off, new_size, ceil_div(off + a.size, page_)))) {
      ++failed_no_memory_;
      return status::no_memory;
    }
    const std::size_t kept = ceil_div(new_size, m.size);
    for (std::size_t i = a.index + kept; i < a.index + a.blocks; ++i) m.used[i] = 0;
    m.in_use -= a.blocks - kept;
    bytes_ -= (a.blocks - kept) * m.size;
    a.blocks = kept;
    a.size = new_size;
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    peak_pages_ = std::max(peak_pages_, mapped_pages());
    return status::ok;
  }

  // What deallocate(ptr) must answer for a pointer at byte offset `off` (may be out of range).
  status classify(std::ptrdiff_t off) const {
    if (off < 0 || static_cast<std::size_t>(off) >= virtual_size_) return status::foreign_pointer;
    const std::size_t o = static_cast<std::size_t>(off);
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

 private:
  std::vector<bucket_model> buckets_;
  std::map<std::size_t, live_alloc> live_;
  std::size_t page_ = 0, min_align_ = 0;
  std::size_t virtual_size_ = 0, budget_ = 0;
  std::size_t bytes_ = 0, peak_bytes_ = 0, peak_pages_ = 0, failed_no_block_ = 0, failed_no_memory_ = 0;
};

// ------------------------------------------------------------------------------------------------
// The driver

template <class Source, vmh::heap_options Options>
class differential {
 public:
  using heap_type = vmh::heap<shadow_layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock, Options>;

  differential(Source& source, const shadow_config& config)
      : src_(source),
        config_(config),
        shadow_(config),
        mem_(std::max<std::size_t>(shadow_.virtual_size(), 1), config.page),
        h_(std::make_unique<heap_type>(vmh::external_range{mem_.data(), shadow_.virtual_size()},
                                       vmh::counting_mapper{config.budget})) {
    smallest_ = config.table.empty() ? 64 : config.table.front().block_size;
    largest_ = config.table.empty() ? 64 : config.table.back().block_size;
    for (std::size_t p = config.page; p > 1; p >>= 1) ++page_log2_;
  }

  std::string configure() {
    const vmh::layout_error e = h_->configure(config_.table.data(), config_.table.size(), config_.page, config_.min_align);
    if (e != vmh::layout_error::none) return std::string("configure: ") + vmh::to_string(e);
    if (h_->geometry().virtual_size != shadow_.virtual_size()) return "virtual size differs";
    return {};
  }

  const model& shadow() const { return shadow_; }
  const heap_type& heap() const { return *h_; }

  // One operation chosen by the source; returns a description of the first disagreement, or "".
  std::string step() {
    const std::size_t live = shadow_.live().size();
    const std::uint64_t r = src_.below(100);
    const std::uint64_t free_cut = 25 + std::min<std::size_t>(live, 60);
    std::string problem;
    if (live != 0 && r < free_cut / 2) problem = op_free();
    else if (r < free_cut / 2 + 8) problem = op_bad_free();
    else if (live != 0 && r < free_cut / 2 + 8 + 12) problem = op_resize();
    else if (r < free_cut / 2 + 8 + 12 + 10) problem = op_range();
    else problem = op_allocate();
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
  // everything as it was.
  std::string reconfigure_refused() {
    last_op_ = "configure(live " + std::to_string(shadow_.live().size()) + ")";
    if (!shadow_.live().empty()) {
      const vmh::layout_error e = h_->configure(config_.table.data(), config_.table.size(), config_.page, config_.min_align);
      if (e != vmh::layout_error::heap_not_empty) return finish(std::string("configure: ") + vmh::to_string(e));
    }
    const vmh::bucket broken[] = {{2 * config_.min_align, 1}, {config_.min_align, 1}};
    const vmh::layout_error e = h_->configure(broken, 2, config_.page, config_.min_align);
    const vmh::layout_error expected =
        shadow_.live().empty() ? vmh::layout_error::not_ascending : vmh::layout_error::heap_not_empty;
    if (e != expected) return finish(std::string("configure(broken): ") + vmh::to_string(e));
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

 private:
  std::byte* base() const { return mem_.data(); }

  std::string finish(const std::string& problem) {
    if (!problem.empty()) return last_op_ + ": " + problem;
    const std::string disagreement = compare();
    return disagreement.empty() ? disagreement : last_op_ + ": " + disagreement;
  }

  std::size_t random_size() {
    const std::uint64_t k = src_.below(100);
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

  std::string op_allocate() {
    const std::size_t size = random_size(), align = random_align();
    std::ostringstream o;
    o << "allocate(" << size << ", " << align << ")";
    last_op_ = o.str();
    placement at = shadow_.choose(size, align, Options.runs);
    if (at.result == status::ok) {
      const std::size_t off = shadow_.offset_of(at.bucket, at.index);
      if (!shadow_.fits_budget(shadow_.new_pages(off, size))) at.result = status::no_memory;
    }
    const vmh::grant g = h_->try_allocate(size, align);
    note(g.status);
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
    const std::size_t min = src_.below(50) == 0 ? 0 : 1 + src_.below(largest_ * 3 / 8);
    std::size_t preferred = min * (1 + src_.below(8)) + src_.below(64);
    if (src_.below(20) == 0) preferred = min / 2;
    if (src_.below(40) == 0) preferred = SIZE_MAX;
    std::size_t granule = 0;
    if (src_.below(3) == 0) granule = config_.min_align << src_.below(7);
    const std::size_t align = src_.below(4) == 0 ? random_align() : 0;
    std::ostringstream o;
    o << "allocate_range(" << min << ", " << preferred << ", " << align << ", " << granule << ")";
    last_op_ = o.str();

    // The rules of allocate_range: sizes first, then alignment, then the block.
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
    if (expected != status::ok) {
      if (g.status != expected) return describe("result", g.status, expected);
      if (expected == status::no_block) shadow_.count_no_block(lo, align);
      return g.ptr == nullptr ? "" : "a failed grant has a pointer";
    }
    const std::size_t off = shadow_.offset_of(at.bucket, at.index);
    if (g.status == status::no_memory) {
      // Allowed only when the new pages of the smallest grant do not fit the budget.
      if (shadow_.fits_budget(shadow_.new_pages(off, lo))) return "no_memory although the smallest grant fits";
      shadow_.count_no_memory();
      return {};
    }
    if (g.status != status::ok) return describe("result", g.status, status::ok);
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
    switch (src_.below(6)) {
      case 0:  // a freed pointer (possibly reused since)
        off = recently_freed_.empty() ? 0 : static_cast<std::ptrdiff_t>(recently_freed_[src_.below(recently_freed_.size())]);
        break;
      case 1:  // inside a live allocation
        off = shadow_.live().empty() ? 1
                                     : static_cast<std::ptrdiff_t>(random_live() + 1 + src_.below(shadow_.min_align()));
        break;
      case 2: {  // a random block start
        const auto& m = shadow_.buckets()[src_.below(shadow_.buckets().size())];
        off = static_cast<std::ptrdiff_t>(m.offset + src_.below(m.count) * m.size);
        break;
      }
      case 3: off = -1 - static_cast<std::ptrdiff_t>(src_.below(static_cast<std::uint64_t>(pg))); break;
      case 4: off = vs + static_cast<std::ptrdiff_t>(src_.below(static_cast<std::uint64_t>(pg))); break;
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
    return {};
  }

  std::string op_resize() {
    const std::size_t off = random_live();
    const live_alloc a = shadow_.live().at(off);
    const std::size_t slot = a.blocks * shadow_.buckets()[a.bucket].size;
    std::size_t n = 0;
    switch (src_.below(5)) {
      case 0: n = 1 + src_.below(a.size); break;                // shrink
      case 1: n = a.size + 1 + src_.below(slot); break;         // grow, maybe past the block(s)
      case 2: n = slot; break;                                  // the whole block(s)
      case 3: n = src_.below(10) == 0 ? 0 : slot + 1; break;    // invalid or just too large
      default: n = 1 + src_.below(slot); break;
    }
    last_op_ = "resize(+" + std::to_string(off) + ", " + std::to_string(n) + ") from " + std::to_string(a.size);
    const status expected = shadow_.resize(off, n);
    const status s = h_->resize(base() + off, n);
    note(s);
    if (s != expected) return describe("resize", s, expected);
    if (!misuse_log::reported(s, base() + off)) return "a resize of a live block reached the misuse handler";
    if (s == status::ok && n > a.size) fill(off, a.size, n, a.id);
    if (!intact(off, std::min(a.size, n == 0 ? a.size : n), a.id)) return "contents changed by resize";
    return {};
  }

  void fill(std::size_t off, std::size_t from, std::size_t to, std::uint64_t id) {
    if (to > from) std::memcpy(base() + off + from, pattern_bytes() + pattern_start(id) + from, to - from);
  }
  bool intact(std::size_t off, std::size_t n, std::uint64_t id) const {
    return n == 0 || std::memcmp(base() + off, pattern_bytes() + pattern_start(id), n) == 0;
  }

  // The heap against the model.
  std::string compare() const {
    std::ostringstream o;
    const vmh::check c = h_->validate();
    if (!c) {
      o << "validate: " << vmh::to_string(c.broken) << " bucket " << c.bucket << " index " << c.index;
      return o.str();
    }
    const vmh::heap_stats s = h_->stats();
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
      const std::size_t slot_end = off + a.blocks * shadow_.buckets()[a.bucket].size;
      const std::size_t page_end = ceil_div(off + a.size, page) * page;
      const std::size_t expected = std::min(slot_end, page_end) - off;
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
  std::size_t runs_taken_ = 0;
  std::string last_op_;
};

}  // namespace vmh_test
