// Tests of the SRAM split (bench/sim/waste.cpp): its components add up to the budget exactly on
// replays of every family, each component is what a hand computation of a small trace gives, a
// placement that cannot be right is flagged, and a packed heap's granules classify as a bucket's
// blocks do.
#include <string>
#include <vector>

#include "catch.hpp"
#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/memory.hpp"
#include "sim/pictures.hpp"
#include "sim/traces.hpp"
#include "sim/waste.hpp"
#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

namespace {

constexpr std::size_t KiB = 1024;
using vmh::sim::sram_model;
using vmh::sim::sram_part;
using vmh::sim::sram_split;
using vmh::trace::op;
using vmh::trace::op_kind;

/// Splits the allocator's SRAM after the whole of `ops`.
sram_split split_after(const std::vector<op>& ops, vmh::sim::allocator& a, std::size_t budget) {
  vmh::sim::sram_tracker t;
  vmh::sim::replay(ops, a, [&](const vmh::sim::event& e) { t.follow(e); });
  return t.split(a, budget, static_cast<long long>(ops.size()) - 1);
}

/// The split's components as one line, for failure messages.
std::string describe(const sram_split& s) {
  return "live " + std::to_string(s.live) + ", sub-page " + std::to_string(s.sub_page_rounding) + ", free " +
         std::to_string(s.free_in_pages) + ", last-page " + std::to_string(s.last_page_rounding) + ", metadata " +
         std::to_string(s.metadata) + ", unmapped " + std::to_string(s.unmapped) + ", budget " +
         std::to_string(s.budget);
}

/// vmh without its packed region: every request in a bucket.
vmh::sim::vmh_options buckets_only() {
  vmh::sim::vmh_options o;
  o.packed_auto = false;
  return o;
}

}  // namespace

TEST_CASE("a 100 B and a 6 KiB request: every component by hand") {
  const std::vector<op> ops = {{op_kind::allocate, 1, 100, 0, 0}, {op_kind::allocate, 2, 6 * KiB, 0, 0}};
  const std::size_t budget = 64 * KiB, page = 4096;

  SECTION("vmh, buckets only: a 128 B block in a page of its own, an 8 KiB block of two pages") {
    // Bucket 0 is page 0 (32 blocks of 128 B), bucket 1 starts at page 1 (8 KiB blocks).
    const std::vector<vmh::bucket> layout = {{128, 32}, {8192, 4}};
    vmh::sim::vmh_allocator v(layout, budget, page, buckets_only());
    REQUIRE(v.valid());
    REQUIRE(v.heap().metadata_bytes() <= page);  // charged as one page
    const sram_split s = split_after(ops, v, budget);
    INFO(describe(s));
    CHECK(s.model == sram_model::pages);
    CHECK(s.exact);
    CHECK(s.live == 100 + 6144);
    CHECK(s.sub_page_rounding == 128 - 100);       // the 128 B block's tail
    CHECK(s.free_in_pages == 4096 - 128);          // the other 31 blocks of page 0
    CHECK(s.last_page_rounding == 8192 - 6144);    // the second page's unrequested 2 KiB
    CHECK(s.metadata == 4096);                     // the metadata, rounded up to a page
    CHECK(s.unmapped == budget - 4096 - 3 * 4096);  // 15 pages may be mapped, 3 are
  }

  SECTION("vmh with its packed region: both requests side by side in two pages") {
    // 100 B take 7 granules (112 B) at 0, 6 KiB take 384 granules from 112 B on: pages 0 and 1.
    const std::vector<vmh::bucket> layout = {{128, 32}, {8192, 4}};
    vmh::sim::vmh_allocator v(layout, budget, page);
    REQUIRE(v.valid());
    REQUIRE(v.heap().geometry().packed.bytes == budget);
    REQUIRE(v.heap().metadata_bytes() <= page);
    const sram_split s = split_after(ops, v, budget);
    INFO(describe(s));
    CHECK(s.exact);
    CHECK(s.live == 100 + 6144);
    CHECK(s.sub_page_rounding == 112 - 100);        // the 100 B request's last granule
    CHECK(s.last_page_rounding == 0);               // 6 KiB is whole granules
    CHECK(s.free_in_pages == 8192 - 112 - 6144);    // the rest of page 1
    CHECK(s.metadata == 4096);
    CHECK(s.unmapped == budget - 4096 - 2 * 4096);
  }

  SECTION("SOF's VMH: the same pieces from its 128 B and 8 KiB bundles") {
    // Its 716 B of bookkeeping cost a page; the 128 B bundle is page 0, the 8 KiB bundle starts
    // on a page, and a block of a page or more maps ceil(6144 / 4096) = 2 pages.
    const auto a = vmh::sim::make_sof_vmh(budget, page);
    REQUIRE(a->metadata_bytes() <= page);
    const sram_split s = split_after(ops, *a, budget);
    INFO(describe(s));
    CHECK(s.exact);
    CHECK(s.live == 6244);
    CHECK(s.sub_page_rounding == 28);
    CHECK(s.free_in_pages == 3968);
    CHECK(s.last_page_rounding == 2048);
    CHECK(s.metadata == 4096);
    CHECK(s.unmapped == 49152);
  }

  SECTION("sys_heap: headers and 8-byte units, free chunks, chunk 0") {
    // A small heap (4-byte headers, statistics on): 64 KiB less the 4-byte footer is 8191 units;
    // chunk 0 holds 28 bytes of fields and 13 list heads of 4 bytes: ceil(80 / 8) = 10 units.
    // 100 B takes ceil(104 / 8) = 13 units, 6144 B ceil(6148 / 8) = 769 units.
    const auto a = vmh::sim::make_sys_heap(budget);
    const sram_split s = split_after(ops, *a, budget);
    INFO(describe(s));
    CHECK(s.model == sram_model::region);
    CHECK(s.exact);
    CHECK(s.live == 6244);
    CHECK(s.sub_page_rounding == (104 - 100) + (6152 - 6144));  // per-allocation overhead
    CHECK(s.free_in_pages == (8191 - 10) * 8 - 104 - 6152);     // free chunks
    CHECK(s.metadata == 10 * 8 + (budget - 8191 * 8));          // chunk 0, the footer and its padding
    CHECK(s.last_page_rounding == 0);
    CHECK(s.unmapped == 0);
  }
}

