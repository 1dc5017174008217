// Bucket layout policy: which blocks exist in the heap's virtual range.
//
// Concept `bucket_layout<L>`: a type that describes the virtual range as a list of buckets
// `{block_size, block_count}` laid out back to back from offset 0, and gives the heap the
// derived geometry (`L::geometry()`-like accessor `geo()`) plus the capacities its metadata
// arrays are sized with:
//
//     L::bucket_capacity, L::block_capacity, L::record_capacity, L::page_capacity,
//     L::ref_capacity, L::word_capacity, L::bitmap_levels                          (static constexpr)
//     l.geo() -> const layout_geometry<L::bucket_capacity>&
//
// Two implementations share one derivation (`derive_geometry`), so the heap runs one algorithm
// whichever way it is configured:
//  - `fixed_layout<Table>`: the table is a template argument; the geometry is a constant
//    expression, checked with `static_assert`, and the metadata is sized exactly. Its heap
//    indexes a compact copy of the geometry's `bucket_index` (`fixed_layout::index`) and hands
//    the backing heap a copy of the packed region's geometry (`fixed_layout::packed`), so that
//    only that compact copy is kept in flash.
//  - `runtime_layout<MaxBuckets, MaxBlocks, MaxPages>`: the table is given at run time
//    (`heap::configure`), checked the same way, and the metadata is sized for the maxima.
//
// Rules a table must follow (each has its own `layout_error` and `static_assert` message):
//  - 1 to 64 buckets; page size a power of two; min_align a power of two in [8, page size] and
//    at least page size / 32768 (so that a page's 16-bit reference count cannot wrap);
//  - every block size non-zero and a multiple of min_align (not necessarily a power of two);
//  - every block count non-zero and at most 2^24;
//  - block sizes strictly ascending;
//  - each bucket starts at an offset aligned to its block alignment, min(lowest set bit of the
//    block size, page size), so that every block in it has that alignment;
//  - the whole range is below 4 GiB (sizes are kept in 32 bits);
//  - a packed region (the backing heap's, at the start of the range; none by default) is a
//    multiple of the page size, its granule a power of two from 8 to the page size with at most
//    32768 granules a page (a page's 16-bit count of the allocations touching it cannot wrap).
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "detail/bits.hpp"
#include "packed_heap.hpp"

