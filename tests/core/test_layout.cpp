// Layout derivation, layout errors, presets and the geometric generator.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/layout_rules.hpp"
#include "support/misuse_log.hpp"

namespace {

using vmh::bucket;
using vmh::layout_error;
using vmh::status;

constexpr std::size_t kib = 1024;
constexpr std::size_t page = 4096;

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// The offset of bucket i in a table: the bytes of all buckets before it.
template <std::size_t N>
constexpr std::size_t offset_of(const vmh::bucket_table<N>& t, std::size_t i) {
  std::size_t off = 0;
  for (std::size_t j = 0; j < i; ++j) off += t.buckets[j].block_size * t.buckets[j].block_count;
  return off;
}
template <std::size_t N>
constexpr std::size_t first_block_of(const vmh::bucket_table<N>& t, std::size_t i) {
  std::size_t n = 0;
  for (std::size_t j = 0; j < i; ++j) n += t.buckets[j].block_count;
  return n;
}
template <std::size_t N>
constexpr std::size_t bytes_of(const vmh::bucket_table<N>& t) {
  return offset_of(t, N);
}

// A hand-written table with power-of-two and other block sizes. Counts are chosen so that each
// bucket starts on a multiple of its block alignment (min(lowest set bit, page)):
//   64 x 64     at 0        align 64
//   192 x 16    at 4096     align 64    (192 = 3 * 64)
//   1024 x 9    at 7168     align 1024  (4096 + 16 * 192 = 7168 = 7 * 1024)
//   6144 x 6    at 16384    align 2048  (6144 = 3 * 2048)
//   16384 x 4   at 53248    align 4096  (16384 + 6 * 6144 = 53248 = 13 * 4096)
constexpr auto hand_table = vmh::make_table({{64, 64}, {192, 16}, {1024, 9}, {6144, 6}, {16384, 4}});
using hand_layout = vmh::fixed_layout<hand_table>;
constexpr const auto& hand = hand_layout::geometry;

// Bitmap words are machine words: 64 bits on hosts, 32 on a DSP or a Cortex-M.
constexpr std::size_t word_bits = std::numeric_limits<std::size_t>::digits;
// Levels a bucket's bitmap over n blocks needs: leaf words, then a bit per word of the level
// below, up to one word.
constexpr std::size_t bitmap_levels(std::size_t n) {
  std::size_t levels = 1;
  for (std::size_t w = ceil_div(n, word_bits); w > 1; w = ceil_div(w, word_bits)) ++levels;
  return levels;
}
// Words of one bucket's bitmap over n blocks with `levels` levels (single words above its own top).
constexpr std::size_t bitmap_words_at(std::size_t n, std::size_t levels) {
  std::size_t total = 0;
  for (std::size_t level = 0, w = ceil_div(n, word_bits); level < levels; ++level, w = ceil_div(w, word_bits)) total += w;
  return total;
}
// Words of a bucket's bitmap with the levels it needs itself.
constexpr std::size_t bitmap_words(std::size_t n) { return bitmap_words_at(n, bitmap_levels(n)); }

// A table whose buckets need 1, 2 and 3 bitmap levels (64, 66 and 4097 blocks).
constexpr auto level_table = vmh::make_table({{64, 64}, {128, 66}, {256, 4097}});
using level_layout = vmh::fixed_layout<level_table>;

}  // namespace

TEST_CASE("fixed_layout derives offsets, blocks and pages as constants", "[layout]") {
  STATIC_REQUIRE(hand.error == layout_error::none);
  STATIC_REQUIRE(hand.bucket_count == 5);
  STATIC_REQUIRE(hand.page_size == page);
  STATIC_REQUIRE(hand.page_shift == 12);
  STATIC_REQUIRE(hand.min_align == vmh::default_min_align);

  STATIC_REQUIRE(hand.buckets[0].offset == offset_of(hand_table, 0));
  STATIC_REQUIRE(hand.buckets[1].offset == offset_of(hand_table, 1));
  STATIC_REQUIRE(hand.buckets[2].offset == offset_of(hand_table, 2));
  STATIC_REQUIRE(hand.buckets[3].offset == offset_of(hand_table, 3));
  STATIC_REQUIRE(hand.buckets[4].offset == offset_of(hand_table, 4));
  // The same offsets written out from the table, as a check of offset_of.
  STATIC_REQUIRE(hand.buckets[1].offset == 64 * 64);
  STATIC_REQUIRE(hand.buckets[2].offset == 64 * 64 + 192 * 16);
  STATIC_REQUIRE(hand.buckets[3].offset == 64 * 64 + 192 * 16 + 1024 * 9);
  STATIC_REQUIRE(hand.buckets[4].offset == 64 * 64 + 192 * 16 + 1024 * 9 + 6144 * 6);

  STATIC_REQUIRE(hand.buckets[0].first_block == first_block_of(hand_table, 0));
  STATIC_REQUIRE(hand.buckets[2].first_block == 64 + 16);
  STATIC_REQUIRE(hand.buckets[4].first_block == first_block_of(hand_table, 4));
  STATIC_REQUIRE(hand.block_total == 64 + 16 + 9 + 6 + 4);

  STATIC_REQUIRE(hand.block_align(hand.buckets[0]) == 64);
  STATIC_REQUIRE(hand.block_align(hand.buckets[1]) == 64);    // lowest bit of 192
  STATIC_REQUIRE(hand.block_align(hand.buckets[2]) == 1024);
  STATIC_REQUIRE(hand.block_align(hand.buckets[3]) == 2048);  // lowest bit of 6144
  STATIC_REQUIRE(hand.block_align(hand.buckets[4]) == page);  // capped at the page size

  STATIC_REQUIRE(hand.virtual_size == bytes_of(hand_table));
  STATIC_REQUIRE(hand.page_total == ceil_div(bytes_of(hand_table), page));
  STATIC_REQUIRE(hand_layout::virtual_size == hand.virtual_size);
  STATIC_REQUIRE(hand_layout::page_size == page);
  STATIC_REQUIRE(hand_layout::bucket_capacity == 5);
  STATIC_REQUIRE(hand_layout::block_capacity == hand.block_total);
  STATIC_REQUIRE(hand_layout::page_capacity == hand.page_total);
  STATIC_REQUIRE(hand_layout::word_capacity == hand.word_total);
  std::size_t words = 0;
  for (const bucket& b : hand_table.buckets) words += bitmap_words(b.block_count);
  CHECK(hand.word_total == words);
#if SIZE_MAX > 0xffffffffu
  // 64-bit words. Each bucket has at most 64 blocks: one leaf word each.
  STATIC_REQUIRE(hand.word_total == 5);
  STATIC_REQUIRE(hand.levels == 1);
  STATIC_REQUIRE(hand_layout::bitmap_levels == 1);
  STATIC_REQUIRE(hand.buckets[3].level_word[0] == 3);
#endif
  STATIC_REQUIRE(hand.all_buckets() == 0x1f);
  STATIC_REQUIRE(&hand_layout::geo() == &hand_layout::geometry);
}

