// Tests of the sys_heap model and SOF's range loop. Expected values are derived
// from the formulas in docs/baselines.md (the sys_heap model) (units, buckets, chunk-0
// layout), not taken from a run of the model.
#include "catch.hpp"

#include "baselines/range_loop.hpp"
#include "baselines/sys_heap.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <new>
#include <random>
#include <type_traits>
#include <vector>

using namespace vmh::baseline;

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

// A page-aligned buffer, so that the heap starts at its first byte and large
// alignments land at offsets the tests can compute.
class buffer {
 public:
  explicit buffer(std::size_t n)
      : n_(n), p_(static_cast<std::byte*>(::operator new(n, std::align_val_t{4096}))) {
    std::memset(p_, 0xcd, n_);
  }
  ~buffer() { ::operator delete(p_, std::align_val_t{4096}); }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  std::byte* data() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  std::size_t n_;
  std::byte* p_;
};

// ---- the spec's formulas, written independently of the model ----
std::size_t floor_log2(std::size_t x) {
  std::size_t r = 0;
  while (x >>= 1) ++r;
  return r;
}
template <class H>
std::size_t spec_min_chunk() {
  return (H::header_bytes + 1 + 7) / 8;
}
template <class H>
std::size_t spec_units(std::size_t bytes) {
  return (bytes + H::header_bytes + 7) / 8;
}
template <class H>
std::size_t bytes_for_units(std::size_t units) {  // the largest request that needs exactly `units`
  return units * 8 - H::header_bytes;
}
template <class H>
std::size_t spec_bucket(std::size_t units) {
  return floor_log2(units - spec_min_chunk<H>() + 1);
}
// Chunk 0: two 32-bit header words, end chunk id, bucket mask, three size_t
// statistics (only with runtime statistics on), one 32-bit head per bucket;
// rounded up to units.
template <class H>
std::size_t spec_stats_bytes() {
  return H::has_stats ? 3 * H::stat_bytes : 0;
}
template <class H>
std::size_t spec_chunk0_units(std::size_t heap_units) {
  const std::size_t buckets = spec_bucket<H>(heap_units) + 1;
  const std::size_t bytes = 4 + 4 + 4 + 4 + spec_stats_bytes<H>() + 4 * buckets;
  return (bytes + 7) / 8;
}
std::uint32_t bit(std::size_t b) { return std::uint32_t{1} << b; }

template <class T>
std::size_t read_raw(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<std::size_t>(v);
}

template <class H>
struct fixture {
  explicit fixture(std::size_t bytes) : buf(bytes), heap(buf.data(), bytes) {}
  buffer buf;
  H heap;

  std::size_t c0() const { return heap.chunk0_units(); }
  // Offset of the first block a fresh heap hands out: right after chunk 0's units and a header.
  std::size_t first_offset() const { return c0() * 8 + H::header_bytes; }
  std::size_t id(const void* p) const { return (heap.offset_of(p) - H::header_bytes) / 8; }
  std::size_t free_units_at_start() const { return heap.units() - c0(); }
  std::byte* at(std::size_t off) const { return buf.data() + off; }
};

template <class S>
bool same(const S& a, const S& b) {
  return a.free_bytes == b.free_bytes && a.allocated_bytes == b.allocated_bytes &&
         a.max_allocated_bytes == b.max_allocated_bytes;
}

void fill(void* p, std::size_t n, unsigned tag) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(tag + i * 7u);
}
bool holds(const void* p, std::size_t n, unsigned tag) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<unsigned char>(tag + i * 7u)) return false;
  return true;
}

}  // namespace

#define FOR_EACH_VARIANT(name, fn)                                        \
  TEST_CASE(name " (small heap)") { fn<sys_heap_small>(); }               \
  TEST_CASE(name " (big heap)") { fn<sys_heap_big>(); }                   \
  TEST_CASE(name " (big heap, 32-bit target)") { fn<sys_heap_big32>(); }

// Runtime statistics off (Zephyr's default).
#define FOR_NOSTATS_VARIANTS(name, fn)                                                \
  TEST_CASE(name " (small heap, no statistics)") { fn<sys_heap_small_nostats>(); }    \
  TEST_CASE(name " (big heap, no statistics)") { fn<sys_heap_big_nostats>(); }        \
  TEST_CASE(name " (big heap, 32-bit target, no statistics)") { fn<sys_heap_big32_nostats>(); }

#define FOR_BIG_VARIANTS(name, fn)                          \
  TEST_CASE(name " (big heap)") { fn<sys_heap_big>(); }     \
  TEST_CASE(name " (big heap, 32-bit target)") { fn<sys_heap_big32>(); }

// ---------------------------------------------------------------------------
TEST_CASE("sys_heap: header widths and derived constants") {
  CHECK(sys_heap_small::header_bytes == 4u);
  CHECK(sys_heap_small::min_chunk == 1u);
  CHECK(sys_heap_small::max_units == 0x7fffu);
  CHECK(sys_heap_big::header_bytes == 8u);
  CHECK(sys_heap_big::min_chunk == 2u);
  CHECK(sys_heap_big32::header_bytes == 8u);
  CHECK(sys_heap_small::alloc_loops == 3u);
  CHECK(sys_heap_big::alloc_loops == 3u);
  CHECK(sys_heap_small::bytes_to_units(1) == 1u);
  CHECK(sys_heap_small::bytes_to_units(4) == 1u);
  CHECK(sys_heap_small::bytes_to_units(5) == 2u);
  CHECK(sys_heap_big::bytes_to_units(1) == 2u);
  CHECK(sys_heap_big::bytes_to_units(8) == 2u);
  CHECK(sys_heap_big::bytes_to_units(9) == 3u);
  CHECK(sys_heap_big::bytes_to_units(size_max) == size_max);  // saturates, no wrap
}

TEST_CASE("sys_heap: bucket computation (small heap)") {
  using H = sys_heap_small;
  CHECK(H::bucket_of(1) == 0u);
  CHECK(H::bucket_of(2) == 1u);
  CHECK(H::bucket_of(3) == 1u);
  for (std::size_t s = 4; s <= 7; ++s) CHECK(H::bucket_of(s) == 2u);
  CHECK(H::bucket_of(8) == 3u);
  CHECK(H::bucket_of(15) == 3u);
  CHECK(H::bucket_of(16) == 4u);
  for (std::size_t s = 1; s < 0x8000; ++s) REQUIRE(H::bucket_of(s) == spec_bucket<H>(s));
}

TEST_CASE("sys_heap: bucket computation (big heap)") {
  using H = sys_heap_big;
  CHECK(H::bucket_of(2) == 0u);
  CHECK(H::bucket_of(3) == 1u);
  CHECK(H::bucket_of(4) == 1u);
  for (std::size_t s = 5; s <= 8; ++s) CHECK(H::bucket_of(s) == 2u);
  CHECK(H::bucket_of(9) == 3u);
  CHECK(H::bucket_of(16) == 3u);
  CHECK(H::bucket_of(17) == 4u);
  for (std::size_t s = 2; s < 100000; ++s) REQUIRE(H::bucket_of(s) == spec_bucket<H>(s));
}

