// Tests of SOF's two-heap baselines over the models (bench/baselines/sof_heaps.hpp): the budget
// split, the cached system heap, the range loop's fallback per step, buffer_set_size, and the
// bookkeeping taken from the system heap.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "baselines/sof_heaps.hpp"
#include "catch.hpp"

using namespace vmh::baseline;

namespace {

constexpr std::size_t KiB = 1024, page = 4096;
using today = sof_today_heaps<model_system_heap, model_vmh>;
using vpage = sof_vpage_heaps<model_system_heap, model_vpage>;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

today make_today(std::size_t physical, bool charge = true) {
  const sof_split s = split_budget(physical, page);
  return today(model_system_heap(s.system_bytes), page, std::span<const sof_bundle>(sof_1mib_table), page,
               s.virtual_pages, charge);
}

vpage make_vpage(std::size_t physical, bool charge = true) {
  const sof_split s = split_budget(physical, page, charge ? sof_vpage_model::context_bytes : 0);
  return vpage(model_system_heap(s.system_bytes), page, s.virtual_pages, page, charge);
}

}  // namespace

TEST_CASE("sof heaps: the budget split 256 : 1024, scaled", "[sof_heaps]") {
  const sof_split mib = split_budget(1024 * KiB, page);
  CHECK(mib.virtual_pages == 204u);  // 1 MiB * 1024 / 1280 = 819.2 KiB: 204 whole pages
  CHECK(mib.system_bytes == 1024 * KiB - 204 * page);
  const sof_split sof = split_budget(1280 * KiB, page);  // SOF's own sizes
  CHECK(sof.virtual_pages == 256u);
  CHECK(sof.system_bytes == 256 * KiB);
  const sof_split with_static = split_budget(1024 * KiB, page, 592);
  CHECK(with_static.virtual_pages == 204u);
  CHECK(with_static.system_bytes + with_static.virtual_pages * page + 592 == 1024 * KiB);
  CHECK(split_budget(1000, page).virtual_pages == 0u);
}

TEST_CASE("sof heaps: the cached system heap aligns to 64 B and rounds sizes to 64 B", "[sof_heaps]") {
  model_system_heap sys(64 * KiB);
  void* a = cached_alloc(sys, 0, 1);
  void* b = cached_alloc(sys, 8, 65);
  void* c = cached_alloc(sys, 256, 1);
  REQUIRE((a && b && c));
  CHECK(addr(a) % 64 == 0u);
  CHECK(addr(b) % 64 == 0u);
  CHECK(addr(c) % 256 == 0u);
  CHECK(addr(b) - addr(a) >= 64u);   // 1 byte took a whole line
  CHECK(addr(c) - addr(b) >= 128u);  // 65 bytes took two
  CHECK(cached_alloc(sys, 0, 0) == nullptr);
  CHECK(cached_alloc(sys, 0, SIZE_MAX - 10) == nullptr);  // no wrap to a small size
  CHECK(sys.validate());
}

TEST_CASE("sof_today: component buffers on the VMH, DMA buffers on the system heap first", "[sof_heaps]") {
  today h = make_today(1024 * KiB);
  REQUIRE(h.virtual_heap().valid());
  void* component = h.allocate(1000, 64);
  REQUIRE(component != nullptr);
  CHECK(h.virtual_heap().owns(component));  // the VMH, though the system heap has room
  const range_grant dma = h.allocate_range(16 * KiB, 64 * KiB, 64);
  REQUIRE(dma.ptr != nullptr);
  CHECK(h.system().owns(dma.ptr));
  CHECK(dma.size == 64 * KiB);
  CHECK(addr(dma.ptr) % 64 == 0u);
  CHECK(h.validate());
}

TEST_CASE("sof_today: each step of the range loop tries the system heap, then the VMH", "[sof_heaps]") {
  today h = make_today(1024 * KiB);
  // Fill the system heap with DMA buffers until the largest step no longer fits there.
  std::vector<void*> dma;
  while (true) {
    const range_grant g = h.allocate_range(32 * KiB, 32 * KiB, 64);
    REQUIRE(g.ptr != nullptr);
    if (!h.system().owns(g.ptr)) {
      // The same size went to the VMH: its 64 KiB blocks are the first that hold 32 KiB.
      CHECK(h.virtual_heap().owns(g.ptr));
      break;
    }
    dma.push_back(g.ptr);
  }
  CHECK(dma.size() >= 5u);
  // A range whose first step fits neither heap steps down; each smaller step asks the system
  // heap first: 8 KiB fits in what the system heap has left.
  const range_grant g = h.allocate_range(8 * KiB, 512 * KiB + 8 * KiB, 64);
  REQUIRE(g.ptr != nullptr);
  CHECK(g.size == 512 * KiB);  // the VMH's 512 KiB block holds it before any smaller step
  CHECK(h.virtual_heap().owns(g.ptr));
  CHECK(h.validate());
}

