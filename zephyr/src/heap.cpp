// The heap of CONFIG_VMH_HEAP (zephyr/Kconfig): one vmh heap built from the Kconfig options, and
// its C functions (vmh/zephyr/heap.h). zephyr/CMakeLists.txt compiles this file into the Zephyr
// library vmh_heap and generates the two files it includes:
//  - vmh_heap_window.ld (a linker snippet): the NOLOAD section .vmh_heap_window for the window;
//  - vmh_heap_layout.h: vmh_heap_buckets, the buckets of CONFIG_VMH_HEAP_LAYOUT_FILE, when one is given.
// It checks the scalar options itself (power of two, multiple of the page...) before this file
// is compiled; here the layout is checked against the window, each failure one static_assert
// naming the options involved.
#include <zephyr/kernel.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>

#include <vmh/c_api.hpp>
#include <vmh/vmh.hpp>
#include <vmh/zephyr/heap.h>
#include <vmh/zephyr/spinlock.hpp>

#ifdef CONFIG_MM_DRV
#include <vmh/zephyr/mm_mapper.hpp>
#endif
#ifdef CONFIG_VMH_HEAP_TRACE
#include <vmh/recorder.hpp>
#endif
#ifdef VMH_HEAP_HAS_LAYOUT_FILE
#include "vmh_heap_layout.h"
#endif

namespace {

constexpr std::size_t page = CONFIG_VMH_HEAP_PAGE_SIZE;
constexpr std::size_t physical = CONFIG_VMH_HEAP_PHYSICAL_SIZE;
constexpr std::size_t line = CONFIG_VMH_HEAP_LINE_SIZE;
#ifdef CONFIG_MM_DRV
constexpr bool maps_pages = true;  // the window is virtual: pages come from sys_mm_drv
static_assert(page == vmh::zephyr::mm_page_size, "CONFIG_VMH_HEAP_PAGE_SIZE must equal CONFIG_MM_DRV_PAGE_SIZE");
using mapper_type = vmh::zephyr::budgeted_mm_mapper<>;
#else
constexpr bool maps_pages = false;  // the window is RAM
using mapper_type = vmh::null_mapper;
#endif

// The most bytes the window may have: the option, else without a driver the RAM of the heap,
// else no limit but a layout's own (its range stays below 4 GiB).
constexpr std::size_t window_limit = CONFIG_VMH_HEAP_VIRTUAL_SIZE != 0 ? CONFIG_VMH_HEAP_VIRTUAL_SIZE
                                     : maps_pages                        ? vmh::max_virtual_size
                                                                         : physical;

#ifdef VMH_HEAP_HAS_LAYOUT_FILE
// A layout file's min_align is the widest its block sizes allow, as vmh-sim reads the same file.
constexpr auto table = vmh::make_table(vmh_heap_buckets, page,
                                       vmh::widest_min_align(vmh_heap_buckets, std::size(vmh_heap_buckets)));
constexpr auto file_geometry = vmh::derive_geometry<table.size()>(table.buckets, table.size(), page, table.min_align,
                                                                  SIZE_MAX, SIZE_MAX, SIZE_MAX, false);
static_assert(file_geometry.error != vmh::layout_error::none || file_geometry.virtual_size <= window_limit,
              "CONFIG_VMH_HEAP_LAYOUT_FILE: the layout's virtual range is larger than the window "
              "(CONFIG_VMH_HEAP_VIRTUAL_SIZE, or CONFIG_VMH_HEAP_PHYSICAL_SIZE of RAM without CONFIG_MM_DRV)");
static_assert(file_geometry.error == vmh::layout_error::none,
              "CONFIG_VMH_HEAP_LAYOUT_FILE breaks a layout rule: the 'vmh layout:' error below names it");
#else
// The auto layout. With a memory-management driver it is the auto rule for the physical memory,
// with the configured page and line (each bucket's blocks cover all of it: virtual space is
// cheap). Without one the window is RAM and the layout must fit it: block sizes the powers of two
// from 16 B to an eighth of the window, each bucket covering the window divided by `share`, the
// smallest share that fits. The page then only caps the blocks' alignment (nothing is mapped), so
// the layout's pages are at most that largest block, and its line at most its page.
constexpr std::size_t auto_page = maps_pages ? page : std::min(page, std::bit_floor(window_limit / 8));
constexpr vmh::presets::geometric_params auto_for(std::size_t share) {
  // Over a driver the backing heap packs small requests (auto_params); over plain RAM the window
  // holds buckets alone, shared out below.
  vmh::presets::geometric_params p = vmh::presets::auto_params(maps_pages ? physical : window_limit, auto_page, maps_pages);
  p.line = std::min(line, auto_page);
  if (!maps_pages) {
    p.max_block = window_limit / 8;
    p.overcommit_den = share;
  }
  return p;
}
// The virtual bytes of the auto layout for `share`, or SIZE_MAX when it has none.
constexpr std::size_t auto_virtual_size(std::size_t share) {
  vmh::bucket buckets[vmh::max_buckets]{};
  const std::size_t n = vmh::presets::geometric_buckets(auto_for(share), buckets, vmh::max_buckets);
  if (n == 0) return SIZE_MAX;
  const auto g = vmh::derive_geometry<vmh::max_buckets>(buckets, n, auto_page, auto_for(share).min_align, SIZE_MAX,
                                                        SIZE_MAX, SIZE_MAX, false);
  return g.error == vmh::layout_error::none ? g.virtual_size : SIZE_MAX;
}
// The smallest share whose layout fits the window (the layout shrinks as the share grows); 0: none does.
constexpr std::size_t fitting_share() {
  constexpr std::size_t most = std::size_t{1} << 16;
  if (auto_virtual_size(1) <= window_limit) return 1;
  if (maps_pages || auto_virtual_size(most) > window_limit) return 0;
  std::size_t lo = 1, hi = most;  // lo does not fit, hi does
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    (auto_virtual_size(mid) <= window_limit ? hi : lo) = mid;
  }
  return hi;
}
constexpr std::size_t share = fitting_share();
static_assert(share != 0, "vmh heap: the auto layout does not fit the window: raise CONFIG_VMH_HEAP_VIRTUAL_SIZE (0: the "
                          "layout's own size), or give CONFIG_VMH_HEAP_LAYOUT_FILE");
