// Suite vmh_mm_driver: vmh::zephyr::mm_mapper and budgeted_mm_mapper against a stand-in of the
// sys_mm_drv driver API (<zephyr/drivers/mm/system_mm.h>, the calls of Intel's ADSP TLB driver),
// defined here since these boards have no memory-management hardware. The stand-in keeps a page
// table over the test window, maps a region page by page as the ADSP driver does, and fails the
// n-th page or the n-th unmap on demand: the mapper must then undo what was mapped, so a refused
// map leaves nothing mapped (all or nothing).

// These boards have no CONFIG_MM_DRV: the stand-in's page size plays CONFIG_MM_DRV_PAGE_SIZE.
#define CONFIG_MM_DRV_PAGE_SIZE 4096
#include <vmh/zephyr/mm_mapper.hpp>

#include <errno.h>

#include "heaps.hpp"

using namespace vmh_test;
using vmh::status;

namespace vmh_test {
alignas(page) std::byte mm_window[mm_layout::virtual_size] __attribute__((section(".vmh_test_windows")));
}

namespace {

constexpr std::size_t mm_pages = mm_layout::virtual_size / page;

// The stand-in driver's state.
struct driver {
  bool mapped[mm_pages];
  std::uintptr_t phys[mm_pages];
  std::uint32_t flags[mm_pages];
  int map_calls, unmap_calls;
  int fail_page;   // the n-th page map from now fails (0: none)
  int fail_unmap;  // the n-th unmap call from now fails (0: none)
  std::uintptr_t next_phys;
} drv;

void reset_driver() { drv = driver{}; }

int page_of(void* virt, std::size_t* out) {
  const std::uintptr_t v = reinterpret_cast<std::uintptr_t>(virt), base = reinterpret_cast<std::uintptr_t>(mm_window);
  if (v < base || v >= base + sizeof mm_window || (v - base) % page != 0) return -EINVAL;
  *out = (v - base) / page;
  return 0;
}

int mapped_pages() {
  int n = 0;
  for (bool m : drv.mapped) n += m ? 1 : 0;
  return n;
}

}  // namespace

extern "C" {

// Maps page by page, as the ADSP TLB driver does: a failure part-way leaves the earlier pages
// mapped (the mapper must undo them). phys 0 means "any free page".
int sys_mm_drv_map_region(void* virt, uintptr_t phys, size_t size, uint32_t flags) {
  ++drv.map_calls;
  if (size % page != 0) return -EINVAL;
  for (std::size_t off = 0; off < size; off += page) {
    std::size_t p = 0;
    if (page_of(static_cast<std::byte*>(virt) + off, &p) != 0 || drv.mapped[p]) return -EFAULT;
    if (drv.fail_page != 0 && --drv.fail_page == 0) return -ENOMEM;
    drv.mapped[p] = true;
    drv.phys[p] = phys != 0 ? phys + off : 0x80000000u + (drv.next_phys++) * page;
    drv.flags[p] = flags;
  }
  return 0;
}

int sys_mm_drv_unmap_region(void* virt, size_t size) {
  ++drv.unmap_calls;
  if (drv.fail_unmap != 0 && --drv.fail_unmap == 0) return -EFAULT;
  for (std::size_t off = 0; off < size; off += page) {
    std::size_t p = 0;
    if (page_of(static_cast<std::byte*>(virt) + off, &p) != 0 || !drv.mapped[p]) return -EFAULT;
    drv.mapped[p] = false;
  }
  return 0;
}

int sys_mm_drv_page_phys_get(void* virt, uintptr_t* phys) {
  std::size_t p = 0;
  if (page_of(virt, &p) != 0 || !drv.mapped[p]) return -EFAULT;
  if (phys != nullptr) *phys = drv.phys[p];
  return 0;
}

}  // extern "C"

namespace {

using mm_heap = vmh::heap<mm_layout, vmh::zephyr::mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
using budget_heap = vmh::heap<mm_layout, vmh::zephyr::budgeted_mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
static_assert(vmh::zephyr::page_size_matches<mm_layout>());

void before(void*) { reset_driver(); }
void after(void* f) {
  after_each(f);
  zassert_equal(mapped_pages(), 0, "the driver still has pages of the window mapped");
}

}  // namespace

ZTEST_SUITE(vmh_mm_driver, NULL, NULL, before, after, NULL);

ZTEST(vmh_mm_driver, test_pages_map_and_unmap_with_the_allocations) {
  mm_heap h{vmh::external_range{mm_window, sizeof mm_window}};
  void* small = h.allocate(200);  // a 256 B block: page 0 of the window
  void* big = h.allocate(4096);   // the first 4 KiB block: page 1
  zassert_not_null(small);
  zassert_not_null(big);
  zassert_equal(mapped_pages(), 2);
  zassert_equal(h.mapper().mapped(), 2 * page);
  for (std::size_t p = 0; p < mm_pages; ++p)
    if (drv.mapped[p]) zassert_equal(drv.flags[p], static_cast<std::uint32_t>(SYS_MM_MEM_PERM_RW));
  zassert_equal(h.deallocate(small), status::ok);
  zassert_equal(mapped_pages(), 1, "the small block's page went with its last allocation");
  zassert_equal(h.deallocate(big), status::ok);
  zassert_equal(mapped_pages(), 0);
  expect_valid(h, "mm heap");
}