TEST_CASE("fixed_layout answers first_fit and bucket_at in constant expressions", "[layout]") {
  // first_fit: the first bucket whose block holds the size; exact sizes fit their own bucket.
  STATIC_REQUIRE(hand.first_fit(1) == 0);
  STATIC_REQUIRE(hand.first_fit(64) == 0);
  STATIC_REQUIRE(hand.first_fit(65) == 1);
  STATIC_REQUIRE(hand.first_fit(128) == 1);
  STATIC_REQUIRE(hand.first_fit(192) == 1);
  STATIC_REQUIRE(hand.first_fit(193) == 2);
  STATIC_REQUIRE(hand.first_fit(1024) == 2);
  STATIC_REQUIRE(hand.first_fit(1025) == 3);
  STATIC_REQUIRE(hand.first_fit(4096) == 3);
  STATIC_REQUIRE(hand.first_fit(6144) == 3);
  STATIC_REQUIRE(hand.first_fit(6145) == 4);
  STATIC_REQUIRE(hand.first_fit(16384) == 4);
  STATIC_REQUIRE(hand.first_fit(16385) == hand.bucket_count);
  STATIC_REQUIRE(hand.first_fit(SIZE_MAX / 2 + 1) == hand.bucket_count);

  // bucket_at: every byte of a bucket maps to it, including the first and last.
  STATIC_REQUIRE(hand.bucket_at(0) == 0);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[1].offset - 1) == 0);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[1].offset) == 1);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[2].offset - 1) == 1);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[2].offset) == 2);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[3].offset + 5000) == 3);
  STATIC_REQUIRE(hand.bucket_at(hand.buckets[4].offset) == 4);
  STATIC_REQUIRE(hand.bucket_at(hand.virtual_size - 1) == 4);

  // first_at_least[k]: first bucket with blocks of at least 2^k bytes.
  STATIC_REQUIRE(hand.first_at_least[0] == 0);
  STATIC_REQUIRE(hand.first_at_least[6] == 0);
  STATIC_REQUIRE(hand.first_at_least[7] == 1);   // 128 <= 192
  STATIC_REQUIRE(hand.first_at_least[8] == 2);   // 256 > 192
  STATIC_REQUIRE(hand.first_at_least[12] == 3);  // 4096 <= 6144
  STATIC_REQUIRE(hand.first_at_least[13] == 4);  // 8192 > 6144
  STATIC_REQUIRE(hand.first_at_least[15] == 5);  // 32768: none

  // aligned_buckets(k): buckets whose blocks are aligned to 2^k.
  STATIC_REQUIRE(hand.aligned_buckets(0) == 0x1f);
  STATIC_REQUIRE(hand.aligned_buckets(6) == 0x1f);
  STATIC_REQUIRE(hand.aligned_buckets(7) == 0x1c);
  STATIC_REQUIRE(hand.aligned_buckets(10) == 0x1c);
  STATIC_REQUIRE(hand.aligned_buckets(11) == 0x18);
  STATIC_REQUIRE(hand.aligned_buckets(12) == 0x10);
  STATIC_REQUIRE(hand.aligned_buckets(13) == 0);
  STATIC_REQUIRE(hand.aligned_buckets(63) == 0);
}

TEST_CASE("a fixed layout knows the kinds of bucket it has", "[layout]") {
  // hand_table: 64 B tiles pages (shared), 192 B and 6144 B straddle pages they share, 16 KiB
  // blocks own their pages and map as many as their size needs.
  STATIC_REQUIRE(hand_layout::kinds.owned);
  STATIC_REQUIRE(hand_layout::kinds.shared);
  STATIC_REQUIRE(hand_layout::kinds.variable);
  STATIC_REQUIRE(hand_layout::kinds.straddling);
  // SOF's table: sub-page blocks tile their pages, larger ones own theirs: nothing straddles.
  using sof = vmh::fixed_layout<vmh::presets::sof_table>;
  STATIC_REQUIRE(sof::kinds.owned && sof::kinds.shared && sof::kinds.variable && !sof::kinds.straddling);
  using tiles = vmh::fixed_layout<vmh::make_table({{64, 64}, {1024, 8}})>;
  STATIC_REQUIRE(!tiles::kinds.owned && tiles::kinds.shared && !tiles::kinds.variable && !tiles::kinds.straddling);
  using pages = vmh::fixed_layout<vmh::make_table({{4096, 4}})>;
  STATIC_REQUIRE(pages::kinds.owned && !pages::kinds.shared && !pages::kinds.variable && !pages::kinds.straddling);
  // A runtime layout may be given any table.
  constexpr vmh::bucket_kinds any = vmh::runtime_layout<4, 80, 8>::kinds;
  STATIC_REQUIRE(any.owned && any.shared && any.variable && any.straddling);
}

TEST_CASE("every bucket's bitmap has the levels its largest bucket needs", "[layout]") {
  constexpr const auto& g = level_layout::geometry;
  STATIC_REQUIRE(g.error == layout_error::none);
  // The 4097-block bucket needs the most levels; every bucket gets as many (single words at the
  // top of the smaller ones), so a search is always the same number of steps.
  STATIC_REQUIRE(g.levels == bitmap_levels(4097));
  STATIC_REQUIRE(level_layout::bitmap_levels == g.levels);
  // Each level has a bit per word of the level below; the buckets' words follow each other.
  std::size_t words = 0;
  for (std::size_t b = 0; b < g.bucket_count; ++b) {
    CAPTURE(b);
    const std::size_t n = level_table.buckets[b].block_count;
    std::size_t w = ceil_div(n, word_bits);
    for (std::size_t level = 0; level < g.levels; ++level, w = ceil_div(w, word_bits)) {
      CHECK(g.buckets[b].level_word[level] == words);
      words += w;
    }
  }
  CHECK(g.word_total == words);
  std::size_t expected = 0;
  for (const bucket& b : level_table.buckets) expected += bitmap_words_at(b.block_count, g.levels);
  CHECK(g.word_total == expected);
#if SIZE_MAX > 0xffffffffu  // 64-bit words
  STATIC_REQUIRE(g.levels == 3);               // 4097 blocks: 65 words, 2 words, 1 word
  STATIC_REQUIRE(g.buckets[0].level_word[0] == 0);  // 64 blocks: one word, then two single words
  STATIC_REQUIRE(g.buckets[0].level_word[1] == 1);
  STATIC_REQUIRE(g.buckets[0].level_word[2] == 2);
  STATIC_REQUIRE(g.buckets[1].level_word[0] == 3);  // 66 blocks: two leaf words, one, one
  STATIC_REQUIRE(g.buckets[1].level_word[1] == 3 + 2);
  STATIC_REQUIRE(g.buckets[1].level_word[2] == 3 + 2 + 1);
  STATIC_REQUIRE(g.buckets[2].level_word[0] == 3 + 2 + 1 + 1);
  STATIC_REQUIRE(g.buckets[2].level_word[1] == 7 + ceil_div(4097, 64));
  STATIC_REQUIRE(g.buckets[2].level_word[2] == 7 + ceil_div(4097, 64) + ceil_div(ceil_div(4097, 64), 64));
  STATIC_REQUIRE(g.word_total == 3 + 4 + 65 + 2 + 1);
#endif
  STATIC_REQUIRE(g.buckets[2].offset == 64 * 64 + 128 * 66);
  STATIC_REQUIRE(g.blocks_end == bytes_of(level_table));
  STATIC_REQUIRE(g.virtual_size == ceil_div(bytes_of(level_table), page) * page);  // the window is whole pages
}