// ---------------------------------------------------------------------------
template <class H>
void init_layout() {
  constexpr std::size_t bytes = 64 * KiB;
  fixture<H> f(bytes);
  H& h = f.heap;
  REQUIRE(h.valid_heap());
  const std::size_t units = (bytes - H::header_bytes) / 8;  // footer reserved, then whole units
  const std::size_t c0 = spec_chunk0_units<H>(units);
  CHECK(h.units() == units);
  CHECK(h.bucket_count() == spec_bucket<H>(units) + 1);
  CHECK(h.chunk0_units() == c0);
  CHECK(h.heap_start() == f.buf.data());
  CHECK(h.chunk_count() == 2u);
  const auto s = h.runtime_stats();
  CHECK(s.free_bytes == (units - c0) * 8);
  CHECK(s.allocated_bytes == 0u);
  CHECK(s.max_allocated_bytes == 0u);
  const std::size_t fb = spec_bucket<H>(units - c0);
  CHECK(h.bucket_mask() == bit(fb));
  CHECK(h.bucket_head(static_cast<unsigned>(fb)) == c0);
  CHECK(h.validate());

  SECTION("the metadata and headers live in the buffer with the documented layout") {
    using field = std::conditional_t<H::header_bytes == 4, std::uint16_t, std::uint32_t>;
    using stat = std::conditional_t<H::stat_bytes == 4, std::uint32_t, std::uint64_t>;
    const std::byte* b = f.buf.data();
    CHECK(read_raw<std::uint32_t>(b + 8) == units);    // end chunk id
    CHECK(read_raw<std::uint32_t>(b + 12) == bit(fb));  // bucket mask
    CHECK(read_raw<stat>(b + 16) == (units - c0) * 8);  // free_bytes
    CHECK(read_raw<std::uint32_t>(b + 16 + 3 * H::stat_bytes + 4 * fb) == c0);  // bucket head
    // chunk 0 header: left size 0, own size with the used bit
    CHECK(read_raw<field>(b) == 0u);
    CHECK(read_raw<field>(b + sizeof(field)) == ((c0 << 1) | 1u));
    // the free chunk: left size, size (free), and links to itself
    const std::byte* fc = b + c0 * 8;
    CHECK(read_raw<field>(fc) == c0);
    CHECK(read_raw<field>(fc + sizeof(field)) == (units - c0) << 1);
    CHECK(read_raw<field>(fc + 2 * sizeof(field)) == c0);
    CHECK(read_raw<field>(fc + 3 * sizeof(field)) == c0);
    // the end marker's header is the footer
    const std::byte* em = b + units * 8;
    CHECK(read_raw<field>(em) == units - c0);
    CHECK(read_raw<field>(em + sizeof(field)) == 1u);
    CHECK(em + H::header_bytes <= b + bytes);
  }

  SECTION("an unaligned buffer is trimmed to whole units") {
    H h2(f.buf.data() + 3, bytes - 3);
    REQUIRE(h2.valid_heap());
    CHECK(h2.heap_start() == f.buf.data() + 8);
    const std::size_t stop = (3 + (bytes - 3) - H::header_bytes) / 8 * 8;
    CHECK(h2.units() == (stop - 8) / 8);
    void* p = h2.alloc(10);
    CHECK(h2.offset_of(p) == h2.chunk0_units() * 8 + H::header_bytes);
    CHECK(reinterpret_cast<std::uintptr_t>(p) == reinterpret_cast<std::uintptr_t>(f.buf.data()) + 8 + h2.offset_of(p));
    CHECK(h2.validate());
  }

  SECTION("a buffer too small for chunk 0 and one free chunk is unusable") {
    std::size_t n = spec_min_chunk<H>();
    while (n < spec_chunk0_units<H>(n) + spec_min_chunk<H>()) ++n;  // smallest usable heap in units
    H ok(f.buf.data(), n * 8 + H::header_bytes);
    CHECK(ok.valid_heap());
    CHECK(ok.validate());
    CHECK(ok.units() == n);
    H bad(f.buf.data(), (n - 1) * 8 + H::header_bytes);
    CHECK_FALSE(bad.valid_heap());
    CHECK_FALSE(bad.validate());
    CHECK(bad.alloc(1) == nullptr);
    CHECK(bad.aligned_alloc(64, 1) == nullptr);
    CHECK(bad.realloc(nullptr, 1) == nullptr);
    CHECK(bad.free(nullptr));
    CHECK_FALSE(bad.free(f.buf.data() + 64));
    CHECK(bad.runtime_stats().free_bytes == 0u);
    H tiny(f.buf.data(), 4);
    CHECK_FALSE(tiny.valid_heap());
    H none(nullptr, 4096);
    CHECK_FALSE(none.valid_heap());
  }
}
FOR_EACH_VARIANT("sys_heap: init and chunk-0 layout", init_layout)

TEST_CASE("sys_heap: the small heap is limited to 0x7fff units") {
  buffer buf(0x8000 * 8 + 64);
  sys_heap_small at_limit(buf.data(), 0x7fff * 8 + 4);
  CHECK(at_limit.valid_heap());
  CHECK(at_limit.units() == 0x7fffu);
  CHECK(at_limit.validate());
  sys_heap_small over(buf.data(), 0x8000 * 8 + 8);
  CHECK_FALSE(over.valid_heap());
  CHECK(over.alloc(8) == nullptr);
  sys_heap_big big(buf.data(), 0x8000 * 8 + 8);
  CHECK(big.valid_heap());
  CHECK(big.units() == 0x8000u);
}

// The real init picks the footer from the raw size (8 bytes once bytes / 8 exceeds
// 0x7fff), reserves it, aligns both ends, and only then decides the header width
// from the units left. So a 32-bit target keeps 4-byte headers up to 262,151 bytes.
TEST_CASE("sys_heap: header width at the 256 KiB boundary") {
  constexpr std::size_t boundary = 262152;  // 0x8000 units + an 8-byte footer
  SECTION("the automatic choice") {
    CHECK(sys_heap_small_headers(256 * KiB));
    CHECK(sys_heap_small_headers(boundary - 1));
    CHECK(sys_heap_small_headers(262144 + 4));  // a 4-byte footer would leave 0x8000 units
    CHECK_FALSE(sys_heap_small_headers(boundary));
    CHECK_FALSE(sys_heap_small_headers(boundary + 1));
    CHECK(sys_heap_small_headers(0x7fff * 8 + 4));
    CHECK_FALSE(sys_heap_small_headers(256 * KiB, 0, 8));  // 64-bit pointers: always big
    CHECK_FALSE(sys_heap_small_headers(4));                // no room for a heap
    // A start 4 bytes past a unit loses the first 4 bytes to alignment.
    CHECK(sys_heap_small_headers(boundary, 4));
    CHECK_FALSE(sys_heap_small_headers(boundary + 4, 4));
  }
  buffer buf(boundary + 64);
  SECTION("256 KiB and up to one byte below the boundary: 0x7fff units of a small heap") {
    for (std::size_t bytes : {256 * KiB, 256 * KiB + 4, boundary - 1}) {
      CAPTURE(bytes);
      sys_heap_small h(buf.data(), bytes);
      REQUIRE(h.valid_heap());
      CHECK(h.units() == 0x7fffu);
      CHECK(h.validate());
      void* p = h.alloc(bytes_for_units<sys_heap_small>(h.units() - h.chunk0_units()));  // the whole free chunk
      CHECK(p != nullptr);
      CHECK(h.free(p));
      CHECK(h.validate());
    }
  }
  SECTION("at the boundary the heap is big") {
    sys_heap_small small(buf.data(), boundary);
    CHECK_FALSE(small.valid_heap());
    sys_heap_big32 big(buf.data(), boundary);
    REQUIRE(big.valid_heap());
    CHECK(big.units() == 0x8000u);
    CHECK(big.validate());
  }
  SECTION("below 256 KiB the footer is the 4-byte header") {
    sys_heap_small h(buf.data(), 0x7fff * 8 + 4);
    CHECK(h.units() == 0x7fffu);
    sys_heap_small h2(buf.data(), 0x7fff * 8 + 3);
    CHECK(h2.units() == 0x7ffeu);
  }
}

