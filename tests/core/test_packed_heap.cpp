// The backing heap through vmh::heap: which requests go to the packed region, where they land,
// the pages it maps and unmaps, its statistics and queries, bad pointers into it, and a mapper
// that refuses. Offsets computed by hand from the rules of packed_heap.hpp and heap.hpp.
//
// The layout of most cases: heap_fixture.hpp's packed_table, a packed region of 4 pages (1024
// granules of 16 B; fixed requests up to 6 KiB), then 256 B x 16 at 16 KiB, 4 KiB x 4 at 20 KiB,
// 16 KiB x 2 at 36 KiB: 68 KiB, 17 pages.
#include <cstddef>
#include <cstdint>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

namespace {

using vmh::status;
using vmh_test::check_unchanged;
using vmh_test::page;

using vmh_test::packed_layout;
using vmh_test::packed_size;
static_assert(packed_size == 69632);
using packed_heap = vmh_test::ext_heap<packed_layout>;
using fixture = vmh_test::fixture<packed_heap, packed_size>;

// The same layout with a region whose limit is above every block: a fixed request up to 8 KiB
// goes to the region, and no bucket holds one above 1 KiB.
constexpr auto wide_table =
    vmh::with_packed(vmh::make_table({{64, 64}, {1024, 8}}, page, 16), vmh::packed_region{4 * page, 8192, 16});
using wide_layout = vmh::fixed_layout<wide_table>;
using wide_fixture = vmh_test::fixture<vmh_test::ext_heap<wide_layout>, wide_layout::virtual_size>;

// A table with the default min_align (64, a cache line) over a region of 16 B granules.
constexpr auto line_table = vmh::with_packed(vmh::make_table({{64, 64}, {1024, 8}}), vmh::packed_region{4 * page, 1024, 16});
using line_layout = vmh::fixed_layout<line_table>;
using line_fixture = vmh_test::fixture<vmh_test::ext_heap<line_layout>, line_layout::virtual_size>;

}  // namespace

TEST_CASE("packed region: every allocation starts at a multiple of min_align, as every block does",
          "[packed][heap][align]") {
  line_fixture f;
  REQUIRE(f.h->geometry().min_align == 64);
  void* a = f.h->allocate(1);  // one granule at 0
  void* b = f.h->allocate(1);  // not at 16: the next line
  void* c = f.h->allocate(70, 16);  // an alignment below min_align is min_align
  void* d = f.h->allocate(10, 256);
  CHECK(a == f.at(0));
  CHECK(b == f.at(64));
  CHECK(c == f.at(128));
  CHECK(d == f.at(256));
  CHECK(f.h->usable_size(b) == 16);  // sizes still take granules
  CHECK(f.h->usable_size(c) == 80);
  // No two allocations share a 64-byte line, so a cache invalidate of one spares the others.
  void* e = f.h->allocate(48);  // [128, 208) is c: the next free line is at 320 (d takes [256, 272))
  CHECK(e == f.at(320));
  for (void* p : {a, b, c, d, e}) CHECK(f.h->deallocate(p) == status::ok);
  CHECK(f.h->validate());
}