TEST_CASE("SOF's production table is a 1 MiB fixed layout", "[layout][presets]") {
  using sof = vmh::fixed_layout<vmh::presets::sof_table>;
  constexpr const auto& g = sof::geometry;
  STATIC_REQUIRE(g.error == layout_error::none);
  STATIC_REQUIRE(sof::virtual_size == 1024 * kib);
  STATIC_REQUIRE(g.page_total == 1024 * kib / page);
  STATIC_REQUIRE(g.bucket_count == 9);
  STATIC_REQUIRE(g.block_total == 32 + 8 + 44 + 8 + 11 + 10 + 3 + 1 + 1);
  STATIC_REQUIRE(g.buckets[6].block_size == 64 * kib);
  STATIC_REQUIRE(g.buckets[6].offset == offset_of(vmh::presets::sof_table, 6));
  STATIC_REQUIRE(g.buckets[8].offset == 512 * kib);
  STATIC_REQUIRE(g.block_align(g.buckets[8]) == page);
  STATIC_REQUIRE(g.first_fit(24 * kib) == 6);  // a 24 KiB DMA buffer takes a 64 KiB block here
  STATIC_REQUIRE(g.first_fit(128) == 0);
  STATIC_REQUIRE(g.first_fit(129) == 1);
  STATIC_REQUIRE(g.first_fit(512 * kib) == 8);
  // Every bucket of the table is a power of two, so each is aligned to its size up to a page.
  for (std::size_t b = 0; b < g.bucket_count; ++b) {
    CAPTURE(b);
    const std::size_t expected = g.buckets[b].block_size < page ? g.buckets[b].block_size : page;
    CHECK(g.block_align(g.buckets[b]) == expected);
    CHECK(g.buckets[b].offset % g.block_align(g.buckets[b]) == 0);
  }
}

TEST_CASE("a fixed layout's compact index equals its geometry's, with the layout's levels", "[layout]") {
  // The heap indexes fixed_layout::index instead of the geometry's buckets: the same buckets,
  // starts and first_at_least, its level array sized by the layout's levels (on a 32-bit target
  // its buckets may keep no span: their offset is then their start, their stride their size).
  auto same = [](const auto& layout_type) {
    using L = std::remove_cvref_t<decltype(layout_type)>;
    constexpr const auto& g = L::geometry;
    constexpr const auto& ix = L::index;
    STATIC_REQUIRE(std::extent_v<decltype(ix.buckets[0].level_word)> == g.levels);
    STATIC_REQUIRE(ix.bucket_count == g.bucket_count);
    for (std::size_t b = 0; b < L::bucket_capacity; ++b) {
      CAPTURE(b);
      const auto& x = ix.buckets[b];
      const vmh::bucket_geometry& y = g.buckets[b];
      CHECK(x.block_size == y.block_size);
      CHECK(ix.bucket_start(b) == y.offset);
      CHECK(ix.stride_of(x) == y.stride);
      CHECK(ix.block_offset(b, 1) == g.block_offset(y, 1));
      CHECK(x.block_count == y.block_count);
      CHECK(x.first_block == y.first_block);
      CHECK(x.first_record == y.first_record);
      for (std::size_t level = 0; level < g.levels; ++level) CHECK(x.level_word[level] == y.level_word[level]);
      CHECK(x.align_shift == y.align_shift);
      CHECK(x.owned == y.owned);
      CHECK(x.variable == y.variable);
      CHECK(ix.starts[b] == g.starts[b]);
    }
    for (std::size_t k = 0; k < vmh::detail::size_bits; ++k) CHECK(ix.first_at_least[k] == g.first_at_least[k]);
    for (std::size_t b = 0; b < g.bucket_count; ++b) {  // every min_align step of every bucket maps to it
      const vmh::bucket_geometry& y = g.buckets[b];
      for (std::size_t off = y.offset; off < y.offset + y.stride * y.block_count; off += g.min_align)
        if (ix.bucket_at(off) != b) FAIL("bucket_at(" << off << ") is not bucket " << b);
    }
  };
  same(hand_layout{});
  same(level_layout{});
  same(vmh::fixed_layout<vmh::presets::sof_table>{});
}

// ------------------------------------------------------------------------------------------------
// Layout errors (the rows of support/layout_rules.hpp)

namespace {

using vmh_test::rules::many;
using vmh_test::rules::ok_table;
using vmh_test::rules::row;
using vmh_test::rules::rows;

template <std::size_t N>
constexpr layout_error derive_error(const bucket (&t)[N], std::size_t page_size = page, std::size_t min_align = 64) {
  return vmh::derive_geometry<64>(t, N, page_size, min_align).error;
}
constexpr layout_error derive_error(const row& r) {
  return vmh::derive_geometry<64>(r.table, r.count, r.page_size, r.min_align).error;
}
// Every row, evaluated in a constant expression.
constexpr bool every_rule_derives() {
  for (const row& r : rows)
    if (derive_error(r) != r.expected) return false;
  return true;
}

constexpr bucket max_blocks[] = {{64, std::size_t{1} << 24}};
constexpr bucket just_fits[] = {{std::size_t{1} << 20, 4095}};

}  // namespace

TEST_CASE("derive_geometry reports every rule a table breaks", "[layout][errors]") {
  STATIC_REQUIRE(every_rule_derives());
  for (const row& r : rows) {
    INFO("expected: " << vmh::to_string(r.expected));
    CHECK(derive_error(r) == r.expected);
    // An invalid layout has no buckets, so nothing can be allocated from it.
    CHECK(vmh::derive_geometry<64>(r.table, r.count, r.page_size, r.min_align).bucket_count == 0);
  }
  STATIC_REQUIRE(derive_error(ok_table) == layout_error::none);
  STATIC_REQUIRE(vmh::derive_geometry<64>(many.b, 64, page, 64).error == layout_error::none);
  // More buckets than the geometry type holds (a runtime layout's maximum): exceeds its capacity.
  STATIC_REQUIRE(vmh::derive_geometry<4>(many.b, 5, page, 64).error == layout_error::exceeds_capacity);
  // The limits of min_align themselves: 32768 units per page, and 8 bytes.
  STATIC_REQUIRE(derive_error(ok_table, std::size_t{1} << 18, 8) == layout_error::none);
  STATIC_REQUIRE(derive_error(ok_table, page, 8) == layout_error::none);
}

