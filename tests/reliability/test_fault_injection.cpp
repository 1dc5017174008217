// Fault injection at every map call. A fixed mix of allocations (sub-page, page-straddling,
// multi-page, runs, ranges), resizes, grows and frees is run once to count its map calls; then
// once per call with the mapper told to refuse exactly that call. The operation that makes the
// refused call must report no_memory and leave everything as it was before it (statistics, every
// block's and granule's usable size, mapped bytes, contents, invariants) apart from the failure
// counter; repeated, it must succeed, and the rest of the sequence runs as in the clean run. At
// the end every allocation is freed and no page may stay mapped.
//
// With a packed region, a request the region cannot map goes to the buckets: when they take it,
// the operation succeeds outside the region. That allocation is freed at once, the heap must then
// be as it was before the operation (but for peaks and the mapper's calls), and the operation is
// repeated: it lands in the region as in the clean run. grow never fails for want of pages: a
// refused map call makes it ask for fewer, it succeeds (perhaps growing less), and repeated it
// reaches what the clean run reached.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_state.hpp"

namespace {

using vmh::status;

// Sub-page (64, 192), straddling (1152, 6144 with 4 KiB pages) and multi-page (16, 64 KiB) blocks.
constexpr auto table4k = vmh::make_table({{64, 64}, {192, 32}, {1152, 16}, {6144, 8}, {16384, 4}, {65536, 2}});
// 1 KiB pages, 16-byte alignment: most blocks straddle pages.
constexpr auto table1k = vmh::make_table({{16, 64}, {48, 32}, {80, 16}, {400, 16}, {1536, 8}, {3072, 2}}, 1024, 16);

template <class Layout, vmh::heap_options Options>
using heap_of = vmh::heap<Layout, vmh::counting_mapper, vmh::external_range, vmh::no_lock, Options>;

struct alloc_slot {
  std::byte* ptr = nullptr;
  std::size_t size = 0;
  std::byte fill{};
};

template <class Heap>
class sequence {
  static constexpr bool packs = Heap::layout_type::geometry.packed.bytes != 0;

 public:
  static constexpr std::size_t slots = 24;
  static constexpr std::size_t operations = 1200;

  explicit sequence(std::uint64_t seed) : seed_(seed) {}

  struct outcome {
    std::size_t map_calls = 0;        // map calls of the whole sequence
    std::size_t injected = 0;         // refused calls seen and reported
    std::size_t checks = 0;           // operations checked against their snapshot
    std::size_t allocations = 0;      // successful allocations
    std::size_t refused_in[4] = {};   // refusals met by allocate, allocate_range, resize, grow
    std::size_t refused_region[4] = {};  // of those, map calls of the packed region
    std::size_t fallbacks = 0;        // refused in the region, taken by the buckets
    std::size_t extra_calls = 0;      // map calls beyond the clean run's and the refused one
    std::vector<std::uint8_t> in_region;  // per operation: it placed or changed an allocation of the region
    std::vector<std::size_t> calls;   // per operation: its map calls (the clean run)
    std::string problem;              // the first thing that went wrong
  };

