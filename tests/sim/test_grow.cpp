// Tests of the replay's grow requests (`g` lines, bench/sim/replay.cpp): what each allocator's
// in-place growth gives on small hand-written traces, and how the replay counts it. Every
// expected figure is worked out below from the allocator's own rules (docs/baselines.md for the
// sys_heap model, docs/guide.md for vmh's fairness rule), not taken from a run.
#include <cstddef>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "sim/allocators.hpp"
#include "sim/replay.hpp"
#include "workloads/trace.hpp"

namespace {

constexpr std::size_t KiB = 1024;

std::vector<vmh::trace::op> ops_of(const std::string& text) {
  auto parsed = vmh::trace::parse(text);
  REQUIRE(std::holds_alternative<std::vector<vmh::trace::op>>(parsed));
  return std::get<std::vector<vmh::trace::op>>(parsed);
}

/// The figures of a grow report, compared as one.
struct grow_figures {
  std::size_t requests, skipped, asking, grown, reached, asked, gained, before, after, preferred;
  friend bool operator==(const grow_figures&, const grow_figures&) = default;
};

grow_figures figures_of(const vmh::sim::grow_report& g) {
  return {g.requests,     g.skipped,      g.asking,       g.grown,     g.reached,
          g.asked_bytes, g.gained_bytes, g.before_bytes, g.after_bytes, g.preferred_bytes};
}

std::ostream& operator<<(std::ostream& os, const grow_figures& f) {
  return os << "{requests " << f.requests << ", skipped " << f.skipped << ", asking " << f.asking << ", grown "
            << f.grown << ", reached " << f.reached << ", asked " << f.asked << ", gained " << f.gained
            << ", before " << f.before << ", after " << f.after << ", preferred " << f.preferred << "}";
}

// Three blocks in a row on a fresh 16 KiB sys_heap, the middle one freed: the first can grow
// into its hole, the third into the rest of the heap.
const std::string neighbours_trace =
    "a 1 1000\n"
    "a 2 2000\n"
    "a 3 100\n"
    "f 2\n"
    "g 1 5000 1000\n"  // into the hole, in steps of 1000
    "g 1 5000 1000\n"  // again: the hole has one unit left, less than a step
    "g 3 5000\n"       // into the free rest of the heap
    "g 3 4000\n"       // already at least 4000: asks for nothing
    "a 4 1M\n"         // fails: larger than the heap
    "g 4 2M\n";        // skipped with it

}  // namespace

TEST_CASE("sys_heap grows a block into its free right neighbour only, as far as it goes") {
  // A 16 KiB budget is a small heap: 4-byte headers, 8-byte units; a request of n bytes takes
  // ceil((n + 4) / 8) units. Block 1 takes 126 units (1008 bytes), block 2 251 (2008), block 3
  // 13 (104). Freeing 2 leaves a free chunk of 251 units right of block 1.
  //  - g 1 5000 1000: block 1 can reach its 126 * 8 - 4 = 1004 usable bytes plus the 2008 of
  //    the hole, 3012; the largest multiple of 1000 below is 3000. Gained 2000 of 4000 asked.
  //  - g 1 again: 3000 bytes take ceil(3004 / 8) = 376 units, leaving 377 - 376 = 1 unit
  //    (8 bytes): the reach is 3004 + 8 = 3012 again, still 3000. Asked 2000, gained 0.
  //  - g 3 5000: the rest of the heap is free and right of block 3: 5000 fits. Gained 4900.
  //  - g 3 4000: 5000 >= 4000, not asking. g 4: its request failed, skipped.
  const auto ops = ops_of(neighbours_trace);
  const auto heap = vmh::sim::make_sys_heap(16 * KiB);
  const vmh::sim::report r = vmh::sim::replay(ops, *heap);
  CHECK(figures_of(r.grow) ==
        grow_figures{4, 1, 3, 2, 1, 4000 + 2000 + 4900, 2000 + 4900, 1000 + 3000 + 100, 3000 + 3000 + 5000, 15000});
  CHECK(r.skipped == 1);  // the g of the failed request, with the e/f skips
  CHECK(r.failed == 1);
  CHECK(r.peak_live_bytes == 3000 + 5000);
  CHECK(r.valid_after);
}

