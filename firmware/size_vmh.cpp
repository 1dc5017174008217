// The measured vmh operations, one function each, for the code-size images (CMakeLists.txt,
// scripts/code-size.sh). Each wrapper is kept out of line and everything below it may be
// inlined or not as GCC decides at -Os; an image rooted at one wrapper keeps exactly its call
// tree.
//
// Each heap is declared as a firmware declares it (README, "A short example"): a `constinit`
// object over an `external_range` (the virtual window, a separate array here) with the
// mapper's budget, so its initial image is part of what an image counts: a heap object that is
// not all zero goes to `.data`, which the firmware's flash holds and its boot copies to RAM.
// The window itself is `.bss` (no flash). vmh_size_stub is the image without any heap, whose
// bytes code-size.sh subtracts from every image.
//
// Configuration: SOF's production table (a constant layout, 9 buckets, 1 MiB), the counting
// mapper (page reference counts and map/unmap calls are compiled in) with a 1 MiB budget, no
// lock. The vmh_size_ram_* functions are the same heap over plain RAM (null_mapper: no page
// counts, nothing mapped), the configuration that does what sys_heap does. The
// vmh_size_nostats_* functions are the first heap without statistics
// (`heap_options::statistics` off), as sys_heap's default configuration keeps none.
#include <cstddef>

#include <vmh/vmh.hpp>

namespace {

using size_layout = vmh::fixed_layout<vmh::presets::sof_table>;
using size_heap = vmh::heap<size_layout, vmh::counting_mapper, vmh::external_range>;
using ram_heap = vmh::heap<size_layout, vmh::null_mapper, vmh::external_range>;
using nostats_heap = vmh::heap<size_layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock,
                               vmh::heap_options{.statistics = false}>;
constexpr std::size_t budget = 1024 * 1024;

alignas(4096) std::byte window[size_layout::virtual_size];
alignas(4096) std::byte ram_window[size_layout::virtual_size];
alignas(4096) std::byte nostats_window[size_layout::virtual_size];

constinit size_heap heap{vmh::external_range{window, sizeof window}, vmh::counting_mapper{budget}};
constinit ram_heap ram{vmh::external_range{ram_window, sizeof ram_window}};
constinit nostats_heap nostats{vmh::external_range{nostats_window, sizeof nostats_window},
                               vmh::counting_mapper{budget}};

}  // namespace

extern "C" {

[[gnu::noinline, gnu::used]] void vmh_size_stub() {}

[[gnu::noinline, gnu::used]] void* vmh_size_allocate(std::size_t size) { return heap.allocate(size); }

[[gnu::noinline, gnu::used]] void* vmh_size_allocate_aligned(std::size_t size, std::size_t align) {
  return heap.allocate(size, align);
}

[[gnu::noinline, gnu::used]] vmh::status vmh_size_deallocate(void* ptr) { return heap.deallocate(ptr); }

[[gnu::noinline, gnu::used]] vmh::grant vmh_size_allocate_range(std::size_t min, std::size_t preferred, std::size_t align,
                                                                 std::size_t granule) {
  return heap.allocate_range(min, preferred, align, granule);
}

[[gnu::noinline, gnu::used]] vmh::status vmh_size_resize(void* ptr, std::size_t new_size) {
  return heap.resize(ptr, new_size);
}

[[gnu::noinline, gnu::used]] void* vmh_size_ram_allocate(std::size_t size) { return ram.allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_ram_deallocate(void* ptr) { return ram.deallocate(ptr); }

[[gnu::noinline, gnu::used]] void* vmh_size_nostats_allocate(std::size_t size) { return nostats.allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_nostats_deallocate(void* ptr) { return nostats.deallocate(ptr); }

}  // extern "C"