TEST_CASE("derive_geometry accepts the limits themselves", "[layout][errors]") {
  // 2^24 blocks and a range just below 4 GiB are allowed (checked at run time: the geometry
  // is large to evaluate).
  const auto g1 = vmh::derive_geometry<1>(max_blocks, 1, page, 64);
  CHECK(g1.error == layout_error::none);
  CHECK(g1.levels == bitmap_levels(std::size_t{1} << 24));
  CHECK(g1.word_total == bitmap_words(std::size_t{1} << 24));
#if SIZE_MAX > 0xffffffffu
  CHECK(g1.levels == 4);  // 64-bit words: 2^18 leaf words, 2^12, 2^6, 1
  CHECK(g1.word_total == (std::size_t{1} << 18) + (std::size_t{1} << 12) + 64 + 1);
#endif
  const auto g2 = vmh::derive_geometry<1>(just_fits, 1, page, 64);
  CHECK(g2.error == layout_error::none);
  CHECK(g2.virtual_size == vmh::max_virtual_size - (std::size_t{1} << 20) + 1);
  CHECK(g2.virtual_size <= vmh::max_virtual_size);
}

TEST_CASE("a layout that ends in the last page below 4 GiB is refused; one page less counts its pages exactly",
          "[layout][errors][heap]") {
  // 0xffffffc0 bytes of virtual range: the last block would end 64 bytes below 4 GiB, inside the
  // last page. Where size_t has 32 bits, rounding that end up to a page would wrap around, so
  // such a layout is refused (range_too_large) on every target.
  constexpr bucket last_page[] = {{(std::size_t{1} << 31) - 128, 1}, {(std::size_t{1} << 31) + 64, 1}};
  STATIC_REQUIRE(vmh::derive_geometry<2>(last_page, 2, page, 64).error == layout_error::range_too_large);

  // A page shorter, the layout is accepted and the pages of its last block are counted exactly.
  constexpr std::size_t size = (std::size_t{1} << 31) + 64;
  constexpr std::size_t offset = (std::size_t{1} << 31) - 128 - page;
  constexpr auto table = vmh::make_table({{offset, 1}, {size, 1}});
  using layout = vmh::fixed_layout<table>;
  STATIC_REQUIRE(layout::geometry.blocks_end == 0xffffffc0u - page);
  STATIC_REQUIRE(layout::virtual_size == 0xfffff000u);  // rounded up to a whole page, still below 4 GiB
  using heap_type = vmh::heap<layout, vmh::counting_mapper, vmh::external_range>;
  // A counting mapper never touches the range, so a page-aligned address stands in for 4 GiB.
  auto h = std::make_unique<heap_type>(vmh::external_range{reinterpret_cast<std::byte*>(std::uintptr_t{page}), layout::virtual_size});
  REQUIRE(h->state() == layout_error::none);
  const vmh::grant g = h->try_allocate(size);
  REQUIRE(g.status == status::ok);
  const std::size_t pages = (offset + size) / page + 1 - offset / page;  // the end is inside a page
  CHECK(h->stats().pages_mapped == pages);
  CHECK(h->mapper().mapped() == pages * page);
  CHECK(h->usable_size(g.ptr) == size);
  CHECK(h->validate());
  CHECK(h->deallocate(g.ptr) == status::ok);
  CHECK(h->mapper().mapped() == 0);
  CHECK(h->validate());
}

TEST_CASE("runtime_layout::assign reports the same errors and keeps its geometry", "[layout][errors]") {
  auto l = std::make_unique<vmh::runtime_layout<4, 80, 8>>();
  CHECK(l->geo().bucket_count == 0);
  REQUIRE(l->assign(ok_table, 2, page, 64) == layout_error::none);
  REQUIRE(l->geo().bucket_count == 2);
  REQUIRE(l->geo().virtual_size == 64 * 64 + 4096 * 2);

  // Beyond the capacities of this layout type.
  const bucket blocks81[] = {{64, 81}};
  const bucket pages9[] = {{4096, 9}};
  const row capacity_rows[] = {
      {blocks81, 1, page, 64, layout_error::exceeds_capacity},  // 81 blocks > 80
      {pages9, 1, page, 64, layout_error::exceeds_capacity},    // 9 pages > 8
      {many.b, 5, page, 64, layout_error::exceeds_capacity},    // 5 buckets > 4
  };
  auto check_row = [&](const row& r) {
    INFO("expected: " << vmh::to_string(r.expected));
    CHECK(l->assign(r.table, r.count, r.page_size, r.min_align) == r.expected);
    // The previous geometry is kept.
    CHECK(l->geo().error == layout_error::none);
    CHECK(l->geo().bucket_count == 2);
    CHECK(l->geo().buckets[1].block_size == 4096);
    CHECK(l->geo().virtual_size == 64 * 64 + 4096 * 2);
  };
  for (const row& r : rows) check_row(r);
  for (const row& r : capacity_rows) check_row(r);
  // Within the capacities it is accepted.
  const bucket fits[] = {{64, 64}, {1024, 16}};  // 80 blocks in 5 pages
  CHECK(l->assign(fits, 2, page, 64) == layout_error::none);
  CHECK(l->geo().block_total == 80);
  // Every bucket's bitmap has the levels 80 blocks need (2 with 64-bit words, 2 with 32-bit
  // ones), whatever the table: the heap's search has that many steps.
  STATIC_REQUIRE(vmh::runtime_layout<4, 80, 8>::bitmap_levels == bitmap_levels(80));
  CHECK(l->geo().levels == bitmap_levels(80));
  CHECK(l->geo().word_total == bitmap_words_at(64, bitmap_levels(80)) + bitmap_words_at(16, bitmap_levels(80)));
}

namespace {

// The values 0..last of an enum have distinct non-empty names, and the value after last has
// none (so a value added later cannot be left out of the table below).
template <class E>
void check_names(E last) {
  std::set<std::string> names;
  const int n = static_cast<int>(last);
  for (int e = 0; e <= n; ++e) {
    CAPTURE(e);
    const char* s = vmh::to_string(static_cast<E>(e));
    REQUIRE(s != nullptr);
    CHECK(std::strlen(s) > 0);
    CHECK(std::string(s) != "unknown");
    names.insert(s);
  }
  CHECK(names.size() == static_cast<std::size_t>(n + 1));
  CHECK(std::string(vmh::to_string(static_cast<E>(n + 1))) == "unknown");
}

}  // namespace

TEST_CASE("every layout_error, status and invariant has a distinct non-empty name", "[layout][errors]") {
  check_names(layout_error::packed_not_page_multiple);
  check_names(vmh::status::no_bucket);
  check_names(vmh::invariant::packed_region);
}

// ------------------------------------------------------------------------------------------------
// Non-power-of-two blocks