  // Runs the sequence; `fail_at` (1-based) is the map call to refuse, 0 for none. `clean` is the
  // outcome of the clean run (for where each operation landed).
  outcome run(std::size_t fail_at, const outcome* clean = nullptr) {
    outcome out;
    const std::size_t virtual_size = Heap::layout_type::virtual_size;
    const std::size_t page = Heap::layout_type::page_size;
    std::unique_ptr<std::byte, deleter> mem(static_cast<std::byte*>(::operator new(virtual_size, std::align_val_t{page})));
    auto h = std::make_unique<Heap>(vmh::external_range{mem.get(), virtual_size});
    base_ = mem.get();
    if (fail_at != 0) h->mapper().fail_map_call(fail_at);
    std::mt19937_64 rng(seed_);
    alloc_slot slot[slots];

    for (std::size_t n = 0; n < operations && out.problem.empty(); ++n) {
      alloc_slot& s = slot[rng() % slots];
      const std::uint64_t choice = rng();
      const std::size_t a = rng(), b = rng(), c = rng();
      const std::size_t size_before = s.size, calls_at_start = h->mapper().map_calls();
      bool refused_op = false;
      // Repeat the operation while it fails because of the injected refusal.
      for (int attempt = 0; attempt < 2; ++attempt) {
        const std::size_t calls_before = h->mapper().map_calls();
        const bool pending = fail_at > calls_before;
        // An operation makes at most a few map calls: the state is kept when the refusal is near.
        const bool near = pending && fail_at - calls_before <= 4;
        std::optional<vmh_test::heap_state<Heap>> before;
        if (near) before.emplace(*h, base_);
        const bool region_before = in_region(*h, s.ptr);
        const status result = apply(*h, s, choice, a, b, c, size_before, out);
        const std::size_t calls_after = h->mapper().map_calls();
        const bool refused_here = pending && fail_at <= calls_after;
        if (!refused_here) {
          if (result == status::no_memory) out.problem = "no_memory without a refused map call (operation " + std::to_string(n) + ")";
          if (fail_at == 0) {
            out.in_region.push_back(region_before || in_region(*h, s.ptr));
            out.calls.push_back(calls_after - calls_before);
          }
          break;
        }
        refused_op = true;
        ++out.checks;
        if (!near) {
          out.problem = "one operation made more map calls than expected";
          break;
        }
        const bool region_call = clean != nullptr && n < clean->in_region.size() && clean->in_region[n] != 0;
        if (result == status::ok && region_call && kind_ <= 1 && s.ptr != nullptr && !in_region(*h, s.ptr)) {
          // The region could not map, the buckets took the request: undo it and compare.
          ++out.fallbacks;
          if (h->deallocate(s.ptr) != status::ok) out.problem = "the buckets' allocation could not be freed";
          s = {};
          --allocations_;
          ++out.injected;
          ++out.refused_in[kind_];
          ++out.refused_region[kind_];
          const std::string changed = vmh_test::changes(*before, vmh_test::heap_state<Heap>(*h, base_),
                                                        {.mapper_calls = true, .peaks = true});
          if (!changed.empty()) out.problem = "the region's refused request changed the heap: " + changed;
          if (h->mapper().failures() != 1) out.problem = "the mapper refused another call";
          if (!out.problem.empty()) break;
          continue;
        }
        if (kind_ == 3) {  // grow: asked again for fewer pages, it succeeded; repeated, it grows as the clean run did
          ++out.injected;
          ++out.refused_in[kind_];
          if (region_call) ++out.refused_region[kind_];
          if (result != status::ok) out.problem = std::string("grow with a refused map call gave ") + vmh::to_string(result);
          if (h->mapper().failures() != 1) out.problem = "the mapper refused another call";
          if (!out.problem.empty()) break;
          continue;
        }
        if (result != status::no_memory) {
          out.problem = std::string("the refused map call was reported as ") + vmh::to_string(result);
          break;
        }
        ++out.injected;
        ++out.refused_in[kind_];
        if (region_call) ++out.refused_region[kind_];
        // The refused call itself is a call the mapper saw, and the one failure is counted.
        const std::string changed = vmh_test::changes(*before, vmh_test::heap_state<Heap>(*h, base_),
                                                      {.no_memory = 1, .mapper_calls = true});
        if (!changed.empty()) out.problem = "the failed operation changed the heap: " + changed;
        if (const vmh::check k = h->validate(); !k) out.problem = std::string("validate: ") + vmh::to_string(k.broken);
        if (h->mapper().failures() != 1) out.problem = "the mapper refused another call";
        if (!out.problem.empty()) break;
        for (const alloc_slot& other : slot)
          if (!intact(other)) out.problem = "contents changed by the failed operation";
      }
      // The refused operation's calls beyond the clean run's and the refused one (the buckets' for
      // a request they took, the halving steps of a grow).
      if (refused_op && clean != nullptr && n < clean->calls.size())
        out.extra_calls += h->mapper().map_calls() - calls_at_start - 1 - clean->calls[n];
      if (out.problem.empty())
        if (const vmh::check k = h->validate(); !k) out.problem = std::string("validate: ") + vmh::to_string(k.broken);
    }

    for (alloc_slot& s : slot) {
      if (s.ptr == nullptr || !out.problem.empty()) continue;
      if (!intact(s)) out.problem = "contents changed before free";
      if (h->deallocate(s.ptr) != status::ok) out.problem = "free failed";
      s = {};
    }
    out.map_calls = h->mapper().map_calls();
    if (out.problem.empty()) {
      const vmh::heap_stats st = h->stats();
      if (st.live_allocations != 0 || st.bytes_in_blocks != 0 || st.pages_mapped != 0) out.problem = "heap not empty at the end";
      else if (h->mapper().mapped() != 0) out.problem = "pages left mapped at the end";
      else if (const vmh::check k = h->validate(); !k) out.problem = std::string("validate at the end: ") + vmh::to_string(k.broken);
    }
    out.allocations = allocations_;
    allocations_ = 0;
    return out;
  }