TEST_CASE("sys_heap: a free left neighbour does not help, a free right one does, in whole steps") {
  // 16 KiB: 2038 free units after chunk 0's 9. Block 1 takes ceil(13004 / 8) = 1626 units,
  // leaving 412. SOF's loop for range 2 tries 4000 bytes (501 units: no) and 3000 (376 units:
  // yes), which leaves 36 units; block 3 takes 13 of them, 23 stay free at the top.
  //  - f 1 frees the chunk left of range 2; g 2 4000 1000: its right neighbour is block 3,
  //    used: it can reach only its own 376 * 8 - 4 = 3004 bytes, 3000 in steps of 1000.
  //  - f 3: block 3 merges with the 23 free units, 36 units (288 bytes) right of range 2:
  //    3292 bytes in reach, still 3000 in steps of 1000.
  //  - g 2 4000, any size: all 3292 (412 units, the whole neighbour). Gained 292 of 1000.
  const std::string text =
      "a 1 13000\n"
      "r 2 1000 4000\n"
      "a 3 100\n"
      "f 1\n"
      "g 2 4000 1000\n"
      "f 3\n"
      "g 2 4000 1000\n"
      "g 2 4000\n";
  const auto heap = vmh::sim::make_sys_heap(16 * KiB);
  const vmh::sim::report r = vmh::sim::replay(ops_of(text), *heap);
  CHECK(r.range_granted_bytes == 3000);
  CHECK(figures_of(r.grow) == grow_figures{3, 0, 3, 1, 0, 3 * 1000, 292, 3 * 3000, 3000 + 3000 + 3292, 3 * 4000});
  CHECK(r.grow.range_grown_bytes == 3292);
  CHECK(r.grown_ratio() == Approx(3292.0 / 4000.0));
  CHECK(r.valid_after);
}

TEST_CASE("SOF's VMH cannot grow a block: every grow request gains nothing") {
  // 64 KiB of 4 KiB pages with SOF's table: blocks 1-3 fit (1024, 2048 and 128 B blocks), the
  // 1 MiB request fails. Blocks 1 and 3 ask as on sys_heap, but never grow: block 1 asks 4000
  // twice, block 3 asks 4900 and then, still at 100, 3900 for g 3 4000.
  const auto ops = ops_of(neighbours_trace);
  const auto heap = vmh::sim::make_sof_vmh(64 * KiB, 4096);
  const vmh::sim::report r = vmh::sim::replay(ops, *heap);
  CHECK(figures_of(r.grow) == grow_figures{4, 1, 4, 0, 0, 4000 + 4000 + 4900 + 3900, 0, 1000 + 1000 + 100 + 100,
                                           1000 + 1000 + 100 + 100, 5000 + 5000 + 5000 + 4000});
  CHECK(r.valid_after);
}

