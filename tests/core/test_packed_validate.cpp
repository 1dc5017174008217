// validate() catches a corrupted packed region. The API cannot corrupt the region, so these tests
// reach the private metadata through member pointers that an explicit instantiation hands out:
// the usual access checks do not apply to the names in an explicit instantiation's template
// arguments ([temp.spec.general]), so this is plain C++, no undefined behaviour. Each case breaks
// one invariant of packed_heap::check, sees validate() name it and where, and puts it back.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

namespace {

using vmh::invariant;
using vmh::status;
using vmh_test::page;

// heap_fixture.hpp's packed layout: a region of 4 pages (1024 granules of 16 B) before three buckets.
using layout = vmh_test::packed_layout;
using heap_type = vmh_test::ext_heap<layout>;
using backing = vmh::packed_heap<1024>;
using fault = backing::fault::kind;

// member(Tag{}) returns the member pointer the explicit instantiation below names.
template <class Tag, auto Member>
struct expose {
  friend constexpr auto member(Tag) noexcept { return Member; }
};
#define VMH_TEST_EXPOSE(tag, pointer)                  \
  struct tag {                                        \
    friend constexpr auto member(tag) noexcept;       \
  };                                                  \
  template struct expose<tag, pointer>
VMH_TEST_EXPOSE(heap_packed, &heap_type::packed_);
VMH_TEST_EXPOSE(heap_refs, &heap_type::refs_);
VMH_TEST_EXPOSE(packed_used, &backing::used_);
VMH_TEST_EXPOSE(packed_start, &backing::start_);
VMH_TEST_EXPOSE(packed_counts, &backing::counts_);
VMH_TEST_EXPOSE(packed_heads, &backing::heads_);
VMH_TEST_EXPOSE(packed_top, &backing::top_);
VMH_TEST_EXPOSE(packed_live, &backing::live_);
VMH_TEST_EXPOSE(packed_granules, &backing::granules_);

// A heap whose region holds a = [0, 7), a big free chunk [7, 132) (125 granules, class [112, 128)),
// c = [132, 136), a small free chunk [136, 140) (class 2, group 2), y = [140, 141); the
// wilderness starts at 141.
struct corrupted : vmh_test::fixture<heap_type, layout::virtual_size> {
  corrupted() {
    REQUIRE(h->allocate(100) == at(0));
    void* b = h->allocate(2000);
    REQUIRE(h->allocate(50) == at(132 * 16));
    void* x = h->allocate(64);
    REQUIRE(h->allocate(16) == at(140 * 16));
    REQUIRE(h->deallocate(b) == status::ok);
    REQUIRE(h->deallocate(x) == status::ok);
    REQUIRE(h->validate());
  }
  backing& region() { return (*h).*member(heap_packed{}); }
  vmh::detail::word& used(std::size_t i) { return (region().*member(packed_used{}))[i / 64]; }
  vmh::detail::word& start(std::size_t i) { return (region().*member(packed_start{}))[i / 64]; }
  static vmh::detail::word bit(std::size_t i) { return vmh::detail::word{1} << (i % 64); }
  // Expects validate() to report the packed region broken in the way and place given.
  void expect(fault what, std::size_t where) {
    const vmh::check c = h->validate();
    CHECK(c.broken == invariant::packed_region);
    CHECK(c.bucket == static_cast<std::size_t>(what));
    CHECK(c.index == where);
  }
};

}  // namespace

TEST_CASE("validate: a corrupted packed region is found, and where", "[packed][validate]") {
  static_assert(vmh::detail::word_bits == 64, "the granule arithmetic below assumes 64-bit words");
  corrupted f;
  SECTION("a used granule inside a free chunk that no allocation start precedes") {
    f.used(138) |= corrupted::bit(138);
    f.expect(fault::orphan_granule, 138);
    f.used(138) &= ~corrupted::bit(138);
  }
  SECTION("a start bit on a free granule of a small chunk") {
    f.start(137) |= corrupted::bit(137);
    f.expect(fault::start_unused, 136);
    f.start(137) &= ~corrupted::bit(137);
  }
  SECTION("a start bit in the wilderness") {
    f.start(900) |= corrupted::bit(900);
    f.expect(fault::start_unused, 141);
    f.start(900) &= ~corrupted::bit(900);
  }
  SECTION("the wilderness starting after a free granule") {
    std::size_t& top = f.region().*member(packed_top{});
    top = 1024;
    f.expect(fault::wilderness, 1024);
    top = 141;
  }
  SECTION("a group's small counts") {
    std::uint32_t& counts = (f.region().*member(packed_counts{}))[2];
    const std::uint32_t kept = counts;
    counts = 0;
    f.expect(fault::small_index, 2);
    counts = kept;
  }
  SECTION("a big chunk's length in its node") {
    f.start(7) ^= corrupted::bit(7);  // the lowest bit of the length, 125
    f.expect(fault::big_node, 7);
    f.start(7) ^= corrupted::bit(7);
  }
  SECTION("a big class's list head") {
    std::uint32_t& head = (f.region().*member(packed_heads{}))[3];
    REQUIRE(head == 8);  // the chunk at granule 7, plus one
    head = 0;
    f.expect(fault::big_list, 3);
    head = 8;
  }
  SECTION("the live allocation and granule counts") {
    std::size_t& live = f.region().*member(packed_live{});
    ++live;
    f.expect(fault::counters, 3);
    --live;
    std::size_t& granules = f.region().*member(packed_granules{});
    ++granules;
    f.expect(fault::counters, 3);
    --granules;
  }
  SECTION("a region page's reference count") {
    std::uint16_t& refs = ((*f.h).*member(heap_refs{}))[0];
    ++refs;
    const vmh::check c = f.h->validate();
    CHECK(c.broken == invariant::page_refs);
    CHECK(c.index == 0);
    --refs;
  }
  CHECK(f.h->validate());
}

namespace {
// A runtime layout whose region (512 granules) is smaller than its capacity (2048).
using rt_heap = vmh::heap<vmh::runtime_layout<4, 64, 32, 2048>, vmh::counting_mapper, vmh::external_range>;
using rt_backing = vmh::packed_heap<2048>;
VMH_TEST_EXPOSE(rt_heap_packed, &rt_heap::packed_);
VMH_TEST_EXPOSE(rt_packed_used, &rt_backing::used_);
#undef VMH_TEST_EXPOSE
}  // namespace

TEST_CASE("validate: a used bit past a runtime layout's region is found", "[packed][validate]") {
  constexpr std::size_t bytes = 32 * page;
  const auto mem = std::make_unique<vmh_test::arena<bytes>>();
  auto h = std::make_unique<rt_heap>(vmh::external_range{mem->bytes, bytes});
  const vmh::bucket buckets[] = {{256, 16}, {4096, 4}, {16384, 2}};
  REQUIRE(h->configure(buckets, 3, page, 64, false, vmh::packed_region{2 * page, 1024, 16}) == vmh::layout_error::none);
  REQUIRE(h->allocate(100) == mem->bytes);
  vmh::detail::word& w = (((*h).*member(rt_heap_packed{})).*member(rt_packed_used{}))[600 / 64];
  w |= vmh::detail::word{1} << (600 % 64);
  const vmh::check c = h->validate();
  CHECK(c.broken == invariant::packed_region);
  CHECK(c.bucket == static_cast<std::size_t>(fault::padding));
  CHECK(c.index == 576);  // the first granule of the word past the region's end
  w &= ~(vmh::detail::word{1} << (600 % 64));
  CHECK(h->validate());
}
