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
//   used_     one bit per granule, 1 = part of a live allocation, with summary levels so that
//             "the next (previous) used granule from here" takes a constant number of steps
//   start_    one bit per granule, 1 = first granule of a live allocation: adjacent allocations
//             are told apart, and a free finds where its allocation ends
//   avail_    per size class c (free chunks of 2^c to 2^(c+1) - 1 granules), one bit per group
//             of 64 granules: some free chunk of class c starts in that group
//   counts_   per group, packed in one word: how many chunks of each class below 64 granules
//             start there (a chunk of 64 granules or more is the only one of its class that can
//             start in its group, so its bit is its count)
//   classes_  one bit per class: avail_[c] has a set bit
//   top_      where the wilderness starts: the free run that reaches the region's end, never
//             indexed (an allocation takes it last, and it grows back as its neighbours free)
// A free chunk is a maximal run of unused granules, so freeing coalesces by itself: the index
// only moves the neighbours' entries. Everything is zero in an empty heap (the whole region is
// wilderness), so a heap that holds one is constant-initialized.
//
// Placement: segregated fit, by address within a class. First one look at the first free chunk
// of the request's own class, which may or may not hold it; then the first chunk, by address,
// of the smallest class whose every chunk holds it; then the wilderness. The allocation takes
// the chunk's start (aligned), and the rest stays free. Why, and what it costs: docs/design.md.
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
/// Chunks of a class below 64 granules that can start in one group of 64: they are at least
/// 2^c long and followed by a used granule.
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

/// The packed backing heap for regions of at most `MaxGranules` granules. All zero when empty.
template <std::size_t MaxGranules>
class packed_heap {
  static_assert(MaxGranules > 0, "vmh packed_heap: a region has at least one granule");
  static constexpr unsigned group_shift = 6;  // 64 granules a group: the class counts of one fit a word
  static constexpr std::size_t max_groups = (MaxGranules + 63) >> group_shift;
  static constexpr std::size_t group_words = (std::size_t{1} << group_shift) / detail::word_bits;  // 1 or 2

 public:
  /// Size classes: class c holds free chunks of [2^c, 2^(c+1)) granules.
  static constexpr std::size_t classes = detail::log2_floor(MaxGranules) + 1;
  static_assert(classes <= detail::word_bits, "vmh packed_heap: one bit per size class must fit a word");

  /// Where an allocation lies, in granules from the region's start, or why there is none.
  struct extent {
    status result = status::ok;
    std::size_t first = 0, end = 0;  ///< granules [first, end)
  };

