// The backing heap's region in a layout: a runtime layout configured with and without one, the
// rules a region must follow (each refusal leaves the heap's layout as it was), and what its
// metadata costs.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

namespace {

using vmh::bucket;
using vmh::layout_error;
using vmh::packed_region;
using vmh::status;
using vmh_test::page;

// Up to 8 buckets, 256 blocks, 64 pages, and a region of up to 2048 granules.
using rt_layout = vmh::runtime_layout<8, 256, 64, 2048>;
using rt_heap = vmh::heap<rt_layout, vmh::counting_mapper, vmh::external_range>;
constexpr std::size_t rt_bytes = 64 * page;

constexpr bucket table[] = {{256, 16}, {4096, 4}, {16384, 2}};

// A page-aligned window for a heap, and its start.
template <std::size_t Bytes>
struct window {
  std::unique_ptr<vmh_test::arena<Bytes>> mem = std::make_unique<vmh_test::arena<Bytes>>();
  std::byte* get() const { return mem->bytes; }
};

}  // namespace

TEST_CASE("packed region: a runtime layout configured with and without one", "[packed][configure]") {
  const window<rt_bytes> mem;
  auto h = std::make_unique<rt_heap>(vmh::external_range{mem.get(), rt_bytes});
  // 4 pages of 32-byte granules (512), fixed requests up to 2 KiB.
  REQUIRE(h->configure(table, 3, page, 64, false, packed_region{4 * page, 2048, 32}) == layout_error::none);
  const auto& g = h->geometry();
  CHECK(g.packed.bytes == 4 * page);
  CHECK(g.packed.granules == 512);
  CHECK(g.packed.granule_shift == 5);
  CHECK(g.packed.limit == 2048);
  CHECK(g.buckets[0].offset == 4 * page);
  CHECK(g.virtual_size == 4 * page + 4096 + 16384 + 32768);
  void* a = h->allocate(100);  // 4 granules
  CHECK(a == mem.get());
  CHECK(h->usable_size(a) == 128);
  void* b = h->allocate(2049);  // above the limit: the 4 KiB bucket
  CHECK(b == mem.get() + 4 * page + 4096);
  CHECK(h->configure(table, 3) == layout_error::heap_not_empty);
  CHECK(h->geometry().packed.bytes == 4 * page);
  CHECK(h->validate());
  CHECK(h->deallocate(a) == status::ok);
  CHECK(h->deallocate(b) == status::ok);

  // Without a region: every request goes to the buckets, which start at the window's start.
  REQUIRE(h->configure(table, 3) == layout_error::none);
  CHECK(h->geometry().packed.bytes == 0);
  CHECK(h->geometry().buckets[0].offset == 0);
  void* c = h->allocate(100);
  CHECK(c == mem.get());
  CHECK(h->usable_size(c) == 256);  // a whole block
  CHECK(h->allocate_range(10, 100).ptr == mem.get() + 256);  // and range grants too
  CHECK(h->validate());
  CHECK(h->deallocate(c) == status::ok);
  CHECK(h->deallocate(mem.get() + 256) == status::ok);

  // A region again, with other granules: placement follows them.
  REQUIRE(h->configure(table, 3, page, 64, false, packed_region{2 * page, SIZE_MAX, 64}) == layout_error::none);
  CHECK(h->geometry().packed.limit == 2 * page);  // the limit is at most the region
  void* d = h->allocate(1);
  void* e = h->allocate(1);
  CHECK(d == mem.get());
  CHECK(e == mem.get() + 64);
  CHECK(h->allocate(2 * page - 128) == mem.get() + 128);  // the rest of the region, exactly
  CHECK(h->try_allocate(1).ptr == mem.get() + 2 * page);  // the region is full: the 256 B bucket
  CHECK(h->validate());
}

