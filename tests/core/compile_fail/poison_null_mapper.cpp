// expect: poison.*null_mapper.*counting_mapper
// max-bytes: 1500
// Poison needs pages the heap tracks: with null_mapper it could never fill a block, so the
// combination is refused instead of silently ignored.
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}});
vmh::heap<vmh::fixed_layout<table>, vmh::null_mapper, vmh::static_arena<4096>, vmh::no_lock,
          vmh::heap_options{.poison = true}>
    h;
