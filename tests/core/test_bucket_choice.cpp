// Which bucket and block an allocation takes: the smallest fitting bucket, its lowest free
// block, spilling to larger buckets when full, and alignment up to the page size.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::layout_error;
using vmh::status;

TEST_CASE("allocate takes the smallest fitting bucket and its lowest free block", "[heap][alloc]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  REQUIRE(h.state() == layout_error::none);

  SECTION("sizes around every block size") {
    for (std::size_t b = 0; b < basic_table.size(); ++b) {
      const std::size_t bs = basic_table.buckets[b].block_size;
      const std::size_t sizes[] = {b == 0 ? 1 : basic_table.buckets[b - 1].block_size + 1, bs / 2 + 1, bs};
      for (std::size_t size : sizes) {
        CAPTURE(b, size);
        REQUIRE(expected_bucket(basic_table, size) == b);
        const vmh::grant g = h.try_allocate(size);
        REQUIRE(g);
        CHECK(g.status == status::ok);
        CHECK(g.size == size);
        CHECK(f.bucket_of(g.ptr) == b);
        // The bucket is otherwise empty: block 0.
        CHECK(g.ptr == f.block(b, 0));
        CHECK(h.deallocate(g.ptr) == status::ok);
      }
    }
  }

  SECTION("lowest free block first") {
    void* a = h.allocate(10);
    void* b = h.allocate(20);
    void* c = h.allocate(64);
    CHECK(a == f.block(0, 0));
    CHECK(b == f.block(0, 1));
    CHECK(c == f.block(0, 2));
    CHECK(h.deallocate(b) == status::ok);
    CHECK(h.allocate(1) == f.block(0, 1));
    CHECK(h.deallocate(a) == status::ok);
    CHECK(h.allocate(1) == f.block(0, 0));
    CHECK(h.allocate(1) == f.block(0, 3));
    CHECK(h.validate());
  }
}

TEST_CASE("an exact fit takes the bucket of that size (SOF used > instead of >=)", "[heap][alloc][sof-defect]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  for (std::size_t b = 0; b < basic_table.size(); ++b) {
    const std::size_t bs = basic_table.buckets[b].block_size;
    CAPTURE(bs);
    void* p = h.allocate(bs);
    REQUIRE(p != nullptr);
    CHECK(f.bucket_of(p) == b);
    CHECK(h.usable_size(p) == bs);
  }
  // The largest block size exactly: a second one still fits, a third does not.
  CHECK(h.allocate(65536) == f.block(5, 1));
  CHECK(h.try_allocate(65536).status == status::no_block);
  CHECK(h.validate());
}

TEST_CASE("a full bucket spills to the next larger one", "[heap][alloc]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  std::vector<std::pair<std::size_t, std::size_t>> live;
  std::size_t total_blocks = 0;
  for (std::size_t b = 0; b < basic_table.size(); ++b) {
    for (std::size_t i = 0; i < basic_table.buckets[b].block_count; ++i) {
      CAPTURE(b, i);
      void* p = h.allocate(64);
      REQUIRE(p == f.block(b, i));
      live.emplace_back(f.off(p), 64);
      ++total_blocks;
    }
    CHECK(h.stats(b).in_use == basic_table.buckets[b].block_count);
    // Spilling is not a failure.
    CHECK(h.stats(b).full_failures == 0);
  }
  CHECK(h.stats().failed_no_block == 0);
  CHECK(h.stats().live_allocations == total_blocks);
  CHECK(h.stats().pages_mapped == pages_touched(live));
  CHECK(h.mapper().mapped() == pages_touched(live) * page);

  // Everything is full: the request fails and its own bucket records it.
  const vmh::grant g = h.try_allocate(64);
  CHECK_FALSE(g);
  CHECK(g.status == status::no_block);
  CHECK(h.stats(0).full_failures == 1);
  for (std::size_t b = 1; b < basic_table.size(); ++b) CHECK(h.stats(b).full_failures == 0);
  CHECK(h.stats().failed_no_block == 1);
  // A 1000-byte request's own bucket is the 1 KiB one.
  CHECK(h.try_allocate(1000).status == status::no_block);
  CHECK(h.stats(2).full_failures == 1);
  CHECK(h.stats().failed_no_block == 2);

  // Freeing a 4 KiB block lets a small request spill into it.
  CHECK(h.deallocate(f.block(3, 2)) == status::ok);
  CHECK(h.allocate(64) == f.block(3, 2));
  CHECK(h.validate());
}

