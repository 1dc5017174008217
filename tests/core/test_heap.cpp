// Behaviour of the heap operations: bucket choice, pages, rollback, runs, alignment, queries,
// statistics, resize, range allocation, threads and runtime configuration.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/live_blocks.hpp"

namespace {

using vmh::bucket;
using vmh::counting_mapper;
using vmh::external_range;
using vmh::layout_error;
using vmh::null_mapper;
using vmh::status;

constexpr std::size_t kib = 1024;
constexpr std::size_t page = 4096;

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
constexpr std::size_t align_up(std::size_t a, std::size_t b) { return ceil_div(a, b) * b; }

// A page-aligned memory range for heaps over an external range.
template <std::size_t N>
struct alignas(4096) arena {
  std::byte bytes[N];
};

// 64 x 64 at 0, 256 x 16 at 4 KiB, 1 KiB x 8 at 8 KiB, 4 KiB x 4 at 16 KiB, 16 KiB x 2 at
// 32 KiB, 64 KiB x 2 at 64 KiB: 192 KiB, 48 pages.
constexpr auto basic_table =
    vmh::make_table({{64, 64}, {256, 16}, {1024, 8}, {4096, 4}, {16384, 2}, {65536, 2}});
using basic_layout = vmh::fixed_layout<basic_table>;
constexpr std::size_t basic_size = basic_layout::virtual_size;

// Blocks that straddle pages: 192 x 2 at 0, 1152 x 5 at 384, 6 KiB x 4 at 6 KiB.
//   1152-byte block 3 covers [3840, 4992): pages 0 and 1; block 4 covers [4992, 6144): page 1.
//   6 KiB blocks: [6144, 12288) pages 1-2, [12288, 18432) pages 3-4, [18432, 24576) pages 4-5,
//   [24576, 30720) pages 6-7.
constexpr auto odd_table = vmh::make_table({{192, 2}, {1152, 5}, {6144, 4}});
using odd_layout = vmh::fixed_layout<odd_table>;
constexpr std::size_t odd_size = odd_layout::virtual_size;

template <class Layout, class Mapper = counting_mapper, vmh::heap_options Options = vmh::heap_options{}>
using ext_heap = vmh::heap<Layout, Mapper, external_range, vmh::no_lock, Options>;
constexpr vmh::heap_options with_runs{.runs = true};

// A heap over its own arena, with functions that name blocks by offset.
template <class Heap, std::size_t Size>
struct fixture {
  std::unique_ptr<arena<Size>> mem = std::make_unique<arena<Size>>();
  std::unique_ptr<Heap> h;
  explicit fixture(typename Heap::mapper_type m = {})
      : h(std::make_unique<Heap>(external_range{mem->bytes, Size}, m)) {}
  std::byte* base() const { return mem->bytes; }
  std::size_t off(const void* p) const { return static_cast<std::size_t>(static_cast<const std::byte*>(p) - base()); }
  std::byte* at(std::size_t offset) const { return base() + offset; }
  std::byte* block(std::size_t b, std::size_t i) const {
    const auto& bg = h->geometry().buckets[b];
    return at(bg.offset + i * bg.block_size);
  }
  // The bucket containing an offset, from the table (independently of the heap).
  std::size_t bucket_of(const void* p) const {
    const auto& g = h->geometry();
    const std::size_t o = off(p);
    std::size_t start = 0;
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const std::size_t end = start + g.buckets[b].block_size * g.buckets[b].block_count;
      if (o >= start && o < end) return b;
      start = end;
    }
    return g.bucket_count;
  }
};

// The pages touched by a set of live byte ranges [offset, offset + size).
std::size_t pages_touched(const std::vector<std::pair<std::size_t, std::size_t>>& live) {
  std::set<std::size_t> pages;
  for (const auto& [o, s] : live)
    for (std::size_t p = o / page; p < ceil_div(o + s, page); ++p) pages.insert(p);
  return pages.size();
}


