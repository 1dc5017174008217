// vmh::packed_heap -- the backing heap: requests placed exactly, next to each other, in a region
// at the start of the heap's window.
//
// Buckets round a request up to a block, and a block below a page shares its page only with
// blocks of its own size: every size class with a live block holds a partly used page, and a
// request of a page or more owns its last page alone. The packed heap places requests at the
// granule (16 B by default) instead, and a page of its region is mapped while any live byte
// touches it: neighbours of any size share boundary pages, so neither waste is paid per request.
//
// Metadata lives outside the region (free memory is unmapped, and callers' lines are DMA targets):
//   used_    one bit per granule, 1 = part of a live allocation
//   start_   one bit per granule: for a used granule, 1 = the first of its allocation (adjacent
//            allocations are told apart, and a free finds where its allocation ends). For a free
//            granule the bit means nothing, so a big free chunk keeps its list node there:
//            its length, and the previous and next chunk of its size class, in its first bits,
//            and its length again in its last bits when it is 128 granules or more
//   small    free chunks below 64 granules ("small"), by size class c (2^c to 2^(c+1) - 1
//            granules) and group of 64 granules: counts_ packs, per group, how many of each
//            class start there; small_avail_[c] has a bit per group with one, small_classes_ a
//            bit per class with one
//   big      free chunks of 64 granules or more, on a doubly linked list per size class (4 per
//            power of two), heads_ and big_classes_
//   top_     where the wilderness starts: the free run that reaches the region's end, on no list
// A free chunk is a maximal run of unused granules: freeing coalesces by itself, and only the
// neighbours' entries move. Every step is O(1): a neighbour is found by a scan of at most three
// words or by its length tag, a chunk by a class mask and a list head or a one-group scan.
// Everything is zero in an empty heap (the whole region is wilderness): constant-initialized.
//
// Placement: a small request takes a small chunk first (one look at the first chunk of its own
// class, which may not hold it; then the first chunk, by address, of the smallest class whose
// every chunk holds it); then the head of the list of the smallest big class whose every chunk
// holds it (after one look at its own class's head); then the wilderness. The allocation takes
// the chunk's start, aligned; the rest stays free. Why, and what it costs: docs/design.md.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "detail/bits.hpp"
#include "detail/summary_bitmap.hpp"
#include "status.hpp"

namespace vmh {

/// The shape of a packed region, derived once (a constant for a fixed layout).
struct packed_geometry {
  std::size_t bytes = 0;     ///< bytes of the region, a multiple of the page size; 0: no region
  std::size_t granules = 0;  ///< bytes / granule
  std::size_t limit = 0;     ///< the largest fixed request placed in the region (larger ones go to buckets)
  unsigned granule_shift = 4;       ///< log2 of the granule, the unit of placement
  unsigned page_granule_shift = 8;  ///< log2 of the granules per page

