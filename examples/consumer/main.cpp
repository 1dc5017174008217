// The consumer project's program: one heap, one allocation, checked.
#include <cstddef>

#include <vmh/vmh.hpp>

namespace {
constexpr auto table = vmh::make_table({{64, 64}, {4096, 16}});
vmh::heap<vmh::fixed_layout<table>> heap;  // a static arena inside the heap, no mapper
}  // namespace

int main() {
  void* p = heap.allocate(100);
  const bool ok = p != nullptr && heap.usable_size(p) >= 100 && heap.deallocate(p) == vmh::status::ok;
  return ok && heap.validate() ? 0 : 1;
}