TEST_CASE("packed region: fixed requests up to the limit are placed there, larger ones in buckets",
          "[packed][heap]") {
  fixture f;
  const auto& g = f.h->geometry();
  REQUIRE(g.packed.bytes == 4 * page);
  REQUIRE(g.packed.granules == 1024);
  REQUIRE(g.packed.limit == 6144);
  REQUIRE(g.buckets[0].offset == 4 * page);  // the buckets follow the region

  void* a = f.h->allocate(100);  // 7 granules at 0
  CHECK(a == f.at(0));
  CHECK(f.h->usable_size(a) == 112);
  void* b = f.h->allocate(6144);  // the limit: 384 granules at 7
  CHECK(b == f.at(112));
  CHECK(f.h->usable_size(b) == 6144);
  void* c = f.h->allocate(6145);  // above the limit: the 16 KiB bucket
  CHECK(c == f.block(2, 0));
  CHECK(f.h->usable_size(c) == 8192);  // to the end of its last mapped page
  // A page alignment: 256 granules; [391, 512) stays free (121 granules, a big chunk).
  const vmh::grant d = f.h->try_allocate(64, page);  // 4 granules at 512
  CHECK(d.ptr == f.at(2 * page));
  // Alignment above a page: never the region; no bucket's blocks are 8 KiB aligned.
  CHECK(f.h->try_allocate(100, 2 * page).status == status::no_bucket);
  // 200 bytes, 13 granules: the big chunk before the aligned one.
  void* e = f.h->allocate(200);
  CHECK(e == f.at(391 * 16));
  CHECK(f.h->owns(a));
  CHECK(f.h->owns(f.at(4 * page - 1)));  // a free granule of the region is inside the heap

  // Statistics: granules in the region, blocks in buckets, and the pages touched.
  const vmh::heap_stats s = f.h->stats();
  CHECK(s.live_allocations == 5);
  CHECK(s.bytes_in_blocks == (7 + 384 + 4 + 13) * 16 + 16384);
  CHECK(s.peak_bytes_in_blocks == s.bytes_in_blocks);
  // Region pages 0, 1 (a, b, e) and 2 (d); bucket pages 9 and 10 (c's 6145 bytes at 36 KiB).
  CHECK(s.pages_mapped == 5);
  CHECK(f.h->mapper().mapped() == 5 * page);
  CHECK(f.h->stats(2).in_use == 1);
  CHECK(f.h->stats(0).in_use == 0);
  CHECK(f.h->validate());

  for (void* p : {a, b, c, d.ptr, e}) CHECK(f.h->deallocate(p) == status::ok);
  const vmh::heap_stats t = f.h->stats();
  CHECK(t.live_allocations == 0);
  CHECK(t.bytes_in_blocks == 0);
  CHECK(t.pages_mapped == 0);
  CHECK(t.peak_pages_mapped == 5);
  CHECK(f.h->mapper().mapped() == 0);
  CHECK(f.h->validate());
}

TEST_CASE("packed region: range grants the rule sizes below a page go there", "[packed][heap][range]") {
  SECTION("an unlimited mapper: preferred decides") {
    fixture f;
    const vmh::grant small = f.h->allocate_range(100, 200);
    CHECK(small.ptr == f.at(0));
    CHECK(small.size == 200);  // no page fill in the region: exactly the grant
    CHECK(f.h->usable_size(small.ptr) == 208);
    const vmh::grant large = f.h->allocate_range(100, 5000);  // a page or more: the buckets
    CHECK(large.ptr == f.block(2, 0));
    CHECK(large.size == 5000);
    CHECK(f.h->allocate_range(100, 200, 2 * page).status == status::no_bucket);  // above a page: buckets
    CHECK(f.h->validate());
  }
  SECTION("a budget of two pages: the reserve rule keeps 4 x 1000 back, the grant is below a page") {
    fixture f(vmh::counting_mapper{2 * page});
    // available 8192, kept max(8192 * 35 / 1000, 4 * 1000) = 4000: 4192 bytes, one page; in
    // multiples of the granule (min): 4000.
    const vmh::grant r = f.h->allocate_range(1000, 100000);
    CHECK(r.ptr == f.at(0));
    CHECK(r.size == 4000);
    CHECK(f.h->usable_size(r.ptr) == 4000);
    CHECK(f.h->stats().pages_mapped == 1);
    CHECK(f.h->validate());
  }
  SECTION("a region with limit 0 takes no fixed request, but range grants below a page") {
    constexpr auto t = vmh::with_packed(vmh::make_table({{256, 16}, {4096, 4}}), vmh::packed_region{page, 0, 16});
    using layout = vmh::fixed_layout<t>;
    vmh_test::fixture<vmh_test::ext_heap<layout>, layout::virtual_size> f;
    STATIC_REQUIRE(layout::geometry.packed.limit == 0);
    CHECK(f.h->allocate(1) == f.block(0, 0));
    CHECK(f.h->allocate_range(1, 100).ptr == f.at(0));
    CHECK(f.h->validate());
  }
}

