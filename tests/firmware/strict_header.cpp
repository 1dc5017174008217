// The firmware headers (C API, Zephyr mapper and spinlock) in a strict translation unit:
// -Wall -Wextra -Wpedantic -Werror -fno-exceptions -fno-rtti (see CMakeLists.txt). Compiled,
// never run; the Zephyr headers are the stand-ins of zephyr_standin/.
#include <vmh/c/vmh.h>
#include <vmh/c/trace.h>
#include <vmh/c_api.hpp>
#include <vmh/recorder.hpp>
#include <vmh/vmh.hpp>
#include <vmh/zephyr/mm_mapper.hpp>
#include <vmh/zephyr/spinlock.hpp>

#include <cstddef>

namespace vmh_firmware_strict {

inline constexpr auto table = vmh::make_table({{64, 64}, {1024, 12}, {16384, 4}});
using layout = vmh::fixed_layout<table>;
using counting_heap = vmh::heap<layout, vmh::counting_mapper>;
using zephyr_heap = vmh::heap<layout, vmh::zephyr::mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
using budget_heap = vmh::heap<layout, vmh::zephyr::budgeted_mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
static_assert(vmh::zephyr::page_size_matches<layout>());

alignas(4096) std::byte window[layout::virtual_size];
zephyr_heap zh{vmh::external_range{window, sizeof window}};
budget_heap bh{vmh::external_range{window, sizeof window}, vmh::zephyr::budgeted_mm_mapper<>{1u << 16}};

// A recorded heap as the firmware would have it: a ring under the Zephyr lock, the recorder
// behind the C API, the ring drained from C.
vmh::trace_ring<8192, vmh::zephyr::spinlock> ring;
vmh::recorder<zephyr_heap, decltype(ring), vmh::zephyr::spinlock> recorded{zh, ring};

}  // namespace vmh_firmware_strict

VMH_C_API(strict_r, vmh_firmware_strict::recorded);
VMH_C_TRACE_RING(strict_r, vmh_firmware_strict::ring);
VMH_C_API_DEFINE(strict_a, vmh_firmware_strict::counting_heap);
VMH_C_API(strict_z, vmh_firmware_strict::zh);
VMH_C_API(strict_b, vmh_firmware_strict::bh);

// Members the C API does not reach.
std::size_t vmh_firmware_strict_check() {
  using namespace vmh_firmware_strict;
  vmh::zephyr::mm_mapper<> linear{window, 0x1000};
  std::byte* p = window;
  std::size_t n = linear.map(p, 4096) ? 1u : 0u;
  linear.unmap(p, 4096);
  n += linear.mapped() + linear.map_failures() + linear.unmap_failures();
  n += bh.mapper().available() + bh.mapper().budget();
  vmh::zephyr::budgeted_mm_mapper<> linear_budget{1u << 16, window, 0x1000};
  n += linear_budget.available();
  return n;
}