namespace {
// 192 x 2 at 0 (align 64), 1152 x 5 at 384 (align 128), 6144 x 4 at 6144 (align 2048).
// 1152-byte blocks 3 and 4 straddle or share page 1; every 6 KiB block straddles a page boundary.
constexpr auto odd_table = vmh::make_table({{192, 2}, {1152, 5}, {6144, 4}});
using odd_layout = vmh::fixed_layout<odd_table>;
}  // namespace

TEST_CASE("non-power-of-two block sizes derive a valid layout", "[layout]") {
  constexpr const auto& g = odd_layout::geometry;
  STATIC_REQUIRE(g.error == layout_error::none);
  STATIC_REQUIRE(g.buckets[1].offset == 2 * 192);
  STATIC_REQUIRE(g.block_align(g.buckets[1]) == 128);
  STATIC_REQUIRE(g.buckets[2].offset == 2 * 192 + 5 * 1152);
  STATIC_REQUIRE(g.buckets[2].offset % 2048 == 0);
  STATIC_REQUIRE(g.block_align(g.buckets[2]) == 2048);
  STATIC_REQUIRE(g.blocks_end == 2 * 192 + 5 * 1152 + 4 * 6144);
  STATIC_REQUIRE(g.virtual_size == g.page_total * page);
  STATIC_REQUIRE(g.page_total == ceil_div(g.blocks_end, page));
  STATIC_REQUIRE(g.first_fit(193) == 1);
  STATIC_REQUIRE(g.first_fit(1153) == 2);
  STATIC_REQUIRE(g.aligned_buckets(7) == 0b110);
  STATIC_REQUIRE(g.aligned_buckets(11) == 0b100);
  STATIC_REQUIRE(g.aligned_buckets(12) == 0);  // no bucket is page aligned

  // One fewer 1152 block would leave the 6 KiB bucket misaligned.
  constexpr bucket shifted[] = {{192, 2}, {1152, 4}, {6144, 4}};
  STATIC_REQUIRE(derive_error(shifted) == layout_error::misaligned_bucket_start);

  // A heap over it allocates every block and maps the pages each touches.
  static vmh::heap<odd_layout, vmh::counting_mapper> h;
  void* blocks[4];
  for (std::size_t i = 0; i < 4; ++i) {
    blocks[i] = h.allocate(6144);
    REQUIRE(blocks[i] != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(blocks[i]) % 2048 == 0);
  }
  CHECK(static_cast<std::byte*>(blocks[3]) - static_cast<std::byte*>(blocks[0]) == 3 * 6144);
  // The four blocks cover bytes [6144, 30720): pages 1 to 7.
  CHECK(h.stats().pages_mapped == ceil_div(6144 + 4 * 6144, page) - 6144 / page);
  CHECK(h.validate());
  for (void* p : blocks) CHECK(h.deallocate(p) == vmh::status::ok);
  CHECK(h.stats().pages_mapped == 0);
  CHECK(h.mapper().mapped() == 0);
}

// ------------------------------------------------------------------------------------------------
// The geometric generator

namespace {

struct generated {
  bucket b[vmh::max_buckets];
  std::size_t n = 0;
};

generated generate(const vmh::presets::geometric_params& p, std::size_t capacity = vmh::max_buckets) {
  generated g{};
  g.n = vmh::presets::geometric_buckets(p, g.b, capacity);
  return g;
}

std::size_t natural_align(std::size_t size, std::size_t page_size) {
  const std::size_t low = size & (~size + 1);
  return low < page_size ? low : page_size;
}

// The rounding unit of a block size: min_align below a cache line, the line below a page, the
// page from a page up.
std::size_t granule_of(const vmh::presets::geometric_params& p, std::size_t size) {
  return size >= p.page_size ? p.page_size : size >= p.line ? p.line : p.min_align;
}

void check_generated(const vmh::presets::geometric_params& p) {
  const generated g = generate(p);
  REQUIRE(g.n > 0);
  REQUIRE(g.n == vmh::presets::geometric_bucket_count(p));
  const std::size_t top_raw = p.max_block != 0 ? p.max_block : p.physical_bytes;
  const std::size_t top = ceil_div(top_raw, p.page_size) * p.page_size;
  const std::size_t cover = p.physical_bytes / p.overcommit_den * p.overcommit_num;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < g.n; ++i) {
    const bucket& b = g.b[i];
    CAPTURE(i, b.block_size, b.block_count);
    // Sizes: multiples of their granule (min_align, cache line or page).
    CHECK(b.block_size % granule_of(p, b.block_size) == 0);
    CHECK(b.block_size % p.min_align == 0);
    CHECK(b.block_size <= top);
    if (i > 0) {
      const std::size_t prev = g.b[i - 1].block_size;
      CHECK(b.block_size > prev);
      if (i + 1 < g.n) {
        // Grows by the ratio, to the nearest multiple of the granule (at least one granule).
        const std::size_t grown = prev * p.ratio_num / p.ratio_den;
        const std::size_t half = granule_of(p, grown) / 2;
        CAPTURE(prev, grown);
        CHECK(b.block_size + half >= grown);
        CHECK(b.block_size <= std::max(grown + half, prev + granule_of(p, prev + 1)));
      }
    }
    // Covers the physical budget times the overcommit, unless capped by max_count; counts are
    // raised at most by the alignment fix-up.
    const std::size_t wanted = ceil_div(cover, b.block_size);
    const std::size_t floor_count = wanted < p.max_count ? wanted : p.max_count;
    CHECK(b.block_count >= floor_count);
    CHECK(b.block_count < floor_count + p.page_size / p.min_align);
    if (b.block_count < p.max_count) CHECK(b.block_count * b.block_size >= cover);
    // Every bucket starts aligned to its blocks.
    CHECK(offset % natural_align(b.block_size, p.page_size) == 0);
    offset += b.block_size * b.block_count;
  }
  // The last bucket's block holds the physical budget (or max_block).
  CHECK(g.b[g.n - 1].block_size == top);
  CHECK(g.b[g.n - 1].block_size >= top_raw);
  // The first is min_block rounded up.
  const std::size_t first = ceil_div(p.min_block, granule_of(p, p.min_block)) * granule_of(p, p.min_block);
  CHECK(g.b[0].block_size == (first < top ? first : top));

  const auto geo = vmh::derive_geometry<vmh::max_buckets>(g.b, g.n, p.page_size, p.min_align);
  CHECK(geo.error == layout_error::none);
  CHECK(geo.virtual_size == offset);
}

}  // namespace

