// The measured vmh operations, one function each, for the code-size images (CMakeLists.txt,
// scripts/code-size.sh). Each wrapper is kept out of line and everything below it may be
// inlined or not as GCC decides at -Os; an image rooted at one wrapper keeps exactly its call
// tree. The heap is passed by pointer, as Zephyr passes its struct sys_heap.
//
// Configuration: SOF's production table (a constant layout, 9 buckets, 1 MiB), the counting
// mapper (page reference counts and map/unmap calls are compiled in), a virtual range given
// at run time (as the DSP's virtual window is), no lock. The vmh_size_ram_* functions are the
// same heap over plain RAM (null_mapper: no page counts, nothing mapped), the configuration
// that does what sys_heap does. The vmh_size_nostats_* functions are the first heap without
// statistics (`heap_options::statistics` off), as sys_heap's default configuration keeps none.
#include <cstddef>

#include <vmh/vmh.hpp>

using size_layout = vmh::fixed_layout<vmh::presets::sof_table>;
using size_heap = vmh::heap<size_layout, vmh::counting_mapper, vmh::external_range>;
using ram_heap = vmh::heap<size_layout, vmh::null_mapper, vmh::external_range>;
using nostats_heap = vmh::heap<size_layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock,
                               vmh::heap_options{.statistics = false}>;

extern "C" {

[[gnu::noinline, gnu::used]] void* vmh_size_allocate(size_heap* h, std::size_t size) { return h->allocate(size); }

[[gnu::noinline, gnu::used]] void* vmh_size_allocate_aligned(size_heap* h, std::size_t size, std::size_t align) {
  return h->allocate(size, align);
}

[[gnu::noinline, gnu::used]] vmh::status vmh_size_deallocate(size_heap* h, void* ptr) { return h->deallocate(ptr); }

[[gnu::noinline, gnu::used]] vmh::grant vmh_size_allocate_range(size_heap* h, std::size_t min, std::size_t preferred,
                                                                 std::size_t align, std::size_t granule) {
  return h->allocate_range(min, preferred, align, granule);
}

[[gnu::noinline, gnu::used]] vmh::status vmh_size_resize(size_heap* h, void* ptr, std::size_t new_size) {
  return h->resize(ptr, new_size);
}

[[gnu::noinline, gnu::used]] void* vmh_size_ram_allocate(ram_heap* h, std::size_t size) { return h->allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_ram_deallocate(ram_heap* h, void* ptr) { return h->deallocate(ptr); }

[[gnu::noinline, gnu::used]] void* vmh_size_nostats_allocate(nostats_heap* h, std::size_t size) { return h->allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_nostats_deallocate(nostats_heap* h, void* ptr) {
  return h->deallocate(ptr);
}

}  // extern "C"