namespace vmh {

/// One bucket of a layout: `block_count` blocks of `block_size` bytes.
struct bucket {
  /// bytes of each block
  std::size_t block_size = 0;
  /// blocks in the bucket
  std::size_t block_count = 0;
};

/// Why a layout (or a heap's configuration) cannot be used.
enum class layout_error : std::uint8_t {
  none = 0,
  no_buckets,
  too_many_buckets,
  bad_page_size,
  bad_min_align,
  zero_block_size,
  block_size_not_multiple_of_min_align,
  zero_block_count,
  too_many_blocks_in_bucket,
  not_ascending,
  misaligned_bucket_start,
  range_too_large,
  exceeds_capacity,    ///< runtime layout: more buckets, blocks or pages than the layout type can hold
  window_too_small,   ///< the window is smaller than the layout's virtual size
  window_misaligned,  ///< the window does not start on a page boundary
  heap_not_empty,      ///< reconfiguring a heap that still has live allocations
  window_null,        ///< the window starts at address 0 (a block there would read as a failure)
  bad_packed_granule,  ///< the packed region's granule is not a power of two in [8, page size] with page / granule <= 32768
  packed_not_page_multiple,  ///< the packed region's bytes are not a multiple of the page size
};

/// A short human-readable description of a layout error, for logs ("ok" for `layout_error::none`).
constexpr const char* to_string(layout_error e) noexcept {
  switch (e) {
    case layout_error::none: return "ok";
    case layout_error::no_buckets: return "a layout needs at least one bucket";
    case layout_error::too_many_buckets: return "a layout has at most 64 buckets";
    case layout_error::bad_page_size: return "the page size must be a power of two";
    case layout_error::bad_min_align:
      return "min_align must be a power of two between 8 and the page size, and at least page size / 32768";
    case layout_error::zero_block_size: return "a block size is zero";
    case layout_error::block_size_not_multiple_of_min_align: return "a block size is not a multiple of min_align";
    case layout_error::zero_block_count: return "a block count is zero";
    case layout_error::too_many_blocks_in_bucket: return "a bucket has more than 2^24 blocks";
    case layout_error::not_ascending: return "block sizes must be strictly ascending";
    case layout_error::misaligned_bucket_start: return "a bucket does not start at a multiple of its block alignment";
    case layout_error::range_too_large: return "the virtual range must be smaller than 4 GiB";
    case layout_error::exceeds_capacity: return "the layout exceeds the capacity of the runtime layout type";
    case layout_error::window_too_small: return "the window is smaller than the layout";
    case layout_error::window_misaligned: return "the window does not start on a page boundary";
    case layout_error::window_null: return "the window starts at a null pointer";
    case layout_error::heap_not_empty: return "the heap still has live allocations";
    case layout_error::bad_packed_granule:
      return "the packed region's granule must be a power of two between 8 and the page size, and at least page size / 32768";
    case layout_error::packed_not_page_multiple: return "the packed region's bytes must be a multiple of the page size";
  }
  return "unknown";
}

/// The most buckets a layout may have (one bit each in a 64-bit mask).
inline constexpr std::size_t max_buckets = 64;
/// The bucket index of a rule broken by the table as a whole (`table_check::bucket`).
inline constexpr std::size_t table_wide = 0xff;
/// The most blocks one bucket may have: 2^24.
inline constexpr std::size_t max_blocks_per_bucket = std::size_t{1} << 24;
/// Bitmap levels that 2^24 blocks need: 4 with 64-bit words, 5 with 32-bit words.
inline constexpr std::size_t max_bitmap_levels = (24 + detail::word_shift - 1) / detail::word_shift;
/// The most bytes a layout's virtual range may span: sizes and offsets are kept in 32 bits.
inline constexpr std::size_t max_virtual_size = static_cast<std::size_t>(0xffffffffu);
/// The page size of a table that names none.
inline constexpr std::size_t default_page_size = 4096;
/// The min_align of a table that names none.
inline constexpr std::size_t default_min_align = 64;  // a DSP cache line: no two blocks share one

/// The packed region of a layout: the share of the window the backing heap places requests in,
/// exactly, at the granule (packed_heap.hpp). It sits at the start of the window, before the
/// buckets; fixed requests of at most `limit` bytes and range grants below a page go there
/// first. `bytes == 0`: no packed region, every request goes to the buckets.
struct packed_region {
  /// bytes of the region, a multiple of the page size (0: none)
  std::size_t bytes = 0;
  /// the largest fixed request placed in the region
  std::size_t limit = 16384;
  /// the unit of placement: a request takes a whole number of granules. Each allocation starts
  /// at a multiple of the layout's min_align (as every block does) or of its own alignment; a
  /// granule below min_align packs only requests that are not multiples of min_align tighter.
  std::size_t granule = 16;
  /// Equal when every field is equal.
  friend constexpr bool operator==(const packed_region&, const packed_region&) noexcept = default;
};

/// A layout that can be (re)configured at run time, through `heap::configure`.
template <class L>
concept reconfigurable_layout = requires(L& l, const bucket* table, std::size_t n) {
  { l.assign(table, n, n, n) } -> std::same_as<layout_error>;
};

/// The alignment every block of a bucket has: the lowest set bit of its size, at most a page,
/// given that the bucket starts at a multiple of it (a layout rule).
constexpr std::size_t block_alignment(std::size_t block_size, std::size_t page_size) noexcept {
  const std::size_t low = detail::lowest_bit(block_size);
  return low < page_size ? low : page_size;
}

/// Where a bucket lies in the virtual range (part of `bucket_geometry`).
struct bucket_span {
  std::size_t offset = 0;  ///< byte offset of block 0 from the start of the virtual range
  std::size_t stride = 0;  ///< bytes from one block to the next: block_size, plus a guard page when guarded
};

/// Everything the heap needs to know about one bucket, derived from the table.
///
/// How its allocations use pages (see docs/design.md, "Pages"):
///  - `owned`: blocks are whole pages and start on a page, so no page is ever shared; an
///    allocation maps its own prefix of pages and needs no page counts.
///  - `variable`: an allocation's pages depend on its size (blocks larger than a page, or blocks
///    that may straddle a page boundary), so its size is recorded; otherwise every allocation
///    touches exactly the one page that holds its block, and nothing per block is kept.
///
/// `Levels`: the bitmap levels it has room for; `Index`: the type of its block, record and word
/// indices; `Spans`: whether it keeps its offset and stride (`bucket_span`). The defaults
/// (`bucket_geometry`) hold any bucket; a fixed layout's compact table (`fixed_layout::index`)
/// uses its own levels and, on 32-bit targets, 16-bit indices when its totals fit and no span
/// when it has no guard pages (its `bucket_index` then reads a bucket's offset from its starts,
/// and its stride is its block size), so that the table kept in flash is small.
template <std::size_t Levels = max_bitmap_levels, class Index = std::uint32_t, bool Spans = true>
struct alignas(sizeof(void*) == 8 ? 64 : alignof(std::size_t)) basic_bucket_geometry  // 64 B: one shift to index
    : std::conditional_t<Spans, bucket_span, detail::empty> {
  /// Whether it keeps its offset and stride.
  static constexpr bool spans = Spans;
  /// bytes of each block
  std::size_t block_size = 0;
#if defined(__SIZEOF_INT128__)
  std::uint64_t reciprocal = 0; ///< ceil(2^64 / stride): offset / stride as a multiply
#endif
  /// blocks in the bucket
  Index block_count = 0;
  Index first_block = 0;   ///< index of block 0 among all blocks (the record of a run-capable heap)
  Index first_record = 0;  ///< index of block 0's size record (variable buckets only)
  /// first word of each bitmap level in the word table (leaf = level 0; the layout's `levels` are used)
  Index level_word[Levels] = {};
  /// log2 of the power of two every block of the bucket is aligned to (at most the page's)
  std::uint8_t align_shift = 0;
  /// no page is shared: blocks are whole pages and start on a page
  bool owned = false;
  /// an allocation's pages depend on its size, so its size is recorded
  bool variable = false;

  /// The same bucket with room for `L` levels, indices of type `I` and a span if `S` (the caller
  /// checks that its levels and indices fit, and that a bucket without a span has no guard page).
  template <std::size_t L, class I, bool S>
  constexpr basic_bucket_geometry<L, I, S> narrowed() const noexcept {
    basic_bucket_geometry<L, I, S> n{};
    n.block_size = block_size;
    if constexpr (S && Spans) {
      n.offset = this->offset;
      n.stride = this->stride;
    }
#if defined(__SIZEOF_INT128__)
    n.reciprocal = reciprocal;
#endif
    n.block_count = static_cast<I>(block_count);
    n.first_block = static_cast<I>(first_block);
    n.first_record = static_cast<I>(first_record);
    for (std::size_t level = 0; level < L && level < Levels; ++level) n.level_word[level] = static_cast<I>(level_word[level]);
    n.align_shift = align_shift;
    n.owned = owned;
    n.variable = variable;
    return n;
  }
};
/// A bucket's geometry with room for any bucket: the one `layout_geometry` keeps.
using bucket_geometry = basic_bucket_geometry<>;
static_assert(sizeof(void*) != 8 || sizeof(bucket_geometry) == 64, "vmh: one bucket's geometry is one 64-byte line on 64-bit hosts");

/// Which kinds of bucket a layout may have (see `bucket_geometry`). A fixed layout knows its
/// buckets, so the heap compiles only the page handling they need; a runtime layout may have any.
struct bucket_kinds {
  bool owned = true;     ///< some bucket is `owned`
  bool shared = true;    ///< some bucket is not `owned` (its pages keep counts)
  bool variable = true;  ///< some bucket is `variable` (its blocks keep size records)
  bool straddling = true;  ///< some bucket is `variable` and not `owned`: an allocation may span pages it shares
};

/// What the hot paths index at run time: the buckets, and the tables that find a request's
/// bucket (`first_fit`) and a pointer's (`bucket_at`). It is the first part of every
/// `layout_geometry`; a fixed layout also keeps a compact copy of it (`fixed_layout::index`)
/// that the heap indexes instead, so that only that copy is kept in flash and every other field
/// of the geometry folds into the code.
template <std::size_t MaxBuckets, std::size_t Levels = max_bitmap_levels, class Index = std::uint32_t, bool Spans = true>
struct bucket_index {
  /// One bit per bucket: 32 bits when the layout has at most 32 buckets.
  using mask = std::conditional_t<(MaxBuckets <= 32), std::uint32_t, std::uint64_t>;
  /// The geometry of one bucket.
  using bucket_type = basic_bucket_geometry<Levels, Index, Spans>;

