// vmh on Zephyr: a heap whose range is a static arena in RAM (null_mapper: no page mapping, so it
// runs on any board), shared between threads and cores through k_spinlock.
#include <zephyr/sys/printk.h>

#include <vmh/vmh.hpp>
#include <vmh/zephyr/spinlock.hpp>

namespace {
constexpr auto table = vmh::make_table({{64, 64}, {1024, 4}, {4096, 2}});
using layout = vmh::fixed_layout<table>;
// Constant-initialized: no init call, the arena is zero-filled RAM (.bss).
constinit vmh::heap<layout, vmh::null_mapper, vmh::static_arena<layout::virtual_size, layout::page_size>,
                    vmh::zephyr::spinlock>
    heap;

// A pointer the heap did not hand out is refused (the status) and reported here; the default
// handler would stop a debug build at it.
void log_misuse(vmh::status what, const void* ptr) noexcept { printk("vmh: %s at %p\n", vmh::to_string(what), ptr); }
}  // namespace

int main(void) {
  vmh::set_misuse_handler(log_misuse);
  void* state = heap.allocate(100);                        // a 1 KiB block
  const vmh::grant dma = heap.allocate_range(512, 4096, 64);  // between 512 B and 4 KiB
  bool ok = state != nullptr && dma && heap.resize(dma.ptr, dma.size) == vmh::status::ok;
  ok = ok && heap.deallocate(dma.ptr) == vmh::status::ok && heap.deallocate(state) == vmh::status::ok;
  ok = ok && heap.deallocate(state) == vmh::status::double_free;  // refused, and logged by log_misuse
  ok = ok && heap.validate() && heap.stats().live_allocations == 0;
  printk("vmh sample: %s\n", ok ? "ok" : "FAILED");
  return 0;
}
