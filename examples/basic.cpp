// The README's example: a heap whose layout, metadata and arena are fixed at compile time.
#include <cstddef>
#include <cstdio>

#include <vmh/vmh.hpp>

// Three buckets; block sizes need not be powers of two, only multiples of min_align (64).
constexpr auto table = vmh::make_table({{192, 64},       // small state: 64 blocks of 192 B
                                        {6144, 16},      // 6 KiB DMA buffers (they straddle pages)
                                        {65536, 8}});    // deep buffers up to 64 KiB
using layout = vmh::fixed_layout<table>;
static_assert(layout::virtual_size == 620 * 1024, "the comments below say 620 KiB");

// The virtual window: on a DSP a linker-defined region behind the TLB; here plain memory. It is
// kept outside the heap object so that it stays in .bss whatever the heap holds.
alignas(4096) std::byte window[layout::virtual_size];

// 256 KiB of "physical" pages behind 620 KiB of virtual blocks. No init call: the heap is
// constant-initialized.
constinit vmh::heap<layout, vmh::counting_mapper, vmh::external_range> heap{vmh::external_range{window, sizeof window},
                                                                          vmh::counting_mapper{256 * 1024}};

int main() {
  void* state = heap.allocate(100);                     // a 192 B block, its page mapped
  auto dma = heap.allocate_range(4096, 48 * 1024, 64);  // between 4 and 48 KiB, 64-aligned
  if (state == nullptr || !dma) return 1;
  std::printf("range grant: %zu bytes at %p, %zu pages mapped\n", dma.size, dma.ptr, heap.stats().pages_mapped);

  // Grow in place: the pointer stays, pages are mapped behind it.
  if (heap.resize(dma.ptr, 64 * 1024) != vmh::status::ok) return 1;
  std::printf("after resize: %zu usable bytes, %zu pages mapped\n", heap.usable_size(dma.ptr), heap.stats().pages_mapped);

  // Bad input is refused, never corrupting: a second free of the same pointer is a double free.
  // It is a bug of the caller, so a debug build also reports it to the misuse handler, whose
  // default stops the program at the call (an assert); here it prints instead.
  vmh::set_misuse_handler([](vmh::status what, const void* p) noexcept {
    std::printf("misuse handler: %s at %p\n", vmh::to_string(what), p);
  });
  heap.deallocate(dma.ptr);
  std::printf("double free -> %s\n", vmh::to_string(heap.deallocate(dma.ptr)));
  heap.deallocate(state);

  const vmh::check c = heap.validate();
  std::printf("validate: %s, %zu pages mapped\n", vmh::to_string(c.broken), heap.stats().pages_mapped);
  return c && heap.stats().pages_mapped == 0 ? 0 : 1;
}
