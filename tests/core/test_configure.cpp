// Runtime configuration: configure, reconfigure when empty, other page sizes, and fixed layouts
// over a bad external range.
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

using namespace vmh_test;
using vmh::bucket;
using vmh::counting_mapper;
using vmh::external_range;
using vmh::layout_error;
using vmh::status;

TEST_CASE("a runtime layout is configured, reconfigured when empty, and checked", "[heap][configure]") {
  using layout = vmh::runtime_layout<8, 256, 64>;
  constexpr std::size_t size = 48 * page;  // 192 KiB of window for at most 64 pages of layout
  auto mem = std::make_unique<arena<size + page>>();
  auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, size});
  const bucket t1[] = {{64, 64}, {1024, 8}, {16384, 2}};
  const bucket t2[] = {{128, 32}, {8192, 4}, {65536, 2}};
  const bucket bad[] = {{1024, 8}, {64, 64}};
  const bucket too_big[] = {{65536, 4}};  // 256 KiB: within the capacity, beyond the window
  const bucket too_many[] = {{64, 257}};

  // Not configured yet.
  CHECK(h->state() != layout_error::none);
  CHECK(h->bucket_count() == 0);
  CHECK(h->try_allocate(64).status == status::not_configured);
  CHECK(h->allocate_range(64, 128).status == status::not_configured);
  CHECK(h->validate().broken == vmh::invariant::not_configured);
  CHECK_FALSE(h->owns(mem->bytes));

  REQUIRE(h->configure(t1, 3) == layout_error::none);
  CHECK(h->state() == layout_error::none);
  CHECK(h->bucket_count() == 3);
  CHECK(h->geometry().virtual_size == 64 * 64 + 1024 * 8 + 16384 * 2);
  void* p = h->allocate(1000);
  REQUIRE(p == mem->bytes + 64 * 64);
  CHECK(h->validate());

  // Not while an allocation lives.
  CHECK(h->configure(t2, 3) == layout_error::heap_not_empty);
  CHECK(h->geometry().buckets[1].block_size == 1024);
  CHECK(h->usable_size(p) == 1024);
  CHECK(h->deallocate(p) == status::ok);

  REQUIRE(h->configure(t2, 3) == layout_error::none);
  CHECK(h->geometry().buckets[0].block_size == 128);
  CHECK(h->geometry().virtual_size == 128 * 32 + 8192 * 4 + 65536 * 2);
  CHECK(h->stats().peak_bytes_in_blocks == 0);
  CHECK(h->stats(1).peak_in_use == 0);
  void* q = h->allocate(1000);
  CHECK(q == mem->bytes + 128 * 32);  // 1000 bytes now take an 8 KiB block
  CHECK(h->deallocate(q) == status::ok);

  // Bad tables and windows leave the heap as it was.
  CHECK(h->configure(bad, 2) == layout_error::not_ascending);
  CHECK(h->configure(too_big, 1) == layout_error::window_too_small);
  CHECK(h->configure(too_many, 1) == layout_error::exceeds_capacity);
  CHECK(h->configure(t1, 3, page, 48) == layout_error::bad_min_align);
  CHECK(h->state() == layout_error::none);
  CHECK(h->geometry().buckets[0].block_size == 128);
  CHECK(h->allocate(1000) == mem->bytes + 128 * 32);
  CHECK(h->validate());

  // A range that does not start on a page.
  auto skewed = std::make_unique<ext_heap<layout>>(external_range{mem->bytes + 64, size});
  CHECK(skewed->configure(t1, 3) == layout_error::window_misaligned);
  CHECK(skewed->try_allocate(64).status == status::not_configured);

  // A runtime layout over a static arena.
  auto in_arena = std::make_unique<vmh::heap<layout, counting_mapper, vmh::static_arena<size>>>();
  CHECK(in_arena->try_allocate(64).status == status::not_configured);
  REQUIRE(in_arena->configure(t1, 3) == layout_error::none);
  void* r = in_arena->allocate(64);
  CHECK(in_arena->owns(r));
  CHECK(in_arena->deallocate(r) == status::ok);
}