bool same(const vmh::heap_stats& a, const vmh::heap_stats& b) {
  return a.live_allocations == b.live_allocations && a.bytes_requested == b.bytes_requested &&
         a.peak_bytes_requested == b.peak_bytes_requested && a.pages_mapped == b.pages_mapped &&
         a.peak_pages_mapped == b.peak_pages_mapped && a.failed_no_block == b.failed_no_block &&
         a.failed_no_memory == b.failed_no_memory;
}
bool same(const vmh::bucket_stats& a, const vmh::bucket_stats& b) {
  return a.block_size == b.block_size && a.block_count == b.block_count && a.in_use == b.in_use &&
         a.peak_in_use == b.peak_in_use && a.full_failures == b.full_failures;
}

// Everything observable about a heap, to check that a failed call changed nothing.
template <class Heap>
struct snapshot {
  vmh::heap_stats totals;
  std::vector<vmh::bucket_stats> buckets;
  std::vector<std::size_t> live;
  std::size_t mapped = 0;
  snapshot(const Heap& h, const std::byte* base) : totals(h.stats()), live(vmh_test::live_blocks(h, base)) {
    for (std::size_t b = 0; b < h.bucket_count(); ++b) buckets.push_back(h.stats(b));
    if constexpr (std::is_same_v<typename Heap::mapper_type, counting_mapper>) mapped = h.mapper().mapped();
  }
};

// Compares everything but the failure counters, which the caller checks.
template <class Heap>
void check_unchanged(const snapshot<Heap>& before, const Heap& h, const std::byte* base, std::size_t more_no_block = 0,
                     std::size_t more_no_memory = 0) {
  const snapshot<Heap> now(h, base);
  vmh::heap_stats expected = before.totals;
  expected.failed_no_block += more_no_block;
  expected.failed_no_memory += more_no_memory;
  CHECK(same(now.totals, expected));
  REQUIRE(now.buckets.size() == before.buckets.size());
  for (std::size_t b = 0; b < now.buckets.size(); ++b) {
    CAPTURE(b);
    vmh::bucket_stats e = before.buckets[b];
    e.full_failures = now.buckets[b].full_failures;  // may grow with a no_block failure
    CHECK(same(now.buckets[b], e));
    CHECK(now.buckets[b].full_failures >= before.buckets[b].full_failures);
  }
  CHECK(now.live == before.live);
  CHECK(now.mapped == before.mapped);
  CHECK(h.validate());
}

// A byte pattern that depends on an allocation's id and the byte's position.
std::byte pattern(std::uint64_t id, std::size_t i) {
  return static_cast<std::byte>((id * 0x9e3779b97f4a7c15ull >> 56) ^ (i * 31) ^ (i >> 8));
}
void fill(void* p, std::size_t n, std::uint64_t id, std::size_t from = 0) {
  auto* b = static_cast<std::byte*>(p);
  for (std::size_t i = from; i < n; ++i) b[i] = pattern(id, i);
}
bool intact(const void* p, std::size_t n, std::uint64_t id) {
  const auto* b = static_cast<const std::byte*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != pattern(id, i)) return false;
  return true;
}

// The first and last 16 bytes of an allocation, with the pattern of their positions.
void mark_ends(void* p, std::size_t n, std::uint64_t id) {
  auto* b = static_cast<std::byte*>(p);
  for (std::size_t i = 0; i < n && i < 16; ++i) b[i] = pattern(id, i);
  for (std::size_t i = n > 16 ? n - 16 : 0; i < n; ++i) b[i] = pattern(id, i);
}
bool ends_intact(const void* p, std::size_t n, std::uint64_t id) {
  const auto* b = static_cast<const std::byte*>(p);
  for (std::size_t i = 0; i < n && i < 16; ++i)
    if (b[i] != pattern(id, i)) return false;
  for (std::size_t i = n > 16 ? n - 16 : 0; i < n; ++i)
    if (b[i] != pattern(id, i)) return false;
  return true;
}

// The grant of allocate_range(min, preferred) (granule min) on a block that holds `preferred`
// and starts on a page: the policy's cap rounded down to the granule, never below min nor above
// preferred, and no more than the free pages hold.
std::size_t expected_grant(const vmh::range_policy& p, std::size_t available, std::size_t total, std::size_t min,
                           std::size_t preferred) {
  const std::size_t cap = p.cap(available, total, min);
  const std::size_t rounded = std::max(min, cap / min * min);
  return std::min(std::min(rounded, preferred), available / min * min);
}