// ---------------------------------------------------------------------------
template <class H>
void units_and_usable_size() {
  fixture<H> f(64 * KiB);
  H& h = f.heap;
  const auto start = h.runtime_stats();

  SECTION("usable size is units*8 - header for every request size") {
    for (std::size_t n = 1; n <= 1500; ++n) {
      CAPTURE(n);
      void* p = h.alloc(n);
      REQUIRE(p != nullptr);
      const std::size_t u = spec_units<H>(n);
      CHECK(h.chunk_units(p) == u);
      CHECK(h.usable_size(p) == u * 8 - H::header_bytes);
      CHECK(h.usable_size(p) >= n);
      CHECK(h.offset_of(p) == f.first_offset());  // the previous block merged back
      CHECK(h.runtime_stats().allocated_bytes == u * 8);
      std::memset(p, 0xa5, h.usable_size(p));
      REQUIRE(h.free(p));
      if (n % 97 == 0) REQUIRE(h.validate());
    }
    CHECK(h.validate());
    CHECK(h.runtime_stats().max_allocated_bytes == spec_units<H>(1500) * 8);
  }

  SECTION("zero and oversized requests fail without side effects") {
    CHECK(h.alloc(0) == nullptr);
    CHECK(h.alloc(bytes_for_units<H>(h.units())) == nullptr);      // units == heap units
    CHECK(h.alloc(bytes_for_units<H>(h.units()) + 1) == nullptr);  // above
    CHECK(h.alloc(size_max) == nullptr);
    CHECK(h.alloc(size_max - 3) == nullptr);
    CHECK(h.aligned_alloc(64, size_max - 10) == nullptr);
    CHECK(h.aligned_alloc(64, 0) == nullptr);
    CHECK(same(h.runtime_stats(), start));
    CHECK(h.validate());
  }

  SECTION("the whole free chunk can be allocated, one byte more cannot") {
    const std::size_t max_bytes = bytes_for_units<H>(f.free_units_at_start());
    CHECK(h.alloc(max_bytes + 1) == nullptr);
    void* p = h.alloc(max_bytes);
    REQUIRE(p != nullptr);
    CHECK(h.offset_of(p) == f.first_offset());
    CHECK(h.runtime_stats().free_bytes == 0u);
    CHECK(h.bucket_mask() == 0u);
    CHECK(h.alloc(1) == nullptr);
    CHECK(h.validate());
    CHECK(h.free(p));
    CHECK(same(h.runtime_stats(), typename H::stats{start.free_bytes, 0, f.free_units_at_start() * 8}));
  }
}
FOR_EACH_VARIANT("sys_heap: units and usable size", units_and_usable_size)

// ---------------------------------------------------------------------------
template <class H>
void offsets() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;

  SECTION("first block follows chunk 0, later blocks are adjacent") {
    const std::size_t sizes[] = {1, 13, 64, 100, 5, 250, 8, 33, 4, 1000};
    std::size_t expect = f.first_offset();
    CHECK(f.first_offset() == spec_chunk0_units<H>(h.units()) * 8 + H::header_bytes);
    for (std::size_t n : sizes) {
      CAPTURE(n);
      void* p = h.alloc(n);
      REQUIRE(p != nullptr);
      CHECK(h.offset_of(p) == expect);
      expect += spec_units<H>(n) * 8;
    }
    CHECK(h.validate());
    CHECK(h.chunk_count() == 2u + std::size(sizes));
  }

  SECTION("split tails are listed and reused") {
    void* x = h.alloc(bytes_for_units<H>(10));
    void* s = h.alloc(1);
    REQUIRE((x && s));
    REQUIRE(h.free(x));  // a free 10-unit chunk between chunk 0 and s
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(10))) == f.id(x));
    // a 4-unit request takes x's chunk from the next bucket up, leaving a 6-unit tail
    void* a = h.alloc(bytes_for_units<H>(4));
    CHECK(a == x);
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(6))) == f.id(x) + 4);
    CHECK(h.validate());
    void* b = h.alloc(bytes_for_units<H>(6));
    CHECK(h.offset_of(b) == h.offset_of(x) + 4 * 8);
    CHECK(h.offset_of(s) == h.offset_of(x) + 10 * 8);
    CHECK(h.validate());
    CHECK(h.chunk_count() == 5u);  // chunk 0, a, b, s, top
  }
}
FOR_EACH_VARIANT("sys_heap: offsets", offsets)
FOR_NOSTATS_VARIANTS("sys_heap: offsets", offsets)

// ---------------------------------------------------------------------------
// CONFIG_SYS_HEAP_RUNTIME_STATS off: chunk 0 has no statistics words, so the
// bucket heads start at byte 16 and chunk 0 is 12 bytes (32-bit) or 24 bytes
// (64-bit) shorter before rounding to units.
template <class H>
void chunk0_without_statistics() {
  static_assert(!H::has_stats);
  constexpr std::size_t bytes = 64 * KiB;
  fixture<H> f(bytes);
  H& h = f.heap;
  REQUIRE(h.valid_heap());
  const std::size_t units = (bytes - H::header_bytes) / 8;
  const std::size_t buckets = spec_bucket<H>(units) + 1;
  const std::size_t c0 = (16 + 4 * buckets + 7) / 8;
  CHECK(h.chunk0_units() == c0);
  CHECK(f.first_offset() == c0 * 8 + H::header_bytes);
  const std::size_t fb = spec_bucket<H>(units - c0);
  const std::byte* b = f.buf.data();
  CHECK(read_raw<std::uint32_t>(b + 8) == units);
  CHECK(read_raw<std::uint32_t>(b + 12) == bit(fb));
  CHECK(read_raw<std::uint32_t>(b + 16 + 4 * fb) == c0);  // the bucket heads follow the mask
  CHECK(h.bucket_head(static_cast<unsigned>(fb)) == c0);
  CHECK(h.validate());

  void* p = h.alloc(100);
  void* q = h.alloc(1);
  REQUIRE((p && q));
  CHECK(h.offset_of(p) == f.first_offset());
  CHECK(h.allocated_bytes() == (spec_units<H>(100) + spec_units<H>(1)) * 8);
  CHECK(h.free(p));
  CHECK_FALSE(h.free(p));
  CHECK(h.allocated_bytes() == spec_units<H>(1) * 8);
  CHECK(h.validate());
  CHECK(h.free(q));
  CHECK(h.allocated_bytes() == 0u);
  CHECK(h.chunk_count() == 2u);
}
FOR_NOSTATS_VARIANTS("sys_heap: chunk 0 without runtime statistics", chunk0_without_statistics)

// With and without statistics the heaps differ only by where chunk 0 ends: the
// same calls succeed, and every block sits the same distance further up. (Aligned
// blocks are placed from absolute addresses, so they are left out.) The
// live bytes stay below a quarter of the heap, so the top chunk stays in the
// top bucket of both and the searches see the same lists.
template <class On, class Off>
void statistics_shift_offsets() {
  constexpr std::size_t bytes = 64 * KiB;
  fixture<On> on(bytes);
  fixture<Off> off(bytes);
  const std::size_t saved = (on.c0() - off.c0()) * 8;
  // 12 statistics bytes on a 32-bit target, 24 on a 64-bit host, then rounded with the heads to units.
  CHECK(spec_stats_bytes<On>() == (On::stat_bytes == 4 ? 12u : 24u));
  CHECK(saved == (spec_chunk0_units<On>(on.heap.units()) - spec_chunk0_units<Off>(off.heap.units())) * 8);
  CHECK(saved > 0u);
  CHECK(on.heap.bucket_count() == off.heap.bucket_count());
  std::mt19937 rng(7u);
  std::vector<std::pair<void*, void*>> live;
  std::size_t live_units = 0, checked = 0;
  for (int op = 0; op < 3000; ++op) {
    CAPTURE(op);
    if (live.empty() || (rng() % 3 != 0 && live_units * 8 < bytes / 4)) {
      const std::size_t n = 1 + rng() % (std::size_t{1} << (rng() % 11));
      void* a = on.heap.alloc(n);
      void* b = off.heap.alloc(n);
      REQUIRE((a == nullptr) == (b == nullptr));
      if (a == nullptr) continue;
      REQUIRE(on.heap.offset_of(a) == off.heap.offset_of(b) + saved);
      ++checked;
      live.emplace_back(a, b);
      live_units += on.heap.chunk_units(a);
    } else {
      const std::size_t i = rng() % live.size();
      live_units -= on.heap.chunk_units(live[i].first);
      REQUIRE(on.heap.free(live[i].first));
      REQUIRE(off.heap.free(live[i].second));
      live[i] = live.back();
      live.pop_back();
    }
  }
  CHECK(checked > 1000u);
  CHECK(on.heap.validate());
  CHECK(off.heap.validate());
  CHECK(on.heap.allocated_bytes() == off.heap.allocated_bytes());
}
TEST_CASE("sys_heap: statistics off shifts every offset by the statistics' units (small heap)") {
  statistics_shift_offsets<sys_heap_small, sys_heap_small_nostats>();
}
TEST_CASE("sys_heap: statistics off shifts every offset by the statistics' units (big heap)") {
  statistics_shift_offsets<sys_heap_big, sys_heap_big_nostats>();
}

