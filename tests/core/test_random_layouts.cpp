// Random runtime layouts, many of them hostile, through heap::configure: 1 to 41 buckets (and
// now and then none or too many), pages of 256 B to 64 KiB, mostly block sizes that are no power
// of two and straddle pages, guard pages in a quarter, and one field spoilt in a third of the
// tables. The heap's answer
// must be the one an independent reading of the layout rules gives; a rejected table leaves the
// old layout in place, and an accepted one has the offsets the table implies and serves a block
// of every bucket.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

using vmh::bucket;
using vmh::layout_error;
using vmh::status;

// The heap's capacities and its window.
constexpr std::size_t max_buckets = 48, max_blocks = 4096, max_pages = 1024;
using layout = vmh::runtime_layout<max_buckets, max_blocks, max_pages>;
using heap_type = vmh::heap<layout, vmh::counting_mapper, vmh::external_range>;
constexpr std::size_t window_bytes_ = 8u << 20;
constexpr std::size_t window_align = 64u << 10;  // the largest page

bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }
std::size_t lowest_bit(std::size_t x) { return x & (~x + 1); }

// Bytes from one block to the next: the block, or with guard pages (blocks of a page or more)
// the block rounded up to a page and one page more.
std::size_t stride_of(std::size_t size, std::size_t page, bool guard) {
  return guard && size >= page ? (size + page - 1) / page * page + page : size;
}

// The layout rules in the order the library documents them (layout.hpp), written from that
// list: the first rule a table breaks, or none.
layout_error first_broken_rule(const std::vector<bucket>& t, std::size_t page, std::size_t min_align, bool guard) {
  constexpr std::size_t limit = 0xffffffffu;  // a layout's virtual range stays below 4 GiB
  if (t.empty()) return layout_error::no_buckets;
  if (t.size() > 64) return layout_error::too_many_buckets;
  if (t.size() > max_buckets) return layout_error::exceeds_capacity;
  if (!is_pow2(page) || page > limit) return layout_error::bad_page_size;
  if (!is_pow2(min_align) || min_align < 8 || min_align > page || page / min_align > 32768)
    return layout_error::bad_min_align;
  std::size_t offset = 0, blocks = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bucket& b = t[i];
    if (b.block_size == 0) return layout_error::zero_block_size;
    if (b.block_size % min_align != 0) return layout_error::block_size_not_multiple_of_min_align;
    if (b.block_count == 0) return layout_error::zero_block_count;
    if (b.block_count > (std::size_t{1} << 24)) return layout_error::too_many_blocks_in_bucket;
    if (i > 0 && b.block_size <= t[i - 1].block_size) return layout_error::not_ascending;
    if (b.block_size > limit) return layout_error::range_too_large;
    // A guarded block (a page or more) starts on a page and is followed by a page never mapped.
    const bool guarded = guard && b.block_size >= page;
    const std::size_t align = guarded ? page : std::min(lowest_bit(b.block_size), page);
    if (offset % align != 0) return layout_error::misaligned_bucket_start;
    if (guarded && b.block_size > limit - 2 * page) return layout_error::range_too_large;
    const std::size_t stride = stride_of(b.block_size, page, guard);
    if (b.block_count > (limit - offset) / stride) return layout_error::range_too_large;
    offset += stride * b.block_count;
    blocks += b.block_count;
  }
  if (blocks > max_blocks || offset / page + (offset % page != 0) > max_pages) return layout_error::exceeds_capacity;
  if ((offset + page - 1) / page * page > window_bytes_) return layout_error::window_too_small;  // whole pages
  return layout_error::none;
}

struct random_table {
  std::vector<bucket> buckets;
  std::size_t page = 4096, min_align = 64;
  bool guard = false;
};

// A table that follows the rules, then (one time in three) one field spoilt.
random_table make_table(std::mt19937_64& rng) {
  random_table r;
  r.page = std::size_t{256} << (rng() % 9);
  const unsigned page_bits = static_cast<unsigned>(std::countr_zero(r.page));
  r.min_align = std::size_t{8} << (rng() % (page_bits - 2));  // 8 .. page
  if (r.page / r.min_align > 32768) r.min_align = r.page / 32768;
  r.guard = rng() % 4 == 0;
  const std::size_t n = 1 + rng() % 41;
  std::size_t size = r.min_align * (1 + rng() % 4), offset = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t count = 1 + rng() % (rng() % 4 == 0 ? 64 : 8);
    r.buckets.push_back({size, count});
    // The next size grows by 1% to 100%, in units of min_align.
    const std::size_t grow = size * (1 + rng() % 100) / 100;
    const std::size_t next = size + (grow / r.min_align + 1) * r.min_align;
    // Raise the count until the next bucket starts aligned to its blocks.
    const std::size_t stride = stride_of(size, r.page, r.guard);
    const std::size_t align = r.guard && next >= r.page ? r.page : std::min(lowest_bit(next), r.page);
    while ((offset + count * stride) % align != 0) ++count;
    r.buckets.back().block_count = count;
    offset += count * stride;
    size = next;
  }
  if (rng() % 3 != 0) return r;
  auto& b = r.buckets[rng() % r.buckets.size()];
  switch (rng() % 12) {
    case 0: b.block_size = 0; break;
    case 1: b.block_size += r.min_align / 2; break;
    case 2: b.block_count = 0; break;
    case 3: b.block_count = (std::size_t{1} << 24) + 1; break;
    case 4: b.block_size = r.buckets.front().block_size; break;  // not ascending (or equal)
    case 5: b.block_count += 1; break;                            // may misalign the next bucket
    case 6: b.block_size = SIZE_MAX - SIZE_MAX % r.min_align; break;  // beyond a layout's range
    case 7: b.block_count = max_blocks; break;                    // beyond the block capacity
    case 8: r.page = 3000; break;
    case 9: r.min_align = rng() % 2 == 0 ? 48 : 4; break;
    case 10: r.buckets.clear(); break;
    default: r.buckets.insert(r.buckets.end(), 30, bucket{r.buckets.back().block_size, 1}); break;
  }
  return r;
}

}  // namespace

