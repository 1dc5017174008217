// fmt output for vmh (fmt 9 or later): formatters for the result codes and statistics, and a
// text heap map with one row per bucket.
//
//     fmt::print("{}\n", heap.stats());
//     fmt::print("{}", vmh::host::heap_map(heap, range.base()));
//
// The core headers never include fmt; only this header does. The heap map's page columns need
// the start of the heap's virtual range (see inspect.hpp); without it they show "-".
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

/// @file
/// fmt formatters (host only). `vmh::status`, `vmh::layout_error` and `vmh::invariant` print their
/// names and `byte_size` its count, all formatted like strings (width, fill and alignment apply);
/// `vmh::check`, `vmh::heap_stats`, `vmh::bucket_stats` and `heap_map_view` take only "{}".

#include <concepts>
#include <cstddef>
#include <string_view>

#include <fmt/format.h>

#include "../heap.hpp"
#include "../layout.hpp"
#include "../status.hpp"
#include "inspect.hpp"

namespace vmh::host {

/// A byte count printed exactly, in the largest binary unit that divides it: "192 B", "6 KiB", "1 MiB".
struct byte_size {
  /// the byte count
  std::size_t bytes = 0;
};

/// What `heap_map` returns: format it with fmt ("{}").
template <class Heap>
struct heap_map_view {
  /// the heap to map (not owned)
  const Heap* heap = nullptr;
  const void* base = nullptr;  ///< start of the heap's virtual range; null: page columns unknown
};

/// A text map of `heap`, one row per bucket: block size, blocks in use / count, peak in use,
/// requests failed while the bucket was full, the heap pages its live allocations map and how
/// many of those are resident; then the heap's statistics. `base` is the start of the heap's
/// virtual range (the window's base).
template <class Heap>
heap_map_view<Heap> heap_map(const Heap& heap, const void* base) noexcept {
  return {&heap, base};
}

/// The heap map of a heap that tells its own base (`heap.base()`); otherwise the page columns
/// show "-" and the map says how to get them.
template <class Heap>
heap_map_view<Heap> heap_map(const Heap& heap) noexcept {
  if constexpr (requires { { heap.base() } -> std::convertible_to<const void*>; }) return {&heap, heap.base()};
  else return {&heap, nullptr};
}

// Left out of the API reference: helpers of the formatters below, not part of the interface.
/// @cond
namespace fmt_detail {
/// Accepts only an empty format spec ("{}").
struct no_spec {
  constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it != '}') throw fmt::format_error("vmh: this type takes no format spec");
    return it;
  }
};

/// A name of an enum, formatted like a string (width, fill and alignment apply).
template <class Enum>
struct named : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(Enum e, Context& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(std::string_view{to_string(e)}, ctx);
  }
};
}  // namespace fmt_detail
/// @endcond

}  // namespace vmh::host

// Left out of the API reference: Doxygen cannot place specializations in fmt's namespace, which
// is not part of it. What they print: the file comment at the top, and each one's own comment.
/// @cond
template <>
struct fmt::formatter<vmh::host::byte_size> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(vmh::host::byte_size s, Context& ctx) const -> decltype(ctx.out()) {
    constexpr std::size_t kib = 1024, mib = kib * 1024, gib = mib * 1024;
    char buf[32];
    const std::size_t n = s.bytes;
    const auto r = n != 0 && n % gib == 0   ? fmt::format_to_n(buf, sizeof buf, "{} GiB", n / gib)
                   : n != 0 && n % mib == 0 ? fmt::format_to_n(buf, sizeof buf, "{} MiB", n / mib)
                   : n != 0 && n % kib == 0 ? fmt::format_to_n(buf, sizeof buf, "{} KiB", n / kib)
                                            : fmt::format_to_n(buf, sizeof buf, "{} B", n);
    return fmt::formatter<std::string_view>::format(std::string_view{buf, r.size}, ctx);
  }
};

template <>
struct fmt::formatter<vmh::status> : vmh::host::fmt_detail::named<vmh::status> {};
template <>
struct fmt::formatter<vmh::layout_error> : vmh::host::fmt_detail::named<vmh::layout_error> {};
template <>
struct fmt::formatter<vmh::invariant> : vmh::host::fmt_detail::named<vmh::invariant> {};

