// heap::grow: a range grant below preferred grows back in place when memory frees, as far as its
// block, the free pages and the fairness rule allow; it never shrinks and never moves.
#include <cstddef>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

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
    REQUIRE(g.status == status::ok);
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
    REQUIRE(g.status == status::ok);
    CHECK(g.ptr == a.ptr);
    CHECK(g.size == 96 * kib / min * min);  // all of the budget, in granules
    CHECK(h.usable_size(a.ptr) == g.size);
    CHECK(h.mapper().mapped() == 96 * kib);
    CHECK(h.validate());
    // At the budget: a second grow keeps the size.
    const vmh::grant again = h.grow(a.ptr, preferred, min);
    CHECK(again.status == status::ok);
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
  SECTION("bad pointers and sizes are refused, reported and change nothing") {
    const auto state = f.state();
    misuse_log misuse;
    std::byte* inside = static_cast<std::byte*>(a.ptr) + 64;
    CHECK(h.grow(nullptr, preferred).status == status::foreign_pointer);
    CHECK(misuse_log::reported(status::foreign_pointer, nullptr));
    CHECK(h.grow(inside, preferred).status == status::interior_pointer);
    CHECK(misuse_log::reported(status::interior_pointer, inside));
    CHECK(h.grow(a.ptr, 0).status == status::invalid_size);
    CHECK(misuse_log::reported(status::invalid_size, a.ptr));  // not a misused pointer: no report
    CHECK(h.grow(f.block(0, 3), preferred).status == status::double_free);
    CHECK(misuse_log::reported(status::double_free, f.block(0, 3)));
    check_unchanged(state, h, f.base());
  }
}

namespace {
// A page pool that cannot say how much it has left (no available()): map fails past the budget.
struct silent_pool {
  std::size_t budget = 0, used = 0, calls = 0;
  bool map(std::byte*, std::size_t bytes) noexcept {
    ++calls;
    if (bytes > budget - used) return false;
    used += bytes;
    return true;
  }
  void unmap(std::byte*, std::size_t bytes) noexcept { used -= bytes; }
  std::size_t mapped() const noexcept { return used; }
};
}  // namespace

TEST_CASE("grow with a mapper that cannot report what is left grows as far as it maps", "[heap][grow]") {
  fixture<ext_heap<grow_layout, silent_pool>, grow_layout::virtual_size> f(silent_pool{96 * kib});
  auto& h = *f.h;
  void* a = h.allocate(64 * kib + 1);  // a 128 KiB block, 17 pages
  REQUIRE(a == f.block(1, 0));
  SECTION("to the end of the pool") {
    const vmh::grant g = h.grow(a, 128 * kib);
    CHECK(g.status == status::ok);
    CHECK(g);
    CHECK(g.ptr == a);
    CHECK(g.size == 96 * kib);
    CHECK(h.usable_size(a) == 96 * kib);
    CHECK(h.mapper().mapped() == 96 * kib);
    CHECK(h.stats().failed_no_memory == 0);  // grow did not fail
    CHECK(h.validate());
  }
  SECTION("in granules: the pages past the last granule are given back") {
    const vmh::grant g = h.grow(a, 128 * kib, 40 * kib);
    CHECK(g.status == status::ok);
    CHECK(g.size == 80 * kib);
    CHECK(h.mapper().mapped() == 80 * kib);
    CHECK(h.validate());
  }
  SECTION("no page left: the grant takes the rest of its last page, and is still a success") {
    h.mapper().budget = h.mapper().used;
    const vmh::grant g = h.grow(a, 128 * kib);
    CHECK(g.status == status::ok);
    CHECK(g.size == 17 * page);
    CHECK(h.mapper().mapped() == 17 * page);
    CHECK(h.validate());
  }
}

TEST_CASE("grow never fails for lack of pages: a refused map call leaves a smaller grant", "[heap][grow]") {
  fixture<ext_heap<grow_layout>, grow_layout::virtual_size> f(counting_mapper{256 * kib});
  auto& h = *f.h;
  h.set_range_policy(vmh::range_policy::greedy());
  void* a = h.allocate(64 * kib + 1);
  REQUIRE(a != nullptr);
  h.mapper().fail_map_call(1);  // the mapper refuses the next call although it has the pages
  const vmh::grant g = h.grow(a, 128 * kib);
  CHECK(g.status == status::ok);
  CHECK(g.ptr == a);
  CHECK(g.size >= 64 * kib + 1);
  CHECK(g.size <= 128 * kib);
  CHECK(h.usable_size(a) >= g.size);
  CHECK(h.validate());
}

TEST_CASE("a failed grant is falsy, whatever its pointer", "[heap][grow]") {
  int x = 0;
  CHECK_FALSE(static_cast<bool>(vmh::grant{&x, 8, status::no_memory}));
  CHECK_FALSE(static_cast<bool>(vmh::grant{&x, 0, status::double_free}));
  CHECK_FALSE(static_cast<bool>(vmh::grant{}));
  CHECK(static_cast<bool>(vmh::grant{&x, 8, status::ok}));
  // Every failure of grow is falsy.
  misuse_log misuse;
  fixture<ext_heap<grow_layout>, grow_layout::virtual_size> f(counting_mapper{96 * kib});
  void* a = f.h->allocate(1000);
  REQUIRE(a != nullptr);
  CHECK_FALSE(f.h->grow(static_cast<std::byte*>(a) + 64, 4096));
  CHECK_FALSE(f.h->grow(a, 0));
  CHECK_FALSE(f.h->grow(f.block(0, 3), 4096));
}
