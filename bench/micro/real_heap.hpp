// Zephyr's real sys_heap as a case adapter of cases.hpp, when the build has it (VMH_ZEPHYR_BASE:
// bench/real). Built for this host like the rest of vmh-instr and vmh-bench (on x86-64 a big
// heap, 8-byte chunk headers), from Zephyr's heap.c unmodified, with the project's flags.
// "zephyr_sys_heap" has Zephyr's default configuration (no runtime statistics),
// "zephyr_sys_heap_stats" CONFIG_SYS_HEAP_RUNTIME_STATS on: the real code of the sys_heap and
// sys_heap_stats model rows, in the same loops.
#pragma once

#ifndef VMH_HAVE_ZEPHYR_HEAP
#define VMH_HAVE_ZEPHYR_HEAP 0
#endif

#if VMH_HAVE_ZEPHYR_HEAP
#include <cstddef>
#include <memory>

#include "micro/cases.hpp"
#include "real/zephyr_sys_heap.h"

VMH_ZEPHYR_SYS_HEAP_DECLARE(vmh_zephyr_);
VMH_ZEPHYR_SYS_HEAP_DECLARE(vmh_zephyr_stats_);

namespace vmh::bench {

/// The calls of one build of the real heap (direct calls: each forwarder is inlined).
#define VMH_ZEPHYR_HEAP_CALLS(type, prefix, label)                                                                  \
  struct type {                                                                                                     \
    static constexpr const char* name = label;                                                                      \
    static void init(sys_heap* h, void* mem, std::size_t n) { prefix##sys_heap_init(h, mem, n); }                   \
    static void* alloc(sys_heap* h, std::size_t n) { return prefix##sys_heap_alloc(h, n); }                         \
    static void* aligned_alloc(sys_heap* h, std::size_t a, std::size_t n) {                                         \
      return prefix##sys_heap_aligned_alloc(h, a, n);                                                               \
    }                                                                                                               \
    static void* realloc(sys_heap* h, void* p, std::size_t n) { return prefix##sys_heap_aligned_realloc(h, p, 0, n); } \
    static void free(sys_heap* h, void* p) { prefix##sys_heap_free(h, p); }                                         \
    static std::size_t used(sys_heap* h) { return prefix##sys_heap_used_bytes(h); }                                 \
    static bool validate(sys_heap* h) { return prefix##sys_heap_validate(h); }                                      \
  }
VMH_ZEPHYR_HEAP_CALLS(zephyr_heap_default, vmh_zephyr_, "zephyr_sys_heap");
VMH_ZEPHYR_HEAP_CALLS(zephyr_heap_stats, vmh_zephyr_stats_, "zephyr_sys_heap_stats");
#undef VMH_ZEPHYR_HEAP_CALLS

/// The real heap over a 1 MiB buffer, called as the sys_heap model's adapter calls the model.
template <class Calls>
class zephyr_sys_heap_adapter_for {
 public:
  static constexpr const char* name = Calls::name;
  static constexpr std::size_t header_bytes = sizeof(void*) > 4 ? 8 : 4;  // big heap on a 64-bit host

  zephyr_sys_heap_adapter_for() : mem_(std::make_unique<block[]>(physical_bytes / sizeof(block))) {
    Calls::init(heap(), mem_.get(), physical_bytes);
  }
  bool empty() const { return Calls::used(heap()) == 0; }

  void* allocate(std::size_t n, std::size_t align) {
    return align > header_bytes ? Calls::aligned_alloc(heap(), align, n) : Calls::alloc(heap(), n);
  }
  void deallocate(void* p, std::size_t, std::size_t) { Calls::free(heap(), p); }
  /// Bytes of the used chunks (a walk over the heap: setup only).
  std::size_t physical_used() const { return Calls::used(heap()); }

  range_result allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return allocate(s, a); }, min, preferred, align);
    return {g.ptr, g.size, g.attempts};
  }
  void* allocate_growable(std::size_t now, std::size_t) { return Calls::alloc(heap(), now); }
  void* resize(void* p, std::size_t, std::size_t n) { return Calls::realloc(heap(), p, n); }
  bool validate() const { return Calls::validate(heap()); }

 private:
  struct alignas(page_bytes) block {
    std::byte bytes[page_bytes];
  };
  sys_heap* heap() const { return reinterpret_cast<sys_heap*>(const_cast<unsigned char*>(handle_)); }
  std::unique_ptr<block[]> mem_;
  alignas(8) unsigned char handle_[VMH_SYS_HEAP_HANDLE_BYTES] = {};
};
using zephyr_sys_heap_adapter = zephyr_sys_heap_adapter_for<zephyr_heap_default>;
using zephyr_sys_heap_stats_adapter = zephyr_sys_heap_adapter_for<zephyr_heap_stats>;

}  // namespace vmh::bench
#endif

#ifndef VMH_HAVE_SOF_VMH
#define VMH_HAVE_SOF_VMH 0
#endif

#if VMH_HAVE_SOF_VMH
#include <cstdint>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "micro/cases.hpp"
#include "real/page_table.h"
#include "real/sof_real.h"

namespace vmh::bench {

/// SOF's real VMH (regions_mm.c over Zephyr's mem_blocks and bit array) with SOF's default table
/// and 1 MiB of pages, as the sof_vmh model's adapter has them, built for this host over the
/// page-table stand-in (bench/real/page_table.c: a byte per page, where the DSP's TLB driver
/// writes a TLB entry and takes a physical page), so its count is the allocator's with that
/// driver's work left out. The window is address space only: nothing touches it.
class sof_vmh_real_adapter {
 public:
  static constexpr const char* name = "sof_vmh_real";

  sof_vmh_real_adapter() {
    vmh_page_table_reset(physical_bytes / page_bytes);
    std::size_t cells[baseline::sof_vmh_model::max_bundles][2] = {};
    std::size_t count = 0;
    for (const baseline::sof_bundle& b : baseline::sof_default_table) {
      cells[count][0] = b.block_size;
      cells[count++][1] = b.block_count;
    }
    heap_ = vmh_real_vmh_create(cells, count, reinterpret_cast<std::uintptr_t>(window), sizeof window);
  }
  bool empty() const { return heap_ != nullptr && vmh_page_table_mapped() == 0; }

  void* allocate(std::size_t n, std::size_t) { return vmh_real_vmh_alloc(heap_, n); }
  void deallocate(void* p, std::size_t, std::size_t) { vmh_real_vmh_free(heap_, p); }
  std::size_t physical_used() const { return vmh_page_table_mapped() * page_bytes; }

  range_result allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return allocate(s, a); }, min, preferred, align);
    return {g.ptr, g.size, g.attempts};
  }
  bool validate() const { return vmh_page_table_faults() == 0; }

 private:
  static constexpr std::size_t window_bytes = 1280 * 1024;  // the default table's region
  alignas(4096) static inline std::byte window[window_bytes];
  struct vmh_heap* heap_ = nullptr;
};

}  // namespace vmh::bench
#endif