/// "ok", or the broken invariant and where: "page reference count wrong (bucket 1, index 3)".
template <>
struct fmt::formatter<vmh::check> : vmh::host::fmt_detail::no_spec {
  template <class Context>
  auto format(const vmh::check& c, Context& ctx) const -> decltype(ctx.out()) {
    if (c) return fmt::format_to(ctx.out(), "ok");
    return fmt::format_to(ctx.out(), "{} (bucket {}, index {})", vmh::to_string(c.broken), c.bucket, c.index);
  }
};

/// "3 live, 12544 B in blocks (peak 20480 B), 5 pages mapped (peak 9), failed: 0 no block, 0 no memory".
template <>
struct fmt::formatter<vmh::heap_stats> : vmh::host::fmt_detail::no_spec {
  template <class Context>
  auto format(const vmh::heap_stats& s, Context& ctx) const -> decltype(ctx.out()) {
    return fmt::format_to(ctx.out(),
                          "{} live, {} B in blocks (peak {} B), {} pages mapped (peak {}), failed: {} no block, {} no memory",
                          s.live_allocations, s.bytes_in_blocks, s.peak_bytes_in_blocks, s.pages_mapped,
                          s.peak_pages_mapped, s.failed_no_block, s.failed_no_memory);
  }
};

/// "192 B x 64: 3 in use (peak 5), 0 full failures".
template <>
struct fmt::formatter<vmh::bucket_stats> : vmh::host::fmt_detail::no_spec {
  template <class Context>
  auto format(const vmh::bucket_stats& s, Context& ctx) const -> decltype(ctx.out()) {
    return fmt::format_to(ctx.out(), "{} x {}: {} in use (peak {}), {} full failures", vmh::host::byte_size{s.block_size},
                          s.block_count, s.in_use, s.peak_in_use, s.full_failures);
  }
};

template <class Heap>
struct fmt::formatter<vmh::host::heap_map_view<Heap>> : vmh::host::fmt_detail::no_spec {
  template <class Context>
  auto format(const vmh::host::heap_map_view<Heap>& m, Context& ctx) const -> decltype(ctx.out()) {
    using vmh::host::byte_size;
    const Heap& h = *m.heap;
    const auto& g = h.geometry();
    auto out = ctx.out();
    if (h.state() != vmh::layout_error::none)
      return fmt::format_to(out, "heap not configured: {}\n", vmh::to_string(h.state()));

    const bool pages_known = m.base != nullptr;
    const bool mapping = vmh::host::maps_pages<Heap>;
    out = fmt::format_to(out, "{} buckets, {} virtual ({} pages of {})\n", g.bucket_count, byte_size{g.virtual_size},
                         g.page_total, byte_size{g.page_size});
    out = fmt::format_to(out, "{:>6}  {:>9}  {:>15}  {:>6}  {:>10}  {:>12}  {:>8}\n", "bucket", "block", "in use / count",
                         "peak", "full fails", "pages mapped", "resident");
    const std::string_view dash = "-";
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const vmh::bucket_stats s = h.stats(b);
      out = fmt::format_to(out, "{:>6}  {:>9}  {:>6} / {:<6}  {:>6}  {:>10}", b, byte_size{s.block_size}, s.in_use,
                           s.block_count, s.peak_in_use, s.full_failures);
      if (pages_known) {
        const vmh::host::page_count p = vmh::host::bucket_pages(h, m.base, b);
        if (mapping) out = fmt::format_to(out, "  {:>12}", p.mapped_pages);
        else out = fmt::format_to(out, "  {:>12}", dash);
        out = fmt::format_to(out, "  {:>8}\n", p.resident_bytes / g.page_size);
      } else {
        out = fmt::format_to(out, "  {:>12}  {:>8}\n", dash, dash);
      }
    }
    out = fmt::format_to(out, "total: {}\n", h.stats());
    if (!pages_known) out = fmt::format_to(out, "(pages per bucket: pass the range base, heap_map(heap, base))\n");
    return out;
  }
};
/// @endcond
