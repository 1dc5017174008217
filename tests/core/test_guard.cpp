// Guard pages: with `with_guard_pages`, every block of a page or more is followed by a page that
// is never mapped. They cost virtual space only; locating a block still takes one division.
#include <cstddef>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

using namespace vmh_test;
using vmh::counting_mapper;
using vmh::layout_error;
using vmh::status;

namespace {
// 64 B x 64 at 0 (one page), 4 KiB x 4 at 4 KiB (stride 8 KiB), 6 KiB x 2 at 36 KiB (stride
// 12 KiB: two pages of block, one guard), 16 KiB x 2 at 60 KiB (stride 20 KiB).
constexpr auto guarded_table = vmh::with_guard_pages(vmh::make_table({{64, 64}, {4096, 4}, {6144, 2}, {16384, 2}}));
using guarded_layout = vmh::fixed_layout<guarded_table>;
constexpr auto& g = guarded_layout::geometry;
}  // namespace

TEST_CASE("guard pages: the geometry leaves an unmapped page after every large block", "[layout][guard]") {
  STATIC_REQUIRE(g.buckets[0].stride == 64);  // sub-page blocks keep their size as stride
  STATIC_REQUIRE(g.buckets[1].stride == 2 * page);
  STATIC_REQUIRE(g.buckets[2].stride == 3 * page);
  STATIC_REQUIRE(g.buckets[3].stride == 5 * page);
  STATIC_REQUIRE(g.buckets[1].offset == page);
  STATIC_REQUIRE(g.buckets[2].offset == page + 4 * 2 * page);
  STATIC_REQUIRE(g.buckets[3].offset == g.buckets[2].offset + 2 * 3 * page);
  STATIC_REQUIRE(g.virtual_size == g.buckets[3].offset + 2 * 5 * page);
  STATIC_REQUIRE(g.guard_bytes == 4 * page + 2 * (page + 2048) + 2 * page);
  STATIC_REQUIRE(g.buckets[2].owned);  // page-aligned blocks followed by guards share no page
  STATIC_REQUIRE(g.block_offset(g.buckets[3], 1) == g.buckets[3].offset + 5 * page);
  // Without the option the same table packs its blocks.
  constexpr auto plain = vmh::fixed_layout<vmh::make_table({{64, 64}, {4096, 4}, {6144, 2}, {16384, 2}})>::geometry;
  STATIC_REQUIRE(plain.guard_bytes == 0);
  STATIC_REQUIRE(plain.virtual_size == g.virtual_size - g.guard_bytes);
  // A guarded bucket must start on a page.
  constexpr vmh::bucket odd[] = {{64, 32}, {6144, 2}};  // 6 KiB blocks need 2 KiB alignment, guarded ones a page
  STATIC_REQUIRE(vmh::derive_geometry<2>(odd, 2, page, 64, SIZE_MAX, SIZE_MAX, SIZE_MAX, true).error ==
                 layout_error::misaligned_bucket_start);
  STATIC_REQUIRE(vmh::derive_geometry<2>(odd, 2, page, 64).error == layout_error::none);
}

TEST_CASE("guard pages: blocks are placed by stride and guard pages are never mapped", "[heap][guard]") {
  fixture<ext_heap<guarded_layout>, guarded_layout::virtual_size> f;
  auto& h = *f.h;
  void* big[2];
  for (void*& p : big) {
    p = h.allocate(16384);
    REQUIRE(p != nullptr);
  }
  CHECK(f.off(big[0]) == g.buckets[3].offset);
  CHECK(f.off(big[1]) == g.buckets[3].offset + 5 * page);
  void* odd = h.allocate(6000);  // 6 KiB block: two pages mapped, the guard after them not
  REQUIRE(odd != nullptr);
  CHECK(f.off(odd) == g.buckets[2].offset);
  CHECK(h.mapper().mapped() == 2 * 4 * page + 2 * page);
  CHECK(h.usable_size(odd) == 6144);
  // A pointer into a guard page is inside no block: refused, and reported as a misuse.
  misuse_log misuse;
  CHECK(h.deallocate(f.at(g.buckets[3].offset + 4 * page)) == status::interior_pointer);
  CHECK(misuse_log::reported(status::interior_pointer, f.at(g.buckets[3].offset + 4 * page)));
  CHECK(h.deallocate(f.at(g.buckets[2].offset + 2 * page)) == status::interior_pointer);
  CHECK(misuse_log::reported(status::interior_pointer, f.at(g.buckets[2].offset + 2 * page)));
  // Resize never reaches the guard: the block ends first.
  CHECK(h.resize(odd, 6145) == status::exceeds_block);
  CHECK(h.resize(odd, 6144) == status::ok);
  CHECK(h.validate());
  for (void* p : big) CHECK(h.deallocate(p) == status::ok);
  CHECK(h.deallocate(odd) == status::ok);
  CHECK(h.mapper().mapped() == 0);
  CHECK(h.validate());
}

TEST_CASE("guard pages: runs skip guarded buckets; a runtime layout takes the option", "[heap][guard]") {
  fixture<ext_heap<guarded_layout, counting_mapper, with_runs>, guarded_layout::virtual_size> f;
  CHECK(f.h->max_size() == 16384);  // guarded blocks take no runs: the largest block
  CHECK(f.h->try_allocate(40000).status == status::no_bucket);  // would need two adjacent 16 KiB blocks
  CHECK(f.h->allocate(64 * 65) != nullptr);                   // a run of sub-page blocks still works

  using rt_heap = ext_heap<vmh::runtime_layout<8, 512, 64>>;
  auto mem = std::make_unique<arena<64 * page>>();
  auto h = std::make_unique<rt_heap>(vmh::external_range{mem->bytes, 64 * page});
  const vmh::bucket t[] = {{256, 16}, {8192, 3}};
  REQUIRE(h->configure(t, 2, page, 64, true) == layout_error::none);
  CHECK(h->geometry().buckets[1].stride == 3 * page);
  CHECK(h->geometry().guard_bytes == 3 * page);
  void* a = h->allocate(8192);
  void* b = h->allocate(8192);
  REQUIRE((a && b));
  CHECK(static_cast<std::byte*>(b) - static_cast<std::byte*>(a) == static_cast<std::ptrdiff_t>(3 * page));
  CHECK(h->validate());
}

TEST_CASE("poison: a write to a freed sub-page block is found when the block is reused", "[heap][guard]") {
  using poison_heap = ext_heap<guarded_layout, counting_mapper, vmh::heap_options{.poison = true}>;
  fixture<poison_heap, guarded_layout::virtual_size> f;
  auto& h = *f.h;
  auto* keep = static_cast<unsigned char*>(h.allocate(64));  // keeps page 0 mapped
  auto* a = static_cast<unsigned char*>(h.allocate(64));
  REQUIRE((keep && a));
  // A fresh page is poisoned apart from what is handed out.
  CHECK(a[0] == vmh::poison_byte);
  a[0] = 1;
  REQUIRE(h.deallocate(a) == status::ok);
  CHECK(a[0] == vmh::poison_byte);  // the freed block is poisoned again
  CHECK(a[63] == vmh::poison_byte);
  auto* b = static_cast<unsigned char*>(h.allocate(64));
  CHECK(b == a);
  CHECK(h.poison_damaged() == 0);  // clean reuse
  REQUIRE(h.deallocate(b) == status::ok);
  a[10] = 7;  // use after free
  CHECK(h.allocate(64) == a);
  CHECK(h.poison_damaged() == 1);
  CHECK(h.validate());
}