TEST_CASE("the geometric generator produces valid covering layouts", "[layout][presets]") {
  using P = vmh::presets::geometric_params;
  SECTION("defaults: 1 MiB physical") { check_generated(P{}); }
  SECTION("ratio 2, overcommit 2") {
    P p{};
    p.physical_bytes = 512 * kib;
    p.ratio_num = 2;
    p.ratio_den = 1;
    p.overcommit_num = 2;
    check_generated(p);
    const generated g = generate(p);
    // Power-of-two growth from 64 B to 512 KiB: 14 buckets.
    CHECK(g.n == 14);
    CHECK(g.b[3].block_size == 512);
    CHECK(g.b[g.n - 1].block_count == 2);  // 1 MiB of cover in 512 KiB blocks
  }
  SECTION("a small max_count caps the small buckets") {
    P p{};
    p.physical_bytes = 256 * kib;
    p.max_count = 16;
    check_generated(p);
    const generated g = generate(p);
    CHECK(g.b[0].block_count < 16 + page / 64);
    CHECK(g.b[0].block_count * g.b[0].block_size < p.physical_bytes);
  }
  SECTION("max_block, min_align 8, ratio 5/4, page 16 KiB") {
    P p{};
    p.physical_bytes = 2048 * kib;
    p.max_block = 100000;
    p.min_block = 24;
    p.min_align = 8;
    p.ratio_num = 5;
    p.ratio_den = 4;
    p.page_size = 16 * kib;
    p.max_count = 256;
    check_generated(p);
    const generated g = generate(p);
    CHECK(g.b[g.n - 1].block_size == ceil_div(100000, 16 * kib) * 16 * kib);
  }
  SECTION("a physical budget that is not a page multiple") {
    P p{};
    p.physical_bytes = 100000;
    check_generated(p);
  }
  SECTION("auto_params: small blocks up to the whole budget") {
    const P p = vmh::presets::auto_params(2816 * kib);
    CHECK(p.physical_bytes == 2816 * kib);
    check_generated(p);
    const generated g = generate(p);
    CHECK(g.b[0].block_size == ceil_div(p.min_block, p.min_align) * p.min_align);
    CHECK(g.b[g.n - 1].block_size == 2816 * kib);
  }
  SECTION("a 128-byte cache line and 16-byte minimum alignment") {
    P p{};
    p.physical_bytes = 512 * kib;
    p.min_block = 16;
    p.min_align = 16;
    p.line = 128;
    check_generated(p);
  }
  SECTION("min_block above the top gives one bucket") {
    P p{};
    p.physical_bytes = 64 * kib;
    p.min_block = 1024 * kib;
    const generated g = generate(p);
    REQUIRE(g.n == 1);
    CHECK(g.b[0].block_size == 64 * kib);
    CHECK(g.b[0].block_count == 1);
  }
}

TEST_CASE("the geometric generator rejects unusable parameters", "[layout][presets]") {
  using P = vmh::presets::geometric_params;
  auto with = [](auto change) {
    P p{};
    change(p);
    return generate(p).n;
  };
  CHECK(generate(P{}).n > 0);
  CHECK(with([](P& p) { p.physical_bytes = 0; }) == 0);
  CHECK(with([](P& p) { p.min_block = 0; }) == 0);
  CHECK(with([](P& p) { p.ratio_num = 2; p.ratio_den = 2; }) == 0);
  CHECK(with([](P& p) { p.ratio_num = 1; p.ratio_den = 2; }) == 0);
  CHECK(with([](P& p) { p.ratio_den = 0; }) == 0);
  CHECK(with([](P& p) { p.overcommit_num = 0; }) == 0);
  CHECK(with([](P& p) { p.overcommit_den = 0; }) == 0);
  CHECK(with([](P& p) { p.max_count = 0; }) == 0);
  CHECK(with([](P& p) { p.page_size = 3000; }) == 0);
  CHECK(with([](P& p) { p.min_align = 48; }) == 0);
  CHECK(with([](P& p) { p.min_align = 8192; }) == 0);
  CHECK(with([](P& p) { p.line = 48; }) == 0);
  CHECK(with([](P& p) { p.line = 32; }) == 0);  // below min_align
  CHECK(with([](P& p) { p.line = 8192; }) == 0);  // above the page
  // Too many buckets for the room given, or for 64.
  CHECK(generate(P{}, 3).n == 0);
  CHECK(with([](P& p) { p.ratio_num = 101; p.ratio_den = 100; p.min_align = 8; p.min_block = 8; }) == 0);
  CHECK(vmh::presets::geometric_bucket_count(P{.physical_bytes = 0}) == 0);
}

TEST_CASE("widest_min_align: the largest power of two from 8 to 64 dividing every block size and the granule",
          "[layout]") {
  const bucket pow2[] = {{128, 4}, {4096, 2}};
  CHECK(vmh::widest_min_align(pow2, 2) == 64);  // capped at the cache line
  static constexpr bucket mixed[] = {{96, 4}, {160, 2}};
  CHECK(vmh::widest_min_align(mixed, 2) == 32);
  const bucket odd[] = {{24, 4}, {4096, 2}};
  CHECK(vmh::widest_min_align(odd, 2) == 8);
  const bucket tiny[] = {{12, 4}};
  CHECK(vmh::widest_min_align(tiny, 1) == 8);  // never below 8, even when 8 does not divide
  CHECK(vmh::widest_min_align(pow2, 2, vmh::packed_region{65536, 16384, 16}) == 16);  // the granule counts
  CHECK(vmh::widest_min_align(pow2, 2, vmh::packed_region{0, 16384, 16}) == 64);      // no region: it does not
  CHECK(vmh::widest_min_align(pow2, 0) == 64);
  static_assert(vmh::widest_min_align(mixed, 2) == 32, "a constant expression");
  // The table it gives is accepted: every block size is a multiple of it.
  constexpr auto g = vmh::derive_geometry<2>(mixed, 2, page, vmh::widest_min_align(mixed, 2), SIZE_MAX, SIZE_MAX, SIZE_MAX, false);
  CHECK(g.error == layout_error::none);
  CHECK(g.min_align == 32);
}

TEST_CASE("block sizes round to their granule: min_align, then the cache line, then the page", "[layout][presets]") {
  using vmh::presets::block_granule;
  using vmh::presets::round_block_nearest;
  using vmh::presets::round_block_up;
  STATIC_REQUIRE(block_granule(63, page, 16) == 16);
  STATIC_REQUIRE(block_granule(64, page, 16) == 64);
  STATIC_REQUIRE(block_granule(page - 1, page, 16) == 64);
  STATIC_REQUIRE(block_granule(page, page, 16) == page);
  STATIC_REQUIRE(block_granule(100, page, 16, 128) == 16);  // another line size
  // Up: at least min_align, then the next multiple of the granule.
  CHECK(round_block_up(0, page, 16) == 16);
  CHECK(round_block_up(1, page, 16) == 16);
  CHECK(round_block_up(17, page, 16) == 32);
  CHECK(round_block_up(65, page, 16) == 128);
  CHECK(round_block_up(4095, page, 16) == page);
  CHECK(round_block_up(page + 1, page, 16) == 2 * page);
  // Nearest, ties up: growth by a ratio stays near it where the granule jumps.
  CHECK(round_block_nearest(72, page, 16) == 64);
  CHECK(round_block_nearest(96, page, 16) == 128);
  CHECK(round_block_nearest(95, page, 16) == 64);
  CHECK(round_block_nearest(6 * kib, page, 16) == 8 * kib);
  CHECK(round_block_nearest(6 * kib - 1, page, 16) == 4 * kib);
  CHECK(round_block_nearest(3, page, 16) == 16);
  // Past SIZE_MAX: 0, never a wrapped small size.
  CHECK(round_block_up(SIZE_MAX, page, 16) == 0);
  CHECK(round_block_up(SIZE_MAX - page + 2, page, 16) == 0);
  CHECK(round_block_up(SIZE_MAX - page + 1, page, 16) == SIZE_MAX - page + 1);
  CHECK(round_block_nearest(SIZE_MAX, page, 16) == 0);
  CHECK(round_block_nearest(SIZE_MAX - page / 2 + 1, page, 16) == 0);
}

