// vmh-demo: why this library exists, in two replays.
//
// 1. The seed scenario (workload family 1) plus one more request: 96 KiB of
//    SRAM and requests for "at least 16 KiB, preferably 128 KiB". A general heap
//    with SOF's range loop hands the first request nearly everything; vmh satisfies them all.
// 2. SOF audio pipelines (family 2) at a tight physical budget: requests satisfied, range
//    grants against preferred sizes, and physical memory committed, for vmh and the models of
//    sys_heap with SOF's loop, SOF's own VMH with its production table, what SOF runs today
//    (its system heap with the VMH behind it) and SOF's planned page runs (docs/baselines.md).
// Every allocator gets the same SRAM: vmh's metadata is taken from its page budget, sys_heap's
// headers live inside its buffer.
#include <string>
#include <vector>

#include <fmt/core.h>

#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/replay.hpp"
#include "workloads/generators.hpp"

namespace {

using namespace vmh;

std::string kib(std::size_t bytes) { return fmt::format("{} KiB", (bytes + 512) / 1024); }

/// Replays `ops` and returns, per request, what it got ("FAILED" or the granted size).
std::vector<std::string> grants(const std::vector<trace::op>& ops, sim::allocator& a, std::size_t& committed) {
  std::vector<std::string> out;
  sim::replay(ops, a, [&](const sim::event& e) {
    if (e.op->kind == trace::op_kind::range || e.op->kind == trace::op_kind::allocate)
      out.push_back(e.ok ? kib(e.granted) : std::string("FAILED"));
    committed = e.committed;
  });
  return out;
}

void seed_scenario() {
  std::vector<trace::op> ops = workloads::seed_family();
  ops.push_back({trace::op_kind::range, 3, 16 * 1024, 128 * 1024, 0});
  const std::size_t physical = workloads::seed_physical_bytes;

  auto sys = sim::make_sys_heap(physical);
  const std::vector<bucket> layout = sim::auto_layout(physical, default_page_size);
  sim::vmh_allocator v(layout, physical, default_page_size);
  std::size_t sys_committed = 0, vmh_committed = 0;
  const auto by_sys = grants(ops, *sys, sys_committed);
  const auto by_vmh = grants(ops, v, vmh_committed);

  fmt::print("Seed scenario: {} of SRAM, requests of at least 16 KiB, preferably 128 KiB\n", kib(physical));
  fmt::print("  {:<22}{:>26}{:>26}\n", "request", "sys_heap + SOF's loop", "vmh");
  for (std::size_t i = 0; i < ops.size(); ++i)
    fmt::print("  r{} {:<19}{:>26}{:>26}\n", i + 1, "16 KiB..128 KiB", by_sys[i], by_vmh[i]);
  fmt::print("  {:<22}{:>26}{:>26}\n\n", "physical committed", kib(sys_committed) + " (whole heap)",
             kib(vmh_committed) + " (mapped pages)");
}

void sof_pipelines() {
  const std::uint64_t seed = 1;
  const std::size_t steps = 2000, physical = 448 * 1024;
  const std::vector<trace::op> ops = workloads::sof_family(seed, steps);
  const std::vector<bucket> layout = sim::auto_layout(physical, default_page_size);

  struct row {
    const char* name;
    sim::report r;
  };
  auto sys = sim::make_sys_heap(physical);
  auto sof = sim::make_sof_vmh(physical, default_page_size);
  auto today = sim::make_sof_today(physical, default_page_size);
  auto vpage = sim::make_sof_vpage(physical, default_page_size);
  sim::vmh_allocator v(layout, physical, default_page_size);
  const row rows[] = {{"sys_heap + SOF's loop", sim::replay(ops, *sys)},
                      {"SOF VMH (production table)", sim::replay(ops, *sof)},
                      {"SOF today (sys_heap + VMH)", sim::replay(ops, *today)},
                      {"SOF vpage (sys_heap + runs)", sim::replay(ops, *vpage)},
                      {"vmh (auto layout)", sim::replay(ops, v)}};

  fmt::print("SOF pipelines: {} steps (seed {}), {} of SRAM, {} requests ({} ranges)\n", steps, seed,
             kib(physical), rows[0].r.requests, rows[0].r.range_requests);
  fmt::print("  {:<28}{:>12}{:>12}{:>18}{:>16}{:>12}\n", "allocator", "failed", "succeeded", "granted/preferred",
             "peak physical", "metadata");
  for (const row& x : rows)
    fmt::print("  {:<28}{:>12}{:>11.2f}%{:>17.1f}%{:>16}{:>12}\n", x.name, x.r.failed, 100.0 * x.r.success_rate(),
               100.0 * x.r.granted_ratio(), kib(x.r.peak_physical_bytes),
               x.r.metadata_charged ? kib(x.r.metadata_bytes) : std::string("not charged"));
  fmt::print("\nReproduce with vmh-sim: gen --family sof --seed {} > t.trace; replay --trace t.trace "
             "--allocator vmh|sys_heap|sof_vmh|sof_today|sof_vpage --physical {}\n",
             seed, physical);
}

}  // namespace

int main() {
  seed_scenario();
  sof_pipelines();
  return 0;
}
