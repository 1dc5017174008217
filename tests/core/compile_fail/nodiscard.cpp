// expect: ignoring return value of .*(allocate|allocate_range|try_allocate|resize|grow|configure|validate)
// max-bytes: 8000
// flags: -Werror=unused-result
// errors: 8
// Dropping the result of a call whose result is the point is a bug: each is [[nodiscard]] (8
// drops, about 900 bytes of diagnostic each: the heap's template arguments).
// deallocate is not: a bad pointer leaves the heap unchanged (docs/guide.md, "Operations").
#include <vmh/vmh.hpp>

constexpr auto table = vmh::make_table({{64, 64}, {4096, 4}});
vmh::heap<vmh::fixed_layout<table>, vmh::counting_mapper> h;
vmh::heap<vmh::runtime_layout<4, 256, 16>, vmh::counting_mapper, vmh::external_range> r;

void drop(void* p) {
  h.allocate(64);
  h.allocate(64, 64);
  h.try_allocate(64);
  h.allocate_range(64, 128);
  h.resize(p, 32);
  h.grow(p, 128);
  h.validate();
  r.configure(table.buckets, 2);
  h.deallocate(p);  // allowed
  (void)h.allocate(64);  // allowed: said so
}
