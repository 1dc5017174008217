// vmh-sim: generates workload traces and replays them against vmh and the baselines.
//
//   vmh-sim gen --family seed|sof|stress|churn [--seed N] [--steps N] [--target PCT] [--physical BYTES]
//               [--max-size BYTES] [--max-live N]
//   vmh-sim replay --trace FILE --allocator vmh|sys_heap|sof_vmh --physical BYTES
//                  [--layout auto|sof|FILE] [--page BYTES] [--policy greedy|share:N/D]
//   vmh-sim compare --family F --physical BYTES [--seeds N] [--steps N] [--target PCT] [--layout L] [--policy P]
//                  replays seeds 1..N of a family on all three allocators; prints a Markdown table
//   vmh-sim layout --physical BYTES [--page BYTES]      prints the auto layout as a layout file
//   vmh-sim plan TRACES --physical BYTES [--page BYTES] [--max-buckets N] [--virtual BYTES] [--evals N]
//                [--headroom PCT] [--rng N] [--policy P] [--objective requests|bytes] [--cxx [FILE|-]] [--name ID]
//                [--holdout LIST | --holdout-trace FILE...] [--compare [NAME=]FILE...]
//                searches the layout that serves the traces best; prints it as a layout file
//   vmh-sim map (--trace FILE | --family F [--seed N]) --physical BYTES [--layout L] [--at N|end|peak|fail]
//               [--out FILE] [--max-cells N]            SVG of the heap after one operation
//   vmh-sim curve TRACES [--from BYTES] [--to BYTES] [--step BYTES | --budgets LIST] [--layout [NAME=]FILE...]
//                 [--out FILE]                          SVG of success and granted/preferred against the budget
//   vmh-sim auto-study [--seeds LIST] [--plan-evals N] [--grid small|full] [--top N]
//                 variants of the auto layout's rule on families 1-3 against the planner (Markdown)
// TRACES is `--trace FILE` (repeatable) or `--family F --seeds LIST` (e.g. 1-5 or 1,3,7).
//
// Every error is one line on stderr naming the file and line where there is one; exit code 2.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <tuple>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "sim/cli.hpp"
#include "sim/pictures.hpp"
#include "sim/plan.hpp"
#include "sim/replay.hpp"
#include "sim/svg.hpp"
#include "sim/traces.hpp"
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

void write_output(const sim::args& a, const std::string& text) {
  const std::string path = a.text("out", "-");
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw cli_error(path + ": cannot write");
}

std::size_t ev_requests(const std::vector<sim::plan::trace_case>& cases) {
  std::size_t n = 0;
  for (const sim::plan::trace_case& c : cases) n += c.requests;
  return n;
}

std::vector<sim::plan::trace_case> cases_of(std::vector<sim::named_trace> traces) {
  std::vector<sim::plan::trace_case> cases;
  for (sim::named_trace& t : traces) cases.push_back(sim::plan::make_case(std::move(t.name), std::move(t.ops)));
  return cases;
}

/// One row of the planner's comparison: an allocator on the training and held-out traces.
struct comparison_row {
  std::string name;
  std::size_t buckets = 0, virtual_bytes = 0, metadata_bytes = 0;
  sim::totals train, test;
  bool has_test = false;
};

sim::totals vmh_totals(sim::plan::evaluator& ev, const std::vector<bucket>& layout, std::size_t& virt, std::size_t& meta) {
  const sim::plan::evaluation e = ev.evaluate(layout, SIZE_MAX, true);
  if (!e.s.valid || !e.valid_after) throw cli_error(std::string("layout failed: ") + to_string(e.error));
  virt = e.s.virtual_bytes;
  meta = e.s.metadata_bytes;
  sim::totals t;
  t.requests = e.s.requests;
  t.failed = e.s.failed();
  t.granted = e.s.granted_bytes;
  t.preferred = e.s.preferred_bytes;
  t.requested_bytes = e.s.requested_bytes;
  t.satisfied_bytes = e.s.satisfied_bytes;
  return t;
}