TEST_CASE("packed region: what it can ever hold is never no_bucket, and max_size and max_alignment count it",
          "[packed][heap][bad input]") {
  wide_fixture f;  // blocks of 64 B (64-aligned) and 1 KiB (1 KiB-aligned); fixed requests up to 8 KiB in the region
  CHECK(f.h->max_size() == 8192);
  CHECK(f.h->max_size(page) == 8192);  // no bucket is page aligned, the region is
  CHECK(f.h->max_size(2 * page) == 0);
  CHECK(f.h->max_alignment() == page);
  CHECK(f.h->try_allocate(8193).status == status::no_bucket);  // beyond the limit and every block
  CHECK(f.h->try_allocate(100, 2 * page).status == status::no_bucket);
  void* aligned = f.h->allocate(100, page);
  CHECK(aligned == f.at(0));
  void* rest = f.h->allocate(8192);  // fixed requests fill the region
  REQUIRE(rest == f.at(112));
  REQUIRE(f.h->allocate(4 * page - 112 - 8192) == f.at(112 + 8192));
  // Full now: it may succeed later, so no_block (counted), not no_bucket.
  const auto before = f.state();
  CHECK(f.h->try_allocate(5000).status == status::no_block);
  CHECK(f.h->try_allocate(100, page).status == status::no_block);
  CHECK(f.h->allocate_range(2000, 3000, 0, 1000).status == status::no_block);
  vmh_test::check_unchanged(before, *f.h, f.base(), {.no_block = 3});
  CHECK(f.h->deallocate(rest) == status::ok);
  CHECK(f.h->allocate(5000) == f.at(112));
}

TEST_CASE("packed region: a page is mapped while a live byte touches it, neighbours share boundary pages",
          "[packed][heap][pages]") {
  fixture f;
  vmh::counting_mapper& m = f.h->mapper();
  void* x = f.h->allocate(4000);  // [0, 4000): page 0
  void* y = f.h->allocate(200);   // [4000, 4208): pages 0 and 1; only page 1 is new
  void* z = f.h->allocate(100);   // [4208, 4320): page 1, mapped already
  CHECK(y == f.at(4000));
  CHECK(z == f.at(4208));
  CHECK(m.map_calls() == 2);
  CHECK(m.mapped() == 2 * page);
  CHECK(f.h->deallocate(y) == status::ok);  // both its pages are still touched
  CHECK(m.unmap_calls() == 0);
  CHECK(m.mapped() == 2 * page);
  CHECK(f.h->validate());
  CHECK(f.h->deallocate(z) == status::ok);  // nothing touches page 1 any more
  CHECK(m.unmap_calls() == 1);
  CHECK(m.mapped() == page);
  // Growing x over page 1 maps it again; shrinking it back unmaps it.
  CHECK(f.h->resize(x, 5000) == status::ok);
  CHECK(m.mapped() == 2 * page);
  CHECK(f.h->resize(x, 4096) == status::ok);
  CHECK(m.mapped() == page);
  // A region allocation and a bucket allocation never share a page: the region ends on one.
  void* w = f.h->allocate(1000, 0);  // [4096, 5104): page 1
  void* v = f.h->allocate(7000);     // above the limit: the 16 KiB bucket, pages 9 and 10
  CHECK(w == f.at(4096));
  CHECK(f.h->stats().pages_mapped == 2 + 2);
  CHECK(f.h->validate());
  for (void* p : {x, w, v}) CHECK(f.h->deallocate(p) == status::ok);
  CHECK(m.mapped() == 0);
  CHECK(f.h->validate());
}