  /// buckets of the layout (0 when its `error` is set: nothing can be allocated)
  std::size_t bucket_count = 0;
  /// the buckets in ascending block size; the first `bucket_count` are used
  bucket_type buckets[MaxBuckets] = {};
  /// first_at_least[k]: the first bucket whose block size is >= 2^k (bucket_count if none).
  std::uint8_t first_at_least[detail::size_bits] = {};
  /// offset of each bucket's block 0, for `bucket_at`; UINT32_MAX past the last bucket
  std::uint32_t starts[MaxBuckets] = {};

  /// Bit b set when bucket b's blocks are aligned to 2^k. O(buckets): only a request for more
  /// than min_align asks (every block has min_align), so no table is kept for it.
  constexpr mask aligned_buckets(unsigned k) const noexcept {
    mask m = 0;
    for (std::size_t b = 0; b < bucket_count; ++b)
      if (buckets[b].align_shift >= k) m |= static_cast<mask>(mask{1} << b);
    return m;
  }
  /// The power of two every block of bucket bg is aligned to (at most a page).
  static constexpr std::size_t block_align(const bucket_type& bg) noexcept { return std::size_t{1} << bg.align_shift; }

  /// Bit mask with one bit per bucket.
  VMH_HOT constexpr mask all_buckets() const noexcept { return static_cast<mask>(detail::low_mask_of<mask>(bucket_count)); }

  /// The first bucket whose blocks hold `size` > 0 bytes, or bucket_count. O(buckets sharing a power of two).
  VMH_HOT constexpr std::size_t first_fit(std::size_t size) const noexcept {
    std::size_t b = first_at_least[detail::log2_floor(size)];
    while (b < bucket_count && buckets[b].block_size < size) ++b;
    return b;
  }

  /// The bucket containing virtual offset `off` (at or past the first bucket's start, below
  /// virtual_size): a branch-free binary search over the start offsets, ceil(log2 MaxBuckets)
  /// steps. A capacity that is not a power of two first narrows the candidates to its first or
  /// its last bit_floor(MaxBuckets) starts (the two overlap), then halves them.
  VMH_HOT constexpr std::size_t bucket_at(std::size_t off) const noexcept {
    constexpr std::size_t half = std::bit_floor(MaxBuckets);
    std::size_t b = 0;
    if constexpr (half != MaxBuckets) b = starts[MaxBuckets - half] <= off ? MaxBuckets - half : 0;
    VMH_UNROLL
    for (std::size_t step = half / 2; step != 0; step /= 2)
      b = starts[b + step] <= off ? b + step : b;
    return b;
  }

  /// Bytes from one block of bucket bg to the next: its stride, or its block size for a bucket
  /// that keeps no span (it has no guard page).
  static constexpr std::size_t stride_of(const bucket_type& bg) noexcept {
    if constexpr (Spans) return bg.stride;
    else return bg.block_size;
  }
  /// Byte offset of bucket b's block 0 from the start of the virtual range.
  constexpr std::size_t bucket_start(std::size_t b) const noexcept {
    if constexpr (Spans) return buckets[b].offset;
    else return starts[b];
  }
  /// Byte offset of block i of bucket b from the start of the virtual range.
  constexpr std::size_t block_offset(std::size_t b, std::size_t i) const noexcept {
    return bucket_start(b) + i * stride_of(buckets[b]);
  }
  /// Byte offset of block i of bucket bg (which keeps its span) from the start of the virtual range.
  static constexpr std::size_t block_offset(const bucket_type& bg, std::size_t i) noexcept
    requires(Spans)
  {
    return bg.offset + i * bg.stride;
  }

