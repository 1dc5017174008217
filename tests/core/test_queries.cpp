// Queries: owns, usable_size and the statistics per bucket and in total.
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::null_mapper;
using vmh::status;

TEST_CASE("owns tells the heap's range apart from everything else", "[heap][query]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  int local = 0;
  CHECK(h.owns(f.base()));
  CHECK(h.owns(f.base() + basic_size - 1));
  CHECK_FALSE(h.owns(f.base() + basic_size));
  CHECK_FALSE(h.owns(f.base() - 1));
  CHECK_FALSE(h.owns(&local));
  CHECK_FALSE(h.owns(nullptr));
  void* p = h.allocate(100);
  CHECK(h.owns(p));
  CHECK(h.owns(static_cast<std::byte*>(p) + 5));
  CHECK(h.deallocate(p) == status::ok);
  CHECK(h.owns(p));  // free blocks are still inside the heap
}

TEST_CASE("usable_size is the block or the mapped pages, whichever ends first", "[heap][query]") {
  // min(end of the block(s), end of the last mapped page) - ptr.
  auto expected = [](std::size_t offset, std::size_t size, std::size_t slot) {
    return std::min(align_up(offset + size, page), offset + slot) - offset;
  };
  SECTION("counting mapper") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    const std::size_t sizes[] = {1, 10, 64, 100, 256, 1000, 3000, 4097, 5000, 16384, 20000, 48 * kib, 65536};
    for (std::size_t size : sizes) {
      CAPTURE(size);
      void* p = h.allocate(size);
      REQUIRE(p != nullptr);
      const std::size_t b = expected_bucket(basic_table, size);
      CHECK(h.usable_size(p) == expected(f.off(p), size, basic_table.buckets[b].block_size));
      CHECK(h.usable_size(p) >= size);
      CHECK(h.deallocate(p) == status::ok);
      CHECK(h.usable_size(p) == 0);
    }
  }
  SECTION("straddling blocks") {
    fixture<ext_heap<odd_layout>, odd_size> f;
    auto& h = *f.h;
    for (std::size_t size : {100, 1100, 2100, 3100}) {
      void* p = h.allocate(size);
      REQUIRE(p != nullptr);
      CAPTURE(size, f.off(p));
      const std::size_t b = expected_bucket(odd_table, size);
      CHECK(f.bucket_of(p) == b);
      CHECK(h.usable_size(p) == expected(f.off(p), size, odd_table.buckets[b].block_size));
    }
    // A 6 KiB block that starts mid-page: its usable bytes end with a page or with the block.
    void* q = h.allocate(6000);
    REQUIRE(q != nullptr);
    CHECK(h.usable_size(q) == expected(f.off(q), 6000, 6144));
  }
  SECTION("null mapper: the whole block") {
    fixture<ext_heap<basic_layout, null_mapper>, basic_size> f;
    auto& h = *f.h;
    for (std::size_t size : {std::size_t{1}, std::size_t{100}, std::size_t{5000}, 48 * kib}) {
      CAPTURE(size);
      void* p = h.allocate(size);
      REQUIRE(p != nullptr);
      CHECK(h.usable_size(p) == basic_table.buckets[expected_bucket(basic_table, size)].block_size);
    }
    CHECK(h.validate());
  }
  SECTION("null mapper with runs: the whole run") {
    fixture<ext_heap<basic_layout, null_mapper, with_runs>, basic_size> f;
    auto& h = *f.h;
    void* p = h.allocate(100000);
    REQUIRE(p != nullptr);
    CHECK(h.usable_size(p) == 2 * 65536);
    CHECK(h.validate());
  }
  SECTION("not a live allocation") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    int local = 0;
    void* p = h.allocate(100);
    CHECK(h.usable_size(static_cast<std::byte*>(p) + 1) == 0);
    CHECK(h.usable_size(f.block(3, 0)) == 0);
    CHECK(h.usable_size(&local) == 0);
    CHECK(h.usable_size(nullptr) == 0);
  }
}

