// vmh::heap -- the virtual-memory bucket heap.
//
// The heap owns a virtual range split into buckets of equal-sized blocks (the layout). An
// allocation takes the lowest free block of the smallest bucket that fits (spilling upward when
// that bucket is full) and maps physical pages only for the bytes it asked for. Every page has a
// reference count: the number of live allocations whose bytes touch it. A page is mapped when
// its count leaves 0 and unmapped when it returns to 0, so small blocks sharing a page, and
// blocks that straddle page boundaries, never lose a page that a neighbour still uses.
//
// Metadata lives outside the blocks (they are DMA targets and may be unmapped):
//   words_   per-bucket hierarchical bitmaps, 1 = block used (see detail/bitmap.hpp)
//   sizes_   per block: bytes requested by the allocation that starts there, 0 otherwise
//   refs_    per page: live allocations touching it (absent when the mapper tracks no pages)
//   full_    one bit per bucket: no free block left
// Everything is zero in an empty heap (the default range policy too), so a heap with a fixed
// layout is constant-initialized: it can be `constinit` and needs no init call. The whole heap
// object then lands in .bss when its mapper and backing are zero as well (null_mapper and a
// static_arena); a mapper with state, such as counting_mapper's budget, puts the object in .data,
// so give such a heap an external_range over a window of its own (see examples/basic.cpp).
//
// Costs: allocate and deallocate are O(bitmap levels <= 4) plus O(pages mapped or unmapped);
// choosing a bucket is a few mask operations over at most 64 buckets; allocate_range decides in
// O(1) more. Multi-block runs (heap_options::runs) scan a bucket's bitmap: O(blocks / 64).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "backing.hpp"
#include "detail/bitmap.hpp"
#include "detail/bits.hpp"
#include "layout.hpp"
#include "lock.hpp"
#include "mapper.hpp"
#include "range_policy.hpp"
#include "status.hpp"

namespace vmh {

/// Compile-time options of a heap.
struct heap_options {
  /// A request that no single free block can hold may take a run of adjacent blocks of one
  /// bucket (largest blocks first). Runs cost a bitmap scan; off by default.
  bool runs = false;
};

/// Statistics of one bucket.
struct bucket_stats {
  std::size_t block_size = 0;
  std::size_t block_count = 0;
  std::size_t in_use = 0;         ///< blocks in use now
  std::size_t peak_in_use = 0;    ///< most blocks ever in use at once
  std::size_t full_failures = 0;  ///< requests that failed while this bucket, their first fit, was full
  friend constexpr bool operator==(const bucket_stats&, const bucket_stats&) noexcept = default;
};

/// Statistics of the whole heap.
struct heap_stats {
  std::size_t live_allocations = 0;
  std::size_t bytes_requested = 0;       ///< bytes asked for (or granted, for ranges) by live allocations
  std::size_t peak_bytes_requested = 0;
  std::size_t pages_mapped = 0;
  std::size_t peak_pages_mapped = 0;
  std::size_t failed_no_block = 0;       ///< requests that failed with status::no_block
  std::size_t failed_no_memory = 0;      ///< requests or resizes that failed with status::no_memory
  friend constexpr bool operator==(const heap_stats&, const heap_stats&) noexcept = default;
};

/// The invariants `heap::validate` checks.
enum class invariant : std::uint8_t {
  ok = 0,
  not_configured,     ///< the heap has no usable layout (not an inconsistency)
  bitmap_summary,     ///< an upper bitmap bit disagrees with the fullness of the word below
  bitmap_padding,     ///< a bitmap bit past the block count is set
  in_use_count,       ///< a bucket's in_use differs from the used bits of its bitmap
  peak_in_use,        ///< a bucket's peak is below its in_use
  full_mask,          ///< a bucket's full bit disagrees with in_use == block_count
  free_block_size,    ///< a free block has a recorded size
  orphan_block,       ///< a used block is neither an allocation start nor covered by a run
  run_overflow,       ///< an allocation's size exceeds the bucket's remaining blocks
  page_refs,          ///< a page's reference count differs from the live allocations touching it
  pages_mapped,       ///< pages_mapped differs from the pages with a non-zero count (or peak below it)
  mapper_mapped,      ///< the mapper reports other mapped bytes than the heap's pages
  bytes_requested,    ///< the live byte count differs from the sum of recorded sizes (or peak below it)
  live_allocations,   ///< the live allocation count differs from the allocation starts
};

constexpr const char* to_string(invariant i) noexcept {
  switch (i) {
    case invariant::ok: return "ok";
    case invariant::not_configured: return "heap not configured";
    case invariant::bitmap_summary: return "bitmap summary bit wrong";
    case invariant::bitmap_padding: return "bitmap padding bit set";
    case invariant::in_use_count: return "bucket in_use count wrong";
    case invariant::peak_in_use: return "bucket peak below in_use";
    case invariant::full_mask: return "bucket full bit wrong";
    case invariant::free_block_size: return "free block has a size";
    case invariant::orphan_block: return "used block without allocation";
    case invariant::run_overflow: return "allocation runs past its bucket";
    case invariant::page_refs: return "page reference count wrong";
    case invariant::pages_mapped: return "mapped page count wrong";
    case invariant::mapper_mapped: return "mapper's mapped bytes disagree";
    case invariant::bytes_requested: return "live byte count wrong";
    case invariant::live_allocations: return "live allocation count wrong";
  }
  return "unknown";
}

/// The result of `validate`: which invariant broke, and where (bucket and block, or page).
struct check {
  invariant broken = invariant::ok;
  std::size_t bucket = 0;
  std::size_t index = 0;
  constexpr explicit operator bool() const noexcept { return broken == invariant::ok; }
};

namespace detail {
template <class L>
struct default_backing {
  using type = external_range;
};
template <class L>
  requires requires { L::virtual_size; }
struct default_backing<L> {
  using type = static_arena<L::virtual_size, L::page_size>;
};
}  // namespace detail

/// The heap: `Layout` decides the blocks, `Mapper` the pages, `Backing` where the range lives,
/// `Lock` who may call at once. See the README for the guarantees as formulas.
template <bucket_layout Layout, page_mapper Mapper = null_mapper,
          backing_range Backing = typename detail::default_backing<Layout>::type, lock_policy Lock = no_lock,
          heap_options Options = heap_options{}>
class heap {
  static constexpr bool tracks_pages = detail::tracks_pages<Mapper>();
  using word = detail::word;