TEST_CASE("packed region: a refused map call leaves the region as it was", "[packed][heap][pages]") {
  SECTION("the buckets take the request instead") {
    fixture f;
    void* x = f.h->allocate(4000);
    const auto before = f.state();
    f.h->mapper().fail_map_call(1);  // the region's map of page 1 for the next request
    const vmh::grant y = f.h->try_allocate(200);
    CHECK(y.status == status::ok);
    CHECK(y.ptr == f.block(0, 0));  // the 256 B bucket
    CHECK(f.h->stats().failed_no_memory == 0);  // the request did not fail
    CHECK(f.h->mapper().failures() == 1);
    CHECK(f.h->deallocate(y.ptr) == status::ok);
    // Apart from the peaks and the mapper's calls, the heap is as it was: the region's next
    // placement is where the refused one would have been.
    check_unchanged(before, *f.h, f.base(), {.mapper_calls = true, .peaks = true});
    CHECK(f.h->allocate(200) == f.at(4000));
    CHECK(f.h->deallocate(x) == status::ok);
    CHECK(f.h->validate());
  }
  SECTION("no bucket holds the request: no_memory, counted, nothing changed") {
    wide_fixture f;
    void* x = f.h->allocate(4000);
    REQUIRE(x == f.at(0));
    const auto before = f.state();
    f.h->mapper().fail_map_call(1);
    const vmh::grant y = f.h->try_allocate(5000);  // above every block: only the region holds it
    CHECK(y.status == status::no_memory);
    CHECK(y.ptr == nullptr);
    check_unchanged(before, *f.h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(f.h->allocate(5000) == f.at(4000));  // now it is mapped
    CHECK(f.h->validate());
  }
  SECTION("a range grant") {
    wide_fixture f;
    const auto before = f.state();
    f.h->mapper().fail_map_call(1);
    const vmh::grant r = f.h->allocate_range(2000, 3000, 0, 1000);  // 3000: the region, or no block
    CHECK(r.status == status::no_memory);
    check_unchanged(before, *f.h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(f.h->allocate_range(2000, 3000, 0, 1000).ptr == f.at(0));
  }
  SECTION("a resize") {
    fixture f;
    void* x = f.h->allocate(4000);
    const auto before = f.state();
    f.h->mapper().fail_map_call(1);
    CHECK(f.h->resize(x, 9000) == status::no_memory);  // pages 1 and 2: one map call, refused
    check_unchanged(before, *f.h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(f.h->resize(x, 9000) == status::ok);
    CHECK(f.h->mapper().mapped() == 3 * page);
  }
}

TEST_CASE("packed region: resize in place into the free run after the allocation", "[packed][heap][resize]") {
  fixture f;
  void* a = f.h->allocate(160);  // [0, 10)
  void* b = f.h->allocate(160);  // [10, 20)
  void* c = f.h->allocate(160);  // [20, 30)
  CHECK(f.h->resize(a, 161) == status::exceeds_block);  // b follows at once
  CHECK(f.h->resize(a, 10) == status::ok);               // shrinks to one granule: [1, 10) free
  CHECK(f.h->usable_size(a) == 16);
  CHECK(f.h->resize(a, 160) == status::ok);              // and grows back into it
  CHECK(f.h->deallocate(b) == status::ok);
  CHECK(f.h->resize(a, 320) == status::ok);              // [0, 20): b's granules
  CHECK(f.h->resize(a, 321) == status::exceeds_block);
  CHECK(f.h->resize(c, 4 * page - 320) == status::ok);   // to the region's end
  CHECK(f.h->resize(c, 4 * page - 319) == status::exceeds_block);
  CHECK(f.h->resize(c, 0) == status::invalid_size);
  CHECK(f.h->stats().bytes_in_blocks == 4 * page);
  CHECK(f.h->stats().pages_mapped == 4);
  CHECK(f.h->validate());
}

TEST_CASE("packed region: grow takes the free run after it as far as the fairness rule allows",
          "[packed][heap][grow]") {
  SECTION("a budget of three pages") {
    fixture f(vmh::counting_mapper{3 * page});
    void* x = f.h->allocate(100);  // page 0 mapped
    // available 8192 of 12288, kept 12288 * 35 / 1000 = 430: 7762 bytes, one new page: x may
    // reach the end of page 1.
    vmh::grant g = f.h->grow(x, 16384);
    CHECK(g.ptr == x);
    CHECK(g.status == status::ok);
    CHECK(g.size == 2 * page);
    CHECK(f.h->usable_size(x) == 2 * page);
    CHECK(f.h->stats().pages_mapped == 2);
    // Greedy: all of the free memory, one more page.
    f.h->set_range_policy(vmh::range_policy::greedy());
    g = f.h->grow(x, 16384);
    CHECK(g.size == 3 * page);
    // Nothing free: it keeps its size.
    g = f.h->grow(x, 16384);
    CHECK(g.size == 3 * page);
    CHECK(g.status == status::ok);
    CHECK(f.h->validate());
  }
  SECTION("in multiples of a granule, never shrinking, never past a neighbour") {
    fixture f;
    void* x = f.h->allocate(100);   // [0, 7)
    void* y = f.h->allocate(1000);  // [7, 70)
    CHECK(f.h->grow(x, 5000).size == 112);  // y follows at once: its whole granules
    CHECK(f.h->deallocate(y) == status::ok);
    vmh::grant g = f.h->grow(x, 5000, 1000);
    CHECK(g.size == 5000);
    CHECK(f.h->usable_size(x) == 5008);  // 313 granules
    CHECK(f.h->grow(x, 4000).size == 5008);  // below its size: unchanged
    CHECK(f.h->grow(x, 0).status == status::invalid_size);
    CHECK(f.h->validate());
  }
}

namespace {
// A mapper that cannot tell its free memory (no available()): the heap learns it by asking.
struct silent_mapper {
  std::size_t budget = 0, held = 0;
  bool map(std::byte*, std::size_t n) {
    if (n > budget - held) return false;
    held += n;
    return true;
  }
  void unmap(std::byte*, std::size_t n) { held -= n; }
  std::size_t mapped() const { return held; }
};
}  // namespace

TEST_CASE("packed region: grow takes the pages the mapper maps, in halving steps", "[packed][heap][grow]") {
  SECTION("a refused map call of two pages: one page, then the other") {
    fixture f;
    void* x = f.h->allocate(100);
    f.h->mapper().fail_map_call(1);
    const vmh::grant g = f.h->grow(x, 3 * page);  // pages 1 and 2 in one call: refused
    CHECK(g.status == status::ok);
    CHECK(g.size == 3 * page);  // page 1, then page 2
    CHECK(f.h->mapper().map_calls() == 1 + 3);
    CHECK(f.h->stats().failed_no_memory == 0);
    CHECK(f.h->validate());
  }
  SECTION("a refused map call of one page: it grows to the end of the page it has") {
    fixture f;
    void* x = f.h->allocate(100);
    f.h->mapper().fail_map_call(1);
    const vmh::grant g = f.h->grow(x, 5000);
    CHECK(g.status == status::ok);
    CHECK(g.size == page);
    CHECK(f.h->usable_size(x) == page);
    CHECK(f.h->grow(x, 5000, 8).size == 5000);  // asked again, it maps the page
    CHECK(f.h->validate());
  }
  SECTION("a mapper without available(): as far as it maps") {
    vmh_test::fixture<vmh_test::ext_heap<packed_layout, silent_mapper>, packed_size> f(silent_mapper{3 * page});
    void* x = f.h->allocate(100);
    // No fairness cap: it asks for pages 1-3 (refused), then page 1, page 2, page 3 (refused).
    const vmh::grant g = f.h->grow(x, 4 * page);
    CHECK(g.status == status::ok);
    CHECK(g.size == 3 * page);
    CHECK(f.h->mapper().held == 3 * page);
    CHECK(f.h->validate());
  }
}

TEST_CASE("packed region: every kind of bad pointer into it is refused and changes nothing",
          "[packed][heap][bad input]") {
  fixture f;
  vmh_test::misuse_log misuse;  // bad pointers are the point here: each report is checked
  void* a = f.h->allocate(100);  // [0, 112)
  void* b = f.h->allocate(20);   // [112, 144)
  void* c = f.h->allocate(300);  // [144, 448)
  REQUIRE(b == f.at(112));
  REQUIRE(c == f.at(144));
  CHECK(f.h->deallocate(c) == status::ok);
  struct bad {
    std::size_t offset;
    status expected;
  };
  const bad cases[] = {
      {16, status::interior_pointer},    // a later granule of a
      {5, status::interior_pointer},     // inside a's first granule
      {112 + 3, status::interior_pointer},  // inside b's first granule
      {128, status::interior_pointer},   // b's second granule
      {144, status::double_free},        // c, freed
      {160, status::double_free},        // inside c, freed
      {1000, status::double_free},       // never allocated (the wilderness)
      {1001, status::double_free},       // inside a free granule
      {4 * page - 1, status::double_free},  // the region's last byte
  };
  for (const bad& x : cases) {
    CAPTURE(x.offset);
    const auto before = f.state();
    void* p = f.at(x.offset);
    CHECK(f.h->owns(p));
    CHECK(f.h->deallocate(p) == x.expected);
    CHECK(vmh_test::misuse_log::reported(x.expected, p));
    CHECK(f.h->resize(p, 16) == x.expected);
    CHECK(vmh_test::misuse_log::reported(x.expected, p));
    const vmh::grant g = f.h->grow(p, 1000);
    CHECK(g.status == x.expected);
    CHECK(vmh_test::misuse_log::reported(x.expected, p));
    CHECK(g.ptr == nullptr);
    CHECK(f.h->usable_size(p) == 0);
    check_unchanged(before, *f.h, f.base());
  }
  CHECK(f.h->deallocate(a) == status::ok);
  CHECK(f.h->deallocate(a) == status::double_free);  // twice
  CHECK(vmh_test::misuse_log::reported(status::double_free, a));
  CHECK(f.h->deallocate(b) == status::ok);
  CHECK(f.h->mapper().mapped() == 0);
  CHECK(f.h->validate());
}

namespace {
alignas(4096) std::byte constinit_window[packed_size];
// Constant-initialized: no constructor runs, the heap is ready before main.
constinit vmh::heap<packed_layout, vmh::counting_mapper, vmh::external_range> constinit_heap{
    vmh::external_range{constinit_window, sizeof constinit_window}, vmh::counting_mapper{8 * page}};
constinit vmh::heap<packed_layout, vmh::counting_mapper> arena_heap{vmh::counting_mapper{}};
}  // namespace

TEST_CASE("packed region: a constinit heap with a packed fixed layout", "[packed][heap][constinit]") {
  CHECK(constinit_heap.state() == vmh::layout_error::none);
  void* a = constinit_heap.allocate(100);
  void* b = constinit_heap.allocate(7000);
  CHECK(a == constinit_window);
  CHECK(b == constinit_window + 36864);  // the 16 KiB bucket
  CHECK(constinit_heap.stats().pages_mapped == 1 + 2);
  CHECK(constinit_heap.validate());
  CHECK(constinit_heap.deallocate(a) == status::ok);
  CHECK(constinit_heap.deallocate(b) == status::ok);
  CHECK(constinit_heap.mapper().mapped() == 0);

  CHECK(arena_heap.state() == vmh::layout_error::none);  // over its own static arena
  void* c = arena_heap.allocate(48);
  CHECK(c == arena_heap.base());
  CHECK(arena_heap.usable_size(c) == 48);
  CHECK(arena_heap.deallocate(c) == status::ok);
  CHECK(arena_heap.validate());
}