TEST_CASE("vmh grows a grant inside its block as far as the fairness rule lets it") {
  // 48 KiB uncharged (12 pages of 4 KiB) over four 4 KiB blocks and two 32 KiB blocks, the
  // default (reserve) rule. For a grow the rule's smallest grant is 0, so it keeps back 3.5% of
  // the heap's memory (free + mapped): 48K * 35 / 1000 = 1720 bytes, and a grow may map
  // floor((free - 1720) / 4096) new pages.
  const std::string text =
      "a 1 24K\n"       // a 32 KiB block, 6 pages; 6 left
      "r 2 4K 32K\n"    // the other 32 KiB block; reserve max(4 * 4K, 1720) = 16K: 24K - 16K = 8K
      "f 1\n"           // 10 pages free, 2 mapped
      "g 2 32K 4K\n"    // (40960 - 1720) / 4096 = 9 new pages >= the 6 it needs: 32K, reached
      "r 3 4K 32K\n"    // block 1 again; 4 pages free, reserve 16K: its minimum, 4K
      "g 3 32K 4K\n"    // 3 pages free: (12288 - 1720) / 4096 = 2 pages: 12K of 32K
      "g 3 32K 4K\n"    // 1 page free: (4096 - 1720) / 4096 = 0 pages: stays 12K
      "g 2 16K\n";      // 32K >= 16K: not asking
  const std::vector<vmh::bucket> layout = {{4 * KiB, 4}, {32 * KiB, 2}};
  vmh::sim::vmh_allocator heap(layout, 48 * KiB, 4096, {{}, vmh::sim::metadata_charge::uncharged, false});
  REQUIRE(heap.valid());
  const vmh::sim::report r = vmh::sim::replay(ops_of(text), heap);
  CHECK(r.range_failed == 0);
  CHECK(r.range_granted_bytes == 8 * KiB + 4 * KiB);  // the grants when made, before any growth
  CHECK(r.grow.range_grown_bytes == 32 * KiB + 12 * KiB);  // the largest each grew to
  CHECK(figures_of(r.grow) == grow_figures{4, 0, 3, 2, 1, (24 + 28 + 20) * KiB, (24 + 8) * KiB, (8 + 4 + 12) * KiB,
                                           (32 + 12 + 12) * KiB, 3 * 32 * KiB});
  CHECK(heap.committed_bytes() == (8 + 3) * 4 * KiB);  // block 2 whole, block 1's first 3 pages
  CHECK(r.valid_after);
}

TEST_CASE("a grow's new size is what the later operations see") {
  // On a fresh 16 KiB sys_heap (2047 units, 9 of them chunk 0's, so 2038 free), block 1 grows
  // from 1000 bytes to 3000 into the free rest of the heap, and its resize back to 1000 gives the
  // 2000 bytes back: then a request of 13696 bytes (1713 units) fits beside block 1's 126 units,
  // which it would not beside 3000 bytes' 376 (2038 - 376 = 1662).
  const std::string text =
      "a 1 1000\n"
      "g 1 3000\n"
      "e 1 1000\n"
      "a 2 13696\n";
  const auto heap = vmh::sim::make_sys_heap(16 * KiB);
  std::vector<vmh::sim::event> seen;
  const vmh::sim::report r = vmh::sim::replay(ops_of(text), *heap, [&](const vmh::sim::event& e) { seen.push_back(e); });
  REQUIRE(seen.size() == 4);
  // The grow hands its block on at its new size and gives up the old one, at the same address.
  CHECK(seen[1].ok);
  CHECK(seen[1].granted == 3000);
  CHECK(seen[1].block == seen[0].block);
  CHECK(seen[1].block_size == 3000);
  CHECK(seen[1].released == seen[0].block);
  CHECK(seen[1].released_size == 1000);
  CHECK(seen[2].released_size == 3000);  // the resize starts from the grown size
  CHECK(r.grow.gained_bytes == 2000);
  CHECK(r.resizes_failed == 0);
  CHECK(r.failed == 0);
  CHECK(r.peak_live_bytes == 1000 + 13696);
}

TEST_CASE("an allocator that breaks the grow contract fails the replay's validation") {
  // A stand-in that reports growth beyond preferred: the replay must not trust it.
  class overgrow final : public vmh::sim::allocator {
   public:
    vmh::sim::outcome allocate(std::size_t size, std::size_t) override { return {&cell_, size}; }
    vmh::sim::outcome allocate_range(std::size_t min, std::size_t, std::size_t) override { return {&cell_, min}; }
    void* resize(void* ptr, std::size_t, std::size_t) override { return ptr; }
    std::size_t grow(void*, std::size_t, std::size_t preferred, std::size_t) override { return preferred + 1; }
    void deallocate(void*) override {}
    std::size_t committed_bytes() const override { return 0; }
    std::size_t peak_committed_bytes() const override { return 0; }
    bool validate() const override { return true; }

   private:
    char cell_ = 0;
  };
  overgrow a;
  CHECK_FALSE(vmh::sim::replay(ops_of("a 1 10\ng 1 20\n"), a).valid_after);
  CHECK(vmh::sim::replay(ops_of("a 1 10\ng 1 10\n"), a).valid_after);  // not called: nothing to ask
}
