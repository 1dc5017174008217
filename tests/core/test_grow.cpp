// heap::grow: a range grant below preferred grows back in place when memory frees, as far as its
// block, the free pages and the fairness rule allow; it never shrinks and never moves.
#include <cstddef>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::status;

namespace {
// 32 KiB x 4 at 0, 128 KiB x 2 at 128 KiB: whole pages, so grants are in pages.
constexpr auto grow_table = vmh::make_table({{32 * kib, 4}, {128 * kib, 2}});
using grow_layout = vmh::fixed_layout<grow_table>;
}  // namespace

TEST_CASE("grow deepens a grant when memory frees, within the fairness rule", "[heap][grow]") {
  fixture<ext_heap<grow_layout>, grow_layout::virtual_size> f(counting_mapper{96 * kib});
  auto& h = *f.h;
  constexpr std::size_t min = 16 * kib, preferred = 128 * kib;
  const vmh::grant a = h.allocate_range(min, preferred);
  const vmh::grant b = h.allocate_range(min, preferred);
  REQUIRE((a && b));
  REQUIRE(a.size < preferred);
  const std::size_t before = a.size;

  SECTION("nothing freed: the rule still caps what grow may take") {
    const std::size_t available = h.mapper().available();
    const vmh::grant g = h.grow(a.ptr, preferred, min);
    REQUIRE(g.result == status::ok);
    CHECK(g.ptr == a.ptr);
    CHECK(g.size >= before);
    CHECK(g.size % min == 0);
    const std::size_t total = available + h.stats().pages_mapped * page - (g.size - before);
    CHECK(g.size - before <= vmh::range_policy{}.cap(available, total, 0));
    CHECK(h.mapper().mapped() <= 96 * kib);
    CHECK(h.validate());
  }
  SECTION("after a free, greedy growth reaches preferred or the free memory") {
    REQUIRE(h.deallocate(b.ptr) == status::ok);
    h.set_range_policy(vmh::range_policy::greedy());
    const vmh::grant g = h.grow(a.ptr, preferred, min);
    REQUIRE(g.result == status::ok);
    CHECK(g.ptr == a.ptr);
    CHECK(g.size == 96 * kib / min * min);  // all of the budget, in granules
    CHECK(h.usable_size(a.ptr) == g.size);
    CHECK(h.mapper().mapped() == 96 * kib);
    CHECK(h.validate());
    // At the budget: a second grow keeps the size.
    const vmh::grant again = h.grow(a.ptr, preferred, min);
    CHECK(again.result == status::ok);
    CHECK(again.size == g.size);
  }
  SECTION("grow never shrinks, and stops at the block") {
    REQUIRE(h.deallocate(b.ptr) == status::ok);
    h.set_range_policy(vmh::range_policy::greedy());
    CHECK(h.grow(a.ptr, min).size == before);  // preferred below the size: unchanged
    h.mapper().set_budget(1024 * kib);
    const vmh::grant g = h.grow(a.ptr, 1024 * kib);
    CHECK(g.size == h.usable_size(a.ptr));
    CHECK(g.size <= 128 * kib);                 // its block
    CHECK(h.validate());
  }
  SECTION("bad pointers and sizes are refused and change nothing") {
    const auto state = f.state();
    CHECK(h.grow(nullptr, preferred).result == status::foreign_pointer);
    CHECK(h.grow(static_cast<std::byte*>(a.ptr) + 64, preferred).result == status::interior_pointer);
    CHECK(h.grow(a.ptr, 0).result == status::invalid_size);
    CHECK(h.grow(f.block(0, 3), preferred).result == status::double_free);
    check_unchanged(state, h, f.base());
  }
}