  /// Granules that `size` (at most `bytes`) bytes take: the size rounded up to a whole granule.
  VMH_HOT constexpr std::size_t granules_for(std::size_t size) const noexcept {
    return (size + (std::size_t{1} << granule_shift) - 1) >> granule_shift;  // (no wrap: size <= bytes)
  }
};

/// Why a packed region's parameters cannot be used.
enum class packed_error : std::uint8_t {
  none = 0,
  bad_granule,        ///< the granule is not a power of two between 8 and the page size
  not_page_multiple,  ///< the region's bytes are not a multiple of the page size
  exceeds_capacity,   ///< more granules than the heap type can hold
};

/// Derives a packed region's geometry into `out`: `bytes` (0 for none) in granules of `granule`
/// bytes and pages of `page_size` bytes (a power of two); fixed requests up to `limit` bytes are
/// placed in it. `max_granules` bounds the region (the heap type's capacity).
constexpr packed_error derive_packed(std::size_t bytes, std::size_t granule, std::size_t page_size, std::size_t limit,
                                     packed_geometry& out, std::size_t max_granules = SIZE_MAX) noexcept {
  if (!detail::is_pow2(granule) || granule < 8 || !detail::is_pow2(page_size) || granule > page_size)
    return packed_error::bad_granule;
  if (bytes % page_size != 0) return packed_error::not_page_multiple;
  packed_geometry g{};
  g.bytes = bytes;
  g.granule_shift = detail::log2_floor(granule);
  g.page_granule_shift = detail::log2_floor(page_size) - g.granule_shift;
  g.granules = bytes >> g.granule_shift;
  g.limit = bytes == 0 ? 0 : limit < bytes ? limit : bytes;
  if (g.granules > max_granules) return packed_error::exceeds_capacity;
  out = g;
  return packed_error::none;
}

/// What the packed heap needs of the heap's page bookkeeping (pages numbered from the region's
/// start):
///   bool pages.commit(first, end)   one more live allocation touches pages [first, end): map
///                                   those none touched; all or nothing
///   void pages.release(first, end)  one fewer does: unmap those none touches any more
template <class P>
concept packed_pages = requires(P& p, std::size_t n) {
  { p.commit(n, n) } -> std::same_as<bool>;
  p.release(n, n);
};

namespace detail {
/// Small chunks of class c that can start in one group of 64 granules: each is at least 2^c
/// long and followed by a used granule.
constexpr unsigned group_count_bits(unsigned c) noexcept {
  return static_cast<unsigned>(std::bit_width(63u / ((1u << c) + 1) + 1));
}
/// Where class c's count sits in a group's counter word.
constexpr unsigned group_count_shift(unsigned c) noexcept {
  unsigned shift = 0;
  for (unsigned k = 0; k < c; ++k) shift += group_count_bits(k);
  return shift;
}
static_assert(group_count_shift(6) <= 32, "vmh packed_heap: a group's counts fit 32 bits");
/// One chunk of class c in a group's counter word, and the mask of class c's count there.
struct group_count_field {
  std::uint32_t unit[6] = {}, mask[6] = {};
};
inline constexpr group_count_field group_count_fields = [] {
  group_count_field f{};
  for (unsigned c = 0; c < 6; ++c) {
    f.unit[c] = std::uint32_t{1} << group_count_shift(c);
    f.mask[c] = ((std::uint32_t{1} << group_count_bits(c)) - 1) << group_count_shift(c);
  }
  return f;
}();
}  // namespace detail

/// The packed backing heap for regions of at most `MaxGranules` (< 2^21) granules. All zero
/// when empty.
template <std::size_t MaxGranules>
class packed_heap {
  using word = detail::word;
  static constexpr unsigned ws = detail::word_shift;
  static constexpr std::size_t wb = detail::word_bits;
  static constexpr unsigned group_shift = 6;  // 64 granules a group: the small counts of one fit 32 bits
  static constexpr std::size_t big = 64;      // the smallest chunk with a list node in its start bits
  static constexpr std::size_t tagged = 128;  // the smallest chunk with a length tag at its end too
  /// Bits of a node field: a length, or a granule index + 1 (0: none).
  static constexpr unsigned index_bits = std::bit_width(MaxGranules) > 7 ? static_cast<unsigned>(std::bit_width(MaxGranules)) : 7u;
  static_assert(MaxGranules > 0 && 3 * index_bits <= big, "vmh packed_heap: 1 to 2^21 - 1 granules");
  static constexpr std::size_t max_groups = (MaxGranules + 63) >> group_shift;
  static constexpr std::size_t leaf_words = (MaxGranules + wb - 1) >> ws;
  /// Big classes: 4 per power of two from 64 granules up.
  static constexpr std::size_t big_classes = (index_bits - group_shift) * 4;
  static_assert(big_classes <= 64, "vmh packed_heap: one bit per big class fits 64 bits");

 public:
  /// Where an allocation lies, in granules from the region's start, or why there is none.
  struct extent {
    status result = status::ok;  ///< ok, or why `locate` found no allocation there
    std::size_t first = 0;       ///< the allocation's first granule
    std::size_t end = 0;         ///< one past its last granule
  };

  /// Places `size` (1 .. g.limit) bytes aligned to `align` (a power of two up to a page) and
  /// maps the pages they touch. Returns the byte offset in the region, or SIZE_MAX with `why`
  /// set: no_block (no free chunk holds it) or no_memory (its pages could not be mapped); on
  /// failure nothing changed.
  template <packed_pages Pages>
  VMH_HOT std::size_t allocate(const packed_geometry& g, Pages& pages, std::size_t size, std::size_t align, status& why) noexcept {
    const std::size_t n = g.granules_for(size);
    const std::size_t a = align >> g.granule_shift > 1 ? align >> g.granule_shift : 1;
    const chunk c = find(g.granules, n, a);
    const std::size_t s = detail::align_up(c.first, a), e = s + n;
    if (e > c.first + c.length) {  // none, not even the wilderness
      why = status::no_block;
      return SIZE_MAX;
    }
    if (!pages.commit(s >> g.page_granule_shift, ((e - 1) >> g.page_granule_shift) + 1)) {
      why = status::no_memory;
      return SIZE_MAX;
    }
    if (c.first == top_) {
      top_ = e;
    } else {
      retire(c.first, c.length);
      if (c.first + c.length > e) insert(e, c.first + c.length - e);
    }
    if (s > c.first) insert(c.first, s - c.first);  // the alignment's gap stays free
    set_used(s, e);
    start_[s >> ws] |= word{1} << (s % wb);
    ++live_;
    granules_ += n;
    return s << g.granule_shift;
  }

