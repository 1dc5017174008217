#include "sim/traces.hpp"

#include <stdexcept>
#include <variant>

#include "sim/options.hpp"
#include "sim/svg.hpp"
#include "workloads/generators.hpp"
#include "workloads/range_churn.hpp"

namespace vmh::sim {

bool is_family(const std::string& family) {
  return family == "seed" || family == "sof" || family == "grow" || family == "stress" || family == "churn";
}

std::string unknown_family(const std::string& family) {
  return std::string("--family must be one of ") + family_names + ", not '" + family + "'";
}

std::vector<trace::op> family_trace(const std::string& family, std::uint64_t seed, const family_params& p) {
  if (family == "seed") return workloads::seed_family();
  if (family == "sof") return workloads::sof_family(seed, p.steps != 0 ? p.steps : 2000);
  if (family == "grow") return workloads::grow_family(seed, p.steps != 0 ? p.steps : 2000, p.grow_pct);
  if (family == "stress")
    return workloads::stress_family(seed, p.steps != 0 ? p.steps : 20000, p.target, p.physical, p.max_size);
  if (family == "churn") return workloads::range_churn_family(seed, p.steps != 0 ? p.steps : 20000, p.max_live);
  throw std::invalid_argument(unknown_family(family));
}

std::string generator_comment(const std::string& family, std::uint64_t seed, const family_params& p) {
  std::string options = "--family " + family;
  if (family == "seed") return "vmh trace v1: vmh-sim gen " + options;  // one trace: no seed, no steps
  options += " --seed " + std::to_string(seed);
  const bool sof = family == "sof" || family == "grow";
  options += " --steps " + std::to_string(p.steps != 0 ? p.steps : sof ? 2000 : 20000);
  if (family == "grow") options += " --grow " + std::to_string(p.grow_pct);
  if (family == "stress")
    options += " --target " + std::to_string(p.target) + " --physical " + std::to_string(p.physical) + " --max-size " +
               std::to_string(p.max_size);
  if (family == "churn") options += " --max-live " + std::to_string(p.max_live);
  return "vmh trace v1: vmh-sim gen " + options;
}

namespace {
/// Bytes as bytes_text writes them when that is exact, else in bytes.
std::string exact_bytes(std::uint64_t b) {
  return b < 1024 || b % 1024 == 0 ? svg::bytes_text(static_cast<std::size_t>(b)) : std::to_string(b) + " B";
}
}  // namespace

std::string request_text(const trace::op& o) {
  const std::string align = o.align != 0 ? ", aligned to " + exact_bytes(o.align) : std::string();
  switch (o.kind) {
    case trace::op_kind::allocate: return "a fixed request of " + exact_bytes(o.size) + align;
    case trace::op_kind::range: return "a range request of " + exact_bytes(o.size) + " to " + exact_bytes(o.preferred) + align;
    case trace::op_kind::resize: return "a resize to " + exact_bytes(o.size);
    case trace::op_kind::grow: return "a grow request toward " + exact_bytes(o.preferred);
    case trace::op_kind::free: return "a free";
  }
  return "an operation";
}

std::vector<trace::op> load_trace(const std::string& path) {
  auto parsed = trace::parse(read_file(path));
  if (auto* e = std::get_if<trace::parse_error>(&parsed))
    throw cli_error(path + ":" + std::to_string(e->line) + ": " + e->message);
  return std::get<std::vector<trace::op>>(std::move(parsed));
}

}  // namespace vmh::sim
