// The heap the self-test's C file uses through the C API (prefix fw): the self-test layout over
// an arena in .bss, with the counting mapper limited to 96 KiB of pages and the atomic spinlock.
#include <cstddef>

#include <vmh/c_api.hpp>
#include <vmh/vmh.hpp>

#include "selftest_layout.hpp"

namespace {
alignas(4096) std::byte fw_arena[selftest_layout::virtual_size];
vmh::heap<selftest_layout, vmh::counting_mapper, vmh::external_range, vmh::spin_lock> fw_heap{
    vmh::external_range{fw_arena, sizeof fw_arena}, vmh::counting_mapper{96 * 1024}};
}  // namespace

VMH_C_API(fw, fw_heap);

extern "C" std::size_t fw_mapped_bytes(void) { return fw_heap.mapper().mapped(); }
