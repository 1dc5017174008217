// A randomized differential test: the heap against a shadow model that knows only the rules
// (smallest fitting aligned bucket, lowest free block, runs from the largest bucket down, pages
// touched by the requested bytes, a physical budget) and recomputes page references from its
// own list of live allocations. After every operation the heap must validate and agree with the
// model on every live allocation, every statistic and every mapped page.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

using vmh::bucket;
using vmh::status;

constexpr std::size_t page = 4096;
constexpr std::size_t min_align = 64;

// Sub-page blocks (64, 192), page-straddling blocks (1152, 6144) and multi-page blocks
// (16 KiB, 40 KiB, 64 KiB). Counts keep every bucket aligned to its blocks.
constexpr bucket table[] = {{64, 128}, {192, 64}, {1152, 16}, {6144, 9}, {16384, 4}, {40960, 2}, {65536, 2}};
constexpr std::size_t table_size = sizeof(table) / sizeof(table[0]);
constexpr std::size_t budget_pages = 28;

using layout = vmh::runtime_layout<8, 512, 128>;

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return a / b + (a % b != 0); }

constexpr std::size_t table_bytes() {
  std::size_t n = 0;
  for (const bucket& b : table) n += b.block_size * b.block_count;
  return n;
}

// The backing range: exactly the layout's virtual size, page aligned.
struct alignas(page) arena {
  std::byte bytes[table_bytes()];
};
constexpr bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::byte pattern(std::uint64_t id, std::size_t i) {
  return static_cast<std::byte>((id * 0x2545f4914f6cdd1dull >> 56) + i * 13 + (i >> 9));
}

// ------------------------------------------------------------------------------------------------
// The shadow model

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
  model(std::size_t budget) : budget_(budget) {
    std::size_t off = 0;
    for (const bucket& t : table) {
      bucket_model m;
      m.size = t.block_size;
      m.count = t.block_count;
      m.offset = off;
      const std::size_t low = t.block_size & (~t.block_size + 1);
      m.align = low < page ? low : page;
      m.used.assign(t.block_count, 0);
      m.start.assign(t.block_count, 0);
      buckets_.push_back(m);
      off += t.block_size * t.block_count;
    }
    virtual_size_ = off;
  }

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
    std::vector<std::size_t> refs(ceil_div(virtual_size_, page), 0);
    for (const auto& [off, a] : live_)
      for (std::size_t p = off / page; p < ceil_div(off + a.size, page); ++p) ++refs[p];
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
    for (std::size_t p = std::max(off / page, from_page); p < ceil_div(off + size, page); ++p) n += refs[p] == 0;
    return n;
  }
  bool fits_budget(std::size_t pages) const { return pages * page <= budget_ - mapped_pages() * page; }

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
    if (align == 0) align = min_align;
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
    return {status::no_block};
  }

  // The bucket whose full_failures a no_block failure of a request of `size` counts.
  void count_no_block(std::size_t size, std::size_t align) {
    if (align == 0) align = min_align;
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
    bytes_ += size;
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    peak_pages_ = std::max(peak_pages_, mapped_pages());
  }

  void release(std::size_t off) {
    const live_alloc a = live_.at(off);
    bucket_model& m = buckets_[a.bucket];
    for (std::size_t i = a.index; i < a.index + a.blocks; ++i) m.used[i] = 0;
    m.start[a.index] = 0;
    m.in_use -= a.blocks;
    bytes_ -= a.size;
    live_.erase(off);
  }

  // resize: the expected result, applied when ok.
  status resize(std::size_t off, std::size_t new_size) {
    live_alloc& a = live_.at(off);
    bucket_model& m = buckets_[a.bucket];
    if (new_size == 0) return status::invalid_size;
    if (new_size > a.blocks * m.size) return status::exceeds_block;
    if (new_size > a.size && !fits_budget(new_pages(off, new_size, ceil_div(off + a.size, page)))) {
      ++failed_no_memory_;
      return status::no_memory;
    }
    const std::size_t kept = ceil_div(new_size, m.size);
    for (std::size_t i = a.index + kept; i < a.index + a.blocks; ++i) m.used[i] = 0;
    m.in_use -= a.blocks - kept;
    a.blocks = kept;
    bytes_ = bytes_ - a.size + new_size;
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
  std::size_t virtual_size_ = 0, budget_ = 0;
  std::size_t bytes_ = 0, peak_bytes_ = 0, peak_pages_ = 0, failed_no_block_ = 0, failed_no_memory_ = 0;
};

// ------------------------------------------------------------------------------------------------
// The run

template <vmh::heap_options Options>
class differential {
 public:
  using heap_type = vmh::heap<layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock, Options>;

  explicit differential(std::uint64_t seed)
      : rng_(seed),
        shadow_(budget_pages * page),
        mem_(std::make_unique<arena>()),
        h_(std::make_unique<heap_type>(vmh::external_range{mem_->bytes, sizeof(arena)},
                                       vmh::counting_mapper{budget_pages * page})) {}

