#include "sim/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/core.h>

#include "baselines/sof_vmh.hpp"
#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/memory.hpp"
#include "sim/options.hpp"
#include "sim/pictures.hpp"
#include "sim/plan.hpp"
#include "sim/remote.hpp"
#include "sim/replay.hpp"
#include "sim/svg.hpp"
#include "sim/traces.hpp"

namespace vmh::sim {
namespace {

// ---------------------------------------------------------------------------------------------
// Options shared by several commands

/// `--physical`: the SRAM budget, at least one byte.
std::size_t physical_of(const args& a) { return a.number_in("physical", 0, 1, SIZE_MAX); }

/// The generator options (`--steps`, `--target`, `--max-size`, `--max-live`, `--grow`);
/// `physical` is the stress family's fill budget.
family_params family_params_of(const args& a, std::size_t physical) {
  family_params p;
  p.steps = a.number_in("steps", 0, 0, 100'000'000);
  if (a.has("steps") && p.steps == 0) throw cli_error("--steps must be at least 1");
  p.target = static_cast<unsigned>(a.number_in("target", 50, 1, 100));
  p.physical = physical;
  p.max_size = a.number_in("max-size", stress_default_max_size, 1, SIZE_MAX);
  p.max_live = a.number_in("max-live", 32, 1, 1'000'000);
  p.grow_pct = static_cast<unsigned>(a.number_in("grow", workloads::grow_default_pct, 0, 100));
  return p;
}

std::string family_of(const args& a) {
  const std::string family = a.text("family");
  if (!is_family(family)) throw cli_error(unknown_family(family));
  return family;
}

metadata_charge charge_of(const args& a) {
  return a.has("uncharged") ? metadata_charge::uncharged : metadata_charge::charged;
}

/// vmh's options from the command line: --policy, --packed and the metadata charge.
vmh_options vmh_options_of(const args& a, metadata_charge charge) {
  vmh_options opt{parse_policy(a.text("policy", "default")), charge, false};
  const packed_choice p = parse_packed(a.text("packed", "auto"));
  opt.packed_auto = p.automatic;
  if (!p.automatic) opt.packed = p.region;
  return opt;
}

/// The packed region as --packed names it: `auto (BYTES:LIMIT:GRANULE)`, `none` or `BYTES:LIMIT:GRANULE`.
std::string packed_text(const vmh_options& opt, packed_region r) {
  const std::string region = r.bytes == 0 ? "none" : fmt::format("{}:{}:{}", r.bytes, r.limit, r.granule);
  return opt.packed_auto ? "auto (" + region + ")" : region;
}

/// The traces of `--<trace_key> FILE...` or, failing that, of `--family F --<seeds_key> LIST`
/// (`default_seeds` when that option is absent).
std::vector<named_trace> load_traces(const args& a, std::size_t physical, const std::string& trace_key = "trace",
                                     const std::string& seeds_key = "seeds", const std::string& default_seeds = "1") {
  std::vector<named_trace> out;
  for (const std::string& path : a.all(trace_key)) out.push_back({path, load_trace(path)});
  if (!out.empty()) return out;
  if (!a.has("family")) throw cli_error("give --" + trace_key + " FILE (repeatable) or --family F --" + seeds_key + " LIST");
  const std::string family = family_of(a);
  const family_params p = family_params_of(a, physical);
  for (const std::size_t seed : parse_seeds(a.text(seeds_key, default_seeds), "--" + seeds_key))
    out.push_back({family + " seed " + std::to_string(seed), family_trace(family, seed, p)});
  return out;
}

std::string metadata_text(std::size_t bytes, bool charged) {
  return svg::bytes_text(bytes) + (charged ? "" : " (not charged)");
}

/// JSON string escaping for file names.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

/// A layout as a JSON array of its buckets.
std::string layout_json(std::span<const bucket> layout) {
  std::string out = "[";
  for (const bucket& b : layout)
    out += fmt::format("{}{{\"block_size\":{},\"count\":{}}}", out.size() == 1 ? "" : ",", b.block_size, b.block_count);
  return out + "]";
}

/// Where a picture or file goes that standard output would get without --json: `--out` (default
/// `-`), or with --json only `--out FILE` (empty: none), since the JSON has standard output.
std::string json_output(const args& a) {
  if (!a.has("json")) return a.text("out", "-");
  const std::string path = a.text("out", "");
  if (path == "-") throw cli_error("--json and --out - both go to standard output: give --out FILE");
  return path;
}

// ---------------------------------------------------------------------------------------------
// gen

int gen(const args& a) {
  const std::string family = family_of(a);
  const std::size_t seed = a.number_in("seed", 1, 1, SIZE_MAX);
  const family_params p = family_params_of(a, a.number_in("physical", stress_default_physical, 1, SIZE_MAX));
  const std::vector<trace::op> ops = family_trace(family, seed, p);
  write_file("-", "# " + generator_comment(family, seed, p) + "\n" + trace::to_text(ops));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// replay

std::string moment_json(const memory_moment& m) {
  return fmt::format("{{\"op\":{},\"committed_bytes\":{},\"live_bytes\":{},\"waste_bytes\":{}}}", m.op, m.committed,
                     m.live, m.waste());
}

std::string memory_json(const memory_report& m) {
  return fmt::format(
      "\"waste_at_failure\":{},\"waste_at_peak\":{},\"banks\":{{\"bank_bytes\":{},\"spanned\":{},\"mean\":{:.3f},"
      "\"peak\":{},\"floor_mean\":{:.3f},\"floor_peak\":{},\"exact\":{}}},\"sram_at_failure\":{},\"sram_at_peak\":{}",
      moment_json(m.at_failure), moment_json(m.at_peak), bank_bytes, m.banks, m.banks_mean, m.banks_peak, m.floor_mean,
      m.floor_peak, m.exact, sram_json(m.sram_at_failure), sram_json(m.sram_at_peak));
}

/// The grow-back figures (the `g` lines) as one JSON member; `grown_ratio` is the range grants'
/// granted/preferred with each at the largest size it reached.
std::string grow_json(const grow_report& g, double grown_ratio) {
  return fmt::format(
      "\"grow\":{{\"requests\":{},\"skipped\":{},\"asking\":{},\"grown\":{},\"reached\":{},\"asked_bytes\":{},"
      "\"gained_bytes\":{},\"before_bytes\":{},\"after_bytes\":{},\"preferred_bytes\":{},\"before_ratio\":{:.4f},"
      "\"after_ratio\":{:.4f},\"range_grown_bytes\":{},\"range_grown_ratio\":{:.4f}}}",
      g.requests, g.skipped, g.asking, g.grown, g.reached, g.asked_bytes, g.gained_bytes, g.before_bytes, g.after_bytes,
      g.preferred_bytes, g.before_ratio(), g.after_ratio(), g.range_grown_bytes, grown_ratio);
}

/// One replay as one line of JSON.
std::string replay_json(const report& r, const memory_report& mem, std::string_view allocator,
                        std::string_view trace_name, std::string_view layout, std::size_t physical, std::size_t page) {
  return fmt::format(
      "{{\"allocator\":{},\"trace\":{},\"layout\":{},\"physical_bytes\":{},\"page_size\":{},\"ops\":{},"
      "\"requests\":{},\"failed\":{},\"fixed_requests\":{},\"fixed_failed\":{},\"range_requests\":{},"
      "\"range_failed\":{},\"range_granted_bytes\":{},\"range_preferred_bytes\":{},\"resizes\":{},"
      "\"resizes_failed\":{},\"skipped\":{},\"peak_live_bytes\":{},\"peak_physical_bytes\":{},"
      "\"metadata_bytes\":{},\"metadata_charged\":{},"
      "\"first_failure_op\":{},\"success_rate\":{:.4f},\"granted_ratio\":{:.4f},{},{},\"valid\":{}}}",
      json_string(allocator), json_string(trace_name), json_string(layout), physical, page, r.ops, r.requests, r.failed,
      r.fixed_requests, r.fixed_failed, r.range_requests, r.range_failed, r.range_granted_bytes,
      r.range_preferred_bytes, r.resizes, r.resizes_failed, r.skipped, r.peak_live_bytes, r.peak_physical_bytes,
      r.metadata_bytes, r.metadata_charged, r.first_failure_op, r.success_rate(), r.granted_ratio(), memory_json(mem),
      grow_json(r.grow, r.grown_ratio()), r.valid_after);
}

int replay_command(const args& a) {
  const std::string path = a.text("trace");
  const std::vector<trace::op> ops = load_trace(path);
  const std::size_t physical = physical_of(a), page = a.page();
  const std::string which = a.text("allocator");
  const std::string layout_arg = a.text("layout", "auto");
  const vmh_options opt = vmh_options_of(a, charge_of(a));
  std::vector<bucket> layout;
  if (which == "vmh") layout = load_layout(layout_arg, physical, page, packed_for(opt, physical, page).bytes != 0);
  const std::unique_ptr<allocator> alloc = make_allocator(which, layout, physical, page, opt);
  memory_replay m = replay_memory(ops, *alloc, physical);
  split_moments(ops, *make_allocator(which, layout, physical, page, opt), physical, m.memory);
  write_file("-", replay_json(m.figures, m.memory, which, path, which == "vmh" ? layout_arg : "-", physical, page) + "\n");
  return m.figures.valid_after ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// compare

/// Replays the traces (trace files, or one per seed of a family) on every allocator at one
/// budget; prints a Markdown table of the means over the traces (success rate,
/// granted/preferred, peak physical, metadata) and, with --memory, one of the waste and the
/// powered banks; when the traces have `g` lines, a separate table of what they got (sums over
/// the traces), which leaves the first table as it is; or one JSON line per allocator with --json.
int compare(const args& a) {
  const std::size_t physical = physical_of(a), page = a.page();
  const vmh_options opt = vmh_options_of(a, charge_of(a));
  const std::vector<bucket> layout = load_layout(a.text("layout", "auto"), physical, page, packed_for(opt, physical, page).bytes != 0);
  const std::vector<named_trace> traces = load_traces(a, physical, "trace", "seeds", "1-3");
  const bool files = a.has("trace");
  struct row {
    const char* name;
    const char* allocator;
    report sum{};
    double success = 0, granted = 0;
    // Memory: sums over the traces (waste at failure over the traces that failed).
    std::size_t failing_seeds = 0, waste_failure = 0, waste_peak = 0, banks_peak = 0, floor_peak = 0;
    double banks_mean = 0, floor_mean = 0;
    bool exact = true;
    grow_report grow{};  ///< sums over the traces
    double grown = 0;    ///< granted/preferred with growth, summed over the traces like `granted`
    sram_mean sram_failure{}, sram_peak{};  ///< the SRAM splits (at failure: of the traces that failed)
  };
  // The baselines as models, each followed by the real code it models when the build has it
  // (cmake/third_party.cmake), then vmh.
  std::vector<row> rows;
  const bool models_only = a.has("models");  // the real code's rows cost a process call per operation
  const std::vector<std::string> real = models_only ? std::vector<std::string>{} : real_allocator_names();
  auto with_real = [&](const char* name, const char* model, const char* real_name, const char* real_allocator) {
    rows.push_back({name, model});
    if (std::find(real.begin(), real.end(), real_allocator) != real.end()) rows.push_back({real_name, real_allocator});
  };
  with_real("sys_heap + SOF loop (model)", "sys_heap", "sys_heap + SOF loop (real heap.c)", "zephyr_sys_heap");
  with_real("SOF VMH, production table (model)", "sof_vmh", "SOF VMH (real regions_mm.c)", "sof_vmh_real");
  with_real("SOF today: sys_heap + VMH (model)", "sof_today", "SOF today (real heap.c, regions_mm.c)", "sof_today_real");
  with_real("SOF vpage: sys_heap + page runs (model)", "sof_vpage", "SOF vpage (real vpage.c, records as it keeps them)",
            "sof_vpage_real");
  const std::string layout_arg = a.text("layout", "auto");
  const std::string vmh_name = layout_arg == "auto"  ? std::string("vmh (auto layout)")
                               : layout_arg == "sof" ? std::string("vmh (SOF's table)")
                                                     : "vmh (" + layout_arg + ")";
  rows.push_back({vmh_name.c_str(), "vmh"});
  // Notes about the rows go to standard error after the output is written (an output that
  // cannot be written is the one line an error gives).
  std::vector<std::string> notes;
  if (const std::string note = real_allocators_note(); !note.empty() && !models_only) notes.push_back(note);
  // A baseline that cannot take this budget at all (SOF's two heaps need a system heap large
  // enough for the VMH's bookkeeping) is left out with one line, the others are compared.
  std::erase_if(rows, [&](const row& w) {
    if (std::string_view(w.allocator) == "vmh") return false;
    try {
      make_allocator(w.allocator, layout, physical, page, opt);
      return false;
    } catch (const std::invalid_argument& e) {
      notes.push_back(std::string(e.what()) + "; its row is left out");
      return true;
    }
  });
  for (const named_trace& t : traces) {
    for (row& w : rows) {
      memory_replay m = replay_memory(t.ops, *make_allocator(w.allocator, layout, physical, page, opt), physical);
      if (a.has("memory") || a.has("json"))
        split_moments(t.ops, *make_allocator(w.allocator, layout, physical, page, opt), physical, m.memory);
      const report& r = m.figures;
      w.sum.requests += r.requests;
      w.sum.failed += r.failed;
      w.sum.peak_physical_bytes += r.peak_physical_bytes;
      w.sum.metadata_bytes += r.metadata_bytes;
      w.sum.metadata_charged = r.metadata_charged;
      w.success += r.success_rate();
      w.granted += r.granted_ratio();
      if (m.memory.at_failure.op >= 0) {
        ++w.failing_seeds;
        w.waste_failure += m.memory.at_failure.waste();
      }
      w.waste_peak += m.memory.at_peak.waste();
      w.banks_mean += m.memory.banks_mean;
      w.floor_mean += m.memory.floor_mean;
      w.banks_peak = std::max(w.banks_peak, m.memory.banks_peak);
      w.floor_peak = std::max(w.floor_peak, m.memory.floor_peak);
      w.exact = w.exact && m.memory.exact;
      w.grow.add(r.grow);
      w.grown += r.grown_ratio();
      w.sram_failure.add(m.memory.sram_at_failure);
      w.sram_peak.add(m.memory.sram_at_peak);
    }
  }
  const std::size_t count = traces.size();
  const double n = double(count);
  std::string out;
  auto failure_waste = [](const row& w) { return w.failing_seeds == 0 ? 0 : w.waste_failure / w.failing_seeds; };
  if (a.has("json")) {
    for (const row& w : rows)
      out += fmt::format(
                 "{{\"allocator\":{},\"family\":{},\"seeds\":{},\"traces\":{},\"physical_bytes\":{},\"page_size\":{},"
                 "\"requests\":{},"
                 "\"failed\":{},\"success_rate\":{:.4f},\"granted_ratio\":{:.4f},\"peak_physical_bytes\":{},"
                 "\"metadata_bytes\":{},\"metadata_charged\":{},\"seeds_failing\":{},\"waste_at_failure_bytes\":{},"
                 "\"waste_at_peak_bytes\":{},\"banks_mean\":{:.3f},\"banks_peak\":{},\"banks_floor_mean\":{:.3f},"
                 "\"banks_floor_peak\":{},\"banks_exact\":{},{},\"sram_at_failure\":{},\"sram_at_peak\":{}}}\n",
                 json_string(w.allocator), files ? "null" : json_string(a.text("family")),
                 files ? "null" : std::to_string(count), count, physical, page, w.sum.requests,
                 w.sum.failed, w.success / n, w.granted / n, w.sum.peak_physical_bytes / count,
                 w.sum.metadata_bytes / count, w.sum.metadata_charged, w.failing_seeds, failure_waste(w),
                 w.waste_peak / count, w.banks_mean / n, w.banks_peak, w.floor_mean / n, w.floor_peak, w.exact,
                 grow_json(w.grow, w.grown / n), sram_json(w.sram_failure.mean()), sram_json(w.sram_peak.mean()));
    write_file("-", out);
    for (const std::string& n : notes) fmt::print(stderr, "vmh-sim: {}\n", n);
    return 0;
  }
  out += fmt::format("| allocator | requests | failed | success | granted/preferred | peak physical | metadata |\n"
             "|---|---:|---:|---:|---:|---:|---:|\n");
  for (const row& w : rows)
    out += fmt::format("| {} | {} | {} | {:.2f}% | {:.1f}% | {} KiB | {} |\n", w.name, w.sum.requests, w.sum.failed,
               100.0 * w.success / n, 100.0 * w.granted / n, w.sum.peak_physical_bytes / count / 1024,
               metadata_text(w.sum.metadata_bytes / count, w.sum.metadata_charged));
  if (rows.front().grow.requests + rows[0].grow.skipped != 0) {  // every allocator sees the same g lines
    out += fmt::format("\nGrow-back (`g` lines), apart from the table above: the grow requests on live blocks (sums over\n"
               "the traces), those below preferred, the bytes they asked and gained, and the range grants'\n"
               "granted/preferred (means over the traces) as granted and at the largest size each grew to.\n\n"
               "| allocator | grow requests | below preferred | grown | reached preferred | bytes asked | bytes gained | "
               "gained/asked | granted/preferred | with growth |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const row& w : rows)
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.1f}% | {:.1f}% | {:.1f}% |\n", w.name, w.grow.requests,
                 w.grow.asking, w.grow.grown, w.grow.reached, svg::bytes_text(w.grow.asked_bytes),
                 svg::bytes_text(w.grow.gained_bytes), 100.0 * w.grow.gained_ratio(), 100.0 * w.granted / n,
                 100.0 * w.grown / n);
  }
  if (a.has("memory")) {
    out += fmt::format("\n| allocator | waste at first failure | waste at peak | metadata | banks powered (mean) | "
                       "banks powered (peak) | bank floor (mean) | bank floor (peak) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const row& w : rows)
      out += fmt::format("| {} | {} | {} | {} | {:.2f}{} | {} | {:.2f} | {} |\n", w.name,
                 w.failing_seeds == 0 ? std::string("no failure") : svg::bytes_text(failure_waste(w)),
                 svg::bytes_text(w.waste_peak / count),
                 metadata_text(w.sum.metadata_bytes / count, w.sum.metadata_charged), w.banks_mean / n,
                 w.exact ? "" : " (approx.)", w.banks_peak, w.floor_mean / n, w.floor_peak);
    std::vector<sram_row> split;
    for (const row& w : rows)
      for (const auto& [moment, mean] : {std::pair{"first failure", &w.sram_failure}, std::pair{"peak", &w.sram_peak}})
        split.push_back({w.name, fmt::format("{} ({} traces)", moment, mean->samples), mean->mean()});
    out += fmt::format("\nWhere the SRAM goes, in KiB (means over the traces; at the first failure over the traces that\n"
                       "failed; at the peak of mapped memory, for sys_heap of live bytes); each row adds up to the budget.\n\n{}",
                       sram_tables(split));
  }
  write_file("-", out);
  for (const std::string& n : notes) fmt::print(stderr, "vmh-sim: {}\n", n);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// layout

int layout_command(const args& a) {
  const std::size_t physical = physical_of(a), page = a.page();
  const std::vector<bucket> layout = require_auto_layout(physical, page);
  std::string out;
  if (a.has("json")) {
    const vmh_allocator v(layout, physical, page);
    out = fmt::format("{{\"physical_bytes\":{},\"page_size\":{},\"buckets\":{},\"virtual_bytes\":{},\"metadata_bytes\":{},"
                      "\"page_budget_bytes\":{}}}\n",
                      physical, page, layout_json(layout), check_layout(layout, page, packed_for({}, physical, page)).virtual_bytes,
                      v.metadata_bytes(),
                      v.page_budget());
  } else {
    for (const bucket& b : layout) out += fmt::format("{} {}\n", b.block_size, b.block_count);
  }
  write_file("-", out);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// plan

std::vector<plan::trace_case> cases_of(std::vector<named_trace> traces) {
  std::vector<plan::trace_case> cases;
  for (named_trace& t : traces) cases.push_back(plan::make_case(std::move(t.name), std::move(t.ops)));
  return cases;
}

std::size_t requests_of(const std::vector<plan::trace_case>& cases) {
  std::size_t n = 0;
  for (const plan::trace_case& c : cases) n += c.requests;
  return n;
}

/// One row of the planner's comparison: an allocator on the training and held-out traces.
struct comparison_row {
  std::string name;
  std::size_t buckets = 0, virtual_bytes = 0, metadata_bytes = 0;
  totals train, test;
  bool has_test = false;
};

totals vmh_totals(plan::evaluator& ev, const std::vector<bucket>& layout, std::size_t& virt, std::size_t& meta) {
  const plan::evaluation e = ev.evaluate(layout, SIZE_MAX, true);
  if (!e.s.valid || !e.valid_after) throw cli_error(std::string("layout failed: ") + to_string(e.error));
  virt = e.s.virtual_bytes;
  meta = e.s.metadata_bytes;
  totals t;
  t.requests = e.s.requests;
  t.failed = e.s.failed();
  t.granted = e.s.granted_bytes;
  t.preferred = e.s.preferred_bytes;
  t.requested_bytes = e.s.requested_bytes;
  t.satisfied_bytes = e.s.satisfied_bytes;
  return t;
}

totals baseline_totals(const std::vector<plan::trace_case>& cases, const std::string& which, std::size_t physical,
                       std::size_t page, metadata_charge charge = metadata_charge::charged) {
  totals t;
  for (const plan::trace_case& c : cases) {
    const std::unique_ptr<allocator> alloc = make_allocator(which, {}, physical, page, vmh_options{{}, charge, false});
    replay_into(t, c.ops, *alloc);
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
  auto cells = [](const totals& t) {
    return fmt::format(" {} | {:.2f}% | {:.2f}% | {:.1f}% |", t.failed, 100.0 * t.success(), 100.0 * t.bytes_ratio(),
                       100.0 * t.granted_ratio());
  };
  for (const comparison_row& r : rows) {
    out += fmt::format("| {} | {} | {} | {} |", r.name, r.buckets == 0 ? std::string("-") : std::to_string(r.buckets),
                       svg::bytes_text(r.virtual_bytes),
                       r.metadata_bytes == 0 ? std::string("-") : svg::bytes_text(r.metadata_bytes));
    out += cells(r.train);
    if (test) out += cells(r.test);
    out += "\n";
  }
  return out;
}

plan::options plan_options_of(const args& a, std::size_t physical, std::size_t page) {
  plan::options opt;
  opt.physical = physical;
  opt.page = page;
  opt.max_buckets = a.number_in("max-buckets", max_buckets, 1, max_buckets);
  opt.max_virtual = a.number_in("virtual", max_virtual_size, 1, max_virtual_size);
  opt.evaluations = a.number_in("evals", opt.evaluations, 1, 100'000'000);
  opt.headroom_pct = static_cast<unsigned>(a.number_in("headroom", opt.headroom_pct, 0, 1000));
  opt.rng_seed = a.number("rng", 1);
  const std::string goal = a.text("objective", "bytes");
  if (goal != "requests" && goal != "bytes") throw cli_error("--objective must be requests or bytes, not '" + goal + "'");
  opt.goal = goal == "bytes" ? plan::objective::bytes : plan::objective::requests;
  return opt;
}

/// A progress line on a terminal: candidates replayed, best so far, time left.
plan::progress_handler progress_line() {
  if (isatty(fileno(stderr)) == 0) return {};
  return [](const plan::progress& p) {
    const double left = p.evaluations == 0 ? 0 : p.seconds * double(p.budget - std::min(p.budget, p.evaluations)) /
                                                     double(p.evaluations);
    std::fprintf(stderr, "\rplan: %zu of %zu layouts replayed, best %zu of %zu requests (%.2f%%), about %.0f s left   ",
                 p.evaluations, p.budget, p.best.satisfied, p.best.requests, 100.0 * p.best.success(), left);
    std::fflush(stderr);
  };
}

/// What the planner's layout is compared with, read before the search so that a bad argument
/// is refused before the search runs: --compare layouts and the held-out traces.
struct plan_references {
  std::vector<std::pair<std::string, std::vector<bucket>>> layouts;
  std::vector<plan::trace_case> holdout;
  bool has_holdout = false;
};

plan_references plan_references_of(const args& a, std::size_t physical, std::size_t page, bool packed) {
  plan_references refs;
  for (const std::string& arg : a.all("compare")) {
    const named_path np = parse_named_path(arg, "vmh ");
    refs.layouts.emplace_back(np.name, load_layout(np.path, physical, page, packed));
  }
  refs.has_holdout = a.has("holdout") || a.has("holdout-trace");
  if (refs.has_holdout) refs.holdout = cases_of(load_traces(a, physical, "holdout-trace", "holdout"));
  return refs;
}

/// The planner's comparison of its layout with auto, SOF's table, the --compare layouts and the
/// baselines, on the training and held-out traces; `missing` names the baselines that cannot
/// exist with this budget or page.
std::vector<comparison_row> plan_comparison(const plan_references& refs, const plan::result& res, plan::evaluator& ev,
                                            std::size_t physical, std::size_t page, const vmh_options& opt,
                                            std::string& missing) {
  plan::evaluator test_ev(refs.holdout, physical, page, opt);
  const std::vector<bucket> sof_layout(presets::sof_table.buckets, presets::sof_table.buckets + presets::sof_table.size());
  std::vector<std::pair<std::string, std::vector<bucket>>> layouts = {
      {"vmh (planned)", res.best.layout}, {"vmh (auto)", res.automatic.layout}};
  if (page == presets::sof_table.page_size) layouts.emplace_back("vmh (SOF's table)", sof_layout);
  layouts.insert(layouts.end(), refs.layouts.begin(), refs.layouts.end());
  std::vector<comparison_row> rows;
  for (const auto& [name, layout] : layouts) {
    comparison_row r;
    r.name = name;
    r.buckets = layout.size();
    r.train = vmh_totals(ev, layout, r.virtual_bytes, r.metadata_bytes);
    if (refs.has_holdout) {
      std::size_t v = 0, m = 0;
      r.test = vmh_totals(test_ev, layout, v, m);
      r.has_test = true;
    }
    rows.push_back(r);
  }
  const char* baselines[][2] = {{"SOF VMH (production table) + loop", "sof_vmh"}, {"sys_heap + SOF's loop", "sys_heap"}};
  for (const auto& [name, which] : baselines) {
    try {
      make_allocator(which, {}, physical, page);
    } catch (const std::invalid_argument& e) {
      missing += fmt::format("not compared: {}\n", e.what());
      continue;
    }
    comparison_row r;
    r.name = name;
    const bool sys = std::string_view(which) == "sys_heap";
    r.virtual_bytes = sys ? physical : std::size_t{1} << 20;
    r.buckets = sys ? 0 : std::size(baseline::sof_production_table);
    r.train = baseline_totals(ev.cases(), which, physical, page);
    if (refs.has_holdout) {
      r.test = baseline_totals(refs.holdout, which, physical, page);
      r.has_test = true;
    }
    rows.push_back(r);
  }
  return rows;
}

std::string totals_json(const totals& t) {
  return fmt::format("{{\"requests\":{},\"failed\":{},\"success_rate\":{:.4f},\"requested_bytes\":{},"
                     "\"satisfied_bytes\":{},\"bytes_ratio\":{:.4f},\"granted_bytes\":{},\"preferred_bytes\":{},"
                     "\"granted_ratio\":{:.4f}}}",
                     t.requests, t.failed, t.success(), t.requested_bytes, t.satisfied_bytes, t.bytes_ratio(), t.granted,
                     t.preferred, t.granted_ratio());
}

std::string score_json(const plan::score& s) {
  return fmt::format("{{\"requests\":{},\"satisfied\":{},\"success_rate\":{:.4f},\"requested_bytes\":{},"
                     "\"satisfied_bytes\":{},\"granted_bytes\":{},\"preferred_bytes\":{},\"granted_ratio\":{:.4f},"
                     "\"virtual_bytes\":{},\"metadata_bytes\":{}}}",
                     s.requests, s.satisfied, s.success(), s.requested_bytes, s.satisfied_bytes, s.granted_bytes,
                     s.preferred_bytes, s.granted(), s.virtual_bytes, s.metadata_bytes);
}

/// The planner's result as one line of JSON: the budget, the traces, the search, the planned
/// and auto layouts with their scores, and the comparison's rows.
std::string plan_json(const plan::result& res, const plan::options& opt, const vmh_options& vopt, packed_region packed,
                      const std::vector<named_trace>& traces, const std::vector<comparison_row>& rows) {
  std::string names, table;
  for (const named_trace& t : traces) names += (names.empty() ? "" : ",") + json_string(t.name);
  for (const comparison_row& r : rows)
    table += fmt::format("{}{{\"name\":{},\"buckets\":{},\"virtual_bytes\":{},\"metadata_bytes\":{},\"training\":{},"
                         "\"held_out\":{}}}",
                         table.empty() ? "" : ",", json_string(r.name), r.buckets, r.virtual_bytes, r.metadata_bytes,
                         totals_json(r.train), r.has_test ? totals_json(r.test) : "null");
  return fmt::format(
      "{{\"physical_bytes\":{},\"page_size\":{},\"packed\":{{\"auto\":{},\"bytes\":{},\"limit\":{},\"granule\":{}}},"
      "\"traces\":[{}],\"objective\":\"{}\",\"rng\":{},\"evaluations\":{},"
      "\"seeds\":{},\"pruned\":{},\"seconds\":{:.3f},\"planned\":{{\"origin\":{},\"layout\":{},\"score\":{}}},"
      "\"auto\":{{\"layout\":{},\"score\":{}}},\"comparison\":[{}]}}\n",
      opt.physical, opt.page, vopt.packed_auto, packed.bytes, packed.limit, packed.granule, names, opt.goal == plan::objective::bytes ? "bytes" : "requests", opt.rng_seed,
      res.evaluations, res.seeds, res.pruned, res.seconds, json_string(res.best.origin), layout_json(res.best.layout),
      score_json(res.best.eval.s), layout_json(res.automatic.layout), score_json(res.automatic.eval.s), table);
}

int plan_command(const args& a) {
  const std::size_t physical = physical_of(a), page = a.page();
  // vmh as replay and compare run it (--policy, --packed, default auto); the budget and the
  // packed region are checked as they check them, before the search.
  const vmh_options vopt = vmh_options_of(a, metadata_charge::charged);
  const packed_region packed = packed_for(vopt, physical, page);
  make_allocator("vmh", require_auto_layout(physical, page, packed.bytes != 0), physical, page, vopt);
  const plan::options opt = plan_options_of(a, physical, page);
  const bool json = a.has("json");
  // With --json the JSON has standard output and the layout file is written only to --out FILE.
  const std::string out_path = a.text("out", json ? "" : "-"), cxx_path = a.text("cxx", "");
  if (out_path == "-" && cxx_path == "-")
    throw cli_error("--cxx - and the layout file both go to standard output: give --out FILE for the layout");
  if (json && (out_path == "-" || cxx_path == "-"))
    throw cli_error("--json and --out - or --cxx - all go to standard output: give a file");
  for (const std::string& path : {out_path, cxx_path})  // refused now, not after the search
    if (!path.empty()) check_writable(path);
  const std::vector<named_trace> traces = load_traces(a, physical);
  const plan_references refs = plan_references_of(a, physical, page, packed.bytes != 0);
  std::string names;
  for (const named_trace& t : traces) names += (names.empty() ? "" : ", ") + t.name;

  plan::evaluator ev(cases_of(traces), physical, page, vopt);
  plan::planner planner(ev, opt);
  const plan::progress_handler progress = progress_line();
  const plan::result res = planner.run(progress);
  if (progress) std::fprintf(stderr, "\r\033[K");
  const plan::score& best = res.best.eval.s;
  if (!res.best.eval.valid_after) throw cli_error("the planned layout failed heap::validate");

  const std::vector<std::string> comments = {
      fmt::format("vmh-sim plan: {} of SRAM (metadata charged), {}-byte pages, {} trace(s): {}",
                  svg::bytes_text(physical), page, traces.size(), names),
      fmt::format("vmh: --packed {}; replay this layout with the same --physical and --packed to get these figures",
                  packed_text(vopt, packed)),
      fmt::format("planned: {}", plan::describe(best)),
      fmt::format("auto:    {}", plan::describe(res.automatic.eval.s)),
      fmt::format("search: {} layouts replayed ({} seeds, {} stopped early), --objective {}, --rng {}; best from {}",
                  res.evaluations, res.seeds, res.pruned, opt.goal == plan::objective::bytes ? "bytes" : "requests",
                  opt.rng_seed, res.best.origin)};
  std::string missing;
  const std::vector<comparison_row> rows = plan_comparison(refs, res, ev, physical, page, vopt, missing);
  // The outputs first: a failed write is the one error line, after no other.
  if (!out_path.empty()) write_file(out_path, plan::layout_file(res.best.layout, comments));
  if (!cxx_path.empty())
    write_file(cxx_path, plan::cxx_declaration(res.best.layout, a.text("name", "planned_table"), page, comments, packed));
  if (json) write_file("-", plan_json(res, opt, vopt, packed, traces, rows));
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
  std::fprintf(stderr, "\n%s%s", comparison_table(rows).c_str(), missing.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// map

int map_command(const args& a) {
  const std::size_t physical = physical_of(a), page = a.page();
  const vmh_options opt = vmh_options_of(a, metadata_charge::charged);
  const std::string layout_arg = a.text("layout", "auto");
  const std::vector<bucket> layout = load_layout(layout_arg, physical, page, packed_for(opt, physical, page).bytes != 0);
  std::string name;
  std::vector<trace::op> ops;
  if (a.has("trace")) {
    name = a.text("trace");
    ops = load_trace(name);
  } else {
    const std::string family = family_of(a);
    const std::size_t seed = a.number_in("seed", 1, 1, SIZE_MAX);
    name = family + " seed " + std::to_string(seed);
    ops = family_trace(family, seed, family_params_of(a, physical));
  }
  if (ops.empty()) throw cli_error(name + ": empty trace");
  const std::string at = a.text("at", "end");
  const std::size_t index = pick_operation(ops, at, layout, physical, page, opt);
  heap_snapshot snap = snapshot_at(ops, index, layout, physical, page, opt);
  snap.picture.max_cells = a.number_in("max-cells", snap.picture.max_cells, 1, 100000);
  const layout_check facts = check_layout(layout, page, packed_for(opt, physical, page));
  snap.picture.title = fmt::format("vmh heap: {} after operation {} of {}{}", name, index, ops.size(),
                                   at == "peak" ? " (peak physical)" : at == "fail" ? " (first failure)" : "");
  snap.picture.subtitle = fmt::format(
      "layout {}: {} buckets, {} virtual, {} metadata; {} requests so far, {} failed, {} live allocations", layout_arg,
      layout.size(), svg::bytes_text(facts.virtual_bytes), svg::bytes_text(snap.figures.metadata_bytes),
      snap.figures.requests, snap.figures.failed, snap.picture.live.size());
  const svg::map_model model(snap.picture);
  if (model.mapped_pages * page != snap.committed)
    throw cli_error(fmt::format("map: {} pages drawn as mapped but the heap maps {} bytes", model.mapped_pages, snap.committed));
  const std::string svg_path = json_output(a);
  if (!svg_path.empty()) write_file(svg_path, svg::heap_map(snap.picture));
  if (a.has("json")) {
    std::string buckets, failed = "null";
    for (std::size_t k = 0; k < snap.picture.buckets.size(); ++k) {
      const svg::map_bucket& b = snap.picture.buckets[k];
      std::size_t starts = 0, mapped = 0;
      for (const std::uint8_t u : model.used[k]) starts += u != 0;
      for (const std::size_t m : model.mapped[k]) mapped += m;
      buckets += fmt::format("{}{{\"block_size\":{},\"count\":{},\"offset\":{},\"allocations\":{},\"mapped_bytes\":{}}}",
                             k == 0 ? "" : ",", b.block_size, b.block_count, b.offset, starts, mapped);
    }
    if (snap.picture.failed_size != 0) {
      const trace::op& o = ops[index];
      failed = o.kind == trace::op_kind::range
                   ? fmt::format("{{\"kind\":\"range\",\"min\":{},\"preferred\":{},\"align\":{}}}", o.size, o.preferred, o.align)
                   : fmt::format("{{\"kind\":\"fixed\",\"size\":{},\"align\":{}}}", o.size, o.align);
    }
    std::size_t live_bytes = 0;
    for (const svg::map_allocation& l : snap.picture.live) live_bytes += l.size;
    write_file("-", fmt::format(
                        "{{\"trace\":{},\"op\":{},\"ops\":{},\"at\":{},\"layout\":{},\"physical_bytes\":{},\"page_size\":{},"
                        "\"page_budget_bytes\":{},\"virtual_bytes\":{},\"metadata_bytes\":{},\"mapped_bytes\":{},"
                        "\"requests\":{},\"failed\":{},\"live_allocations\":{},\"live_bytes\":{},\"buckets\":[{}],"
                        "\"failed_request\":{}}}\n",
                        json_string(name), index, ops.size(), json_string(at), json_string(layout_arg), physical, page,
                        snap.picture.physical, facts.virtual_bytes, snap.figures.metadata_bytes, snap.committed,
                        snap.figures.requests, snap.figures.failed, snap.picture.live.size(), live_bytes, buckets, failed));
  }
  std::fprintf(stderr, "map: operation %zu of %zu, %zu live allocations, %zu of %zu bytes mapped, %zu requests failed%s\n",
               index, ops.size(), snap.picture.live.size(), snap.committed, snap.picture.physical, snap.figures.failed,
               snap.picture.failed_size == 0 ? ""
                                             : fmt::format("; it failed: {}", snap.picture.failed_request).c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// curve

int curve(const args& a) {
  std::vector<std::size_t> budgets;
  if (a.has("budgets")) {
    budgets = parse_list(a.text("budgets"), "--budgets");
  } else {
    const std::size_t from = a.number("from", 128 * 1024), to = a.number("to", 1024 * 1024),
                      step = a.number("step", 64 * 1024);
    if (step == 0 || from == 0 || to < from) throw cli_error("--from, --to and --step must give at least one budget");
    if ((to - from) / step >= 10000) throw cli_error("--from, --to and --step give more than 10000 budgets");
    for (std::size_t b = from; b <= to; b += step) {
      budgets.push_back(b);
      if (b > SIZE_MAX - step) break;
    }
  }
  std::sort(budgets.begin(), budgets.end());
  if (budgets.front() == 0) throw cli_error("--budgets: a budget of 0 bytes");
  const std::size_t page = a.page();
  std::vector<std::vector<bucket>> automatic;  // every budget checked before any replay
  const metadata_charge charge = charge_of(a);
  const vmh_options opt = vmh_options_of(a, charge);
  for (const std::size_t budget : budgets)
    automatic.push_back(require_auto_layout(budget, page, packed_for(opt, budget, page).bytes != 0));
  const std::string svg_path = json_output(a);
  // The stress family's fill target is relative to a budget of its own (not the replayed one).
  const std::vector<named_trace> traces = load_traces(a, a.number_in("fill-budget", stress_default_physical, 1, SIZE_MAX));
  const std::vector<plan::trace_case> cases = cases_of(traces);

  std::vector<std::pair<std::string, std::vector<bucket>>> extras;
  for (const std::string& arg : a.all("layout")) {
    const named_path np = parse_named_path(arg, "vmh ");
    extras.emplace_back(np.name, load_layout(np.path, budgets.back(), page));
  }
  std::vector<svg::series> lines = {{"sys_heap + SOF's loop", svg::palette(0), {}, {}},
                                    {"SOF VMH (production table)", svg::palette(1), {}, {}},
                                    {"vmh (auto layout)", svg::palette(2), {}, {}}};
  for (std::size_t i = 0; i < extras.size(); ++i) lines.push_back({extras[i].first, svg::palette(3 + i), {}, {}});
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    const std::size_t budget = budgets[i];
    plan::evaluator ev(cases, budget, page, opt);
    auto push = [&](std::size_t k, double success, double granted) {
      lines[k].success.push_back(success);
      lines[k].granted.push_back(granted);
    };
    for (std::size_t k = 0; k < 2; ++k) {
      const totals t = baseline_totals(cases, k == 0 ? "sys_heap" : "sof_vmh", budget, page, charge);
      push(k, t.success(), t.granted_ratio());
    }
    auto vmh_point = [&](std::size_t k, const std::vector<bucket>& layout) {
      const plan::evaluation e = ev.evaluate(layout);
      if (!e.s.valid) throw cli_error(lines[k].name + ": unusable layout: " + to_string(e.error));
      push(k, e.s.success(), e.s.granted());
    };
    vmh_point(2, automatic[i]);
    for (std::size_t i = 0; i < extras.size(); ++i) vmh_point(3 + i, extras[i].second);
  }

  std::string names = traces.size() == 1 ? traces.front().name : fmt::format("{} traces", traces.size());
  if (a.has("family") && !a.has("trace")) names = fmt::format("{} family, seeds {}", a.text("family"), a.text("seeds", "1"));
  svg::curve_input in;
  in.title = "Requests satisfied and granted/preferred against the physical budget";
  in.subtitle = fmt::format("{} ({} requests); vmh's auto layout is derived for each budget{}", names,
                            requests_of(cases), charge == metadata_charge::charged ? ", its metadata charged" : "");
  in.budgets = budgets;
  in.lines = lines;
  if (!svg_path.empty()) write_file(svg_path, svg::budget_curve(in));
  if (a.has("json")) {  // one line per allocator (or layout) and budget
    std::string out;
    for (const svg::series& l : lines)
      for (std::size_t i = 0; i < budgets.size(); ++i)
        out += fmt::format("{{\"series\":{},\"physical_bytes\":{},\"page_size\":{},\"metadata_charged\":{},"
                           "\"success_rate\":{:.4f},\"granted_ratio\":{:.4f}}}\n",
                           json_string(l.name), budgets[i], page, charge == metadata_charge::charged, l.success[i],
                           l.granted[i]);
    write_file("-", out);
    return 0;
  }

  // The same figures as a Markdown table (on standard error when the SVG goes to standard output).
  std::string table = "| budget |";
  for (const auto& l : lines) table += " " + l.name + " |";
  table += "\n|---:|";
  for (std::size_t k = 0; k < lines.size(); ++k) table += "---:|";
  table += "\n";
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    table += "| " + svg::bytes_text(budgets[i]) + " |";
    for (const auto& l : lines) table += fmt::format(" {:.2f}% / {:.1f}% |", 100.0 * l.success[i], 100.0 * l.granted[i]);
    table += "\n";
  }
  if (a.text("out", "-") == "-") std::fprintf(stderr, "success / granted per budget:\n%s", table.c_str());
  else write_file("-", "success / granted per budget:\n" + table);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// auto-study: variants of presets::auto_params (ratio, over-commit, count cap, smallest block)
// on families 1-3 at several budgets, next to the planner's best layout for each, ranked by:
// total excess failures (percentage points of each workload's requests above the best variant
// there), then mean granted/preferred, then mean cost relative to auto.

struct study_scenario {
  std::string name, family;
  std::size_t physical;
  unsigned target;
};

struct study_variant {
  std::string name;
  presets::geometric_params p;
  bool pow2_small = false;  ///< powers of two below a page, the ratio from a page up
  std::vector<plan::score> scores;
  double regret = 0, granted = 0, cost = 0;
};

std::vector<study_variant> study_variants(std::size_t page, bool full_grid) {
  std::vector<study_variant> variants;
  const presets::geometric_params rule = presets::auto_params(1u << 20, page);
  variants.push_back({fmt::format("auto_params (the auto rule: {}/{}, x{}/{}, cap {}, from {} B)", rule.ratio_num,
                                  rule.ratio_den, rule.overcommit_num, rule.overcommit_den, rule.max_count, rule.min_block),
                      rule, false, {}});
  const std::size_t ratios[][2] = {{5, 4}, {4, 3}, {3, 2}, {2, 1}};
  const std::size_t overcommits[][2] = {{1, 4}, {1, 2}, {1, 1}, {2, 1}};
  for (const auto& r : ratios)
    for (const auto& o : overcommits)
      for (const std::size_t cap : {64u, 256u, 1024u, 4096u})
        for (const std::size_t min_block : {16u, 64u})
          for (const bool pow2_small : {false, true}) {
            if (pow2_small && r[0] == 2 * r[1]) continue;  // the same as ratio 2
            if (!full_grid && (cap == 64 || min_block == 64)) continue;
            const presets::geometric_params p = plan::geometric_variant(1u << 20, page, r, o, cap, min_block);
            variants.push_back({fmt::format("{}{}/{}, x{}/{}, cap {}, from {} B", pow2_small ? "2/1 below a page, then " : "",
                                            r[0], r[1], o[0], o[1], cap, min_block),
                                p, pow2_small, {}});
          }
  return variants;
}

/// The layout of a variant for a budget.
std::vector<bucket> study_layout(const study_variant& v, std::size_t physical, std::size_t page) {
  presets::geometric_params p = v.p;
  p.physical_bytes = physical;
  if (!v.pow2_small) return geometric_layout(p);
  presets::geometric_params small = p, large = p;
  small.ratio_num = 2;
  small.ratio_den = 1;
  small.max_block = page;
  large.min_block = page;
  std::vector<bucket> l = geometric_layout(small);
  if (!l.empty()) l.pop_back();  // the page-sized bucket comes again first in the large part
  for (const bucket& b : geometric_layout(large)) l.push_back(b);
  plan::normalize(l, page);
  return l;
}

/// Adds each variant's excess failures, granted/preferred and cost to its totals.
void rank_variants(std::vector<study_variant>& variants, std::size_t scenarios) {
  std::size_t ranged = 0;  // workloads with range requests: the granted/preferred mean is over them
  for (std::size_t k = 0; k < scenarios; ++k) ranged += variants.front().scores[k].preferred_bytes != 0;
  for (std::size_t k = 0; k < scenarios; ++k) {
    std::size_t best = 0;
    for (const study_variant& v : variants) best = std::max(best, v.scores[k].satisfied);
    for (study_variant& v : variants) {
      const plan::score& s = v.scores[k];
      v.regret += s.valid ? 100.0 * double(best - s.satisfied) / double(s.requests) : 100.0;
      if (s.preferred_bytes != 0) v.granted += s.granted() / double(ranged);
      v.cost += double(s.cost()) / double(variants.front().scores[k].cost()) / double(scenarios);
    }
  }
}

int auto_study(const args& a) {
  const std::vector<study_scenario> scenarios = {
      {"seed 96K", "seed", 96 * 1024, 0},      {"sof 256K", "sof", 256 * 1024, 0},
      {"sof 448K", "sof", 448 * 1024, 0},      {"sof 512K", "sof", 512 * 1024, 0},
      {"sof 1M", "sof", 1024 * 1024, 0},       {"sof 2M", "sof", 2048 * 1024, 0},
      {"stress 50% 64K", "stress", 64 * 1024, 50}, {"stress 95% 64K", "stress", 64 * 1024, 95},
      {"churn 256K", "churn", 256 * 1024, 0}};
  const std::vector<std::size_t> seeds = parse_seeds(a.text("seeds", "1-5"), "--seeds");
  const std::size_t plan_evals = a.number_in("plan-evals", 1000, 0, 100'000'000);
  const std::string grid = a.text("grid", "small");
  if (grid != "small" && grid != "full") throw cli_error("--grid must be small or full, not '" + grid + "'");
  const std::size_t page = default_page_size;
  std::vector<study_variant> variants = study_variants(page, grid == "full");

  std::vector<plan::score> planned;
  std::vector<std::string> planned_shape;
  for (const study_scenario& sc : scenarios) {
    std::vector<plan::trace_case> cases;
    family_params p;
    p.target = sc.target;
    p.physical = sc.physical;
    for (const std::size_t seed : sc.family == "seed" ? std::vector<std::size_t>{1} : seeds)
      cases.push_back(plan::make_case(fmt::format("{} seed {}", sc.family, seed), family_trace(sc.family, seed, p)));
    plan::evaluator ev(std::move(cases), sc.physical, page);
    for (study_variant& v : variants) v.scores.push_back(ev.evaluate(study_layout(v, sc.physical, page)).s);
    if (plan_evals != 0) {
      plan::options opt;
      opt.physical = sc.physical;
      opt.page = page;
      opt.evaluations = plan_evals;
      plan::planner planner(ev, opt);
      const plan::result res = planner.run();
      planned.push_back(res.best.eval.s);
      planned_shape.push_back(fmt::format("{}: {} buckets, {} virtual, from {}", sc.name, res.best.layout.size(),
                                          svg::bytes_text(res.best.eval.s.virtual_bytes), res.best.origin));
    }
    std::fprintf(stderr, "auto-study: %s done\n", sc.name.c_str());
  }
  rank_variants(variants, scenarios.size());
  std::vector<std::size_t> order(variants.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](const study_variant& v) {
    return std::tuple{std::lround(v.regret * 100), -std::lround(v.granted * 1000), v.cost};
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return key(variants[x]) < key(variants[y]); });

  std::string out = "| rank | rule (ratio, over-commit, count cap, smallest block) |";
  for (const study_scenario& sc : scenarios) out += " " + sc.name + " |";
  out += " excess failures | granted/preferred | cost vs today | virtual at 1M |\n|---:|---|";
  for (std::size_t k = 0; k < scenarios.size(); ++k) out += "---:|";
  out += "---:|---:|---:|---:|\n";
  const std::size_t shown = a.number("top", 12);
  std::size_t one_mib = 0;
  for (std::size_t k = 0; k < scenarios.size(); ++k)
    if (scenarios[k].name == "sof 1M") one_mib = k;
  std::string json;  // --json: one line per row
  auto row = [&](const std::string& rank, const std::string& name, const std::vector<plan::score>& sc, double regret,
                 double granted, double cost) {
    std::string failed;
    for (std::size_t k = 0; k < sc.size(); ++k)
      failed += fmt::format("{}{}:{}", k == 0 ? "" : ",", json_string(scenarios[k].name), sc[k].failed());
    json += fmt::format("{{\"rank\":{},\"rule\":{},\"failed\":{{{}}},\"excess_failures_pct_points\":{:.2f},"
                        "\"granted_ratio\":{:.4f},\"cost_vs_auto\":{:.4f},\"virtual_bytes_at_1m\":{}}}\n",
                        rank == "-" ? "null" : rank, json_string(name), failed, regret, granted, cost,
                        sc[one_mib].virtual_bytes);
    out += "| " + rank + " | " + name + " |";
    for (const plan::score& s : sc) out += fmt::format(" {} |", s.failed());
    out += fmt::format(" {:.2f} | {:.1f}% | {:.2f} | {} |\n", regret, 100.0 * granted, cost,
                       svg::bytes_text(sc[one_mib].virtual_bytes));
  };
  for (std::size_t r = 0; r < order.size(); ++r) {
    const study_variant& v = variants[order[r]];
    if (r < shown || order[r] == 0) row(std::to_string(r + 1), v.name, v.scores, v.regret, v.granted, v.cost);
  }
  if (!planned.empty()) {
    // The planner's row against the variants' bests (it is not one of them).
    double regret = 0, granted = 0, cost = 0;
    std::size_t ranged = 0;
    for (std::size_t k = 0; k < scenarios.size(); ++k) ranged += variants.front().scores[k].preferred_bytes != 0;
    for (std::size_t k = 0; k < scenarios.size(); ++k) {
      std::size_t best = 0;
      for (const study_variant& v : variants) best = std::max(best, v.scores[k].satisfied);
      regret += 100.0 * (double(best) - double(planned[k].satisfied)) / double(planned[k].requests);
      if (planned[k].preferred_bytes != 0) granted += planned[k].granted() / double(ranged);
      cost += double(planned[k].cost()) / double(variants.front().scores[k].cost()) / double(scenarios.size());
    }
    row("-", "planner, one layout per workload", planned, regret, granted, cost);
  }
  if (a.has("json")) {
    write_file("-", json);
    return 0;
  }
  std::string text = fmt::format("Failed requests per workload (sof: seeds {}; stress: the same seeds, 20000 steps); a workload's\n"
                                 "excess is its failures above the best rule's, in percentage points of its requests.\n\n{}",
                                 a.text("seeds", "1-5"), out);
  for (const std::string& s : planned_shape) text += fmt::format("\n- planned {}", s);
  write_file("-", text + "\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The command table

constexpr option_spec trace_options[] = {{"trace", false, true}, {"family", false, false}, {"seeds", false, false},
                                         {"steps", false, false}, {"target", false, false}, {"max-size", false, false},
                                         {"max-live", false, false}, {"grow", false, false}};

struct command {
  std::string_view name;
  int (*run)(const args&);
  std::vector<option_spec> options;
  bool takes_traces;  ///< also accepts trace_options
  std::string_view usage;
};

const std::vector<command>& commands() {
  static const std::vector<command> table = {
      {"gen", gen,
       {{"family"}, {"seed"}, {"steps"}, {"target"}, {"physical"}, {"max-size"}, {"max-live"}, {"grow"}},
       false,
       "vmh-sim gen --family seed|sof|grow|stress|churn [--seed N] [--steps N] [--target PCT] [--physical BYTES]\n"
       "            [--max-size BYTES] [--max-live N] [--grow PCT]\n"
       "  Writes one trace of a workload family to standard output. --seed (default 1) picks the trace;\n"
       "  --steps the operations (sof and grow 2000, stress and churn 20000); --target (stress, 1-100,\n"
       "  default 50) the fill of --physical (default 64K) it aims at; --max-size the largest stress\n"
       "  request (16K); --max-live the most live churn blocks (32); --grow (grow, 0-100, default 50) the\n"
       "  chance in percent that an open pipeline asks to deepen its host buffer after a close.\n"},
      {"replay", replay_command,
       {{"trace"}, {"allocator"}, {"physical"}, {"layout"}, {"page"}, {"policy"}, {"packed"}, {"uncharged", true}, {"json", true}},
       false,
       "vmh-sim replay --trace FILE --allocator A --physical BYTES [--layout auto|sof|FILE]\n"
       "               [--page BYTES] [--policy P] [--packed R] [--uncharged] [--json]\n"
       "  Replays a trace on one allocator with BYTES of SRAM and prints one JSON line (--json changes\n"
       "  nothing: it is accepted as by every report). A: vmh, the models sys_heap, sof_vmh, sof_today,\n"
       "  sof_vpage, and, when the build has the third-party sources, the real code zephyr_sys_heap,\n"
       "  sof_vmh_real, sof_today_real, sof_vpage_real (docs/baselines.md). P (range policy): default (the reserve rule),\n"
       "  greedy, share:N/D, adaptive:N/D (0 < N <= D) or reserve:K:N/D (1 <= K <= 1024, 0 <= N <= D).\n"
       "  R (vmh's packed region, where fixed requests up to its limit and range grants below a page are\n"
       "  placed exactly): auto (the budget, 16 KiB limit, 16 B granules), none, or BYTES[:LIMIT[:GRANULE]].\n"
       "  The allocator's metadata outside its buffers is taken from the budget (pages = budget -\n"
       "  metadata, rounded down to a page); --uncharged gives the buffers the whole budget. Keys:\n"
       "  skipped = e/f/g lines of requests that failed, not run; waste = committed minus live bytes, at\n"
       "  the first failure and at the peak; banks = the 128 KiB SRAM banks spanned, powered (mean over\n"
       "  the operations, peak), and their floor, the fewest banks that could hold the mapped pages;\n"
       "  banks.exact = the page model matched the heap's mapped bytes after every operation (false:\n"
       "  the bank figures are approximate); sram_at_failure, sram_at_peak = the SRAM split: the budget\n"
       "  as live requested bytes, rounding, free bytes in mapped pages, metadata and unmapped pages\n"
       "  (docs/vmh-sim.md); grow = what the trace's grow lines (g) got.\n"
       "  Exit 1 if the allocator's own validation fails afterwards.\n"},
      {"compare", compare,
       {{"physical"}, {"layout"}, {"page"}, {"policy"}, {"packed"}, {"uncharged", true}, {"json", true}, {"memory", true},
        {"models", true}},
       true,
       "vmh-sim compare TRACES --physical BYTES [--layout L] [--page BYTES] [--policy P] [--packed R]\n"
       "                [--uncharged] [--memory] [--models] [--json]\n"
       "  Replays the traces (--trace FILE..., or the seeds of a family, default 1-3) on sys_heap + SOF's\n"
       "  loop, SOF's VMH, what SOF runs today (sof_today), SOF's page runs (sof_vpage), each with its\n"
       "  real code when the build has it, and vmh at one budget, metadata charged; prints a Markdown table of the means\n"
       "  over the traces (--memory: and one of the waste and the powered 128 KiB SRAM banks, each as a\n"
       "  mean over the operations and a peak, and their floor, the fewest banks that could hold the\n"
       "  mapped pages; \"(approx.)\" when the page model lost track of the heap; then the SRAM split at\n"
       "  the first failure and at the peak; traces with grow lines: and one of what the grow requests\n"
       "  got), or one JSON line per allocator. --models: the models only, without the real code's rows\n"
       "  (each of their operations is a call into a separate 32-bit process: far slower).\n"},
      {"layout", layout_command,
       {{"physical"}, {"page"}, {"json", true}},
       false,
       "vmh-sim layout --physical BYTES [--page BYTES] [--json]\n"
       "  Prints the auto layout for the budget as a layout file (`<block_size> <count>` per line), or\n"
       "  as one JSON line with its virtual size, its metadata and the page budget it leaves.\n"},
      {"plan", plan_command,
       {{"physical"}, {"page"}, {"max-buckets"}, {"virtual"}, {"evals"}, {"headroom"}, {"rng"}, {"policy"},
        {"objective"}, {"packed"}, {"out"}, {"cxx"}, {"name"}, {"holdout"}, {"holdout-trace", false, true},
        {"compare", false, true}, {"json", true}},
       true,
       "vmh-sim plan TRACES --physical BYTES [--page BYTES] [--max-buckets N] [--virtual BYTES] [--evals N]\n"
       "             [--headroom PCT] [--rng N] [--policy P] [--packed R] [--objective bytes|requests] [--out FILE]\n"
       "             [--cxx FILE [--name ID]] [--holdout LIST | --holdout-trace FILE...] [--compare [NAME=]FILE...]\n"
       "             [--json]\n"
       "  Searches the layout that serves the traces best with BYTES of SRAM (its metadata charged) and\n"
       "  writes it as a layout file to --out (default standard output); --cxx writes it as a C++ header\n"
       "  for vmh::fixed_layout (`-` for standard output, then give --out). --objective bytes (default)\n"
       "  weighs each request by its size, requests counts them. Progress on a terminal; the comparison\n"
       "  table on standard error. --json: one JSON line on standard output (the planned and auto\n"
       "  layouts, their scores, the search, the comparison), the layout file only to --out FILE.\n"
       "  It plans for vmh as replay runs it: --policy and --packed as there (default: auto, the packed\n"
       "  region in front of the buckets); every figure includes the region, and replay or compare with\n"
       "  the same --physical and --packed give the figures plan reports.\n"},
      {"map", map_command,
       {{"trace"}, {"family"}, {"seed"}, {"steps"}, {"target"}, {"max-size"}, {"max-live"}, {"grow"}, {"physical"},
        {"page"}, {"layout"}, {"policy"}, {"packed"}, {"at"}, {"out"}, {"max-cells"}, {"json", true}},
       false,
       "vmh-sim map (--trace FILE | --family F [--seed N]) --physical BYTES [--layout L] [--page BYTES]\n"
       "            [--policy P] [--packed R] [--at N|end|peak|fail] [--out FILE] [--max-cells N] [--json]\n"
       "  Draws the vmh heap after one operation as SVG: N (0-based), end, peak (most memory mapped) or\n"
       "  fail (the first failed request). Each block is filled with what its mapped bytes are (live\n"
       "  requested, block rounding, last-page rounding, free); the budget bar and the legend split the\n"
       "  SRAM. --json: the same state as one JSON line on standard output (each bucket's allocations\n"
       "  and mapped bytes, the failed request), the SVG only to --out FILE.\n"},
      {"curve", curve,
       {{"from"}, {"to"}, {"step"}, {"budgets"}, {"page"}, {"policy"}, {"packed"}, {"fill-budget"}, {"layout", false, true},
        {"out"}, {"uncharged", true}, {"json", true}},
       true,
       "vmh-sim curve TRACES [--from BYTES] [--to BYTES] [--step BYTES | --budgets LIST]\n"
       "              [--layout [NAME=]FILE...] [--page BYTES] [--policy P] [--packed R] [--uncharged] [--out FILE]\n"
       "              [--json]\n"
       "  Draws success and granted/preferred against the budget as SVG, for the baselines, vmh's auto\n"
       "  layout and each --layout; the same figures as a Markdown table. --json: the figures as one\n"
       "  JSON line per series and budget on standard output, the SVG only to --out FILE.\n"},
      {"auto-study", auto_study,
       {{"seeds"}, {"plan-evals"}, {"grid"}, {"top"}, {"json", true}},
       false,
       "vmh-sim auto-study [--seeds LIST] [--plan-evals N] [--grid small|full] [--top N] [--json]\n"
       "  Replays variants of the auto layout's rule on families 1-3 against the planner (Markdown, or\n"
       "  one JSON line per row: a variant's failures per workload, its excess failures in percentage\n"
       "  points of the requests above the best variant's, granted/preferred, cost against auto).\n"},
  };
  return table;
}

constexpr std::string_view general_usage =
    "usage: vmh-sim COMMAND [options]   (vmh-sim COMMAND --help for one command)\n"
    "Replays allocation traces on vmh and the baselines with the same SRAM budget.\n"
    "TRACES is --trace FILE (repeatable) or --family seed|sof|grow|stress|churn --seeds LIST.\n"
    "LIST is N (that one), A-B (both included) or a comma list of them: 1-5, 1,3,7, 1-3,9.\n"
    "BYTES is decimal with an optional K, M or G suffix (powers of 1024).\n\n";

int dispatch(std::span<const std::string> argv) {
  if (argv.size() < 2) throw cli_error("no command: give one of gen, replay, compare, layout, plan, map, curve, auto-study (vmh-sim --help)");
  const std::string& name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    std::string text(general_usage);
    for (const command& c : commands()) text += std::string(c.usage) + "\n";
    write_file("-", text);
    return 0;
  }
  for (const command& c : commands()) {
    if (c.name != name) continue;
    const std::span<const std::string> rest = argv.subspan(2);
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end() || std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
      write_file("-", std::string(c.usage));
      return 0;
    }
    std::vector<option_spec> specs = c.options;
    if (c.takes_traces) specs.insert(specs.end(), std::begin(trace_options), std::end(trace_options));
    return c.run(args(rest, specs, c.name));
  }
  throw cli_error("unknown command '" + name + "': use gen, replay, compare, layout, plan, map, curve or auto-study");
}

}  // namespace

int run(int argc, const char* const* argv) {
  try {
    const std::vector<std::string> words(argv, argv + argc);
    const int code = dispatch(words);
    check_written(stdout, "standard output");  // every command wrote through write_file: this finds nothing new
    return code;
  } catch (const std::exception& e) {
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');  // one line, whatever the message
    std::fprintf(stderr, "vmh-sim: %s\n", message.c_str());
    return 2;
  }
}

}  // namespace vmh::sim