  /// The allocation starting at byte `offset` (< g.bytes) of the region: its granules, or
  /// interior_pointer (inside an allocation, not at its start) or double_free (a free granule).
  VMH_HOT extent locate(const packed_geometry& g, std::size_t offset) const noexcept {
    const std::size_t s = offset >> g.granule_shift;
    if ((offset & ((std::size_t{1} << g.granule_shift) - 1)) != 0 || !is_used(s) || !is_start(s))
      return {is_used(s) ? status::interior_pointer : status::double_free};
    return {status::ok, s, end_of(s)};
  }

  /// Frees the located allocation `x` and unmaps the pages no allocation touches any more.
  template <packed_pages Pages>
  VMH_HOT void deallocate(const packed_geometry& g, Pages& pages, const extent& x) noexcept {
    pages.release(x.first >> g.page_granule_shift, ((x.end - 1) >> g.page_granule_shift) + 1);
    start_[x.first >> ws] &= ~(word{1} << (x.first % wb));
    clear_used(x.first, x.end);
    std::size_t first = x.first;
    if (first > 0 && !is_used(first - 1)) {  // a free left neighbour: merge with it
      const std::size_t length = run_before(first);
      first -= length;
      retire(first, length);
    }
    if (x.end == top_) top_ = first;  // the freed run joins the wilderness
    else insert(first, take_right(x.end) - first);
    --live_;
    granules_ -= x.end - x.first;
  }

  /// Resizes the located allocation `x` in place to `size` bytes (> 0): shrinking frees its
  /// tail, growing takes from the free run right after it. Returns ok, exceeds_block (that run
  /// is too short) or no_memory; on failure nothing changed.
  template <packed_pages Pages>
  status resize(const packed_geometry& g, Pages& pages, const extent& x, std::size_t size) noexcept {
    if (size > ((g.granules - x.first) << g.granule_shift)) return status::exceeds_block;
    const std::size_t e = x.first + g.granules_for(size);
    const std::size_t old_last = (x.end - 1) >> g.page_granule_shift, new_last = (e - 1) >> g.page_granule_shift;
    if (e < x.end) {
      if (new_last < old_last) pages.release(new_last + 1, old_last + 1);
      clear_used(e, x.end);
      if (x.end == top_) top_ = e;
      else insert(e, take_right(x.end) - e);
      granules_ -= x.end - e;
    } else if (e > x.end) {
      const std::size_t limit = grow_limit(g, x.end);
      if (e > limit) return status::exceeds_block;
      if (new_last > old_last && !pages.commit(old_last + 1, new_last + 1)) return status::no_memory;
      if (x.end == top_) {
        top_ = e;
      } else {
        retire(x.end, limit - x.end);
        if (limit > e) insert(e, limit - e);
      }
      set_used(x.end, e);
      granules_ += e - x.end;
    }
    return status::ok;
  }

  /// Where an allocation ending at granule `end` may grow to in place: the end of the free run
  /// after it (`end` itself when there is none).
  std::size_t grow_limit(const packed_geometry& g, std::size_t end) const noexcept {
    if (end == top_) return g.granules;
    if (end >= g.granules || is_used(end)) return end;
    return end + run_at(end);
  }

  /// Live allocations.
  constexpr std::size_t live() const noexcept { return live_; }
  /// Granules held by live allocations.
  constexpr std::size_t granules_in_use() const noexcept { return granules_; }