TEST_CASE("sof_today: the VMH's bookkeeping comes out of the system heap", "[sof_heaps]") {
  today charged = make_today(1024 * KiB);
  today free_of_it = make_today(1024 * KiB, false);
  CHECK(charged.virtual_heap().metadata_bytes() == sof_vmh_model::metadata_bytes(sof_1mib_table));
  CHECK(free_of_it.virtual_heap().metadata_bytes() == charged.virtual_heap().metadata_bytes());  // kept, not charged
  // The charged system heap has about 3 KiB less room: its structures, 46 allocations of at least
  // a cache line each.
  const std::size_t most = charged.system().bytes() - 3 * KiB;
  CHECK(cached_alloc(free_of_it.system(), 0, most) != nullptr);
  CHECK(cached_alloc(charged.system(), 0, most) == nullptr);
  // A system heap too small for the bookkeeping: SOF's init fails, no VMH serves anything.
  const sof_split tiny = split_budget(16 * KiB, page);
  today none(model_system_heap(tiny.system_bytes), page, std::span<const sof_bundle>(sof_1mib_table), page,
             tiny.virtual_pages, true);
  CHECK(none.virtual_heap().bookkeeping_failed());
  CHECK(none.allocate(100, 0) == nullptr);
}

TEST_CASE("sof heaps: a resize allocates the new size, then frees the old block", "[sof_heaps]") {
  today h = make_today(1024 * KiB);
  const range_grant g = h.allocate_range(4 * KiB, 8 * KiB, 64);
  REQUIRE(g.ptr != nullptr);
  SECTION("a grow that succeeds moves the block") {
    void* grown = h.resize(g.ptr, g.size, 16 * KiB);
    REQUIRE(grown != nullptr);
    CHECK(grown != g.ptr);
    CHECK(h.free(grown));
    CHECK_FALSE(h.free(g.ptr));  // the old block went
  }
  SECTION("a grow that fails keeps the old block") {
    CHECK(h.resize(g.ptr, g.size, 4096 * KiB) == nullptr);
    CHECK(h.free(g.ptr));
  }
  SECTION("a shrink that fails keeps the old block, smaller") {
    // Exhaust both heaps with 1 KiB DMA buffers, then shrink: no new block can be had.
    while (h.allocate_range(1024, 1024, 64).ptr != nullptr) {
    }
    CHECK(h.resize(g.ptr, g.size, 4 * KiB) == g.ptr);
    CHECK(h.free(g.ptr));
  }
  SECTION("the same size and a size of 0") {
    CHECK(h.resize(g.ptr, g.size, g.size) == g.ptr);
    CHECK(h.resize(g.ptr, g.size, 0) == nullptr);
    CHECK(h.free(g.ptr));
  }
  CHECK(h.validate());
}

TEST_CASE("sof_vpage: page runs for ranges and for a page or more, the system heap below", "[sof_heaps]") {
  vpage h = make_vpage(1024 * KiB);
  void* small = h.allocate(4095, 64);
  void* large = h.allocate(4097, 64);
  const range_grant dma = h.allocate_range(768, 1536, 64);  // a range below a page: a page run too
  REQUIRE((small && large && dma.ptr));
  CHECK(h.system().owns(small));
  CHECK(h.virtual_heap().owns(large));
  CHECK(h.virtual_heap().owns(dma.ptr));
  CHECK(dma.size == 1536u);
  CHECK(h.virtual_heap().mapped_pages() == 3u);  // 2 pages + 1 page, mapped at once
  CHECK(h.committed_bytes() == h.system().bytes() + 3 * page);
  CHECK(h.allocate(8 * KiB, 2 * page) == nullptr);  // no alignment above a page
  CHECK(h.virtual_heap().metadata_bytes() == sof_vpage_model::context_bytes + sof_vpage_model::bitmap_bytes(204));
  CHECK(h.free(large));
  CHECK(h.virtual_heap().mapped_pages() == 1u);
  CHECK(h.validate());
}
