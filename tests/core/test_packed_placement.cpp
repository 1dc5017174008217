// The backing heap (vmh::packed_heap) on its own: placements computed by hand from the rules of
// packed_heap.hpp, with 16-byte granules and 4 KiB pages (256 granules a page) in a region of
// 4 pages (1024 granules). Offsets and lengths below are in granules unless they say bytes.
//
// The rules the cases follow:
//  - the wilderness (the free run that reaches the region's end) is taken last, by a bump;
//  - a free chunk below 64 granules is "small", of class floor(log2(length)); a request of n
//    granules at an alignment of a granules needs need = n + a - 1; it first looks once at the
//    first chunk (by address) of the smallest class from class(n) up, then takes the first chunk
//    of the smallest class whose every chunk holds need (from ceil(log2(need)) up);
//  - a chunk of 64 granules or more is "big", on one list per class (four per power of two: 64,
//    80, 96, 112, 128, 160, ...), newest first; a request looks once at the head of need's own
//    class, then takes the head of the smallest class whose every chunk holds need;
//  - freeing merges with the free neighbours at once; a chunk that reaches the wilderness joins it.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

using vmh::status;

constexpr std::size_t granule = 16, page = 4096, region = 4 * page;

vmh::packed_geometry geometry(std::size_t bytes = region, std::size_t limit = region) {
  vmh::packed_geometry g{};
  REQUIRE(vmh::derive_packed(bytes, granule, page, limit, g) == vmh::packed_error::none);
  return g;
}

// The page bookkeeping the heap gives the packed heap, as a test double: a count of allocations
// per page, the pages that went from none to one (mapped) and back (unmapped), and a switch that
// refuses the next commit.
struct page_counts {
  std::vector<int> refs = std::vector<int>(region / page, 0);
  std::size_t mapped = 0, commits = 0, releases = 0;
  bool refuse = false;
  bool commit(std::size_t first, std::size_t end) {
    ++commits;
    if (refuse) {
      refuse = false;
      return false;
    }
    for (std::size_t p = first; p < end; ++p) mapped += refs[p]++ == 0;
    return true;
  }
  void release(std::size_t first, std::size_t end) {
    ++releases;
    for (std::size_t p = first; p < end; ++p) mapped -= --refs[p] == 0;
  }
};
static_assert(vmh::packed_pages<page_counts>);

// The bit counts the scans and class computations use (of a nonzero value), at every width.
static_assert(vmh::detail::leading_zeros(std::uint8_t{1}) == 7 && vmh::detail::leading_zeros(std::uint16_t{0x8000}) == 0);
static_assert(vmh::detail::leading_zeros(std::uint32_t{1}) == 31 && vmh::detail::leading_zeros(std::uint64_t{1}) == 63);
static_assert(vmh::detail::trailing_zeros(std::uint16_t{0x8000}) == 15 && vmh::detail::trailing_zeros(std::uint64_t{1} << 63) == 63);
static_assert(vmh::detail::highest_bit_index(std::uint8_t{0x90}) == 7 && vmh::detail::log2_floor(SIZE_MAX) == vmh::detail::size_bits - 1);
static_assert(vmh::detail::log2_floor(1) == 0 && vmh::detail::log2_floor(1023) == 9 && vmh::detail::log2_floor(1024) == 10);

using heap_type = vmh::packed_heap<region / granule>;

// A packed heap with its geometry and pages; sizes and offsets in granules.
struct fixture {
  vmh::packed_geometry g = geometry();
  page_counts pages;
  heap_type h;

