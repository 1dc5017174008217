// expect: its block count is zero
// also: bad_bucket<0, vmh::layout_error::zero_block_count>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 0}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
