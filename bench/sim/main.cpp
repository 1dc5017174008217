// vmh-sim: generates workload traces and replays them against vmh and the baselines.
//
//   vmh-sim gen --family seed|sof|stress|churn [--seed N] [--steps N] [--target PCT] [--physical BYTES]
//               [--max-size BYTES] [--max-live N]
//   vmh-sim replay --trace FILE --allocator vmh|sys_heap|sof_vmh --physical BYTES
//                  [--layout auto|sof|FILE] [--page BYTES] [--policy greedy|share:N/D]
//   vmh-sim compare --family F --physical BYTES [--seeds N] [--steps N] [--target PCT] [--layout L] [--policy P]
//                  replays seeds 1..N of a family on all three allocators; prints a Markdown table
//   vmh-sim layout --physical BYTES [--page BYTES]      prints the auto layout as a layout file
//
// Every error is one line on stderr naming the file and line where there is one; exit code 2.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "sim/cli.hpp"
#include "sim/replay.hpp"
#include "workloads/generators.hpp"
#include "workloads/range_churn.hpp"

namespace {

using namespace vmh;
using sim::cli_error;

int gen(const sim::args& a) {
  const std::string family = a.text("family");
  const std::uint64_t seed = a.number("seed", 1);
  std::vector<trace::op> ops;
  if (family == "seed") {
    ops = workloads::seed_family();
  } else if (family == "sof") {
    ops = workloads::sof_family(seed, a.number("steps", 2000));
  } else if (family == "stress") {
    ops = workloads::stress_family(seed, a.number("steps", 20000), static_cast<unsigned>(a.number("target", 50)),
                                   a.number("physical", sim::stress_default_physical),
                                   a.number("max-size", sim::stress_default_max_size));
  } else if (family == "churn") {
    ops = workloads::range_churn_family(seed, a.number("steps", 20000), a.number("max-live", 32));
  } else {
    throw cli_error("--family must be seed, sof, stress or churn, not '" + family + "'");
  }
  std::string out;
  out.reserve(ops.size() * 16);
  for (const trace::op& o : ops) {
    out += trace::format(o);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int replay(const sim::args& a) {
  const std::string path = a.text("trace");
  const std::vector<trace::op> ops = sim::load_trace(path);
  const std::size_t physical = a.number("physical");
  const std::size_t page = a.number("page", default_page_size);
  const std::string which = a.text("allocator");
  const std::string layout_arg = a.text("layout", "auto");
  const range_policy policy = sim::parse_policy(a.text("policy", "default"));

  std::unique_ptr<sim::allocator> alloc;
  std::string layout_name = "-";
  if (which == "vmh") {
    std::vector<bucket> layout = sim::load_layout(layout_arg, physical, page);
    layout_name = layout_arg;
    auto v = std::make_unique<sim::vmh_allocator>(layout, physical, page, policy);
    if (!v->valid()) throw cli_error(layout_arg + ": unusable layout: " + to_string(v->error()));
    alloc = std::move(v);
  } else if (which == "sys_heap") {
    alloc = sim::make_sys_heap(physical);
  } else if (which == "sof_vmh") {
    auto v = std::make_unique<sim::sof_vmh_allocator>(baseline::sof_production_table, physical, page);
    if (!v->valid()) throw cli_error("the SOF table does not fit a page size of " + std::to_string(page));
    alloc = std::move(v);
  } else {
    throw cli_error("--allocator must be vmh, sys_heap or sof_vmh, not '" + which + "'");
  }
  const sim::report r = sim::replay(ops, *alloc);
  fmt::print("{}\n", sim::to_json(r, which, path, layout_name, physical, page));
  return r.valid_after ? 0 : 1;
}

/// Generates one trace per seed of a family and replays it on every allocator at one budget;
/// prints a Markdown table of the means (success rate, granted/preferred, peak physical).
int compare(const sim::args& a) {
  const std::string family = a.text("family");
  const std::size_t physical = a.number("physical");
  const std::size_t page = a.number("page", default_page_size);
  const std::size_t seeds = a.number("seeds", 3);
  const range_policy policy = sim::parse_policy(a.text("policy", "default"));
  const char* names[] = {"sys_heap + SOF loop", "SOF VMH (production table)", "vmh (auto layout)"};
  sim::report sum[3]{};
  double success[3]{}, granted[3]{};
  for (std::size_t seed = 1; seed <= seeds; ++seed) {
    std::vector<trace::op> ops;
    if (family == "seed") ops = workloads::seed_family();
    else if (family == "sof") ops = workloads::sof_family(seed, a.number("steps", 2000));
    else if (family == "stress")
      ops = workloads::stress_family(seed, a.number("steps", 20000), static_cast<unsigned>(a.number("target", 50)),
                                     physical, a.number("max-size", sim::stress_default_max_size));
    else if (family == "churn") ops = workloads::range_churn_family(seed, a.number("steps", 20000));
    else throw cli_error("--family must be seed, sof, stress or churn, not '" + family + "'");
    const std::vector<bucket> layout = sim::load_layout(a.text("layout", "auto"), physical, page);
    std::unique_ptr<sim::allocator> allocators[3] = {
        sim::make_sys_heap(physical),
        std::make_unique<sim::sof_vmh_allocator>(baseline::sof_production_table, physical, page),
        std::make_unique<sim::vmh_allocator>(layout, physical, page, policy)};
    for (int i = 0; i < 3; ++i) {
      const sim::report r = sim::replay(ops, *allocators[i]);
      sum[i].requests += r.requests;
      sum[i].failed += r.failed;
      sum[i].peak_physical_bytes += r.peak_physical_bytes;
      success[i] += r.success_rate();
      granted[i] += r.granted_ratio();
    }
  }
  fmt::print("| allocator | requests | failed | success | granted/preferred | peak physical |\n|---|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < 3; ++i)
    fmt::print("| {} | {} | {} | {:.2f}% | {:.1f}% | {} KiB |\n", names[i], sum[i].requests, sum[i].failed,
               100.0 * success[i] / double(seeds), 100.0 * granted[i] / double(seeds),
               sum[i].peak_physical_bytes / seeds / 1024);
  return 0;
}

int layout(const sim::args& a) {
  const std::size_t physical = a.number("physical");
  const std::size_t page = a.number("page", default_page_size);
  for (const bucket& b : sim::load_layout("auto", physical, page)) fmt::print("{} {}\n", b.block_size, b.block_count);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw cli_error("usage: vmh-sim gen|replay|compare|layout [options] (see the README)");
    const std::string_view cmd = argv[1];
    const sim::args a(argc - 2, argv + 2);
    if (cmd == "gen") return gen(a);
    if (cmd == "replay") return replay(a);
    if (cmd == "layout") return layout(a);
    if (cmd == "compare") return compare(a);
    throw cli_error("unknown command '" + std::string(cmd) + "': use gen, replay, compare or layout");
  } catch (const cli_error& e) {
    std::fprintf(stderr, "vmh-sim: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmh-sim: %s\n", e.what());
    return 2;
  }
}