 private:
  struct deleter {
    std::size_t align = Heap::layout_type::page_size;
    void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{align}); }
  };

  bool in_region(const Heap& h, const std::byte* p) const {
    return p != nullptr && static_cast<std::size_t>(p - base_) < h.geometry().packed.bytes;
  }

  // The blocks an allocation at `p` of `size` bytes owns, in bytes (in the region: its granules
  // and the rest of the region, which it may reach when the granules after it are free).
  std::size_t capacity(const Heap& h, const std::byte* p, std::size_t size) const {
    const std::size_t off = static_cast<std::size_t>(p - base_);
    const auto& g = h.geometry();
    if (off < g.packed.bytes) return g.packed.bytes - off;
    for (std::size_t b = 0; b < g.bucket_count; ++b) {
      const auto& bg = g.buckets[b];
      if (off < bg.offset + bg.stride * bg.block_count)
        return bg.block_size * ((size + bg.block_size - 1) / bg.block_size);
    }
    return 0;
  }

  std::size_t pick_size(std::uint64_t choice, std::size_t a) const {
    const std::size_t page = Heap::layout_type::page_size;
    const std::size_t largest = table_largest();
    switch (choice % 5) {
      case 0: return 1 + a % (page / 16);                    // sub-page
      case 1: return page / 2 + a % (2 * page);              // around a page: straddles
      case 2: return page + 1 + a % (largest - page);        // several pages
      case 3: return 1 + a % largest;                        // anything a block holds
      default: return largest + 1 + a % largest;             // a run (no_block without runs)
    }
  }
  static std::size_t table_largest() {
    const auto& g = Heap::layout_type::geo();
    return g.buckets[g.bucket_count - 1].block_size;
  }

  // One operation on slot s; `size_before` is the slot's size when the operation first ran (a
  // repeated grow asks for what the first asked for).
  status apply(Heap& h, alloc_slot& s, std::uint64_t choice, std::size_t a, std::size_t b, std::size_t c,
               std::size_t size_before, outcome& out) {
    if (s.ptr == nullptr) {
      vmh::grant g;
      if ((choice >> 8) % 4 == 0) {  // a range: min, preferred up to 8 times min, a granule
        // With a packed region, half of the ranges are small enough for it.
        const std::size_t most = packs && c % 2 == 0 ? 256 : 2 * Heap::layout_type::page_size;
        const std::size_t min = 1 + a % most;
        const std::size_t preferred = min + b % (8 * min);
        const std::size_t granule = c % 3 == 0 ? 0 : (std::size_t{16} << (c % 6));
        kind_ = 1;
        g = h.allocate_range(min, preferred, 0, granule);
      } else {
        const std::size_t align = (choice >> 16) % 6 == 0 ? Heap::layout_type::page_size : 0;
        kind_ = 0;
        g = h.try_allocate(pick_size(choice, a), align);
      }
      if (g.status == status::ok) {
        s.ptr = static_cast<std::byte*>(g.ptr);
        s.size = g.size;
        s.fill = static_cast<std::byte>(1 + (b & 0x7f));
        std::memset(s.ptr, static_cast<int>(s.fill), s.size);
        ++allocations_;
      }
      return g.status;
    }
    if ((choice >> 8) % 3 == 0) {  // free
      if (!intact(s)) out.problem = "contents changed before free";
      const status r = h.deallocate(s.ptr);
      if (r == status::ok) s = {};
      return r;
    }
    if ((choice >> 8) % 5 == 1) {  // grow towards a preferred size, in granules of 16 B or none
      kind_ = 3;
      const std::size_t usable = h.usable_size(s.ptr);
      const vmh::grant g = h.grow(s.ptr, size_before + 1 + a % (2 * Heap::layout_type::page_size), b % 2 == 0 ? 0 : 16);
      // Kept only when it grew: a grow that cannot answers the whole granules or block it has.
      if (g.status == status::ok && g.size > s.size && h.usable_size(s.ptr) > usable) {
        std::memset(s.ptr + s.size, static_cast<int>(s.fill), g.size - s.size);
        s.size = g.size;
      }
      return g.status;
    }
    // resize within (or just past) the allocation's blocks
    const std::size_t cap = capacity(h, s.ptr, s.size);
    const bool packed = in_region(h, s.ptr);
    // In the region: up to twice its size or a page more, now and then past the region's end.
    const std::size_t reach = packed ? std::min(cap, 2 * s.size + Heap::layout_type::page_size) : cap;
    const std::size_t n = (choice >> 12) % 8 == 0 ? cap + 1 : 1 + a % reach;
    kind_ = 2;
    const status r = h.resize(s.ptr, n);
    if (r == status::ok) {
      if (n > s.size) std::memset(s.ptr + s.size, static_cast<int>(s.fill), n - s.size);
      s.size = n;
    } else if (r == status::exceeds_block && n <= cap && !packed) {
      out.problem = "resize within the blocks refused";
    }
    return r;
  }

  static bool intact(const alloc_slot& s) {
    return std::all_of(s.ptr, s.ptr + s.size, [&](std::byte x) { return x == s.fill; });
  }

  std::uint64_t seed_;
  std::byte* base_ = nullptr;
  std::size_t allocations_ = 0;
  std::size_t kind_ = 0;
};

