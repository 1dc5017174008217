// Tests of the bit array's rules (bench/baselines/bit_runs.hpp) and of the model of SOF's page
// allocator (bench/baselines/sof_vpage.hpp).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "baselines/bit_runs.hpp"
#include "baselines/sof_vpage.hpp"
#include "catch.hpp"

using vmh::baseline::bit_array_fit;
using vmh::baseline::sof_vpage_model;
using vmh::baseline::vpage_records;

namespace {

constexpr std::size_t page = 4096;
constexpr std::uintptr_t base = sof_vpage_model::default_base;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
std::size_t first_page(const void* p) { return (addr(p) - base) / page; }

/// A bit array of `count` bits with the given bits taken, as choose_free_run reads it.
struct bits {
  std::vector<std::uint8_t> used;
  std::uint32_t mask = 0;
  bits(std::size_t count, std::initializer_list<std::size_t> taken) : used(count, 0) {
    for (std::size_t i : taken) {
      used[i] = 1;
      if (i < 32) mask |= std::uint32_t{1} << i;
    }
  }
  std::size_t choose(bit_array_fit fit, std::size_t n) const {
    return vmh::baseline::choose_free_run(fit, used, mask, used.size(), n);
  }
};

}  // namespace

TEST_CASE("bit runs: the lowest run and the gap rule", "[bit_runs]") {
  // Free: 0, 4-5, 7-9, 11 (and nothing above) in a word of 12 bits.
  const bits b(12, {1, 2, 3, 6, 10});
  SECTION("lowest: the first run long enough") {
    CHECK(b.choose(bit_array_fit::lowest, 1) == 0u);
    CHECK(b.choose(bit_array_fit::lowest, 2) == 4u);
    CHECK(b.choose(bit_array_fit::lowest, 3) == 7u);
    CHECK(b.choose(bit_array_fit::lowest, 4) == vmh::baseline::no_run);
  }
  SECTION("gap: an exact gap nearest the top, else the smallest longer one") {
    CHECK(b.choose(bit_array_fit::gap, 1) == 11u);  // exact gaps at 0 and 11: the higher
    CHECK(b.choose(bit_array_fit::gap, 2) == 4u);   // exact
    CHECK(b.choose(bit_array_fit::gap, 3) == 7u);   // exact
    const bits c(12, {1, 2, 3, 7, 8});              // free: 0, 4-6, 9-11
    CHECK(c.choose(bit_array_fit::gap, 2) == 9u);   // both gaps of 3 are the smallest: the higher one
  }
  SECTION("an array of more than one word takes the lowest run under either rule") {
    const bits wide(40, {1, 2, 3});
    CHECK(wide.choose(bit_array_fit::gap, 1) == 0u);
    CHECK(wide.choose(bit_array_fit::lowest, 1) == 0u);
  }
  CHECK(b.choose(bit_array_fit::gap, 0) == vmh::baseline::no_run);
  CHECK(b.choose(bit_array_fit::gap, 13) == vmh::baseline::no_run);
}

TEST_CASE("sof_vpage: runs of eagerly mapped pages, the lowest free run", "[sof_vpage]") {
  sof_vpage_model v(64, page, base, bit_array_fit::lowest);
  REQUIRE(v.valid());
  void* a = v.alloc(3);
  void* b = v.alloc(2);
  REQUIRE((a && b));
  CHECK(first_page(a) == 0u);
  CHECK(first_page(b) == 3u);
  CHECK(v.mapped_pages() == 5u);  // every page at once
  CHECK(v.free_pages() == 59u);
  REQUIRE(v.free(a));
  CHECK(v.mapped_pages() == 2u);
  CHECK(first_page(v.alloc(2)) == 0u);  // the lowest run that fits, in the hole
  CHECK(first_page(v.alloc(2)) == 5u);  // the hole's last page is too short: past b
  CHECK(v.peak_mapped_pages() == 6u);
  CHECK(v.validate());
}

TEST_CASE("sof_vpage: refusals", "[sof_vpage]") {
  sof_vpage_model v(8, page);
  CHECK(v.alloc(0) == nullptr);
  CHECK(v.alloc(9) == nullptr);  // more pages than free
  void* a = v.alloc(4);
  REQUIRE(a != nullptr);
  void* b = v.alloc(2);
  REQUIRE(b != nullptr);
  REQUIRE(v.free(a));
  CHECK(v.alloc(5) == nullptr);  // 6 pages free, no run of 5
  CHECK_FALSE(v.free(reinterpret_cast<char*>(b) + 64));    // not a page start
  CHECK_FALSE(v.free(reinterpret_cast<char*>(b) + page));  // inside the run: no record names it
  CHECK_FALSE(v.free(nullptr));
  CHECK(v.mapped_pages() == 2u);
  CHECK(v.validate());
  CHECK_FALSE(sof_vpage_model(0, page).valid());
  CHECK_FALSE(sof_vpage_model(0x10000, page).valid());  // more pages than a record can name
  CHECK(sof_vpage_model(8, page).alloc(1) != nullptr);
}

TEST_CASE("sof_vpage: at most 128 live allocations, whatever their size", "[sof_vpage]") {
  sof_vpage_model v(200, page);
  std::vector<void*> live;
  for (std::size_t i = 0; i < sof_vpage_model::max_allocs; ++i) live.push_back(v.alloc(1));
  for (void* p : live) REQUIRE(p != nullptr);
  CHECK(v.alloc(1) == nullptr);  // 72 pages free, no record left
  REQUIRE(v.free(live[5]));
  CHECK(v.alloc(1) != nullptr);
  CHECK(v.validate());
}

TEST_CASE("sof_vpage: mended records free every run; vpage.c's leak a run", "[sof_vpage]") {
  // alloc A, alloc B, free A, alloc C: the upstream copy overwrites B's record with C's.
  for (const vpage_records kind : {vpage_records::mended, vpage_records::as_upstream}) {
    CAPTURE(kind == vpage_records::mended);
    sof_vpage_model v(16, page, base, bit_array_fit::lowest, kind);
    void* a = v.alloc(2);
    void* b = v.alloc(3);
    REQUIRE(v.free(a));
    void* c = v.alloc(1);
    REQUIRE((b && c));
    CHECK(v.records_in_use() == 2u);
    if (kind == vpage_records::mended) {
      CHECK(v.free(b));
      CHECK(v.free(c));
      CHECK(v.mapped_pages() == 0u);
      CHECK(v.free_pages() == 16u);
    } else {
      CHECK_FALSE(v.free(b));  // its record is gone: its 3 pages leak
      CHECK(v.free(c));
      CHECK(v.mapped_pages() == 3u);
      CHECK(v.free_pages() == 13u);
      CHECK(v.records_in_use() == 1u);  // the lost record still counts
    }
    CHECK(v.validate());
  }
}

TEST_CASE("sof_vpage: the static context as the real code has it on 32 bits", "[sof_vpage]") {
  // A mutex (5 words), 3 words, a mem_blocks allocator (7), a bit array header (4), a count and
  // 128 records of 4 bytes (tests/baselines/test_fidelity.cpp checks it against vpage.c).
  CHECK(sof_vpage_model::context_bytes == 592u);
  CHECK(sof_vpage_model::bitmap_bytes(1) == 4u);
  CHECK(sof_vpage_model::bitmap_bytes(33) == 8u);
}
