// The heaps the core tests share: two fixed tables over an external arena, a fixture that names
// blocks by offset, contents patterns, and the Catch check that a call left the heap unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_state.hpp"

namespace vmh_test {

inline constexpr std::size_t kib = 1024;
inline constexpr std::size_t page = 4096;

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
constexpr std::size_t align_up(std::size_t a, std::size_t b) { return ceil_div(a, b) * b; }

// A page-aligned memory range for heaps over an external range.
template <std::size_t N>
struct alignas(4096) arena {
  std::byte bytes[N];
};

// 64 x 64 at 0, 256 x 16 at 4 KiB, 1 KiB x 8 at 8 KiB, 4 KiB x 4 at 16 KiB, 16 KiB x 2 at
// 32 KiB, 64 KiB x 2 at 64 KiB: 192 KiB, 48 pages. The largest block is 64 KiB and no block is
// aligned beyond a page.
inline constexpr auto basic_table =
    vmh::make_table({{64, 64}, {256, 16}, {1024, 8}, {4096, 4}, {16384, 2}, {65536, 2}});
using basic_layout = vmh::fixed_layout<basic_table>;
inline constexpr std::size_t basic_size = basic_layout::virtual_size;

// Blocks that straddle pages: 192 x 2 at 0, 1152 x 5 at 384, 6 KiB x 4 at 6 KiB.
//   1152-byte block 3 covers [3840, 4992): pages 0 and 1; block 4 covers [4992, 6144): page 1.
//   6 KiB blocks: [6144, 12288) pages 1-2, [12288, 18432) pages 3-4, [18432, 24576) pages 4-5,
//   [24576, 30720) pages 6-7.
inline constexpr auto odd_table = vmh::make_table({{192, 2}, {1152, 5}, {6144, 4}});
using odd_layout = vmh::fixed_layout<odd_table>;
inline constexpr std::size_t odd_size = odd_layout::virtual_size;

// A packed region of 4 pages (1024 granules of 16 B; fixed requests up to 6 KiB), then 256 B x 16
// at 16 KiB, 4 KiB x 4 at 20 KiB, 16 KiB x 2 at 36 KiB: 68 KiB, 17 pages. min_align is the
// granule: an allocation with no alignment asked is aligned to both.
inline constexpr auto packed_table = vmh::with_packed(vmh::make_table({{256, 16}, {4096, 4}, {16384, 2}}, page, 16),
                                                     vmh::packed_region{4 * page, 6144, 16});
using packed_layout = vmh::fixed_layout<packed_table>;
inline constexpr std::size_t packed_size = packed_layout::virtual_size;

template <class Layout, class Mapper = vmh::counting_mapper, vmh::heap_options Options = vmh::heap_options{}>
using ext_heap = vmh::heap<Layout, Mapper, vmh::external_range, vmh::no_lock, Options>;
inline constexpr vmh::heap_options with_runs{.runs = true};

// A heap over its own arena of `Size + Spare` bytes (the layout's range is the first `Size`),
// with functions that name blocks by offset.
template <class Heap, std::size_t Size, std::size_t Spare = 0>
struct fixture {
  std::unique_ptr<arena<Size + Spare>> mem = std::make_unique<arena<Size + Spare>>();
  std::unique_ptr<Heap> h;
  explicit fixture(typename Heap::mapper_type m = {})
      : h(std::make_unique<Heap>(vmh::external_range{mem->bytes, Size}, m)) {}
  std::byte* base() const { return mem->bytes; }
  std::size_t off(const void* p) const { return static_cast<std::size_t>(static_cast<const std::byte*>(p) - base()); }
  std::byte* at(std::size_t offset) const { return base() + offset; }
  std::byte* block(std::size_t b, std::size_t i) const {
    const auto& g = h->geometry();
    return at(g.block_offset(g.buckets[b], i));
  }
  // The bucket containing an offset: each bucket's blocks (and guard pages) follow the last.
  std::size_t bucket_of(const void* p) const {
    const auto& g = h->geometry();
    const std::size_t o = off(p);
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const auto& bg = g.buckets[b];
      if (o >= bg.offset && o < bg.offset + bg.stride * bg.block_count) return b;
    }
    return g.bucket_count;
  }
  heap_state<Heap> state() const { return heap_state<Heap>(*h, base()); }
};

// Checks that the heap is as `before` apart from what `allowed` permits, and that it validates.
template <class Heap>
void check_unchanged(const heap_state<Heap>& before, const Heap& h, const std::byte* base, allowed_changes allowed = {}) {
  const std::string diff = changes(before, heap_state<Heap>(h, base), allowed);
  INFO("changed: " << diff);
  CHECK(diff.empty());
  const auto c = h.validate();
  INFO("invariant: " << vmh::to_string(c.broken));
  CHECK(c);
}

// The pages touched by a set of live byte ranges [offset, offset + size).
inline std::size_t pages_touched(const std::vector<std::pair<std::size_t, std::size_t>>& live,
                                 std::size_t page_size = page) {
  std::set<std::size_t> pages;
  for (const auto& [o, s] : live)
    for (std::size_t p = o / page_size; p < ceil_div(o + s, page_size); ++p) pages.insert(p);
  return pages.size();
}

// A byte pattern that depends on an allocation's id and the byte's position.
inline std::byte pattern(std::uint64_t id, std::size_t i) {
  return static_cast<std::byte>((id * 0x9e3779b97f4a7c15ull >> 56) ^ (i * 31) ^ (i >> 8));
}
inline void fill(void* p, std::size_t n, std::uint64_t id, std::size_t from = 0) {
  auto* b = static_cast<std::byte*>(p);
  for (std::size_t i = from; i < n; ++i) b[i] = pattern(id, i);
}
inline bool intact(const void* p, std::size_t n, std::uint64_t id) {
  const auto* b = static_cast<const std::byte*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != pattern(id, i)) return false;
  return true;
}

// The first bucket of a table whose blocks hold `size`.
template <std::size_t N>
std::size_t expected_bucket(const vmh::bucket_table<N>& t, std::size_t size) {
  std::size_t b = 0;
  while (b < N && t.buckets[b].block_size < size) ++b;
  return b;
}

}  // namespace vmh_test