// The first bucket of a table whose blocks hold `size`.
template <std::size_t N>
std::size_t expected_bucket(const vmh::bucket_table<N>& t, std::size_t size) {
  std::size_t b = 0;
  while (b < N && t.buckets[b].block_size < size) ++b;
  return b;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Bucket choice

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
        CHECK(g.result == status::ok);
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
  CHECK(h.try_allocate(65536).result == status::no_block);
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
  CHECK(g.result == status::no_block);
  CHECK(h.stats(0).full_failures == 1);
  for (std::size_t b = 1; b < basic_table.size(); ++b) CHECK(h.stats(b).full_failures == 0);
  CHECK(h.stats().failed_no_block == 1);
  // A 1000-byte request's own bucket is the 1 KiB one.
  CHECK(h.try_allocate(1000).result == status::no_block);
  CHECK(h.stats(2).full_failures == 1);
  CHECK(h.stats().failed_no_block == 2);

  // Freeing a 4 KiB block lets a small request spill into it.
  CHECK(h.deallocate(f.block(3, 2)) == status::ok);
  CHECK(h.allocate(64) == f.block(3, 2));
  CHECK(h.validate());
}

// ------------------------------------------------------------------------------------------------
// Pages

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
    const snapshot before(h, f.base());
    const vmh::grant g = h.try_allocate(48 * kib);  // 12 pages > 4 left
    CHECK_FALSE(g);
    CHECK(g.result == status::no_memory);
    CHECK(h.mapper().failures() == 1);
    check_unchanged(before, h, f.base(), 0, 1);
    CHECK(h.stats(5).in_use == 0);
    // The heap is usable: 4 more pages fit, then nothing.
    void* b = h.allocate(16384);
    REQUIRE(b != nullptr);
    CHECK(h.mapper().mapped() == 8 * page);
    CHECK(h.try_allocate(1).result == status::no_memory);
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
    const snapshot before(h, f.base());
    CHECK(h.try_allocate(20000).result == status::no_memory);
    check_unchanged(before, h, f.base(), 0, 1);
    CHECK(h.allocate(20000) == f.block(5, 0));
    CHECK(h.stats().pages_mapped == 1 + ceil_div(20000, page));
  }
  SECTION("the second map call from now fails: the next allocation succeeds, the one after fails") {
    fixture<ext_heap<basic_layout>, basic_size> f;
    auto& h = *f.h;
    h.mapper().fail_map_call(2);
    void* a = h.allocate(5000);
    REQUIRE(a != nullptr);
    const snapshot before(h, f.base());
    CHECK(h.try_allocate(5000).result == status::no_memory);
    check_unchanged(before, h, f.base(), 0, 1);
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
    const snapshot before(h, f.base());
    // The first 6 KiB block needs page 1 (mapped) and page 2 (refused).
    CHECK(h.try_allocate(6144).result == status::no_memory);
    check_unchanged(before, h, f.base(), 0, 1);
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
    const snapshot before(h, f.base());
    CHECK(h.try_allocate(100000).result == status::no_memory);  // 25 pages
    check_unchanged(before, h, f.base(), 0, 1);
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
    const snapshot before(h, f.base());
    CHECK(h.resize(a, 9000) == status::no_memory);
    check_unchanged(before, h, f.base(), 0, 1);
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

// ------------------------------------------------------------------------------------------------
// Multi-block runs

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
    const snapshot before(h, f.base());
    CHECK(h.deallocate(p + 65536) == status::interior_pointer);
    CHECK(h.deallocate(p + 1) == status::interior_pointer);
    CHECK(h.deallocate(p + 70000) == status::interior_pointer);
    CHECK(h.resize(p + 65536, 10) == status::interior_pointer);
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
    CHECK(h.stats().bytes_requested == 1000);
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
  SECTION("no run long enough fails with no_block") {
    const snapshot before(h, f.base());
    CHECK(h.try_allocate(100000).result == status::no_block);
    check_unchanged(before, h, f.base(), 1, 0);
  }
}