// ---------------------------------------------------------------------------
template <class H>
void coalescing() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  const auto start = h.runtime_stats();
  const std::size_t pattern[] = {24, 100, 7, 300, 64, 1000, 3, 17, 250};

  // Fill the heap completely, so that the last block borders the end marker.
  std::vector<void*> blocks;
  for (std::size_t i = 0;; ++i) {
    const std::size_t n = pattern[i % std::size(pattern)];
    if (spec_units<H>(n) > h.runtime_stats().free_bytes / 8) break;
    void* p = h.alloc(n);
    REQUIRE(p != nullptr);
    fill(p, n, static_cast<unsigned>(i));
    blocks.push_back(p);
  }
  const std::size_t rest = h.runtime_stats().free_bytes / 8;
  if (rest * 8 > H::header_bytes) {
    void* p = h.alloc(bytes_for_units<H>(rest));
    REQUIRE(p != nullptr);
    blocks.push_back(p);
  }
  REQUIRE(h.validate());
  REQUIRE(blocks.size() > 20u);

  std::vector<std::size_t> order(blocks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  SECTION("in allocation order") {}
  SECTION("in reverse order") { std::reverse(order.begin(), order.end()); }
  SECTION("every other block first") {
    std::stable_partition(order.begin(), order.end(), [](std::size_t i) { return i % 2 == 1; });
  }
  SECTION("from the middle outwards") {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const auto mid = static_cast<long>(order.size() / 2);
      const long da = std::labs(static_cast<long>(a) - mid), db = std::labs(static_cast<long>(b) - mid);
      return da < db;
    });
  }
  SECTION("in a shuffled order") {
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
  }

  for (std::size_t i : order) {
    REQUIRE(h.free(blocks[i]));
    REQUIRE(h.validate());  // includes "no two adjacent free chunks"
  }
  CHECK(h.chunk_count() == 2u);
  CHECK(h.runtime_stats().free_bytes == start.free_bytes);
  CHECK(h.runtime_stats().allocated_bytes == 0u);
  void* all = h.alloc(bytes_for_units<H>(f.free_units_at_start()));
  REQUIRE(all != nullptr);
  CHECK(h.offset_of(all) == f.first_offset());
  CHECK(h.free(all));
}
FOR_EACH_VARIANT("sys_heap: freeing everything coalesces to one chunk", coalescing)

// ---------------------------------------------------------------------------
template <class H>
void buckets_observed() {
  for (std::size_t s = spec_min_chunk<H>(); s <= 40; ++s) {
    CAPTURE(s);
    fixture<H> f(8 * KiB);
    H& h = f.heap;
    void* a = h.alloc(bytes_for_units<H>(s));
    void* sep = h.alloc(1);
    REQUIRE((a && sep));
    REQUIRE(h.free(a));
    const std::size_t top = h.runtime_stats().free_bytes / 8 - s;
    CHECK(h.bucket_mask() == (bit(spec_bucket<H>(s)) | bit(spec_bucket<H>(top))));
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(s))) == f.id(a));
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: free chunks land in their bucket", buckets_observed)

// ---------------------------------------------------------------------------
// Bucket 2 holds lo..hi units. Chunks A, B, C (lo units, too small for a
// hi-unit request) and D (hi units) are freed in that order, so the list is
// A, B, C, D with A at the head; separators keep them from merging.
template <class H>
struct rotation_setup {
  fixture<H> f{16 * KiB};
  std::size_t lo = spec_min_chunk<H>() + 3, hi = spec_min_chunk<H>() + 6;
  void *a, *s1, *b, *s2, *c, *s3, *d, *s4;
  rotation_setup() {
    H& h = f.heap;
    a = h.alloc(bytes_for_units<H>(lo));
    s1 = h.alloc(1);
    b = h.alloc(bytes_for_units<H>(lo));
    s2 = h.alloc(1);
    c = h.alloc(bytes_for_units<H>(lo));
    s3 = h.alloc(1);
    d = h.alloc(bytes_for_units<H>(hi));
    s4 = h.alloc(1);
  }
  std::size_t top_offset() const { return f.heap.offset_of(s4) + spec_units<H>(1) * 8; }
  void consume_top() {
    void* t = f.heap.alloc(bytes_for_units<H>(f.heap.runtime_stats().free_bytes / 8));
    REQUIRE(t != nullptr);
    REQUIRE(f.heap.runtime_stats().free_bytes == 0u);
  }
};

template <class H>
void bounded_search() {
  rotation_setup<H> r;
  H& h = r.f.heap;
  REQUIRE(spec_bucket<H>(r.lo) == 2u);
  REQUIRE(spec_bucket<H>(r.hi) == 2u);
  REQUIRE(spec_bucket<H>(r.hi + 1) == 3u);
  const std::size_t want = bytes_for_units<H>(r.hi);

  SECTION("a run of three too-small heads sends the request to a higher bucket") {
    for (void* p : {r.a, r.b, r.c, r.d}) REQUIRE(h.free(p));
    REQUIRE(h.bucket_head(2) == r.f.id(r.a));
    void* p = h.alloc(want);
    CHECK(h.offset_of(p) == r.top_offset());  // D fits but is fourth in line
    CHECK(h.bucket_head(2) == r.f.id(r.d));   // A, B and C were rotated past
    void* q = h.alloc(want);
    CHECK(q == r.d);
    CHECK(h.bucket_head(2) == r.f.id(r.a));  // removing D moves the head to its successor
    CHECK(h.validate());
  }

  SECTION("the rotation persists when the search fails") {
    r.consume_top();
    for (void* p : {r.a, r.b, r.c, r.d}) REQUIRE(h.free(p));
    const auto before = h.runtime_stats();
    CHECK(h.alloc(want) == nullptr);
    CHECK(h.bucket_head(2) == r.f.id(r.d));
    CHECK(same(h.runtime_stats(), before));
    CHECK(h.validate());
    CHECK(h.alloc(want) == r.d);  // observable: the next search starts at D
  }

  SECTION("a fit among the first three entries is found") {
    r.consume_top();
    for (void* p : {r.a, r.b, r.d}) REQUIRE(h.free(p));
    CHECK(h.alloc(want) == r.d);
    CHECK(h.bucket_head(2) == r.f.id(r.a));
    CHECK(h.validate());
  }

  SECTION("a walk around a short list stops where it started") {
    r.consume_top();
    REQUIRE(h.free(r.a));
    REQUIRE(h.free(r.b));
    CHECK(h.alloc(want) == nullptr);
    CHECK(h.bucket_head(2) == r.f.id(r.a));  // A -> B -> back to A
    REQUIRE(h.free(r.c));
    CHECK(h.alloc(want) == nullptr);
    CHECK(h.bucket_head(2) == r.f.id(r.a));  // three steps on three entries
    CHECK(h.validate());
  }

  SECTION("unlisting a chunk anywhere moves the head to its successor") {
    REQUIRE(h.free(r.a));
    REQUIRE(h.free(r.b));
    REQUIRE(h.free(r.c));
    REQUIRE(h.free(r.d));
    // Freeing s2 merges C (then B) into one chunk of a higher bucket; each unlink
    // sets the head to the unlinked chunk's successor: C -> D, then B -> D.
    REQUIRE(h.free(r.s2));
    CHECK(h.bucket_head(2) == r.f.id(r.d));
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(2 * r.lo + spec_units<H>(1)))) == r.f.id(r.b));
    CHECK(h.alloc(bytes_for_units<H>(r.lo)) == r.d);
    CHECK(h.validate());
  }

  SECTION("smaller requests in the bucket take the head") {
    for (void* p : {r.a, r.b, r.c, r.d}) REQUIRE(h.free(p));
    CHECK(h.alloc(bytes_for_units<H>(r.lo)) == r.a);
    CHECK(h.bucket_head(2) == r.f.id(r.b));
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: bounded bucket search with head rotation", bounded_search)

TEST_CASE("sys_heap: the search bound is a template parameter") {
  rotation_setup<sys_heap_model<false, 4>> r;
  auto& h = r.f.heap;
  for (void* p : {r.a, r.b, r.c, r.d}) REQUIRE(h.free(p));
  CHECK(h.alloc(bytes_for_units<sys_heap_small>(r.hi)) == r.d);  // four looks reach D

  rotation_setup<sys_heap_model<false, 1>> r1;
  auto& h1 = r1.f.heap;
  r1.consume_top();
  REQUIRE(h1.free(r1.a));
  REQUIRE(h1.free(r1.d));
  CHECK(h1.alloc(bytes_for_units<sys_heap_small>(r1.hi)) == nullptr);  // one look, at A only
  CHECK(h1.alloc(bytes_for_units<sys_heap_small>(r1.hi)) == r1.d);
}

// ---------------------------------------------------------------------------
template <class H>
void one_unit_chunks() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  void* a = h.alloc(bytes_for_units<H>(4));
  void* s = h.alloc(1);
  void* s2 = h.alloc(1);
  REQUIRE((a && s && s2));
  REQUIRE(h.chunk_units(s) == 2u);
  REQUIRE(h.free(a));
  const std::size_t top = h.runtime_stats().free_bytes / 8 - 4;

  void* p = h.alloc(bytes_for_units<H>(3));  // takes A's 4 units, leaves a 1-unit tail
  REQUIRE(p == a);
  CHECK(h.chunk_units(p) == 3u);
  const std::size_t hole = f.id(a) + 3;
  CHECK(h.validate());
  // The hole is free but on no list, so the free bytes, which count the listed chunks as the
  // real heap's do, leave it out.
  CHECK(h.runtime_stats().free_bytes == top * 8);
  CHECK(h.bucket_mask() == bit(spec_bucket<H>(top)));
  CHECK(h.chunk_count() == 6u);                            // chunk 0, p, hole, s, s2, top

  void* small = h.alloc(1);  // the smallest request needs 2 units: never the hole
  CHECK(h.offset_of(small) == h.offset_of(s2) + 2 * 8);
  REQUIRE(h.free(small));

  SECTION("freeing the left neighbour absorbs it") {
    REQUIRE(h.free(p));
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(4))) == f.id(a));
    CHECK(h.chunk_count() == 5u);
    CHECK(h.validate());
    CHECK(h.alloc(bytes_for_units<H>(4)) == a);
  }
  SECTION("freeing the right neighbour absorbs it") {
    REQUIRE(h.free(s));
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(3))) == hole);
    CHECK(h.chunk_count() == 5u);
    CHECK(h.validate());
    void* q = h.alloc(bytes_for_units<H>(3));
    CHECK(h.offset_of(q) == hole * 8 + H::header_bytes);
  }
}
FOR_BIG_VARIANTS("sys_heap: a 1-unit free chunk is unlisted until a neighbour frees", one_unit_chunks)

