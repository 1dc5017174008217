// SOF's own VMH test scenarios, on a runtime heap configured with SOF's production table.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::external_range;
using vmh::layout_error;
using vmh::status;

TEST_CASE("SOF's VMH test scenarios on a configured runtime heap", "[heap][sof]") {
  using layout = vmh::runtime_layout<16, 4096, 512>;
  constexpr std::size_t size = 1024 * kib;
  auto mem = std::make_unique<arena<size>>();

  SECTION("allocate and free single blocks of every bundle") {
    auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, size});
    REQUIRE(h->configure(vmh::presets::sof_table.buckets, vmh::presets::sof_table.size()) == layout_error::none);
    for (std::size_t b = 0; b < h->bucket_count(); ++b) {
      const std::size_t bs = vmh::presets::sof_table.buckets[b].block_size;
      void* p = h->allocate(bs);
      REQUIRE(p != nullptr);
      fill(p, bs, b);
      CHECK(h->usable_size(p) == bs);
      CHECK(intact(p, bs, b));
      CHECK(h->deallocate(p) == status::ok);
    }
    CHECK(h->stats().pages_mapped == 0);
    CHECK(h->validate());
  }
  SECTION("contiguous allocations take runs of blocks") {
    auto h = std::make_unique<ext_heap<layout, counting_mapper, with_runs>>(external_range{mem->bytes, size});
    REQUIRE(h->configure(vmh::presets::sof_table.buckets, vmh::presets::sof_table.size()) == layout_error::none);
    void* big = h->allocate(512 * kib);
    void* one = h->allocate(128 * kib);
    REQUIRE(big != nullptr);
    REQUIRE(one != nullptr);
    // 150 KiB fits no free block: three adjacent 64 KiB blocks.
    void* run = h->allocate(150 * kib);
    REQUIRE(run != nullptr);
    CHECK(h->stats(6).in_use == 3);
    CHECK(h->usable_size(run) == align_up(150 * kib, page));
    fill(run, 150 * kib, 77);
    CHECK(h->validate());
    CHECK(intact(run, 150 * kib, 77));
    CHECK(h->deallocate(run) == status::ok);
    CHECK(h->stats(6).in_use == 0);
    // Without a free run the request fails.
    void* x = h->allocate(64 * kib);
    REQUIRE(x != nullptr);
    CHECK(h->try_allocate(150 * kib).status == status::no_block);
    CHECK(h->validate());
  }
  SECTION("many random allocations keep their contents") {
    auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, size}, counting_mapper{512 * kib});
    REQUIRE(h->configure(vmh::presets::sof_table.buckets, vmh::presets::sof_table.size()) == layout_error::none);
    std::mt19937_64 rng(2024);
    struct live_t {
      void* p;
      std::size_t size;
      std::uint64_t id;
    };
    std::vector<live_t> live;
    std::uint64_t next_id = 1;
    std::size_t successes = 0, failures = 0;
    for (int i = 0; i < 4000; ++i) {
      if (live.size() < 40 && rng() % 3 != 0) {
        const std::size_t s = 1 + rng() % (rng() % 4 == 0 ? 64 * kib : 2 * kib);
        const vmh::grant g = h->try_allocate(s);
        if (g) {
          fill(g.ptr, s, next_id);
          live.push_back({g.ptr, s, next_id++});
          ++successes;
        } else {
          CHECK((g.status == status::no_block || g.status == status::no_memory));
          ++failures;
        }
      } else if (!live.empty()) {
        const std::size_t k = rng() % live.size();
        CHECK(intact(live[k].p, live[k].size, live[k].id));
        CHECK(h->deallocate(live[k].p) == status::ok);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
    CHECK(successes > 1000);
    CHECK(h->validate());
    for (const auto& l : live) {
      CHECK(intact(l.p, l.size, l.id));
      CHECK(h->deallocate(l.p) == status::ok);
    }
    CHECK(h->stats().live_allocations == 0);
    CHECK(h->mapper().mapped() == 0);
    CHECK(h->validate());
  }
}
