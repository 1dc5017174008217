// vmh::zephyr::mm_mapper and vmh::zephyr::spinlock against the recording stand-in of Zephyr's
// memory-management driver and k_spinlock (zephyr_standin.*): which ranges are mapped and
// unmapped, with which physical addresses and flags, under the lock, and what a driver failure
// part-way through a region leaves behind.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <vector>

#include <vmh/vmh.hpp>
#include <vmh/zephyr/mm_mapper.hpp>
#include <vmh/zephyr/spinlock.hpp>

#include "catch.hpp"
#include "zephyr_standin.hpp"

namespace {

constexpr std::size_t page = standin::page;
// 64 blocks of 256 B (4 pages), 8 of one page, 4 of 32 KiB: 176 KiB.
inline constexpr auto table = vmh::make_table({{256, 64}, {4096, 8}, {32768, 4}}, page);
using layout = vmh::fixed_layout<table>;
static_assert(vmh::zephyr::mm_page_size == 4096);
static_assert(vmh::zephyr::page_size_matches<layout>());

using zephyr_heap = vmh::heap<layout, vmh::zephyr::mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
using budget_heap = vmh::heap<layout, vmh::zephyr::budgeted_mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
static_assert(vmh::page_mapper<vmh::zephyr::mm_mapper<>> && vmh::lock_policy<vmh::zephyr::spinlock>);

// The virtual window: neither the heap nor the mapper touches its bytes.
alignas(4096) std::byte window[layout::virtual_size];
const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(window);
constexpr std::size_t small0 = 0, page0 = 64 * 256, big0 = page0 + 8 * 4096;  // bucket offsets

vmh::external_range range() { return vmh::external_range{window, sizeof window}; }

bool same(const standin::call& c, standin::op kind, std::size_t offset, std::size_t size) {
  return c.kind == kind && c.virt == base + offset && c.size == size;
}

/// Every map and unmap call happened under the heap's spinlock, and the stand-in saw no misuse.
void check_driver_clean() {
  const auto& s = standin::state();
  for (const standin::call& c : s.calls) CHECK(c.lock_held);
  CHECK(s.errors.empty());
  CHECK(s.held == 0);
  CHECK(s.locks == s.unlocks);
}

}  // namespace

TEST_CASE("zephyr mm_mapper: blocks in one page map it once and unmap it with the last free", "[zephyr]") {
  standin::reset();
  zephyr_heap h{range()};
  void* p = h.allocate(100);
  REQUIRE(p == window + small0);
  auto maps = standin::state().of(standin::op::map);
  REQUIRE(maps.size() == 1);
  CHECK(same(maps[0], standin::op::map, small0, page));
  CHECK(maps[0].phys == 0);  // the driver picks the physical page
  CHECK(maps[0].flags == SYS_MM_MEM_PERM_RW);
  CHECK(maps[0].result == 0);

  void* q = h.allocate(200);
  REQUIRE(q == window + small0 + 256);
  CHECK(standin::state().of(standin::op::map).size() == 1);  // same page: no driver call

  REQUIRE(h.deallocate(p) == vmh::status::ok);
  CHECK(standin::state().of(standin::op::unmap).empty());  // q still uses the page
  REQUIRE(h.deallocate(q) == vmh::status::ok);
  auto unmaps = standin::state().of(standin::op::unmap);
  REQUIRE(unmaps.size() == 1);
  CHECK(same(unmaps[0], standin::op::unmap, small0, page));

  CHECK(standin::state().pages.empty());
  CHECK(h.mapper().mapped() == 0);
  CHECK(h.validate());
  check_driver_clean();
}

