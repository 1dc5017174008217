// fmt output: result codes, statistics and the heap map.
#include <cstddef>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <vmh/host/fmt.hpp>
#include <vmh/host/mmap.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "host_heaps.hpp"

namespace {

using namespace host_test;
using layout = small_layout;
using heap_type = small_heap;

using mmap_heap = host_test::own_range_heap<heap_type>;

}  // namespace

TEST_CASE("fmt: result codes print their names and take string specs", "[host][fmt]") {
  CHECK(fmt::format("{}", status::ok) == "ok");
  CHECK(fmt::format("{}", status::no_memory) == "no physical memory");
  CHECK(fmt::format("{}", status::double_free) == "block not allocated (double free)");
  CHECK(fmt::format("[{:>15}]", status::no_block) == "[  no free block]");
  CHECK(fmt::format("[{:<8}]", status::ok) == "[ok      ]");
  CHECK(fmt::format("{}", vmh::layout_error::none) == "ok");
  CHECK(fmt::format("{}", vmh::layout_error::window_misaligned) == "the window does not start on a page boundary");
  CHECK(fmt::format("{}", vmh::invariant::page_refs) == "page reference count wrong");
  CHECK(fmt::format("{}", vmh::check{}) == "ok");
  CHECK(fmt::format("{}", vmh::check{vmh::invariant::in_use_count, 2, 7}) == "bucket in_use count wrong (bucket 2, index 7)");
}

TEST_CASE("fmt: byte sizes print exactly in the largest unit that divides them", "[host][fmt]") {
  using vmh::host::byte_size;
  CHECK(fmt::format("{}", byte_size{0}) == "0 B");
  CHECK(fmt::format("{}", byte_size{192}) == "192 B");
  CHECK(fmt::format("{}", byte_size{1536}) == "1536 B");
  CHECK(fmt::format("{}", byte_size{6144}) == "6 KiB");
  CHECK(fmt::format("{}", byte_size{3 * 1024 * 1024}) == "3 MiB");
  CHECK(fmt::format("{}", byte_size{std::size_t{2} << 30}) == "2 GiB");
  CHECK(fmt::format("[{:>7}]", byte_size{65536}) == "[ 64 KiB]");
}

TEST_CASE("fmt: statistics", "[host][fmt]") {
  mmap_heap f;
  heap_type& h = f.heap;
  void* a = h.allocate(100);
  void* b = h.allocate(5000);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  h.deallocate(a);
  CHECK(h.try_allocate(100 * kib).status == status::no_bucket);  // larger than any block: not counted
  CHECK(fmt::format("{}", h.stats()) ==
        "1 live, 6144 B in blocks (peak 6400 B), 2 pages mapped (peak 3), failed: 0 no block, 0 no memory");
  CHECK(fmt::format("{}", h.stats(1)) == "256 B x 32: 0 in use (peak 1), 0 full failures");
  CHECK(fmt::format("{}", h.stats(3)) == "6 KiB x 8: 1 in use (peak 1), 0 full failures");
  CHECK_THROWS_AS(fmt::format(fmt::runtime("{:x}"), h.stats()), fmt::format_error);
  h.deallocate(b);
}