// ------------------------------------------------------------------------------------------------
// Alignment

TEST_CASE("alignment up to the page size is honoured where a bucket has it", "[heap][align]") {
  SECTION("power-of-two blocks") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    struct row {
      std::size_t align, bucket;
    };
    // Block alignments: 64, 256, 1024, 4096, 4096, 4096.
    const row rows[] = {{0, 0}, {1, 0}, {8, 0}, {64, 0}, {128, 1}, {256, 1}, {512, 2}, {1024, 2}, {2048, 3}, {4096, 3}};
    for (const row& r : rows) {
      CAPTURE(r.align);
      void* p = h.allocate(10, r.align);
      REQUIRE(p != nullptr);
      CHECK(f.bucket_of(p) == r.bucket);
      if (r.align != 0) CHECK(reinterpret_cast<std::uintptr_t>(p) % r.align == 0);
      CHECK(h.deallocate(p) == status::ok);
    }
    // Every block aligned to 1 KiB can be had: 8 + 4 + 2 + 2.
    std::size_t n = 0;
    while (void* p = h.allocate(1, 1024)) {
      CHECK(reinterpret_cast<std::uintptr_t>(p) % 1024 == 0);
      ++n;
    }
    CHECK(n == 8 + 4 + 2 + 2);
    CHECK(h.try_allocate(1, 1024).status == status::no_block);
    CHECK(h.try_allocate(1, 64).ptr == f.block(0, 0));
    // Above the page size no block is aligned enough: it never succeeds.
    CHECK(h.max_alignment() == page);
    CHECK(h.try_allocate(10, 2 * page).status == status::no_bucket);
    CHECK(h.validate());
  }
  SECTION("non-power-of-two blocks") {
    fixture<ext_heap<odd_layout>, odd_size> f;
    auto& h = *f.h;
    // Block alignments: 64 (192), 128 (1152), 2048 (6144). No bucket is page-aligned.
    void* a = h.allocate(10, 128);
    void* b = h.allocate(10, 256);
    void* c = h.allocate(10, 2048);
    CHECK(f.bucket_of(a) == 1);
    CHECK(f.bucket_of(b) == 2);
    CHECK(f.bucket_of(c) == 2);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 128 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(c) % 2048 == 0);
    const auto before = f.state();
    CHECK(h.max_alignment() == 2048);
    CHECK(h.max_size(2048) == 6144);
    CHECK(h.try_allocate(10, page).status == status::no_bucket);
    check_unchanged(before, h, f.base());
    CHECK(h.try_allocate(10, 3).status == status::invalid_alignment);
  }
}

TEST_CASE("with the default min_align no two blocks share a cache line (SOF invalidated a neighbour's line on free)",
          "[heap][alloc][sof-defect]") {
  // vmh does no cache maintenance; what keeps a DMA buffer's line its own is the layout: with the
  // default min_align (64, a DSP cache line) every block starts and ends on a line.
  auto lines_own = [](const auto& g) {
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const vmh::bucket_geometry& bg = g.buckets[b];
      CAPTURE(b, bg.block_size);
      CHECK(bg.offset % 64 == 0);
      CHECK(bg.stride % 64 == 0);
    }
  };
  lines_own(vmh::fixed_layout<vmh::presets::sof_table>::geometry);
  lines_own(basic_layout::geometry);
  STATIC_REQUIRE(vmh::default_min_align == 64);
  // A free touches no byte of its neighbours (the differential test checks this on every free).
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  void* left = h.allocate(64);
  void* mid = h.allocate(64);
  void* right = h.allocate(64);
  REQUIRE((left && mid && right));
  fill(left, 64, 1);
  fill(right, 64, 3);
  CHECK(h.deallocate(mid) == status::ok);
  CHECK(intact(left, 64, 1));
  CHECK(intact(right, 64, 3));
}