TEST_CASE("statistics per bucket and in total", "[heap][stats]") {
  fixture<ext_heap<basic_layout>, basic_size> f(counting_mapper{20 * page});
  auto& h = *f.h;
  CHECK(h.bucket_count() == basic_table.size());
  for (std::size_t b = 0; b < h.bucket_count(); ++b) {
    const vmh::bucket_stats s = h.stats(b);
    CHECK(s.block_size == basic_table.buckets[b].block_size);
    CHECK(s.block_count == basic_table.buckets[b].block_count);
    CHECK(s.in_use == 0);
    CHECK(s.peak_in_use == 0);
    CHECK(s.full_failures == 0);
  }
  const vmh::bucket_stats past = h.stats(h.bucket_count());
  CHECK(past.block_size == 0);
  CHECK(past.block_count == 0);

  void* a = h.allocate(100);  // bucket 1, page 1
  void* b = h.allocate(200);  // bucket 1, page 1
  void* c = h.allocate(48 * kib);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(c != nullptr);
  vmh::heap_stats s = h.stats();
  CHECK(s.live_allocations == 3);
  CHECK(s.bytes_in_blocks == 2 * 256 + 64 * kib);  // the blocks taken: two of 256 B, one of 64 KiB
  CHECK(s.peak_bytes_in_blocks == s.bytes_in_blocks);
  CHECK(s.pages_mapped == 1 + 12);
  CHECK(s.peak_pages_mapped == 13);
  CHECK(h.stats(1).in_use == 2);
  CHECK(h.stats(1).peak_in_use == 2);
  CHECK(h.stats(5).in_use == 1);

  CHECK(h.deallocate(a) == status::ok);
  s = h.stats();
  CHECK(s.live_allocations == 2);
  CHECK(s.bytes_in_blocks == 256 + 64 * kib);
  CHECK(s.peak_bytes_in_blocks == 2 * 256 + 64 * kib);
  CHECK(h.stats(1).in_use == 1);
  CHECK(h.stats(1).peak_in_use == 2);

  // no_memory: 13 pages mapped, 7 left.
  CHECK(h.try_allocate(60000).status == status::no_memory);
  CHECK(h.stats().failed_no_memory == 1);
  CHECK(h.stats(5).in_use == 1);

  // no_block: the 64 KiB bucket is full after one more; its next request fails.
  void* d = h.allocate(4 * page);
  REQUIRE(d != nullptr);
  CHECK(f.bucket_of(d) == 4);
  void* e = h.allocate(65536 - 4096);  // 16 pages needed but 3 free
  CHECK(e == nullptr);
  CHECK(h.stats().failed_no_memory == 2);
  CHECK(h.deallocate(d) == status::ok);
  void* e2 = h.allocate(7 * page);
  REQUIRE(e2 != nullptr);
  CHECK(f.bucket_of(e2) == 5);
  CHECK(h.stats(5).in_use == 2);
  CHECK(h.try_allocate(65536).status == status::no_block);
  CHECK(h.stats(5).full_failures == 1);
  CHECK(h.stats().failed_no_block == 1);
  // Larger than any block: it never succeeds, which is no failure of the heap.
  CHECK(h.try_allocate(100000).status == status::no_bucket);
  CHECK(h.stats().failed_no_block == 1);
  CHECK(h.stats(5).full_failures == 1);
  // Invalid requests are not failures of the heap either.
  CHECK(h.try_allocate(0).status == status::invalid_size);
  CHECK(h.stats().failed_no_block == 1);

  CHECK(h.deallocate(b) == status::ok);
  CHECK(h.deallocate(c) == status::ok);
  CHECK(h.deallocate(e2) == status::ok);
  s = h.stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.bytes_in_blocks == 0);
  CHECK(s.pages_mapped == 0);
  CHECK(s.peak_pages_mapped == 20);
  CHECK(h.stats(5).in_use == 0);
  CHECK(h.stats(5).peak_in_use == 2);
  CHECK(h.validate());
}

namespace {
// A window that gives out its start only as a mutable pointer.
struct mutable_only_range {
  std::byte* base() noexcept { return nullptr; }
  std::size_t size() const noexcept { return 0; }
};
}  // namespace

TEST_CASE("base() of a const heap, and of a const range, is a pointer to const", "[heap][query]") {
  using heap_type = ext_heap<basic_layout>;
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<const heap_type&>().base()), const std::byte*>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<heap_type&>().base()), std::byte*>);
  STATIC_REQUIRE(vmh::window_range<vmh::external_range>);
  STATIC_REQUIRE(vmh::window_range<vmh::static_arena<4096>>);
  STATIC_REQUIRE_FALSE(vmh::window_range<mutable_only_range>);  // the heap needs a const overload
  fixture<heap_type, basic_size> f;
  const heap_type& h = *f.h;
  CHECK(h.base() == f.base());
}