  std::string configure() {
    const vmh::layout_error e = h_->configure(table, table_size, page, min_align);
    if (e != vmh::layout_error::none) return std::string("configure: ") + vmh::to_string(e);
    if (h_->geometry().virtual_size != shadow_.virtual_size()) return "virtual size differs";
    return {};
  }

  // One random operation; returns a description of the first disagreement, or "".
  std::string step() {
    const std::size_t live = shadow_.live().size();
    const std::uint64_t r = rng_() % 100;
    const std::uint64_t free_cut = 25 + std::min<std::size_t>(live, 60);
    std::string problem;
    if (live != 0 && r < free_cut / 2) problem = op_free();
    else if (r < free_cut / 2 + 8) problem = op_bad_free();
    else if (live != 0 && r < free_cut / 2 + 8 + 12) problem = op_resize();
    else if (r < free_cut / 2 + 8 + 12 + 10) problem = op_range();
    else problem = op_allocate();
    if (!problem.empty()) return last_op_ + ": " + problem;
    problem = compare();
    return problem.empty() ? problem : last_op_ + ": " + problem;
  }

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
  std::size_t range_conservative() const { return range_conservative_; }

 private:
  std::byte* base() const { return mem_->bytes; }

  std::size_t random_size() {
    const std::uint64_t k = rng_() % 100;
    if (k < 40) return 1 + rng_() % 256;
    if (k < 65) return 1 + rng_() % 2048;
    if (k < 85) return 1 + rng_() % 20000;
    if (k < 90) return 1 + rng_() % 140000;
    if (k < 95) return 65537 + rng_() % 32768;  // a run of two 64 KiB blocks that fits the budget
    switch (rng_() % 6) {
      case 0: return 0;
      case 1: return table[rng_() % table_size].block_size;
      case 2: return shadow_.virtual_size();
      case 3: return shadow_.virtual_size() + 1;
      case 4: return SIZE_MAX;
      default: return 65536 + 1 + rng_() % 65536;
    }
  }
  std::size_t random_align() {
    const std::uint64_t k = rng_() % 100;
    if (k < 70) return 0;
    if (k < 95) return std::size_t{1} << (rng_() % 14);  // 1 .. 8 KiB
    const std::size_t bad[] = {3, 48, 96, 6144};
    return bad[rng_() % 4];
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
    note(g.result);
    if (g.result != at.result) return describe("result", g.result, at.result);
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
    const std::size_t min = rng_() % 50 == 0 ? 0 : 1 + rng_() % 24000;
    std::size_t preferred = min * (1 + rng_() % 8) + rng_() % 64;
    if (rng_() % 20 == 0) preferred = min / 2;
    if (rng_() % 40 == 0) preferred = SIZE_MAX;
    std::size_t granule = 0;
    if (rng_() % 3 == 0) granule = std::size_t{64} << (rng_() % 7);
    const std::size_t align = rng_() % 4 == 0 ? random_align() : 0;
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
    const std::size_t a = align == 0 ? min_align : align;
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
      if (at.result == status::ok) at.index = shadow_.first_free(bs[at.bucket]);
      else expected = status::no_block;
    }

