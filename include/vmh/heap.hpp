// vmh::heap -- the virtual-memory bucket heap: the algorithm.
//
// The heap owns a virtual range split into buckets of equal-sized blocks (the layout). An
// allocation takes the lowest free block of the smallest bucket that fits (spilling upward when
// that bucket is full) and maps physical pages only for the bytes it asked for. A page is mapped
// while a live allocation's bytes touch it and unmapped as soon as none does.
//
// A layout may put a packed region before the buckets: the backing heap (packed_heap.hpp) places
// fixed requests up to the region's limit, and range grants the fairness rule sizes below a
// page, exactly at its granule, so that neighbours of any size share pages. The heap only routes
// requests to it and keeps the page counts of its pages with the buckets'.
//
// Metadata lives outside the blocks (they are DMA targets and may be unmapped):
//   words_    per-bucket hierarchical bitmaps, 1 = block used (detail/bitmap.hpp)
//   records_  bytes of the allocation starting at a block, only in buckets where that decides
//             its pages (`bucket_geometry::variable`), or everywhere when runs are on
//   refs_     per page that can be shared: live allocations touching it; pages of `owned`
//             buckets are never shared and keep nothing
//   in_use_   per bucket: used blocks, so that open_ (one bit per bucket with a free block) is exact
// Everything is zero in an empty heap (the default range policy too), so a heap with a fixed
// layout is constant-initialized: it can be `constinit` and needs no init call. Such a heap
// starts with no bucket open: its first request fails over to `open`, which checks the window's
// address (a constant expression cannot) and opens the buckets.
// Why each piece exists, and what it costs: docs/design.md.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "window.hpp"
#include "detail/bitmap.hpp"
#include "detail/bits.hpp"
#include "layout.hpp"
#include "lock.hpp"
#include "mapper.hpp"
#include "misuse.hpp"
#include "range_policy.hpp"
#include "status.hpp"

namespace vmh {

/// Compile-time options of a heap.
struct heap_options {
  /// A request that no single free block can hold may take a run of adjacent blocks of one
  /// bucket (largest blocks first). Runs cost a bitmap scan and a size record per block; off by default.
  bool runs = false;
  /// Keep `heap_stats` and `bucket_stats` (peaks, failure counts, bytes in blocks). Off: the
  /// `stats` calls do not exist and cost nothing.
  bool statistics = true;
  /// Debug builds: fill every free sub-page block whose page is mapped with `poison_byte`, and
  /// check the fill when the block is handed out again; a write after free shows up in
  /// `poison_damaged()`. Costs a fill and a check of the block(s) per operation; off by default.
  /// Requires a mapper that tracks pages (not `null_mapper`: use an unlimited `counting_mapper`).
  bool poison = false;
};

/// The byte `heap_options::poison` fills free blocks with.
inline constexpr unsigned char poison_byte = 0xa5;

/// Statistics of one bucket.
struct bucket_stats {
  /// bytes of each of the bucket's blocks
  std::size_t block_size = 0;
  /// blocks in the bucket
  std::size_t block_count = 0;
  std::size_t in_use = 0;         ///< blocks in use now
  std::size_t peak_in_use = 0;    ///< most blocks ever in use at once
  std::size_t full_failures = 0;  ///< requests that failed while this bucket, their first fit, was full
  /// Equal when every field is equal.
  friend constexpr bool operator==(const bucket_stats&, const bucket_stats&) noexcept = default;
};

/// Statistics of the whole heap.
struct heap_stats {
  /// allocations handed out and not yet freed (a run of blocks counts once)
  std::size_t live_allocations = 0;
  std::size_t bytes_in_blocks = 0;       ///< bytes of the blocks held by live allocations
  /// most `bytes_in_blocks` ever at once
  std::size_t peak_bytes_in_blocks = 0;
  /// pages the heap has mapped through its mapper now (always 0 with a mapper that does not track pages)
  std::size_t pages_mapped = 0;
  /// most `pages_mapped` ever at once
  std::size_t peak_pages_mapped = 0;
  std::size_t failed_no_block = 0;       ///< requests that failed with status::no_block
  std::size_t failed_no_memory = 0;      ///< requests or resizes that failed with status::no_memory
  /// Equal when every field is equal.
  friend constexpr bool operator==(const heap_stats&, const heap_stats&) noexcept = default;
};

struct check;

namespace detail {
template <class L>
struct default_window {
  using type = external_range;
};
template <class L>
  requires requires { L::virtual_size; }
struct default_window<L> {
  using type = static_arena<L::virtual_size, L::page_size>;
};
}  // namespace detail

/// The heap: `Layout` decides the blocks, `Mapper` the pages, `Window` where the range lives,
/// `Lock` who may call at once. The guarantees, as formulas: README.md.
template <bucket_layout Layout, page_mapper Mapper = null_mapper,
          window_range Window = typename detail::default_window<Layout>::type, lock_policy Lock = no_lock,
          heap_options Options = heap_options{}>
class heap {
  static constexpr bool tracks_pages = detail::tracks_pages<Mapper>();
  static constexpr bool keeps_stats = Options.statistics;
  /// Size records: every block with runs (a run's length), else the variable buckets' blocks.
  static constexpr bool records_all = Options.runs;
  static constexpr bool records_some = tracks_pages && !Options.runs;
  static constexpr std::size_t levels = Layout::bitmap_levels;  // of every bucket's bitmap
  /// The kinds of bucket the layout may have: a fixed layout's page handling compiles to what its buckets need.
  static constexpr bucket_kinds kinds = detail::kinds_of<Layout>();
  /// Whether an allocation in a bucket that is not owned may touch more than one page: straddling blocks, or runs.
  static constexpr bool shared_spans_pages = kinds.straddling || Options.runs;
  /// Granules the layout's packed region may have; 0: there is none, and nothing of it is compiled.
  static constexpr std::size_t packed_capacity = detail::packed_capacity_of<Layout>();
  static constexpr bool packs = packed_capacity != 0;
  using backing_heap = std::conditional_t<packs, packed_heap<packs ? packed_capacity : 1>, detail::empty>;
  static_assert(!Options.poison || tracks_pages,
                "vmh heap: heap_options::poison needs a mapper that tracks pages; with null_mapper no block "
                "would ever be filled: use vmh::counting_mapper{} (unlimited) over plain RAM");

 public:
  /// The bucket layout (`Layout`).
  using layout_type = Layout;
  /// The page mapper (`Mapper`).
  using mapper_type = Mapper;
  /// The window (`Window`).
  using window_type = Window;
  /// The layout's derived geometry.
  using geometry_type = layout_geometry<Layout::bucket_capacity>;
  /// One bit per bucket.
  using mask = typename geometry_type::mask;
  /// The table the hot paths index at run time (`index_of`).
  using index_type = std::remove_cvref_t<decltype(detail::index_of<Layout>(std::declval<const geometry_type&>()))>;
  /// The geometry of one bucket, as `index_type` keeps it.
  using bucket_type = typename index_type::bucket_type;