  // Places n granules (n * 16 bytes) at an alignment of `align` granules; returns the granule.
  std::size_t take(std::size_t n, std::size_t align = 1) {
    status why = status::ok;
    const std::size_t off = h.allocate(g, pages, n * granule, align * granule, why);
    if (off == SIZE_MAX) return SIZE_MAX;
    REQUIRE(why == status::ok);
    REQUIRE(off % granule == 0);
    return off / granule;
  }
  heap_type::extent at(std::size_t first) const { return h.locate(g, first * granule); }
  void drop(std::size_t first) {
    const heap_type::extent x = at(first);
    REQUIRE(x.result == status::ok);
    h.deallocate(g, pages, x);
  }
  status resize(std::size_t first, std::size_t bytes) { return h.resize(g, pages, at(first), bytes); }
  // The end of the free run after the allocation at `first` (its own end when none).
  std::size_t run_end(std::size_t first) const { return h.grow_limit(g, at(first).end); }
  // Takes runs of `lengths` granules from the start of an empty region, each followed by one
  // granule that stays taken, then frees the runs `freed` names (indexes, in that order): holes of
  // those lengths, kept apart. Returns where each run starts.
  std::vector<std::size_t> holes(std::initializer_list<std::size_t> lengths, std::initializer_list<std::size_t> freed) {
    std::vector<std::size_t> at;
    std::size_t next = 0;
    for (const std::size_t n : lengths) {
      REQUIRE(take(n) == next);
      REQUIRE(take(1) == next + n);
      at.push_back(next);
      next += n + 1;
    }
    for (const std::size_t i : freed) drop(at[i]);
    return at;
  }
  void consistent() const {
    const auto f = h.check(g);
    INFO("fault " << static_cast<int>(f.what) << " at " << f.where);
    CHECK(f.what == heap_type::fault::kind::none);
  }
};

}  // namespace

TEST_CASE("packed heap: the wilderness is taken by a bump, granule by granule", "[packed][placement]") {
  fixture f;
  status why = status::ok;
  CHECK(f.h.allocate(f.g, f.pages, 1, 0, why) == 0);       // 1 byte: one granule
  CHECK(f.h.allocate(f.g, f.pages, 17, 0, why) == 16);     // 17 bytes: two
  CHECK(f.h.allocate(f.g, f.pages, 100, 16, why) == 48);   // 100 bytes: seven, 16-aligned
  CHECK(f.h.allocate(f.g, f.pages, 4000, 8, why) == 160);  // 250 granules: [10, 260), pages 0 and 1
  CHECK(f.h.live() == 4);
  CHECK(f.h.granules_in_use() == 1 + 2 + 7 + 250);
  CHECK(f.at(3).result == status::ok);
  CHECK(f.at(3).first == 3);
  CHECK(f.at(3).end == 10);
  // Every allocation committed the pages its granules touch: page 0 four times, page 1 once.
  CHECK(f.pages.refs[0] == 4);
  CHECK(f.pages.refs[1] == 1);
  CHECK(f.pages.mapped == 2);
  // The last allocation reaches the wilderness: it may grow to the region's end.
  CHECK(f.run_end(10) == 1024);
  f.consistent();
}

TEST_CASE("packed heap: an alignment gap stays free and is reused", "[packed][placement]") {
  fixture f;
  CHECK(f.take(1) == 0);
  CHECK(f.take(1, 16) == 16);  // 256-byte alignment: granules [1, 16) stay free (15, class 3)
  CHECK(f.run_end(0) == 16);
  f.consistent();
  CHECK(f.take(1) == 1);  // class 3 holds one granule surely: the gap's start
  CHECK(f.take(8) == 2);  // need 8: class 3 surely; [2, 16) holds it, [10, 16) stays (class 2)
  CHECK(f.take(7) == 17);  // need 7: one look at class 2 ([10, 16) is 6 long), no class 3: the wilderness
  CHECK(f.take(6) == 10);  // need 6: the look at class 2 fits exactly
  CHECK(f.run_end(10) == 16);  // no free granule left before the wilderness
  CHECK(f.take(1, 64) == 64);  // the wilderness was at 24: [24, 64) stays free (40 granules, class 5)
  CHECK(f.take(64) == 65);     // a big request and no big chunk: the wilderness
  CHECK(f.take(32) == 24);     // need 32: class 5 surely
  f.consistent();
  CHECK(f.h.live() == 9);
}