TEST_CASE("the split adds up to the budget on every family, budget and allocator") {
  struct workload {
    const char* family;
    std::size_t budget;
    unsigned target;
  };
  const workload workloads[] = {{"sof", 320 * KiB, 50},    {"sof", 448 * KiB, 50},    {"sof", 1024 * KiB, 50},
                                {"stress", 64 * KiB, 95}, {"stress", 256 * KiB, 50}, {"churn", 128 * KiB, 50},
                                {"grow", 448 * KiB, 50},  {"seed", 96 * KiB, 50}};
  const std::size_t page = 4096;
  for (const workload& w : workloads) {
    vmh::sim::family_params p;
    p.target = w.target;
    p.physical = w.budget;
    p.steps = 3000;
    const std::vector<op> ops = vmh::sim::family_trace(w.family, 2, p);
    for (const char* which : {"vmh", "sof_vmh", "sys_heap"}) {
      INFO(w.family << " at " << w.budget << " on " << which);
      const auto a = vmh::sim::make_allocator(which, vmh::sim::auto_layout(w.budget, page), w.budget, page);
      vmh::sim::memory_replay r = vmh::sim::replay_memory(ops, *a, w.budget);
      vmh::sim::split_moments(ops, *vmh::sim::make_allocator(which, vmh::sim::auto_layout(w.budget, page), w.budget, page),
                              w.budget, r.memory);
      REQUIRE(r.memory.at_peak.op >= 0);
      const sram_split& peak = r.memory.sram_at_peak;
      INFO(describe(peak));
      CHECK(peak.exact);
      CHECK(peak.op == r.memory.at_peak.op);
      CHECK(peak.sum() == w.budget);
      CHECK(peak.live == r.memory.at_peak.live);  // the live bytes the replay counts
      if (a->page_size() != 0) CHECK(peak.metadata == w.budget - a->page_budget_bytes());
      else CHECK(peak.metadata < 256);  // chunk 0 (at most 32 list heads) and the end marker
      if (a->page_size() != 0)  // the mapped components are the mapped pages
        CHECK(peak.live + peak.sub_page_rounding + peak.free_in_pages + peak.last_page_rounding ==
              r.memory.at_peak.committed);
      const sram_split& fail = r.memory.sram_at_failure;
      CHECK(fail.op == r.memory.at_failure.op);
      if (fail.op >= 0) {
        INFO(describe(fail));
        CHECK(fail.exact);
        CHECK(fail.sum() == w.budget);
        CHECK(fail.live == r.memory.at_failure.live);
      }
    }
  }
}