TEST_CASE("fmt: the heap map shows each bucket's blocks and pages", "[host][fmt]") {
  mmap_heap f;
  heap_type& h = f.heap;
  auto* big = static_cast<unsigned char*>(h.allocate(40 * kib));  // 10 pages, 3 of them touched
  auto* small = static_cast<unsigned char*>(h.allocate(100));     // a 256 B block, its page touched
  auto* odd1 = static_cast<unsigned char*>(h.allocate(6000));     // 6 KiB blocks 0 and 1: pages 7-9
  auto* odd2 = static_cast<unsigned char*>(h.allocate(6000));
  REQUIRE(big != nullptr);
  REQUIRE(small != nullptr);
  REQUIRE(odd1 != nullptr);
  REQUIRE(odd2 != nullptr);
  std::memset(big, 1, 10000);
  std::memset(small, 1, 100);
  std::memset(odd2, 1, 6000);  // pages 8 and 9; page 7 (odd1's first) stays untouched
  for (int i = 0; i < 4; ++i) static_cast<void>(h.allocate(200));  // 256 B blocks 1-4, on page 1 too
  void* extra[4];
  for (void*& p : extra) p = h.allocate(64 * kib);
  CHECK(extra[3] == nullptr);  // three 64 KiB blocks left: the fourth request fails

  const std::string expected =
      "5 buckets, 332 KiB virtual (83 pages of 4 KiB)\n"
      "bucket      block   in use / count    peak  full fails  pages mapped  resident\n"
      "     0       64 B       0 / 64           0           0             0         0\n"
      "     1      256 B       5 / 32           5           0             1         1\n"
      "     2      1 KiB       0 / 16           0           0             0         0\n"
      "     3      6 KiB       2 / 8            2           0             3         2\n"
      "     4     64 KiB       4 / 4            4           1            58         3\n"
      "total: 11 live, 275712 B in blocks (peak 275712 B), 62 pages mapped (peak 62), failed: 1 no block, 0 no memory\n";
  CHECK(fmt::format("{}", vmh::host::heap_map(h, f.range.base())) == expected);

  // The heap tells its own base: the one-argument form prints the same map.
  CHECK(fmt::format("{}", vmh::host::heap_map(h)) == expected);

  // The page columns agree with the heap: freeing everything leaves no page mapped or resident.
  for (void* p : extra) h.deallocate(p);
  h.deallocate(big);
  for (std::size_t b = 0; b < h.bucket_count(); ++b) {
    const vmh::host::page_count pc = vmh::host::bucket_pages(h, f.range.base(), b);
    CAPTURE(b);
    CHECK(pc.mapped_pages == (b == 1 ? 1u : b == 3 ? 3u : 0u));
  }
}

TEST_CASE("fmt: the heap map of plain RAM and of an unconfigured heap", "[host][fmt]") {
  SECTION("plain RAM maps no pages; residency still shows") {
    // All of the range readable and writable up front, as RAM is.
    mmap_range r{layout::virtual_size};
    mmap_mapper ram;
    REQUIRE(ram.map(r.base(), r.size()));
    vmh::heap<layout, vmh::null_mapper, external_range> h{r.view()};
    auto* p = static_cast<unsigned char*>(h.allocate(3000));  // 6 KiB block 0: pages 7-8
    REQUIRE(p != nullptr);
    std::memset(p, 1, 3000);  // page 7
    const std::string map = fmt::format("{}", vmh::host::heap_map(h, r.base()));
    CHECK(map.find("     3      6 KiB       1 / 8            1           0             -         1\n") != std::string::npos);
    CHECK(map.find("total: 1 live, 6144 B in blocks (peak 6144 B), 0 pages mapped (peak 0)") != std::string::npos);
    const std::string no_base = fmt::format("{}", vmh::host::heap_map(h, nullptr));
    CHECK(no_base.find("     3      6 KiB       1 / 8            1           0             -         -\n") != std::string::npos);
    h.deallocate(p);
  }
  SECTION("a runtime layout before configure") {
    vmh::heap<vmh::runtime_layout<8, 1024, 256>, mmap_mapper, external_range> h{external_range{}, mmap_mapper{}};
    CHECK(fmt::format("{}", vmh::host::heap_map(h)) == "heap not configured: a layout needs at least one bucket\n");
  }
}

TEST_CASE("bucket_pages agrees with the heap's page count under random use", "[host][fmt]") {
  // Every bucket of the layout starts on a page boundary, so no page is shared between buckets
  // and the per-bucket counts add up to the heap's.
  mmap_heap f;
  heap_type& h = f.heap;
  std::mt19937 rng{12345};
  std::vector<void*> live;
  std::uniform_int_distribution<std::size_t> size{1, 70 * kib};
  for (int step = 0; step < 2000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      const std::size_t n = size(rng) >> (rng() % 8);
      if (void* p = h.allocate(n == 0 ? 1 : n)) {
        if (rng() % 2 == 0) std::memset(p, 1, n == 0 ? 1 : n);
        live.push_back(p);
      }
    } else {
      const std::size_t i = rng() % live.size();
      h.deallocate(live[i]);
      live[i] = live.back();
      live.pop_back();
    }
    if (step % 50 == 0) {
      std::size_t mapped = 0;
      for (std::size_t b = 0; b < h.bucket_count(); ++b) {
        const vmh::host::page_count pc = vmh::host::bucket_pages(h, f.range.base(), b);
        CHECK(pc.resident_bytes <= pc.mapped_pages * 4096);
        mapped += pc.mapped_pages;
      }
      CAPTURE(step);
      CHECK(mapped == h.stats().pages_mapped);
    }
  }
  for (void* p : live) h.deallocate(p);
  CHECK(vmh::host::resident_bytes(f.range.base(), f.range.size()) == 0);
}