TEST_CASE("packed heap: a small request looks at its own class first, then takes the first sure chunk",
          "[packed][placement]") {
  fixture f;
  // [0, 8) a, [8, 9) s1, [9, 16) b, [16, 17) s2; freeing a and b leaves 8 (class 3) and 7 (class 2).
  f.holes({8, 7}, {0, 1});
  f.consistent();
  // 5 granules: class 2 is its own; the look at its first chunk ([9, 16)) holds it, although
  // [0, 8) comes first by address.
  CHECK(f.take(5) == 9);  // [14, 16) stays free: 2 granules, class 1
  // 3 granules: the look at class 1 ([14, 16)) is too short; class 2 (need 3 -> 4) has none, class 3 does.
  CHECK(f.take(3) == 0);  // [3, 8) stays free: 5 granules, class 2
  CHECK(f.take(2) == 14);  // its own class 1: [14, 16) exactly
  CHECK(f.take(4) == 3);   // its own class 2: [3, 8), [7, 8) stays
  CHECK(f.take(1) == 7);
  CHECK(f.take(1) == 17);  // nothing left but the wilderness
  f.consistent();
}

TEST_CASE("packed heap: big holes are taken from their class lists, newest first", "[packed][placement]") {
  fixture f;
  // [0, 100) a, s, [101, 171) b, s, [172, 272) c, s. Freed: a (100 granules, class [96, 112)),
  // c (the same class: now its list's head), b (70 granules, class [64, 80)).
  f.holes({100, 70, 100}, {0, 2, 1});
  f.consistent();
  // 64 granules: class [64, 80) holds it surely: its head, b.
  CHECK(f.take(64) == 101);  // [165, 171) stays: 6 granules, small
  // 65 granules: need's class [64, 80) is empty, [80, 96) too; the head of [96, 112) is c (newest).
  CHECK(f.take(65) == 172);  // [237, 272) stays: 35 granules, small
  // 80 granules: class [80, 96) surely; none; the next class's head is a.
  CHECK(f.take(80) == 0);  // [80, 100) stays
  // Nothing big is free: 64 granules go to the wilderness.
  CHECK(f.take(64) == 273);
  f.consistent();
}

TEST_CASE("packed heap: a big request looks once at the head of its own class", "[packed][placement]") {
  fixture f;
  // Two chunks of class [64, 80): [0, 75) (older) and [76, 142) (newer, the head), and [143, 273).
  f.holes({75, 66, 130}, {0, 1, 2});
  // 66 granules: need 66, own class [64, 80), not sure; its head (66 long) holds it.
  CHECK(f.take(66) == 76);
  f.drop(76);  // the 66 is the head again
  // 70 granules: its own head (66) does not hold it; the smallest sure class is [80, 96), and
  // the first non-empty one from there is [128, 160): its head, the 130.
  CHECK(f.take(70) == 143);  // [213, 273) stays: 60 granules, small
  // 75 granules: the 75-granule chunk would hold it exactly, but it is not its class's head (the
  // 66 is); no sure class has a chunk: the wilderness.
  CHECK(f.take(75) == 274);
  f.consistent();
}