TEST_CASE("zephyr mm_mapper: a large block maps the requested prefix; resize maps and unmaps its tail", "[zephyr]") {
  standin::reset();
  zephyr_heap h{range()};
  void* a = h.allocate(20000);  // 5 pages of a 32 KiB block
  REQUIRE(a == window + big0);
  auto maps = standin::state().of(standin::op::map);
  REQUIRE(maps.size() == 1);
  CHECK(same(maps[0], standin::op::map, big0, 5 * page));
  CHECK(h.mapper().mapped() == 5 * page);
  CHECK(h.validate());

  REQUIRE(h.resize(a, 30000) == vmh::status::ok);  // pages 5..7
  maps = standin::state().of(standin::op::map);
  REQUIRE(maps.size() == 2);
  CHECK(same(maps[1], standin::op::map, big0 + 5 * page, 3 * page));

  REQUIRE(h.resize(a, 5000) == vmh::status::ok);  // keeps pages 0..1
  auto unmaps = standin::state().of(standin::op::unmap);
  REQUIRE(unmaps.size() == 1);
  CHECK(same(unmaps[0], standin::op::unmap, big0 + 2 * page, 6 * page));
  CHECK(h.mapper().mapped() == 2 * page);
  CHECK(h.validate());

  REQUIRE(h.deallocate(a) == vmh::status::ok);
  unmaps = standin::state().of(standin::op::unmap);
  REQUIRE(unmaps.size() == 2);
  CHECK(same(unmaps[1], standin::op::unmap, big0, 2 * page));
  CHECK(standin::state().pages.empty());
  CHECK(h.mapper().mapped() == 0);
  check_driver_clean();
}

