// Multi-block runs: requests larger than any block take adjacent blocks (when runs are on).
#include <cstddef>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::status;

TEST_CASE("runs: a request larger than any block takes adjacent blocks", "[heap][runs]") {
  fixture<ext_heap<basic_layout, counting_mapper, with_runs>, basic_size> f;
  auto& h = *f.h;
  std::byte* p = static_cast<std::byte*>(h.allocate(100000));
  REQUIRE(p != nullptr);
  CHECK(p == f.block(5, 0));
  CHECK(h.stats(5).in_use == 2);
  CHECK(h.stats().pages_mapped == ceil_div(100000, page));
  CHECK(h.usable_size(p) == ceil_div(100000, page) * page);
  fill(p, 100000, 3);
  CHECK(h.validate());

  SECTION("interior pointers into the run are rejected") {
    const auto before = f.state();
    misuse_log misuse;
    CHECK(h.deallocate(p + 65536) == status::interior_pointer);
    CHECK(h.deallocate(p + 1) == status::interior_pointer);
    CHECK(h.deallocate(p + 70000) == status::interior_pointer);
    CHECK(h.resize(p + 65536, 10) == status::interior_pointer);
    CHECK(misuse_log::all().size() == 4);  // each refusal reported once
    CHECK(h.usable_size(p + 65536) == 0);
    check_unchanged(before, h, f.base());
    CHECK(intact(p, 100000, 3));
  }
  SECTION("free releases the whole run (SOF left size bits set)") {
    CHECK(h.deallocate(p) == status::ok);
    CHECK(h.stats(5).in_use == 0);
    CHECK(h.stats().pages_mapped == 0);
    CHECK(h.mapper().mapped() == 0);
    CHECK(h.allocate(65536) == f.block(5, 0));
    CHECK(h.allocate(65536) == f.block(5, 1));
    CHECK(h.validate());
  }
  SECTION("resize shrinking a run releases its tail blocks") {
    CHECK(h.resize(p, 1000) == status::ok);
    CHECK(h.stats(5).in_use == 1);
    CHECK(h.stats().pages_mapped == 1);
    CHECK(h.stats().bytes_in_blocks == 65536);  // one 64 KiB block left of the run
    CHECK(h.usable_size(p) == page);
    CHECK(intact(p, 1000, 3));
    CHECK(h.resize(p, 65537) == status::exceeds_block);  // one block now
    CHECK(h.allocate(65536) == f.block(5, 1));
    CHECK(h.validate());
  }
  SECTION("resize grows within the run") {
    CHECK(h.resize(p, 2 * 65536) == status::ok);
    CHECK(h.stats().pages_mapped == 32);
    CHECK(h.resize(p, 2 * 65536 + 1) == status::exceeds_block);
    CHECK(h.resize(p, 70000) == status::ok);
    CHECK(h.stats().pages_mapped == ceil_div(70000, page));
    CHECK(h.stats(5).in_use == 2);
    CHECK(intact(p, 70000, 3));
    CHECK(h.validate());
  }
  SECTION("a run of smaller blocks when every fitting bucket is full") {
    CHECK(h.deallocate(p) == status::ok);
    void* x = h.allocate(65536);
    void* y = h.allocate(65536);
    REQUIRE(x != nullptr);
    REQUIRE(y != nullptr);
    // 20000 bytes fit only 64 KiB blocks; both are taken, so two 16 KiB blocks serve it.
    void* z = h.allocate(20000);
    CHECK(z == f.block(4, 0));
    CHECK(h.stats(4).in_use == 2);
    CHECK(h.stats().failed_no_block == 0);
    CHECK(h.usable_size(z) == align_up(20000, page));
    CHECK(h.deallocate(z) == status::ok);
    CHECK(h.stats(4).in_use == 0);
    CHECK(h.validate());
  }
  SECTION("longer than the longest run: no_bucket, and max_size says so") {
    CHECK(h.max_size() == 2 * 65536);  // the two 64 KiB blocks
    CHECK(h.max_size(page) == 2 * 65536);
    const auto before = f.state();
    CHECK(h.try_allocate(2 * 65536 + 1).status == status::no_bucket);
    check_unchanged(before, h, f.base());
  }
  SECTION("no run long enough now fails with no_block") {
    const auto before = f.state();
    CHECK(h.try_allocate(100000).status == status::no_block);
    check_unchanged(before, h, f.base(), {.no_block = 1, .full_failures = true});
  }
}

