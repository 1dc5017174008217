// Sets of traces for the commands that replay more than one: trace files (`--trace FILE`,
// repeatable) or traces generated from a workload family and a list of seeds
// (`--family F --seeds 1-5`, with the generator options of `vmh-sim gen`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/cli.hpp"
#include "workloads/generators.hpp"
#include "workloads/range_churn.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// One trace and the name it is reported under.
struct named_trace {
  std::string name;
  std::vector<trace::op> ops;
};

/// Generates seed `seed` of a family. `physical` is the stress family's fill budget.
inline std::vector<trace::op> family_trace(const std::string& family, std::uint64_t seed, const args& a,
                                           std::size_t physical) {
  if (family == "seed") return workloads::seed_family();
  if (family == "sof") return workloads::sof_family(seed, a.number("steps", 2000));
  if (family == "stress")
    return workloads::stress_family(seed, a.number("steps", 20000), static_cast<unsigned>(a.number("target", 50)),
                                    physical, a.number("max-size", stress_default_max_size));
  if (family == "churn") return workloads::range_churn_family(seed, a.number("steps", 20000), a.number("max-live", 32));
  throw cli_error("--family must be seed, sof, stress or churn, not '" + family + "'");
}

/// The traces of `--<trace_key> FILE...` or, failing that, of `--family F --<seeds_key> LIST`.
inline std::vector<named_trace> load_traces(const args& a, std::size_t physical, const std::string& trace_key = "trace",
                                            const std::string& seeds_key = "seeds") {
  std::vector<named_trace> out;
  for (const std::string& path : a.all(trace_key)) out.push_back({path, load_trace(path)});
  if (!out.empty()) return out;
  if (!a.has("family")) throw cli_error("give --" + trace_key + " FILE (repeatable) or --family F --" + seeds_key + " LIST");
  const std::string family = a.text("family");
  for (const std::size_t seed : parse_list(a.text(seeds_key, "1"), "--" + seeds_key))
    out.push_back({family + " seed " + std::to_string(seed), family_trace(family, seed, a, physical)});
  return out;
}

}  // namespace vmh::sim
