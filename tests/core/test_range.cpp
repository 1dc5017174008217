// allocate_range: grants between min and preferred, and the range policies that size them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::null_mapper;
using vmh::status;

namespace {

// The grant of allocate_range(min, preferred) (granule min) on a block that holds `preferred`
// and starts on a page: the policy's cap rounded down to the granule, never below min nor above
// preferred, and no more than the free pages hold.
std::size_t expected_grant(const vmh::range_policy& p, std::size_t available, std::size_t total, std::size_t min,
                           std::size_t preferred) {
  const std::size_t cap = p.cap(available, total, min);
  const std::size_t rounded = std::max(min, cap / min * min);
  return std::min(std::min(rounded, preferred), available / min * min);
}

}  // namespace

TEST_CASE("allocate_range grants between min and preferred in multiples of the granule", "[heap][range]") {
  fixture<ext_heap<basic_layout, null_mapper>, basic_size> f;
  auto& h = *f.h;
  auto check_grant = [&](const vmh::grant& g, std::size_t min, std::size_t preferred, std::size_t granule) {
    REQUIRE(g);
    CHECK(g.status == status::ok);
    CHECK(g.size >= min);
    CHECK(g.size <= preferred);
    CHECK(g.size % granule == 0);
    CHECK(h.owns(g.ptr));
    CHECK(h.usable_size(g.ptr) >= g.size);
  };

  SECTION("invalid arguments") {
    const auto before = f.state();
    CHECK(h.allocate_range(0, 100).status == status::invalid_size);
    CHECK(h.allocate_range(200, 100).status == status::invalid_size);
    CHECK(h.allocate_range(100, 150, 0, 200).status == status::invalid_size);  // no multiple of 200 in [100, 150]
    CHECK(h.allocate_range(100, 150, 3).status == status::invalid_alignment);
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
    CHECK(h.stats().bytes_in_blocks == 4096);  // the whole 4 KiB block it sits in
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
  for (const vmh::range_policy adaptive : {vmh::range_policy::adaptive_share(1, 2), vmh::range_policy::adaptive_share(2, 3)}) {
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
  // documented default: a reserve of max(4 * lo, 35/1000 of the memory).
  const std::size_t total = 4608 * kib;
  for (std::size_t available = total; available > 0; available -= total / 16) {
    CAPTURE(available);
    CHECK(vmh::range_policy{}.cap(available, total, lo) == vmh::range_policy::reserve(4, 35, 1000).cap(available, total, lo));
    const std::size_t keep = std::max(4 * lo, total / 1000 * 35 + total % 1000 * 35 / 1000);
    CHECK(vmh::range_policy{}.cap(available, total, lo) == (available > keep + lo ? available - keep : lo));
  }
  // The reserve follows the request's minimum when that is the larger part.
  CHECK(vmh::range_policy::reserve(4, 0, 1).cap(100 * kib, total, 16 * kib) == 100 * kib - 64 * kib);
  CHECK(vmh::range_policy::reserve(4, 0, 1).cap(70 * kib, total, 16 * kib) == 16 * kib);
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
    std::size_t block_bytes = 0;
    for (const vmh::grant& g : grants) block_bytes += table.buckets[f.bucket_of(g.ptr)].block_size;
    CHECK(h.stats().bytes_in_blocks == block_bytes);
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
    const auto before = f.state();
    const vmh::grant g2 = h.allocate_range(min, preferred);
    CHECK(g2.status == status::no_memory);
    check_unchanged(before, h, f.base(), {.no_memory = 1, .mapper_calls = true});
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

TEST_CASE("allocate_range grants all that the free pages allow, counting a last page a neighbour maps", "[heap][range]") {
  // 9216-byte blocks straddle pages: block 0 covers pages 0-2, block 1 [9216, 18432) pages 2-4,
  // block 2 [18432, 27648) pages 4-6.
  constexpr auto table = vmh::make_table({{9216, 4}});
  using layout = vmh::fixed_layout<table>;
  fixture<ext_heap<layout>, layout::virtual_size> f(counting_mapper{4 * page});
  auto& h = *f.h;
  h.set_range_policy(vmh::range_policy::greedy());  // the grant is limited by the pages alone
  void* first = h.allocate(1);                      // block 0: page 0
  void* second = h.allocate(1);                     // block 1: page 2
  void* third = h.allocate(1);                      // block 2: page 4
  REQUIRE(third == f.block(0, 2));
  CHECK(h.deallocate(second) == status::ok);        // page 2 is free again: pages 0 and 4 mapped
  REQUIRE(h.mapper().available() == 2 * page);

  // Block 1 with two free pages: pages 2 and 3 are mapped (the 8192 bytes the budget and the
  // greedy cap allow), page 4 is block 2's already and costs nothing, so the grant reaches the
  // end of the block. Ignoring page 4 it stopped at the end of page 3 (7168 bytes).
  const vmh::grant g = h.allocate_range(1024, 9216);
  REQUIRE(g);
  CHECK(g.ptr == f.block(0, 1));
  CHECK(g.size == 9216);
  CHECK(h.mapper().mapped() == 4 * page);
  CHECK(h.validate());
  CHECK(h.deallocate(g.ptr) == status::ok);

  // With one free page the grant ends with page 2: 12288 - 9216 bytes.
  h.mapper().set_budget(3 * page);
  const vmh::grant smaller = h.allocate_range(1024, 9216);
  REQUIRE(smaller);
  CHECK(smaller.size == 3072);
  CHECK(h.resize(smaller.ptr, 4096) == status::no_memory);  // page 3 is beyond the budget
  CHECK(h.deallocate(smaller.ptr) == status::ok);
  CHECK(h.deallocate(first) == status::ok);
  CHECK(h.deallocate(third) == status::ok);
  CHECK(h.mapper().mapped() == 0);
  CHECK(h.validate());
}

namespace {
// floor(x * num / den) in 128 bits: the exact value the policy formulas stand for.
__extension__ using wide = unsigned __int128;
wide exact_share(std::size_t x, std::size_t num, std::size_t den) { return wide{x} * num / den; }
}  // namespace

TEST_CASE("range policies: every rule is exact at SIZE_MAX, whatever its parameters", "[heap][range][policy]") {
  // An unlimited counting_mapper reports SIZE_MAX free; parameters are any 32-bit numbers.
  const std::size_t big[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1, SIZE_MAX / 3, std::size_t{1} << 40, 100 * kib};
  const std::uint32_t params[] = {0, 1, 2, 3, 35, 1000, 65535, UINT32_MAX - 1, UINT32_MAX};
  const std::size_t los[] = {0, 1, 4096, SIZE_MAX / 4, SIZE_MAX};
  for (const std::size_t total : big)
    for (const std::size_t available : big) {
      if (available > total) continue;
      for (const std::size_t lo : los)
        for (const std::uint32_t num : params)
          for (const std::uint32_t den : params) {
            CAPTURE(total, available, lo, num, den);
            // reserve(k, num, den): all but max(k * lo, total * num / den), never below lo.
            for (const std::uint32_t mins : {0u, 1u, 4u, UINT32_MAX}) {
              CAPTURE(mins);
              const std::size_t rn = den == 0 ? 35 : num, rd = den == 0 ? 1000 : den;
              const wide keep = std::max(wide{lo} * (mins == 0 ? 4 : mins), exact_share(total, rn, rd));
              const wide want = wide{available} > keep + lo ? available - keep : lo;
              CHECK(wide{vmh::range_policy::reserve(mins, num, den).cap(available, total, lo)} == want);
            }
            // share(num, den): num / den of the free memory (at most all of it), never below lo.
            const std::size_t sd = den == 0 ? 3 : den, sn = den == 0 ? 2 : std::min(num, den);
            const wide share = exact_share(available, sn, sd);
            CHECK(wide{vmh::range_policy::share(num, den).cap(available, total, lo)} == std::max(share, wide{lo}));
            // adaptive_share: at most that share, never below lo, all of it when everything is free.
            const std::size_t adaptive = vmh::range_policy::adaptive_share(num, den).cap(available, total, lo);
            CHECK(adaptive >= lo);
            CHECK(wide{adaptive} <= std::max(share, wide{lo}));
            if (available == total) CHECK(wide{adaptive} == std::max(share, wide{lo}));
          }
    }
  // Greedy takes everything.
  CHECK(vmh::range_policy::greedy().cap(SIZE_MAX, SIZE_MAX, 1) == SIZE_MAX);
}

TEST_CASE("allocate_range with an unlimited mapper and a reserve of more than everything grants the minimum",
          "[heap][range][policy]") {
  // 64 KiB blocks starting on a page: a grant maps its own pages.
  constexpr auto table = vmh::make_table({{64 * kib, 2}});
  using layout = vmh::fixed_layout<table>;
  fixture<ext_heap<layout>, layout::virtual_size> f(counting_mapper{});  // SIZE_MAX free
  auto& h = *f.h;
  h.set_range_policy(vmh::range_policy::reserve(4, 3, 2));  // keep back one and a half times the memory
  const vmh::grant g = h.allocate_range(page, 64 * kib);
  REQUIRE(g);
  CHECK(g.size == page);  // the minimum (its page holds nothing more)
  CHECK(h.mapper().mapped() == page);
  CHECK(h.validate());
}