TEST_CASE("runs off: a request larger than any block fails with no_block", "[heap][runs]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  const snapshot before(h, f.base());
  const vmh::grant g = h.try_allocate(100000);
  CHECK(g.result == status::no_block);
  CHECK(g.ptr == nullptr);
  CHECK(g.size == 0);
  check_unchanged(before, h, f.base(), 1, 0);
  // Every bucket's blocks fit only itself: full buckets fail even with smaller ones free.
  void* x = h.allocate(65536);
  void* y = h.allocate(65536);
  REQUIRE(x != nullptr);
  REQUIRE(y != nullptr);
  CHECK(h.try_allocate(20000).result == status::no_block);
  CHECK(h.stats(5).full_failures == 1);
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
    CHECK(h.try_allocate(1, 1024).result == status::no_block);
    CHECK(h.try_allocate(1, 64).ptr == f.block(0, 0));
    // Above the page size no block is aligned enough.
    CHECK(h.try_allocate(10, 2 * page).result == status::no_block);
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
    const snapshot before(h, f.base());
    CHECK(h.try_allocate(10, page).result == status::no_block);
    check_unchanged(before, h, f.base(), 1, 0);
    CHECK(h.try_allocate(10, 3).result == status::invalid_alignment);
  }
}

// ------------------------------------------------------------------------------------------------
// Queries

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
  CHECK(s.bytes_requested == 100 + 200 + 48 * kib);
  CHECK(s.peak_bytes_requested == s.bytes_requested);
  CHECK(s.pages_mapped == 1 + 12);
  CHECK(s.peak_pages_mapped == 13);
  CHECK(h.stats(1).in_use == 2);
  CHECK(h.stats(1).peak_in_use == 2);
  CHECK(h.stats(5).in_use == 1);

  CHECK(h.deallocate(a) == status::ok);
  s = h.stats();
  CHECK(s.live_allocations == 2);
  CHECK(s.bytes_requested == 200 + 48 * kib);
  CHECK(s.peak_bytes_requested == 100 + 200 + 48 * kib);
  CHECK(h.stats(1).in_use == 1);
  CHECK(h.stats(1).peak_in_use == 2);

  // no_memory: 13 pages mapped, 7 left.
  CHECK(h.try_allocate(60000).result == status::no_memory);
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
  CHECK(h.try_allocate(65536).result == status::no_block);
  CHECK(h.stats(5).full_failures == 1);
  CHECK(h.stats().failed_no_block == 1);
  // Larger than any block: counted in the total only.
  CHECK(h.try_allocate(100000).result == status::no_block);
  CHECK(h.stats().failed_no_block == 2);
  CHECK(h.stats(5).full_failures == 1);
  // Invalid requests are not failures of the heap.
  CHECK(h.try_allocate(0).result == status::invalid_size);
  CHECK(h.stats().failed_no_block == 2);

  CHECK(h.deallocate(b) == status::ok);
  CHECK(h.deallocate(c) == status::ok);
  CHECK(h.deallocate(e2) == status::ok);
  s = h.stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.bytes_requested == 0);
  CHECK(s.pages_mapped == 0);
  CHECK(s.peak_pages_mapped == 20);
  CHECK(h.stats(5).in_use == 0);
  CHECK(h.stats(5).peak_in_use == 2);
  CHECK(h.validate());
}

// ------------------------------------------------------------------------------------------------
// resize

