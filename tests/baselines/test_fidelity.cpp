// Fidelity: each baseline model against the real code it models (bench/real, built from the
// Zephyr and SOF trees given to the build). On the public families and budgets, a model and its
// real counterpart must fail the same requests and grant the same bytes; the models' constants
// (the real structures' sizes) must be the real code's. Where they differ, the model is wrong.
//
// By default a short run (the first seeds of each budget), which the README's test command
// runs; VMH_FIDELITY=full runs every seed (.ci/run).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "baselines/sof_vmh.hpp"
#include "baselines/sof_vpage.hpp"
#include "catch.hpp"
#include "sim/allocators.hpp"
#include "sim/remote.hpp"
#include "sim/replay.hpp"
#include "sim/traces.hpp"
#include "support/same_outcome.hpp"

namespace {

using vmh::baseline::bit_array_fit;
using vmh::sim::remote_allocator;

constexpr std::size_t KiB = 1024, page = 4096;

/// One budget of one family and its seeds (the first `quick` of them in a short run).
struct budget {
  const char* family;
  std::size_t physical;
  unsigned target;  ///< stress: fill target in percent
  std::size_t seeds, quick;
};

// The families and budgets the README and docs/measurements.md report on.
const budget budgets[] = {
    {"seed", 96 * KiB, 50, 1, 1},     {"sof", 320 * KiB, 50, 10, 2},    {"sof", 448 * KiB, 50, 10, 2},
    {"sof", 640 * KiB, 50, 10, 1},    {"sof", 1024 * KiB, 50, 10, 1},   {"grow", 320 * KiB, 50, 10, 1},
    {"grow", 448 * KiB, 50, 10, 1},   {"churn", 128 * KiB, 50, 5, 1},   {"churn", 256 * KiB, 50, 5, 1},
    {"stress", 64 * KiB, 50, 10, 1},  {"stress", 256 * KiB, 50, 10, 1}, {"stress", 64 * KiB, 95, 10, 1},
    {"stress", 256 * KiB, 95, 10, 1},
};

bool full_run() {
  const char* v = std::getenv("VMH_FIDELITY");
  return v != nullptr && std::string(v) == "full";
}

/// The real bit array's rule, as the real code shows it.
bit_array_fit real_fit() {
  static const bit_array_fit fit = remote_allocator("sof_vmh_real", 1024 * KiB, page, true).facts(0)[0] != 0
                                       ? bit_array_fit::gap
                                       : bit_array_fit::lowest;
  return fit;
}

/// Replays the seeds of one budget on the model and on the real allocator and checks that they
/// agree on every request.
template <class MakeModel>
void check_budget(const std::string& real_name, const budget& b, bool charged, MakeModel&& make_model) {
  vmh::sim::family_params p;
  p.physical = b.physical;
  p.target = b.target;
  const std::size_t seeds = full_run() ? b.seeds : b.quick;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(b.family, b.physical, b.target, seed, charged);
    const std::vector<vmh::trace::op> ops = vmh::sim::family_trace(b.family, seed, p);
    const auto model = make_model(b.physical);
    remote_allocator real(real_name, b.physical, page, charged);
    const vmh::sim::report m = vmh::sim::replay(ops, *model);
    const vmh::sim::report r = vmh::sim::replay(ops, real);
    vmh_test::check_same_outcome(r, m);
    CHECK(r.metadata_bytes == m.metadata_bytes);
    CHECK(r.metadata_charged == m.metadata_charged);
  }
}

/// Every budget's seeds with the metadata charged, and the first three budgets (the seed
/// scenario, sof 320K and 448K) with it not charged.
template <class MakeModel>
void check_against_real(const std::string& real_name, MakeModel&& make_model) {
  for (const bool charged : {true, false}) {
    const auto charge = charged ? vmh::sim::metadata_charge::charged : vmh::sim::metadata_charge::uncharged;
    const std::size_t count = charged ? std::size(budgets) : 3;
    for (std::size_t i = 0; i < count; ++i)
      check_budget(real_name, budgets[i], charged, [&](std::size_t physical) { return make_model(physical, charge); });
  }
}

}  // namespace

TEST_CASE("fidelity: the models' structure sizes are the real code's on its 32-bit target", "[fidelity]") {
  using vmh::baseline::sof_vmh_model;
  const auto vmh_facts = remote_allocator("sof_vmh_real", 1024 * KiB, page, true).facts(0);
  CHECK(vmh_facts[1] == sof_vmh_model::heap_struct_bytes);
  CHECK(vmh_facts[2] == sof_vmh_model::mem_blocks_struct_bytes);
  CHECK(vmh_facts[3] == sof_vmh_model::bitarray_struct_bytes);
  const auto vpage_facts = remote_allocator("sof_vpage_real", 1024 * KiB, page, true).facts(1);
  CHECK(vpage_facts[0] == vmh::baseline::sof_vpage_model::context_bytes);
  CHECK(vpage_facts[1] == 0u);  // no record in use before any request
}

TEST_CASE("fidelity: the sys_heap model is Zephyr's heap", "[fidelity]") {
  check_against_real("zephyr_sys_heap", [](std::size_t physical, auto) { return vmh::sim::make_sys_heap(physical); });
}

TEST_CASE("fidelity: the SOF VMH model is regions_mm.c", "[fidelity]") {
  check_against_real("sof_vmh_real", [](std::size_t physical, vmh::sim::metadata_charge charge) {
    return vmh::sim::make_sof_vmh(physical, page, charge, {real_fit()});
  });
}

TEST_CASE("fidelity: sof_today is SOF's two heaps over the real code", "[fidelity]") {
  check_against_real("sof_today_real", [](std::size_t physical, vmh::sim::metadata_charge charge) {
    return vmh::sim::make_sof_today(physical, page, charge, {real_fit()});
  });
}

TEST_CASE("fidelity: sof_vpage with vpage.c's records is vpage.c", "[fidelity]") {
  check_against_real("sof_vpage_real", [](std::size_t physical, vmh::sim::metadata_charge charge) {
    return vmh::sim::make_sof_vpage(physical, page, charge, {real_fit(), vmh::baseline::vpage_records::as_upstream});
  });
}