TEST_CASE("runs off: a request larger than any block fails with no_bucket", "[heap][runs]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  CHECK(h.max_size() == 65536);
  const auto before = f.state();
  const vmh::grant g = h.try_allocate(100000);
  CHECK(g.status == status::no_bucket);  // it never succeeds
  CHECK(g.ptr == nullptr);
  CHECK(g.size == 0);
  check_unchanged(before, h, f.base());
  // Every bucket's blocks fit only itself: full buckets fail even with smaller ones free.
  void* x = h.allocate(65536);
  void* y = h.allocate(65536);
  REQUIRE(x != nullptr);
  REQUIRE(y != nullptr);
  CHECK(h.try_allocate(20000).status == status::no_block);
  CHECK(h.stats(5).full_failures == 1);
}

TEST_CASE("runs with poison: every freed block of a run is poisoned while its page stays mapped", "[heap][runs][poison]") {
  // One bucket of 64-byte blocks over two pages: a request above 64 bytes takes a run of them.
  constexpr auto table = vmh::make_table({{64, 128}});
  using layout = vmh::fixed_layout<table>;
  using heap_type = ext_heap<layout, counting_mapper, vmh::heap_options{.runs = true, .poison = true}>;
  fixture<heap_type, layout::virtual_size> f;
  auto& h = *f.h;
  auto poisoned = [](const void* p, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i)
      if (static_cast<const unsigned char*>(p)[i] != vmh::poison_byte) return false;
    return true;
  };
  void* keep0 = h.allocate(64);  // block 0: keeps page 0 mapped
  REQUIRE(keep0 == f.block(0, 0));

  SECTION("freeing a run poisons all its blocks, and reusing them finds no damage") {
    void* run = h.allocate(256);  // blocks 1-4
    REQUIRE(run == f.block(0, 1));
    fill(run, 256, 1);
    REQUIRE(h.deallocate(run) == status::ok);
    CHECK(poisoned(run, 0, 256));
    for (std::size_t i = 1; i <= 4; ++i) CHECK(h.allocate(64) == f.block(0, i));
    CHECK(h.poison_damaged() == 0);
    CHECK(h.validate());
  }
  SECTION("shrinking a run poisons the blocks it gives back") {
    void* run = h.allocate(512);  // blocks 1-8
    REQUIRE(run == f.block(0, 1));
    fill(run, 512, 2);
    REQUIRE(h.resize(run, 100) == status::ok);  // keeps blocks 1-2
    CHECK(intact(run, 100, 2));
    CHECK(poisoned(run, 128, 512));
    for (std::size_t i = 3; i <= 8; ++i) CHECK(h.allocate(64) == f.block(0, i));
    CHECK(h.poison_damaged() == 0);
    CHECK(h.validate());
  }
  SECTION("a run across two pages: the blocks on both kept pages are poisoned") {
    void* run = h.allocate(4096);  // blocks 1-64: [64, 4160) covers pages 0 and 1
    REQUIRE(run == f.block(0, 1));
    void* tail = h.allocate(64);  // block 65, on page 1: keeps it mapped after the run is freed
    REQUIRE(tail == f.block(0, 65));
    fill(run, 4096, 3);
    REQUIRE(h.deallocate(run) == status::ok);
    CHECK(h.mapper().mapped() == 2 * page);
    CHECK(poisoned(run, 0, 4096));
    CHECK(h.validate());
  }
  SECTION("a write after free into a run's later block is found when a run takes it again") {
    auto* run = static_cast<unsigned char*>(h.allocate(256));  // blocks 1-4
    REQUIRE(run != nullptr);
    REQUIRE(h.deallocate(run) == status::ok);
    run[200] = 1;  // block 4, freed
    CHECK(h.allocate(256) == run);
    CHECK(h.poison_damaged() == 1);
  }
}
