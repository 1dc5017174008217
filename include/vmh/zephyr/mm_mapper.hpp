// Page mapper over Zephyr's memory-management driver API (drivers/mm/system_mm.h): the heap's
// virtual pages get physical pages through sys_mm_drv_map_region and lose them through
// sys_mm_drv_unmap_region, as on Intel ADSP (ACE) DSPs, where the driver programs the TLB.
//
//     using layout = vmh::fixed_layout<my_table>;   // my_table.page_size == CONFIG_MM_DRV_PAGE_SIZE
//     using heap = vmh::heap<layout, vmh::zephyr::mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
//     static_assert(vmh::zephyr::page_size_matches<layout>());
//     heap h{vmh::external_range{virtual_window, window_bytes}};
//
// Physical addresses: by default every map call passes phys = 0, which the Intel ADSP TLB
// driver reads as "take any free physical pages" (the pages of a region need not be
// contiguous). For a driver that needs real addresses, construct the mapper with a virtual and
// a physical base: virtual address v is then mapped to phys_base + (v - virt_base).
//
// All or nothing: a driver may map part of a region before it fails (it maps page by page).
// When sys_mm_drv_map_region fails, the mapper asks the driver which pages of the range are
// mapped (sys_mm_drv_page_phys_get) and unmaps exactly those, so the heap's rule "a refused map
// leaves nothing mapped" holds.
//
// Requires Zephyr's build (autoconf.h gives CONFIG_MM_DRV_PAGE_SIZE) and the driver API header.
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

// The driver header's flags use BIT() without including the header that defines it (Zephyr 4.0).
#include <zephyr/sys/util.h>
#include <zephyr/drivers/mm/system_mm.h>

#include <cstddef>
#include <cstdint>

#ifndef CONFIG_MM_DRV_PAGE_SIZE
#error "vmh/zephyr/mm_mapper.hpp needs CONFIG_MM_DRV_PAGE_SIZE (enable a memory-management driver: CONFIG_MM_DRV)"
#endif

namespace vmh::zephyr {

/// The page size of the memory-management driver.
inline constexpr std::size_t mm_page_size = CONFIG_MM_DRV_PAGE_SIZE;

/// True when a fixed layout's pages are the driver's pages (use in a static_assert). A runtime
/// layout is checked when it is configured: pass mm_page_size to heap::configure.
template <class Layout>
constexpr bool page_size_matches() noexcept {
  return Layout::page_size == mm_page_size;
}

/// Maps and unmaps through sys_mm_drv_map_region / sys_mm_drv_unmap_region with `Flags`
/// (default: read/write, write-back cached). Counts the bytes it has mapped, so that
/// heap::validate can check them against the heap's page counts.
template <std::uint32_t Flags = SYS_MM_MEM_PERM_RW>
class mm_mapper {
 public:
  /// The driver's page size: the heap's page size must equal it.
  static constexpr std::size_t page_size = mm_page_size;
  /// The sys_mm_drv flags every map call passes.
  static constexpr std::uint32_t flags = Flags;

  /// The driver chooses the physical pages (phys = 0).
  constexpr mm_mapper() noexcept = default;
  /// Linear: virtual address v maps to phys_base + (v - virt_base).
  mm_mapper(const void* virt_base, std::uintptr_t phys_base) noexcept
      : virt_base_(reinterpret_cast<std::uintptr_t>(virt_base)), phys_base_(phys_base), linear_(true) {}

  /// Maps [addr, addr + bytes) with `Flags`. Returns true on success; on a driver error, unmaps
  /// the pages the driver did map, counts a map failure and returns false.
  bool map(std::byte* addr, std::size_t bytes) noexcept {
    if (sys_mm_drv_map_region(addr, phys_of(addr), bytes, Flags) == 0) {
      mapped_ += bytes;
      return true;
    }
    ++map_failures_;
    unmap_leftovers(addr, bytes);
    return false;
  }

  /// Unmaps [addr, addr + bytes). Requires: a range `map` accepted (or part of one).
  void unmap(std::byte* addr, std::size_t bytes) noexcept {
    // The heap unmaps only ranges that map() accepted; a driver error here is a driver bug,
    // counted for diagnostics (the pages are the driver's from now on either way).
    if (sys_mm_drv_unmap_region(addr, bytes) != 0) ++unmap_failures_;
    mapped_ -= bytes;
  }

  /// Bytes mapped through this mapper and not unmapped since.
  constexpr std::size_t mapped() const noexcept { return mapped_; }
  /// Map calls the driver refused.
  constexpr std::size_t map_failures() const noexcept { return map_failures_; }
  /// Unmap calls the driver reported an error for.
  constexpr std::size_t unmap_failures() const noexcept { return unmap_failures_; }

 private:
  std::uintptr_t phys_of(const std::byte* addr) const noexcept {
    return linear_ ? phys_base_ + (reinterpret_cast<std::uintptr_t>(addr) - virt_base_) : 0;
  }

  /// After a failed map: unmaps the pages of [addr, addr + bytes) that the driver did map.
  static void unmap_leftovers(std::byte* addr, std::size_t bytes) noexcept {
    for (std::size_t off = 0; off < bytes; off += page_size) {
      std::uintptr_t phys = 0;
      if (sys_mm_drv_page_phys_get(addr + off, &phys) == 0) (void)sys_mm_drv_unmap_region(addr + off, page_size);
    }
  }

  std::size_t mapped_ = 0;
  std::size_t map_failures_ = 0;
  std::size_t unmap_failures_ = 0;
  std::uintptr_t virt_base_ = 0;
  std::uintptr_t phys_base_ = 0;
  bool linear_ = false;
};

/// An mm_mapper limited to `budget` bytes: it refuses a map past the budget without calling
/// the driver and reports `available()`, so that heap::allocate_range sizes a grant to the
/// physical memory the heap may still use (the heap's share of the SRAM, for instance).
template <std::uint32_t Flags = SYS_MM_MEM_PERM_RW>
class budgeted_mm_mapper : public mm_mapper<Flags> {
  using base = mm_mapper<Flags>;

 public:
  constexpr budgeted_mm_mapper() noexcept = default;
  /// Maps at most `budget` bytes at once; the driver chooses the physical pages. (The default
  /// constructor's budget is 0: it maps nothing.)
  constexpr explicit budgeted_mm_mapper(std::size_t budget) noexcept : budget_(budget) {}
  /// Maps at most `budget` bytes at once, linearly: virtual address v to phys_base + (v - virt_base).
  budgeted_mm_mapper(std::size_t budget, const void* virt_base, std::uintptr_t phys_base) noexcept
      : base(virt_base, phys_base), budget_(budget) {}

  /// As `mm_mapper::map`, but returns false without calling the driver when `bytes` exceed `available()`.
  bool map(std::byte* addr, std::size_t bytes) noexcept {
    if (bytes > available()) return false;
    return base::map(addr, bytes);
  }

  /// Bytes that can still be mapped: the budget less what is mapped.
  constexpr std::size_t available() const noexcept { return budget_ - this->mapped(); }
  /// Most bytes mapped at once.
  constexpr std::size_t budget() const noexcept { return budget_; }

 private:
  std::size_t budget_ = 0;
};

}  // namespace vmh::zephyr