  /// The block of bucket `bg` whose stride contains `rel` bytes from the bucket's start (rel < 2^32).
  static constexpr std::size_t block_index(const bucket_type& bg, std::size_t rel) noexcept {
#if defined(__SIZEOF_INT128__)
    // Exact for 32-bit numerators and divisors (Lemire, Kaser, Kurz 2019), and cheaper than a
    // 64-bit division on hosts; 32-bit targets divide in hardware.
    __extension__ using wide = unsigned __int128;  // __extension__: not ISO C++, on purpose
    return static_cast<std::size_t>((static_cast<wide>(bg.reciprocal) * rel) >> 64);
#else
    return rel / stride_of(bg);
#endif
  }

  /// The same table with room for `L` levels, indices of type `I` and spans if `S` (the caller
  /// checks that the layout's levels and totals fit, and that it has no guard page if not `S`).
  template <std::size_t L, class I, bool S>
  constexpr bucket_index<MaxBuckets, L, I, S> narrowed() const noexcept {
    bucket_index<MaxBuckets, L, I, S> n{};
    n.bucket_count = bucket_count;
    for (std::size_t b = 0; b < MaxBuckets; ++b) {
      n.buckets[b] = buckets[b].template narrowed<L, I, S>();
      n.starts[b] = starts[b];
    }
    for (std::size_t k = 0; k < detail::size_bits; ++k) n.first_at_least[k] = first_at_least[k];
    return n;
  }
};

/// The derived geometry of a layout: its `bucket_index` (the buckets, what the hot paths index)
/// and the rest. All of it is computed by `derive_geometry`, in a constant expression for fixed
/// layouts.
template <std::size_t MaxBuckets>
struct layout_geometry : bucket_index<MaxBuckets> {
  /// the first rule the table breaks, or `layout_error::none`
  layout_error error = layout_error::no_buckets;
  /// the bucket that breaks it (`table_wide`: the table as a whole); in the padding after `error`
  std::uint8_t error_bucket = 0;
  /// bytes of a page (a power of two)
  std::size_t page_size = default_page_size;
  /// log2 of `page_size`
  unsigned page_shift = 12;
  /// alignment every block has; every block size is a multiple of it
  std::size_t min_align = default_min_align;
  /// bytes of window the layout needs: the packed region and all buckets, rounded up to a whole
  /// page (the heap maps, unmaps and poisons whole pages, so a window ends on a page boundary)
  std::size_t virtual_size = 0;
  /// bytes of the packed region and of all buckets: an offset at or past it is in no block
  std::size_t blocks_end = 0;
  /// the packed region, at offset 0 (its `bytes` is 0 when there is none); the buckets follow it
  packed_geometry packed{};
  std::size_t block_total = 0;   ///< blocks of all buckets
  std::size_t record_total = 0;  ///< blocks of the variable buckets (they keep a size record)
  std::size_t page_total = 0;    ///< pages covering the virtual range
  std::size_t ref_pages = 0;     ///< pages below the end of the last bucket that is not `owned` (they keep counts)
  std::size_t word_total = 0;    ///< bitmap words of all buckets
  std::size_t guard_bytes = 0;   ///< virtual bytes of guard pages (never mapped; part of virtual_size)
  /// Bitmap levels of every bucket: those its largest bucket needs (or the runtime layout's
  /// maximum), so that a search is a fixed number of steps with no loop over levels.
  std::size_t levels = 0;
};

/// Bitmap levels that `blocks` blocks need: one bit per block at the leaf, one bit per word of
/// the level below above it, up to a single word.
constexpr std::size_t bitmap_levels_for(std::size_t blocks) noexcept {
  std::size_t levels = 1;
  for (std::size_t words = detail::ceil_div(blocks, detail::word_bits); words > 1; words = detail::ceil_div(words, detail::word_bits))
    ++levels;
  return levels;
}

/// Derives the geometry of `count` buckets, or the first rule they break (in `error`).
/// `block_cap`, `page_cap` and `word_cap` bound the metadata (a runtime layout's capacities);
/// every bucket's bitmap gets `levels` levels, or the most any bucket needs if that is more.
template <std::size_t MaxBuckets>
constexpr layout_geometry<MaxBuckets> derive_geometry(const bucket* table, std::size_t count,
                                                      std::size_t page_size, std::size_t min_align,
                                                      std::size_t block_cap = SIZE_MAX,
                                                      std::size_t page_cap = SIZE_MAX,
                                                      std::size_t word_cap = SIZE_MAX, bool guard_pages = false,
                                                      std::size_t levels = 1, packed_region packed = {},
                                                      std::size_t packed_cap = SIZE_MAX) noexcept {
  using detail::ceil_div;
  layout_geometry<MaxBuckets> g{};
  auto fail = [&g](layout_error e, std::size_t bucket = table_wide) {
    g.error = e;
    g.error_bucket = static_cast<std::uint8_t>(bucket);
    g.bucket_count = 0;  // an invalid layout has no buckets: nothing can be allocated from it
    return g;
  };
  if (count == 0) return fail(layout_error::no_buckets);
  if (count > max_buckets) return fail(layout_error::too_many_buckets);
  if (count > MaxBuckets) return fail(layout_error::exceeds_capacity);
  if (!detail::is_pow2(page_size) || page_size > max_virtual_size) return fail(layout_error::bad_page_size);
  // A page holds at most page_size / min_align + 1 allocations: its 16-bit count must not wrap.
  if (!detail::is_pow2(min_align) || min_align < 8 || min_align > page_size || page_size / min_align > 32768)
    return fail(layout_error::bad_min_align);
  g.page_size = page_size;
  g.page_shift = detail::log2_floor(page_size);
  g.min_align = min_align;

  for (std::size_t i = 0; i < count; ++i)
    if (table[i].block_count <= max_blocks_per_bucket && bitmap_levels_for(table[i].block_count) > levels)
      levels = bitmap_levels_for(table[i].block_count);
  if (levels > max_bitmap_levels) levels = max_bitmap_levels;  // a bigger count is refused below
  g.levels = levels;

  if (packed.bytes != 0) {  // (no region: its other fields mean nothing)
    if (!detail::is_pow2(packed.granule) || packed.granule < 8 || packed.granule > page_size ||
        page_size / packed.granule > 32768)
      return fail(layout_error::bad_packed_granule);
    if (packed.bytes % page_size != 0) return fail(layout_error::packed_not_page_multiple);
    if (packed.bytes > max_virtual_size - page_size) return fail(layout_error::range_too_large);
    if (derive_packed(packed.bytes, packed.granule, page_size, packed.limit, g.packed, packed_cap) != packed_error::none)
      return fail(layout_error::exceeds_capacity);
  }
  // The packed region's pages come first, and all of them keep counts.
  std::size_t offset = packed.bytes, blocks = 0, records = 0, words = 0, ref_end = packed.bytes / page_size;
  for (std::size_t i = 0; i < count; ++i) {
    const bucket& b = table[i];
    if (b.block_size == 0) return fail(layout_error::zero_block_size, i);
    if (b.block_size % min_align != 0) return fail(layout_error::block_size_not_multiple_of_min_align, i);
    if (b.block_count == 0) return fail(layout_error::zero_block_count, i);
    if (b.block_count > max_blocks_per_bucket) return fail(layout_error::too_many_blocks_in_bucket, i);
    if (i > 0 && b.block_size <= table[i - 1].block_size) return fail(layout_error::not_ascending, i);
    if (b.block_size > max_virtual_size) return fail(layout_error::range_too_large, i);
    const std::size_t align = block_alignment(b.block_size, page_size);
    // Guarded blocks (a page or more) start on a page and are followed by an unmapped page.
    const bool guarded = guard_pages && b.block_size >= page_size;
    if (offset % (guarded ? page_size : align) != 0) return fail(layout_error::misaligned_bucket_start, i);
    if (guarded && b.block_size > max_virtual_size - 2 * page_size) return fail(layout_error::range_too_large, i);
    const std::size_t stride = guarded ? detail::align_up(b.block_size, page_size) + page_size : b.block_size;
    if (b.block_count > (max_virtual_size - offset) / stride) return fail(layout_error::range_too_large, i);

    bucket_geometry& bg = g.buckets[i];
    bg.block_size = b.block_size;
    bg.block_count = static_cast<std::uint32_t>(b.block_count);
    bg.offset = offset;
    bg.stride = stride;
    bg.first_block = static_cast<std::uint32_t>(blocks);
    bg.align_shift = static_cast<std::uint8_t>(detail::log2_floor(align));
#if defined(__SIZEOF_INT128__)
    bg.reciprocal = UINT64_MAX / stride + 1;
#endif
    bg.owned = stride % page_size == 0 && b.block_size >= page_size && offset % page_size == 0;
    // Blocks that divide a page and start on a multiple of their size tile pages: one page each.
    bg.variable = b.block_size > page_size || page_size % b.block_size != 0 || offset % b.block_size != 0;
    bg.first_record = static_cast<std::uint32_t>(records);
    if (bg.variable) records += b.block_count;
    // Bitmap levels: leaf words first, then one bit per word of the level below; a bucket that
    // needs fewer than the layout's levels has single words at the top.
    std::size_t level_words = ceil_div(b.block_count, detail::word_bits);
    for (std::size_t level = 0; level < levels; ++level) {
      bg.level_word[level] = static_cast<std::uint32_t>(words);
      words += level_words;
      level_words = ceil_div(level_words, detail::word_bits);
    }
    offset += stride * b.block_count;
    g.guard_bytes += (stride - b.block_size) * b.block_count;
    blocks += b.block_count;
    if (!bg.owned) ref_end = ceil_div(offset, page_size);
  }
  // Page arithmetic (an allocation's end rounded up to a page) must not wrap where size_t has 32 bits.
  if (offset > max_virtual_size - page_size) return fail(layout_error::range_too_large, count - 1);
  for (std::size_t i = 0; i < MaxBuckets; ++i)
    g.starts[i] = i < count ? static_cast<std::uint32_t>(g.buckets[i].offset) : UINT32_MAX;
  g.virtual_size = ceil_div(offset, page_size) * page_size;
  g.blocks_end = offset;
  g.block_total = blocks;
  g.record_total = records;
  g.page_total = ceil_div(offset, page_size);
  g.ref_pages = ref_end;
  g.word_total = words;
  g.bucket_count = count;
  if (blocks > block_cap || g.page_total > page_cap || words > word_cap) return fail(layout_error::exceeds_capacity);

  for (unsigned k = 0; k < detail::size_bits; ++k) {
    const std::uint64_t size = std::uint64_t{1} << k;  // 64-bit: size_t may have 32
    std::size_t b = 0;
    while (b < count && g.buckets[b].block_size < size) ++b;
    g.first_at_least[k] = static_cast<std::uint8_t>(b);
  }
  g.error = layout_error::none;
  return g;
}

/// Which rule a table breaks, and where: the answer of `check_table`.
struct table_check {
  /// the first rule the table breaks, `layout_error::none` when it breaks none
  layout_error error = layout_error::none;
  /// the index of the bucket that breaks it, or `table_wide` for a rule of the whole table
  /// (bucket count, page size, min_align, capacity)
  std::size_t bucket = table_wide;
  /// True when the table breaks no rule.
  constexpr explicit operator bool() const noexcept { return error == layout_error::none; }
};

/// Checks a table as `heap::configure` does (`MaxBuckets` as a runtime layout's) and says which
/// bucket breaks which rule: `configure` returns only the rule. Usable in constant expressions;
/// at run time it derives the geometry on the stack (about 4.6 KiB with 64 buckets).
template <std::size_t MaxBuckets = max_buckets>
constexpr table_check check_table(const bucket* table, std::size_t count, std::size_t page_size = default_page_size,
                                  std::size_t min_align = default_min_align, bool guard_pages = false,
                                  packed_region packed = {}) noexcept {
  const auto g = derive_geometry<MaxBuckets>(table, count, page_size, min_align, SIZE_MAX, SIZE_MAX, SIZE_MAX,
                                             guard_pages, 1, packed);
  if (g.error == layout_error::none) return {};
  return {g.error, g.error_bucket};
}

namespace detail {
/// Instantiated only for a table that breaks a rule of one bucket: the one `static_assert` that
/// fails names the rule, and the compiler's "In instantiation of" line above it shows `Bucket`,
/// the bucket's index. `reported` lets `fixed_layout` go on without a second error.
template <std::size_t Bucket, layout_error Rule>
struct bad_bucket {
  static_assert(Rule != layout_error::zero_block_size, "vmh layout: bad_bucket<Bucket, ...>: its block size is zero");
  static_assert(Rule != layout_error::block_size_not_multiple_of_min_align,
                "vmh layout: bad_bucket<Bucket, ...>: its block size is not a multiple of min_align");
  static_assert(Rule != layout_error::zero_block_count, "vmh layout: bad_bucket<Bucket, ...>: its block count is zero");
  static_assert(Rule != layout_error::too_many_blocks_in_bucket,
                "vmh layout: bad_bucket<Bucket, ...>: it has more than 2^24 blocks");
  static_assert(Rule != layout_error::not_ascending,
                "vmh layout: bad_bucket<Bucket, ...>: its block size is not above the previous bucket's");
  static_assert(Rule != layout_error::misaligned_bucket_start,
                "vmh layout: bad_bucket<Bucket, ...>: it does not start at a multiple of its block alignment "
                "(min(lowest set bit of its block size, page size)); adjust the previous bucket's count");
  static_assert(Rule != layout_error::range_too_large,
                "vmh layout: bad_bucket<Bucket, ...>: the virtual range passes 4 GiB at this bucket");
  /// True, so that the `static_assert` that instantiates it adds no error of its own.
  static constexpr bool reported = true;
};
/// As `bad_bucket`, for a rule of the whole table.
template <layout_error Rule>
struct bad_table {
  static_assert(Rule != layout_error::too_many_buckets, "vmh layout: a table has at most 64 buckets");
  static_assert(Rule != layout_error::bad_page_size, "vmh layout: the page size must be a power of two");
  static_assert(Rule != layout_error::bad_min_align,
                "vmh layout: min_align must be a power of two between 8 and the page size, and at least page size / 32768");
  static_assert(Rule != layout_error::bad_packed_granule,
                "vmh layout: the packed region's granule must be a power of two between 8 and the page size, "
                "and at least page size / 32768");
  static_assert(Rule != layout_error::packed_not_page_multiple,
                "vmh layout: the packed region's bytes must be a multiple of the page size");
  static_assert(Rule != layout_error::range_too_large, "vmh layout: the virtual range must stay below 4 GiB");
  /// True, so that the `static_assert` that instantiates it adds no error of its own.
  static constexpr bool reported = true;
};
/// Reports the rule a fixed table breaks, once: as `bad_bucket` or `bad_table`.
template <layout_error Rule, std::size_t Bucket>
constexpr bool report_table() noexcept {
  if constexpr (Rule == layout_error::none) return true;
  else if constexpr (Bucket == table_wide) return bad_table<Rule>::reported;
  else return bad_bucket<Bucket, Rule>::reported;
}
}  // namespace detail

/// A table of buckets plus the page size and minimum alignment: the argument of `fixed_layout`.
template <std::size_t N>
struct bucket_table {
  /// the buckets, in strictly ascending block size
  bucket buckets[N];
  /// bytes of a page (a power of two)
  std::size_t page_size = default_page_size;
  /// alignment of every block and of every packed allocation (a power of two in [8, page
  /// size]); block sizes are multiples of it
  std::size_t min_align = default_min_align;
  /// Leave an unmapped guard page after every block of a page or more (see `with_guard_pages`).
  bool guard_pages = false;
  /// The backing heap's packed region (see `with_packed`); none by default.
  packed_region packed{};
  /// The number of buckets, N.
  static constexpr std::size_t size() noexcept { return N; }
};

/// The largest min_align a table of `count` buckets (and a packed region with `packed.bytes` != 0)
/// can have: the largest power of two from 8 up to `default_min_align` that divides every block
/// size (and the region's granule); 8 when none larger does. The tools and the Kconfig heap's
/// layout file take this one, so a table read from a file gets the same heap everywhere.
constexpr std::size_t widest_min_align(const bucket* buckets, std::size_t count, packed_region packed = {}) noexcept {
  std::size_t align = default_min_align;
  for (std::size_t i = 0; i < count; ++i)
    while (align > 8 && buckets[i].block_size % align != 0) align /= 2;
  while (packed.bytes != 0 && align > 8 && packed.granule % align != 0) align /= 2;
  return align;
}

/// Builds a table from a braced list: `vmh::make_table({{64, 32}, {256, 16}})`.
template <std::size_t N>
constexpr bucket_table<N> make_table(const bucket (&buckets)[N], std::size_t page_size = default_page_size,
                                     std::size_t min_align = default_min_align) noexcept {
  bucket_table<N> t{};
  for (std::size_t i = 0; i < N; ++i) t.buckets[i] = buckets[i];
  t.page_size = page_size;
  t.min_align = min_align;
  return t;
}

/// The same table with guard pages: every block of a page or more starts on a page and is
/// followed by a page that is never mapped, so that a write past its last mapped page faults at
/// once. It costs virtual space only (`layout_geometry::guard_bytes`), never a physical page;
/// such buckets must start on a page boundary and take no multi-block runs.
template <std::size_t N>
constexpr bucket_table<N> with_guard_pages(bucket_table<N> t) noexcept {
  t.guard_pages = true;
  return t;
}

/// The same table with a packed region at the start of the window: fixed requests of at most
/// `region.limit` bytes and range grants below a page are placed there exactly, and only the
/// pages their bytes touch are mapped (packed_heap.hpp).
template <std::size_t N>
constexpr bucket_table<N> with_packed(bucket_table<N> t, packed_region region) noexcept {
  t.packed = region;
  return t;
}

/// A layout fixed at compile time. Every rule is a `static_assert`; the geometry and the
/// metadata sizes are constants.
template <bucket_table Table>
struct fixed_layout {
  /// The table's derived geometry, a constant; a table that breaks a rule is rejected below, with
  /// one error that names the rule and the bucket.
  static constexpr layout_geometry<Table.size()> geometry =
      derive_geometry<Table.size()>(Table.buckets, Table.size(), Table.page_size, Table.min_align, SIZE_MAX, SIZE_MAX,
                                    SIZE_MAX, Table.guard_pages, 1, Table.packed);