TEST_CASE("zephyr mm_mapper: a driver failure part-way through a region leaves nothing mapped", "[zephyr]") {
  standin::reset(3);  // three physical pages left
  zephyr_heap h{range()};
  const vmh::grant g = h.try_allocate(20000);  // needs five
  CHECK(g.ptr == nullptr);
  CHECK(g.status == vmh::status::no_memory);

  const auto& calls = standin::state().calls;
  REQUIRE(!calls.empty());
  CHECK(same(calls[0], standin::op::map, big0, 5 * page));
  CHECK(calls[0].result != 0);
  // The mapper asked for each page and unmapped the three the driver had mapped.
  const auto unmaps = standin::state().of(standin::op::unmap);
  REQUIRE(unmaps.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(same(unmaps[i], standin::op::unmap, big0 + i * page, page));
  CHECK(standin::state().of(standin::op::phys_get).size() == 5);
  CHECK(standin::state().pages.empty());
  CHECK(standin::state().free_pages == 3);
  CHECK(h.mapper().mapped() == 0);
  CHECK(h.mapper().map_failures() == 1);
  CHECK(h.stats().failed_no_memory == 1);
  CHECK(h.validate());

  // Three pages are enough for 12000 bytes.
  void* b = h.allocate(12000);
  REQUIRE(b == window + big0);
  CHECK(standin::state().pages.size() == 3);
  REQUIRE(h.deallocate(b) == vmh::status::ok);
  CHECK(standin::state().pages.empty());
  CHECK(h.mapper().unmap_failures() == 0);
  check_driver_clean();
}

TEST_CASE("zephyr mm_mapper: linear physical addresses follow the virtual offset", "[zephyr]") {
  standin::reset();
  constexpr std::uintptr_t phys_base = 0x80000000;
  zephyr_heap h{range(), vmh::zephyr::mm_mapper<>{window, phys_base}};
  void* a = h.allocate(100);
  void* b = h.allocate(20000);
  REQUIRE((a != nullptr && b != nullptr));
  const auto maps = standin::state().of(standin::op::map);
  REQUIRE(maps.size() == 2);
  CHECK(maps[0].phys == phys_base + small0);
  CHECK(maps[1].phys == phys_base + big0);
  CHECK(standin::state().pages.at(base + big0 + 4 * page) == phys_base + big0 + 4 * page);
  REQUIRE(h.deallocate(a) == vmh::status::ok);
  REQUIRE(h.deallocate(b) == vmh::status::ok);
  CHECK(standin::state().pages.empty());
  check_driver_clean();
}

TEST_CASE("zephyr mm_mapper: the flags are passed to the driver", "[zephyr]") {
  standin::reset();
  constexpr std::uint32_t flags = SYS_MM_MEM_PERM_RW | SYS_MM_MEM_CACHE_WB | (1u << 4);
  vmh::heap<layout, vmh::zephyr::mm_mapper<flags>, vmh::external_range> h{range()};
  void* a = h.allocate(64);
  REQUIRE(a != nullptr);
  REQUIRE(standin::state().calls.size() == 1);
  CHECK(standin::state().calls[0].flags == flags);
  CHECK(!standin::state().calls[0].lock_held);  // no_lock: the recorder sees no spinlock
  REQUIRE(h.deallocate(a) == vmh::status::ok);
}

TEST_CASE("zephyr budgeted_mm_mapper: range grants fit the budget, and a map past it never reaches the driver",
          "[zephyr]") {
  standin::reset();
  budget_heap h{range(), vmh::zephyr::budgeted_mm_mapper<>{5 * page}};
  CHECK(h.mapper().available() == 5 * page);
  const vmh::grant g = h.allocate_range(page, 8 * page, 0, page);
  REQUIRE(g.ptr != nullptr);
  CHECK(g.size >= page);
  CHECK(g.size <= 5 * page);
  CHECK(g.size % page == 0);
  CHECK(standin::state().pages.size() == g.size / page);
  CHECK(h.mapper().available() == 5 * page - g.size);

  const std::size_t calls_before = standin::state().calls.size();
  const vmh::grant big = h.try_allocate(6 * page);
  CHECK(big.status == vmh::status::no_memory);
  CHECK(standin::state().calls.size() == calls_before);

  REQUIRE(h.deallocate(g.ptr) == vmh::status::ok);
  CHECK(h.mapper().available() == 5 * page);
  CHECK(standin::state().pages.empty());
  CHECK(h.validate());
  check_driver_clean();
}

TEST_CASE("zephyr mm_mapper: under random churn the driver's pages are exactly the live allocations' pages",
          "[zephyr]") {
  standin::reset(20);  // fewer physical pages than the window has: some maps fail
  zephyr_heap h{range()};
  struct live {
    std::uintptr_t at;
    std::size_t size;
  };
  std::vector<live> allocs;
  std::mt19937 rng(20240611);
  auto expected_pages = [&allocs] {
    std::set<std::uintptr_t> pages;
    for (const live& a : allocs)
      for (std::uintptr_t p = a.at / page * page; p < a.at + a.size; p += page) pages.insert(p);
    return pages;
  };
  std::size_t failures = 0;
  for (int step = 0; step < 3000; ++step) {
    const unsigned action = rng() % 10;
    if (action < 5 || allocs.empty()) {
      const std::size_t sizes[] = {8, 100, 256, 1000, 4096, 5000, 20000, 32768};
      const std::size_t n = sizes[rng() % std::size(sizes)] - rng() % 8;
      const vmh::grant g = h.try_allocate(n);
      if (g) allocs.push_back({reinterpret_cast<std::uintptr_t>(g.ptr), n});
      else failures += g.status == vmh::status::no_memory;
    } else if (action < 8) {
      const std::size_t i = rng() % allocs.size();
      REQUIRE(h.deallocate(reinterpret_cast<void*>(allocs[i].at)) == vmh::status::ok);
      allocs.erase(allocs.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      live& a = allocs[rng() % allocs.size()];
      const std::size_t n = 1 + rng() % 32768;
      if (h.resize(reinterpret_cast<void*>(a.at), n) == vmh::status::ok) a.size = n;
    }
    std::set<std::uintptr_t> mapped;
    for (const auto& [virt, phys] : standin::state().pages) mapped.insert(virt);
    REQUIRE(mapped == expected_pages());
    REQUIRE(h.mapper().mapped() == mapped.size() * page);
    REQUIRE(h.validate());
  }
  CHECK(failures > 0);  // the pool ran out at times, and every failure was rolled back
  for (const live& a : allocs) REQUIRE(h.deallocate(reinterpret_cast<void*>(a.at)) == vmh::status::ok);
  CHECK(standin::state().pages.empty());
  CHECK(standin::state().free_pages == 20);
  check_driver_clean();
}