TEST_CASE("resize grows and shrinks in place", "[heap][resize]") {
  fixture<ext_heap<basic_layout>, basic_size> f;
  auto& h = *f.h;
  auto& m = h.mapper();
  void* a = h.allocate(5000);  // 16 KiB block, 2 pages
  REQUIRE(a != nullptr);
  fill(a, 5000, 9);
  CHECK(h.stats().pages_mapped == 2);

  CHECK(h.resize(a, 12000) == status::ok);
  CHECK(h.stats().pages_mapped == 3);
  CHECK(m.mapped() == 3 * page);
  CHECK(h.usable_size(a) == 3 * page);
  CHECK(h.stats().bytes_requested == 12000);
  CHECK(h.stats().peak_bytes_requested == 12000);
  CHECK(intact(a, 5000, 9));
  fill(a, 12000, 9, 5000);

  CHECK(h.resize(a, 16384) == status::ok);
  CHECK(h.stats().pages_mapped == 4);

  const snapshot before(h, f.base());
  CHECK(h.resize(a, 16385) == status::exceeds_block);
  check_unchanged(before, h, f.base());

  const std::size_t unmaps = m.unmap_calls();
  CHECK(h.resize(a, 100) == status::ok);
  CHECK(h.stats().pages_mapped == 1);
  CHECK(m.mapped() == page);
  CHECK(m.unmap_calls() == unmaps + 1);
  CHECK(h.stats().bytes_requested == 100);
  CHECK(h.stats().peak_bytes_requested == 16384);
  CHECK(intact(a, 100, 9));

  // Within the same page: no mapping either way.
  const std::size_t maps = m.map_calls();
  CHECK(h.resize(a, page) == status::ok);
  CHECK(h.resize(a, 1) == status::ok);
  CHECK(m.map_calls() == maps);
  CHECK(h.stats().pages_mapped == 1);
  CHECK(h.usable_size(a) == page);

  // Resizing a sub-page block within its block.
  void* s = h.allocate(10);
  CHECK(h.resize(s, 64) == status::ok);
  CHECK(h.resize(s, 65) == status::exceeds_block);
  CHECK(h.usable_size(s) == 64);
  CHECK(h.validate());
  CHECK(h.deallocate(a) == status::ok);
  CHECK(h.deallocate(s) == status::ok);
  CHECK(m.mapped() == 0);
}

// ------------------------------------------------------------------------------------------------
// allocate_range

TEST_CASE("allocate_range grants between min and preferred in multiples of the granule", "[heap][range]") {
  fixture<ext_heap<basic_layout, null_mapper>, basic_size> f;
  auto& h = *f.h;
  auto check_grant = [&](const vmh::grant& g, std::size_t min, std::size_t preferred, std::size_t granule) {
    REQUIRE(g);
    CHECK(g.result == status::ok);
    CHECK(g.size >= min);
    CHECK(g.size <= preferred);
    CHECK(g.size % granule == 0);
    CHECK(h.owns(g.ptr));
    CHECK(h.usable_size(g.ptr) >= g.size);
  };

  SECTION("invalid arguments") {
    const snapshot before(h, f.base());
    CHECK(h.allocate_range(0, 100).result == status::invalid_size);
    CHECK(h.allocate_range(200, 100).result == status::invalid_size);
    CHECK(h.allocate_range(100, 150, 0, 200).result == status::invalid_size);  // no multiple of 200 in [100, 150]
    CHECK(h.allocate_range(100, 150, 3).result == status::invalid_alignment);
    check_unchanged(before, h, f.base());
  }
  SECTION("granule defaults to min") {
    const vmh::grant g = h.allocate_range(1000, 3500);
    check_grant(g, 1000, 3500, 1000);
    CHECK(g.size == 3000);
    CHECK(f.bucket_of(g.ptr) == 3);  // the smallest block holding 3000
  }
  SECTION("an explicit granule") {
    const vmh::grant g = h.allocate_range(1000, 3000, 0, 512);
    check_grant(g, 1000, 3000, 512);
    CHECK(g.size == 2560);
    CHECK(h.stats().bytes_requested == 2560);
  }
  SECTION("preferred larger than every block: the largest free block") {
    const vmh::grant g = h.allocate_range(16 * kib, 200 * kib);
    check_grant(g, 16 * kib, 200 * kib, 16 * kib);
    CHECK(g.size == 65536);
    CHECK(f.bucket_of(g.ptr) == 5);
    const vmh::grant g2 = h.allocate_range(16 * kib, 200 * kib);
    check_grant(g2, 16 * kib, 200 * kib, 16 * kib);
    const vmh::grant g3 = h.allocate_range(16 * kib, 200 * kib);
    check_grant(g3, 16 * kib, 200 * kib, 16 * kib);
    CHECK(f.bucket_of(g3.ptr) == 4);  // 64 KiB blocks are taken
    CHECK(g3.size == 16 * kib);
  }
  SECTION("the grant can grow in place up to preferred") {
    const vmh::grant g = h.allocate_range(1000, 3000);
    REQUIRE(g);
    CHECK(h.resize(g.ptr, 3000) == status::ok);
  }
  SECTION("aligned") {
    const vmh::grant g = h.allocate_range(64, 64, 1024);
    check_grant(g, 64, 64, 64);
    CHECK(reinterpret_cast<std::uintptr_t>(g.ptr) % 1024 == 0);
  }
  CHECK(h.validate());
}