TEST_CASE("a packed heap's granules split as blocks do, across a page boundary") {
  // Requests placed exactly at 16-byte granules: 200 B at 4000 reserves 208 B and touches pages
  // 0 and 1; 40 B at 4208 reserves 48 B. Both pages are mapped while a live byte touches them.
  vmh::sim::sram_placement p;
  p.model = sram_model::pages;
  p.page = 4096;
  p.usable = 4 * 4096;
  p.live = {{4208, 40, 48}, {4000, 200, 208}};  // any order
  p.mapped_pages = {1, 0};
  bool consistent = true;
  const std::vector<vmh::sim::sram_segment> segments = vmh::sim::classify_pages(p, consistent);
  CHECK(consistent);
  const std::vector<vmh::sim::sram_segment> expected = {
      {0, 4000, sram_part::free_in_pages},        {4000, 4200, sram_part::live},
      {4200, 4208, sram_part::sub_page_rounding}, {4208, 4248, sram_part::live},
      {4248, 4256, sram_part::sub_page_rounding}, {4256, 8192, sram_part::free_in_pages}};
  REQUIRE(segments.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("segment " << i);
    CHECK(segments[i].begin == expected[i].begin);
    CHECK(segments[i].end == expected[i].end);
    CHECK(segments[i].part == expected[i].part);
  }
  const sram_split s = vmh::sim::split_sram(p, 5 * 4096, 2 * 4096);
  CHECK(s.exact);
  CHECK(s.live == 240);
  CHECK(s.sub_page_rounding == 16);
  CHECK(s.free_in_pages == 8192 - 256);
  CHECK(s.metadata == 4096);
  CHECK(s.unmapped == 2 * 4096);
  CHECK(s.sum() == 5 * 4096);
}

TEST_CASE("a placement that cannot be right is not exact") {
  vmh::sim::sram_placement p;
  p.model = sram_model::pages;
  p.page = 4096;
  p.usable = 8 * 4096;
  p.live = {{0, 100, 128}};
  p.mapped_pages = {0};
  CHECK(vmh::sim::split_sram(p, 8 * 4096, 4096).exact);
  CHECK_FALSE(vmh::sim::split_sram(p, 8 * 4096, 2 * 4096).exact);  // the allocator says it maps two pages

  SECTION("overlapping allocations") { p.live.push_back({64, 10, 64}); }
  SECTION("more requested than reserved") { p.live[0].reserved = 64; }
  SECTION("requested bytes in an unmapped page") { p.live.push_back({4096, 10, 64}); }
  SECTION("more mapped than the allocator may map") { p.usable = 0; }
  bool consistent = true;
  vmh::sim::classify_pages(p, consistent);
  const sram_split s = vmh::sim::split_sram(p, 8 * 4096, 4096);
  CHECK_FALSE(s.exact);
  if (p.usable != 0) {
    CHECK_FALSE(consistent);
    CHECK(s.sum() == 8 * 4096);  // the mapped bytes are still classified once each
  }
}

