// expect: its block size is not above the previous bucket's
// also: bad_bucket<2, vmh::layout_error::not_ascending>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}, {4096, 2}, {1024, 4}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