 public:
  using layout_type = Layout;
  using mapper_type = Mapper;
  using backing_type = Backing;
  using geometry_type = layout_geometry<Layout::bucket_capacity>;

  /// A heap over a default-constructed backing range (the static arena of a fixed layout).
  constexpr heap() noexcept { state_ = backing_state(); }
  constexpr explicit heap(Mapper mapper) noexcept : mapper_(static_cast<Mapper&&>(mapper)) { state_ = backing_state(); }
  /// A heap over a given backing range (e.g. `external_range{ptr, bytes}`).
  constexpr explicit heap(Backing backing, Mapper mapper = Mapper{}) noexcept
      : mapper_(static_cast<Mapper&&>(mapper)), backing_(static_cast<Backing&&>(backing)) {
    state_ = backing_state();
  }
  heap(const heap&) = delete;
  heap& operator=(const heap&) = delete;

  /// Configures a runtime layout: checks the table, then resets the heap to empty with it.
  /// Returns `layout_error::none` on success; on error the heap keeps its previous layout.
  /// Requires: no live allocation (else `layout_error::heap_not_empty`).
  layout_error configure(const bucket* table, std::size_t count, std::size_t page_size = default_page_size,
                         std::size_t min_align = default_min_align) noexcept
    requires reconfigurable_layout<Layout>
  {
    detail::lock_guard guard(lock_);
    if (totals_.live != 0) return layout_error::heap_not_empty;
    Layout candidate = layout_;
    if (const layout_error e = candidate.assign(table, count, page_size, min_align); e != layout_error::none) return e;
    const layout_error fits = backing_fits(candidate.geo());
    if (fits != layout_error::none) return fits;
    // The old layout's pages are all unmapped (no live allocation), so only metadata is reset.
    const geometry_type& old = layout_.geo();
    clear(words_, old.word_total);
    clear(sizes_, old.block_total);
    if constexpr (tracks_pages) clear(refs_, old.page_total);
    clear(counters_, Layout::bucket_capacity);
    full_ = 0;
    totals_ = totals{};
    layout_ = candidate;
    state_ = layout_error::none;
    return state_;
  }

