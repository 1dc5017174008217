// Randomized differential tests: the heap against the shadow model of support/shadow.hpp. For
// buckets the model predicts every placement (smallest fitting aligned bucket, lowest free block,
// runs from the largest bucket down, pages touched by the requested bytes, a physical budget);
// for the packed region it checks the properties every placement must have and that the region
// refuses only what no free run surely holds. After every operation the heap must validate and
// agree with the model on every live allocation, every statistic and the exact set of mapped
// pages. Short runs here; the fixed presets are in the fuzzer's corpus (replayed by the default
// tests), and `.ci/run` runs the long differential run (docs/reliability.md).
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/shadow.hpp"

namespace {

using vmh::status;

// Sub-page blocks (64, 192), page-straddling blocks (1152, 6144) and multi-page blocks
// (16 KiB, 40 KiB, 64 KiB). Counts keep every bucket aligned to its blocks.
vmh_test::shadow_config config() {
  return {{{64, 128}, {192, 64}, {1152, 16}, {6144, 9}, {16384, 4}, {40960, 2}, {65536, 2}}, 4096, 64, 28 * 4096};
}

// The same buckets after a packed region of 8 pages (16-byte granules, fixed requests up to
// 2 KiB), with map calls refused now and then.
vmh_test::shadow_config packed_config() {
  vmh_test::shadow_config c = config();
  c.packed = {8 * 4096, 2048, 16};
  c.budget = 30 * 4096;
  c.inject = true;
  return c;
}

// Choices from a seeded generator.
struct seeded {
  std::mt19937_64 rng;
  std::uint64_t below(std::uint64_t n) { return rng() % n; }
};

// Runs `operations` steps (a budget change now and then, and a refused reconfiguration) and
// drains the heap; returns the driver for the caller's checks of what the mix reached.
template <class Driver>
void drive(Driver& d, seeded& source, std::size_t operations, std::size_t budget_pages) {
  const std::string configured = d.configure();
  REQUIRE(configured.empty());
  std::size_t failures = 0;
  for (std::size_t i = 0; i < operations; ++i) {
    std::string problem;
    const std::uint64_t k = source.below(200);
    if (k == 0 && budget_pages != 0) problem = d.change_budget((1 + source.below(budget_pages)) * d.shadow().page());
    else if (k == 1) problem = d.reconfigure_refused();
    else problem = d.step();
    if (!problem.empty()) {
      INFO("operation " << i << ": " << problem);
      CHECK(problem.empty());
      if (++failures == 5) break;
    }
  }
  CHECK(failures == 0);
  const std::string drained = d.drain();
  INFO(drained);
  CHECK(drained.empty());
  // With poison on, no free block's fill was ever found overwritten (the model writes only
  // into live allocations).
  if constexpr (requires { d.heap().poison_damaged(); }) CHECK(d.heap().poison_damaged() == 0);
}

template <vmh::heap_options Options>
void run(std::uint64_t seed, std::size_t operations) {
  INFO("seed " << seed);
  seeded source{std::mt19937_64(seed)};
  vmh_test::differential<seeded, Options> d(source, config());
  drive(d, source, operations, 0);
  // The mix reached every outcome that matters.
  CHECK(d.count(status::ok) > operations / 4);
  CHECK(d.count(status::no_memory) > 100);
  CHECK(d.count(status::no_block) > 100);
  CHECK(d.count(status::invalid_size) > 0);
  CHECK(d.count(status::invalid_alignment) > 0);
  CHECK(d.count(status::interior_pointer) > 0);
  CHECK(d.count(status::double_free) > 0);
  CHECK(d.count(status::foreign_pointer) > 0);
  CHECK(d.count(status::exceeds_block) > 0);
  if (Options.runs) CHECK(d.runs_taken() > 20);
}

}  // namespace

TEST_CASE("differential: the heap with runs agrees with the shadow model", "[differential]") {
  run<vmh::heap_options{.runs = true}>(0x5eed0001, 100000);
}

