// Definitions of the Zephyr stand-in calls; see zephyr_standin.hpp.
#include "zephyr_standin.hpp"

#include <cerrno>
#include <string>

#include <zephyr/drivers/mm/system_mm.h>
#include <zephyr/kernel.h>
#include <zephyr/spinlock.h>

struct vmh_standin_kernel_state vmh_standin_kernel = {};

namespace standin {

driver_state& state() {
  static driver_state s;
  return s;
}

void reset(std::size_t free_pages) {
  state() = driver_state{};
  state().free_pages = free_pages;
}

namespace {
bool page_aligned(std::uintptr_t v) { return v % page == 0; }
void misuse(const std::string& what, std::uintptr_t virt) {
  state().errors.push_back(what + " at 0x" + std::to_string(virt));
}
}  // namespace

}  // namespace standin

extern "C" {

int sys_mm_drv_map_region(void* virt, uintptr_t phys, size_t size, uint32_t flags) {
  auto& s = standin::state();
  const auto v = reinterpret_cast<std::uintptr_t>(virt);
  int result = 0;
  if (!standin::page_aligned(v) || size == 0 || size % standin::page != 0 || !standin::page_aligned(phys)) {
    standin::misuse("unaligned map", v);
    result = -EINVAL;
  } else {
    // Page by page; running out of physical pages leaves the pages mapped so far mapped.
    for (std::size_t off = 0; off < size; off += standin::page) {
      if (s.pages.count(v + off) != 0) {
        standin::misuse("page mapped twice", v + off);
        result = -EFAULT;
        break;
      }
      if (s.free_pages == 0) {
        result = -ENOMEM;
        break;
      }
      --s.free_pages;
      std::uintptr_t p = phys;
      if (p == 0) {
        p = s.next_phys;
        s.next_phys += standin::page;
      } else {
        p += off;
      }
      s.pages[v + off] = p;
    }
  }
  s.calls.push_back({standin::op::map, v, size, phys, flags, s.held != 0, result});
  return result;
}

int sys_mm_drv_unmap_region(void* virt, size_t size) {
  auto& s = standin::state();
  const auto v = reinterpret_cast<std::uintptr_t>(virt);
  int result = 0;
  if (!standin::page_aligned(v) || size == 0 || size % standin::page != 0) {
    standin::misuse("unaligned unmap", v);
    result = -EINVAL;
  } else {
    for (std::size_t off = 0; off < size; off += standin::page) {
      if (s.pages.erase(v + off) == 0) {
        standin::misuse("unmap of an unmapped page", v + off);
        result = -EFAULT;
        continue;
      }
      ++s.free_pages;
    }
  }
  s.calls.push_back({standin::op::unmap, v, size, 0, 0, s.held != 0, result});
  return result;
}

int sys_mm_drv_page_phys_get(void* virt, uintptr_t* phys) {
  auto& s = standin::state();
  const auto v = reinterpret_cast<std::uintptr_t>(virt);
  const auto it = s.pages.find(v);
  const int result = it == s.pages.end() ? -EFAULT : 0;
  if (result == 0 && phys != nullptr) *phys = it->second;
  s.calls.push_back({standin::op::phys_get, v, standin::page, 0, 0, s.held != 0, result});
  return result;
}

k_spinlock_key_t k_spin_lock(struct k_spinlock* l) {
  auto& s = standin::state();
  if (l->locked != 0) standin::misuse("spinlock taken twice", reinterpret_cast<std::uintptr_t>(l));
  l->locked = 1;
  ++s.held;
  ++s.locks;
  s.keys.push_back(++s.last_key);
  return k_spinlock_key_t{s.last_key};
}

void k_spin_unlock(struct k_spinlock* l, k_spinlock_key_t key) {
  auto& s = standin::state();
  if (l->locked == 0) standin::misuse("spinlock released while free", reinterpret_cast<std::uintptr_t>(l));
  // Nested spinlocks (the trace recorder's around the heap's) release innermost first.
  if (s.keys.empty() || key.key != s.keys.back())
    standin::misuse("spinlock released with another key", reinterpret_cast<std::uintptr_t>(l));
  if (!s.keys.empty()) s.keys.pop_back();
  l->locked = 0;
  --s.held;
  ++s.unlocks;
}

}  // extern "C"
