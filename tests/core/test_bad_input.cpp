// The bad-input table: every row is a call that must fail (or do nothing) with a given result
// and leave the heap exactly as it was: statistics, live blocks, mapped pages, invariants.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"
#include "support/layout_rules.hpp"

using vmh_test::arena;
using vmh_test::heap_state;
using vmh_test::page;
using vmh::bucket;
using vmh::counting_mapper;
using vmh::external_range;
using vmh::layout_error;
using vmh::status;

namespace {

// basic_table: the largest block is 64 KiB and no block is aligned beyond a page.
using layout = vmh_test::basic_layout;
constexpr std::size_t range = vmh_test::basic_size;
constexpr std::size_t largest_block = 65536;
using heap_type = vmh_test::ext_heap<layout>;

// A heap with live allocations in several buckets, one freed block and untouched blocks. The
// window has a page more than the layout: the byte after the layout is real memory.
struct fixture : vmh_test::fixture<heap_type, range, page> {
  std::byte* small = nullptr;   // 10 bytes in a 64-byte block
  std::byte* medium = nullptr;  // 100 bytes in a 256-byte block
  std::byte* large = nullptr;   // 5000 bytes in a 16 KiB block
  std::byte* huge = nullptr;    // 48 KiB in a 64 KiB block
  std::byte* freed = nullptr;   // a 64-byte block allocated and freed
  heap_state<heap_type> before;
  vmh_test::misuse_log misuse;  // bad pointers are the point here: each report is checked

  fixture() : before(state()) {
    small = static_cast<std::byte*>(h->allocate(10));
    freed = static_cast<std::byte*>(h->allocate(10));
    medium = static_cast<std::byte*>(h->allocate(100));
    large = static_cast<std::byte*>(h->allocate(5000));
    huge = static_cast<std::byte*>(h->allocate(48 * 1024));
    REQUIRE(small != nullptr);
    REQUIRE(freed != nullptr);
    REQUIRE(medium != nullptr);
    REQUIRE(large != nullptr);
    REQUIRE(huge != nullptr);
    REQUIRE(h->deallocate(freed) == status::ok);
    REQUIRE(h->validate());
    before = state();
  }

  // deallocate and resize through the heap, checking that a misused pointer was reported to the
  // misuse handler once, with the status and the pointer, and nothing else was.
  status free(void* p) {
    const status s = h->deallocate(p);
    CHECK(vmh_test::misuse_log::reported(s, p));
    return s;
  }
  status resize(void* p, std::size_t n) {
    const status s = h->resize(p, n);
    CHECK(vmh_test::misuse_log::reported(s, p));
    return s;
  }

  // Nothing changed but the given failure counters.
  void unchanged(std::size_t more_no_block = 0, std::size_t more_no_memory = 0) const {
    check_unchanged(before, *h, base(), {.no_block = more_no_block, .no_memory = more_no_memory});
  }
};

void fails_allocate(fixture& f, std::size_t size, std::size_t align, status expected) {
  CAPTURE(size, align);
  const vmh::grant g = f.h->try_allocate(size, align);
  CHECK(g.status == expected);
  CHECK(g.ptr == nullptr);
  CHECK(g.size == 0);
  CHECK_FALSE(g);
  CHECK(f.h->allocate(size, align) == nullptr);
}

void fails_range(fixture& f, std::size_t min, std::size_t preferred, std::size_t align, std::size_t granule,
                 status expected) {
  CAPTURE(min, preferred, align, granule);
  const vmh::grant g = f.h->allocate_range(min, preferred, align, granule);
  CHECK(g.status == expected);
  CHECK(g.ptr == nullptr);
  CHECK(g.size == 0);
}

}  // namespace

TEST_CASE("bad input: free(nullptr) is a no-op", "[bad-input]") {
  fixture f;
  CHECK(f.free(nullptr) == status::ok);
  f.unchanged();
}

TEST_CASE("bad input: free of a stack address is a foreign pointer", "[bad-input]") {
  fixture f;
  int local = 0;
  std::byte buffer[64]{};
  CHECK(f.free(&local) == status::foreign_pointer);
  CHECK(f.free(buffer) == status::foreign_pointer);
  CHECK(f.resize(&local, 10) == status::foreign_pointer);
  CHECK(f.h->usable_size(&local) == 0);
  f.unchanged();
}

TEST_CASE("bad input: free one past the end of the range is a foreign pointer", "[bad-input]") {
  fixture f;
  // The window has a page more than the layout: the byte after the layout is real memory.
  CHECK(f.free(f.base() + range) == status::foreign_pointer);
  CHECK(f.free(f.base() + range + 64) == status::foreign_pointer);
  CHECK(f.resize(f.base() + range, 10) == status::foreign_pointer);
  f.unchanged();
}

