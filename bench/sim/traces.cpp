#include "sim/traces.hpp"

#include <stdexcept>
#include <variant>

#include "sim/options.hpp"
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

std::vector<trace::op> load_trace(const std::string& path) {
  auto parsed = trace::parse(read_file(path));
  if (auto* e = std::get_if<trace::parse_error>(&parsed))
    throw cli_error(path + ":" + std::to_string(e->line) + ": " + e->message);
  return std::get<std::vector<trace::op>>(std::move(parsed));
}

}  // namespace vmh::sim