TEST_CASE("packed heap: freeing merges with the left, the right, both neighbours and the wilderness",
          "[packed][placement]") {
  // Five allocations of 4 granules: a [0, 4), b [4, 8), c [8, 12), d [12, 16), e [16, 20).
  auto five = [](fixture& f) {
    for (std::size_t i = 0; i < 5; ++i) REQUIRE(f.take(4) == 4 * i);
  };
  SECTION("both neighbours") {
    fixture f;
    five(f);
    f.drop(4);
    f.drop(12);
    CHECK(f.run_end(0) == 8);
    f.drop(8);  // b, c and d are one chunk of 12
    CHECK(f.run_end(0) == 16);
    f.consistent();
    CHECK(f.take(12) == 4);  // class 3 holds 12 at one look: the merged chunk, exactly
    CHECK(f.take(1) == 20);
  }
  SECTION("the left neighbour (b, then c), the right neighbour (c, then b)") {
    for (const std::size_t first : {4, 8}) {
      CAPTURE(first);
      fixture f;
      five(f);
      f.drop(first);
      f.drop(12 - first);
      CHECK(f.run_end(0) == 12);
      f.consistent();
      CHECK(f.take(8) == 4);
    }
  }
  SECTION("the wilderness, directly and through a free left neighbour") {
    fixture f;
    five(f);
    f.drop(16);  // e was the last: the wilderness starts at 16 again
    CHECK(f.run_end(12) == 1024);
    CHECK(f.take(4) == 16);
    f.drop(8);
    f.drop(16);  // c's chunk is not merged with the wilderness (d between)
    f.drop(12);  // d merges with c on its left and with the wilderness on its right
    CHECK(f.run_end(4) == 1024);
    f.consistent();
    CHECK(f.take(1) == 8);  // no chunk is left: the wilderness, from 8
    CHECK(f.take(1) == 9);
  }
  SECTION("a big chunk merges with small ones on both sides") {
    fixture f;
    REQUIRE(f.take(10) == 0);
    REQUIRE(f.take(10) == 10);
    REQUIRE(f.take(250) == 20);
    REQUIRE(f.take(10) == 270);
    REQUIRE(f.take(1) == 280);
    f.drop(20);   // 250 granules: a big chunk, its length in its node and in a tag at its end
    f.drop(10);   // the chunk on its right is measured by its node: one chunk [10, 270)
    f.drop(270);  // the chunk on its left is measured by its tag (more than two words back)
    CHECK(f.run_end(0) == 280);
    f.consistent();
    CHECK(f.take(270) == 10);  // one look at its own class's head: exactly
    CHECK(f.take(1) == 281);
  }
  SECTION("everything freed: the whole region is the wilderness again") {
    fixture f;
    five(f);
    for (std::size_t i : {8, 0, 16, 4, 12}) f.drop(i);
    CHECK(f.h.live() == 0);
    CHECK(f.h.granules_in_use() == 0);
    CHECK(f.pages.mapped == 0);
    f.consistent();
    CHECK(f.take(1024) == 0);  // the region, whole
    CHECK(f.take(1) == SIZE_MAX);
  }
}

TEST_CASE("packed heap: resize shrinks and grows in place into the free run after it", "[packed][resize]") {
  fixture f;
  REQUIRE(f.take(10) == 0);
  REQUIRE(f.take(10) == 10);
  REQUIRE(f.take(10) == 20);
  f.drop(10);  // [10, 20) free
  SECTION("shrinking frees the tail, merged with the run after it") {
    CHECK(f.resize(0, 4 * granule) == status::ok);
    CHECK(f.at(0).end == 4);
    CHECK(f.run_end(0) == 20);
    CHECK(f.h.granules_in_use() == 14);
    f.consistent();
    CHECK(f.take(16) == 4);  // the merged run, exactly
  }
  SECTION("growing takes from the free run after it, up to its end") {
    CHECK(f.resize(0, 15 * granule - 3) == status::ok);  // 15 granules
    CHECK(f.at(0).end == 15);
    CHECK(f.run_end(0) == 20);
    CHECK(f.resize(0, 20 * granule) == status::ok);  // the whole run
    CHECK(f.run_end(0) == 20);
    f.consistent();
    CHECK(f.resize(0, 20 * granule + 1) == status::exceeds_block);  // the next granule is used
    CHECK(f.at(0).end == 20);
  }
  SECTION("a run too short: exceeds_block, nothing changes") {
    CHECK(f.resize(0, 21 * granule) == status::exceeds_block);
    CHECK(f.at(0).end == 10);
    CHECK(f.run_end(0) == 20);
    f.consistent();
  }
  SECTION("the last allocation grows into the wilderness up to the region's end, not beyond") {
    CHECK(f.resize(20, (1024 - 20) * granule) == status::ok);
    CHECK(f.run_end(20) == 1024);
    CHECK(f.resize(20, (1024 - 20) * granule + 1) == status::exceeds_block);
    CHECK(f.pages.mapped == 4);
    CHECK(f.resize(20, granule) == status::ok);  // back: the wilderness starts at 21
    CHECK(f.run_end(20) == 1024);
    CHECK(f.pages.mapped == 1);
    f.consistent();
    CHECK(f.take(1) == 10);  // the only chunk, [10, 20)
    CHECK(f.take(1) == 11);  // its rest
    CHECK(f.take(1) == 12);
  }
  SECTION("the same size, or the same granules, changes nothing") {
    CHECK(f.resize(0, 10 * granule) == status::ok);
    CHECK(f.resize(0, 10 * granule - 15) == status::ok);
    CHECK(f.at(0).end == 10);
    CHECK(f.run_end(0) == 20);
  }
}