TEST_CASE("sys_heap: a 1-unit free chunk is listed on a small heap") {
  fixture<sys_heap_small> f(16 * KiB);
  auto& h = f.heap;
  void* a = h.alloc(bytes_for_units<sys_heap_small>(3));
  void* s = h.alloc(1);
  REQUIRE((a && s));
  REQUIRE(h.free(a));
  void* p = h.alloc(bytes_for_units<sys_heap_small>(2));
  REQUIRE(p == a);
  CHECK(h.bucket_head(0) == f.id(a) + 2);
  CHECK(h.alloc(1) == static_cast<void*>(static_cast<std::byte*>(a) + 16));
  CHECK(h.validate());
}

// ---------------------------------------------------------------------------
template <class H>
void aligned() {
  fixture<H> f(128 * KiB);
  H& h = f.heap;

  SECTION("every alignment from 8 to 4096 is honoured and the rest stays free") {
    struct live {
      void* p;
      std::size_t n;
      unsigned tag;
    };
    std::vector<live> blocks;
    unsigned tag = 0;
    for (std::size_t align = 8; align <= 4096; align *= 2) {
      for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{24}, std::size_t{100}, std::size_t{1000}}) {
        CAPTURE(align, n);
        const auto before = h.runtime_stats();
        void* p = h.aligned_alloc(align, n);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0u);
        const std::size_t off = h.offset_of(p);
        const std::size_t first = (off - H::header_bytes) / 8;  // owning chunk
        const std::size_t units = align <= H::header_bytes ? spec_units<H>(n) : (off + n + 7) / 8 - first;
        CHECK(h.chunk_units(p) == units);
        CHECK(h.usable_size(p) == (first + units) * 8 - off);
        CHECK(h.usable_size(p) >= n);
        // Only the owning chunk is counted as allocated: prefix and suffix went back.
        CHECK(h.runtime_stats().allocated_bytes == before.allocated_bytes + units * 8);
        // A prefix or suffix of one unit on a big heap is free but on no list: the free bytes
        // (the listed chunks') lose it too. validate() checks them exactly.
        CHECK(h.runtime_stats().free_bytes <= before.free_bytes - units * 8);
        CHECK(h.runtime_stats().free_bytes + 2 * 8 >= before.free_bytes - units * 8);
        REQUIRE(h.validate());
        fill(p, n, ++tag);
        blocks.push_back({p, n, tag});
      }
    }
    for (const auto& b : blocks) CHECK(holds(b.p, b.n, b.tag));
    std::mt19937 rng(7);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (const auto& b : blocks) {
      REQUIRE(h.free(b.p));
      REQUIRE(h.validate());
    }
    CHECK(h.chunk_count() == 2u);
  }

  SECTION("a large alignment on a fresh heap leaves a listed prefix") {
    void* p = h.aligned_alloc(4096, 100);
    REQUIRE(p != nullptr);
    REQUIRE(f.first_offset() <= 4096u);
    CHECK(h.offset_of(p) == 4096u);
    const std::size_t c = (4096 - H::header_bytes) / 8;
    const std::size_t prefix = c - f.c0();
    const std::size_t end = (4096 + 100 + 7) / 8;
    const std::size_t suffix = h.units() - end;
    CHECK(h.chunk_units(p) == end - c);
    CHECK(h.bucket_head(static_cast<unsigned>(spec_bucket<H>(prefix))) == f.c0());
    CHECK(h.bucket_mask() == (bit(spec_bucket<H>(prefix)) | bit(spec_bucket<H>(suffix))));
    CHECK(h.chunk_count() == 4u);
    CHECK(h.validate());
    REQUIRE(h.free(p));
    CHECK(h.chunk_count() == 2u);
    CHECK(h.validate());
  }

  SECTION("alignments up to the header size are plain allocations") {
    for (std::size_t align : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{4}, H::header_bytes}) {
      void* p = h.aligned_alloc(align, 20);
      CHECK(h.offset_of(p) == f.first_offset());
      CHECK(h.chunk_units(p) == spec_units<H>(20));
      REQUIRE(h.free(p));
    }
  }

  SECTION("a non-power-of-two alignment fails") {
    CHECK(h.aligned_alloc(24, 10) == nullptr);
    CHECK(h.aligned_alloc(3 * 1024, 10) == nullptr);
    CHECK(h.validate());
  }

  SECTION("an aligned block too big for the heap fails") {
    const std::size_t whole = bytes_for_units<H>(f.free_units_at_start());
    CHECK(h.aligned_alloc(64, whole) == nullptr);  // the padding no longer fits
    CHECK(h.runtime_stats().allocated_bytes == 0u);
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: aligned_alloc", aligned)

// The prefix is listed before the suffix: with both in one empty bucket, the
// prefix becomes the head.
template <class H>
void aligned_list_order() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  constexpr std::size_t align = 64, K = 64;
  const std::size_t suffix = spec_min_chunk<H>() + 6;  // the largest size in bucket 2
  // Find a pad that puts the aligned pointer 5..7 units into a chunk X placed after it.
  std::size_t pad = spec_units<H>(1), x = 0, prefix = 0, p_off = 0;
  for (;; ++pad) {
    REQUIRE(pad < 64u);
    x = f.c0() + pad;
    p_off = (x * 8 + H::header_bytes + align - 1) / align * align;
    prefix = (p_off - H::header_bytes) / 8 - x;
    if (prefix >= 5) break;
  }
  REQUIRE(spec_bucket<H>(prefix) == 2u);
  REQUIRE(spec_bucket<H>(suffix) == 2u);
  const std::size_t n = (x + K - suffix) * 8 - p_off;  // ends exactly `suffix` units before X's end
  REQUIRE((n + align + 7) / 8 <= K);                   // the padded request fits X

  void* padblk = h.alloc(bytes_for_units<H>(pad));
  void* xb = h.alloc(bytes_for_units<H>(K));
  void* sep = h.alloc(1);
  void* top = h.alloc(bytes_for_units<H>(h.runtime_stats().free_bytes / 8));
  REQUIRE((padblk && xb && sep && top));
  REQUIRE(f.id(xb) == x);
  REQUIRE(h.free(xb));
  REQUIRE(h.bucket_mask() == bit(spec_bucket<H>(K)));

  void* p = h.aligned_alloc(align, n);
  REQUIRE(p != nullptr);
  CHECK(h.offset_of(p) == p_off);
  CHECK(h.chunk_units(p) == K - prefix - suffix);
  CHECK(h.bucket_mask() == bit(2));
  CHECK(h.bucket_head(2) == x);  // prefix first, suffix behind it
  CHECK(h.validate());
  CHECK(h.offset_of(h.alloc(bytes_for_units<H>(prefix))) == x * 8 + H::header_bytes);
}
FOR_EACH_VARIANT("sys_heap: aligned_alloc lists the prefix before the suffix", aligned_list_order)

