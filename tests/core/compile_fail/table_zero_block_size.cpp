// expect: vmh layout: bad_bucket<Bucket, ...>: its block size is zero
// also: bad_bucket<1, vmh::layout_error::zero_block_size>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}, {0, 4}, {4096, 2}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