  /// Bytes of RAM the metadata of a heap for geometry `g` takes, sized as a type for exactly
  /// that region would size it.
  static constexpr std::size_t metadata_bytes(const packed_geometry& g) noexcept {
    if (g.bytes == 0) return 0;
    const std::size_t groups = (g.granules + 63) >> group_shift;
    const std::size_t bits = std::bit_width(g.granules) > 7 ? static_cast<std::size_t>(std::bit_width(g.granules)) : 7;
    const std::size_t classes = (bits - group_shift) * 4;
    return 2 * detail::ceil_div(g.granules, wb) * sizeof(word) + 6 * group_index::bytes_for(groups) +
           groups * sizeof(std::uint32_t) + classes * sizeof(std::uint32_t) + sizeof(small_classes_) +
           sizeof(big_classes_) + sizeof(top_) + sizeof(live_) + sizeof(granules_);
  }

  /// Empties the heap: every bit and count back to zero (every allocation must be gone).
  constexpr void reset() noexcept {
    for (word& w : used_) w = 0;
    for (word& w : start_) w = 0;
    for (group_index& a : small_avail_) a.clear_all();
    for (std::uint32_t& n : counts_) n = 0;
    for (std::uint32_t& h : heads_) h = 0;
    small_classes_ = 0;
    big_classes_ = 0;
    top_ = 0;
    live_ = 0;
    granules_ = 0;
  }

  /// What `check` finds: the first inconsistency, and where (a granule, group or class).
  struct fault {
    /// Which invariant broke.
    enum class kind : std::uint8_t {
      none,
      padding,         ///< a used or start bit past the region is set
      start_unused,    ///< a free granule of a small chunk or the wilderness has its start bit set
      orphan_granule,  ///< a used granule that no allocation start precedes
      wilderness,      ///< top_ is past the region, or the granule before it is free
      small_index,     ///< a group's small counts or class bits differ from its small chunks
      big_node,        ///< a big chunk's node or length tag is wrong, or a bit between them is set
      big_list,        ///< a big class's list does not hold exactly its chunks, or a link is wrong
      counters,        ///< the live allocation or granule count differs from the bitmaps
    };
    kind what = kind::none;  ///< the first broken invariant found, or none
    std::size_t where = 0;   ///< the granule, group or class
  };

  /// Checks every invariant of the bitmaps, the index and the counters against each other.
  /// O(granules + groups * 6). The pages the allocations touch are the caller's (`for_each`).
  fault check(const packed_geometry& g) const noexcept {
    const std::size_t groups = (g.granules + 63) >> group_shift;
    for (std::size_t k = 0; k < leaf_words; ++k) {
      const std::size_t base = k << ws;
      const word beyond = base >= g.granules ? detail::all_ones : g.granules - base >= wb ? 0 : ~detail::low_mask(g.granules - base);
      if (((used_[k] | start_[k]) & beyond) != 0) return {fault::kind::padding, base};
    }
    if (top_ > g.granules || (top_ > 0 && !is_used(top_ - 1))) return {fault::kind::wilderness, top_};
    for (unsigned c = 0; c < 6; ++c)
      if (small_avail_[c].check(groups) != group_index::levels || ((small_classes_ >> c) & 1u) != !small_avail_[c].empty())
        return {fault::kind::small_index, c};
    std::size_t live = 0, granules = 0, bigs = 0;
    std::uint32_t counts = 0;
    std::size_t group = 0;
    auto close_group = [&](std::size_t k) -> bool {  // groups before k are complete
      for (; group < k; ++group, counts = 0) {
        if (counts_[group] != counts) return false;
        for (unsigned c = 0; c < 6; ++c)
          if (small_avail_[c].test(group) != ((counts & detail::group_count_fields.mask[c]) != 0)) return false;
      }
      return true;
    };
    for (std::size_t i = 0; i < g.granules;) {
      if (is_used(i)) {
        if (!is_start(i)) return {fault::kind::orphan_granule, i};
        const std::size_t end = end_of(i);
        ++live;
        granules += end - i;
        i = end;
        continue;
      }
      std::size_t end = i;
      while (end < g.granules && !is_used(end)) ++end;
      const std::size_t length = end - i;
      if (end == g.granules && i == top_) {  // the wilderness: no node, no bits
        if (any_start(i, end)) return {fault::kind::start_unused, i};
      } else if (length < big) {
        if (any_start(i, end)) return {fault::kind::start_unused, i};
        if (!close_group(i >> group_shift)) return {fault::kind::small_index, group};
        counts += detail::group_count_fields.unit[class_of(length)];
      } else {
        const std::size_t tail = length >= tagged ? end - index_bits : end;
        if (field(i) != length || (length >= tagged && field(tail) != length) || any_start(i + node_bits, tail))
          return {fault::kind::big_node, i};
        ++bigs;
      }
      i = end;
    }
    if (!close_group(groups)) return {fault::kind::small_index, group};
    if (top_ < g.granules && next_used(top_) < g.granules) return {fault::kind::wilderness, top_};
    // Each big class's list: chunks of that class, linked both ways, and all of them.
    std::size_t listed = 0;
    for (std::size_t c = 0; c < big_classes; ++c) {
      if (((big_classes_ >> c) & 1u) != (heads_[c] != 0)) return {fault::kind::big_list, c};
      std::size_t prev = 0;
      for (std::size_t at = heads_[c]; at != 0; at = next_of(load(at - 1, node_bits))) {
        const std::size_t f = at - 1;
        if (f >= g.granules || f >= top_ || is_used(f) || (f > 0 && !is_used(f - 1)) || field(f) < big ||
            big_class_of(field(f)) != c || prev_of(load(f, node_bits)) != prev || ++listed > bigs)
          return {fault::kind::big_list, c};
        prev = at;
      }
    }
    if (listed != bigs) return {fault::kind::big_list, big_classes};
    if (live != live_ || granules != granules_) return {fault::kind::counters, live};
    return {};
  }

