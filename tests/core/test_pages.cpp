// Pages: only the requested bytes are mapped, shared pages stay until their last user is freed,
// and a failed mapping rolls back completely.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::status;

TEST_CASE("pages: only the requested bytes are mapped, and freeing unmaps them", "[heap][pages][sof-defect]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  auto& m = h.mapper();

  SECTION("48 KiB in a 64 KiB block maps exactly 12 pages") {
    void* p = h.allocate(48 * kib);
    REQUIRE(p != nullptr);
    CHECK(f.bucket_of(p) == 5);
    CHECK(h.stats().pages_mapped == 48 * kib / page);
    CHECK(m.mapped() == 48 * kib);
    CHECK(m.map_calls() == 1);
    std::memset(p, 0xa5, 48 * kib);
    CHECK(h.deallocate(p) == status::ok);
    CHECK(h.stats().pages_mapped == 0);
    CHECK(m.mapped() == 0);
    CHECK(m.unmap_calls() == 1);
    CHECK(h.stats().peak_pages_mapped == 12);
  }
  SECTION("blocks larger than a page are mapped whole when asked for whole") {
    void* p = h.allocate(16384);
    REQUIRE(p != nullptr);
    CHECK(h.stats().pages_mapped == 4);
    CHECK(m.mapped() == 16384);
    std::memset(p, 0x5a, 16384);
    CHECK(h.deallocate(p) == status::ok);
    CHECK(m.mapped() == 0);
  }
  SECTION("the requested prefix only, mapped and unmapped") {
    // 5000 bytes in a 16 KiB block: 2 pages. 4097 bytes in the other: 2 pages.
    void* a = h.allocate(5000);
    void* b = h.allocate(4097);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(f.bucket_of(a) == 4);
    CHECK(f.bucket_of(b) == 4);
    CHECK(h.stats().pages_mapped == ceil_div(5000, page) + ceil_div(4097, page));
    CHECK(m.mapped() == 4 * page);
    CHECK(h.deallocate(a) == status::ok);
    // Unmapping more than was mapped would make the mapper's count wrap.
    CHECK(m.mapped() == 2 * page);
    CHECK(h.deallocate(b) == status::ok);
    CHECK(m.mapped() == 0);
    CHECK(h.validate());
  }
  SECTION("a page-aligned request maps only its own pages") {
    void* p = h.allocate(60000);  // 64 KiB bucket
    void* q = h.allocate(page + 1, page);
    REQUIRE(p != nullptr);
    REQUIRE(q != nullptr);
    CHECK(f.bucket_of(q) == 4);
    CHECK(h.stats().pages_mapped == ceil_div(60000, page) + 2);
    CHECK(h.deallocate(p) == status::ok);
    CHECK(h.deallocate(q) == status::ok);
    CHECK(m.mapped() == 0);
  }
}

TEST_CASE("sub-page blocks sharing a page keep it mapped until the last is freed", "[heap][pages]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  auto& m = h.mapper();
  // Bucket 0: 64 blocks of 64 bytes, exactly page 0.
  std::vector<void*> ptrs;
  for (int i = 0; i < 64; ++i) {
    void* p = h.allocate(64);
    REQUIRE(p != nullptr);
    ptrs.push_back(p);
  }
  CHECK(h.stats().pages_mapped == 1);
  CHECK(m.map_calls() == 1);  // a page is never mapped twice
  std::mt19937_64 rng(7);
  std::shuffle(ptrs.begin(), ptrs.end(), rng);
  for (std::size_t i = 0; i + 1 < ptrs.size(); ++i) {
    CHECK(h.deallocate(ptrs[i]) == status::ok);
    CHECK(h.stats().pages_mapped == 1);
  }
  CHECK(m.unmap_calls() == 0);
  CHECK(h.deallocate(ptrs.back()) == status::ok);
  CHECK(h.stats().pages_mapped == 0);
  CHECK(m.unmap_calls() == 1);
  CHECK(m.mapped() == 0);
  CHECK(h.validate());
}

