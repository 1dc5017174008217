// Suite vmh_memory_layout: the heaps' windows are sections of the image's real memory layout:
// the test windows in .vmh_test_windows (windows.ld) and the window of CONFIG_VMH_HEAP in the
// section the module generates; both page-aligned, within the board's RAM where Kconfig names
// it, and each heap hands out only addresses of its own window.
#include <vmh/zephyr/heap.h>

#include "heaps.hpp"

using namespace vmh_test;

namespace {
std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// [start, end) lies in the board's RAM, when its Kconfig says where that is.
bool in_ram(std::uintptr_t start, std::uintptr_t end) {
#if defined(CONFIG_SRAM_BASE_ADDRESS) && defined(CONFIG_SRAM_SIZE) && !defined(CONFIG_ARCH_POSIX)
  const std::uintptr_t base = CONFIG_SRAM_BASE_ADDRESS, top = base + std::uintptr_t{CONFIG_SRAM_SIZE} * 1024;
  return start >= base && end <= top;
#else
  return start < end;  // native_sim: a Linux process; its sections are wherever the host's linker put them
#endif
}
}  // namespace

ZTEST_SUITE(vmh_memory_layout, NULL, NULL, NULL, after_each, NULL);

ZTEST(vmh_memory_layout, test_the_test_windows_form_their_linker_section) {
  const std::uintptr_t start = addr(__vmh_test_windows_start), end = addr(__vmh_test_windows_end);
  zassert_equal(start % page, 0u, "the section starts on a page");
  zassert_equal(end - start, sizeof api_window + sizeof runtime_window + sizeof mm_window,
                "the section holds exactly the three windows");
  for (const std::byte* w : {api_window, runtime_window, mm_window}) {
    zassert_true(addr(w) >= start && addr(w) < end);
    zassert_equal(addr(w) % page, 0u);
  }
  zassert_true(in_ram(start, end), "the section lies in the board's RAM");
  zassert_equal(api_heap.base(), api_window);
  void* p = api_heap.allocate(4000);
  zassert_not_null(p);
  zassert_true(addr(p) >= addr(api_window) && addr(p) + 4000 <= addr(api_window) + sizeof api_window);
  zassert_equal(api_heap.deallocate(p), vmh::status::ok);
}

ZTEST(vmh_memory_layout, test_the_kconfig_heap_window_is_its_own_section) {
  const std::uintptr_t start = addr(__vmh_heap_window_start), end = addr(__vmh_heap_window_end);
  zassert_equal(start % CONFIG_VMH_HEAP_PAGE_SIZE, 0u);
  zassert_true(end - start >= CONFIG_VMH_HEAP_PAGE_SIZE, "the window is at least a page");
  zassert_true(end - start <= CONFIG_VMH_HEAP_PHYSICAL_SIZE, "without a driver the window is at most the RAM given");
  zassert_true(in_ram(start, end));
  const bool disjoint = end <= addr(__vmh_test_windows_start) || start >= addr(__vmh_test_windows_end);
  zassert_true(disjoint, "the two sections do not overlap");
  // Every block the heap hands out lies in the window: allocate until it refuses.
  void* held[64];
  int n = 0;
  while (n < 64 && (held[n] = vmh_heap_alloc(200)) != nullptr) {
    zassert_true(addr(held[n]) >= start && addr(held[n]) + 200 <= end);
    zassert_true(vmh_heap_owns(held[n]));
    ++n;
  }
  zassert_true(n > 0);
  zassert_false(vmh_heap_owns(__vmh_heap_window_end), "one past the window");
  for (int i = 0; i < n; ++i) zassert_equal(vmh_heap_free(held[i]), VMH_OK);
}
