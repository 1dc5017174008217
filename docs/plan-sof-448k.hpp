// vmh-sim plan: 448 KiB of SRAM (metadata charged), 4096-byte pages, 5 trace(s): sof seed 1, sof seed 2, sof seed 3, sof seed 4, sof seed 5
// planned: 24976 of 25126 requests satisfied (99.40%; 91.56% of the bytes), granted/preferred 79.7%, virtual 980 KiB, metadata 1471 B
// auto:    24822 of 25126 requests satisfied (98.79%; 90.23% of the bytes), granted/preferred 83.2%, virtual 5552 KiB, metadata 2937 B
// search: 3002 layouts replayed (246 seeds, 2284 stopped early), --objective bytes, --rng 1; best from geometric 2/1 x1/4 cap 64 from 64 to 458752
#pragma once

#include <vmh/vmh.hpp>

inline constexpr auto sof_448k = vmh::make_table({{64, 16},
                                                  {512, 30},
                                                  {768, 32},
                                                  {1664, 33},
                                                  {1728, 104},
                                                  {3200, 15},
                                                  {12288, 5},
                                                  {20480, 5},
                                                  {77824, 1},
                                                  {438272, 1}},
                                                 4096, 64);
using sof_448k_layout = vmh::fixed_layout<sof_448k>;
