// The layout of the self-test heaps: six buckets from 64 B to 64 KiB, 252 KiB of virtual range.
#pragma once

#include <vmh/layout.hpp>

inline constexpr auto selftest_table =
    vmh::make_table({{64, 64}, {256, 32}, {1024, 16}, {4096, 8}, {16384, 4}, {65536, 2}});
using selftest_layout = vmh::fixed_layout<selftest_table>;
static_assert(selftest_layout::virtual_size == 252 * 1024);
