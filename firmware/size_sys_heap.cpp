// The sys_heap model's operations (bench/baselines/sys_heap.hpp), one function each, for the
// code-size images; see size_vmh.cpp. Both variants of the model that a Zephyr heap can run on
// a 32-bit DSP are measured: the small heap (16-bit chunk fields, heaps up to 256 KiB) and the
// big heap (32-bit fields, larger heaps such as SOF's 1 MiB buffer region).
#include <cstddef>

#include "baselines/sys_heap.hpp"

using small_heap = vmh::baseline::sys_heap_small_nostats;  // runtime statistics off: Zephyr's default
using big_heap = vmh::baseline::sys_heap_big32_nostats;

#define VMH_SYS_HEAP_SIZE_FUNCTIONS(name, type)                                                                    \
  [[gnu::noinline, gnu::used]] void* name##_alloc(type* h, std::size_t bytes) { return h->alloc(bytes); }           \
  [[gnu::noinline, gnu::used]] bool name##_free(type* h, void* ptr) { return h->free(ptr); }                        \
  [[gnu::noinline, gnu::used]] void* name##_aligned_alloc(type* h, std::size_t align, std::size_t bytes) {          \
    return h->aligned_alloc(align, bytes);                                                                          \
  }                                                                                                                 \
  [[gnu::noinline, gnu::used]] void* name##_realloc(type* h, void* ptr, std::size_t bytes) {                        \
    return h->realloc(ptr, bytes);                                                                                  \
  }

extern "C" {
VMH_SYS_HEAP_SIZE_FUNCTIONS(sys_heap_small, small_heap)
VMH_SYS_HEAP_SIZE_FUNCTIONS(sys_heap_big, big_heap)
}