TEST_CASE("the geometric generator never wraps around: huge parameters give no layout or a valid one", "[layout][presets]") {
  using P = vmh::presets::geometric_params;
  using vmh::presets::auto_params;
  auto valid = [](const generated& g, const P& p) {
    return vmh::derive_geometry<vmh::max_buckets>(g.b, g.n, p.page_size, p.min_align).error == layout_error::none;
  };
  // A budget near SIZE_MAX (an unlimited mapper's) rounded up to a page wrapped to 0 and made a
  // block size of 0 to divide by. The largest block and the range must fit a layout's range.
  for (const std::size_t physical : {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - page + 1, SIZE_MAX - page, SIZE_MAX / 2 + 1,
                                     vmh::max_virtual_size, vmh::max_virtual_size - page + 2}) {
    CAPTURE(physical);
    CHECK(generate(auto_params(physical)).n == 0);
    CHECK(vmh::presets::geometric_bucket_count(auto_params(physical)) == 0);
  }
  // Every budget from 1 KiB up gives either no layout or one that derive_geometry accepts.
  std::size_t largest_usable = 0;
  for (std::size_t k = 10; k < std::numeric_limits<std::size_t>::digits; ++k) {
    for (const std::size_t physical : {std::size_t{1} << k, (std::size_t{1} << k) - 1, (std::size_t{1} << k) + 1}) {
      CAPTURE(physical);
      const P p = auto_params(physical);
      const generated g = generate(p);
      if (g.n == 0) continue;
      CHECK(valid(g, p));
      largest_usable = std::max(largest_usable, physical);
    }
  }
  CHECK(largest_usable >= std::size_t{256} << 20);  // budgets far beyond a DSP's SRAM still work

  auto with = [](auto change) {
    P p{};
    change(p);
    return std::pair{generate(p), p};
  };
  // A largest block near SIZE_MAX wrapped the same way; a smallest one rounded up to 0.
  CHECK(with([](P& p) { p.max_block = SIZE_MAX; }).first.n == 0);
  CHECK(with([](P& p) { p.max_block = SIZE_MAX - page + 2; }).first.n == 0);
  {
    const auto [g, p] = with([](P& p) { p.min_block = SIZE_MAX; });
    REQUIRE(g.n == 1);  // the smallest block is the largest: one bucket of the budget's size
    CHECK(g.b[0].block_size == p.physical_bytes);
    CHECK(valid(g, p));
  }
  // A ratio whose product wraps grows to the largest block at once, instead of to a small size.
  {
    const auto [g, p] = with([](P& p) { p.ratio_num = SIZE_MAX; p.ratio_den = 1; });
    REQUIRE(g.n == 2);
    CHECK(g.b[0].block_size == 64);
    CHECK(g.b[1].block_size == p.physical_bytes);
    CHECK(valid(g, p));
  }
  {
    const auto [g, p] = with([](P& p) { p.ratio_num = SIZE_MAX; p.ratio_den = SIZE_MAX - 1; });
    CHECK((g.n == 0 || valid(g, p)));
  }
  // An over-commit whose product wraps covers everything (the count cap), not a wrapped remainder.
  {
    const auto [g, p] = with([](P& p) { p.overcommit_num = SIZE_MAX / p.physical_bytes + 2; p.max_count = 4; });
    REQUIRE(g.n > 0);
    for (std::size_t b = 0; b < g.n; ++b) CHECK(g.b[b].block_count >= 4);
    CHECK(valid(g, p));
  }
  // Counts whose bytes would pass 4 GiB (or wrap) give no layout.
  CHECK(with([](P& p) { p.overcommit_num = SIZE_MAX; p.max_count = SIZE_MAX; }).first.n == 0);
  CHECK(with([](P& p) { p.max_count = SIZE_MAX; p.overcommit_num = 8192; }).first.n == 0);
  // A page beyond a layout's range.
  if constexpr (sizeof(std::size_t) > 4) {
    CHECK(with([](P& p) { p.page_size = static_cast<std::size_t>(std::uint64_t{1} << 33); }).first.n == 0);
  }
}

namespace {
constexpr vmh::presets::geometric_params small_geometric{.physical_bytes = 128 * 1024, .max_count = 64};
using geometric_layout = vmh::fixed_layout<vmh::presets::geometric<small_geometric>()>;
}  // namespace

TEST_CASE("the geometric generator on random parameters: no layout, or a valid one", "[layout][presets][random]") {
  using P = vmh::presets::geometric_params;
  std::mt19937_64 rng(16);
  // A field's value: typical half of the time, else small, a power of two, near SIZE_MAX, any
  // 64 bits, or near typical.
  auto value = [&](std::size_t typical) -> std::size_t {
    switch (rng() % 12) {
      case 0: return rng() % 4;
      case 1: case 6: case 7: case 8: case 9: case 10: case 11: return typical;
      case 2: return std::size_t{1} << (rng() % std::numeric_limits<std::size_t>::digits);
      case 3: return SIZE_MAX - rng() % 8192;
      case 4: return static_cast<std::size_t>(rng());
      default: return typical / 2 + rng() % (typical + 1);
    }
  };
  std::size_t produced = 0;
  for (int i = 0; i < 20000; ++i) {
    P p{};
    p.physical_bytes = value(1u << 20);
    p.min_block = value(64);
    p.max_block = rng() % 2 == 0 ? 0 : value(64 * kib);
    p.ratio_num = value(3);
    p.ratio_den = value(2);
    p.overcommit_num = value(1);
    p.overcommit_den = value(1);
    p.max_count = value(1024);
    p.page_size = value(page);
    p.min_align = value(64);
    p.line = value(64);
    CAPTURE(i, p.physical_bytes, p.min_block, p.max_block, p.ratio_num, p.ratio_den, p.overcommit_num,
            p.overcommit_den, p.max_count, p.page_size, p.min_align, p.line);
    const generated g = generate(p);
    if (g.n == 0) continue;
    ++produced;
    CHECK(vmh::derive_geometry<vmh::max_buckets>(g.b, g.n, p.page_size, p.min_align).error == layout_error::none);
  }
  CHECK(produced > 1000);
}