    const vmh::grant g = h_->allocate_range(min, preferred, align, granule);
    note(g.result);
    if (expected != status::ok) {
      if (g.result != expected) return describe("result", g.result, expected);
      if (expected == status::no_block) shadow_.count_no_block(lo, align);
      return g.ptr == nullptr ? "" : "a failed grant has a pointer";
    }
    const std::size_t off = shadow_.offset_of(at.bucket, at.index);
    if (g.result == status::no_memory) {
      // Allowed only when the smallest grant's new pages do not fit. The heap counts the first
      // page as free when a neighbour maps it but not the last one, so it may also refuse when
      // the block's last page is mapped by the next block.
      const bool lo_fits = shadow_.fits_budget(shadow_.new_pages(off, lo));
      if (lo_fits) {
        const auto refs = shadow_.page_refs();
        const std::size_t last = (off + lo - 1) / page;
        if (refs[last] == 0 || last == off / page) return "no_memory although the smallest grant fits";
        ++range_conservative_;
      }
      shadow_.count_no_memory();
      return {};
    }
    if (g.result != status::ok) return describe("result", g.result, status::ok);
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
    std::advance(it, static_cast<std::ptrdiff_t>(rng_() % shadow_.live().size()));
    return it->first;
  }

  std::string free_at(std::size_t off) {
    const live_alloc a = shadow_.live().at(off);
    if (!intact(off, a.size, a.id)) return "contents changed before free";
    const status s = h_->deallocate(base() + off);
    note(s);
    if (s != status::ok) return describe("free", s, status::ok);
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
    switch (rng_() % 6) {
      case 0:  // a freed pointer (possibly reused since)
        off = recently_freed_.empty() ? 0 : static_cast<std::ptrdiff_t>(recently_freed_[rng_() % recently_freed_.size()]);
        break;
      case 1:  // inside a live allocation
        off = shadow_.live().empty() ? 1 : static_cast<std::ptrdiff_t>(random_live() + 1 + rng_() % 64);
        break;
      case 2: {  // a random block start
        const auto& m = shadow_.buckets()[rng_() % shadow_.buckets().size()];
        off = static_cast<std::ptrdiff_t>(m.offset + (rng_() % m.count) * m.size);
        break;
      }
      case 3: off = -1 - static_cast<std::ptrdiff_t>(rng_() % 4096); break;
      case 4: off = vs + static_cast<std::ptrdiff_t>(rng_() % 4096); break;
      default: off = static_cast<std::ptrdiff_t>(rng_() % static_cast<std::uint64_t>(vs)); break;
    }
    last_op_ = "free(" + std::to_string(off) + ")";
    const status expected = shadow_.classify(off);
    if (expected == status::ok) return free_at(static_cast<std::size_t>(off));
    // Out-of-range addresses are compared as integers only; they are never dereferenced.
    void* p = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(base()) + static_cast<std::uintptr_t>(off));
    const status s = h_->deallocate(p);
    note(s);
    if (s != expected) return describe("bad free", s, expected);
    if (h_->usable_size(p) != 0) return "usable_size of a bad pointer is not 0";
    return {};
  }

  std::string op_resize() {
    const std::size_t off = random_live();
    const live_alloc a = shadow_.live().at(off);
    const std::size_t slot = a.blocks * shadow_.buckets()[a.bucket].size;
    std::size_t n = 0;
    switch (rng_() % 5) {
      case 0: n = 1 + rng_() % a.size; break;             // shrink
      case 1: n = a.size + 1 + rng_() % slot; break;      // grow, maybe past the block(s)
      case 2: n = slot; break;                            // the whole block(s)
      case 3: n = rng_() % 10 == 0 ? 0 : slot + 1; break;  // invalid or just too large
      default: n = 1 + rng_() % slot; break;
    }
    last_op_ = "resize(+" + std::to_string(off) + ", " + std::to_string(n) + ") from " + std::to_string(a.size);
    const status expected = shadow_.resize(off, n);
    const status s = h_->resize(base() + off, n);
    note(s);
    if (s != expected) return describe("resize", s, expected);
    if (s == status::ok && n > a.size) fill(off, a.size, n, a.id);
    if (!intact(off, std::min(a.size, n == 0 ? a.size : n), a.id)) return "contents changed by resize";
    return {};
  }

  void fill(std::size_t off, std::size_t from, std::size_t to, std::uint64_t id) {
    for (std::size_t i = from; i < to; ++i) base()[off + i] = pattern(id, i);
  }
  bool intact(std::size_t off, std::size_t n, std::uint64_t id) const {
    for (std::size_t i = 0; i < n; ++i)
      if (base()[off + i] != pattern(id, i)) return false;
    return true;
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
    if (s.live_allocations != shadow_.live().size()) o << "live " << s.live_allocations << " vs " << shadow_.live().size();
    else if (s.bytes_requested != shadow_.bytes()) o << "bytes " << s.bytes_requested << " vs " << shadow_.bytes();
    else if (s.peak_bytes_requested != shadow_.peak_bytes()) o << "peak bytes " << s.peak_bytes_requested << " vs " << shadow_.peak_bytes();
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

  std::mt19937_64 rng_;
  model shadow_;
  std::unique_ptr<arena> mem_;
  std::unique_ptr<heap_type> h_;
  std::vector<std::size_t> recently_freed_;
  std::uint64_t next_id_ = 1;
  std::size_t counts_[16] = {};
  std::size_t runs_taken_ = 0, range_conservative_ = 0;
  std::string last_op_;
};

template <vmh::heap_options Options>
void run(std::uint64_t seed, std::size_t operations) {
  INFO("seed " << seed);
  differential<Options> d(seed);
  const std::string configured = d.configure();
  REQUIRE(configured.empty());
  std::size_t failures = 0;
  for (std::size_t i = 0; i < operations; ++i) {
    const std::string problem = d.step();
    if (!problem.empty()) {
      INFO("operation " << i << ": " << problem);
      CHECK(problem.empty());
      if (++failures == 5) break;
    }
  }
  CHECK(failures == 0);
  const std::string drained = d.drain();
  INFO(drained);
  CHECK(drained.empty());
  // The mix reached every outcome that matters.
  CHECK(d.count(status::ok) > operations / 4);
  CHECK(d.count(status::no_memory) > 100);
  CHECK(d.count(status::no_block) > 100);
  CHECK(d.count(status::invalid_size) > 0);
  CHECK(d.count(status::invalid_alignment) > 0);
  CHECK(d.count(status::interior_pointer) > 0);
  CHECK(d.count(status::double_free) > 0);
  CHECK(d.count(status::foreign_pointer) > 0);
  CHECK(d.count(status::exceeds_block) > 0);
  if (Options.runs) CHECK(d.runs_taken() > 20);
}

}  // namespace

TEST_CASE("differential: the heap with runs agrees with the shadow model", "[differential]") {
  run<vmh::heap_options{.runs = true}>(0x5eed0001, 100000);
}

TEST_CASE("differential: the heap without runs agrees with the shadow model", "[differential]") {
  run<vmh::heap_options{.runs = false}>(0x5eed0002, 50000);
}
