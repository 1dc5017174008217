// A randomized differential test: the heap against the shadow model of support/shadow.hpp, which
// knows only the rules (smallest fitting aligned bucket, lowest free block, runs from the largest
// bucket down, pages touched by the requested bytes, a physical budget) and recomputes page
// references from its own list of live allocations. After every operation the heap must
// validate and agree with the model on every live allocation, every statistic and every mapped
// page.
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

// Choices from a seeded generator.
struct seeded {
  std::mt19937_64 rng;
  std::uint64_t below(std::uint64_t n) { return rng() % n; }
};

template <vmh::heap_options Options>
void run(std::uint64_t seed, std::size_t operations) {
  INFO("seed " << seed);
  seeded source{std::mt19937_64(seed)};
  vmh_test::differential<seeded, Options> d(source, config());
  const std::string configured = d.configure();
  REQUIRE(configured.empty());
  std::size_t failures = 0;
  for (std::size_t i = 0; i < operations; ++i) {
    const std::string problem = d.step();
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