TEST_CASE("differential: the heap without runs agrees with the shadow model", "[differential]") {
  run<vmh::heap_options{.runs = false}>(0x5eed0002, 50000);
}

TEST_CASE("differential: a packed region before the buckets keeps every rule of the model", "[differential][packed]") {
  seeded source{std::mt19937_64(0x5eed0003)};
  vmh_test::differential<seeded, vmh::heap_options{}, vmh_test::shadow_packed_layout> d(source, packed_config());
  drive(d, source, 60000, 40);
  // The region placed, refused, resized and grew; refusals were injected and bad pointers met it.
  CHECK(d.packed_placed() > 5000);
  CHECK(d.packed_refused() > 100);
  CHECK(d.packed_resized() > 1000);
  CHECK(d.injected() > 500);
  CHECK(d.count(status::interior_pointer) > 100);
  CHECK(d.count(status::double_free) > 100);
  CHECK(d.count(status::exceeds_block) > 100);
  CHECK(d.count(status::no_memory) > 100);
}

TEST_CASE("differential: random runtime layouts with and without a packed region", "[differential][packed][random]") {
  seeded source{std::mt19937_64(0x5eed0004)};
  std::size_t placed = 0, refused = 0, resized = 0;
  for (int layout = 0; layout < 60; ++layout) {
    vmh_test::shadow_config c = vmh_test::random_config(source, layout % 4 != 0);
    c.inject = layout % 2 == 0;
    INFO("layout " << layout << ": " << c.table.size() << " buckets, page " << c.page << ", region " << c.packed.bytes
                   << " (granule " << c.packed.granule << ", limit " << c.packed.limit << ")");
    const std::size_t pages = vmh_test::ceil_div(vmh_test::model(c).virtual_size(), c.page);
    if (layout % 3 == 0) {
      vmh_test::differential<seeded, vmh::heap_options{.runs = true}, vmh_test::shadow_packed_layout> d(source, c);
      drive(d, source, 1500, pages + 2);
      placed += d.packed_placed(), refused += d.packed_refused(), resized += d.packed_resized();
    } else if (layout % 3 == 1) {  // runs and poison on (free sub-page blocks are filled and checked)
      vmh_test::differential<seeded, vmh::heap_options{.runs = true, .poison = true}, vmh_test::shadow_packed_layout> d(
          source, c);
      drive(d, source, 1500, pages + 2);
      placed += d.packed_placed(), refused += d.packed_refused(), resized += d.packed_resized();
    } else {
      vmh_test::differential<seeded, vmh::heap_options{}, vmh_test::shadow_packed_layout> d(source, c);
      drive(d, source, 1500, pages + 2);
      placed += d.packed_placed(), refused += d.packed_refused(), resized += d.packed_resized();
    }
  }
  CHECK(placed > 10000);
  CHECK(refused > 300);
  CHECK(resized > 1000);
}

TEST_CASE("differential: a layout type whose list nodes take 63 bits", "[differential][packed]") {
  // A layout type of up to 1.5 x 2^20 granules: 21-bit node fields, the packed heap's most (the
  // capacity decides them). Regions of 2^15 granules of 8 B and 3 x 2^13 of 16 B.
  using large_layout = vmh::runtime_layout<8, 512, 2048, (3u << 19)>;
  auto config = [](std::size_t pages, std::size_t granule) {
    vmh_test::shadow_config c;
    c.table = {{64, 64}, {4096, 8}, {65536, 2}};
    c.page = 4096;
    c.packed = {pages * 4096, 16384, granule};
    c.budget = (pages + 40) * 4096;
    c.inject = true;
    return c;
  };
  const std::size_t pages[] = {64, 96}, granules[] = {8, 16};
  for (int k = 0; k < 2; ++k) {
    seeded source{std::mt19937_64(0x5eed0007 + k)};
    vmh_test::differential<seeded, vmh::heap_options{}, large_layout> d(source, config(pages[k], granules[k]));
    drive(d, source, 1500, pages[k] + 60);
    CHECK(d.packed_placed() > 300);
  }
}
