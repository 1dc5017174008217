// resize: growing and shrinking in place maps and unmaps exactly the pages concerned.
#include <cstddef>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::status;

TEST_CASE("resize grows and shrinks in place", "[heap][resize]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  auto& m = h.mapper();
  void* a = h.allocate(5000);  // 16 KiB block, 2 pages
  REQUIRE(a != nullptr);
  fill(a, 5000, 9);
  CHECK(h.stats().pages_mapped == 2);

  CHECK(h.resize(a, 12000) == status::ok);
  CHECK(h.stats().pages_mapped == 3);
  CHECK(m.mapped() == 3 * page);
  CHECK(h.usable_size(a) == 3 * page);
  CHECK(h.stats().bytes_in_blocks == 16384);  // the block, whatever the size in it
  CHECK(h.stats().peak_bytes_in_blocks == 16384);
  CHECK(intact(a, 5000, 9));
  fill(a, 12000, 9, 5000);

  CHECK(h.resize(a, 16384) == status::ok);
  CHECK(h.stats().pages_mapped == 4);

  const auto before = f.state();
  CHECK(h.resize(a, 16385) == status::exceeds_block);
  check_unchanged(before, h, f.base());

  const std::size_t unmaps = m.unmap_calls();
  CHECK(h.resize(a, 100) == status::ok);
  CHECK(h.stats().pages_mapped == 1);
  CHECK(m.mapped() == page);
  CHECK(m.unmap_calls() == unmaps + 1);
  CHECK(h.stats().bytes_in_blocks == 16384);
  CHECK(h.stats().peak_bytes_in_blocks == 16384);
  CHECK(intact(a, 100, 9));

  // Within the same page: no mapping either way.
  const std::size_t maps = m.map_calls();
  CHECK(h.resize(a, page) == status::ok);
  CHECK(h.resize(a, 1) == status::ok);
  CHECK(m.map_calls() == maps);
  CHECK(h.stats().pages_mapped == 1);
  CHECK(h.usable_size(a) == page);

  // Resizing a sub-page block within its block.
  void* s = h.allocate(10);
  CHECK(h.resize(s, 64) == status::ok);
  CHECK(h.resize(s, 65) == status::exceeds_block);
  CHECK(h.usable_size(s) == 64);
  CHECK(h.validate());
  CHECK(h.deallocate(a) == status::ok);
  CHECK(h.deallocate(s) == status::ok);
  CHECK(m.mapped() == 0);
}