TEST_CASE("range_policy caps follow their documented rules", "[heap][range][policy]") {
  const std::size_t lo = 4096;
  const std::size_t values[] = {0, 1, 4095, 4096, 10000, 65536, 98304, 1u << 20, 2816 * kib, 4608 * kib};
  const vmh::range_policy greedy = vmh::range_policy::greedy();
  const vmh::range_policy half = vmh::range_policy::share(1, 2);
  const vmh::range_policy two_thirds = vmh::range_policy::share(2, 3);
  for (std::size_t available : values) {
    CAPTURE(available);
    // Fixed shares: floor(available * share), never below lo.
    CHECK(greedy.cap(available, available, lo) == std::max(lo, available));
    CHECK(half.cap(available, 4 * available, lo) == std::max(lo, available / 2));
    CHECK(two_thirds.cap(available, 4 * available, lo) == std::max(lo, available * 2 / 3));
  }
  for (const vmh::range_policy adaptive :
       {vmh::range_policy{}, vmh::range_policy::adaptive_share(1, 2), vmh::range_policy::adaptive_share(2, 3)}) {
    const vmh::range_policy fixed = vmh::range_policy::share(adaptive.share_num, adaptive.share_den);
    CAPTURE(adaptive.share_num, adaptive.share_den);
    const std::size_t total = 4608 * kib;
    // All memory free: the full share.
    CHECK(adaptive.cap(total, total, lo) == fixed.cap(total, total, lo));
    // Never above the fixed share, never below lo, and shrinking as memory fills.
    std::size_t previous = SIZE_MAX;
    for (std::size_t available = total; available > 0; available -= total / 64) {
      CAPTURE(available);
      const std::size_t c = adaptive.cap(available, total, lo);
      CHECK(c >= lo);
      CHECK(c <= std::max(lo, fixed.cap(available, total, lo)));
      CHECK(c <= previous);
      previous = c;
    }
    if (adaptive.kind == vmh::range_policy::rule::adaptive) {
      // With a sixteenth of the memory free the share is strictly smaller than the fixed one.
      CHECK(adaptive.cap(total / 16, total, 0) < fixed.cap(total / 16, total, 0));
    }
  }
  // A value-initialized policy (all zero, so that a constinit heap stays in .bss) is the
  // documented default: adaptive, share 2/3.
  const std::size_t total = 4608 * kib;
  for (std::size_t available = total; available > 0; available -= total / 16)
    CHECK(vmh::range_policy{}.cap(available, total, 0) == vmh::range_policy::adaptive_share(2, 3).cap(available, total, 0));
}