TEST_CASE("a runtime layout with 16 KiB pages maps whole 16 KiB pages", "[heap][configure][pages]") {
  constexpr std::size_t big_page = 16 * kib;
  struct alignas(16 * 1024) big_arena {
    std::byte bytes[512 * 1024];
  };
  auto mem = std::make_unique<big_arena>();
  auto h = std::make_unique<ext_heap<vmh::runtime_layout<8, 256, 32>>>(external_range{mem->bytes, sizeof(big_arena)});
  // 1 KiB x 32 share two pages; 24 KiB blocks straddle pages (align 8 KiB); 64 KiB blocks.
  const bucket t[] = {{1024, 32}, {24 * kib, 6}, {64 * kib, 4}};
  REQUIRE(h->configure(t, 3, big_page, 64) == layout_error::none);
  CHECK(h->geometry().page_size == big_page);
  CHECK(h->geometry().page_total == ceil_div(32 * kib + 6 * 24 * kib + 4 * 64 * kib, big_page));

  std::vector<std::pair<std::size_t, std::size_t>> live;
  auto pages = [&] { return pages_touched(live, big_page); };
  auto off = [&](const void* p) { return static_cast<std::size_t>(static_cast<const std::byte*>(p) - mem->bytes); };
  std::vector<void*> ptrs;
  for (std::size_t size : {std::size_t{100}, std::size_t{1024}, 20 * kib, 24 * kib, 24 * kib, 40 * kib, 48 * kib}) {
    CAPTURE(size);
    void* p = h->allocate(size);
    REQUIRE(p != nullptr);
    live.emplace_back(off(p), size);
    ptrs.push_back(p);
    CHECK(h->stats().pages_mapped == pages());
    CHECK(h->mapper().mapped() == pages() * big_page);
    CHECK(h->usable_size(p) >= size);
    CHECK(h->validate());
  }
  // 48 KiB in a 64 KiB block: three 16 KiB pages, usable up to the end of the third.
  CHECK(h->usable_size(ptrs.back()) == 48 * kib);
  CHECK(h->usable_size(ptrs[0]) == 1024);
  CHECK(h->resize(ptrs.back(), 1) == status::ok);
  live.back().second = 1;
  CHECK(h->stats().pages_mapped == pages());
  for (void* p : ptrs) CHECK(h->deallocate(p) == status::ok);
  CHECK(h->mapper().mapped() == 0);
  CHECK(h->validate());
}

TEST_CASE("a fixed layout over a bad external range is not configured", "[heap][configure]") {
  auto mem = std::make_unique<arena<basic_size + page>>();
  auto small = std::make_unique<ext_heap<basic_layout>>(external_range{mem->bytes, basic_size - page});
  CHECK(small->state() == layout_error::window_too_small);
  CHECK(small->try_allocate(64).status == status::not_configured);
  CHECK(small->allocate_range(64, 128).status == status::not_configured);

  auto skewed = std::make_unique<ext_heap<basic_layout>>(external_range{mem->bytes + 64, basic_size});
  CHECK(skewed->state() == layout_error::window_misaligned);
  CHECK(skewed->try_allocate(64).status == status::not_configured);
  CHECK(skewed->deallocate(mem->bytes + 64) == status::not_configured);

  auto good = std::make_unique<ext_heap<basic_layout>>(external_range{mem->bytes, basic_size + page});
  CHECK(good->state() == layout_error::none);
  CHECK(good->allocate(64) == mem->bytes);
}

TEST_CASE("a window is whole pages: one that ends inside its last page is refused, and nothing past it is written",
          "[heap][configure][bad-input]") {
  // 10 blocks of 48 B end at 480 B, inside the first page; the heap maps and poisons whole pages.
  constexpr auto table = vmh::make_table({{48, 10}}, page, 16);
  using layout = vmh::fixed_layout<table>;
  using poison_heap = ext_heap<layout, counting_mapper, vmh::heap_options{.poison = true}>;
  STATIC_REQUIRE(layout::geometry.blocks_end == 480);
  STATIC_REQUIRE(layout::virtual_size == page);
  auto mem = std::make_unique<arena<2 * page>>();
  for (const std::size_t bytes : {std::size_t{480}, page - 1}) {
    CAPTURE(bytes);
    auto h = std::make_unique<poison_heap>(external_range{mem->bytes, bytes});
    CHECK(h->state() == layout_error::window_too_small);
    CHECK(h->allocate(16) == nullptr);
  }
  // A whole page: the tail past the blocks is the window's (mapped and poisoned with its page),
  // in no block.
  std::memset(mem->bytes, 0x11, sizeof mem->bytes);
  auto h = std::make_unique<poison_heap>(external_range{mem->bytes, page});
  REQUIRE(h->state() == layout_error::none);
  std::vector<void*> held;
  while (void* p = h->allocate(48)) held.push_back(p);
  CHECK(held.size() == 10);
  CHECK(h->try_allocate(48).status == status::no_block);
  CHECK(h->try_allocate(481).status == status::invalid_size);  // more than every block together
  for (void* p : held) CHECK(h->deallocate(p) == status::ok);
  vmh_test::misuse_log misuse;
  CHECK(h->deallocate(mem->bytes + 480) == status::foreign_pointer);
  CHECK(vmh_test::misuse_log::take() == 1);
  for (std::size_t i = page; i < sizeof mem->bytes; ++i)
    if (std::to_integer<int>(mem->bytes[i]) != 0x11) FAIL("byte " << i << " past the window was written");
  CHECK(h->validate());
}