TEST_CASE("packed region: configure refuses a region that breaks a rule and keeps the old layout",
          "[packed][configure][bad input]") {
  const window<rt_bytes> mem;
  auto h = std::make_unique<rt_heap>(vmh::external_range{mem.get(), rt_bytes});
  REQUIRE(h->configure(table, 3, page, 64, false, packed_region{page, 1024, 16}) == layout_error::none);
  struct bad {
    packed_region region;
    std::size_t page_size;
    layout_error expected;
  };
  const bad cases[] = {
      {{page, 1024, 24}, page, layout_error::bad_packed_granule},         // not a power of two
      {{page, 1024, 4}, page, layout_error::bad_packed_granule},          // below 8
      {{page, 1024, 0}, page, layout_error::bad_packed_granule},
      {{page, 1024, 2 * page}, page, layout_error::bad_packed_granule},   // above the page
      {{std::size_t{1} << 20, 1024, 16}, std::size_t{1} << 20, layout_error::bad_packed_granule},  // 65536 a page
      {{5000, 1024, 16}, page, layout_error::packed_not_page_multiple},
      {{page / 2, 1024, 16}, page, layout_error::packed_not_page_multiple},
      {{9 * page, 1024, 16}, page, layout_error::exceeds_capacity},       // 2304 granules > 2048
      {{60 * page, 1024, page}, page, layout_error::exceeds_capacity},    // 60 + 14 pages > 64
      {{0xfffff000u, 1024, 4096}, page, layout_error::range_too_large},   // beyond a layout's 4 GiB
  };
  for (const bad& x : cases) {
    CAPTURE(x.region.bytes, x.region.granule, x.page_size);
    CHECK(h->configure(table, 3, x.page_size, 64, false, x.region) == x.expected);
    CHECK(h->state() == layout_error::none);
    CHECK(h->geometry().packed.bytes == page);  // the old layout
    CHECK(h->geometry().page_size == page);
  }
  // No region: its other fields mean nothing.
  CHECK(h->configure(table, 3, page, 64, false, packed_region{0, 0, 3}) == layout_error::none);
  CHECK(h->geometry().packed.bytes == 0);

  // A layout type without a packed capacity refuses any region.
  vmh::heap<vmh::runtime_layout<8, 256, 64>, vmh::counting_mapper, vmh::external_range> plain(
      vmh::external_range{mem.get(), rt_bytes});
  CHECK(plain.configure(table, 3, page, 64, false, packed_region{page, 1024, 16}) == layout_error::exceeds_capacity);
  CHECK(plain.configure(table, 3) == layout_error::none);

  // The same rules for a fixed table (its static_asserts name them).
  constexpr auto geometry = [](packed_region r) {
    return vmh::derive_geometry<3>(table, 3, page, 64, SIZE_MAX, SIZE_MAX, SIZE_MAX, false, 1, r).error;
  };
  STATIC_REQUIRE(geometry({page, 1024, 24}) == layout_error::bad_packed_granule);
  STATIC_REQUIRE(geometry({5000, 1024, 16}) == layout_error::packed_not_page_multiple);
  STATIC_REQUIRE(geometry({page, 1024, 16}) == layout_error::none);
}

namespace {
template <class Layout>
using plain_heap = vmh::heap<Layout, vmh::counting_mapper, vmh::external_range>;
constexpr auto base_table = vmh::make_table({{256, 16}, {4096, 4}, {16384, 2}});
using without_layout = vmh::fixed_layout<base_table>;
using with_layout = vmh::fixed_layout<vmh::with_packed(base_table, packed_region{4 * page, 6144, 16})>;
}  // namespace

TEST_CASE("packed region: its metadata is counted", "[packed][metadata]") {
  // The packed heap's own figure: two bits per granule (used, start), a summary bit per group of
  // 64 granules per small class (6), a 32-bit count word per group, a list head per big class,
  // and five words.
  const vmh::packed_geometry& g = with_layout::geometry.packed;
  using backing = vmh::packed_heap<1024>;
  constexpr std::size_t words = 1024 / 64;  // of used_ and of start_
  constexpr std::size_t groups = 1024 / 64;
  constexpr std::size_t big_classes = (11 - 6) * 4;  // 11 bits a granule index, four classes per power of two
  const std::size_t expected = 2 * words * 8 + 6 * 8 + groups * 4 + big_classes * 4 + 5 * 8;
  CHECK(backing::metadata_bytes(g) == expected);
  CHECK(sizeof(backing) == expected);  // a type for exactly that region
  CHECK(backing::metadata_bytes(vmh::packed_geometry{}) == 0);

  // A heap with the region: the packed heap's metadata and a page count per region page more.
  const window<with_layout::virtual_size> mem;
  const plain_heap<without_layout> without(vmh::external_range{mem.get(), without_layout::virtual_size});
  const plain_heap<with_layout> with(vmh::external_range{mem.get(), with_layout::virtual_size});
  CHECK(with.metadata_bytes() == without.metadata_bytes() + expected + 4 * sizeof(std::uint16_t));

  // A runtime heap counts the region it is configured with, not its capacity.
  auto rt = std::make_unique<rt_heap>(vmh::external_range{mem.get(), with_layout::virtual_size});
  REQUIRE(rt->configure(base_table.buckets, 3) == layout_error::none);
  const std::size_t none = rt->metadata_bytes();
  REQUIRE(rt->configure(base_table.buckets, 3, page, 64, false, packed_region{4 * page, 6144, 16}) == layout_error::none);
  CHECK(rt->metadata_bytes() == none + expected + 4 * sizeof(std::uint16_t));
}