  /// A heap over a default-constructed window.
  constexpr heap() noexcept { start(); }
  /// A heap over a default-constructed window that maps its pages through `mapper`.
  constexpr explicit heap(Mapper mapper) noexcept : mapper_(static_cast<Mapper&&>(mapper)) { start(); }
  /// A heap over a given window (e.g. `external_range{ptr, bytes}`).
  constexpr explicit heap(Window window, Mapper mapper = Mapper{}) noexcept
      : mapper_(static_cast<Mapper&&>(mapper)), window_(static_cast<Window&&>(window)) {
    start();
  }
  heap(const heap&) = delete;
  heap& operator=(const heap&) = delete;

  /// Configures a runtime layout: checks the table, then resets the heap to empty with it.
  /// Returns `layout_error::none` on success; on error the heap keeps its previous layout
  /// (`check_table` says which bucket breaks the rule).
  /// Requires: no live allocation (else `layout_error::heap_not_empty`).
  /// `guard_pages`: as `with_guard_pages` does for a fixed table; `packed`: the backing heap's
  /// region, as `with_packed` gives a fixed table one (it needs a layout type with a packed capacity).
  [[nodiscard]] layout_error configure(const bucket* table, std::size_t count, std::size_t page_size = default_page_size,
                                       std::size_t min_align = default_min_align, bool guard_pages = false,
                                       packed_region packed = {}) noexcept
    requires reconfigurable_layout<Layout>
  {
    detail::lock_guard guard(lock_);
    if (live_ != 0) return layout_error::heap_not_empty;
    Layout candidate = layout_;
    if (const layout_error e = candidate.assign(table, count, page_size, min_align, guard_pages, packed);
        e != layout_error::none)
      return e;
    if (const layout_error fits = window_fits(candidate.geo()); fits != layout_error::none) return fits;
    // No live allocation: every page is unmapped, so only metadata is reset.
    const geometry_type& old = layout_.geo();
    clear(words_, old.word_total);
    clear(records_, records_all ? old.block_total : records_some ? old.record_total : 0);
    clear(refs_, tracks_pages ? old.ref_pages : 0);
    clear(in_use_, Layout::bucket_capacity);
    if constexpr (packs) packed_.reset();
    if constexpr (keeps_stats) {
      clear(stats_, Layout::bucket_capacity);
      totals_ = totals{};
    }
    pages_ = 0;
    layout_ = candidate;
    open_ = layout_.geo().all_buckets();
    state_ = layout_error::none;
    return state_;
  }

  /// Why the heap cannot allocate (`layout_error::none` when it can).
  constexpr layout_error state() const noexcept {
    detail::lock_guard guard(lock_);
    return current_state();
  }
  /// The derived geometry. A runtime layout's changes with `configure`: do not hold it across one.
  constexpr const geometry_type& geometry() const noexcept { return layout_.geo(); }
  /// The heap's page mapper (e.g. to read a `counting_mapper`'s figures).
  constexpr Mapper& mapper() noexcept { return mapper_; }
  /// The heap's page mapper, read-only.
  constexpr const Mapper& mapper() const noexcept { return mapper_; }
  /// Start of the heap's virtual range (block offsets and page numbers count from here).
  constexpr std::byte* base() noexcept { return window_.base(); }
  /// Start of the heap's virtual range, read-only.
  constexpr const std::byte* base() const noexcept { return window_.base(); }

  // ---------------------------------------------------------------------------------------------
  // Allocation

  /// Allocates `size` bytes aligned to the layout's min_align.
  /// Returns the pointer, or null: see `try_allocate` for the reason.
  [[nodiscard]] void* allocate(std::size_t size) noexcept {
    detail::lock_guard guard(lock_);
    return take(layout_.geo(), size, 0).ptr;
  }
  /// Allocates `size` bytes aligned to `align` (0: the layout's min_align; a power of two up to
  /// the page size is honoured when some bucket's blocks have that alignment).
  /// Returns the pointer, or null: see `try_allocate` for the reason.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) noexcept { return try_allocate(size, align).ptr; }

  /// Like `allocate`, with the reason of a failure: invalid_size (0 or larger than the range),
  /// invalid_alignment (not a power of two), no_bucket (larger than `max_size(align)`: it never
  /// succeeds), no_block (the buckets that could hold it are full now), no_memory, not_configured.
  /// On success `size` is the size asked for. On failure the heap is unchanged.
  [[nodiscard]] VMH_HOT grant try_allocate(std::size_t size, std::size_t align = 0) noexcept {
    detail::lock_guard guard(lock_);
    return take(layout_.geo(), size, align);
  }

  /// Allocates between `min` and `preferred` bytes in one decision: the grant g satisfies
  /// min <= g <= preferred and is a multiple of `granule` (0: `min`, as SOF does). The block
  /// chosen is the smallest free one that could hold `preferred`, so the allocation can later
  /// grow in place with `resize`; otherwise the largest free one that holds at least the
  /// smallest grant. g is then limited by the free physical memory (when the mapper reports it)
  /// and by the fairness rule (`set_range_policy`), which caps the new pages a grant maps: g is
  /// the largest multiple of granule whose new pages fit both (pages a neighbour maps already
  /// cost nothing), and then grows into the rest of its last page (page fill, no cost).
  /// Errors: invalid_size (min == 0, preferred < min, or no multiple of granule in the range),
  /// invalid_alignment, no_bucket (no block aligned so holds the smallest grant: runs are not
  /// taken here), no_block, no_memory, not_configured.
  [[nodiscard]] grant allocate_range(std::size_t min, std::size_t preferred, std::size_t align = 0, std::size_t granule = 0) noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (open_ == 0 && !open()) return {nullptr, 0, status::not_configured};  // (a bucket is open only when it can allocate)
    if (min == 0 || preferred < min) return {nullptr, 0, status::invalid_size};
    if (granule == 0) granule = min;
    auto down = [granule](std::size_t x) { return x / granule * granule; };  // to a multiple of granule
    // The smallest and largest grants: multiples of granule inside [min, preferred] and the range.
    const std::size_t low = detail::ceil_div(min, granule);
    if (low > g.blocks_end / granule) return {nullptr, 0, status::invalid_size};
    const std::size_t lo = low * granule;
    const std::size_t hi = down(preferred < g.blocks_end ? preferred : g.blocks_end);
    if (lo > hi) return {nullptr, 0, status::invalid_size};
    mask allowed = 0;
    if (const status s = aligned_buckets(g, align, allowed); s != status::ok) return {nullptr, 0, s};
    status packed = status::no_bucket;  // why the packed region did not take it (no_bucket: it did not try)
    if constexpr (packs) {
      // A grant the fairness rule sizes below a page is placed exactly in the packed region.
      std::size_t want = hi;
      if constexpr (tracks_pages && detail::reports_available<Mapper>) {
        const std::size_t fair = fair_pages(g, lo) << g.page_shift;  // the new memory the rule allows
        if (want > fair) want = fair > lo ? down(fair) : lo;
      }
      if (want < g.page_size && align <= g.page_size && want <= packed_of(g).bytes) {  // (the heap is open: above)
        const grant r = take_packed(g, want, align);
        if (r.status == status::ok) return r;
        packed = r.status;
      }
    }