  /// Calls visit(first, end) with the granules of every live allocation, in address order,
  /// until it returns false; returns whether it never did.
  template <class Visit>
  bool for_each(const packed_geometry& g, Visit&& visit) const noexcept {
    for (std::size_t i = next_used(0); i < g.granules;) {
      const std::size_t end = end_of(i);
      if (!visit(i, end)) return false;
      i = next_used(end);
    }
    return true;
  }

 private:
  using group_index = detail::summary_bitmap<max_groups>;
  struct chunk {
    std::size_t first = 0, length = 0;
  };

  VMH_HOT bool is_used(std::size_t i) const noexcept { return (used_[i >> ws] >> (i % wb)) & 1u; }
  VMH_HOT bool is_start(std::size_t i) const noexcept { return (start_[i >> ws] >> (i % wb)) & 1u; }
  static std::size_t class_of(std::size_t length) noexcept { return detail::log2_floor(length); }
  /// The big class of a chunk of `length` >= 64 granules: 4 per power of two.
  static std::size_t big_class_of(std::size_t length) noexcept {
    const unsigned p = detail::log2_floor(length);
    return ((p - group_shift) << 2) + ((length >> (p - 2)) & 3);
  }

  /// Marks granules [a, b) used (or free). An allocation spans a few words (4 KiB: 4 at 64 bits):
  /// a masked write per word, which the compiler keeps a loop (a fill of the words between
  /// became a memset call).
  VMH_HOT_SMALL void set_used(std::size_t a, std::size_t b) noexcept { mark<true>(a, b); }
  VMH_HOT_SMALL void clear_used(std::size_t a, std::size_t b) noexcept { mark<false>(a, b); }
  template <bool Used>
  VMH_HOT_SMALL void mark(std::size_t a, std::size_t b) noexcept {
    std::size_t k = a >> ws;
    const std::size_t last = (b - 1) >> ws;
    word m = detail::all_ones << (a % wb);
    for (; k < last; ++k, m = detail::all_ones) used_[k] = Used ? used_[k] | m : used_[k] & ~m;
    m &= detail::all_ones >> ((wb - b % wb) % wb);  // up to granule b - 1
    used_[last] = Used ? used_[last] | m : used_[last] & ~m;
  }
  /// The first used granule at or after i (the region's capacity when none).
  std::size_t next_used(std::size_t i) const noexcept {
    for (std::size_t k = i >> ws; k < leaf_words; ++k) {
      const word u = k == (i >> ws) ? used_[k] & (detail::all_ones << (i % wb)) : used_[k];
      if (u != 0) return (k << ws) + static_cast<std::size_t>(detail::trailing_zeros(u));
    }
    return leaf_words << ws;
  }
  /// Whether a start bit in [a, b) is set.
  bool any_start(std::size_t a, std::size_t b) const noexcept {
    for (std::size_t i = a; i < b; ++i)
      if (is_start(i)) return true;
    return false;
  }

  /// One past the last granule of the allocation starting at s: the next start or free granule.
  /// The bits past the region are clear (`check`: padding), so a free granule there ends the
  /// scan too: no bound but the arrays'.
  VMH_HOT_SMALL std::size_t end_of(std::size_t s) const noexcept {
    std::size_t k = (s + 1) >> ws;
    word m = detail::all_ones << ((s + 1) % wb);
    for (; k < leaf_words; ++k, m = detail::all_ones)
      if (const word stop = (start_[k] | ~used_[k]) & m; stop != 0) return (k << ws) + detail::trailing_zeros(stop);
    return leaf_words << ws;  // it reaches the last word's end, which is the region's
  }

