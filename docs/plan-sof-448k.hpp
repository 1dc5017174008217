// vmh-sim plan: 448 KiB of SRAM (metadata charged), 4096-byte pages, 5 trace(s): sof seed 1, sof seed 2, sof seed 3, sof seed 4, sof seed 5
// vmh: --packed auto (458752:16384:16); replay this layout with the same --physical and --packed to get these figures
// planned: 25054 of 25126 requests satisfied (99.71%; 91.47% of the bytes), granted/preferred 78.9%, virtual 1012 KiB, metadata 10041 B
// auto:    25031 of 25126 requests satisfied (99.62%; 91.31% of the bytes), granted/preferred 82.6%, virtual 4160 KiB, metadata 10641 B
// search: 3002 layouts replayed (247 seeds, 980 stopped early), --objective bytes, --rng 1; best from geometric 3/1 x1/4 cap 64 from 64 to 458752
#pragma once

#include <vmh/vmh.hpp>

inline constexpr auto sof_448k = vmh::with_packed(vmh::make_table({{8192, 2},
                                                                   {20480, 4},
                                                                   {77824, 1},
                                                                   {401408, 1}},
                                                                  4096, 16), vmh::packed_region{458752, 16384, 16});
using sof_448k_layout = vmh::fixed_layout<sof_448k>;