    const mask usable = allowed & open_;
    std::size_t b = 0, want = hi;
    if (const mask roomy = usable & fit_mask(g, hi); roomy != 0) {
      b = static_cast<std::size_t>(std::countr_zero(roomy));
    } else {
      const mask holds = fit_mask(g, lo) & allowed;
      // It never succeeds, unless the packed region tried it: it may take it later.
      if (holds == 0 && packed == status::no_bucket) return {nullptr, 0, status::no_bucket};
      const mask fits = usable & holds;
      if (fits == 0) return no_block(holds, packed);
      b = static_cast<std::size_t>(detail::highest_bit_index(fits));
      want = down(index_of(g).buckets[b].block_size);
    }
    const bucket_type& bg = index_of(g).buckets[b];
    const std::size_t index = detail::bitmap_find_free<levels>(words_, bg);
    const std::size_t offset = index_of(g).block_offset(b, index);
    if constexpr (tracks_pages && detail::reports_available<Mapper>) {
      // The fairness rule caps the new physical memory a grant takes; pages that neighbours map
      // already cost nothing. The smallest grant is never refused while its pages are free.
      std::size_t fresh = fair_pages(g, lo);
      if (const std::size_t least = new_pages(g, bg, offset, lo); fresh < least && least <= mapper_.available() >> g.page_shift)
        fresh = least;
      const std::size_t room = range_room(g, bg, offset, fresh);
      if (want > room) want = down(room);
      if (want < lo) return count_failure({nullptr, 0, status::no_memory});
    }
    if constexpr (tracks_pages) {
      // Page fill: the grant grows into the rest of the last page it maps anyway (up to
      // preferred and the block), which costs no physical memory.
      const std::size_t to_page_end = (page_end_of(g, bg, offset, want) << g.page_shift) - offset;
      const std::size_t fill = down(to_page_end < bg.block_size ? (to_page_end < hi ? to_page_end : hi)
                                                                : (bg.block_size < hi ? bg.block_size : hi));
      if (fill > want) want = fill;
    }
    return place(g, b, index, want);
  }

  /// Frees the allocation that starts at `ptr`. Null is a no-op (`ok`). Errors, each leaving
  /// the heap unchanged: not_configured, foreign_pointer, interior_pointer, double_free (the last
  /// three also go to the misuse handler in debug builds, misuse.hpp).
  status deallocate(void* ptr) noexcept {
    if (ptr == nullptr) return status::ok;
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    const where w = locate(g, ptr);
    if (w.result != status::ok) return detail::misused(w.result, ptr);
    if constexpr (packs)
      if (w.packed) {
        packed_pages pages{*this};
        packed_.deallocate(packed_of(g), pages, extent_of(w));
        if constexpr (keeps_stats) totals_.bytes -= (w.bucket - w.index) << packed_of(g).granule_shift;  // a fall: no peak to update
        --live_;
        return status::ok;
      }
    const bucket_type& bg = index_of(g).buckets[w.bucket];
    const std::size_t size = recorded(bg, w.index);
    release_pages(g, bg, w.offset >> g.page_shift, page_end_of(g, bg, w.offset, size));
    const std::size_t blocks = run_length(bg, size);
    if constexpr (Options.poison)
      if (poisoned(bg)) on_mapped_pages(g, w.offset, blocks * bg.block_size, fill_poison);
    if (has_record(bg)) record(bg, w.index) = 0;
    release_blocks(bg, w.bucket, w.index, blocks);
    --live_;
    return status::ok;
  }

