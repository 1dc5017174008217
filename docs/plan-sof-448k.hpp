// vmh-sim plan: 448 KiB of physical memory, 4096-byte pages, 5 trace(s): sof seed 1, sof seed 2, sof seed 3, sof seed 4, sof seed 5
// planned: 25054 of 25126 requests satisfied (99.71%; 92.23% of the bytes), granted/preferred 77.7%, virtual 764 KiB, metadata 1166 B
// auto:    25003 of 25126 requests satisfied (99.51%; 91.89% of the bytes), granted/preferred 77.4%, virtual 5552 KiB, metadata 31600 B
// search: 3002 layouts replayed (246 seeds, 1959 stopped early), --rng 1; best from demand 2/1
inline constexpr auto sof_448k = vmh::make_table({{256, 10},
                                                  {512, 17},
                                                  {768, 16},
                                                  {1024, 5},
                                                  {1536, 12},
                                                  {1792, 8},
                                                  {3072, 1},
                                                  {3200, 40},
                                                  {8192, 4},
                                                  {12288, 1},
                                                  {16384, 2},
                                                  {40960, 2},
                                                  {45056, 1},
                                                  {77824, 1},
                                                  {307200, 1}},
                                                 4096, 64);
using sof_448k_layout = vmh::fixed_layout<sof_448k>;