  // ---- nodes, kept in the start bits of a big free chunk ---------------------------------------
  // A node is one number of 3 * index_bits bits at the chunk's first granule: its length, then
  // the previous and the next chunk of its class (granule + 1; 0: none). A chunk of 128 granules
  // or more also has its length in the index_bits bits that end at its last granule.

  /// The `n` (<= 63) start bits from granule `at`, as a number.
  VMH_HOT_SMALL std::uint64_t load(std::size_t at, unsigned n) const noexcept {
    std::size_t k = at >> ws;
    unsigned b = static_cast<unsigned>(at % wb);
    if constexpr (wb == 64) {  // n <= 63 bits lie in at most two words: no loop
      std::uint64_t v = start_[k] >> b;
      if (b + n > wb) v |= static_cast<std::uint64_t>(start_[k + 1]) << (wb - b);  // (b >= 2 here)
      return v & ((std::uint64_t{1} << n) - 1);
    }
    std::uint64_t v = 0;
    for (unsigned got = 0; got < n; got += static_cast<unsigned>(wb) - b, b = 0, ++k)
      v |= static_cast<std::uint64_t>(start_[k] >> b) << got;
    return v & ((std::uint64_t{1} << n) - 1);
  }
  /// Stores `v` in the `n` (<= 63) start bits from granule `at`.
  VMH_HOT_SMALL void store(std::size_t at, unsigned n, std::uint64_t v) noexcept {
    std::size_t k = at >> ws;
    unsigned b = static_cast<unsigned>(at % wb);
    if constexpr (wb == 64) {  // as load: at most two words
      const std::uint64_t m = (std::uint64_t{1} << n) - 1;
      v &= m;
      start_[k] = (start_[k] & ~(m << b)) | (v << b);
      if (b + n > wb) {  // the high bits spill into the next word (b >= 2: the shift is below 64)
        const unsigned r = static_cast<unsigned>(wb) - b;
        start_[k + 1] = (start_[k + 1] & ~(m >> r)) | (v >> r);
      }
      return;
    }
    for (unsigned done = 0; done < n; done += static_cast<unsigned>(wb) - b, b = 0, ++k) {
      const unsigned take = n - done < wb - b ? n - done : static_cast<unsigned>(wb) - b;
      const word mask = detail::low_mask(take) << b;
      start_[k] = (start_[k] & ~mask) | (static_cast<word>(v >> done) << b & mask);
    }
  }
  static constexpr std::uint64_t field_mask = (std::uint64_t{1} << index_bits) - 1;
  static constexpr unsigned node_bits = 3 * index_bits;
  static constexpr std::uint64_t node(std::size_t length, std::size_t prev, std::size_t next) noexcept {
    return length | std::uint64_t{prev} << index_bits | std::uint64_t{next} << 2 * index_bits;
  }
  static constexpr std::size_t length_of(std::uint64_t n) noexcept { return static_cast<std::size_t>(n & field_mask); }
  static constexpr std::size_t prev_of(std::uint64_t n) noexcept { return static_cast<std::size_t>(n >> index_bits & field_mask); }
  static constexpr std::size_t next_of(std::uint64_t n) noexcept { return static_cast<std::size_t>(n >> 2 * index_bits); }
  /// The length of the big chunk whose node is at granule `at`.
  VMH_HOT_SMALL std::size_t field(std::size_t at) const noexcept { return static_cast<std::size_t>(load(at, index_bits)); }
  /// Sets the next (prev) link of the node of the big chunk starting at granule + 1 `at1`.
  VMH_HOT_SMALL void link_next(std::size_t at1, std::size_t next) noexcept { store(at1 - 1 + 2 * index_bits, index_bits, next); }
  VMH_HOT_SMALL void link_prev(std::size_t at1, std::size_t prev) noexcept { store(at1 - 1 + index_bits, index_bits, prev); }

  // ---- neighbours ---------------------------------------------------------------------------