TEST_CASE("allocate_range shares scarce physical memory (the SOF discussion's example)", "[heap][range]") {
  // Blocks of 32 KiB and up; 96 KiB of physical memory; requests of min 16 KiB, preferred 128 KiB.
  // 32 KiB x 4 at 0, 64 KiB x 2 at 128 KiB, 128 KiB x 2 at 256 KiB.
  constexpr auto table = vmh::make_table({{32 * kib, 4}, {64 * kib, 2}, {128 * kib, 2}});
  using layout = vmh::fixed_layout<table>;
  fixture<ext_heap<layout>, layout::virtual_size> f(counting_mapper{96 * kib});
  auto& h = *f.h;
  constexpr std::size_t min = 16 * kib, preferred = 128 * kib;

  SECTION("the default policy: every request is served") {
    const vmh::range_policy policy = h.get_range_policy();
    std::vector<vmh::grant> grants;
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      const std::size_t available = h.mapper().available();
      const std::size_t total = available + h.stats().pages_mapped * page;
      const vmh::grant g = h.allocate_range(min, preferred);
      REQUIRE(g);
      CHECK(g.size >= min);
      CHECK(g.size <= preferred);
      CHECK(g.size % min == 0);
      CHECK(g.size <= available);
      CHECK(g.size == expected_grant(policy, available, total, min, preferred));
      grants.push_back(g);
    }
    // The first grant sits in a block that can hold the preferred size.
    CHECK(grants[0].ptr == f.at(256 * kib));
    CHECK(h.mapper().mapped() <= 96 * kib);
    CHECK(h.stats().bytes_requested == grants[0].size + grants[1].size + grants[2].size);
    CHECK(h.validate());
    // Freeing one lets another grow in place towards preferred.
    CHECK(h.deallocate(grants[2].ptr) == status::ok);
    CHECK(h.resize(grants[0].ptr, grants[0].size + min) == status::ok);
    CHECK(h.usable_size(grants[0].ptr) == grants[0].size + min);
    CHECK(h.deallocate(grants[0].ptr) == status::ok);
    CHECK(h.deallocate(grants[1].ptr) == status::ok);
    CHECK(h.mapper().mapped() == 0);
  }
  SECTION("greedy: the first request takes everything and the second fails") {
    h.set_range_policy(vmh::range_policy::greedy());
    const vmh::grant g1 = h.allocate_range(min, preferred);
    REQUIRE(g1);
    CHECK(g1.size == 96 * kib);
    const snapshot before(h, f.base());
    const vmh::grant g2 = h.allocate_range(min, preferred);
    CHECK(g2.result == status::no_memory);
    check_unchanged(before, h, f.base(), 0, 1);
  }
  SECTION("a share of one half") {
    h.set_range_policy(vmh::range_policy::share(1, 2));
    const vmh::grant g1 = h.allocate_range(min, preferred);
    const vmh::grant g2 = h.allocate_range(min, preferred);
    const vmh::grant g3 = h.allocate_range(min, preferred);
    REQUIRE(g1);
    REQUIRE(g2);
    REQUIRE(g3);
    CHECK(g1.size == 48 * kib);
    CHECK(g2.size == 16 * kib);  // half of 48 KiB is 24 KiB: 16 KiB in granules
    CHECK(g3.size == 16 * kib);
    CHECK(h.mapper().mapped() == 80 * kib);
  }
}

// ------------------------------------------------------------------------------------------------
// SOF's own VMH test, on a configured heap

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
    CHECK(h->try_allocate(150 * kib).result == status::no_block);
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
          CHECK((g.result == status::no_block || g.result == status::no_memory));
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

// ------------------------------------------------------------------------------------------------
// Threads

TEST_CASE("spin_lock: threads allocate and free each other's blocks", "[heap][threads]") {
  constexpr auto table = vmh::make_table({{64, 256}, {256, 128}, {1024, 64}, {4096, 32}, {16384, 8}});
  using layout = vmh::fixed_layout<table>;
  using heap_type = vmh::heap<layout, counting_mapper, vmh::static_arena<layout::virtual_size>, vmh::spin_lock>;
  auto h = std::make_unique<heap_type>();
  REQUIRE(h->state() == layout_error::none);

  struct item {
    void* p;
    std::size_t size;
    std::uint64_t id;
  };
  std::mutex queue_lock;
  std::deque<item> queue;
  std::atomic<std::size_t> bad_frees{0}, corrupt{0}, allocated{0}, failed{0};
  constexpr int threads = 4, iterations = 50000;

  auto worker = [&](int t) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 100);
    for (int i = 0; i < iterations; ++i) {
      const std::size_t size = 1 + rng() % (rng() % 8 == 0 ? 16384 : 1024);
      const std::uint64_t id = (static_cast<std::uint64_t>(t) << 32) | static_cast<std::uint64_t>(i);
      if (void* p = h->allocate(size)) {
        // Mark both ends: a block handed out twice would be overwritten.
        mark_ends(p, size, id);
        std::lock_guard<std::mutex> g(queue_lock);
        queue.push_back({p, size, id});
        allocated.fetch_add(1, std::memory_order_relaxed);
      } else {
        failed.fetch_add(1, std::memory_order_relaxed);
      }
      // Free the oldest entry, often someone else's: always once 128 are queued, else at random.
      const bool coin = rng() % 2 == 0;
      {
        item it{};
        {
          std::lock_guard<std::mutex> g(queue_lock);
          if (queue.empty() || (!coin && queue.size() < 128)) continue;
          it = queue.front();
          queue.pop_front();
        }
        if (!ends_intact(it.p, it.size, it.id)) corrupt.fetch_add(1, std::memory_order_relaxed);
        if (h->deallocate(it.p) != status::ok) bad_frees.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& th : pool) th.join();

  CHECK(bad_frees.load() == 0);
  CHECK(corrupt.load() == 0);
  CHECK(allocated.load() > static_cast<std::size_t>(threads * iterations / 2));
  CHECK(h->validate());
  CHECK(h->stats().live_allocations == queue.size());
  CHECK(h->stats().failed_no_block + h->stats().failed_no_memory == failed.load());
  for (const item& it : queue) CHECK(h->deallocate(it.p) == status::ok);
  const vmh::heap_stats s = h->stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.bytes_requested == 0);
  CHECK(s.pages_mapped == 0);
  CHECK(h->mapper().mapped() == 0);
  CHECK(h->validate());
}