  static_assert(detail::report_table<geometry.error, geometry.error_bucket>());

  /// Buckets of the table.
  static constexpr std::size_t bucket_capacity = Table.size();
  /// Blocks of all buckets.
  static constexpr std::size_t block_capacity = geometry.block_total;
  /// Size records: the blocks of the variable buckets.
  static constexpr std::size_t record_capacity = geometry.record_total;
  /// Pages covering the virtual range.
  static constexpr std::size_t page_capacity = geometry.page_total;
  /// Pages that keep a reference count.
  static constexpr std::size_t ref_capacity = geometry.ref_pages;
  /// Bitmap words of all buckets (one for a table that breaks a rule, so that its one error is all).
  static constexpr std::size_t word_capacity = geometry.error == layout_error::none ? geometry.word_total : 1;
  /// Bitmap levels of every bucket.
  static constexpr std::size_t bitmap_levels = geometry.levels;
  /// Granules of the packed region (0: none).
  static constexpr std::size_t packed_granule_capacity = geometry.packed.granules;
  /// Bitmap levels of the compact table's buckets (at least one, for a table that breaks a rule).
  static constexpr std::size_t index_levels = geometry.levels != 0 ? geometry.levels : 1;
  /// Indices of the compact table: 16 bits on a 32-bit target when the layout's blocks and words
  /// fit (a 64-bit host's bucket is one 64-byte line whatever their width).
  using index_int = std::conditional_t<sizeof(void*) < 8 && geometry.block_total <= 0xffff && geometry.word_total <= 0xffff,
                                       std::uint16_t, std::uint32_t>;
  /// Whether the compact table's buckets keep their offset and stride: on a 32-bit target only
  /// with guard pages (else the offset is the bucket's start and the stride its block size).
  static constexpr bool index_spans = sizeof(void*) == 8 || Table.guard_pages;
  /// What the hot paths index at run time, apart from the rest of the geometry (whose fields
  /// they read fold into the code): only this is kept in flash, its buckets with the table's own
  /// bitmap levels, narrow indices and no span where they can do without.
  static constexpr bucket_index<Table.size(), index_levels, index_int, index_spans> index =
      geometry.template narrowed<index_levels, index_int, index_spans>();
  /// The packed region's geometry (`bytes` 0: none), apart from the rest of the geometry: the
  /// backing heap takes it by reference, and a copy of its own keeps the whole geometry out of
  /// flash (at most this copy is kept where a call is not inlined).
  static constexpr packed_geometry packed = geometry.packed;
  /// The kinds of bucket the table has.
  static constexpr bucket_kinds kinds = [] {
    bucket_kinds k{false, false, false, false};
    for (std::size_t b = 0; b < geometry.bucket_count; ++b) {
      const bucket_geometry& bg = geometry.buckets[b];
      k.owned = k.owned || bg.owned;
      k.shared = k.shared || !bg.owned;
      k.variable = k.variable || bg.variable;
      k.straddling = k.straddling || (bg.variable && !bg.owned);
    }
    return k;
  }();
  /// Bytes of the virtual range (the size of the default window, a `static_arena`). A table that
  /// breaks a rule has none; this is then a page, so that an arena of it adds no second error.
  static constexpr std::size_t virtual_size = geometry.error == layout_error::none ? geometry.virtual_size : Table.page_size;
  /// Bytes of a page.
  static constexpr std::size_t page_size = geometry.page_size;