TEST_CASE("random runtime layouts: configure follows the layout rules and an accepted layout works",
          "[heap][configure][random]") {
  std::unique_ptr<std::byte, void (*)(std::byte*)> mem(
      static_cast<std::byte*>(::operator new(window_bytes_, std::align_val_t{window_align})),
      [](std::byte* p) { ::operator delete(p, std::align_val_t{window_align}); });
  auto h = std::make_unique<heap_type>(vmh::external_range{mem.get(), window_bytes_});
  std::mt19937_64 rng(20261201);
  std::map<layout_error, std::size_t> outcomes;
  std::size_t accepted_buckets = 0;
  std::vector<bucket> current;  // the heap's layout now, if any
  std::size_t guarded_accepted = 0;

  for (int round = 0; round < 3000; ++round) {
    const random_table t = make_table(rng);
    const layout_error expected = first_broken_rule(t.buckets, t.page, t.min_align, t.guard);
    CAPTURE(round, t.buckets.size(), t.page, t.min_align, t.guard);
    INFO("expected " << vmh::to_string(expected));
    const layout_error got = h->configure(t.buckets.data(), t.buckets.size(), t.page, t.min_align, t.guard);
    CHECK(got == expected);
    ++outcomes[got];
    if (got != layout_error::none) {
      // The previous layout (or none) is kept.
      CHECK(h->bucket_count() == current.size());
      if (!current.empty()) {
        CHECK(h->state() == layout_error::none);
        CHECK(h->geometry().buckets[0].block_size == current[0].block_size);
      }
      continue;
    }
    current = t.buckets;
    accepted_buckets += current.size();
    if (t.guard) ++guarded_accepted;
    const auto& g = h->geometry();
    REQUIRE(g.bucket_count == current.size());
    std::size_t offset = 0;
    for (std::size_t b = 0; b < current.size(); ++b) {
      CAPTURE(b);
      CHECK(g.buckets[b].offset == offset);
      CHECK(g.buckets[b].block_size == current[b].block_size);
      CHECK(g.buckets[b].block_count == current[b].block_count);
      CHECK(g.block_offset(g.buckets[b], 1) == offset + stride_of(current[b].block_size, t.page, t.guard));
      offset += stride_of(current[b].block_size, t.page, t.guard) * current[b].block_count;
    }
    CHECK(g.blocks_end == offset);
    CHECK(g.virtual_size == (offset + t.page - 1) / t.page * t.page);  // the window is whole pages
    CHECK(g.page_size == t.page);
    CHECK(g.page_total == (offset + t.page - 1) / t.page);
    // A block of every bucket's size takes that bucket's first block.
    std::vector<void*> held;
    for (std::size_t b = 0; b < current.size(); ++b) {
      const vmh::grant a = h->try_allocate(current[b].block_size);
      CHECK(a.status == status::ok);
      CHECK(a.ptr == mem.get() + g.buckets[b].offset);
      if (a.ptr != nullptr) held.push_back(a.ptr);
    }
    CHECK(h->validate());
    for (void* p : held) CHECK(h->deallocate(p) == status::ok);
    CHECK(h->mapper().mapped() == 0);
    CHECK(h->validate());
  }
  // The tables reached acceptance and every kind of refusal that was made.
  CHECK(outcomes[layout_error::none] > 500);
  CHECK(accepted_buckets > 5000);
  CHECK(guarded_accepted > 100);
  for (const layout_error e :
       {layout_error::no_buckets, layout_error::exceeds_capacity, layout_error::bad_page_size, layout_error::bad_min_align,
        layout_error::zero_block_size, layout_error::block_size_not_multiple_of_min_align, layout_error::zero_block_count,
        layout_error::too_many_blocks_in_bucket, layout_error::not_ascending, layout_error::misaligned_bucket_start,
        layout_error::range_too_large, layout_error::window_too_small}) {
    INFO(vmh::to_string(e));
    CHECK(outcomes[e] > 0);
  }
}
