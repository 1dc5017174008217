// The heaps the host tests share: real address space (mmap_range) and real pages (mmap_mapper).
#pragma once

#include <cstddef>

#include <vmh/host/mmap.hpp>
#include <vmh/vmh.hpp>

namespace host_test {

using vmh::external_range;
using vmh::status;
using vmh::host::mmap_mapper;
using vmh::host::mmap_range;

constexpr std::size_t kib = 1024;
constexpr std::size_t page = 4096;

/// 64 B x 64 at 0, 256 B x 32 at 4 KiB, 1 KiB x 16 at 12 KiB, 6 KiB x 8 at 28 KiB (blocks that
/// straddle pages), 64 KiB x 4 at 76 KiB: 332 KiB, 83 pages. Smaller than a huge page, so the
/// kernel never backs it with transparent huge pages and residency stays page by page.
constexpr auto small_table = vmh::make_table({{64, 64}, {256, 32}, {1024, 16}, {6144, 8}, {65536, 4}});
using small_layout = vmh::fixed_layout<small_table>;
using small_heap = vmh::heap<small_layout, mmap_mapper, external_range>;

/// 64 B x 1024, 256 B x 256, 1 KiB x 128, 4 KiB x 64, 16 KiB x 16, 64 KiB x 8, 256 KiB x 4:
/// 2.25 MiB, room for standard containers.
constexpr auto container_table =
    vmh::make_table({{64, 1024}, {256, 256}, {1024, 128}, {4096, 64}, {16384, 16}, {65536, 8}, {262144, 4}});
using container_layout = vmh::fixed_layout<container_table>;
using container_heap = vmh::heap<container_layout, mmap_mapper, external_range>;

/// A heap over its own reservation of address space.
template <class Heap>
struct own_range_heap {
  explicit own_range_heap(std::size_t budget = mmap_mapper::max_budget) : heap{range.view(), mmap_mapper{budget}} {}
  mmap_range range{Heap::layout_type::virtual_size};
  Heap heap;
};

/// True when the heap holds nothing: no live allocation, no page mapped (by the heap or the
/// mapper), and every invariant holds.
template <class Heap>
bool empty(const Heap& h) {
  const vmh::heap_stats s = h.stats();
  return s.live_allocations == 0 && s.pages_mapped == 0 && h.mapper().mapped() == 0 && static_cast<bool>(h.validate());
}

}  // namespace host_test