  /// The length of the free run starting at free granule i (below top_): a scan while it is
  /// small, the node's length once it is big.
  VMH_HOT_SMALL std::size_t run_at(std::size_t i) const noexcept {
    std::size_t k = i >> ws;
    word u = used_[k] >> (i % wb);
    if (u != 0) return static_cast<std::size_t>(detail::trailing_zeros(u));
    std::size_t length = wb - i % wb;
    while (length < big) {
      u = used_[++k];
      if (u != 0) {
        length += static_cast<std::size_t>(detail::trailing_zeros(u));
        return length < big ? length : field(i);
      }
      length += wb;
    }
    return field(i);
  }
  /// The length of the free run that ends just before used granule s: a scan back while it is
  /// below 128 granules, the length tag at its end beyond.
  VMH_HOT_SMALL std::size_t run_before(std::size_t s) const noexcept {
    std::size_t k = (s - 1) >> ws;
    const unsigned b = static_cast<unsigned>((s - 1) % wb);
    word u = used_[k] & (detail::all_ones >> (wb - 1 - b));  // up to granule s - 1
    if (u != 0) return b - detail::highest_bit_index(u);
    std::size_t length = b + 1u;
    while (length < tagged) {
      if (k == 0) return length;  // the run starts at granule 0
      u = used_[--k];
      if (u != 0) return length + (wb - 1) - detail::highest_bit_index(u);
      length += wb;
    }
    return field(s - index_bits);
  }
  /// The end of the free space that starts at `end` (below top_), taking the chunk there, if
  /// any, out of the index.
  VMH_HOT_SMALL std::size_t take_right(std::size_t end) noexcept {
    if (is_used(end)) return end;
    const std::size_t length = run_at(end);
    retire(end, length);
    return end + length;
  }

  // ---- the index ------------------------------------------------------------------------------

  /// Indexes the free chunk [first, first + length) (length > 0).
  VMH_HOT_SMALL void insert(std::size_t first, std::size_t length) noexcept {
    if (length < big) {
      const std::size_t c = class_of(length), k = first >> group_shift;
      const std::uint32_t before = counts_[k];
      counts_[k] = before + detail::group_count_fields.unit[c];
      if ((before & detail::group_count_fields.mask[c]) != 0) return;  // the group had one of this class already
      small_avail_[c].set(k);
      small_classes_ |= word{1} << c;
      return;
    }
    const std::size_t c = big_class_of(length), next = heads_[c];
    store(first, node_bits, node(length, 0, next));
    if (next != 0) link_prev(next, first + 1);
    if (length >= tagged) store(first + length - index_bits, index_bits, length);
    heads_[c] = static_cast<std::uint32_t>(first + 1);
    big_classes_ |= std::uint64_t{1} << c;
  }
  /// Takes the free chunk [first, first + length) out of the index.
  VMH_HOT_SMALL void retire(std::size_t first, std::size_t length) noexcept {
    if (length < big) {
      const std::size_t c = class_of(length), k = first >> group_shift;
      const std::uint32_t after = counts_[k] -= detail::group_count_fields.unit[c];
      if ((after & detail::group_count_fields.mask[c]) != 0) return;  // another of this class starts in the group
      small_avail_[c].clear(k);
      if (small_avail_[c].empty()) small_classes_ &= ~(word{1} << c);
      return;
    }
    const std::size_t c = big_class_of(length);
    const std::uint64_t n = load(first, node_bits);
    const std::size_t prev = prev_of(n), next = next_of(n);
    if (prev == 0) heads_[c] = static_cast<std::uint32_t>(next);
    else link_next(prev, next);
    if (next != 0) link_prev(next, prev);
    if (heads_[c] == 0) big_classes_ &= ~(std::uint64_t{1} << c);
    store(first, node_bits, 0);  // the start bits of free granules are zero but a node's
    if (length >= tagged) store(first + length - index_bits, index_bits, 0);
  }