template <class Heap>
void every_map_call(std::uint64_t seed) {
  constexpr bool packs = Heap::layout_type::geometry.packed.bytes != 0;
  sequence<Heap> seq(seed);
  const auto clean = seq.run(0);
  INFO(clean.problem);
  REQUIRE(clean.problem.empty());
  REQUIRE(clean.injected == 0);
  REQUIRE(clean.map_calls > 100);  // the mix maps pages often enough to be worth it
  REQUIRE(clean.allocations > 100);
  std::size_t points = 0, refused_in[4] = {}, refused_region[4] = {}, fallbacks = 0;
  for (std::size_t k = 1; k <= clean.map_calls; ++k) {
    const auto faulty = seq.run(k, &clean);
    INFO("map call " << k << " of " << clean.map_calls << ": " << faulty.problem);
    REQUIRE(faulty.problem.empty());
    REQUIRE(faulty.injected == 1);  // the refusal happened, was reported and rolled back
    REQUIRE(faulty.checks == 1);
    // The retry made the one extra call (and the buckets theirs, when they took a refused request).
    REQUIRE(faulty.map_calls == clean.map_calls + 1 + faulty.extra_calls);
    REQUIRE(faulty.allocations == clean.allocations);  // and the rest ran as in the clean run
    for (int i = 0; i < 4; ++i) refused_in[i] += faulty.refused_in[i], refused_region[i] += faulty.refused_region[i];
    fallbacks += faulty.fallbacks;
    ++points;
  }
  CHECK(points == clean.map_calls);
  // Refusals reached every operation that maps pages.
  CHECK(refused_in[0] > 0);  // allocate
  CHECK(refused_in[1] > 0);  // allocate_range
  CHECK(refused_in[2] > 0);  // resize (growing)
  CHECK(refused_in[3] > 0);  // grow
  if (packs) {  // and each of them in the packed region; some went to the buckets instead
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK(refused_region[i] > 0);
    }
    CHECK(fallbacks > 0);
  }
}

}  // namespace

TEST_CASE("fault injection: every map call of a mixed sequence fails cleanly (4 KiB pages)", "[reliability][fault]") {
  every_map_call<heap_of<vmh::fixed_layout<table4k>, vmh::heap_options{}>>(1);
}

TEST_CASE("fault injection: every map call fails cleanly with multi-block runs", "[reliability][fault]") {
  every_map_call<heap_of<vmh::fixed_layout<table4k>, vmh::heap_options{.runs = true}>>(2);
}

TEST_CASE("fault injection: every map call fails cleanly with 1 KiB pages and straddling blocks", "[reliability][fault]") {
  every_map_call<heap_of<vmh::fixed_layout<table1k>, vmh::heap_options{.runs = true}>>(3);
}

namespace {
// The same tables after a packed region: 8 pages of 16-byte granules, fixed requests up to 6 KiB;
// 8 pages of 1 KiB with 32-byte granules, fixed requests up to 2 KiB.
constexpr auto packed4k = vmh::with_packed(table4k, vmh::packed_region{8 * 4096, 6144, 16});
constexpr auto packed1k = vmh::with_packed(table1k, vmh::packed_region{8 * 1024, 2048, 32});
}  // namespace

TEST_CASE("fault injection: every map call fails cleanly with a packed region (4 KiB pages)", "[reliability][fault][packed]") {
  every_map_call<heap_of<vmh::fixed_layout<packed4k>, vmh::heap_options{}>>(4);
}

TEST_CASE("fault injection: every map call fails cleanly with a packed region, 1 KiB pages and runs",
          "[reliability][fault][packed]") {
  every_map_call<heap_of<vmh::fixed_layout<packed1k>, vmh::heap_options{.runs = true}>>(5);
}