  /// Why the heap cannot allocate (`layout_error::none` when it can).
  constexpr layout_error state() const noexcept { return state_; }
  constexpr const geometry_type& geometry() const noexcept { return layout_.geo(); }
  constexpr Mapper& mapper() noexcept { return mapper_; }
  /// Start of the heap's virtual range (block offsets and page numbers count from here).
  std::byte* base() const noexcept { return base_ptr(); }
  constexpr const Mapper& mapper() const noexcept { return mapper_; }

  // ---------------------------------------------------------------------------------------------
  // Allocation

  /// Allocates `size` bytes aligned to `align` (0: the layout's min_align; a power of two up to
  /// the page size is honoured when some bucket's blocks have that alignment).
  /// Returns the pointer, or null: see `try_allocate` for the reason.
  void* allocate(std::size_t size, std::size_t align = 0) noexcept { return try_allocate(size, align).ptr; }

  /// Like `allocate`, with the reason of a failure: invalid_size (0 or larger than the range),
  /// invalid_alignment (not a power of two), no_block, no_memory, not_configured.
  /// On success `size` is the size asked for. On failure the heap is unchanged.
  grant try_allocate(std::size_t size, std::size_t align = 0) noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (state_ != layout_error::none) return {nullptr, 0, status::not_configured};
    if (size == 0 || size > g.virtual_size) return {nullptr, 0, status::invalid_size};
    unsigned align_log2 = 0;
    if (const status s = check_align(align, align_log2); s != status::ok) return {nullptr, 0, s};

    const std::uint64_t fits = fit_mask(g, size) & g.aligned_buckets[align_log2];
    if (const std::uint64_t open = fits & ~full_; open != 0) {
      const std::size_t b = static_cast<std::size_t>(std::countr_zero(open));
      return place(b, detail::bitmap_find_free(words_, g.buckets[b]), size);
    }
    if constexpr (Options.runs) {
      const grant run = allocate_run(size, align_log2);
      if (run.result != status::no_block) return run;
    }
    return no_block(fits);
  }

  /// Allocates between `min` and `preferred` bytes in one decision: the grant g satisfies
  /// min <= g <= preferred and is a multiple of `granule` (0: `min`, as SOF does). The block
  /// chosen is the smallest free one that could hold `preferred`, so the allocation can later
  /// grow in place with `resize`; otherwise the largest free one that holds at least the
  /// smallest grant. g is then limited by the free physical memory (when the mapper reports it)
  /// and by the fairness rule (`set_range_policy`).
  /// Errors: invalid_size (min == 0, preferred < min, or no multiple of granule in the range),
  /// invalid_alignment, no_block, no_memory, not_configured.
  grant allocate_range(std::size_t min, std::size_t preferred, std::size_t align = 0, std::size_t granule = 0) noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (state_ != layout_error::none) return {nullptr, 0, status::not_configured};
    if (min == 0 || preferred < min) return {nullptr, 0, status::invalid_size};
    if (granule == 0) granule = min;
    // The smallest and largest grants: multiples of granule inside [min, preferred].
    const std::size_t low = detail::ceil_div(min, granule);
    if (low > g.virtual_size / granule) return {nullptr, 0, status::invalid_size};
    const std::size_t lo = low * granule;
    std::size_t hi = preferred / granule * granule;
    if (lo > hi) return {nullptr, 0, status::invalid_size};
    if (hi > g.virtual_size) hi = g.virtual_size / granule * granule;
    unsigned align_log2 = 0;
    if (const status s = check_align(align, align_log2); s != status::ok) return {nullptr, 0, s};

    const std::uint64_t usable = g.aligned_buckets[align_log2] & ~full_;
    std::size_t b = 0;
    std::size_t want = hi;
    if (const std::uint64_t roomy = usable & fit_mask(g, hi); roomy != 0) {
      b = static_cast<std::size_t>(std::countr_zero(roomy));
    } else {
      const std::uint64_t fits = usable & fit_mask(g, lo);
      if (fits == 0) return no_block(fit_mask(g, lo) & g.aligned_buckets[align_log2]);
      b = static_cast<std::size_t>(63 - std::countl_zero(fits));
      want = g.buckets[b].block_size / granule * granule;
    }
    const bucket_geometry& bg = g.buckets[b];
    const std::size_t index = detail::bitmap_find_free(words_, bg);
    const std::size_t offset = bg.offset + index * bg.block_size;

