// budget_mapper and static_window: the policies with no state, so that a constinit heap over
// them is all zero (.bss) and holds no initial image.
#include <cstddef>
#include <cstring>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

using layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(64 * 1024)>()>;
alignas(4096) std::byte window[layout::virtual_size];
using zero_heap = vmh::heap<layout, vmh::budget_mapper<64 * 1024>, vmh::static_window<window>>;
constinit zero_heap heap;

// Whether every byte of the object is zero (what puts a constinit object in .bss).
template <class T>
bool all_zero(const T& object) {
  const auto* p = reinterpret_cast<const unsigned char*>(&object);
  for (std::size_t i = 0; i < sizeof object; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("a constinit heap over budget_mapper and static_window is all zero until used", "[policies]") {
  STATIC_REQUIRE(sizeof(vmh::static_window<window>) == 1);  // an empty class
  STATIC_REQUIRE(sizeof(vmh::budget_mapper<4096>) == sizeof(vmh::counting_mapper) - sizeof(std::size_t));
  CHECK(all_zero(heap));
  CHECK(heap.base() == window);
  CHECK(heap.mapper().budget() == 64 * 1024);
  void* small = heap.allocate(100);
  REQUIRE(small != nullptr);
  CHECK(heap.owns(small));
  CHECK(heap.mapper().mapped() == 4096);
  CHECK_FALSE(all_zero(heap));
  CHECK(heap.deallocate(small) == vmh::status::ok);
  CHECK(heap.mapper().mapped() == 0);
  CHECK(heap.validate());
}

TEST_CASE("budget_mapper refuses what its constant budget cannot hold, as counting_mapper does", "[policies]") {
  vmh::budget_mapper<8192> fixed;
  vmh::counting_mapper given{8192};
  CHECK(fixed.map(window, 4096));
  CHECK(given.map(window, 4096));
  CHECK_FALSE(fixed.map(window, 8192));
  CHECK_FALSE(given.map(window, 8192));
  CHECK(fixed.available() == given.available());
  CHECK(fixed.failures() == 1);
  fixed.fail_map_call(1);
  CHECK_FALSE(fixed.map(window, 4096));
  CHECK(fixed.map(window, 4096));
  CHECK(fixed.available() == 0);
  fixed.unmap(window, 8192);
  CHECK(fixed.mapped() == 0);
  CHECK(fixed.peak() == 8192);
}