TEST_CASE("presets::geometric<P>() is a fixed_layout table", "[layout][presets]") {
  using auto_layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(256 * 1024)>()>;
  STATIC_REQUIRE(auto_layout::geometry.error == layout_error::none);
  STATIC_REQUIRE(auto_layout::geometry.buckets[auto_layout::geometry.bucket_count - 1].block_size == 256 * kib);
  STATIC_REQUIRE(auto_layout::geometry.min_align == vmh::presets::auto_params(256 * 1024).min_align);

  constexpr const auto& g = geometric_layout::geometry;
  STATIC_REQUIRE(g.error == layout_error::none);
  STATIC_REQUIRE(g.bucket_count == vmh::presets::geometric_bucket_count(small_geometric));
  STATIC_REQUIRE(g.buckets[g.bucket_count - 1].block_size == 128 * kib);
  STATIC_REQUIRE(g.buckets[0].block_size == 64);

  auto h = std::make_unique<vmh::heap<geometric_layout, vmh::counting_mapper>>();
  REQUIRE(h->state() == layout_error::none);
  void* big = h->allocate(128 * kib);
  REQUIRE(big != nullptr);
  CHECK(h->stats().pages_mapped == 128 * kib / page);
  void* small = h->allocate(10);
  REQUIRE(small != nullptr);
  CHECK(h->validate());
  CHECK(h->deallocate(big) == vmh::status::ok);
  CHECK(h->deallocate(small) == vmh::status::ok);
  CHECK(h->stats().pages_mapped == 0);
}

// ------------------------------------------------------------------------------------------------
// constinit

namespace {
constexpr auto constinit_table = vmh::make_table({{64, 64}, {1024, 8}, {16384, 2}});
using constinit_heap_type =
    vmh::heap<vmh::fixed_layout<constinit_table>, vmh::counting_mapper,
              vmh::static_arena<vmh::fixed_layout<constinit_table>::virtual_size>, vmh::spin_lock>;
constinit constinit_heap_type constinit_heap{};
}  // namespace

TEST_CASE("a heap with a constant layout is constinit and needs no init call", "[layout][constinit]") {
  CHECK(constinit_heap.state() == layout_error::none);
  CHECK(constinit_heap.validate());
  CHECK(constinit_heap.stats().live_allocations == 0);
  void* a = constinit_heap.allocate(100);
  void* b = constinit_heap.allocate(10000);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(constinit_heap.owns(a));
  // 100 bytes take block 0 of the 1 KiB bucket, 10000 bytes block 0 of the 16 KiB bucket.
  CHECK(static_cast<std::byte*>(b) - static_cast<std::byte*>(a) == 1024 * 8);
  CHECK(constinit_heap.stats().pages_mapped == 1 + ceil_div(10000, page));
  CHECK(constinit_heap.validate());
  CHECK(constinit_heap.deallocate(a) == vmh::status::ok);
  CHECK(constinit_heap.deallocate(b) == vmh::status::ok);
  CHECK(constinit_heap.stats().live_allocations == 0);
  CHECK(constinit_heap.mapper().mapped() == 0);
}

// A constinit heap over an external window cannot look at the window's address while it is
// constant-initialized: it checks it at first use. Every call must then answer as the same heap
// built at run time does (issue 24: a misaligned window allocated, a null one returned {nullptr, ok}).
namespace {
constexpr auto window_table = vmh::make_table({{64, 64}, {4096, 2}});
using window_layout = vmh::fixed_layout<window_table>;
using window_heap = vmh::heap<window_layout, vmh::counting_mapper, vmh::external_range, vmh::spin_lock>;
alignas(4096) constinit std::byte window[window_layout::virtual_size + 4096];
constinit window_heap misaligned_window_heap{vmh::external_range{window + 64, window_layout::virtual_size}};
constinit window_heap null_window_heap{vmh::external_range{static_cast<std::byte*>(nullptr), window_layout::virtual_size}};
constinit window_heap aligned_window_heap{vmh::external_range{window, window_layout::virtual_size}};

// Every query and every refused call of a heap that has allocated nothing, as one string.
std::string unused_heap_answers(window_heap& h) {
  std::ostringstream out;
  std::byte* p = h.base();
  out << vmh::to_string(h.state()) << '|' << vmh::to_string(h.validate().broken) << '|' << h.owns(p) << '|'
      << h.usable_size(p) << '|' << vmh::to_string(h.deallocate(p)) << '|' << vmh::to_string(h.resize(p, 8)) << '|'
      << vmh::to_string(h.grow(p, 8).status) << '|' << vmh::to_string(h.try_allocate(0).status) << '|'
      << vmh::to_string(h.try_allocate(64, 3).status) << '|' << vmh::to_string(h.allocate_range(0, 8).status) << '|'
      << h.stats().live_allocations << '|' << h.stats().failed_no_block << '|' << h.mapper().map_calls() << '|'
      << vmh_test::misuse_log::take();  // the bad pointers reported to the misuse handler
  return out.str();
}
}  // namespace

TEST_CASE("a constinit heap checks its window at first use, as a heap built at run time does", "[layout][constinit]") {
  vmh_test::misuse_log misuse;
  struct expected {
    window_heap* constant;
    std::byte* base;
    layout_error state;
  };
  for (const expected e : {expected{&misaligned_window_heap, window + 64, layout_error::window_misaligned},
                           expected{&null_window_heap, nullptr, layout_error::window_null},
                           expected{&aligned_window_heap, window, layout_error::none}}) {
    CAPTURE(vmh::to_string(e.state));
    auto runtime = std::make_unique<window_heap>(vmh::external_range{e.base, window_layout::virtual_size});
    REQUIRE(runtime->state() == e.state);
    // Every query before the first request, then the failed requests.
    CHECK(unused_heap_answers(*e.constant) == unused_heap_answers(*runtime));
    const vmh::grant g = e.constant->try_allocate(64);
    const vmh::grant r = runtime->try_allocate(64);
    CHECK(g.status == r.status);
    CHECK(static_cast<bool>(g) == static_cast<bool>(r));
    if (e.state != layout_error::none) {
      CHECK(g.ptr == nullptr);
      CHECK(g.status == vmh::status::not_configured);
      CHECK(e.constant->allocate(64) == nullptr);
      CHECK(e.constant->allocate_range(64, 128).status == vmh::status::not_configured);
      CHECK(unused_heap_answers(*e.constant) == unused_heap_answers(*runtime));
      CHECK(e.constant->mapper().map_calls() == 0);
    } else {
      CHECK(g.ptr == window);
      CHECK(e.constant->owns(g.ptr));
      CHECK(e.constant->validate());
      CHECK(e.constant->deallocate(g.ptr) == vmh::status::ok);
      CHECK(runtime->deallocate(r.ptr) == vmh::status::ok);
      CHECK(e.constant->validate());
    }
  }
}