TEST_CASE("bad input: free just before the start of the range is a foreign pointer", "[bad-input]") {
  fixture f;
  std::byte* before_start = reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(f.base()) - 1);
  std::byte* block_before = reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(f.base()) - 64);
  CHECK(f.free(before_start) == status::foreign_pointer);
  CHECK(f.free(block_before) == status::foreign_pointer);
  f.unchanged();
}

TEST_CASE("bad input: free of an interior pointer", "[bad-input]") {
  fixture f;
  CHECK(f.free(f.small + 1) == status::interior_pointer);
  CHECK(f.free(f.large + 64) == status::interior_pointer);
  CHECK(f.free(f.huge + 4096) == status::interior_pointer);
  CHECK(f.free(f.huge + 60000) == status::interior_pointer);  // past the request, inside the block
  CHECK(f.free(f.block(3, 1) + 8) == status::interior_pointer);  // inside a free block
  CHECK(f.resize(f.medium + 4, 10) == status::interior_pointer);
  f.unchanged();
}

TEST_CASE("bad input: double free", "[bad-input]") {
  fixture f;
  CHECK(f.free(f.freed) == status::double_free);
  CHECK(f.free(f.freed) == status::double_free);
  f.unchanged();
}

TEST_CASE("bad input: free of a block start that was never allocated", "[bad-input]") {
  fixture f;
  CHECK(f.free(f.block(3, 2)) == status::double_free);
  CHECK(f.free(f.block(5, 1)) == status::double_free);
  CHECK(f.free(f.block(0, 63)) == status::double_free);
  f.unchanged();
}

TEST_CASE("bad input: allocate 0 bytes", "[bad-input]") {
  fixture f;
  fails_allocate(f, 0, 0, status::invalid_size);
  fails_allocate(f, 0, 64, status::invalid_size);
  f.unchanged();
}

TEST_CASE("bad input: SIZE_MAX and sizes larger than the range", "[bad-input]") {
  fixture f;
  fails_allocate(f, SIZE_MAX, 0, status::invalid_size);
  fails_allocate(f, SIZE_MAX, 64, status::invalid_size);
  fails_allocate(f, SIZE_MAX - page + 1, 0, status::invalid_size);
  fails_allocate(f, SIZE_MAX / 2 + 1, 0, status::invalid_size);
  fails_allocate(f, range + 1, 0, status::invalid_size);
  if constexpr (sizeof(std::size_t) > 4) fails_allocate(f, static_cast<std::size_t>(std::uint64_t{1} << 32), 0, status::invalid_size);
  f.unchanged();
}

TEST_CASE("bad input: a size larger than the largest block", "[bad-input]") {
  fixture f;
  CHECK(f.h->max_size() == largest_block);
  fails_allocate(f, largest_block + 1, 0, status::no_bucket);
  fails_allocate(f, range, 0, status::no_bucket);
  fails_range(f, largest_block + 1, range, 0, 0, status::no_bucket);
  // It can never succeed: no failure of a working heap is counted.
  f.unchanged();
}

TEST_CASE("bad input: an alignment that is not a power of two", "[bad-input]") {
  fixture f;
  fails_allocate(f, 10, 3, status::invalid_alignment);
  fails_allocate(f, 10, 48, status::invalid_alignment);
  fails_allocate(f, 10, SIZE_MAX, status::invalid_alignment);
  fails_range(f, 64, 128, 3, 0, status::invalid_alignment);
  fails_range(f, 64, 128, 48, 0, status::invalid_alignment);
  f.unchanged();
}

TEST_CASE("bad input: an alignment larger than any bucket's", "[bad-input]") {
  fixture f;
  CHECK(f.h->max_alignment() == page);
  CHECK(f.h->max_size(2 * page) == 0);
  fails_allocate(f, 10, 2 * page, status::no_bucket);
  fails_allocate(f, 10, std::size_t{1} << 20, status::no_bucket);
  fails_allocate(f, 10, SIZE_MAX / 2 + 1, status::no_bucket);
  fails_range(f, 64, 128, SIZE_MAX / 2 + 1, 0, status::no_bucket);
  f.unchanged();
}

TEST_CASE("bad input: allocate_range with min > preferred", "[bad-input]") {
  fixture f;
  fails_range(f, 200, 100, 0, 0, status::invalid_size);
  fails_range(f, SIZE_MAX, 1, 0, 0, status::invalid_size);
  f.unchanged();
}

TEST_CASE("bad input: allocate_range with min == 0", "[bad-input]") {
  fixture f;
  fails_range(f, 0, 100, 0, 0, status::invalid_size);
  fails_range(f, 0, 0, 0, 0, status::invalid_size);
  fails_range(f, 0, 100, 0, 64, status::invalid_size);
  f.unchanged();
}