sim::totals baseline_totals(const std::vector<sim::plan::trace_case>& cases, const std::string& which,
                            std::size_t physical, std::size_t page) {
  sim::totals t;
  for (const sim::plan::trace_case& c : cases) {
    std::unique_ptr<sim::allocator> alloc;
    if (which == "sys_heap") alloc = sim::make_sys_heap(physical);
    else alloc = std::make_unique<sim::sof_vmh_allocator>(baseline::sof_production_table, physical, page);
    sim::replay_into(t, c.ops, *alloc);
  }
  return t;
}

std::string comparison_table(const std::vector<comparison_row>& rows) {
  const bool test = !rows.empty() && rows.front().has_test;
  std::string out =
      "| allocator (layout) | buckets | virtual | metadata | training: failed | success | bytes | granted/preferred |";
  out += test ? " held-out: failed | success | bytes | granted/preferred |\n" : "\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---:|";
  out += test ? "---:|---:|---:|---:|\n" : "\n";
  auto cells = [](const sim::totals& t) {
    return fmt::format(" {} | {:.2f}% | {:.2f}% | {:.1f}% |", t.failed, 100.0 * t.success(), 100.0 * t.bytes_ratio(),
                       100.0 * t.granted_ratio());
  };
  for (const comparison_row& r : rows) {
    out += fmt::format("| {} | {} | {} | {} |", r.name, r.buckets == 0 ? std::string("-") : std::to_string(r.buckets),
                       sim::svg::bytes_text(r.virtual_bytes),
                       r.metadata_bytes == 0 ? std::string("-") : sim::svg::bytes_text(r.metadata_bytes));
    out += cells(r.train);
    if (test) out += cells(r.test);
    out += "\n";
  }
  return out;
}