TEST_CASE("check_table names the bucket that breaks a rule, at run time and at compile time", "[heap][configure]") {
  struct bad_case {
    std::vector<bucket> table;
    std::size_t page_size, min_align;
    layout_error error;
    std::size_t index;  // of the bucket that breaks the rule
  };
  const bad_case cases[] = {
      {{{64, 64}, {0, 4}, {4096, 2}}, page, 64, layout_error::zero_block_size, 1},
      {{{64, 64}, {4096, 2}, {1024, 4}}, page, 64, layout_error::not_ascending, 2},
      {{{192, 3}, {1024, 4}}, page, 64, layout_error::misaligned_bucket_start, 1},
      {{{64, 64}, {128, 0}}, page, 64, layout_error::zero_block_count, 1},
      {{{64, 64}, {100, 4}}, page, 64, layout_error::block_size_not_multiple_of_min_align, 1},
      {{{4096, 2}, {std::size_t{1} << 30, 4}}, page, 64, layout_error::range_too_large, 1},
      {{{64, 64}}, 3000, 64, layout_error::bad_page_size, vmh::table_wide},
      {{{64, 64}}, page, 4, layout_error::bad_min_align, vmh::table_wide},
      {{}, page, 64, layout_error::no_buckets, vmh::table_wide},
  };
  using layout = vmh::runtime_layout<8, 256, 64>;
  auto mem = std::make_unique<arena<64 * page>>();
  auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, 64 * page});
  for (const bad_case& c : cases) {
    CAPTURE(vmh::to_string(c.error), c.index);
    const vmh::table_check k = vmh::check_table(c.table.data(), c.table.size(), c.page_size, c.min_align);
    CHECK_FALSE(k);
    CHECK(k.error == c.error);
    CHECK(k.bucket == c.index);
    // configure refuses the same table with the same rule.
    CHECK(h->configure(c.table.data(), c.table.size(), c.page_size, c.min_align) == c.error);
  }
  const bucket good[] = {{64, 64}, {1024, 8}};
  CHECK(vmh::check_table(good, 2));
  CHECK(vmh::check_table(good, 2).bucket == vmh::table_wide);
  // A capacity the runtime layout cannot hold concerns the table as a whole.
  const bucket many[] = {{64, 1}, {128, 1}, {192, 1}};
  CHECK(vmh::check_table<2>(many, 3).error == layout_error::exceeds_capacity);
  // In a constant expression, as a fixed layout checks its table.
  constexpr bucket late[] = {{64, 64}, {4096, 2}, {1024, 4}};
  STATIC_REQUIRE(vmh::check_table(late, 3).bucket == 2);
}

TEST_CASE("a pointer past the configured buckets is foreign (SOF dereferenced unused table slots on free)",
          "[heap][configure][sof-defect]") {
  // Capacity for 8 buckets, 2 configured; the backing goes on past the layout's range.
  using layout = vmh::runtime_layout<8, 256, 64>;
  auto mem = std::make_unique<arena<32 * page>>();
  auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, 32 * page});
  const bucket t[] = {{64, 64}, {4096, 4}};
  REQUIRE(h->configure(t, 2) == layout_error::none);
  const std::size_t end = h->geometry().virtual_size;  // 5 pages
  void* a = h->allocate(4096);
  REQUIRE(a != nullptr);
  vmh_test::misuse_log misuse;
  for (std::size_t off = end; off < 32 * page; off += 64) {
    CAPTURE(off);
    CHECK(h->deallocate(mem->bytes + off) == status::foreign_pointer);
    CHECK(h->usable_size(mem->bytes + off) == 0);
  }
  CHECK(vmh_test::misuse_log::take() == (32 * page - end) / 64);
  CHECK(h->stats().live_allocations == 1);
  CHECK(h->deallocate(a) == status::ok);
  CHECK(h->validate());
}