TEST_CASE("sys_heap: 8-byte alignment on a small heap starts 4 bytes into a unit") {
  using H = sys_heap_small;
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  void* p = h.aligned_alloc(8, 20);
  REQUIRE(p != nullptr);
  // The chunk's user memory starts at c0*8 + 4, which is not 8-aligned; the
  // pointer goes to the next boundary and its header position lies mid-unit.
  CHECK(h.offset_of(p) == f.c0() * 8 + 8);
  CHECK((h.offset_of(p) - H::header_bytes) % 8 == 4u);
  const std::size_t units = (h.offset_of(p) + 20 + 7) / 8 - f.c0();
  CHECK(h.chunk_units(p) == units);
  CHECK(h.usable_size(p) == (f.c0() + units) * 8 - h.offset_of(p));
  CHECK(h.validate());
  fill(p, 20, 3);
  // realloc keeps the gap inside the block: growing by moving copies the content.
  void* blocker = h.alloc(1);
  void* q = h.realloc(p, 60);
  REQUIRE(q != nullptr);
  CHECK(q != p);
  CHECK(holds(q, 20, 3));
  CHECK(h.free(blocker));
  CHECK(h.free(q));
  CHECK(h.chunk_count() == 2u);
  CHECK(h.validate());

  void* r = h.aligned_alloc(8, 20);
  REQUIRE(r == p);
  // Same unit count, counted with the gap, keeps the pointer.
  CHECK(h.realloc(r, 20) == r);
  CHECK(h.realloc(r, h.usable_size(r)) == r);
  CHECK(h.free(r));
  CHECK(h.validate());

  fixture<sys_heap_big> g(16 * KiB);
  void* b = g.heap.aligned_alloc(8, 20);  // 8 <= big header: a plain allocation
  CHECK(g.heap.offset_of(b) == g.first_offset());
  CHECK(g.heap.chunk_units(b) == spec_units<sys_heap_big>(20));
}