// ------------------------------------------------------------------------------------------------
// Runtime configuration

TEST_CASE("a runtime layout is configured, reconfigured when empty, and checked", "[heap][configure]") {
  using layout = vmh::runtime_layout<8, 256, 64>;
  constexpr std::size_t size = 48 * page;  // 192 KiB of backing for at most 64 pages of layout
  auto mem = std::make_unique<arena<size + page>>();
  auto h = std::make_unique<ext_heap<layout>>(external_range{mem->bytes, size});
  const bucket t1[] = {{64, 64}, {1024, 8}, {16384, 2}};
  const bucket t2[] = {{128, 32}, {8192, 4}, {65536, 2}};
  const bucket bad[] = {{1024, 8}, {64, 64}};
  const bucket too_big[] = {{65536, 4}};  // 256 KiB: within the capacity, beyond the backing
  const bucket too_many[] = {{64, 257}};

  // Not configured yet.
  CHECK(h->state() != layout_error::none);
  CHECK(h->bucket_count() == 0);
  CHECK(h->try_allocate(64).result == status::not_configured);
  CHECK(h->allocate_range(64, 128).result == status::not_configured);
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
  CHECK(h->stats().peak_bytes_requested == 0);
  CHECK(h->stats(1).peak_in_use == 0);
  void* q = h->allocate(1000);
  CHECK(q == mem->bytes + 128 * 32);  // 1000 bytes now take an 8 KiB block
  CHECK(h->deallocate(q) == status::ok);

  // Bad tables and backing ranges leave the heap as it was.
  CHECK(h->configure(bad, 2) == layout_error::not_ascending);
  CHECK(h->configure(too_big, 1) == layout_error::backing_too_small);
  CHECK(h->configure(too_many, 1) == layout_error::exceeds_capacity);
  CHECK(h->configure(t1, 3, page, 48) == layout_error::bad_min_align);
  CHECK(h->state() == layout_error::none);
  CHECK(h->geometry().buckets[0].block_size == 128);
  CHECK(h->allocate(1000) == mem->bytes + 128 * 32);
  CHECK(h->validate());

  // A range that does not start on a page.
  auto skewed = std::make_unique<ext_heap<layout>>(external_range{mem->bytes + 64, size});
  CHECK(skewed->configure(t1, 3) == layout_error::backing_misaligned);
  CHECK(skewed->try_allocate(64).result == status::not_configured);

  // A runtime layout over a static arena.
  auto in_arena = std::make_unique<vmh::heap<layout, counting_mapper, vmh::static_arena<size>>>();
  CHECK(in_arena->try_allocate(64).result == status::not_configured);
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
  auto pages = [&] {
    std::set<std::size_t> touched;
    for (const auto& [o, sz] : live)
      for (std::size_t p = o / big_page; p < ceil_div(o + sz, big_page); ++p) touched.insert(p);
    return touched.size();
  };
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
  CHECK(small->state() == layout_error::backing_too_small);
  CHECK(small->try_allocate(64).result == status::not_configured);
  CHECK(small->allocate_range(64, 128).result == status::not_configured);

  auto skewed = std::make_unique<ext_heap<basic_layout>>(external_range{mem->bytes + 64, basic_size});
  CHECK(skewed->state() == layout_error::backing_misaligned);
  CHECK(skewed->try_allocate(64).result == status::not_configured);
  CHECK(skewed->deallocate(mem->bytes + 64) == status::not_configured);

  auto good = std::make_unique<ext_heap<basic_layout>>(external_range{mem->bytes, basic_size + page});
  CHECK(good->state() == layout_error::none);
  CHECK(good->allocate(64) == mem->bytes);
}