  /// Grows or shrinks the allocation at `ptr` in place to `new_size` bytes, mapping or
  /// unmapping pages; the pointer never moves. A run may shrink (releasing its tail blocks) but
  /// grows only within its blocks. Errors, each leaving the allocation as it was: not_configured,
  /// invalid_size (0), exceeds_block, no_memory, foreign_pointer, interior_pointer, double_free
  /// (the last three also go to the misuse handler).
  [[nodiscard]] status resize(void* ptr, std::size_t new_size) noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    const where w = locate(g, ptr);
    if (w.result != status::ok) return detail::misused(w.result, ptr);
    if (new_size == 0) return status::invalid_size;
    if constexpr (packs)
      if (w.packed) return resize_packed(g, w, new_size);
    return resize_at(g, w, recorded(index_of(g).buckets[w.bucket], w.index), new_size);
  }

  /// Grows the allocation at `ptr` in place towards `preferred` bytes, as far as its block(s),
  /// the free physical memory and the fairness rule (which caps the new pages, as for
  /// `allocate_range`) allow, in multiples of `granule` (0: any size). It never shrinks (a grant
  /// at or above what can be reached keeps its size) and never fails for want of pages: it takes
  /// what the mapper maps. A mapper that cannot report its free memory (no `available()`), or
  /// that refuses what it reported, is asked in halving steps (O(log pages) map calls).
  /// Returns the allocation, its new size and `ok`. Errors, each with a null pointer and leaving
  /// the allocation as it was: not_configured, invalid_size (preferred 0), foreign_pointer,
  /// interior_pointer, double_free (the last three also go to the misuse handler).
  [[nodiscard]] grant grow(void* ptr, std::size_t preferred, std::size_t granule = 0) noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    const where w = locate(g, ptr);
    if (w.result != status::ok) return {nullptr, 0, detail::misused(w.result, ptr)};
    if (preferred == 0) return {nullptr, 0, status::invalid_size};
    if (granule == 0) granule = 1;
    if constexpr (packs)
      if (w.packed) return grow_packed(g, w, ptr, preferred, granule);
    const bucket_type& bg = index_of(g).buckets[w.bucket];
    const std::size_t size = recorded(bg, w.index);
    const std::size_t span = run_length(bg, size) * bg.block_size;
    std::size_t want = (preferred < span ? preferred : span) / granule * granule;
    if constexpr (tracks_pages && detail::reports_available<Mapper>) {
      const std::size_t room = room_from(g, bg, w.offset, span, page_end_of(g, bg, w.offset, size), fair_pages(g, 0));
      if (want > room) want = room / granule * granule;
    }
    if (want <= size) return {ptr, size, status::ok};
    return {ptr, extend(g, w, size, want, granule), status::ok};
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /// True when `ptr` points into this heap's blocks (live or not).
  bool owns(const void* ptr) const noexcept {
    detail::lock_guard guard(lock_);
    return current_state() == layout_error::none && inside(layout_.geo(), ptr);
  }

  /// Bytes usable at `ptr`: from ptr to the end of its block(s) or of its last mapped page,
  /// whichever comes first (at least the size asked for). 0 if `ptr` is not a live allocation.
  std::size_t usable_size(const void* ptr) const noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    const where w = locate(g, ptr);
    if (w.result != status::ok) return 0;
    if constexpr (packs)
      if (w.packed) return (w.bucket - w.index) << packed_of(g).granule_shift;
    const bucket_type& bg = index_of(g).buckets[w.bucket];
    const std::size_t size = recorded(bg, w.index);
    const std::size_t slot_end = w.offset + run_length(bg, size) * bg.block_size;
    if constexpr (!tracks_pages) return slot_end - w.offset;
    const std::size_t mapped_end = page_end_of(g, bg, w.offset, size) << g.page_shift;
    return (mapped_end < slot_end ? mapped_end : slot_end) - w.offset;
  }

  /// A snapshot of the heap's statistics.
  heap_stats stats() const noexcept
    requires(keeps_stats)
  {
    detail::lock_guard guard(lock_);
    if constexpr (keeps_stats)
      return {live_, totals_.bytes, totals_.peak_bytes, pages_, totals_.peak_pages, totals_.failed_no_block,
              totals_.failed_no_memory};
    else return {};
  }

  /// A snapshot of bucket `b`'s statistics (zeros past the last bucket).
  bucket_stats stats(std::size_t b) const noexcept
    requires(keeps_stats)
  {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if constexpr (keeps_stats) {
      if (b >= g.bucket_count) return {};
      return {g.buckets[b].block_size, g.buckets[b].block_count, in_use_[b], stats_[b].peak, stats_[b].full_failures};
    } else {
      return {};
    }
  }

  /// The largest request the heap can ever grant at alignment `align` (0: min_align): its largest
  /// block so aligned or, with runs, its longest run of such blocks (`allocate_range` takes no
  /// runs: its smallest grant must fit one block), or the packed region's limit when `align` is
  /// at most a page. A larger request fails with `no_bucket`. 0 when neither a bucket nor the
  /// region has that alignment, it is not a power of two, or the heap cannot allocate.
  std::size_t max_size(std::size_t align = 0) const noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    mask allowed = 0;
    if (current_state() != layout_error::none || aligned_buckets(g, align, allowed) != status::ok) return 0;
    const std::size_t most = largest(g, allowed);
    if constexpr (packs)
      if (align <= g.page_size && packed_of(g).limit > most) return packed_of(g).limit;  // the packed region's
    return most;
  }
  /// The largest alignment the heap can ever honour: that of the most aligned bucket's blocks, or
  /// a page with a packed region (at most a page). A request for more fails with `no_bucket`. 0
  /// when the heap cannot allocate.
  std::size_t max_alignment() const noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (current_state() != layout_error::none) return 0;
    std::size_t most = 0;
    for (std::size_t b = 0; b < g.bucket_count; ++b)
      if (g.block_align(g.buckets[b]) > most) most = g.block_align(g.buckets[b]);
    if constexpr (packs)
      if (packed_of(g).bytes != 0) most = g.page_size;  // the packed region places at any alignment up to a page
    return most;
  }

  /// Buckets of the current layout: 0 while the layout is invalid or, for a runtime layout, not yet configured.
  std::size_t bucket_count() const noexcept {
    detail::lock_guard guard(lock_);
    return layout_.geo().bucket_count;
  }

  /// Bytes of RAM the heap keeps as metadata for its current geometry (bitmaps, size records,
  /// page counts, per-bucket counters and totals), sized exactly as a fixed layout of that
  /// geometry sizes them. The blocks, the constant geometry and the window are not
  /// counted. Every comparison at equal SRAM charges this against the physical budget.
  constexpr std::size_t metadata_bytes() const noexcept {
    const geometry_type& g = layout_.geo();
    std::size_t n = g.word_total * sizeof(detail::word) + g.bucket_count * sizeof(std::uint32_t) + sizeof open_ +
                    sizeof live_ + sizeof policy_ + sizeof state_;
    if constexpr (records_all) n += g.block_total * sizeof(std::uint32_t);
    if constexpr (records_some) n += g.record_total * sizeof(std::uint32_t);
    if constexpr (tracks_pages) n += g.ref_pages * sizeof(std::uint16_t) + sizeof pages_;
    if constexpr (keeps_stats) n += g.bucket_count * sizeof(bucket_counters) + sizeof totals_;
    if constexpr (packs) n += backing_heap::metadata_bytes(packed_of(g));
    return n;
  }

  /// Sets the fairness rule of `allocate_range` (see range_policy.hpp).
  void set_range_policy(range_policy p) noexcept {
    detail::lock_guard guard(lock_);
    policy_ = p;
  }
  /// The fairness rule `allocate_range` applies now (the reserve rule unless `set_range_policy` changed it).
  range_policy get_range_policy() const noexcept {
    detail::lock_guard guard(lock_);
    return policy_;
  }

  /// Allocations that found their block's poison overwritten (written to after it was freed).
  std::size_t poison_damaged() const noexcept
    requires(Options.poison)
  {
    detail::lock_guard guard(lock_);
    if constexpr (Options.poison) return poison_damaged_;  // (clang checks the body of a constrained member)
    else return 0;
  }

  /// Checks every invariant of the metadata against each other, against the live allocations
  /// and against the mapper. O(blocks + pages). Returns the first broken invariant and where.
  /// Defined in validate.hpp (included at the end of this header).
  [[nodiscard]] check validate() const noexcept;

 private:
  struct bucket_counters {
    std::uint32_t peak = 0;
    std::uint32_t full_failures = 0;
  };
  struct totals {
    std::size_t bytes = 0, peak_bytes = 0, peak_pages = 0, failed_no_block = 0, failed_no_memory = 0;
  };
  /// Where a pointer lands: its bucket, block and offset, or why it is not a live allocation.
  /// In the packed region (`packed`), `index` and `bucket` hold the allocation's first granule
  /// and one past its last (`extent_of`).
  struct where {
    status result = status::ok;
    std::size_t bucket = 0, index = 0, offset = 0;
    bool packed = false;
  };
  /// The packed allocation `w` locates.
  static auto extent_of(const where& w) noexcept
    requires(packs)
  {
    if constexpr (packs)  // (clang checks the body of a constrained member)
      return typename backing_heap::extent{status::ok, w.index, w.bucket};
  }

  template <class T>
  static constexpr void clear(T* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) p[i] = T{};
  }

  constexpr layout_error window_fits(const geometry_type& g) const noexcept {
    if (g.error != layout_error::none) return g.error;
    if (window_.size() < g.virtual_size) return layout_error::window_too_small;
    // A constant initialization (constinit) cannot compare the address with null or take its
    // remainder: such a heap checks it when it opens.
    return std::is_constant_evaluated() ? layout_error::none : address_fits(g);
  }
  /// Whether the window's address is usable: not null, and on a page boundary.
  layout_error address_fits(const geometry_type& g) const noexcept {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(base());
    return a == 0 ? layout_error::window_null : a % g.page_size != 0 ? layout_error::window_misaligned : layout_error::none;
  }
  constexpr layout_error window_state() const noexcept {
    if constexpr (reconfigurable_layout<Layout>) return layout_error::no_buckets;  // until configure()
    else return window_fits(layout_.geo());
  }
  /// The state of a new heap. Its buckets open only when it can allocate, so the hot path needs
  /// no test of the state: a request finds no open bucket, and the failure path tells why. A
  /// constant-initialized heap opens at its first request instead (`open`).
  constexpr void start() noexcept {
    state_ = window_state();
    if (state_ == layout_error::none && !std::is_constant_evaluated()) open_ = layout_.geo().all_buckets();
  }
  /// Whether the heap was constant-initialized and not yet opened. An open heap with no live
  /// allocation has every bucket open (each has a block), so this state is unmistakable.
  constexpr bool unopened() const noexcept { return state_ == layout_error::none && open_ == 0 && live_ == 0; }
  /// The heap's state; the window's address is checked now if it was not yet opened (the
  /// rest was checked when the heap was constant-initialized).
  VMH_NOINLINE layout_error current_state() const noexcept { return unopened() ? address_fits(layout_.geo()) : state_; }
  /// Opens a heap that was not yet opened: checks its window, and opens its buckets if it
  /// passes. Returns whether the heap can allocate.
  bool open() noexcept {
    state_ = current_state();
    if (unopened()) open_ = layout_.geo().all_buckets();  // it passed
    return state_ == layout_error::none;
  }
  /// A request's error, unless the heap cannot allocate at all (then not_configured; a heap with
  /// an open bucket can).
  status refused(status s) const noexcept {
    return open_ == 0 && current_state() != layout_error::none ? status::not_configured : s;
  }

  /// The table the hot paths index at run time: a fixed layout's compact one, else the geometry's
  /// own (`detail::index_of`).
  VMH_HOT static constexpr const index_type& index_of(const geometry_type& g) noexcept { return detail::index_of<Layout>(g); }
  /// The packed region's geometry: a fixed layout's constant copy, else the geometry's own
  /// (`detail::packed_of`).
  VMH_HOT static constexpr const packed_geometry& packed_of(const geometry_type& g) noexcept {
    return detail::packed_of<Layout>(g);
  }

  /// The buckets whose blocks have alignment `align` (0: the layout's min_align, which all have).
  VMH_HOT static status aligned_buckets(const geometry_type& g, std::size_t align, mask& out) noexcept {
    if ((align & (align - 1)) != 0) return status::invalid_alignment;
    out = align <= g.min_align ? g.all_buckets() : index_of(g).aligned_buckets(detail::log2_floor(align));
    return status::ok;
  }

  /// The largest request buckets `m` can ever hold: their largest block or, with runs, their
  /// longest run (a bucket with guard pages has no runs).
  static std::size_t largest(const geometry_type& g, mask m) noexcept {
    std::size_t most = 0;
    for (; m != 0; m &= static_cast<mask>(m - 1)) {
      const bucket_type& bg = index_of(g).buckets[std::countr_zero(m)];
      const std::size_t n =
          Options.runs && index_type::stride_of(bg) == bg.block_size ? bg.block_size * bg.block_count : bg.block_size;
      if (n > most) most = n;
    }
    return most;
  }

  /// Buckets whose blocks hold `size` bytes.
  VMH_HOT static mask fit_mask(const geometry_type& g, std::size_t size) noexcept {
    const std::size_t first = index_of(g).first_fit(size);
    return first >= g.bucket_count ? mask{0} : static_cast<mask>(g.all_buckets() & (~mask{0} << first));
  }

  /// Whether no page of bucket bg is shared (`bucket_geometry::owned`), as far as the layout's kinds tell.
  VMH_HOT static constexpr bool is_owned(const bucket_type& bg) noexcept {
    return kinds.owned && (!kinds.shared || bg.owned);
  }
  /// Whether an allocation's pages in bucket bg depend on its size (`bucket_geometry::variable`),
  /// as far as the layout's kinds tell: without straddling buckets only an owned one is.
  VMH_HOT static constexpr bool is_variable(const bucket_type& bg) noexcept {
    return kinds.variable && bg.variable && (kinds.straddling || is_owned(bg));  // (tells the compiler so)
  }

  /// Whether bucket bg's blocks keep a size record: every block with runs (a run's length), else
  /// the blocks of variable buckets (their size decides their pages) when pages are tracked.
  static constexpr bool has_record(const bucket_type& bg) noexcept {
    return records_all || (records_some && is_variable(bg));
  }
  /// Where block i of bucket bg keeps its record (has_record(bg) only).
  static constexpr std::size_t record_index(const bucket_type& bg, std::size_t i) noexcept {
    return (records_all ? bg.first_block : bg.first_record) + i;
  }
  /// The size record of block i of bucket bg (its size, 0 when free or inside a run).
  std::uint32_t& record(const bucket_type& bg, std::size_t i) noexcept { return records_[record_index(bg, i)]; }
  /// The bytes of the allocation at block i as far as the heap knows them: the record where one
  /// is kept, else the whole block (whose single page the allocation touches anyway).
  VMH_HOT std::size_t recorded(const bucket_type& bg, std::size_t i) const noexcept {
    return has_record(bg) ? records_[record_index(bg, i)] : bg.block_size;
  }

  /// One past the last page touched by `size` bytes at `offset` in bucket bg.
  VMH_HOT static std::size_t page_end_of(const geometry_type& g, const bucket_type& bg, std::size_t offset,
                                 std::size_t size) noexcept {
    if (!records_all && !is_variable(bg)) return (offset >> g.page_shift) + 1;  // the block's one page
    return (offset + size + g.page_size - 1) >> g.page_shift;
  }

  /// Blocks taken by an allocation of `size` bytes starting in a block of `bg`.
  static std::size_t run_length(const bucket_type& bg, std::size_t size) noexcept {
    if constexpr (!Options.runs) return 1;
    return size <= bg.block_size ? 1 : detail::ceil_div(size, bg.block_size);
  }

  grant count_failure(grant r) noexcept {
    count_failure(r.status);
    return r;
  }
  status count_failure(status s) noexcept {
    if constexpr (keeps_stats) {
      if (s == status::no_block) ++totals_.failed_no_block;
      if (s == status::no_memory) ++totals_.failed_no_memory;
    }
    return s;
  }
  /// Fails a request for which every fitting bucket (mask `fits`) is full; the first of them
  /// (the request's own bucket) records it. When the packed region had room for the request but
  /// could not map its pages (`packed` is no_memory), the request fails with no_memory instead.
  grant no_block(mask fits, status packed = status::no_bucket) noexcept {
    if (packed == status::no_memory) return count_failure({nullptr, 0, status::no_memory});
    if constexpr (keeps_stats)
      if (fits != 0) ++stats_[std::countr_zero(fits)].full_failures;
    return count_failure({nullptr, 0, status::no_block});
  }

  /// Takes a block for `size` bytes aligned to `align` (as `try_allocate`): from the smallest
  /// bucket that fits and has a free block (or, with runs, a run of blocks).
  VMH_HOT grant take(const geometry_type& g, std::size_t size, std::size_t align) noexcept {
    if (size - 1 >= g.blocks_end) return {nullptr, 0, refused(status::invalid_size)};  // 0 wraps to SIZE_MAX
    mask allowed = 0;
    if (const status s = aligned_buckets(g, align, allowed); s != status::ok) return {nullptr, 0, refused(s)};
    status packed = status::no_bucket;  // why the packed region did not take it (no_bucket: it did not try)
    if constexpr (packs)  // (a constant-initialized heap opens, its window checked, at its first request)
      if (size <= packed_of(g).limit && align <= g.page_size && (open_ != 0 || open())) {
        const grant r = take_packed(g, size, align);
        if (r.status == status::ok) return r;
        packed = r.status;
      }
    const mask fits = fit_mask(g, size) & allowed;
    mask usable = fits & open_;  // none while the heap cannot allocate
    if (usable == 0 && open_ == 0 && open()) usable = fits & open_;  // a constant-initialized heap's first request
    if (usable != 0) {
      const std::size_t b = static_cast<std::size_t>(std::countr_zero(usable));
      return place(g, b, detail::bitmap_find_free<levels>(words_, index_of(g).buckets[b]), size);
    }
    if (state_ != layout_error::none) return {nullptr, 0, status::not_configured};
    if (fits == 0 && packed == status::no_bucket && (!Options.runs || size > largest(g, allowed)))
      return {nullptr, 0, status::no_bucket};  // never (the packed region may take what it tried later)
    if constexpr (Options.runs) {
      const grant run = allocate_run(g, size, allowed);
      if (run.status != status::no_block) return run;
    }
    return no_block(fits, packed);
  }

  /// The page bookkeeping the packed region uses: its pages are shared pages of the window.
  /// It reads the geometry from the layout, not from a reference it keeps: a fixed layout's is
  /// then a constant where the calls are not inlined too, and stays out of flash.
  struct packed_pages {
    heap& h;
    VMH_HOT_SMALL bool commit(std::size_t first, std::size_t end) noexcept {
      return h.commit_shared(h.layout_.geo(), first, end);
    }
    VMH_HOT_SMALL void release(std::size_t first, std::size_t end) noexcept { h.release_shared(h.layout_.geo(), first, end); }
  };

  /// Places `size` bytes aligned to `align`, and at least to min_align, in the packed region.
  VMH_HOT_SMALL grant take_packed(const geometry_type& g, std::size_t size, std::size_t align) noexcept
    requires(packs)
  {
    if constexpr (packs) {  // (clang checks the body of a constrained member)
      if (align < g.min_align) align = g.min_align;  // as every block: no two allocations share a min_align line
      packed_pages pages{*this};
      status why = status::ok;
      const std::size_t offset = packed_.allocate(packed_of(g), pages, size, align, why);
      if (offset == SIZE_MAX) return {nullptr, 0, why};
      note_packed(g, 0, packed_of(g).granules_for(size));
      ++live_;
      return {base() + offset, size, status::ok};
    } else {
      return {};
    }
  }
  /// Counts a packed allocation that went from `from` to `to` granules.
  void note_packed(const geometry_type& g, std::size_t from, std::size_t to) noexcept {
    if constexpr (keeps_stats) {
      totals_.bytes = totals_.bytes - (from << packed_of(g).granule_shift) + (to << packed_of(g).granule_shift);
      if (totals_.bytes > totals_.peak_bytes) totals_.peak_bytes = totals_.bytes;
    } else {
      (void)g, (void)from, (void)to;
    }
  }
  /// resize() of a packed allocation: in place, into the free run after it.
  status resize_packed(const geometry_type& g, const where& w, std::size_t new_size) noexcept
    requires(packs)
  {
    if constexpr (packs) {
      packed_pages pages{*this};
      const status s = packed_.resize(packed_of(g), pages, extent_of(w), new_size);
      if (s == status::ok) note_packed(g, w.bucket - w.index, packed_of(g).granules_for(new_size));
      return s == status::no_memory ? count_failure(s) : s;
    } else {
      return status::not_configured;
    }
  }
  /// grow() of a packed allocation: into the free run after it, as far as the fairness rule lets
  /// it map new pages and the mapper maps them (all at once, else in halving steps, as `extend`).
  grant grow_packed(const geometry_type& g, const where& w, void* ptr, std::size_t preferred, std::size_t granule) noexcept
    requires(packs)
  {
    if constexpr (packs) {
      const unsigned gs = packed_of(g).granule_shift;
      const std::size_t size = (w.bucket - w.index) << gs;
      std::size_t reach = (packed_.grow_limit(packed_of(g), w.bucket) - w.index) << gs;
      if constexpr (tracks_pages && detail::reports_available<Mapper>) {
        // Pages up to the one the allocation ends in are mapped already; the rule caps the new ones.
        const std::size_t fresh = fair_pages(g, 0);
        const std::size_t mapped_end = ((w.offset + size - 1) >> g.page_shift) + 1;
        if (fresh < g.page_total) {
          const std::size_t cap = ((mapped_end + fresh) << g.page_shift) - w.offset;
          if (reach > cap) reach = cap;
        }
      }
      const std::size_t want = (preferred < reach ? preferred : reach) / granule * granule;
      if (want <= size) return {ptr, size, status::ok};
      // Up to the page want ends in, a step of pages at a time (each step to a page's end).
      packed_pages pages{*this};
      typename backing_heap::extent x = extent_of(w);
      const std::size_t goal = ((w.offset + want - 1) >> g.page_shift) + 1;
      std::size_t mapped = ((w.offset + size - 1) >> g.page_shift) + 1;  // one past its last mapped page
      for (std::size_t step = goal > mapped ? goal - mapped : 0; step != 0 && mapped < goal;) {
        const std::size_t n = step < goal - mapped ? step : goal - mapped;
        const std::size_t to = mapped + n == goal ? want : ((mapped + n) << g.page_shift) - w.offset;
        if (packed_.resize(packed_of(g), pages, x, to) == status::ok) {
          mapped += n;
          x.end = x.first + packed_of(g).granules_for(to);
        } else {
          step /= 2;
        }
      }
      std::size_t grown = want;
      if (mapped < goal) {  // the bytes its pages cover, in granules (less than want)
        grown = ((mapped << g.page_shift) - w.offset) / granule * granule;
        if (grown < size) grown = size;
      }
      packed_.resize(packed_of(g), pages, x, grown);  // within its mapped pages: no map call
      note_packed(g, w.bucket - w.index, packed_of(g).granules_for(grown));
      return {ptr, grown, status::ok};
    } else {
      return {};
    }
  }

  /// Takes blocks [index, index + run_length(size)) of bucket b for `size` bytes and maps the
  /// pages they touch; all or nothing.
  VMH_HOT grant place(const geometry_type& g, std::size_t b, std::size_t index, std::size_t size) noexcept {
    const bucket_type& bg = index_of(g).buckets[b];
    const std::size_t offset = index_of(g).block_offset(b, index);
    const std::size_t n = run_length(bg, size);
    if constexpr (Options.poison)
      if (poisoned(bg)) {
        bool intact = true;
        on_mapped_pages(g, offset, n * bg.block_size, [&intact](std::byte* p, std::size_t bytes) {
          intact = intact && poison_intact(p, bytes);
        });
        if (!intact) ++poison_damaged_;
      }
    if (!commit_pages(g, bg, offset >> g.page_shift, page_end_of(g, bg, offset, size)))
      return count_failure({nullptr, 0, status::no_memory});
    if (has_record(bg)) record(bg, index) = static_cast<std::uint32_t>(size);
    for (std::size_t i = index; i < index + n; ++i) detail::bitmap_set<levels>(words_, bg, i);
    const std::uint32_t used = in_use_[b] += static_cast<std::uint32_t>(n);
    if (used == bg.block_count) open_ &= static_cast<mask>(~(mask{1} << b));
    ++live_;
    if constexpr (keeps_stats) {
      if (used > stats_[b].peak) stats_[b].peak = used;
      totals_.bytes += n * bg.block_size;
      if (totals_.bytes > totals_.peak_bytes) totals_.peak_bytes = totals_.bytes;
    }
    return {base() + offset, size, status::ok};
  }

  /// Returns blocks [index, index + n) of bucket b to the free bitmap.
  VMH_HOT void release_blocks(const bucket_type& bg, std::size_t b, std::size_t index, std::size_t n) noexcept {
    for (std::size_t i = index; i < index + n; ++i) detail::bitmap_clear<levels>(words_, bg, i);
    in_use_[b] -= static_cast<std::uint32_t>(n);
    open_ |= static_cast<mask>(mask{1} << b);
    if constexpr (keeps_stats) totals_.bytes -= n * bg.block_size;
  }

  /// A run of n adjacent free blocks, from the bucket with the largest blocks down.
  grant allocate_run(const geometry_type& g, std::size_t size, mask allowed) noexcept {
    for (mask m = allowed & open_; m != 0;) {
      const std::size_t b = static_cast<std::size_t>(detail::highest_bit_index(m));
      m &= static_cast<mask>(~(mask{1} << b));
      const bucket_type& bg = index_of(g).buckets[b];
      const std::size_t n = detail::ceil_div(size, bg.block_size);
      if (n > bg.block_count - in_use_[b] || index_type::stride_of(bg) != bg.block_size) continue;  // guarded blocks are not adjacent
      const std::size_t index = detail::bitmap_find_run(words_, bg, n);
      if (index < bg.block_count) return place(g, b, index, size);
    }
    return {nullptr, 0, status::no_block};
  }

  bool inside(const geometry_type& g, const void* ptr) const noexcept {
    const std::uintptr_t rel = reinterpret_cast<std::uintptr_t>(ptr) - reinterpret_cast<std::uintptr_t>(base());
    return rel < g.blocks_end;  // below base wraps to a large value
  }

  /// Locates the live allocation that starts at `ptr`.
  /// A heap that cannot allocate has no live allocation, so every pointer fails one of the checks
  /// and the state is tested only then (once, for every reason).
  VMH_HOT where locate(const geometry_type& g, const void* ptr) const noexcept {
    where w = find(g, ptr);
    if (w.result != status::ok) w.result = refused(w.result);
    return w;
  }
  /// Where `ptr` lands, or the first check it fails, whatever the heap's state.
  VMH_HOT where find(const geometry_type& g, const void* ptr) const noexcept {
    if (!inside(g, ptr)) return {status::foreign_pointer};
    const std::size_t offset = static_cast<std::size_t>(static_cast<const std::byte*>(ptr) - base());
    if constexpr (packs)
      if (offset < packed_of(g).bytes) {
        const auto x = packed_.locate(packed_of(g), offset);
        return {x.result, x.end, x.first, offset, true};
      }
    const std::size_t b = index_of(g).bucket_at(offset);
    const bucket_type& bg = index_of(g).buckets[b];
    const std::size_t rel = offset - index_of(g).bucket_start(b);
    const std::size_t index = index_type::block_index(bg, rel);
    if (rel != index * index_type::stride_of(bg)) return {status::interior_pointer};  // inside a block, or a guard page
    if (!detail::bitmap_test(words_, bg, index)) return {status::double_free};
    if constexpr (records_all)
      if (records_[bg.first_block + index] == 0) return {status::interior_pointer};  // inside a run
    return {status::ok, b, index, offset};
  }

  // Live allocations cover disjoint byte ranges, so a page strictly inside a range is touched by
  // that allocation alone: only its first and last pages can be shared with a neighbour. The
  // pages a range must map or unmap are therefore one run: one mapper call, and a failed map
  // leaves nothing to undo.
  struct page_run {
    std::size_t first, end;
  };

  /// The pages of [first, end) that no allocation references (all but a shared first or last page).
  page_run unshared(const bucket_type& bg, std::size_t first, std::size_t end) const noexcept {
    if (is_owned(bg)) return {first, end};
    return unshared(first, end);
  }
  /// The same for shared pages.
  page_run unshared(std::size_t first, std::size_t end) const noexcept {
    if (first < end && refs_[first] != 0) ++first;
    if (first < end && refs_[end - 1] != 0) --end;
    return {first, end};
  }

  /// Adds a reference to pages [first, end) of bucket bg, mapping those that had none. All or nothing.
  VMH_HOT bool commit_pages(const geometry_type& g, const bucket_type& bg, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      if (is_owned(bg)) {  // no neighbour: the run is the allocation's own
        if (first < end && !mapper_.map(page_ptr(g, first), (end - first) << g.page_shift)) return false;
        note_mapped(end - first);
        return true;
      }
      if (!shared_spans_pages || end == first + 1) return commit_one(g, first);  // one shared page: every small block
      return commit_shared(g, first, end);
    }
    return true;
  }
  /// Adds a reference to shared pages [first, end), mapping those that had none (one run: only
  /// the first and the last can be a neighbour's). All or nothing.
  VMH_HOT_SMALL bool commit_shared(const geometry_type& g, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      if (end == first + 1) return commit_one(g, first);  // most allocations below a page touch one
      const page_run fresh = unshared(first, end);
      if (fresh.first < fresh.end && !mapper_.map(page_ptr(g, fresh.first), (fresh.end - fresh.first) << g.page_shift))
        return false;
      if constexpr (Options.poison) fill_poison(page_ptr(g, fresh.first), (fresh.end - fresh.first) << g.page_shift);
      for (std::size_t p = first; p < end; ++p) ++refs_[p];
      note_mapped(fresh.end - fresh.first);
    }
    return true;
  }
  /// Adds a reference to shared page p, mapping it if it had none.
  VMH_HOT_SMALL bool commit_one(const geometry_type& g, std::size_t p) noexcept {
    if (refs_[p] == 0) {
      if (!mapper_.map(page_ptr(g, p), g.page_size)) return false;
      if constexpr (Options.poison) fill_poison(page_ptr(g, p), g.page_size);  // its free blocks
      note_mapped(1);
    }
    ++refs_[p];
    return true;
  }
  VMH_HOT void note_mapped(std::size_t n) noexcept {
    pages_ += n;
    if constexpr (keeps_stats)
      if (pages_ > totals_.peak_pages) totals_.peak_pages = pages_;
  }

  /// Drops a reference to pages [first, end) of bucket bg and unmaps those left with none.
  VMH_HOT void release_pages(const geometry_type& g, const bucket_type& bg, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      page_run freed{first, end};  // owned: the allocation's own run
      if (!is_owned(bg)) {
        if (!shared_spans_pages || end == first + 1) {  // one shared page
          if (--refs_[first] != 0) return;
          freed.end = first + 1;  // (it is; said so, this path needs no size-dependent end)
        } else {
          return release_shared(g, first, end);
        }
      }
      unmap_run(g, freed);
    }
  }
  /// Drops a reference to shared pages [first, end) and unmaps those left with none.
  VMH_HOT_SMALL void release_shared(const geometry_type& g, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      if (end == first + 1) {
        if (--refs_[first] == 0) unmap_run(g, {first, end});
        return;
      }
      for (std::size_t p = first; p < end; ++p) --refs_[p];
      unmap_run(g, unshared(first, end));
    }
  }
  void unmap_run(const geometry_type& g, page_run run) noexcept {
    if (run.first < run.end) {
      mapper_.unmap(page_ptr(g, run.first), (run.end - run.first) << g.page_shift);
      pages_ -= run.end - run.first;
    }
  }

  /// Resizes the located allocation from `old_size` to `new_size` (> 0) bytes in place.
  status resize_at(const geometry_type& g, const where& w, std::size_t old_size, std::size_t new_size) noexcept {
    const bucket_type& bg = index_of(g).buckets[w.bucket];
    const std::size_t blocks = run_length(bg, old_size);
    if (new_size > blocks * bg.block_size) return status::exceeds_block;
    const std::size_t old_end = page_end_of(g, bg, w.offset, old_size), new_end = page_end_of(g, bg, w.offset, new_size);
    if (new_end > old_end && !commit_pages(g, bg, old_end, new_end)) return count_failure(status::no_memory);
    if (new_end < old_end) release_pages(g, bg, new_end, old_end);
    if (has_record(bg)) record(bg, w.index) = static_cast<std::uint32_t>(new_size);
    if (const std::size_t kept = run_length(bg, new_size); kept < blocks) {
      release_blocks(bg, w.bucket, w.index + kept, blocks - kept);
      if constexpr (Options.poison)
        if (poisoned(bg)) on_mapped_pages(g, w.offset + kept * bg.block_size, (blocks - kept) * bg.block_size, fill_poison);
    }
    return status::ok;
  }

  /// Grows the located allocation from `size` towards `want` bytes (within its block(s)) with the
  /// pages the mapper grants: all at once, else in halving steps, as far as it maps them. Keeps
  /// the largest multiple of `granule` those pages cover (never below `size`), gives back the
  /// pages past it, and returns the new size.
  std::size_t extend(const geometry_type& g, const where& w, std::size_t size, std::size_t want,
                     std::size_t granule) noexcept {
    const bucket_type& bg = index_of(g).buckets[w.bucket];
    const std::size_t goal = page_end_of(g, bg, w.offset, want);
    std::size_t reach = page_end_of(g, bg, w.offset, size);
    for (std::size_t step = goal - reach; step != 0 && reach < goal;) {
      const std::size_t n = step < goal - reach ? step : goal - reach;
      if (commit_pages(g, bg, reach, reach + n)) reach += n;
      else step /= 2;
    }
    std::size_t grown = want;
    if (reach < goal) {  // the bytes the pages cover, in granules (less than want)
      grown = ((reach << g.page_shift) - w.offset) / granule * granule;
      if (grown < size) grown = size;
      if (const std::size_t end = page_end_of(g, bg, w.offset, grown); end < reach) release_pages(g, bg, end, reach);
    }
    if (has_record(bg)) record(bg, w.index) = static_cast<std::uint32_t>(grown);
    return grown;
  }

  /// New pages the fairness rule lets one grant map now, for a request whose smallest grant is lo.
  std::size_t fair_pages(const geometry_type& g, std::size_t lo) const noexcept
    requires(detail::reports_available<Mapper>)
  {
    if constexpr (detail::reports_available<Mapper>) {  // (clang checks the body of a constrained member)
      const std::size_t available = mapper_.available();
      const std::size_t mapped = pages_ << g.page_shift;
      const std::size_t total = available > SIZE_MAX - mapped ? SIZE_MAX : available + mapped;  // "unlimited" saturates
      const std::size_t fair = policy_.cap(available, total, lo);
      return (fair < available ? fair : available) >> g.page_shift;
    } else {
      return SIZE_MAX;
    }
  }

  /// Pages an allocation of `size` bytes at `offset` in bucket bg would have to map.
  std::size_t new_pages(const geometry_type& g, const bucket_type& bg, std::size_t offset, std::size_t size) const noexcept {
    const page_run fresh = unshared(bg, offset >> g.page_shift, page_end_of(g, bg, offset, size));
    return fresh.end - fresh.first;
  }

  /// The most bytes an allocation at `offset` in bucket bg can cover with `fresh` new pages: the
  /// page it starts in is free when a neighbour maps it already, and so is the block's last page.
  std::size_t range_room(const geometry_type& g, const bucket_type& bg, std::size_t offset,
                         std::size_t fresh) const noexcept {
    const std::size_t first = offset >> g.page_shift;
    return room_from(g, bg, offset, bg.block_size, first + (!is_owned(bg) && refs_[first] != 0 ? 1 : 0), fresh);
  }
  /// The most bytes from `offset` (at most `span`) that pages below `end` (mapped already) and
  /// `fresh` more pages cover, the last page of the span counting as free when a neighbour maps it.
  std::size_t room_from(const geometry_type& g, const bucket_type& bg, std::size_t offset, std::size_t span,
                        std::size_t end, std::size_t fresh) const noexcept {
    if (fresh >= g.page_total) return span;  // "unlimited"
    end += fresh;
    if (!is_owned(bg)) {
      const std::size_t last = (offset + span - 1) >> g.page_shift;
      if (end == last && last < g.ref_pages && refs_[last] != 0) ++end;  // (always below ref_pages: tells GCC's -Warray-bounds)
    }
    const std::size_t reach = end << g.page_shift;
    if (reach <= offset) return 0;
    return reach - offset < span ? reach - offset : span;
  }

  std::byte* page_ptr(const geometry_type& g, std::size_t page) noexcept { return base() + (page << g.page_shift); }

  /// Buckets whose free blocks carry poison: sub-page blocks, one page each (a run of them may span pages).
  static constexpr bool poisoned(const bucket_type& bg) noexcept { return !is_owned(bg) && !is_variable(bg); }
  /// Calls f(ptr, bytes) on each piece of [offset, offset + bytes) whose page is mapped, in a
  /// bucket whose pages keep counts: free blocks on an unmapped page hold nothing.
  template <class F>
  void on_mapped_pages(const geometry_type& g, std::size_t offset, std::size_t bytes, F f) noexcept {
    for (std::size_t at = offset, end = offset + bytes; at < end;) {
      const std::size_t page = at >> g.page_shift;
      const std::size_t next = (page + 1) << g.page_shift;
      if (refs_[page] != 0) f(base() + at, (next < end ? next : end) - at);
      at = next;
    }
  }
  static void fill_poison(std::byte* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) p[i] = std::byte{poison_byte};
  }
  static bool poison_intact(const std::byte* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != std::byte{poison_byte}) return false;
    return true;
  }

  // Metadata: all zero in an empty heap (see the top of this file).
  detail::word words_[Layout::word_capacity] = {};
  std::uint32_t records_[records_all ? Layout::block_capacity : records_some && Layout::record_capacity != 0 ? Layout::record_capacity : 1] = {};
  std::uint16_t refs_[tracks_pages && Layout::ref_capacity != 0 ? Layout::ref_capacity : 1] = {};
  std::uint32_t in_use_[Layout::bucket_capacity] = {};
  [[no_unique_address]] std::conditional_t<keeps_stats, bucket_counters[Layout::bucket_capacity], detail::empty> stats_ = {};
  mask open_ = 0;  ///< buckets with a free block; none while the heap cannot allocate
  std::size_t live_ = 0;
  std::size_t pages_ = 0;
  [[no_unique_address]] std::conditional_t<keeps_stats, totals, detail::empty> totals_{};
  [[no_unique_address]] std::conditional_t<Options.poison, std::size_t, detail::empty> poison_damaged_{};
  [[no_unique_address]] backing_heap packed_{};
  range_policy policy_{};
  layout_error state_ = layout_error::none;
  [[no_unique_address]] Layout layout_{};
  [[no_unique_address]] Mapper mapper_{};
  [[no_unique_address]] mutable Lock lock_{};
  Window window_{};
};

}  // namespace vmh

#include "validate.hpp"