TEST_CASE("bad input: allocate_range with SIZE_MAX preferred and a huge granule", "[bad-input]") {
  fixture f;
  fails_range(f, 1, SIZE_MAX, 0, SIZE_MAX / 2 + 1, status::invalid_size);
  fails_range(f, 1, SIZE_MAX, 0, SIZE_MAX, status::invalid_size);
  fails_range(f, SIZE_MAX, SIZE_MAX, 0, 0, status::invalid_size);
  fails_range(f, SIZE_MAX - 1, SIZE_MAX, 0, 0, status::invalid_size);
  fails_range(f, range + 1, SIZE_MAX, 0, 0, status::invalid_size);
  fails_range(f, 1, SIZE_MAX, 0, range + 1, status::invalid_size);
  // No multiple of the granule between min and preferred.
  fails_range(f, 100, 150, 0, 128 + 64, status::invalid_size);
  f.unchanged();
}

TEST_CASE("bad input: resize of a freed block", "[bad-input]") {
  fixture f;
  CHECK(f.resize(f.freed, 10) == status::double_free);
  CHECK(f.resize(f.freed, 0) == status::double_free);
  CHECK(f.resize(f.block(4, 1), 10) == status::double_free);
  f.unchanged();
}

TEST_CASE("bad input: resize to 0 bytes", "[bad-input]") {
  fixture f;
  CHECK(f.resize(f.small, 0) == status::invalid_size);
  CHECK(f.resize(f.huge, 0) == status::invalid_size);
  CHECK(f.resize(nullptr, 0) == status::foreign_pointer);
  f.unchanged();
}

TEST_CASE("bad input: resize past the block", "[bad-input]") {
  fixture f;
  CHECK(f.resize(f.small, 65) == status::exceeds_block);
  CHECK(f.resize(f.large, 16385) == status::exceeds_block);
  CHECK(f.resize(f.huge, SIZE_MAX) == status::exceeds_block);
  f.unchanged();
}

TEST_CASE("bad input: a runtime layout that cannot work reports its layout_error", "[bad-input]") {
  using rt_heap = vmh::heap<vmh::runtime_layout<8, 512, 64>, counting_mapper>;
  auto mem = std::make_unique<arena<64 * page>>();
  auto h = std::make_unique<rt_heap>(external_range{mem->bytes, 32 * page});
  const bucket good[] = {{64, 64}, {1024, 8}, {16384, 4}};
  REQUIRE(h->configure(good, 3) == layout_error::none);
  void* p = h->allocate(100);
  REQUIRE(p != nullptr);
  REQUIRE(h->deallocate(p) == status::ok);
  void* keep = h->allocate(5000);
  REQUIRE(keep != nullptr);
  const vmh::heap_stats totals = h->stats();

  // Beyond this heap's capacity (512 blocks) or its window (32 pages), besides every rule.
  const bucket too_many_blocks[] = {{64, 513}};
  const bucket beyond_window[] = {{65536, 3}};  // 48 pages: within the 64 of capacity, not the 32 of the window
  using vmh_test::rules::row;
  std::vector<row> rows(std::begin(vmh_test::rules::rows), std::end(vmh_test::rules::rows));
  rows.push_back({too_many_blocks, 1, page, 64, layout_error::exceeds_capacity});
  rows.push_back({beyond_window, 1, page, 64, layout_error::window_too_small});
  // With a live allocation the heap refuses any new layout first.
  for (const row& r : rows) CHECK(h->configure(r.table, r.count, r.page_size, r.min_align) == layout_error::heap_not_empty);
  REQUIRE(h->deallocate(keep) == status::ok);
  for (const row& r : rows) {
    INFO("expected " << vmh::to_string(r.expected));
    CHECK(h->configure(r.table, r.count, r.page_size, r.min_align) == r.expected);
    CHECK(h->state() == layout_error::none);
    CHECK(h->bucket_count() == 3);
    CHECK(h->geometry().buckets[2].block_size == 16384);
    CHECK(h->validate());
  }
  // The statistics were kept too: no configure took place.
  CHECK(h->stats().peak_bytes_in_blocks == totals.peak_bytes_in_blocks);
  CHECK(h->stats(2).peak_in_use == 1);
  CHECK(h->allocate(100) == mem->bytes + 64 * 64);
}