TEST_CASE("straddling blocks share boundary pages with their neighbours", "[heap][pages]") {
  fixture<ext_heap<odd_layout>, odd_size> f;
  auto& h = *f.h;
  auto& m = h.mapper();
  std::vector<std::pair<std::size_t, std::size_t>> live;
  std::vector<void*> ptrs;
  auto check_pages = [&] {
    CHECK(h.stats().pages_mapped == pages_touched(live));
    CHECK(m.mapped() == pages_touched(live) * page);
    CHECK(h.validate());
  };
  auto alloc = [&](std::size_t size) {
    void* p = h.allocate(size);
    REQUIRE(p != nullptr);
    live.emplace_back(f.off(p), size);
    ptrs.push_back(p);
    check_pages();
    return p;
  };
  auto release = [&](void* p) {
    const std::size_t o = f.off(p);
    live.erase(std::find_if(live.begin(), live.end(), [o](const auto& e) { return e.first == o; }));
    CHECK(h.deallocate(p) == status::ok);
    check_pages();
  };

  SECTION("6 KiB blocks") {
    void* b0 = alloc(6144);  // pages 1-2
    void* b1 = alloc(6144);  // pages 3-4
    CHECK(h.stats().pages_mapped == 4);
    const std::size_t calls = m.map_calls();
    void* b2 = alloc(6144);  // pages 4-5: page 4 is shared with b1
    CHECK(h.stats().pages_mapped == 5);
    CHECK(m.map_calls() == calls + 1);
    CHECK(m.mapped() == 5 * page);
    release(b1);  // page 4 stays for b2
    CHECK(h.stats().pages_mapped == 4);
    release(b2);
    CHECK(h.stats().pages_mapped == 2);
    release(b0);
    CHECK(m.mapped() == 0);
  }
  SECTION("1152-byte blocks and a 6 KiB block share page 1") {
    void* big = alloc(6144);  // pages 1-2
    void* small[5];
    for (auto& p : small) p = alloc(1152);  // [384, 6144): pages 0-1
    CHECK(f.off(small[3]) == 384 + 3 * 1152);
    CHECK(h.stats().pages_mapped == 3);
    release(big);  // page 1 is still used by small[3] and small[4]
    CHECK(h.stats().pages_mapped == 2);
    for (int i = 0; i < 4; ++i) release(small[i]);
    CHECK(h.stats().pages_mapped == 1);  // small[4] alone in page 1
    release(small[4]);
    CHECK(m.mapped() == 0);
  }
  SECTION("random order") {
    std::mt19937_64 rng(11);
    const std::size_t sizes[] = {1, 100, 192, 193, 1000, 1152, 1153, 4000, 6144};
    for (int round = 0; round < 200; ++round) {
      if (ptrs.empty() || rng() % 2 == 0) {
        const std::size_t size = sizes[rng() % std::size(sizes)];
        if (void* p = h.allocate(size)) {
          live.emplace_back(f.off(p), size);
          ptrs.push_back(p);
          check_pages();
        }
      } else {
        const std::size_t i = rng() % ptrs.size();
        void* p = ptrs[i];
        ptrs.erase(ptrs.begin() + static_cast<std::ptrdiff_t>(i));
        release(p);
      }
    }
    while (!ptrs.empty()) {
      void* p = ptrs.back();
      ptrs.pop_back();
      release(p);
    }
    CHECK(m.mapped() == 0);
  }
}

// ------------------------------------------------------------------------------------------------
// Failed mappings

