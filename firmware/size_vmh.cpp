// The measured vmh operations, one function each, for the code-size images (CMakeLists.txt,
// scripts/code-size.sh). Each wrapper is kept out of line and everything below it may be
// inlined or not as GCC decides at -Os; an image rooted at one wrapper keeps exactly its call
// tree.
//
// Each heap is declared as a firmware declares it (README, "A short example"): a `constinit`
// object over its window (a separate array here) named at compile time (`static_window`) with a
// constant budget (`budget_mapper`), so that an empty heap is all zero and lives in `.bss`. Its
// initial image is still part of what an image counts (`.data`, held in flash and copied to RAM
// at boot): a heap over `external_range` or a run-time `counting_mapper` keeps a pointer or its
// budget in its object, which then goes to `.data` whole, metadata arrays included. The window
// itself is `.bss` (no flash). vmh_size_stub is the image without any heap, whose bytes
// code-size.sh subtracts from every image.
//
// Configuration: SOF's production table (a constant layout, 9 buckets, 1 MiB), the counting
// mapper (page reference counts and map/unmap calls are compiled in) with a 1 MiB budget, no
// lock. vmh_size_external_* are the first heap over an `external_range` with a run-time
// `counting_mapper` budget instead: what such a declaration costs in flash. The vmh_size_ram_* functions are the same heap over plain RAM (null_mapper: no page
// counts, nothing mapped), the configuration that does what sys_heap does. The
// vmh_size_nostats_* functions are the first heap without statistics
// (`heap_options::statistics` off), as sys_heap's default configuration keeps none. The
// vmh_size_packed_* functions are the first heap with a packed region of 1 MiB (the backing
// heap, presets::auto_packed), and vmh_size_auto_* the zero-tuning layout for 1 MiB
// (presets::auto_params: the packed region and buckets from a page up), the default a firmware gets.
#include <cstddef>

#include <vmh/vmh.hpp>

namespace {

constexpr std::size_t budget = 1024 * 1024;
using size_layout = vmh::fixed_layout<vmh::presets::sof_table>;
using packed_layout = vmh::fixed_layout<vmh::with_packed(vmh::presets::sof_table, vmh::presets::auto_packed(budget))>;
using auto_layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(budget)>()>;
using mapper = vmh::budget_mapper<budget>;

alignas(4096) std::byte window[size_layout::virtual_size];
alignas(4096) std::byte ram_window[size_layout::virtual_size];
alignas(4096) std::byte nostats_window[size_layout::virtual_size];
alignas(4096) std::byte external_window[size_layout::virtual_size];
alignas(4096) std::byte packed_window[packed_layout::virtual_size];
alignas(4096) std::byte auto_window[auto_layout::virtual_size];

constinit vmh::heap<size_layout, mapper, vmh::static_window<window>> heap;
constinit vmh::heap<size_layout, vmh::null_mapper, vmh::static_window<ram_window>> ram;
constinit vmh::heap<size_layout, mapper, vmh::static_window<nostats_window>, vmh::no_lock,
                    vmh::heap_options{.statistics = false}>
    nostats;
constinit vmh::heap<size_layout, vmh::counting_mapper, vmh::external_range> external{
    vmh::external_range{external_window, sizeof external_window}, vmh::counting_mapper{budget}};
constinit vmh::heap<packed_layout, mapper, vmh::static_window<packed_window>> packed;
constinit vmh::heap<auto_layout, mapper, vmh::static_window<auto_window>> automatic;

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

[[gnu::noinline, gnu::used]] void* vmh_size_external_allocate(std::size_t size) { return external.allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_external_deallocate(void* ptr) { return external.deallocate(ptr); }

[[gnu::noinline, gnu::used]] void* vmh_size_packed_allocate(std::size_t size) { return packed.allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_packed_deallocate(void* ptr) { return packed.deallocate(ptr); }

[[gnu::noinline, gnu::used]] void* vmh_size_auto_allocate(std::size_t size) { return automatic.allocate(size); }

[[gnu::noinline, gnu::used]] vmh::status vmh_size_auto_deallocate(void* ptr) { return automatic.deallocate(ptr); }

}  // extern "C"
