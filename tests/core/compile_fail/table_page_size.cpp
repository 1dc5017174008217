// expect: the page size must be a power of two
// also: bad_table<vmh::layout_error::bad_page_size>
// max-bytes: 2000
// A table that breaks one rule gets one error naming the rule and, in the line above it, the bucket.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}}, 3000);
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