  /// The derived geometry.
  static constexpr const layout_geometry<bucket_capacity>& geo() noexcept { return geometry; }
};

/// A layout given at run time, within fixed maxima (the metadata is sized for them): at most
/// `MaxBuckets` buckets of `MaxBlocks` blocks in all, `MaxPages` pages, and a packed region of at
/// most `MaxPackedGranules` granules (0: none). Configure it through `heap::configure`.
template <std::size_t MaxBuckets = max_buckets, std::size_t MaxBlocks = (1u << 16), std::size_t MaxPages = (1u << 14),
          std::size_t MaxPackedGranules = 0>
class runtime_layout {
 public:
  static_assert(MaxBuckets >= 1 && MaxBuckets <= max_buckets, "vmh runtime_layout: 1 to 64 buckets");
  /// Most buckets a table may have.
  static constexpr std::size_t bucket_capacity = MaxBuckets;
  /// Most blocks of all buckets.
  static constexpr std::size_t block_capacity = MaxBlocks;
  /// Most size records (one per block).
  static constexpr std::size_t record_capacity = MaxBlocks;
  /// Most pages the virtual range may cover.
  static constexpr std::size_t page_capacity = MaxPages;
  /// Most pages that keep a reference count.
  static constexpr std::size_t ref_capacity = MaxPages;
  /// Most bitmap words of all buckets. Each bucket's bitmap needs at most ceil(count/W) leaf
  /// words, plus at most one word per level above for the rounding: bounded by MaxBlocks/(W-1) + levels per bucket.
  static constexpr std::size_t word_capacity = MaxBlocks / (detail::word_bits - 1) + MaxBuckets * max_bitmap_levels + 1;
  /// Any table: every kind of bucket.
  static constexpr bucket_kinds kinds{};
  /// Bitmap levels of every bucket: those a bucket of MaxBlocks blocks needs.
  static constexpr std::size_t bitmap_levels =
      bitmap_levels_for(MaxBlocks < max_blocks_per_bucket ? MaxBlocks : max_blocks_per_bucket);

