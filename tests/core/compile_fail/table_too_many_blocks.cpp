// expect: more than 2\^24 blocks
// also: bad_bucket<0, vmh::layout_error::too_many_blocks_in_bucket>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, (1u << 24) + 1}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
