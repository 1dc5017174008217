// expect: does not start at a multiple of its block alignment
// also: bad_bucket<1, vmh::layout_error::misaligned_bucket_start>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{192, 3}, {1024, 4}});  // 576 is no multiple of 1024
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