constexpr auto table = vmh::presets::geometric<auto_for(share != 0 ? share : 1)>();
#endif

using layout = vmh::fixed_layout<table>;
// The window: the layout's range, or the whole configured window when one is given.
constexpr std::size_t window_bytes =
    CONFIG_VMH_HEAP_VIRTUAL_SIZE != 0 ? std::size_t{CONFIG_VMH_HEAP_VIRTUAL_SIZE} : layout::virtual_size;

using base_heap = vmh::heap<layout, mapper_type, vmh::external_range, vmh::zephyr::spinlock,
                            vmh::heap_options{.statistics = IS_ENABLED(CONFIG_VMH_HEAP_STATISTICS) != 0}>;

// Threads waiting for memory (vmh_heap_alloc_wait). A call that may give memory back (a free, a
// successful resize, which may unmap pages) wakes them all: k_sem_reset ends every pending take,
// and the give that follows lets a thread that is about to take return at once rather than
// sleep through this free. A stale count only costs a waiter one more try.
K_SEM_DEFINE(vmh_heap_freed, 0, 1);
atomic_t vmh_heap_waiters = ATOMIC_INIT(0);

void wake_waiters() {
  if (atomic_get(&vmh_heap_waiters) == 0) return;
  k_sem_reset(&vmh_heap_freed);
  k_sem_give(&vmh_heap_freed);
}

// The heap with the two members that give memory back wrapped to wake the waiters; the C API
// (VMH_C_API) calls these, so every C call that frees wakes them.
class kconfig_heap : public base_heap {
 public:
  using base_heap::base_heap;
  vmh::status deallocate(void* ptr) noexcept {
    const vmh::status s = base_heap::deallocate(ptr);
    if (s == vmh::status::ok && ptr != nullptr) wake_waiters();
    return s;
  }
  vmh::status resize(void* ptr, std::size_t new_size) noexcept {
    const vmh::status s = base_heap::resize(ptr, new_size);
    if (s == vmh::status::ok) wake_waiters();
    return s;
  }
};

alignas(page) std::byte window[window_bytes] __attribute__((section(".vmh_heap_window")));