  /// Most granules of the packed region.
  static constexpr std::size_t packed_granule_capacity = MaxPackedGranules;

  /// Derives and checks a new geometry; on error the current one is kept.
  constexpr layout_error assign(const bucket* table, std::size_t count, std::size_t page_size, std::size_t min_align,
                                bool guard_pages = false, packed_region packed = {}) noexcept {
    auto g = derive_geometry<MaxBuckets>(table, count, page_size, min_align, MaxBlocks, MaxPages, word_capacity,
                                         guard_pages, bitmap_levels, packed, MaxPackedGranules);
    if (g.error == layout_error::none) geometry_ = g;
    return g.error;
  }

  /// The current geometry: none (`layout_error::no_buckets`) until an `assign` succeeds.
  constexpr const layout_geometry<MaxBuckets>& geo() const noexcept { return geometry_; }

 private:
  layout_geometry<MaxBuckets> geometry_{};
};

/// What the heap needs of a layout: the capacities its metadata is sized with (`bucket_capacity`,
/// `block_capacity`, `record_capacity`, `page_capacity`, `ref_capacity`, `word_capacity`), the
/// bitmap levels of every bucket (`bitmap_levels`, a constant: the geometry's `levels`) and the
/// derived geometry, `geo()`. Optional: `kinds`, the kinds of bucket it may have (a
/// `bucket_kinds`; without it, every kind), `packed_granule_capacity`, the most granules its
/// packed region may have (without it, none), `index`, a constant `bucket_index` equal to the
/// geometry's but for its levels and index widths, which the heap then indexes instead, and
/// `packed`, a constant `packed_geometry` equal to the geometry's, which the heap then hands the
/// backing heap instead.
template <class L>
concept bucket_layout = requires(const L& l) {
  { L::bucket_capacity } -> std::convertible_to<std::size_t>;
  { L::block_capacity } -> std::convertible_to<std::size_t>;
  { L::record_capacity } -> std::convertible_to<std::size_t>;
  { L::page_capacity } -> std::convertible_to<std::size_t>;
  { L::ref_capacity } -> std::convertible_to<std::size_t>;
  { L::word_capacity } -> std::convertible_to<std::size_t>;
  { L::bitmap_levels } -> std::convertible_to<std::size_t>;
  { l.geo() } -> std::same_as<const layout_geometry<L::bucket_capacity>&>;
};

namespace detail {
/// Granules of layout L's packed region at most: its `packed_granule_capacity`, or 0 (none).
template <class L>
constexpr std::size_t packed_capacity_of() noexcept {
  if constexpr (requires { { L::packed_granule_capacity } -> std::convertible_to<std::size_t>; })
    return L::packed_granule_capacity;
  else return 0;
}
/// The table the hot paths of a heap with layout L and geometry g index at run time: a fixed
/// layout's compact `index`, else the geometry's own `bucket_index`.
template <class L, std::size_t MaxBuckets>
VMH_HOT constexpr const auto& index_of(const layout_geometry<MaxBuckets>& g) noexcept {
  if constexpr (requires { L::index; }) return L::index;
  else return static_cast<const bucket_index<MaxBuckets>&>(g);
}
/// The packed region's geometry that a heap with layout L and geometry g hands the backing heap:
/// a fixed layout's own constant copy (`fixed_layout::packed`), else the geometry's `packed`. A
/// reference into g would keep all of a fixed layout's geometry in flash.
template <class L, std::size_t MaxBuckets>
VMH_HOT constexpr const packed_geometry& packed_of(const layout_geometry<MaxBuckets>& g) noexcept {
  if constexpr (requires { { L::packed } -> std::convertible_to<const packed_geometry&>; }) return L::packed;
  else return g.packed;
}
/// The kinds of bucket layout L may have: its `kinds`, or every kind.
template <class L>
constexpr bucket_kinds kinds_of() noexcept {
  if constexpr (requires { { L::kinds } -> std::convertible_to<bucket_kinds>; }) return L::kinds;
  else return bucket_kinds{};
}
}  // namespace detail

}  // namespace vmh