    if constexpr (tracks_pages && detail::reports_available<Mapper>) {
      // The most bytes this block can take from the free pages: its first page costs nothing
      // when a neighbour already maps it. Saturating: a mapper may report "unlimited".
      const std::size_t available = mapper_.available();
      const std::size_t first_page = offset >> g.page_shift;
      const std::size_t reach = (available >> g.page_shift) + (refs_[first_page] != 0 ? 1 : 0);
      const std::size_t into_page = offset & (g.page_size - 1);
      const std::size_t room = reach >= g.page_total             ? SIZE_MAX
                               : (reach << g.page_shift) > into_page ? (reach << g.page_shift) - into_page
                                                                     : 0;
      const std::size_t mapped = totals_.pages << g.page_shift;
      const std::size_t total = available > SIZE_MAX - mapped ? SIZE_MAX : available + mapped;
      const std::size_t fair = policy_.cap(available, total, lo);
      if (want > fair) want = fair / granule * granule < lo ? lo : fair / granule * granule;
      if (want > room) want = room / granule * granule;
      // `room` ignores a last page that a neighbour maps already; the smallest grant may still fit.
      if (want < lo && new_pages(g, offset, lo) <= (available >> g.page_shift)) want = lo;
      if (want < lo) return count_failure({nullptr, 0, status::no_memory});
    }
    return place(b, index, want);
  }

  /// Frees the allocation that starts at `ptr`. Null is a no-op (`ok`). Errors, each leaving
  /// the heap unchanged: foreign_pointer, interior_pointer, double_free.
  status deallocate(void* ptr) noexcept {
    if (ptr == nullptr) return status::ok;
    detail::lock_guard guard(lock_);
    const where w = locate(ptr);
    if (w.result != status::ok) return w.result;
    const geometry_type& g = layout_.geo();
    const bucket_geometry& bg = g.buckets[w.bucket];
    const std::size_t size = sizes_[bg.first_block + w.index];
    release_pages(g, w.offset >> g.page_shift, page_end(g, w.offset + size));
    release_blocks(w.bucket, w.index, run_length(bg, size));
    sizes_[bg.first_block + w.index] = 0;
    totals_.bytes -= size;
    --totals_.live;
    return status::ok;
  }

  /// Grows or shrinks the allocation at `ptr` in place to `new_size` bytes, mapping or
  /// unmapping pages; the pointer never moves. A run may shrink (releasing its tail blocks) but
  /// grows only within its blocks. Errors, each leaving the allocation as it was:
  /// invalid_size (0), exceeds_block, no_memory, foreign_pointer, interior_pointer, double_free.
  status resize(void* ptr, std::size_t new_size) noexcept {
    detail::lock_guard guard(lock_);
    const where w = locate(ptr);
    if (w.result != status::ok) return w.result;
    if (new_size == 0) return status::invalid_size;
    const geometry_type& g = layout_.geo();
    const bucket_geometry& bg = g.buckets[w.bucket];
    std::uint32_t& recorded = sizes_[bg.first_block + w.index];
    const std::size_t old_size = recorded;
    const std::size_t blocks = run_length(bg, old_size);
    if (new_size > blocks * bg.block_size) return status::exceeds_block;
    const std::size_t old_end = page_end(g, w.offset + old_size), new_end = page_end(g, w.offset + new_size);
    if (new_end > old_end && !commit_pages(g, old_end, new_end)) return count_failure(status::no_memory);
    if (new_end < old_end) release_pages(g, new_end, old_end);
    const std::size_t kept = run_length(bg, new_size);
    if (kept < blocks) release_blocks(w.bucket, w.index + kept, blocks - kept);
    recorded = static_cast<std::uint32_t>(new_size);
    totals_.bytes = totals_.bytes - old_size + new_size;
    if (totals_.bytes > totals_.peak_bytes) totals_.peak_bytes = totals_.bytes;
    return status::ok;
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /// True when `ptr` points into this heap's blocks (live or not).
  bool owns(const void* ptr) const noexcept {
    detail::lock_guard guard(lock_);
    return owns_unlocked(ptr);
  }
  bool owns_unlocked(const void* ptr) const noexcept {
    const auto p = reinterpret_cast<std::uintptr_t>(ptr);
    const auto base = reinterpret_cast<std::uintptr_t>(base_ptr());
    return state_ == layout_error::none && p >= base && p - base < layout_.geo().virtual_size;
  }

  /// Bytes usable at `ptr`: from ptr to the end of its block(s) or of its last mapped page,
  /// whichever comes first (at least the size asked for). 0 if `ptr` is not a live allocation.
  std::size_t usable_size(const void* ptr) const noexcept {
    detail::lock_guard guard(lock_);
    const where w = locate(ptr);
    if (w.result != status::ok) return 0;
    const geometry_type& g = layout_.geo();
    const bucket_geometry& bg = g.buckets[w.bucket];
    const std::size_t size = sizes_[bg.first_block + w.index];
    const std::size_t slot_end = w.offset + run_length(bg, size) * bg.block_size;
    if constexpr (!tracks_pages) return slot_end - w.offset;
    const std::size_t mapped_end = page_end(g, w.offset + size) << g.page_shift;
    return (mapped_end < slot_end ? mapped_end : slot_end) - w.offset;
  }

  /// A snapshot of the heap's statistics.
  heap_stats stats() const noexcept {
    detail::lock_guard guard(lock_);
    return {totals_.live, totals_.bytes, totals_.peak_bytes, totals_.pages, totals_.peak_pages,
            totals_.failed_no_block, totals_.failed_no_memory};
  }

  /// A snapshot of bucket `b`'s statistics (zeros past the last bucket).
  bucket_stats stats(std::size_t b) const noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (b >= g.bucket_count) return {};
    const counters& c = counters_[b];
    return {g.buckets[b].block_size, g.buckets[b].block_count, c.in_use, c.peak, c.full_failures};
  }

  std::size_t bucket_count() const noexcept {
    detail::lock_guard guard(lock_);
    return layout_.geo().bucket_count;
  }

  /// Bytes of RAM the heap keeps as metadata for its current geometry (bitmaps, per-block and
  /// per-page state, counters), sized exactly as a fixed layout of that geometry sizes them. The
  /// blocks themselves, the constant geometry and the backing range are not counted. Every
  /// comparison at equal SRAM charges this against the physical budget.
  constexpr std::size_t metadata_bytes() const noexcept {
    const geometry_type& g = layout_.geo();
    std::size_t n = g.word_total * sizeof(word) + g.block_total * sizeof(std::uint32_t) +
                    g.bucket_count * sizeof(counters) + sizeof full_ + sizeof totals_ + sizeof policy_ + sizeof state_;
    if constexpr (tracks_pages) n += g.page_total * sizeof(std::uint16_t);
    return n;
  }

  /// Sets the fairness rule of `allocate_range` (see range_policy.hpp).
  void set_range_policy(range_policy p) noexcept {
    detail::lock_guard guard(lock_);
    policy_ = p;
  }
  range_policy get_range_policy() const noexcept { return policy_; }

  /// Checks every invariant of the metadata against each other, against the live allocations
  /// and against the mapper. O(blocks + pages). Returns the first broken invariant and where.
  check validate() const noexcept {
    detail::lock_guard guard(lock_);
    const geometry_type& g = layout_.geo();
    if (state_ != layout_error::none) return {invariant::not_configured, 0, 0};
    std::size_t live = 0, bytes = 0;
    page_walk pages{};
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const bucket_geometry& bg = g.buckets[b];
      const counters& c = counters_[b];
      if (const check k = check_bitmap(bg, b); !k) return k;
      std::size_t used = 0, run_left = 0;
      for (std::size_t i = 0; i < bg.block_count; ++i) {
        const std::size_t size = sizes_[bg.first_block + i];
        if (!detail::bitmap_test(words_, bg, i)) {
          if (size != 0) return {invariant::free_block_size, b, i};
          if (run_left != 0) return {invariant::orphan_block, b, i};
          continue;
        }
        ++used;
        if (size == 0) {  // must continue the run of an earlier allocation
          if (run_left == 0) return {invariant::orphan_block, b, i};
          --run_left;
          continue;
        }
        if (run_left != 0) return {invariant::orphan_block, b, i};
        const std::size_t n = run_length(bg, size);
        if (n > bg.block_count - i || (!Options.runs && n > 1)) return {invariant::run_overflow, b, i};
        run_left = n - 1;
        ++live;
        bytes += size;
        const std::size_t offset = bg.offset + i * bg.block_size;
        if constexpr (tracks_pages)
          if (!pages.visit(refs_, offset >> g.page_shift, page_end(g, offset + size))) return {invariant::page_refs, b, pages.bad};
      }
      if (used != c.in_use) return {invariant::in_use_count, b, used};
      if (c.peak < c.in_use) return {invariant::peak_in_use, b, c.peak};
      if (((full_ >> b) & 1u) != (c.in_use == bg.block_count ? 1u : 0u)) return {invariant::full_mask, b, 0};
    }
    if (full_ & ~g.all_buckets()) return {invariant::full_mask, g.bucket_count, 0};
    if (live != totals_.live) return {invariant::live_allocations, 0, live};
    if (bytes != totals_.bytes || totals_.peak_bytes < bytes) return {invariant::bytes_requested, 0, bytes};
    if constexpr (tracks_pages) {
      if (!pages.finish(refs_, g.page_total)) return {invariant::page_refs, 0, pages.bad};
      std::size_t mapped = 0;
      for (std::size_t p = 0; p < g.page_total; ++p) mapped += refs_[p] != 0;
      if (mapped != totals_.pages || totals_.peak_pages < mapped) return {invariant::pages_mapped, 0, mapped};
      if constexpr (detail::reports_mapped<Mapper>)
        if (mapper_.mapped() != (mapped << g.page_shift)) return {invariant::mapper_mapped, 0, mapper_.mapped()};
    }
    return {};
  }

 private:
  struct counters {
    std::uint32_t in_use = 0;
    std::uint32_t peak = 0;
    std::uint32_t full_failures = 0;
  };
  struct totals {
    std::size_t live = 0, bytes = 0, peak_bytes = 0, pages = 0, peak_pages = 0;
    std::size_t failed_no_block = 0, failed_no_memory = 0;
  };
  /// Where a pointer lands: its bucket, block and offset, or why it is not a live allocation.
  struct where {
    status result = status::ok;
    std::size_t bucket = 0, index = 0, offset = 0;
  };

  /// Streams the live allocations in address order and checks each page's count against the
  /// allocations touching it, without a scratch array: allocations are disjoint and sorted,
  /// so only the last page seen can still gain references.
  struct page_walk {
    std::size_t next = 0;     ///< pages below this are checked
    std::size_t pending = 0;  ///< the last page touched so far, not yet checked
    std::size_t count = 0;    ///< allocations touching `pending` (0: none pending)
    std::size_t bad = 0;
    bool expect(const std::uint16_t* refs, std::size_t p, std::size_t n) {
      if (refs[p] == n) return true;
      bad = p;
      return false;
    }
    bool visit(const std::uint16_t* refs, std::size_t first, std::size_t end) {
      if (count != 0 && pending < first) {
        if (!expect(refs, pending, count)) return false;
        next = pending + 1;
        count = 0;
      }
      for (std::size_t p = next; p < first; ++p)
        if (!expect(refs, p, 0)) return false;
      if (count == 0) pending = first;
      ++count;
      if (end - first > 1) {
        if (!expect(refs, first, count)) return false;
        for (std::size_t p = first + 1; p + 1 < end; ++p)
          if (!expect(refs, p, 1)) return false;
        pending = end - 1;
        count = 1;
      }
      next = pending;
      return true;
    }
    bool finish(const std::uint16_t* refs, std::size_t total) {
      if (count != 0) {
        if (!expect(refs, pending, count)) return false;
        next = pending + 1;
      }
      for (std::size_t p = next; p < total; ++p)
        if (!expect(refs, p, 0)) return false;
      return true;
    }
  };

  template <class T>
  static constexpr void clear(T* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) p[i] = T{};
  }

  constexpr std::byte* base_ptr() const noexcept { return const_cast<Backing&>(backing_).base(); }

  constexpr layout_error backing_fits(const geometry_type& g) const noexcept {
    if (g.error != layout_error::none) return g.error;
    if (backing_.size() < g.virtual_size) return layout_error::backing_too_small;
    if (base_ptr() == nullptr) return layout_error::backing_null;
    if (!std::is_constant_evaluated() &&
        reinterpret_cast<std::uintptr_t>(base_ptr()) % g.page_size != 0)
      return layout_error::backing_misaligned;
    return layout_error::none;
  }
  constexpr layout_error backing_state() const noexcept {
    if constexpr (reconfigurable_layout<Layout>) return layout_error::no_buckets;  // until configure()
    else return backing_fits(layout_.geo());
  }

  /// Checks the alignment argument and gives its log2 (0 means the layout's min_align).
  status check_align(std::size_t align, unsigned& log2) const noexcept {
    if (align == 0) align = layout_.geo().min_align;
    if (!detail::is_pow2(align)) return status::invalid_alignment;
    log2 = detail::log2_floor(align);
    return status::ok;
  }

  /// Buckets whose blocks hold `size` bytes.
  static std::uint64_t fit_mask(const geometry_type& g, std::size_t size) noexcept {
    const std::size_t first = g.first_fit(size);
    return first >= g.bucket_count ? 0 : g.all_buckets() & (~std::uint64_t{0} << first);
  }

  /// One past the last page touched by bytes ending at virtual offset `end`.
  static std::size_t page_end(const geometry_type& g, std::size_t end) noexcept {
    return (end + g.page_size - 1) >> g.page_shift;
  }

  /// Blocks taken by an allocation of `size` bytes starting in a block of `bg`.
  static std::size_t run_length(const bucket_geometry& bg, std::size_t size) noexcept {
    return size <= bg.block_size ? 1 : detail::ceil_div(size, bg.block_size);
  }

  grant count_failure(grant r) noexcept {
    count_failure(r.result);
    return r;
  }
  status count_failure(status s) noexcept {
    if (s == status::no_block) ++totals_.failed_no_block;
    if (s == status::no_memory) ++totals_.failed_no_memory;
    return s;
  }
  /// Fails a request for which every fitting bucket (mask `fits`) is full; the first of them
  /// (the request's own bucket) records it.
  grant no_block(std::uint64_t fits) noexcept {
    if (fits != 0) ++counters_[std::countr_zero(fits)].full_failures;
    return count_failure({nullptr, 0, status::no_block});
  }

  /// Takes blocks [index, index + run_length(size)) of bucket b for `size` bytes and maps the
  /// pages they touch; all or nothing.
  grant place(std::size_t b, std::size_t index, std::size_t size) noexcept {
    const geometry_type& g = layout_.geo();
    const bucket_geometry& bg = g.buckets[b];
    const std::size_t offset = bg.offset + index * bg.block_size;
    if (!commit_pages(g, offset >> g.page_shift, page_end(g, offset + size)))
      return count_failure({nullptr, 0, status::no_memory});
    const std::size_t n = run_length(bg, size);
    for (std::size_t i = index; i < index + n; ++i) detail::bitmap_set(words_, bg, i);
    counters& c = counters_[b];
    c.in_use += static_cast<std::uint32_t>(n);
    if (c.in_use > c.peak) c.peak = c.in_use;
    if (c.in_use == bg.block_count) full_ |= std::uint64_t{1} << b;
    sizes_[bg.first_block + index] = static_cast<std::uint32_t>(size);
    ++totals_.live;
    totals_.bytes += size;
    if (totals_.bytes > totals_.peak_bytes) totals_.peak_bytes = totals_.bytes;
    return {base_ptr() + offset, size, status::ok};
  }

  /// Returns blocks [index, index + n) of bucket b to the free bitmap.
  void release_blocks(std::size_t b, std::size_t index, std::size_t n) noexcept {
    const bucket_geometry& bg = layout_.geo().buckets[b];
    for (std::size_t i = index; i < index + n; ++i) detail::bitmap_clear(words_, bg, i);
    counters_[b].in_use -= static_cast<std::uint32_t>(n);
    full_ &= ~(std::uint64_t{1} << b);
  }

  /// A run of n adjacent free blocks, from the bucket with the largest blocks down.
  grant allocate_run(std::size_t size, unsigned align_log2) noexcept {
    const geometry_type& g = layout_.geo();
    for (std::uint64_t m = g.aligned_buckets[align_log2] & ~full_; m != 0;) {
      const std::size_t b = static_cast<std::size_t>(63 - std::countl_zero(m));
      m &= ~(std::uint64_t{1} << b);
      const bucket_geometry& bg = g.buckets[b];
      const std::size_t n = detail::ceil_div(size, bg.block_size);
      if (n > bg.block_count - counters_[b].in_use) continue;
      const std::size_t index = detail::bitmap_find_run(words_, bg, n);
      if (index < bg.block_count) return place(b, index, size);
    }
    return {nullptr, 0, status::no_block};
  }

  /// Locates the live allocation that starts at `ptr`.
  where locate(const void* ptr) const noexcept {
    if (state_ != layout_error::none) return {status::not_configured};
    if (ptr == nullptr || !owns_unlocked(ptr)) return {status::foreign_pointer};
    const geometry_type& g = layout_.geo();
    const std::size_t offset = static_cast<std::size_t>(static_cast<const std::byte*>(ptr) - base_ptr());
    const std::size_t b = g.bucket_at(offset);
    const bucket_geometry& bg = g.buckets[b];
    const std::size_t rel = offset - bg.offset;
    const std::size_t index = g.block_index(bg, rel);
    if (rel != index * bg.block_size) return {status::interior_pointer};
    if (!detail::bitmap_test(words_, bg, index)) return {status::double_free};
    if (sizes_[bg.first_block + index] == 0) return {status::interior_pointer};  // inside a run
    return {status::ok, b, index, offset};
  }

  // Live allocations cover disjoint byte ranges, so a page strictly inside a range is touched by
  // that allocation alone: only the first and last pages of a range can be shared with a
  // neighbour. The pages of a range that no one else references are therefore one run, mapped or
  // unmapped with one mapper call (and a failed map leaves nothing to undo).
  struct page_run {
    std::size_t first, end;
  };

  /// The pages of [first, end) that no allocation references (all but a shared first or last page).
  page_run unshared(std::size_t first, std::size_t end) const noexcept {
    if (first < end && refs_[first] != 0) ++first;
    if (first < end && refs_[end - 1] != 0) --end;
    return {first, end};
  }

  /// Adds a reference to pages [first, end), mapping those that had none. All or nothing.
  bool commit_pages(const geometry_type& g, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      const page_run fresh = unshared(first, end);
      if (fresh.first < fresh.end && !mapper_.map(page_ptr(g, fresh.first), (fresh.end - fresh.first) << g.page_shift))
        return false;
      for (std::size_t p = first; p < end; ++p) ++refs_[p];
      totals_.pages += fresh.end - fresh.first;
      if (totals_.pages > totals_.peak_pages) totals_.peak_pages = totals_.pages;
    }
    return true;
  }

  /// Pages that an allocation of `size` bytes at `offset` would have to map.
  std::size_t new_pages(const geometry_type& g, std::size_t offset, std::size_t size) const noexcept {
    const page_run fresh = unshared(offset >> g.page_shift, page_end(g, offset + size));
    return fresh.end - fresh.first;
  }

  /// Drops a reference to pages [first, end) and unmaps those left with none.
  void release_pages(const geometry_type& g, std::size_t first, std::size_t end) noexcept {
    if constexpr (tracks_pages) {
      for (std::size_t p = first; p < end; ++p) --refs_[p];
      const page_run freed = unshared(first, end);
      if (freed.first < freed.end) {
        mapper_.unmap(page_ptr(g, freed.first), (freed.end - freed.first) << g.page_shift);
        totals_.pages -= freed.end - freed.first;
      }
    }
  }

  std::byte* page_ptr(const geometry_type& g, std::size_t page) const noexcept {
    return base_ptr() + (page << g.page_shift);
  }

  /// Checks bucket b's bitmap: no padding bit set, and every upper bit says whether the word
  /// below is full.
  check check_bitmap(const bucket_geometry& bg, std::size_t b) const noexcept {
    std::size_t bits = bg.block_count;  // meaningful bits at this level
    for (std::size_t level = 0; level < bg.levels; ++level) {
      const std::size_t nwords = detail::ceil_div(bits, detail::word_bits);
      const word* w = words_ + bg.level_word[level];
      if (const std::size_t tail = bits % detail::word_bits; tail != 0 && (w[nwords - 1] & ~detail::low_mask(tail)) != 0)
        return {invariant::bitmap_padding, b, level};
      if (level + 1 < bg.levels) {
        const word* up = words_ + bg.level_word[level + 1];
        for (std::size_t i = 0; i < nwords; ++i) {
          const bool full = w[i] == detail::all_ones;
          if ((((up[i / detail::word_bits] >> (i % detail::word_bits)) & 1u) != 0) != full)
            return {invariant::bitmap_summary, b, level + 1};
        }
      }
      bits = nwords;
    }
    return {};
  }

  // Metadata: all zero in an empty heap (see the top of this file).
  word words_[Layout::word_capacity] = {};
  std::uint32_t sizes_[Layout::block_capacity] = {};
  std::uint16_t refs_[tracks_pages ? Layout::page_capacity : 1] = {};
  counters counters_[Layout::bucket_capacity] = {};
  std::uint64_t full_ = 0;
  totals totals_{};
  range_policy policy_{};
  layout_error state_ = layout_error::none;
  [[no_unique_address]] Layout layout_{};
  [[no_unique_address]] Mapper mapper_{};
  [[no_unique_address]] mutable Lock lock_{};
  Backing backing_{};
};

}  // namespace vmh