TEST_CASE("packed heap: pages are committed and released for the granules an allocation touches",
          "[packed][pages]") {
  fixture f;
  CHECK(f.take(250) == 0);   // page 0
  CHECK(f.take(13) == 250);  // [250, 263): pages 0 and 1
  CHECK(f.take(7) == 263);   // page 1
  CHECK(f.pages.refs[0] == 2);
  CHECK(f.pages.refs[1] == 2);
  CHECK(f.pages.mapped == 2);
  f.drop(250);  // pages 0 and 1 stay: the neighbours touch them
  CHECK(f.pages.mapped == 2);
  f.drop(263);
  CHECK(f.pages.mapped == 1);
  CHECK(f.resize(0, 300 * granule) == status::ok);  // grows over page 1
  CHECK(f.pages.refs[1] == 1);
  CHECK(f.resize(0, 256 * granule) == status::ok);  // ends at page 0's end
  CHECK(f.pages.mapped == 1);
  f.drop(0);
  CHECK(f.pages.mapped == 0);
  CHECK(f.pages.commits == 4);  // three allocations and the growing resize
  CHECK(f.pages.releases == 4);  // two frees, the shrinking resize, the last free
}

TEST_CASE("packed heap: a refused commit changes nothing", "[packed][pages]") {
  fixture f;
  REQUIRE(f.take(250) == 0);
  f.pages.refuse = true;
  status why = status::ok;
  CHECK(f.h.allocate(f.g, f.pages, 100 * granule, 0, why) == SIZE_MAX);
  CHECK(why == status::no_memory);
  CHECK(f.h.live() == 1);
  CHECK(f.h.granules_in_use() == 250);
  CHECK(f.run_end(0) == 1024);
  f.consistent();
  CHECK(f.take(100) == 250);  // the same place, now that pages can be had
  f.pages.refuse = true;
  CHECK(f.resize(250, 400 * granule) == status::no_memory);  // pages 1 needs mapping
  CHECK(f.at(250).end == 350);
  CHECK(f.run_end(250) == 1024);
  f.consistent();
}

TEST_CASE("packed heap: a request no free run holds is refused with no_block", "[packed][placement]") {
  fixture f;
  REQUIRE(f.take(1000) == 0);
  status why = status::ok;
  CHECK(f.h.allocate(f.g, f.pages, 25 * granule, 0, why) == SIZE_MAX);  // 24 granules left
  CHECK(why == status::no_block);
  CHECK(f.take(24) == 1000);
  CHECK(f.take(1) == SIZE_MAX);
  f.consistent();
  // A hole of 40 granules (class 5) and a request of 33: no class holds 33 surely below 64, and
  // the wilderness is empty: refused although the hole could have held it.
  f.drop(1000);
  REQUIRE(f.resize(0, 900 * granule) == status::ok);  // [900, 1024) free: the wilderness
  CHECK(f.take(60) == 900);
  CHECK(f.take(24) == 960);
  CHECK(f.take(40) == 984);
  f.drop(900);  // [900, 960): 60 granules, class 5
  CHECK(f.take(1, 64) == SIZE_MAX);  // need 64: the look at class 5 finds 960 taken, no sure class
  CHECK(f.take(33) == 900);          // need 33 (64 surely): the one look at class 5 finds it
  f.consistent();
}