TEST_CASE("a failed mapping rolls back completely", "[heap][pages][rollback]") {
  SECTION("budget exhausted") {
    fixture<ext_heap<basic_layout>, basic_size> f(counting_mapper{8 * page});
    auto& h = *f.h;
    void* a = h.allocate(16384);  // 4 pages
    REQUIRE(a != nullptr);
    const auto before = f.state();
    const vmh::grant g = h.try_allocate(48 * kib);  // 12 pages > 4 left
    CHECK_FALSE(g);
    CHECK(g.status == status::no_memory);
    CHECK(h.mapper().failures() == 1);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(h.stats(5).in_use == 0);
    // The heap is usable: 4 more pages fit, then nothing.
    void* b = h.allocate(16384);
    REQUIRE(b != nullptr);
    CHECK(h.mapper().mapped() == 8 * page);
    CHECK(h.try_allocate(1).status == status::no_memory);
    CHECK(h.stats().failed_no_memory == 2);
    CHECK(h.deallocate(a) == status::ok);
    void* c = h.allocate(1);
    CHECK(c == f.block(0, 0));
    CHECK(h.validate());
  }
  SECTION("an injected map failure, then the same block succeeds") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    void* keep = h.allocate(1000);
    REQUIRE(keep != nullptr);
    h.mapper().fail_map_call(1);
    const auto before = f.state();
    CHECK(h.try_allocate(20000).status == status::no_memory);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(h.allocate(20000) == f.block(5, 0));
    CHECK(h.stats().pages_mapped == 1 + ceil_div(20000, page));
  }
  SECTION("the second map call from now fails: the next allocation succeeds, the one after fails") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    h.mapper().fail_map_call(2);
    void* a = h.allocate(5000);
    REQUIRE(a != nullptr);
    const auto before = f.state();
    CHECK(h.try_allocate(5000).status == status::no_memory);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    void* b = h.allocate(5000);
    CHECK(b == f.block(4, 1));
  }
  SECTION("a straddling block whose first page is already mapped") {
    fixture<ext_heap<odd_layout>, odd_size> f;
    auto& h = *f.h;
    void* small[5];
    for (auto& p : small) p = h.allocate(1152);  // pages 0-1
    CHECK(h.stats().pages_mapped == 2);
    h.mapper().fail_map_call(1);
    const auto before = f.state();
    // The first 6 KiB block needs page 1 (mapped) and page 2 (refused).
    CHECK(h.try_allocate(6144).status == status::no_memory);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(h.mapper().mapped() == 2 * page);
    std::memset(small[4], 0x11, 1152);  // page 1 is still there
    void* big = h.allocate(6144);
    CHECK(big == f.block(2, 0));
    CHECK(h.stats().pages_mapped == 3);
    CHECK(h.validate());
  }
  SECTION("a run whose mapping fails releases all its blocks") {
    fixture<ext_heap<basic_layout, counting_mapper, with_runs>, basic_size> f(counting_mapper{10 * page});
    auto& h = *f.h;
    const auto before = f.state();
    CHECK(h.try_allocate(100000).status == status::no_memory);  // 25 pages
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(h.stats(5).in_use == 0);
    h.mapper().set_budget(SIZE_MAX);
    void* p = h.allocate(100000);
    CHECK(p == f.block(5, 0));
    CHECK(h.stats(5).in_use == 2);
  }
  SECTION("a resize whose mapping fails keeps the allocation") {
    fixture<ext_heap<basic_layout>, basic_size> f(counting_mapper{5 * page});
    auto& h = *f.h;
    void* a = h.allocate(5000);   // 2 pages
    void* b = h.allocate(12288);  // 3 pages: the budget is used up
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    fill(a, 5000, 1);
    const auto before = f.state();
    CHECK(h.resize(a, 9000) == status::no_memory);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
    CHECK(h.usable_size(a) == 2 * page);
    CHECK(intact(a, 5000, 1));
    CHECK(h.deallocate(b) == status::ok);
    h.mapper().fail_map_call(1);
    CHECK(h.resize(a, 9000) == status::no_memory);
    CHECK(h.usable_size(a) == 2 * page);
    CHECK(h.resize(a, 9000) == status::ok);
    CHECK(h.usable_size(a) == 3 * page);
    CHECK(intact(a, 5000, 1));
    CHECK(h.validate());
  }
}
