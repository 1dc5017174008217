// expect: the virtual range passes 4 GiB at this bucket
// also: bad_bucket<1, vmh::layout_error::range_too_large>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{4096, 2}, {1u << 30, 4}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
