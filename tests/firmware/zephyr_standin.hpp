// A recording stand-in for the Zephyr calls of vmh/zephyr/*.hpp (declared in zephyr_standin/):
// a memory-management driver that maps page by page from a pool of physical pages, like the
// Intel ADSP TLB driver, and a spinlock that checks its keys. Tests read what was called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace standin {

inline constexpr std::size_t page = CONFIG_MM_DRV_PAGE_SIZE;

enum class op { map, unmap, phys_get };

struct call {
  op kind;
  std::uintptr_t virt;
  std::size_t size;
  std::uintptr_t phys;  ///< map: the physical address passed
  std::uint32_t flags;
  bool lock_held;       ///< a k_spinlock was held during the call
  int result;
};

struct driver_state {
  std::vector<call> calls;
  std::map<std::uintptr_t, std::uintptr_t> pages;  ///< mapped virtual page -> physical page
  std::size_t free_pages = 1u << 20;               ///< physical pages left in the pool
  std::uintptr_t next_phys = 0x40000000;           ///< next page the pool hands out for phys == 0
  std::vector<std::string> errors;                 ///< API misuse seen by the stand-in
  // spinlock
  int held = 0;
  std::size_t locks = 0;
  std::size_t unlocks = 0;
  int last_key = 0;
  std::vector<int> keys;  ///< the keys of the spinlocks held, innermost last (nested locks release in LIFO order)

  std::vector<call> of(op kind) const {
    std::vector<call> out;
    for (const call& c : calls)
      if (c.kind == kind) out.push_back(c);
    return out;
  }
};

/// The stand-in's state; reset() empties it and sets the physical pool.
driver_state& state();
void reset(std::size_t free_pages = 1u << 20);

}  // namespace standin