  /// The bits of `free` followed by at least 2^c - 1 more set bits (c < 6): c doubling steps.
  VMH_HOT_SMALL static word run_starts(word free, std::size_t c) noexcept {
#if defined(__OPTIMIZE_SIZE__)
    for (std::size_t step = 0; step < c; ++step) free &= free >> (std::size_t{1} << step);  // the smallest code
#else
    switch (c) {  // no loop: the steps commute, so the largest comes first and falls through
      case 5: free &= free >> 16; [[fallthrough]];
      case 4: free &= free >> 8; [[fallthrough]];
      case 3: free &= free >> 4; [[fallthrough]];
      case 2: free &= free >> 2; [[fallthrough]];
      case 1: free &= free >> 1; break;
      default: break;  // class 0: every free granule
    }
#endif
    return free;
  }
  /// The first small chunk of class c in group k (which has one). Runs that end inside a word
  /// are classed all at once: `lo` marks the free granules followed by 2^c free ones, `hi` by
  /// 2^(c+1) (c doubling steps); only the run reaching the word's end is measured on its own.
  VMH_HOT_SMALL chunk first_small(std::size_t c, std::size_t k) const noexcept {
    for (std::size_t w = k << (group_shift - ws); w < (k + 1) << (group_shift - ws); ++w) {
      const word u = used_[w];
      const word before = w == 0 ? 1 : used_[w - 1] >> (wb - 1);  // granule 0 starts a run
      const word starts = ~u & ((u << 1) | before);
      const word lo = run_starts(~u, c);
      const word hi = wb == 64 || c < 5 ? lo & (lo >> (std::size_t{1} << c)) : 0;  // (2^c < wb)
      // The run that reaches the word's end starts at `reach` (wb: no run does).
      const std::size_t reach = (u >> (wb - 1)) != 0 ? wb : u == 0 ? 0 : detail::highest_bit_index(u) + 1u;
      const std::size_t base = w << ws;
      if (const word hit = starts & lo & ~hi & detail::low_mask(reach); hit != 0) {
        const unsigned bit = detail::trailing_zeros(hit);
        return {base + bit, static_cast<std::size_t>(detail::trailing_zeros(u >> bit))};
      }
      if (reach < wb && ((starts >> reach) & 1u) != 0 && base + reach < top_) {
        const std::size_t length = run_at(base + reach);
        if (length < big && class_of(length) == c) return {base + reach, length};
      }
    }
    return {};  // (not reached while the index is right: the group has a chunk of class c)
  }

  /// A free chunk that holds n granules at alignment a, or the wilderness (which may not), in a
  /// region of `granules` granules (a number, not the geometry: a constant where this call is
  /// not inlined and the region is a fixed layout's, which keeps its geometry out of flash).
  VMH_HOT_SMALL chunk find(std::size_t granules, std::size_t n, std::size_t a) const noexcept {
    const std::size_t need = n + a - 1;  // holds n at any alignment
    if (n < big && small_classes_ != 0) {
      const std::size_t sure = detail::log2_floor(need) + (detail::is_pow2(need) ? 0 : 1);
      const word below_sure = (word{1} << (sure < 6 ? sure : 6)) - 1;  // (of the 6 small classes)
      const word own = small_classes_ & ~((word{1} << class_of(n)) - 1);
      if (const word maybe = own & below_sure; maybe != 0) {  // one look
        const std::size_t c = static_cast<std::size_t>(detail::trailing_zeros(maybe));
        const chunk look = first_small(c, small_avail_[c].first());
        if (detail::align_up(look.first, a) + n <= look.first + look.length) return look;
      }
      if (const word surely = own & ~below_sure; surely != 0) {
        const std::size_t c = static_cast<std::size_t>(detail::trailing_zeros(surely));
        return first_small(c, small_avail_[c].first());
      }
    }
    if (big_classes_ != 0) {
      std::size_t sure = 0;
      if (need >= big) {
        const std::size_t own = big_class_of(need);
        // The class of need rounded up to the next class boundary: own, or the one after.
        sure = own + ((need & ((std::size_t{1} << (detail::log2_floor(need) - 2)) - 1)) != 0);
        if (sure > big_classes) sure = big_classes;
        if (own < sure && ((big_classes_ >> own) & 1u) != 0) {  // one look at the head of its own class
          const std::size_t first = heads_[own] - 1, length = field(first);
          if (detail::align_up(first, a) + n <= first + length) return {first, length};
        }
      }
      if (sure < big_classes) {
        if (const std::uint64_t surely = big_classes_ & (~std::uint64_t{0} << sure); surely != 0) {
          const std::size_t c = static_cast<std::size_t>(detail::trailing_zeros(surely)), first = heads_[c] - 1;
          return {first, field(first)};
        }
      }
    }
    return {top_, granules - top_};
  }

  word used_[leaf_words] = {};
  word start_[leaf_words] = {};
  group_index small_avail_[6] = {};
  std::uint32_t counts_[max_groups] = {};
  std::uint32_t heads_[big_classes] = {};
  word small_classes_ = 0;
  std::uint64_t big_classes_ = 0;
  std::size_t top_ = 0;
  std::size_t live_ = 0;
  std::size_t granules_ = 0;
};

}  // namespace vmh
