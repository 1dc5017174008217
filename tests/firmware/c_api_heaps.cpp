// The C++ side of the C11 test: defines the heaps and their C functions with the two macros of
// vmh/c_api.hpp.
#include "c_api_heaps.h"

#include <cstddef>

#include <vmh/c_api.hpp>
#include <vmh/vmh.hpp>

namespace {
inline constexpr auto dsp_table = vmh::make_table({{64, 64}, {256, 16}, {1024, 12}, {4096, 8}, {16384, 4}});
inline constexpr auto ram_table = vmh::make_table({{32, 128}, {512, 8}}, 4096, 32);
using ram_layout = vmh::fixed_layout<ram_table>;
}  // namespace

using dsp_heap_type = vmh::heap<vmh::fixed_layout<dsp_table>, vmh::counting_mapper>;
// A constinit heap over its own arena: budget SIZE_MAX (the counting_mapper default), so give
// it one through the object after start-up.
VMH_C_API_DEFINE(dsp, dsp_heap_type);

namespace {
alignas(4096) std::byte ram_bytes[ram_layout::virtual_size];
vmh::heap<ram_layout, vmh::null_mapper, vmh::external_range, vmh::spin_lock> ram_heap{
    vmh::external_range{ram_bytes, sizeof ram_bytes}};
}  // namespace
VMH_C_API(ram, ram_heap);

namespace {
inline constexpr auto lean_table = vmh::make_table({{256, 16}, {4096, 4}, {65536, 2}});
using lean_layout = vmh::fixed_layout<lean_table>;
template <bool Statistics>
using lean_type = vmh::heap<lean_layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock,
                            vmh::heap_options{.statistics = Statistics}>;
alignas(4096) std::byte lean_bytes[lean_layout::virtual_size];
lean_type<false> lean_heap{vmh::external_range{lean_bytes, sizeof lean_bytes}, vmh::counting_mapper{64 * 1024}};
// The same heap keeping statistics, only for its metadata figure.
constexpr lean_type<true> lean_with_stats{};
// A heap whose window is null: it never becomes usable.
vmh::heap<lean_layout, vmh::null_mapper, vmh::external_range> off_heap{};
}  // namespace
VMH_C_API(lean, lean_heap);
VMH_C_API(off, off_heap);

namespace {
// Two pages of 16 B granules for requests up to 2 KiB, before 4 KiB and 16 KiB buckets.
inline constexpr auto packed_table =
    vmh::with_packed(vmh::make_table({{4096, 8}, {16384, 4}}), vmh::packed_region{2 * 4096, 2048, 16});
}  // namespace
using packed_heap_type = vmh::heap<vmh::fixed_layout<packed_table>, vmh::counting_mapper>;
VMH_C_API_DEFINE(pk, packed_heap_type);

extern "C" {
int pk_in_region(const void* ptr) {
  const auto* p = static_cast<const std::byte*>(ptr);
  const std::byte* base = pk_vmh_heap.base();
  return p >= base && p < base + pk_vmh_heap.geometry().packed.bytes;
}
size_t pk_mapped_bytes(void) { return pk_vmh_heap.mapper().mapped(); }
size_t lean_metadata_with_stats(void) { return lean_with_stats.metadata_bytes(); }
size_t lean_metadata_cpp(void) { return lean_heap.metadata_bytes(); }
size_t lean_mapped_bytes(void) { return lean_heap.mapper().mapped(); }
size_t dsp_mapped_bytes(void) { return dsp_vmh_heap.mapper().mapped(); }
void dsp_fail_next_map(void) { dsp_vmh_heap.mapper().fail_map_call(1); }
void* ram_window(void) { return ram_bytes; }
size_t ram_window_size(void) { return sizeof ram_bytes; }
}