// ---------------------------------------------------------------------------
template <class H>
void reallocation() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;

  SECTION("a null pointer allocates") {
    void* p = h.realloc(nullptr, 40);
    CHECK(h.offset_of(p) == f.first_offset());
    CHECK(h.chunk_units(p) == spec_units<H>(40));
    CHECK(h.realloc(nullptr, 0) == nullptr);
  }

  SECTION("zero bytes frees") {
    void* p = h.alloc(40);
    CHECK(h.realloc(p, 0) == nullptr);
    CHECK(h.runtime_stats().allocated_bytes == 0u);
    CHECK(h.chunk_count() == 2u);
    CHECK(h.validate());
  }

  SECTION("the same unit count keeps the pointer") {
    void* p = h.alloc(40);
    const std::size_t u = spec_units<H>(40);
    const auto before = h.runtime_stats();
    for (std::size_t n = u * 8 - H::header_bytes - 7; n <= u * 8 - H::header_bytes; ++n) {
      CHECK(h.realloc(p, n) == p);
      CHECK(h.chunk_units(p) == u);
    }
    CHECK(same(h.runtime_stats(), before));
  }

  SECTION("shrinking splits the tail off in place") {
    void* p = h.alloc(400);
    void* q = h.alloc(40);  // keeps the tail from merging
    fill(p, 400, 1);
    const auto before = h.runtime_stats();
    CHECK(h.realloc(p, 100) == p);
    const std::size_t cut = spec_units<H>(400) - spec_units<H>(100);
    CHECK(h.chunk_units(p) == spec_units<H>(100));
    CHECK(holds(p, 100, 1));
    CHECK(h.runtime_stats().free_bytes == before.free_bytes + cut * 8);
    CHECK(h.validate());
    void* t = h.alloc(bytes_for_units<H>(cut));  // the tail is on its list
    CHECK(h.offset_of(t) == h.offset_of(p) + spec_units<H>(100) * 8);
    CHECK(h.free(q));
  }

  SECTION("shrinking next to a free chunk merges the tail into it") {
    void* p = h.alloc(400);
    CHECK(h.realloc(p, 100) == p);
    CHECK(h.chunk_count() == 3u);
    CHECK(h.validate());
  }

  SECTION("growing takes from a free right neighbour") {
    void* p = h.alloc(100);
    void* q = h.alloc(200);
    void* s = h.alloc(8);
    fill(p, 100, 2);
    REQUIRE(h.free(q));
    CHECK(h.realloc(p, 250) == p);
    CHECK(h.chunk_units(p) == spec_units<H>(250));
    CHECK(holds(p, 100, 2));
    CHECK(h.chunk_count() == 5u);  // chunk 0, p, the rest of q, s, top
    CHECK(h.validate());
    const std::size_t both = spec_units<H>(100) + spec_units<H>(200);
    CHECK(h.realloc(p, bytes_for_units<H>(both)) == p);  // takes all of it
    CHECK(h.chunk_count() == 4u);
    CHECK(h.offset_of(s) == h.offset_of(p) + both * 8);
    CHECK(h.runtime_stats().allocated_bytes == (both + spec_units<H>(8)) * 8);
    CHECK(h.validate());
  }

  SECTION("growing into the top chunk stays in place") {
    void* p = h.alloc(100);
    fill(p, 100, 5);
    CHECK(h.realloc(p, 5000) == p);
    CHECK(holds(p, 100, 5));
    CHECK(h.runtime_stats().max_allocated_bytes == spec_units<H>(5000) * 8);
    CHECK(h.validate());
  }

  SECTION("growing by moving preserves the content") {
    void* p = h.alloc(100);
    void* q = h.alloc(8);
    fill(p, 100, 9);
    void* r = h.realloc(p, 300);
    REQUIRE(r != nullptr);
    CHECK(r != p);
    CHECK(h.offset_of(r) == h.offset_of(q) + spec_units<H>(8) * 8);
    CHECK(holds(r, 100, 9));
    CHECK(h.runtime_stats().allocated_bytes == (spec_units<H>(300) + spec_units<H>(8)) * 8);
    CHECK(h.validate());
    CHECK(h.alloc(100) == p);  // the old block was freed
  }

  SECTION("a failed realloc leaves the block as it was") {
    void* p = h.alloc(100);
    fill(p, 100, 11);
    void* rest = h.alloc(bytes_for_units<H>(h.runtime_stats().free_bytes / 8));
    REQUIRE(rest != nullptr);
    const auto before = h.runtime_stats();
    CHECK(h.realloc(p, 200) == nullptr);
    CHECK(h.realloc(p, size_max) == nullptr);
    CHECK(h.realloc(p, bytes_for_units<H>(h.units())) == nullptr);
    CHECK(same(h.runtime_stats(), before));
    CHECK(h.chunk_units(p) == spec_units<H>(100));
    CHECK(holds(p, 100, 11));
    CHECK(h.validate());
  }

  SECTION("a foreign pointer is refused") {
    int local = 0;
    CHECK(h.realloc(&local, 10) == nullptr);
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: realloc", reallocation)

// ---------------------------------------------------------------------------
// grow_in_place: realloc's in-place path, partial, and never a move.
template <class H>
void in_place_growth() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  const std::size_t hdr = H::header_bytes;
  const std::size_t up = spec_units<H>(100), uq = spec_units<H>(200);
  auto* p = static_cast<std::byte*>(h.alloc(100));
  REQUIRE(p != nullptr);
  fill(p, 100, 2);

  SECTION("it takes what it needs of a free right neighbour and leaves the rest free") {
    void* q = h.alloc(200);
    void* s = h.alloc(8);
    REQUIRE(h.free(q));
    CHECK(h.in_place_limit(p) == (up + uq) * 8 - hdr);
    const auto before = h.runtime_stats();
    const std::size_t u150 = spec_units<H>(150);
    CHECK(h.grow_in_place(p, 150) == u150 * 8 - hdr);
    CHECK(h.chunk_units(p) == u150);
    CHECK(holds(p, 100, 2));
    CHECK(h.runtime_stats().allocated_bytes == before.allocated_bytes + (u150 - up) * 8);
    CHECK(h.validate());
    // The rest of q's chunk is listed: a request of exactly its size lands in it, before s.
    const std::size_t rest = up + uq - u150;
    void* t = h.alloc(bytes_for_units<H>(rest));
    CHECK(h.offset_of(t) == h.offset_of(p) + u150 * 8);
    CHECK(h.offset_of(s) == h.offset_of(p) + (up + uq) * 8);
    CHECK(h.validate());
  }

  SECTION("a neighbour smaller than the request is taken whole, down to its last unit") {
    void* q = h.alloc(200);
    void* s = h.alloc(8);
    REQUIRE(h.free(q));
    // One unit short of all of it: the rest is a single unit (unlisted on a big heap).
    CHECK(h.grow_in_place(p, bytes_for_units<H>(up + uq - 1)) == (up + uq - 1) * 8 - hdr);
    CHECK(h.in_place_limit(p) == (up + uq) * 8 - hdr);
    CHECK(h.validate());
    CHECK(h.grow_in_place(p, 1000) == (up + uq) * 8 - hdr);
    CHECK(h.chunk_units(p) == up + uq);
    CHECK(h.in_place_limit(p) == h.usable_size(p));
    CHECK(h.offset_of(s) == h.offset_of(p) + (up + uq) * 8);
    CHECK(h.chunk_count() == 4u);  // chunk 0, p, s, the top
    CHECK(holds(p, 100, 2));
    CHECK(h.validate());
  }

  SECTION("a used right neighbour, or room enough already, changes nothing") {
    REQUIRE(h.alloc(200) != nullptr);
    const auto before = h.runtime_stats();
    const std::size_t chunks = h.chunk_count();
    CHECK(h.in_place_limit(p) == up * 8 - hdr);
    CHECK(h.grow_in_place(p, 5000) == up * 8 - hdr);
    CHECK(h.grow_in_place(p, 50) == up * 8 - hdr);  // never shrinks
    CHECK(h.chunk_units(p) == up);
    CHECK(same(h.runtime_stats(), before));
    CHECK(h.chunk_count() == chunks);
    CHECK(h.validate());
  }

  SECTION("the top chunk is a right neighbour like any other") {
    const std::size_t all = (h.units() - f.c0()) * 8 - hdr;  // p and everything after it
    CHECK(h.in_place_limit(p) == all);
    CHECK(h.grow_in_place(p, 5000) == spec_units<H>(5000) * 8 - hdr);
    CHECK(h.in_place_limit(p) == all);
    CHECK(h.grow_in_place(p, size_max) == all);
    CHECK(h.chunk_count() == 2u);
    CHECK(h.alloc(1) == nullptr);
    CHECK(holds(p, 100, 2));
    CHECK(h.validate());
  }

  SECTION("pointers the heap does not own get 0") {
    int local = 0;
    CHECK(h.grow_in_place(&local, 10) == 0u);
    CHECK(h.in_place_limit(&local) == 0u);
    CHECK(h.grow_in_place(p + 1, 200) == 0u);
    REQUIRE(h.free(p));
    CHECK(h.grow_in_place(p, 200) == 0u);
    CHECK(h.in_place_limit(p) == 0u);
    CHECK(h.chunk_count() == 2u);
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: in-place growth takes the free right neighbour", in_place_growth)

// ---------------------------------------------------------------------------
template <class H>
void bad_frees() {
  fixture<H> f(16 * KiB);
  H& h = f.heap;
  auto* p = static_cast<std::byte*>(h.alloc(100));
  auto* q = static_cast<std::byte*>(h.alloc(100));
  REQUIRE((p && q));
  CHECK(h.free(nullptr));

  SECTION("double free") {
    REQUIRE(h.free(p));
    const auto before = h.runtime_stats();
    const std::size_t chunks = h.chunk_count();
    CHECK_FALSE(h.free(p));
    CHECK(same(h.runtime_stats(), before));
    CHECK(h.chunk_count() == chunks);
    CHECK(h.validate());
    REQUIRE(h.free(q));  // merges with p's chunk and the top
    CHECK_FALSE(h.free(q));
    CHECK_FALSE(h.free(p));
    CHECK(h.chunk_count() == 2u);
    CHECK(h.validate());
  }

  SECTION("pointers the heap never returned") {
    const auto before = h.runtime_stats();
    int local = 0;
    CHECK_FALSE(h.free(&local));
    CHECK_FALSE(h.free(f.buf.data()));                                     // chunk 0
    CHECK_FALSE(h.free(f.buf.data() + f.c0() * 8));                        // a header
    CHECK_FALSE(h.free(p + 1));                                            // mid-unit
    CHECK_FALSE(h.free(f.buf.data() + h.units() * 8 + H::header_bytes));  // past the end
    std::memset(p, 0, 100);
    CHECK_FALSE(h.free(p + 16));  // reads a zero header: not used
    std::memset(p, 0xff, 100);
    CHECK_FALSE(h.free(p + 16));  // reads an all-ones header: size runs off the heap
    CHECK(same(h.runtime_stats(), before));
    CHECK(h.validate());
    CHECK(h.free(p));
    CHECK(h.free(q));
  }

  SECTION("an overrun into the right neighbour's header is caught") {
    std::byte* past = p + h.usable_size(p);  // q's left-size word
    REQUIRE(past + H::header_bytes == q);
    const std::byte saved = past[0];
    past[0] ^= std::byte{0x5a};
    CHECK_FALSE(h.free(p));
    CHECK_FALSE(h.validate());
    past[0] = saved;
    CHECK(h.validate());
    CHECK(h.free(p));
    CHECK(h.validate());
  }
}
FOR_EACH_VARIANT("sys_heap: double and foreign frees are reported", bad_frees)

// ---------------------------------------------------------------------------
template <class H>
void randomized() {
  fixture<H> f(32 * KiB);
  H& h = f.heap;
  const auto start = h.runtime_stats();
  struct live {
    std::byte* p;
    std::size_t n;
    unsigned tag;
  };
  std::vector<live> blocks;
  std::mt19937 rng(20240611u);
  auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto draw_size = [&] { return 1 + below(std::size_t{1} << below(12)); };  // mostly small, up to 2 KiB
  unsigned tag = 0;
  std::size_t failures = 0, moves = 0, grown = 0, short_of = 0;

  for (int op = 0; op < 4000; ++op) {
    CAPTURE(op);
    const std::size_t kind = blocks.empty() ? 0 : below(12);
    if (kind <= 4) {
      const std::size_t n = draw_size();
      const std::size_t align = kind == 4 ? std::size_t{1} << below(10) : 0;
      auto* p = static_cast<std::byte*>(align ? h.aligned_alloc(align, n) : h.alloc(n));
      if (p == nullptr) {
        ++failures;
      } else {
        if (align) REQUIRE(reinterpret_cast<std::uintptr_t>(p) % align == 0u);
        REQUIRE(h.usable_size(p) >= n);
        REQUIRE(h.offset_of(p) + n <= h.units() * 8);
        fill(p, n, ++tag);
        blocks.push_back({p, n, tag});
      }
    } else if (kind <= 6) {
      live& b = blocks[below(blocks.size())];
      const std::size_t n = draw_size();
      auto* p = static_cast<std::byte*>(h.realloc(b.p, n));
      if (p == nullptr) {
        ++failures;
        REQUIRE(holds(b.p, b.n, b.tag));
      } else {
        REQUIRE(holds(p, std::min(n, b.n), b.tag));
        REQUIRE(h.usable_size(p) >= n);
        if (p != b.p) ++moves;
        fill(p, n, ++tag);
        b = {p, n, tag};
      }
    } else if (kind <= 8) {
      // In-place growth: the pointer keeps owning its block, which takes only the units asked
      // for, or all its right neighbour has.
      live& b = blocks[below(blocks.size())];
      const std::size_t want = b.n + below(4096);
      const std::size_t usable = h.usable_size(b.p), limit = h.in_place_limit(b.p);
      REQUIRE(limit >= usable);
      const std::size_t got = h.grow_in_place(b.p, want);
      REQUIRE(got == h.usable_size(b.p));
      if (want <= usable) {
        REQUIRE(got == usable);
      } else if (want >= limit) {
        REQUIRE(got == limit);
        short_of += want > limit;
      } else {
        REQUIRE(got >= want);
        REQUIRE(got < want + 8);
      }
      grown += got > usable;
      REQUIRE(holds(b.p, b.n, b.tag));
      fill(b.p, got, ++tag);
      b = {b.p, got, tag};
    } else {
      const std::size_t i = below(blocks.size());
      REQUIRE(holds(blocks[i].p, blocks[i].n, blocks[i].tag));
      REQUIRE(h.free(blocks[i].p));
      blocks[i] = blocks.back();
      blocks.pop_back();
    }
    REQUIRE(h.validate());
    std::size_t allocated = 0;
    for (const auto& b : blocks) allocated += h.chunk_units(b.p) * 8;
    REQUIRE(h.runtime_stats().allocated_bytes == allocated);
    if (op % 128 == 0)
      for (const auto& b : blocks) REQUIRE(holds(b.p, b.n, b.tag));
  }
  CHECK(failures > 0u);  // the heap was driven full
  CHECK(moves > 0u);
  CHECK(grown > 0u);
  CHECK(short_of > 0u);  // growth stopped at the neighbour's end, short of the request
  for (const auto& b : blocks) REQUIRE(h.free(b.p));
  CHECK(h.chunk_count() == 2u);
  CHECK(h.runtime_stats().free_bytes == start.free_bytes);
  CHECK(h.validate());
}
FOR_EACH_VARIANT("sys_heap: randomized operations, in-place growth among them, keep every invariant", randomized)

// ---------------------------------------------------------------------------
template <class H>
void seed_scenario() {
  fixture<H> f(96 * KiB);
  H& h = f.heap;
  const std::size_t free_units = f.free_units_at_start();
  auto try_alloc = [&](std::size_t n, std::size_t align) { return h.aligned_alloc(align, n); };

  std::size_t align = 0;
  SECTION("default alignment") { align = 0; }
  SECTION("cache-line alignment") { align = 64; }
  // Derived from the spec: the loop tries 128K, 112K, 96K, 80K, ...
  const auto need = [&](std::size_t n) { return align <= H::header_bytes ? spec_units<H>(n) : (n + align + 7) / 8; };
  REQUIRE(need(96 * KiB) > free_units);
  REQUIRE(need(80 * KiB) <= free_units);
  REQUIRE(spec_units<H>(16 * KiB) > free_units - need(80 * KiB));

  const range_grant first = sof_range_loop(try_alloc, 16 * KiB, 128 * KiB, align);
  CHECK(first.ptr != nullptr);
  CHECK(first.size == 80 * KiB);
  CHECK(first.attempts == 4u);
  const range_grant second = sof_range_loop(try_alloc, 16 * KiB, 128 * KiB, align);
  CHECK(second.ptr == nullptr);
  CHECK(second.size == 0u);
  CHECK(second.attempts == 8u);
  CHECK(h.validate());
}
FOR_EACH_VARIANT("range loop: seed scenario on a 96 KiB sys_heap", seed_scenario)

TEST_CASE("range loop: sizes tried, rounding and rejection") {
  std::vector<std::size_t> tried;
  std::size_t limit = 0;  // the fake allocator grants sizes up to this
  int token = 0;
  auto fake = [&](std::size_t n, std::size_t align) -> void* {
    CHECK(align == 64u);
    tried.push_back(n);
    return n <= limit ? &token : nullptr;
  };

  SECTION("preferred is rounded up to a multiple of min") {
    const range_grant g = sof_range_loop(fake, 3000, 10000, 64);
    CHECK(g.ptr == nullptr);
    CHECK(g.attempts == 4u);
    CHECK(tried == std::vector<std::size_t>{12000, 9000, 6000, 3000});
  }
  SECTION("the rounded size can exceed preferred") {
    limit = size_max;
    const range_grant g = sof_range_loop(fake, 3000, 10000, 64);
    CHECK(g.ptr == &token);
    CHECK(g.size == 12000u);
    CHECK(g.attempts == 1u);
  }
  SECTION("the first success wins") {
    limit = 7000;
    const range_grant g = sof_range_loop(fake, 3000, 10000, 64);
    CHECK(g.size == 6000u);
    CHECK(g.attempts == 3u);
  }
  SECTION("an exact multiple is not rounded") {
    const range_grant g = sof_range_loop(fake, 16 * KiB, 64 * KiB, 64);
    CHECK(g.attempts == 4u);
    CHECK(tried == std::vector<std::size_t>{64 * KiB, 48 * KiB, 32 * KiB, 16 * KiB});
  }
  SECTION("preferred == min makes one attempt") {
    const range_grant g = sof_range_loop(fake, 512, 512, 64);
    CHECK(g.attempts == 1u);
    CHECK(tried == std::vector<std::size_t>{512});
  }
  SECTION("min == 0 and preferred < min are rejected without a call") {
    limit = size_max;
    CHECK(sof_range_loop(fake, 0, 4096, 64).attempts == 0u);
    CHECK(sof_range_loop(fake, 0, 4096, 64).ptr == nullptr);
    CHECK(sof_range_loop(fake, 4096, 4095, 64).attempts == 0u);
    CHECK(sof_range_loop(fake, 4096, 4095, 64).ptr == nullptr);
    CHECK(tried.empty());
  }
  SECTION("rounding that would overflow fails without a call") {
    limit = size_max;
    CHECK(sof_range_loop(fake, 2, size_max, 64).attempts == 0u);
    CHECK(sof_range_loop(fake, size_max - 1, size_max, 64).attempts == 0u);
    CHECK(tried.empty());
    const range_grant g = sof_range_loop(fake, 2, size_max - 1, 64);  // already a multiple
    CHECK(g.size == size_max - 1);
    CHECK(g.attempts == 1u);
  }
  SECTION("a temporary callable works") {
    const range_grant g = sof_range_loop([](std::size_t, std::size_t) -> void* { return nullptr; }, 8, 32, 0);
    CHECK(g.attempts == 4u);
    CHECK(g.ptr == nullptr);
  }
}