TEST_CASE("packed heap: a run that holds a request but not surely may be passed over", "[packed][placement]") {
  fixture f;
  // Two chunks of class 5 ([32, 64)): [0, 40) first by address, then [41, 91); the rest is used.
  f.holes({40, 50}, {});
  REQUIRE(f.take(932) == 92);
  f.drop(0);
  f.drop(41);
  // 45 granules: need 45 -> 64, no class surely; the one look at class 5 meets [0, 40): refused,
  // although [41, 91) would hold it (the bound the differential test checks).
  status why = status::ok;
  CHECK(f.h.allocate(f.g, f.pages, 45 * granule, 0, why) == SIZE_MAX);
  CHECK(why == status::no_block);
  CHECK(f.take(40) == 0);  // the look finds [0, 40) and it fits exactly
  CHECK(f.take(45) == 41);  // now the look meets [41, 91)
  f.consistent();
}

TEST_CASE("packed heap: locate tells an allocation's start from its inside and from free granules",
          "[packed][bad pointer]") {
  fixture f;
  REQUIRE(f.take(3) == 0);
  REQUIRE(f.take(2) == 3);
  CHECK(f.h.locate(f.g, 0).result == status::ok);
  CHECK(f.h.locate(f.g, 3 * granule).result == status::ok);    // a neighbour's start, adjacent
  CHECK(f.h.locate(f.g, granule).result == status::interior_pointer);      // a later granule
  CHECK(f.h.locate(f.g, 5).result == status::interior_pointer);            // inside the first granule
  CHECK(f.h.locate(f.g, 4 * granule + 8).result == status::interior_pointer);
  CHECK(f.h.locate(f.g, 5 * granule).result == status::double_free);        // the wilderness
  CHECK(f.h.locate(f.g, 5 * granule + 3).result == status::double_free);    // inside a free granule
  CHECK(f.h.locate(f.g, region - 1).result == status::double_free);
  f.drop(0);
  CHECK(f.h.locate(f.g, 0).result == status::double_free);  // freed
  CHECK(f.h.locate(f.g, granule).result == status::double_free);
}

TEST_CASE("packed heap: an empty heap is all zero and constant-initialized", "[packed]") {
  static constinit heap_type empty{};
  CHECK(empty.live() == 0);
  CHECK(empty.granules_in_use() == 0);
  const vmh::packed_geometry g = geometry();
  CHECK(empty.check(g).what == heap_type::fault::kind::none);
  CHECK(empty.grow_limit(g, 0) == 1024);  // the whole region is the wilderness
  // reset() empties a heap that was used.
  fixture f;
  REQUIRE(f.take(5) == 0);
  REQUIRE(f.take(100) == 5);
  f.drop(0);
  f.drop(5);
  f.h.reset();
  f.consistent();
  CHECK(f.take(1) == 0);
}

TEST_CASE("packed heap: an allocation that reaches the region's end is found whole", "[packed][placement]") {
  // The end of an allocation is the next start or free granule; past the region's last granule
  // there is none: the arrays end there (a region of the heap's capacity) or their clear padding
  // bits do (a smaller region).
  for (const std::size_t bytes : {region, region / 2}) {
    INFO("region of " << bytes << " bytes");
    fixture f;
    f.g = geometry(bytes);
    const std::size_t granules = bytes / granule;
    REQUIRE(f.take(100) == 0);
    REQUIRE(f.take(granules - 100) == 100);  // the rest, to the last granule
    CHECK(f.at(100).end == granules);
    f.consistent();
    f.drop(100);
    REQUIRE(f.take(granules - 101) == 100);
    REQUIRE(f.take(1) == granules - 1);  // the last granule alone
    CHECK(f.at(100).end == granules - 1);
    CHECK(f.at(granules - 1).end == granules);
    f.drop(granules - 1);
    CHECK(f.run_end(100) == granules);
    f.consistent();
    f.drop(100);
    f.drop(0);
    f.consistent();
  }
}