TEST_CASE("the split's JSON names each model's components, and the tables label them") {
  const std::vector<op> ops = {{op_kind::allocate, 1, 100, 0, 0}, {op_kind::allocate, 2, 6 * KiB, 0, 0}};
  const std::vector<vmh::bucket> layout = {{128, 32}, {8192, 4}};
  vmh::sim::vmh_allocator v(layout, 64 * KiB, 4096, buckets_only());
  const sram_split pages = split_after(ops, v, 64 * KiB);
  CHECK(vmh::sim::sram_json(pages) ==
        "{\"model\":\"pages\",\"op\":1,\"budget_bytes\":65536,\"live_requested_bytes\":6244,"
        "\"sub_page_rounding_bytes\":28,\"free_in_mapped_pages_bytes\":3968,\"last_page_rounding_bytes\":2048,"
        "\"metadata_and_page_rounding_bytes\":4096,\"unmapped_bytes\":49152,\"exact\":true}");
  const sram_split region = split_after(ops, *vmh::sim::make_sys_heap(64 * KiB), 64 * KiB);
  CHECK(vmh::sim::sram_json(region) ==
        "{\"model\":\"region\",\"op\":1,\"budget_bytes\":65536,\"live_requested_bytes\":6244,"
        "\"chunk_overhead_bytes\":12,\"free_chunk_bytes\":59192,\"metadata_bytes\":88,\"exact\":true}");
  CHECK(vmh::sim::sram_json(sram_split{}) == "null");  // never taken: no failure

  vmh::sim::sram_mean two;
  two.add(pages);
  sram_split other = pages;
  other.live += 1000;
  other.unmapped -= 1000;
  two.add(other);
  const vmh::sim::sram_mean m = two.mean();
  CHECK(m.samples == 2);
  CHECK(m.live == Approx(6744.0));
  CHECK(m.unmapped == Approx(48652.0));
  CHECK(vmh::sim::sram_json(m).find("\"samples\":2,\"budget_bytes\":65536.0,\"live_requested_bytes\":6744.0") !=
        std::string::npos);

  vmh::sim::sram_mean one_region;
  one_region.add(region);
  const std::vector<vmh::sim::sram_row> rows = {{"vmh", "peak", m}, {"sys_heap", "peak", one_region.mean()}};
  const std::string tables = vmh::sim::sram_tables(rows);
  CHECK(tables.find("| vmh | peak | 6.6 | 0.0 | 3.9 | 2.0 | 4.0 | 47.5 | 64.0 |") != std::string::npos);
  CHECK(tables.find("| sys_heap | peak | 6.1 | 0.0 | 57.8 | 0.1 | 64.0 |") != std::string::npos);
  CHECK(tables.find("per-allocation overhead") != std::string::npos);
  CHECK(tables.find("last-page rounding") != std::string::npos);
}

TEST_CASE("the heap map colours each component and names it in the legend") {
  const std::size_t physical = 448 * KiB, page = 4096;
  const std::vector<op> ops = vmh::workloads::sof_family(1, 400);
  const std::vector<vmh::bucket> layout = vmh::sim::auto_layout(physical, page);
  const std::size_t index = vmh::sim::pick_operation(ops, "peak", layout, physical, page);
  const vmh::sim::heap_snapshot snap = vmh::sim::snapshot_at(ops, index, layout, physical, page);
  CHECK(snap.picture.split.exact);
  CHECK(snap.picture.split.sum() == physical);
  const vmh::sim::svg::map_model model(snap.picture);
  // Each block's parts are its mapped bytes; over all blocks, the split's mapped components.
  std::size_t by_part[vmh::sim::sram_parts] = {};
  for (std::size_t k = 0; k < model.parts.size(); ++k)
    for (std::size_t i = 0; i < model.parts[k].size(); ++i) {
      std::size_t sum = 0;
      for (std::size_t p = 0; p < vmh::sim::sram_parts; ++p) {
        sum += model.parts[k][i][p];
        by_part[p] += model.parts[k][i][p];
      }
      CHECK(sum == model.mapped[k][i]);
    }
  CHECK(by_part[static_cast<std::size_t>(sram_part::live)] == snap.picture.split.live);
  CHECK(by_part[static_cast<std::size_t>(sram_part::sub_page_rounding)] == snap.picture.split.sub_page_rounding);
  CHECK(by_part[static_cast<std::size_t>(sram_part::last_page_rounding)] == snap.picture.split.last_page_rounding);
  CHECK(by_part[static_cast<std::size_t>(sram_part::free_in_pages)] == snap.picture.split.free_in_pages);
  const std::string svg = vmh::sim::svg::heap_map(snap.picture);
  for (const char* name : {"live requested: ", "sub-page block rounding: ", "free in mapped pages: ",
                           "last-page rounding: ", "metadata + page rounding: ", "unmapped: "})
    CHECK(svg.find(name) != std::string::npos);
  // Each component present is drawn (in the budget bar, in blocks) besides its legend swatch.
  const std::pair<const char*, std::size_t> colours[] = {
      {"#1d4f91", snap.picture.split.live},          {"#74a9cf", snap.picture.split.sub_page_rounding},
      {"#8e63b5", snap.picture.split.last_page_rounding}, {"#f2a541", snap.picture.split.free_in_pages},
      {"#7f7f7f", snap.picture.split.metadata}};
  for (const auto& [colour, bytes] : colours) {
    INFO(colour);
    const std::string fill = std::string("fill=\"") + colour + "\"";
    std::size_t n = 0;
    for (std::size_t at = svg.find(fill); at != std::string::npos; at = svg.find(fill, at + 1)) ++n;
    CHECK(n == (bytes == 0 ? 1 : n));
    if (bytes != 0) CHECK(n >= 2);
  }
}
