// The heaps of the vmh ztest suites, their windows and the checks every suite runs after each
// test. The windows lie in the NOLOAD linker section .vmh_test_windows (windows.ld), so the heaps
// sit in the image's real memory layout, beside the window of CONFIG_VMH_HEAP.
#pragma once

#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include <vmh/vmh.hpp>
#include <vmh/zephyr/spinlock.hpp>

namespace vmh_test {

constexpr std::size_t page = 4096;

// The API heap: three buckets (32 x 64 B, 4 x 512 B, 1 x 8 KiB: 12 KiB of virtual range) and a
// page pool of 8 KiB (two pages), so that every error of the API can be reached. Shared with the
// threads suite, hence the Zephyr spinlock.
inline constexpr auto api_table = vmh::make_table({{64, 32}, {512, 4}, {8192, 1}});
using api_layout = vmh::fixed_layout<api_table>;
using api_heap_type = vmh::heap<api_layout, vmh::counting_mapper, vmh::external_range, vmh::zephyr::spinlock>;
constexpr std::size_t api_budget = 8 * 1024;
extern api_heap_type api_heap;
extern std::byte api_window[api_layout::virtual_size];

// A heap whose layout is given at run time (configure), over an 8 KiB window.
using runtime_heap_type = vmh::heap<vmh::runtime_layout<4, 64, 8>, vmh::counting_mapper, vmh::external_range>;
constexpr std::size_t runtime_window_size = 8 * 1024;
extern runtime_heap_type runtime_heap;
extern std::byte runtime_window[runtime_window_size];

// The window the sys_mm_drv stand-in maps (mapper.cpp): 12 KiB.
inline constexpr auto mm_table = vmh::make_table({{256, 16}, {4096, 2}});
using mm_layout = vmh::fixed_layout<mm_table>;
extern std::byte mm_window[mm_layout::virtual_size];

// Fails the test (and names the heap and the invariant) unless h.validate() holds.
template <class Heap>
void expect_valid(const Heap& h, const char* name) {
  const vmh::check c = h.validate();
  zassert_true(static_cast<bool>(c), "%s: validate(): %s (bucket %u, index %u)", name, vmh::to_string(c.broken),
               static_cast<unsigned>(c.bucket), static_cast<unsigned>(c.index));
}

// The `after` hook of every suite: each heap valid and empty, nothing left mapped.
void after_each(void*);

// Linker symbols of windows.ld and of the generated section of CONFIG_VMH_HEAP.
extern "C" char __vmh_test_windows_start[], __vmh_test_windows_end[];
extern "C" char __vmh_heap_window_start[], __vmh_heap_window_end[];

}  // namespace vmh_test
