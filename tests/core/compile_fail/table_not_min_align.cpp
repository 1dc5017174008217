// expect: not a multiple of min_align
// also: bad_bucket<1, vmh::layout_error::block_size_not_multiple_of_min_align>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}, {100, 4}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