  /// Places `size` (1 .. g.limit) bytes aligned to `align` (a power of two up to a page) and
  /// maps the pages they touch. Returns the byte offset in the region, or SIZE_MAX with `why`
  /// set: no_block (no free chunk holds it) or no_memory (its pages could not be mapped); on
  /// failure nothing changed.
  template <packed_pages Pages>
  std::size_t allocate(const packed_geometry& g, Pages& pages, std::size_t size, std::size_t align, status& why) noexcept {
    const std::size_t n = granules_for(g, size);
    const std::size_t a = align >> g.granule_shift > 1 ? align >> g.granule_shift : 1;
    const chunk c = find(g, n, a);
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
      index_remove(c.first, c.length);
      if (c.first + c.length > e) index_add(e, c.first + c.length - e);
    }
    if (s > c.first) index_add(c.first, s - c.first);  // the alignment's gap stays free
    used_.set_range(s, e);
    start_[s >> detail::word_shift] |= detail::word{1} << (s % detail::word_bits);
    ++live_;
    granules_ += n;
    return s << g.granule_shift;
  }

  /// The allocation starting at byte `offset` (< g.bytes) of the region: its granules, or
  /// interior_pointer (inside an allocation, not at its start) or double_free (a free granule).
  extent locate(const packed_geometry& g, std::size_t offset) const noexcept {
    const std::size_t s = offset >> g.granule_shift;
    if ((offset & ((std::size_t{1} << g.granule_shift) - 1)) != 0 || !is_start(s))
      return {used_.test(s) ? status::interior_pointer : status::double_free};
    return {status::ok, s, end_of(g, s)};
  }

  /// Frees the located allocation `x` and unmaps the pages no allocation touches any more.
  template <packed_pages Pages>
  void deallocate(const packed_geometry& g, Pages& pages, const extent& x) noexcept {
    pages.release(x.first >> g.page_granule_shift, ((x.end - 1) >> g.page_granule_shift) + 1);
    start_[x.first >> detail::word_shift] &= ~(detail::word{1} << (x.first % detail::word_bits));
    std::size_t first = x.first;
    if (first > 0 && !used_.test(first - 1)) {  // a free left neighbour: merge with it
      const std::size_t p = used_.prev(first - 1);
      first = p == summary::npos ? 0 : p + 1;
      index_remove(first, x.first - first);
    }
    used_.clear_range(x.first, x.end);
    if (x.end == top_) {
      top_ = first;  // the freed run joins the wilderness
    } else {
      index_add(first, take_right(x.end) - first);
    }
    --live_;
    granules_ -= x.end - x.first;
  }

  /// Resizes the located allocation `x` in place to `size` bytes (> 0): shrinking frees its
  /// tail, growing takes from the free run right after it. Returns ok, exceeds_block (that run
  /// is too short) or no_memory; on failure nothing changed.
  template <packed_pages Pages>
  status resize(const packed_geometry& g, Pages& pages, const extent& x, std::size_t size) noexcept {
    if (size > ((g.granules - x.first) << g.granule_shift)) return status::exceeds_block;
    const std::size_t e = x.first + granules_for(g, size);
    const std::size_t old_last = (x.end - 1) >> g.page_granule_shift, new_last = (e - 1) >> g.page_granule_shift;
    if (e < x.end) {
      if (new_last < old_last) pages.release(new_last + 1, old_last + 1);
      used_.clear_range(e, x.end);
      if (x.end == top_) top_ = e;
      else index_add(e, take_right(x.end) - e);
      granules_ -= x.end - e;
    } else if (e > x.end) {
      const std::size_t limit = grow_limit(g, x.end);
      if (e > limit) return status::exceeds_block;
      if (new_last > old_last && !pages.commit(old_last + 1, new_last + 1)) return status::no_memory;
      if (x.end == top_) {
        top_ = e;
      } else {
        index_remove(x.end, limit - x.end);
        if (limit > e) index_add(e, limit - e);
      }
      used_.set_range(x.end, e);
      granules_ += e - x.end;
    }
    return status::ok;
  }

  /// Where an allocation ending at granule `end` may grow to in place: the end of the free run
  /// after it (`end` itself when there is none).
  std::size_t grow_limit(const packed_geometry& g, std::size_t end) const noexcept {
    if (end >= top_) return end == top_ ? g.granules : end;
    if (used_.test(end)) return end;
    return used_.next(end);  // an indexed chunk ends before the wilderness, at a used granule
  }

  /// Empties the heap: every bit and count back to zero (every allocation must be gone).
  constexpr void reset() noexcept {
    used_.clear_all();
    for (detail::word& w : start_) w = 0;
    for (group_index& a : avail_) a.clear_all();
    for (std::uint32_t& n : counts_) n = 0;
    classes_ = 0;
    top_ = 0;
    live_ = 0;
    granules_ = 0;
  }

  /// Live allocations.
  constexpr std::size_t live() const noexcept { return live_; }
  /// Granules held by live allocations.
  constexpr std::size_t granules_in_use() const noexcept { return granules_; }

  /// Bytes of RAM the metadata of a heap for geometry `g` takes, sized as a type for exactly
  /// that region would size it.
  static constexpr std::size_t metadata_bytes(const packed_geometry& g) noexcept {
    if (g.bytes == 0) return 0;
    const std::size_t groups = (g.granules + 63) >> group_shift, cls = detail::log2_floor(g.granules) + 1;
    return summary::bytes_for(g.granules) + detail::ceil_div(g.granules, detail::word_bits) * sizeof(detail::word) +
           cls * group_index::bytes_for(groups) + groups * sizeof(std::uint32_t) + sizeof(classes_) + sizeof(top_) +
           sizeof(live_) + sizeof(granules_);
  }

  /// What `check` finds: the first inconsistency, and where (a granule, group or class).
  struct fault {
    /// Which invariant broke.
    enum class kind : std::uint8_t {
      none,
      summary,            ///< a summary bit disagrees with the level below, or a bit past the region is set
      start_unused,       ///< an allocation start on a free granule
      orphan_granule,     ///< a used granule that no allocation start precedes
      wilderness,         ///< granules from top_ on are not all free, or the one before top_ is free
      index,              ///< a free chunk is missing from the index, or the index counts one that is not there
      counters,           ///< the live allocation or granule count differs from the bitmaps
    };
    kind what = kind::none;
    std::size_t where = 0;  ///< the granule, group, class or page
  };
  /// Checks every invariant of the bitmaps, the index and the counters against each other.
  /// O(granules / 64 * classes). The pages the allocations touch are the caller's to check
  /// (`for_each`).
  fault check(const packed_geometry& g) const noexcept {
    if (const std::size_t l = used_.check(g.granules); l != summary::levels) return {fault::kind::summary, l};
    if (top_ > g.granules || (top_ < g.granules && used_.next(top_) != summary::npos) ||
        (top_ > 0 && !used_.test(top_ - 1)))
      return {fault::kind::wilderness, top_};
    const std::size_t groups = (g.granules + 63) >> group_shift;
    for (std::size_t c = 0; c < classes; ++c)
      if (avail_[c].check(groups) != group_index::levels || ((classes_ >> c) & 1u) != !avail_[c].empty())
        return {fault::kind::summary, c};
    for (std::size_t k = 0; k < groups; ++k) {
      std::uint32_t counts = 0;
      detail::word present = 0;
      visit_group(g, k, [&](std::size_t, std::size_t length) {
        const std::size_t c = class_of(length);
        present |= detail::word{1} << c;
        if (c < group_shift) counts += detail::group_count_fields.unit[c];
        return false;
      });
      if (counts != counts_[k]) return {fault::kind::index, k};
      for (std::size_t c = 0; c < classes; ++c)
        if (avail_[c].test(k) != (((present >> c) & 1u) != 0)) return {fault::kind::index, k};
    }
    std::size_t live = 0, granules = 0;
    for (std::size_t i = 0; i < g.granules;) {
      if (!used_.test(i)) {
        if (is_start(i)) return {fault::kind::start_unused, i};
        const std::size_t next = used_.next(i);
        i = next == summary::npos ? g.granules : next;
        continue;
      }
      if (!is_start(i)) return {fault::kind::orphan_granule, i};
      const std::size_t end = end_of(g, i);
      ++live;
      granules += end - i;
      i = end;
    }
    if (live != live_ || granules != granules_) return {fault::kind::counters, live};
    return {};
  }

  /// Calls visit(first, end) with the granules of every live allocation, in address order,
  /// until it returns false; returns whether it never did.
  template <class Visit>
  bool for_each(const packed_geometry& g, Visit&& visit) const noexcept {
    for (std::size_t i = used_.next(0); i != summary::npos && i < g.granules;) {
      const std::size_t end = end_of(g, i);
      if (!visit(i, end)) return false;
      i = end < g.granules ? used_.next(end) : summary::npos;
    }
    return true;
  }

 private:
  using summary = detail::summary_bitmap<MaxGranules>;
  using group_index = detail::summary_bitmap<max_groups>;
  struct chunk {
    std::size_t first = 0, length = 0;
  };

  static constexpr std::size_t granules_for(const packed_geometry& g, std::size_t size) noexcept {
    return (size >> g.granule_shift) + ((size & ((std::size_t{1} << g.granule_shift) - 1)) != 0);
  }
  bool is_start(std::size_t i) const noexcept { return (start_[i >> detail::word_shift] >> (i % detail::word_bits)) & 1u; }
  static std::size_t class_of(std::size_t length) noexcept { return detail::log2_floor(length); }

  /// One past the last granule of the allocation starting at s: the next start or free granule.
  std::size_t end_of(const packed_geometry& g, std::size_t s) const noexcept {
    for (std::size_t i = s + 1; i < g.granules; i = (i | (detail::word_bits - 1)) + 1) {
      const std::size_t k = i >> detail::word_shift;
      const detail::word m = (start_[k] | ~used_.leaf(k)) & (detail::all_ones << (i % detail::word_bits));
      if (m != 0) {
        const std::size_t e = (k << detail::word_shift) + static_cast<std::size_t>(std::countr_zero(m));
        return e < g.granules ? e : g.granules;
      }
    }
    return g.granules;
  }

  /// The end of the free space that starts at `end` (below top_), taking the indexed chunk
  /// there, if any, out of the index.
  std::size_t take_right(std::size_t end) noexcept {
    if (used_.test(end)) return end;
    const std::size_t right = used_.next(end);
    index_remove(end, right - end);
    return right;
  }

  void index_add(std::size_t first, std::size_t length) noexcept {
    const std::size_t c = class_of(length), k = first >> group_shift;
    if (c < group_shift) {
      const std::uint32_t before = counts_[k];
      counts_[k] = before + detail::group_count_fields.unit[c];
      if ((before & detail::group_count_fields.mask[c]) != 0) return;  // the group had one of this class already
    }
    avail_[c].set(k);
    classes_ |= detail::word{1} << c;
  }
  void index_remove(std::size_t first, std::size_t length) noexcept {
    const std::size_t c = class_of(length), k = first >> group_shift;
    if (c < group_shift) {
      const std::uint32_t after = counts_[k] -= detail::group_count_fields.unit[c];
      if ((after & detail::group_count_fields.mask[c]) != 0) return;  // another of this class starts in the group
    }
    avail_[c].clear(k);
    if (avail_[c].empty()) classes_ &= ~(detail::word{1} << c);
  }

  /// Calls visit(first, length) for the indexed free chunks that start in group k, in address
  /// order, until it returns true; returns that chunk, or none (length 0).
  template <class Visit>
  chunk visit_group(const packed_geometry& g, std::size_t k, Visit&& visit) const noexcept {
    using detail::word;
    for (std::size_t j = 0; j < group_words; ++j) {
      const std::size_t w = k * group_words + j;
      const std::size_t base = w << detail::word_shift;
      if (base >= g.granules || base >= top_) break;
      const word u = used_.leaf(w);
      const word before = w == 0 ? 1 : used_.leaf(w - 1) >> (detail::word_bits - 1);  // granule 0 starts a run
      word starts = ~u & ((u << 1) | before);
      if (top_ - base < detail::word_bits) starts &= detail::low_mask(top_ - base);  // not the wilderness
      while (starts != 0) {
        const unsigned bit = static_cast<unsigned>(std::countr_zero(starts));
        starts &= starts - 1;
        const std::size_t first = base + bit;
        const word rest = u >> bit;  // the run ends at the next used granule, mostly in this word
        const std::size_t length = rest != 0 ? static_cast<std::size_t>(std::countr_zero(rest)) : used_.next(first) - first;
        if (visit(first, length)) return {first, length};
      }
    }
    return {};
  }

  /// The first chunk of class c that starts in group k (which has one).
  chunk first_of_class(const packed_geometry& g, std::size_t c, std::size_t k) const noexcept {
    if (c >= group_shift) {
      // The only chunk of 64 granules or more that starts in this group covers its last granule.
      const std::size_t last = ((k + 1) << group_shift) - 1;
      const std::size_t p = used_.prev(last);
      const std::size_t first = p == summary::npos ? 0 : p + 1;
      return {first, used_.next(first) - first};
    }
    return visit_group(g, k, [c](std::size_t, std::size_t length) { return class_of(length) == c; });
  }

  /// A free chunk that holds n granules at alignment a, or the wilderness (which may not).
  chunk find(const packed_geometry& g, std::size_t n, std::size_t a) const noexcept {
    const std::size_t need = n + a - 1;  // holds n at any alignment
    const std::size_t sure = detail::log2_floor(need) + (detail::is_pow2(need) ? 0 : 1);
    // One look at the first chunk of the lowest class that may hold the request.
    if (const detail::word maybe = classes_ & detail::low_mask(sure) & ~detail::low_mask(class_of(n)); maybe != 0) {
      const std::size_t c = static_cast<std::size_t>(std::countr_zero(maybe));
      const chunk look = first_of_class(g, c, avail_[c].first());
      if (detail::align_up(look.first, a) + n <= look.first + look.length) return look;
    }
    if (sure < classes) {
      if (const detail::word surely = classes_ & ~detail::low_mask(sure); surely != 0) {
        const std::size_t c = static_cast<std::size_t>(std::countr_zero(surely));
        return first_of_class(g, c, avail_[c].first());
      }
    }
    return {top_, g.granules - top_};
  }

  summary used_{};
  detail::word start_[detail::ceil_div(MaxGranules, detail::word_bits)] = {};
  group_index avail_[classes] = {};
  std::uint32_t counts_[max_groups] = {};
  detail::word classes_ = 0;
  std::size_t top_ = 0;
  std::size_t live_ = 0;
  std::size_t granules_ = 0;
};

}  // namespace vmh