ZTEST(vmh_mm_driver, test_a_map_that_fails_part_way_leaves_nothing_mapped) {
  using three_page_layout = vmh::fixed_layout<vmh::make_table({{12288, 1}})>;
  static_assert(three_page_layout::virtual_size == sizeof mm_window);
  vmh::heap<three_page_layout, vmh::zephyr::mm_mapper<>, vmh::external_range> h{
      vmh::external_range{mm_window, sizeof mm_window}};
  drv.fail_page = 3;  // the third page of the next map fails, after two were mapped
  const vmh::grant g = h.try_allocate(12288);
  zassert_equal(g.status, status::no_memory);
  zassert_equal(mapped_pages(), 0, "the mapper unmapped the two pages the driver had mapped");
  zassert_equal(h.mapper().mapped(), 0u);
  zassert_equal(h.mapper().map_failures(), 1u);
  zassert_equal(h.stats().failed_no_memory, 1u);
  expect_valid(h, "after a failed map");
  // The same request succeeds once the driver does.
  void* p = h.allocate(12288);
  zassert_not_null(p);
  zassert_equal(mapped_pages(), 3);
  // A resize that fails part-way keeps the allocation as it was.
  zassert_equal(h.resize(p, 4096), status::ok);
  zassert_equal(mapped_pages(), 1);
  drv.fail_page = 2;
  zassert_equal(h.resize(p, 12288), status::no_memory);
  zassert_equal(mapped_pages(), 1, "the pages of the failed growth were undone");
  zassert_equal(h.usable_size(p), page);
  expect_valid(h, "after a failed resize");
  zassert_equal(h.deallocate(p), status::ok);
}

ZTEST(vmh_mm_driver, test_an_unmap_error_is_counted) {
  mm_heap h{vmh::external_range{mm_window, sizeof mm_window}};
  void* p = h.allocate(4096);
  zassert_not_null(p);
  drv.fail_unmap = 1;
  zassert_equal(h.deallocate(p), status::ok, "the heap's block is free whatever the driver said");
  zassert_equal(h.mapper().unmap_failures(), 1u);
  zassert_equal(h.mapper().mapped(), 0u);
  expect_valid(h, "after an unmap error");
  reset_driver();  // the stand-in kept the page: forget it
}

ZTEST(vmh_mm_driver, test_linear_physical_addresses_and_flags) {
  constexpr std::uint32_t uncached = SYS_MM_MEM_PERM_RW | SYS_MM_MEM_CACHE_NONE;
  vmh::heap<mm_layout, vmh::zephyr::mm_mapper<uncached>, vmh::external_range> h{
      vmh::external_range{mm_window, sizeof mm_window}, vmh::zephyr::mm_mapper<uncached>{mm_window, 0x40000000u}};
  void* p = h.allocate(4096);  // the first 4 KiB block: page 1 of the window
  zassert_not_null(p);
  std::uintptr_t phys = 0;
  zassert_equal(sys_mm_drv_page_phys_get(p, &phys), 0);
  zassert_equal(phys, 0x40000000u + (reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(mm_window)));
  zassert_equal(drv.flags[1], uncached);
  zassert_equal(h.deallocate(p), status::ok);
}

ZTEST(vmh_mm_driver, test_a_budget_limits_mapping_without_asking_the_driver) {
  budget_heap h{vmh::external_range{mm_window, sizeof mm_window}, vmh::zephyr::budgeted_mm_mapper<>{2 * page}};
  zassert_equal(h.mapper().available(), 2 * page);
  void* a = h.allocate(4096);
  void* b = h.allocate(100);
  zassert_not_null(a);
  zassert_not_null(b);
  zassert_equal(h.mapper().available(), 0u);
  const int calls = drv.map_calls;
  zassert_equal(h.try_allocate(4096).status, status::no_memory);
  zassert_equal(drv.map_calls, calls, "refused by the budget, not by the driver");
  zassert_equal(h.deallocate(b), status::ok);
  // A range grant is sized to the pages the budget has left.
  const vmh::grant g = h.allocate_range(1024, 4096, 0, 1024);
  zassert_equal(g.status, status::ok);
  zassert_true(g.size >= 1024 && g.size <= 4096);
  zassert_equal(h.deallocate(g.ptr), status::ok);
  zassert_equal(h.deallocate(a), status::ok);
  zassert_equal(h.mapper().available(), 2 * page);
  expect_valid(h, "budgeted heap");
}