TEST_CASE("bad input: a runtime heap that was never configured", "[bad-input]") {
  using rt_heap = vmh::heap<vmh::runtime_layout<8, 512, 64>, counting_mapper>;
  auto mem = std::make_unique<arena<64 * page>>();
  auto h = std::make_unique<rt_heap>(external_range{mem->bytes, 64 * page});
  CHECK(h->state() != layout_error::none);
  CHECK(h->try_allocate(64).status == status::not_configured);
  CHECK(h->allocate(64) == nullptr);
  CHECK(h->allocate_range(64, 128).status == status::not_configured);
  CHECK(h->try_allocate(0).status == status::not_configured);
  CHECK(h->deallocate(mem->bytes) == status::not_configured);
  CHECK(h->resize(mem->bytes, 64) == status::not_configured);
  CHECK(h->deallocate(nullptr) == status::ok);  // as on any heap
  CHECK(h->usable_size(mem->bytes) == 0);
  CHECK_FALSE(h->owns(mem->bytes));
  CHECK(h->validate().broken == vmh::invariant::not_configured);
  const vmh::heap_stats s = h->stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.failed_no_block == 0);
  CHECK(s.failed_no_memory == 0);
  CHECK(h->mapper().map_calls() == 0);

  // A failed configuration leaves it unconfigured.
  const bucket descending[] = {{1024, 1}, {64, 1}};
  CHECK(h->configure(descending, 2) == layout_error::not_ascending);
  CHECK(h->try_allocate(64).status == status::not_configured);
}

TEST_CASE("bad input: a window at address 0 is not configured (window_null)", "[bad-input]") {
  // Before the check, the block at offset 0 was granted as {nullptr, size, ok}: the caller saw a
  // failure, and the block and its page stayed taken for good.
  auto fixed = std::make_unique<heap_type>(external_range{static_cast<std::byte*>(nullptr), range});
  CHECK(fixed->state() == layout_error::window_null);
  const vmh::grant g = fixed->try_allocate(64);
  CHECK(g.status == status::not_configured);
  CHECK(g.ptr == nullptr);
  CHECK(fixed->allocate_range(64, 128).status == status::not_configured);
  CHECK_FALSE(fixed->owns(nullptr));
  CHECK(fixed->deallocate(reinterpret_cast<void*>(std::uintptr_t{4096})) == status::not_configured);
  CHECK(fixed->validate().broken == vmh::invariant::not_configured);
  CHECK(fixed->stats().live_allocations == 0);
  CHECK(fixed->mapper().map_calls() == 0);
  // Too small is reported first: an empty range (a failed reservation) is {nullptr, 0}.
  auto empty = std::make_unique<heap_type>(external_range{});
  CHECK(empty->state() == layout_error::window_too_small);

  // A runtime layout over a null base refuses every table.
  using rt_heap = vmh::heap<vmh::runtime_layout<8, 256, 64>, counting_mapper>;
  auto runtime = std::make_unique<rt_heap>(external_range{static_cast<std::byte*>(nullptr), 64 * page});
  const bucket t[] = {{64, 64}, {1024, 8}, {16384, 2}};
  CHECK(runtime->configure(t, 3) == layout_error::window_null);
  CHECK(runtime->state() != layout_error::none);
  CHECK(runtime->try_allocate(64).status == status::not_configured);
  CHECK(runtime->mapper().map_calls() == 0);
}

TEST_CASE("bad input: a fixed heap over a misaligned range refuses every call at block starts too", "[bad-input]") {
  // Such a heap marks every bucket full, so allocations and frees only learn why on their
  // failure paths: each call must still answer not_configured and change nothing.
  auto mem = std::make_unique<arena<range + page>>();
  auto h = std::make_unique<heap_type>(external_range{mem->bytes + 64, range});
  REQUIRE(h->state() == layout_error::window_misaligned);
  const vmh::layout_geometry<layout::bucket_capacity>& g = h->geometry();
  CHECK(h->try_allocate(64).status == status::not_configured);
  CHECK(h->try_allocate(64, 4096).status == status::not_configured);
  CHECK(h->try_allocate(64, 3).status == status::not_configured);  // a bad alignment too
  CHECK(h->try_allocate(0).status == status::not_configured);
  CHECK(h->try_allocate(range + 1).status == status::not_configured);
  CHECK(h->allocate(64) == nullptr);
  CHECK(h->allocate(64, 64) == nullptr);
  for (std::size_t b = 0; b < g.bucket_count; ++b) {
    CAPTURE(b);
    std::byte* start = h->base() + g.buckets[b].offset;  // where block 0 of bucket b would be
    CHECK(h->deallocate(start) == status::not_configured);
    CHECK(h->deallocate(start + 16) == status::not_configured);
    CHECK(h->resize(start, 64) == status::not_configured);
    CHECK(h->grow(start, 64).status == status::not_configured);
    CHECK(h->usable_size(start) == 0);
  }
  CHECK(h->deallocate(mem->bytes) == status::not_configured);  // below the range
  const vmh::heap_stats s = h->stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.failed_no_block == 0);  // refusals are not failures of a working heap
  CHECK(s.failed_no_memory == 0);
  CHECK(h->mapper().map_calls() == 0);
  CHECK(h->validate().broken == vmh::invariant::not_configured);
}