int plan(const sim::args& a) {
  const std::size_t physical = a.number("physical");
  const std::size_t page = a.number("page", default_page_size);
  const range_policy policy = sim::parse_policy(a.text("policy", "default"));
  sim::plan::options opt;
  opt.physical = physical;
  opt.page = page;
  opt.max_buckets = a.number("max-buckets", max_buckets);
  if (opt.max_buckets == 0 || opt.max_buckets > max_buckets) throw cli_error("--max-buckets must be 1 to 64");
  opt.max_virtual = a.number("virtual", max_virtual_size);
  opt.evaluations = a.number("evals", opt.evaluations);
  opt.headroom_pct = static_cast<unsigned>(a.number("headroom", opt.headroom_pct));
  opt.rng_seed = a.number("rng", 1);
  const std::string goal = a.text("objective", "requests");
  if (goal != "requests" && goal != "bytes") throw cli_error("--objective must be requests or bytes, not '" + goal + "'");
  opt.goal = goal == "bytes" ? sim::plan::objective::bytes : sim::plan::objective::requests;
  const std::vector<sim::named_trace> traces = sim::load_traces(a, physical);
  std::string names;
  for (const sim::named_trace& t : traces) names += (names.empty() ? "" : ", ") + t.name;

  sim::plan::evaluator ev(cases_of(traces), physical, page, policy);
  sim::plan::planner planner(ev, opt);
  const sim::plan::result res = planner.run();
  const sim::plan::score& best = res.best.eval.s;
  if (!res.best.eval.valid_after) throw cli_error("the planned layout failed heap::validate");

  std::vector<std::string> comments = {
      fmt::format("vmh-sim plan: {} of physical memory, {}-byte pages, {} trace(s): {}", sim::svg::bytes_text(physical),
                  page, traces.size(), names),
      fmt::format("planned: {}", sim::plan::describe(best)),
      fmt::format("auto:    {}", sim::plan::describe(res.automatic.eval.s)),
      fmt::format("search: {} layouts replayed ({} seeds, {} stopped early), --rng {}; best from {}", res.evaluations,
                  res.seeds, res.pruned, opt.rng_seed, res.best.origin)};
  std::string out = sim::plan::layout_file(res.best.layout, comments);
  if (a.has("cxx")) {
    const std::string code = sim::plan::cxx_declaration(res.best.layout, a.text("name", "planned_table"), page, comments);
    const std::string path = a.text("cxx");
    if (path == "-") {
      out += "\n" + code;
    } else {
      std::ofstream f(path, std::ios::binary);
      f << code;
      if (!f) throw cli_error(path + ": cannot write");
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  for (std::size_t i = 1; i < comments.size(); ++i) std::fprintf(stderr, "%s\n", comments[i].c_str());
  std::fprintf(stderr, "time: %.1f s, %.0f layouts replayed per second (%zu requests each)\n", res.seconds, res.rate(),
               ev.requests());
  if (best.satisfied_bytes < res.automatic.eval.s.satisfied_bytes)
    std::fprintf(stderr,
                 "warning: the planned layout satisfies fewer requested bytes than the auto layout (%.2f%% against "
                 "%.2f%%): it refuses large requests to satisfy more small ones; --objective bytes weighs each request "
                 "by its size\n",
                 100.0 * double(best.satisfied_bytes) / double(best.requested_bytes),
                 100.0 * double(res.automatic.eval.s.satisfied_bytes) / double(res.automatic.eval.s.requested_bytes));

  // The comparison on the training traces and, when given, on held-out traces.
  const bool holdout = a.has("holdout") || a.has("holdout-trace");
  std::vector<sim::plan::trace_case> test_cases;
  if (holdout) test_cases = cases_of(sim::load_traces(a, physical, "holdout-trace", "holdout"));
  sim::plan::evaluator test_ev(test_cases, physical, page, policy);
  std::vector<comparison_row> rows;
  const std::vector<bucket> sof_layout(presets::sof_table.buckets, presets::sof_table.buckets + presets::sof_table.size());
  std::vector<std::pair<std::string, const std::vector<bucket>*>> layouts = {
      {"vmh (planned)", &res.best.layout}, {"vmh (auto)", &res.automatic.layout}, {"vmh (SOF's table)", &sof_layout}};
  std::vector<std::vector<bucket>> others;  // --compare [NAME=]FILE
  const std::vector<std::string> compare_args = a.all("compare");
  others.reserve(compare_args.size());
  for (const std::string& arg : compare_args) {
    const std::size_t eq = arg.find('=');
    const std::string path = eq == std::string::npos ? arg : arg.substr(eq + 1);
    others.push_back(sim::load_layout(path, physical, page));
    layouts.emplace_back(eq == std::string::npos ? "vmh (" + path + ")" : arg.substr(0, eq), &others.back());
  }
  for (const auto& [name, layout] : layouts) {
    if (page != presets::sof_table.page_size && layout == &sof_layout) continue;
    comparison_row r;
    r.name = name;
    r.buckets = layout->size();
    r.train = vmh_totals(ev, *layout, r.virtual_bytes, r.metadata_bytes);
    if (holdout) {
      std::size_t v = 0, m = 0;
      r.test = vmh_totals(test_ev, *layout, v, m);
      r.has_test = true;
    }
    rows.push_back(r);
  }
  const char* baselines[][2] = {{"SOF VMH (production table) + loop", "sof_vmh"}, {"sys_heap + SOF's loop", "sys_heap"}};
  for (const auto& [name, which] : baselines) {
    comparison_row r;
    r.name = name;
    r.virtual_bytes = std::string_view(which) == "sys_heap" ? physical : std::size_t{1} << 20;
    r.buckets = std::string_view(which) == "sys_heap" ? 0 : std::size(baseline::sof_production_table);
    r.train = baseline_totals(ev.cases(), which, physical, page);
    if (holdout) {
      r.test = baseline_totals(test_cases, which, physical, page);
      r.has_test = true;
    }
    rows.push_back(r);
  }
  const std::string table = comparison_table(rows);
  std::fprintf(stderr, "\n%s", table.c_str());
  return 0;
}

int map(const sim::args& a) {
  const std::size_t physical = a.number("physical");
  const std::size_t page = a.number("page", default_page_size);
  const range_policy policy = sim::parse_policy(a.text("policy", "default"));
  const std::string layout_arg = a.text("layout", "auto");
  const std::vector<bucket> layout = sim::load_layout(layout_arg, physical, page);
  std::string name;
  std::vector<trace::op> ops;
  if (a.has("trace")) {
    name = a.text("trace");
    ops = sim::load_trace(name);
  } else {
    const std::string family = a.text("family");
    const std::size_t seed = a.number("seed", 1);
    name = family + " seed " + std::to_string(seed);
    ops = sim::family_trace(family, seed, a, physical);
  }
  if (ops.empty()) throw cli_error(name + ": empty trace");
  const std::string at = a.text("at", "end");
  std::size_t index = 0;
  try {
    index = sim::pick_operation(ops, at, layout, physical, page, policy);
  } catch (const std::invalid_argument& e) {
    throw cli_error(e.what());
  }
  sim::heap_snapshot snap = sim::snapshot_at(ops, index, layout, physical, page, policy);
  snap.picture.max_cells = a.number("max-cells", snap.picture.max_cells);
  if (snap.picture.max_cells == 0) throw cli_error("--max-cells must be at least 1");
  std::size_t virt = 0;
  for (const bucket& b : layout) virt += b.block_size * b.block_count;
  snap.picture.title = fmt::format("vmh heap: {} after operation {} of {}{}", name, index, ops.size(),
                                   at == "peak" ? " (peak physical)" : at == "fail" ? " (first failure)" : "");
  snap.picture.subtitle = fmt::format(
      "layout {}: {} buckets, {} virtual; {} requests so far, {} failed, {} live allocations",
      layout_arg, layout.size(), sim::svg::bytes_text(virt), snap.figures.requests, snap.figures.failed,
      snap.picture.live.size());
  const sim::svg::map_model model(snap.picture);
  if (model.mapped_pages * page != snap.committed)
    throw cli_error(fmt::format("map: {} pages drawn as mapped but the heap maps {} bytes", model.mapped_pages, snap.committed));
  write_output(a, sim::svg::heap_map(snap.picture));
  std::fprintf(stderr, "map: operation %zu of %zu, %zu live allocations, %zu of %zu bytes mapped, %zu requests failed\n",
               index, ops.size(), snap.picture.live.size(), snap.committed, physical, snap.figures.failed);
  return 0;
}

int curve(const sim::args& a) {
  std::vector<std::size_t> budgets;
  if (a.has("budgets")) {
    budgets = sim::parse_list(a.text("budgets"), "--budgets");
  } else {
    const std::size_t from = a.number("from", 128 * 1024), to = a.number("to", 1024 * 1024),
                      step = a.number("step", 64 * 1024);
    if (step == 0 || from == 0 || to < from) throw cli_error("--from, --to and --step must give at least one budget");
    for (std::size_t b = from; b <= to; b += step) budgets.push_back(b);
  }
  std::sort(budgets.begin(), budgets.end());
  const std::size_t page = a.number("page", default_page_size);
  const range_policy policy = sim::parse_policy(a.text("policy", "default"));
  // The stress family's fill target is relative to a budget of its own (not the replayed one).
  const std::vector<sim::named_trace> traces = sim::load_traces(a, a.number("fill-budget", sim::stress_default_physical));
  const std::vector<sim::plan::trace_case> cases = cases_of(traces);

  struct extra {
    std::string name;
    std::vector<bucket> layout;
  };
  std::vector<extra> extras;
  for (const std::string& arg : a.all("layout")) {
    const std::size_t eq = arg.find('=');
    const std::string path = eq == std::string::npos ? arg : arg.substr(eq + 1);
    const std::string label = eq == std::string::npos ? "vmh (" + path + ")" : arg.substr(0, eq);
    extras.push_back({label, sim::load_layout(path, budgets.back(), page)});
  }
  std::vector<sim::svg::series> lines = {{"sys_heap + SOF's loop", sim::svg::palette(0), {}, {}},
                                         {"SOF VMH (production table)", sim::svg::palette(1), {}, {}},
                                         {"vmh (auto layout)", sim::svg::palette(2), {}, {}}};
  for (std::size_t i = 0; i < extras.size(); ++i) lines.push_back({extras[i].name, sim::svg::palette(3 + i), {}, {}});
  for (const std::size_t budget : budgets) {
    sim::plan::evaluator ev(cases, budget, page, policy);
    auto push = [&](std::size_t k, double success, double granted) {
      lines[k].success.push_back(success);
      lines[k].granted.push_back(granted);
    };
    for (int k = 0; k < 2; ++k) {
      const sim::totals t = baseline_totals(cases, k == 0 ? "sys_heap" : "sof_vmh", budget, page);
      push(static_cast<std::size_t>(k), t.success(), t.granted_ratio());
    }
    auto vmh_point = [&](std::size_t k, const std::vector<bucket>& layout) {
      const sim::plan::evaluation e = ev.evaluate(layout);
      if (!e.s.valid) throw cli_error(lines[k].name + ": unusable layout: " + to_string(e.error));
      push(k, e.s.success(), e.s.granted());
    };
    vmh_point(2, sim::auto_layout(budget, page));
    for (std::size_t i = 0; i < extras.size(); ++i) vmh_point(3 + i, extras[i].layout);
  }

  std::string names = traces.size() == 1 ? traces.front().name : fmt::format("{} traces", traces.size());
  if (a.has("family") && !a.has("trace")) names = fmt::format("{} family, seeds {}", a.text("family"), a.text("seeds", "1"));
  sim::svg::curve_input in;
  in.title = "Requests satisfied and granted/preferred against the physical budget";
  in.subtitle = fmt::format("{} ({} requests); vmh's auto layout is derived for each budget", names, ev_requests(cases));
  in.budgets = budgets;
  in.lines = lines;
  write_output(a, sim::svg::budget_curve(in));

  // The same figures as a Markdown table (on standard error when the SVG goes to standard output).
  std::string table = "| budget |";
  for (const auto& l : lines) table += " " + l.name + " |";
  table += "\n|---:|";
  for (std::size_t k = 0; k < lines.size(); ++k) table += "---:|";
  table += "\n";
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    table += "| " + sim::svg::bytes_text(budgets[i]) + " |";
    for (const auto& l : lines) table += fmt::format(" {:.2f}% / {:.1f}% |", 100.0 * l.success[i], 100.0 * l.granted[i]);
    table += "\n";
  }
  std::FILE* to = a.text("out", "-") == "-" ? stderr : stdout;
  std::fprintf(to, "success / granted per budget:\n%s", table.c_str());
  return 0;
}

/// Evaluates variants of presets::auto_params (ratio, over-commit, count cap, smallest block) on
/// families 1-3 at several budgets, next to the planner's best layout for each, and prints the
/// variants ranked by: total excess failures (percentage points of each workload's requests
/// above the best variant there), then mean granted/preferred, then mean cost relative to auto.
int auto_study(const sim::args& a) {
  struct scenario {
    std::string name, family;
    std::size_t physical;
    unsigned target;
  };
  const std::vector<scenario> scenarios = {
      {"seed 96K", "seed", 96 * 1024, 0},      {"sof 256K", "sof", 256 * 1024, 0},
      {"sof 448K", "sof", 448 * 1024, 0},      {"sof 512K", "sof", 512 * 1024, 0},
      {"sof 1M", "sof", 1024 * 1024, 0},       {"sof 2M", "sof", 2048 * 1024, 0},
      {"stress 50% 64K", "stress", 64 * 1024, 50}, {"stress 95% 64K", "stress", 64 * 1024, 95},
      {"churn 256K", "churn", 256 * 1024, 0}};
  const std::vector<std::size_t> seeds = sim::parse_list(a.text("seeds", "1-5"), "--seeds");
  const std::size_t plan_evals = a.number("plan-evals", 1000);
  const std::size_t page = default_page_size;

  struct variant {
    std::string name;
    presets::geometric_params p;
    bool pow2_small = false;  ///< powers of two below a page, the ratio from a page up
    std::vector<sim::plan::score> scores;
    double regret = 0, granted = 0, cost = 0;
  };
  std::vector<variant> variants;
  variants.push_back({"auto_params (the auto rule: 2/1, x1, cap 1024, from 16 B)", presets::auto_params(1u << 20, page), false, {}});
  const std::size_t ratios[][2] = {{5, 4}, {4, 3}, {3, 2}, {2, 1}};
  const std::size_t overcommits[][2] = {{1, 4}, {1, 2}, {1, 1}, {2, 1}};
  const bool full_grid = a.text("grid", "small") == "full";
  for (const auto& r : ratios)
    for (const auto& o : overcommits)
      for (const std::size_t cap : {64u, 256u, 1024u, 4096u})
        for (const std::size_t min_block : {16u, 64u})
          for (const bool pow2_small : {false, true}) {
            if (pow2_small && r[0] == 2 * r[1]) continue;  // the same as ratio 2
            if (!full_grid && (cap == 64 || min_block == 64)) continue;
            const presets::geometric_params p = sim::plan::geometric_variant(1u << 20, page, r, o, cap, min_block);
            variants.push_back({fmt::format("{}{}/{}, x{}/{}, cap {}, from {} B", pow2_small ? "2/1 below a page, then " : "",
                                            r[0], r[1], o[0], o[1], cap, min_block),
                                p, pow2_small, {}});
          }
  // A layout of a variant for a budget.
  auto layout_of = [page](const variant& v, std::size_t physical) {
    presets::geometric_params p = v.p;
    p.physical_bytes = physical;
    if (!v.pow2_small) return sim::geometric_layout(p);
    presets::geometric_params small = p, large = p;
    small.ratio_num = 2;
    small.ratio_den = 1;
    small.max_block = page;
    large.min_block = page;
    std::vector<bucket> l = sim::geometric_layout(small);
    l.pop_back();  // the page-sized bucket comes again first in the large part
    for (const bucket& b : sim::geometric_layout(large)) l.push_back(b);
    sim::plan::normalize(l, page);
    return l;
  };

  std::vector<sim::plan::score> planned;
  std::vector<std::string> planned_shape;
  for (const scenario& sc : scenarios) {
    std::vector<sim::plan::trace_case> cases;
    for (const std::size_t seed : sc.family == "seed" ? std::vector<std::size_t>{1} : seeds) {
      std::vector<trace::op> ops;
      if (sc.family == "seed") ops = workloads::seed_family();
      else if (sc.family == "sof") ops = workloads::sof_family(seed, 2000);
      else if (sc.family == "churn") ops = workloads::range_churn_family(seed, 20000);
      else ops = workloads::stress_family(seed, 20000, sc.target, sc.physical, sim::stress_default_max_size);
      cases.push_back(sim::plan::make_case(fmt::format("{} seed {}", sc.family, seed), std::move(ops)));
    }
    sim::plan::evaluator ev(std::move(cases), sc.physical, page);
    for (variant& v : variants) v.scores.push_back(ev.evaluate(layout_of(v, sc.physical)).s);
    if (plan_evals != 0) {
      sim::plan::options opt;
      opt.physical = sc.physical;
      opt.page = page;
      opt.evaluations = plan_evals;
      sim::plan::planner planner(ev, opt);
      const sim::plan::result res = planner.run();
      planned.push_back(res.best.eval.s);
      planned_shape.push_back(fmt::format("{}: {} buckets, {} virtual, from {}", sc.name, res.best.layout.size(),
                                          sim::svg::bytes_text(res.best.eval.s.virtual_bytes), res.best.origin));
    }
    std::fprintf(stderr, "auto-study: %s done\n", sc.name.c_str());
  }

  // Excess failures over the best variant of each workload, granted/preferred, cost against today's rule.
  std::size_t ranged = 0;  // workloads with range requests: the granted/preferred mean is over them
  for (std::size_t k = 0; k < scenarios.size(); ++k) ranged += variants.front().scores[k].preferred_bytes != 0;
  for (std::size_t k = 0; k < scenarios.size(); ++k) {
    std::size_t best = 0;
    for (const variant& v : variants) best = std::max(best, v.scores[k].satisfied);
    for (variant& v : variants) {
      const sim::plan::score& s = v.scores[k];
      v.regret += s.valid ? 100.0 * double(best - s.satisfied) / double(s.requests) : 100.0;
      if (s.preferred_bytes != 0) v.granted += s.granted() / double(ranged);
      v.cost += double(s.cost()) / double(variants.front().scores[k].cost()) / double(scenarios.size());
    }
  }
  std::vector<std::size_t> order(variants.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](const variant& v) {
    return std::tuple{std::lround(v.regret * 100), -std::lround(v.granted * 1000), v.cost};
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return key(variants[x]) < key(variants[y]); });

  std::string out = "| rank | rule (ratio, over-commit, count cap, smallest block) |";
  for (const scenario& sc : scenarios) out += " " + sc.name + " |";
  out += " excess failures | granted/preferred | cost vs today | virtual at 1M |\n|---:|---|";
  for (std::size_t k = 0; k < scenarios.size(); ++k) out += "---:|";
  out += "---:|---:|---:|---:|\n";
  const std::size_t shown = a.number("top", 12);
  std::size_t one_mib = 0;
  for (std::size_t k = 0; k < scenarios.size(); ++k)
    if (scenarios[k].name == "sof 1M") one_mib = k;
  auto row = [&](const std::string& rank, const std::string& name, const std::vector<sim::plan::score>& sc, double regret,
                 double granted, double cost) {
    out += "| " + rank + " | " + name + " |";
    for (const sim::plan::score& s : sc) out += fmt::format(" {} |", s.failed());
    out += fmt::format(" {:.2f} | {:.1f}% | {:.2f} | {} |\n", regret, 100.0 * granted, cost,
                       sim::svg::bytes_text(sc[one_mib].virtual_bytes));
  };
  for (std::size_t r = 0; r < order.size(); ++r) {
    const variant& v = variants[order[r]];
    if (r < shown || order[r] == 0) row(std::to_string(r + 1), v.name, v.scores, v.regret, v.granted, v.cost);
  }
  if (!planned.empty()) {
    double regret = 0, granted = 0, cost = 0;
    for (std::size_t k = 0; k < scenarios.size(); ++k) {
      std::size_t best = 0;
      for (const variant& v : variants) best = std::max(best, v.scores[k].satisfied);
      regret += 100.0 * (double(best) - double(planned[k].satisfied)) / double(planned[k].requests);
      if (planned[k].preferred_bytes != 0) granted += planned[k].granted() / double(ranged);
      cost += double(planned[k].cost()) / double(variants.front().scores[k].cost()) / double(scenarios.size());
    }
    row("-", "planner, one layout per workload", planned, regret, granted, cost);
  }
  fmt::print("Failed requests per workload (sof: seeds {}; stress: the same seeds, 20000 steps); a workload's\n"
             "excess is its failures above the best rule's, in percentage points of its requests.\n\n{}",
             a.text("seeds", "1-5"), out);
  for (const std::string& s : planned_shape) fmt::print("\n- planned {}", s);
  fmt::print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw cli_error("usage: vmh-sim gen|replay|compare|layout|plan|map|curve|auto-study [options] (see the README)");
    const std::string_view cmd = argv[1];
    // `--cxx` may stand alone (C++ on standard output): give it the value "-".
    std::vector<char*> rest(argv + 2, argv + argc);
    static char dash[] = "-";
    for (std::size_t i = 0; i < rest.size(); ++i)
      if (std::string_view(rest[i]) == "--cxx" && (i + 1 == rest.size() || std::string_view(rest[i + 1]).substr(0, 2) == "--"))
        rest.insert(rest.begin() + static_cast<std::ptrdiff_t>(i) + 1, dash);
    const sim::args a(static_cast<int>(rest.size()), rest.data());
    if (cmd == "gen") return gen(a);
    if (cmd == "replay") return replay(a);
    if (cmd == "layout") return layout(a);
    if (cmd == "compare") return compare(a);
    if (cmd == "plan") return plan(a);
    if (cmd == "map") return map(a);
    if (cmd == "curve") return curve(a);
    if (cmd == "auto-study") return auto_study(a);
    throw cli_error("unknown command '" + std::string(cmd) + "': use gen, replay, compare, layout, plan, map, curve or auto-study");
  } catch (const cli_error& e) {
    std::fprintf(stderr, "vmh-sim: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmh-sim: %s\n", e.what());
    return 2;
  }
}