#ifdef CONFIG_MM_DRV
constinit kconfig_heap heap{vmh::external_range{window, sizeof window}, mapper_type{physical}};
#else
constinit kconfig_heap heap{vmh::external_range{window, sizeof window}};
#endif

#ifdef CONFIG_VMH_HEAP_TRACE
// CONFIG_VMH_HEAP_TRACE: every C call goes through a recorder, which writes the calls the trace
// format can express into a RAM ring (vmh_heap_trace_dump drains it). The recorder's spinlock is
// held across each heap call and its line, so that the lines keep the order in which the heap ran
// the calls; the ring has its own, for a dump from another thread or core.
static_assert(CONFIG_VMH_HEAP_TRACE_BYTES >= vmh::trace_line_max,
              "CONFIG_VMH_HEAP_TRACE_BYTES must hold at least one trace line (VMH_TRACE_LINE_MAX bytes)");
using trace_ring_type = vmh::trace_ring<CONFIG_VMH_HEAP_TRACE_BYTES, vmh::zephyr::spinlock>;
constinit trace_ring_type trace;
constinit vmh::recorder<kconfig_heap, trace_ring_type, vmh::zephyr::spinlock> calls{heap, trace};
#else
constexpr kconfig_heap& calls = heap;  // the C calls reach the heap itself
#endif

// Whether some bucket could ever hold `size` bytes aligned to `align`, whatever is allocated:
// only then is waiting for a free worth it.
bool servable(std::size_t size, std::size_t align) {
  const auto& g = layout::geo();
  if (size == 0 || (align & (align - 1)) != 0 || (maps_pages && size > physical)) return false;
  for (std::size_t b = 0; b < g.bucket_count; ++b)
    if (g.buckets[b].block_size >= size && (align <= g.min_align || g.block_align(g.buckets[b]) >= align)) return true;
  return false;
}

void* alloc_wait(std::size_t align, std::size_t bytes, k_timeout_t timeout) {
  const k_timepoint_t end = sys_timepoint_calc(timeout);
  for (;;) {
    const vmh::grant g = calls.try_allocate(bytes, align);
    if (g) return g.ptr;
    if (k_is_in_isr() || K_TIMEOUT_EQ(timeout, K_NO_WAIT) || !servable(bytes, align)) return nullptr;
    atomic_inc(&vmh_heap_waiters);
    // A free between the try above and this registration woke nobody: try once more.
    void* p = calls.try_allocate(bytes, align).ptr;
    if (p == nullptr) (void)k_sem_take(&vmh_heap_freed, sys_timepoint_timeout(end));
    atomic_dec(&vmh_heap_waiters);
    if (p != nullptr) return p;
    if (sys_timepoint_expired(end)) return calls.try_allocate(bytes, align).ptr;
  }
}

}  // namespace

VMH_C_API(vmh_heap, calls);
#ifdef CONFIG_VMH_HEAP_TRACE
VMH_C_TRACE_RING(vmh_heap, trace);
#endif

extern "C" {

void* vmh_heap_calloc(size_t num, size_t size) {
  if (num == 0 || size == 0 || num > SIZE_MAX / size) return nullptr;
  void* p = calls.allocate(num * size);
  if (p != nullptr) std::memset(p, 0, num * size);
  return p;
}

void* vmh_heap_realloc(void* ptr, size_t bytes) {
  if (ptr == nullptr) return bytes == 0 ? nullptr : calls.allocate(bytes);
  if (bytes == 0) {
    (void)calls.deallocate(ptr);
    return nullptr;
  }
  const vmh::status s = calls.resize(ptr, bytes);
  if (s == vmh::status::ok) return ptr;
  // Not a live allocation of this heap: resize refused it (and reported the misuse); nothing moves.
  if (vmh::is_misused_pointer(s))
    return nullptr;
  const std::size_t old = calls.usable_size(ptr);
  void* moved = calls.allocate(bytes);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, ptr, old < bytes ? old : bytes);
  (void)calls.deallocate(ptr);
  return moved;
}

void* vmh_heap_alloc_wait(size_t bytes, k_timeout_t timeout) { return alloc_wait(0, bytes, timeout); }

void* vmh_heap_aligned_alloc_wait(size_t align, size_t bytes, k_timeout_t timeout) {
  return alloc_wait(align, bytes, timeout);
}

}  // extern "C"
