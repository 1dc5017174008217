// Ready-made bucket tables: SOF's production table and a geometric generator.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <cstddef>

#include "layout.hpp"

namespace vmh::presets {

/// SOF's production table for its 1 MiB buffer region (block size x count), power-of-two
/// blocks from 128 B to 512 KiB. Kept for comparison: it is what firmware runs today.
inline constexpr bucket_table<9> sof_table = make_table({{128, 32},
                                                         {512, 8},
                                                         {1024, 44},
                                                         {2048, 8},
                                                         {4096, 11},
                                                         {8192, 10},
                                                         {65536, 3},
                                                         {131072, 1},
                                                         {524288, 1}});

/// Parameters of a geometric layout: block sizes grow by `ratio_num / ratio_den` from
/// `min_block` to `max_block`; each bucket gets enough blocks to cover
/// `physical_bytes * overcommit_num / overcommit_den` on its own, because virtual space is
/// cheap and physical pages are not: a bucket should never run out of blocks while physical
/// memory remains.
struct geometric_params {
  /// physical memory the heap may map; each bucket alone covers it times the overcommit (up to `max_count` blocks)
  std::size_t physical_bytes = 1u << 20;
  /// smallest block size (rounded up to its granule)
  std::size_t min_block = 64;
  std::size_t max_block = 0;  ///< 0: the physical budget rounded up to a page
  /// numerator of the growth ratio between block sizes (must exceed `ratio_den`)
  std::size_t ratio_num = 3;
  /// denominator of the growth ratio
  std::size_t ratio_den = 2;
  /// numerator of the share of `physical_bytes` each bucket's blocks cover
  std::size_t overcommit_num = 1;
  /// denominator of that share
  std::size_t overcommit_den = 1;
  std::size_t max_count = 1024;  ///< cap of blocks per bucket: bounds metadata for tiny blocks
  /// the layout's page size (a power of two)
  std::size_t page_size = default_page_size;
  /// the layout's min_align (as a layout requires it)
  std::size_t min_align = default_min_align;
  std::size_t line = 64;  ///< cache line: sizes from a line up are multiples of it (so 64-aligned)
  /// the backing heap's packed region, before the buckets (none by default)
  packed_region packed{};
};

/// The step between block sizes near `size`: `min_align` below a cache line (`line`), the line
/// below a page, the page from a page up. Sizes rounded to it have the alignment their users
/// expect (a cache line for DMA buffers, a page for page-sized blocks).
constexpr std::size_t block_granule(std::size_t size, std::size_t page_size, std::size_t min_align,
                                    std::size_t line = 64) noexcept {
  return size >= page_size ? page_size : size >= line ? line : min_align;
}

/// `size` rounded up to a multiple of its granule, and at least `min_align`; 0 where that would
/// pass SIZE_MAX. The granules are powers of two.
constexpr std::size_t round_block_up(std::size_t size, std::size_t page_size, std::size_t min_align,
                                     std::size_t line = 64) noexcept {
  if (size < min_align) return min_align;
  const std::size_t g = block_granule(size, page_size, min_align, line);
  return detail::fits_align_up(size, g) ? detail::align_up(size, g) : 0;
}

/// `size` rounded to the nearest multiple of its granule (ties up), and at least `min_align`; 0
/// where that would pass SIZE_MAX. Keeps a geometric growth near its ratio where the granule
/// jumps (72 B becomes 64 B, not 128 B).
constexpr std::size_t round_block_nearest(std::size_t size, std::size_t page_size, std::size_t min_align,
                                          std::size_t line = 64) noexcept {
  const std::size_t g = block_granule(size, page_size, min_align, line);
  if (size > SIZE_MAX - g / 2) return 0;
  const std::size_t r = (size + g / 2) / g * g;
  return r < min_align ? min_align : r;
}

/// Writes the buckets of a geometric layout to `out` (room for `capacity` buckets) and returns
/// how many there are; 0 if the parameters are unusable: zero sizes, ratio <= 1, a page size
/// beyond a layout's virtual range, more buckets than `capacity`, or a layout whose largest block
/// or whole range would not fit in `max_virtual_size` (a physical budget near SIZE_MAX, such as
/// an unlimited mapper's, is one). No arithmetic on the parameters wraps around.
/// Block sizes are multiples of min_align below a cache line, of the line below a page and of
/// the page size from a page up (so each size has the alignment its users expect),
/// and counts are raised where needed so that every bucket starts aligned to its blocks.
constexpr std::size_t geometric_buckets(const geometric_params& p, bucket* out, std::size_t capacity) noexcept {
  using detail::align_up;
  if (p.physical_bytes == 0 || p.min_block == 0 || p.ratio_den == 0 || p.ratio_num <= p.ratio_den ||
      p.overcommit_den == 0 || p.overcommit_num == 0 || p.max_count == 0 || !detail::is_pow2(p.page_size) ||
      p.page_size > max_virtual_size || !detail::is_pow2(p.min_align) || p.min_align < 8 ||
      p.min_align > p.page_size || p.page_size / p.min_align > 32768 || !detail::is_pow2(p.line) ||
      p.line < p.min_align || p.line > p.page_size)
    return 0;  // (page_size / min_align <= 32768 is the layout's rule of min_align)
  // The largest block, rounded up to a page, must lie within a layout's range: below this
  // bound the rounding cannot wrap, and every size below rounds to at most it.
  const std::size_t largest = p.max_block != 0 ? p.max_block : p.physical_bytes;
  if (largest > max_virtual_size - (p.page_size - 1)) return 0;
  const std::size_t top = align_up(largest, p.page_size);
  // a * b, or SIZE_MAX where that would wrap.
  auto times = [](std::size_t a, std::size_t b) { return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b; };
  // Sizes up to top round to at most top: no rounding below passes SIZE_MAX.
  auto round = [&p](std::size_t s) { return round_block_up(s, p.page_size, p.min_align, p.line); };
  auto nearest = [&p](std::size_t s) { return round_block_nearest(s, p.page_size, p.min_align, p.line); };
  const std::size_t cover = times(p.physical_bytes / p.overcommit_den, p.overcommit_num);

  std::size_t n = 0, offset = 0;
  std::size_t size = p.min_block >= top ? top : round(p.min_block);
  for (;;) {
    if (n == capacity) return 0;
    // size * ratio in two parts, saturating: a product beyond top is top.
    const std::size_t whole = times(size / p.ratio_den, p.ratio_num);
    const std::size_t part = times(size % p.ratio_den, p.ratio_num) / p.ratio_den;
    const std::size_t grown = whole > top || part > top - whole ? top : whole + part;
    std::size_t next = nearest(grown);
    if (next <= size) next = round(size + 1);
    if (next > top) next = top;
    std::size_t count = detail::ceil_div(cover, size);
    if (count > p.max_count) count = p.max_count;
    if (count > max_blocks_per_bucket) count = max_blocks_per_bucket;
    if (count == 0) count = 1;
    // The bucket must end within a layout's range, with no more blocks than a bucket may have.
    auto fits = [&] { return count <= max_blocks_per_bucket && count <= (max_virtual_size - offset) / size; };
    if (!fits()) return 0;
    // The next bucket must start aligned to its blocks: add blocks until it does.
    if (size < top)
      while ((offset + count * size) % block_alignment(next, p.page_size) != 0) {
        ++count;
        if (!fits()) return 0;
      }
    out[n++] = bucket{size, count};
    offset += count * size;
    if (size >= top) return n;
    size = next;
  }
}

/// How many buckets `geometric_buckets(p, ...)` produces (for sizing a table at compile time).
constexpr std::size_t geometric_bucket_count(const geometric_params& p) noexcept {
  bucket scratch[max_buckets]{};
  return geometric_buckets(p, scratch, max_buckets);
}

/// A geometric layout as a compile-time table: `vmh::fixed_layout<vmh::presets::geometric<P>()>`.
template <geometric_params P>
constexpr auto geometric() noexcept {
  constexpr std::size_t n = geometric_bucket_count(P);
  static_assert(n > 0, "vmh geometric layout: unusable parameters (zero sizes, ratio <= 1 or more than 64 buckets)");
  bucket_table<n> t{};
  geometric_buckets(P, t.buckets, n);
  t.page_size = P.page_size;
  t.min_align = P.min_align;
  t.packed = P.packed;
  return t;
}

/// The zero-tuning packed region for a physical budget: as large as the budget (rounded up to a
/// page: virtual space only, pages are mapped for the bytes in use), 16-byte granules, fixed
/// requests up to 16 KiB. Chosen by replaying the workload families (docs/design.md): a smaller
/// region sends small requests back to buckets when it fills, larger granules or a lower limit
/// lose requests, a higher limit changes nothing.
constexpr packed_region auto_packed(std::size_t physical_bytes, std::size_t page_size = default_page_size) noexcept {
  packed_region r{};
  r.granule = 16;
  r.limit = 16384;
  r.bytes = detail::is_pow2(page_size) && physical_bytes <= max_virtual_size / 2 ? detail::align_up(physical_bytes, page_size) : 0;
  return r;
}

/// The zero-tuning layout for a physical budget: a packed region (`auto_packed`) for fixed
/// requests up to 16 KiB and range grants below a page, then buckets whose block sizes are the
/// powers of two from a page to the budget (rounded up to a page), each with blocks enough to
/// cover the whole budget on its own, at most `max_count` (1024).
///  - Requests below a page are placed exactly in the packed region, where neighbours of any
///    size share pages; buckets below a page would each keep a partly used page.
///  - From a page up a block's size costs only virtual space: only the pages a request touches
///    are mapped. Covering the budget per bucket means no bucket runs out of blocks while
///    physical memory remains; deep range grants take a block and can grow in place.
/// The bucket rule won a replay study of 225 geometric rules (ratio, over-commit, count cap,
/// smallest block); the packed region was measured against it (docs/design.md).
/// `packed = false` gives the zero-tuning layout of a heap without a packed region (a runtime
/// layout with no packed capacity): buckets from 16 B up, each size below a page packing whole
/// pages with blocks of its own size.
constexpr geometric_params auto_params(std::size_t physical_bytes, std::size_t page_size = default_page_size,
                                       bool packed = true) noexcept {
  geometric_params p{};
  p.physical_bytes = physical_bytes;
  p.page_size = page_size;
  p.min_block = packed ? page_size : 16;
  p.min_align = 16;
  p.ratio_num = 2;
  p.ratio_den = 1;
  if (packed) p.packed = auto_packed(physical_bytes, page_size);
  return p;
}

}  // namespace vmh::presets
