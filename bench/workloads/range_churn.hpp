// A range-only churn workload, for studying range fairness rules: requests of min 1-16 KiB and
// preferred 1-16 x min, opened and closed at random, against a small physical budget.
//
// Each step, with the workloads' 64-bit LCG: allocate when nothing is live, free when
// `max_live` blocks are live, otherwise allocate or free a uniformly chosen live block with
// equal chance. min = between(1, 16) KiB, preferred = min * between(1, 16), alignment 64.
#pragma once

#include <cstdint>
#include <vector>

#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

namespace vmh::workloads {

inline constexpr std::size_t churn_physical_bytes = 256 * 1024;

inline std::vector<trace::op> range_churn_family(std::uint64_t seed, std::size_t steps, std::size_t max_live = 32) {
  lcg rng{seed};
  std::vector<trace::op> ops;
  std::vector<std::uint64_t> live;
  std::uint64_t next_id = 1;
  for (std::size_t s = 0; s < steps; ++s) {
    const bool allocate = live.empty() || (live.size() < max_live && rng.chance(1, 2));
    if (allocate) {
      const std::uint64_t min = rng.between(1, 16) * 1024;
      const std::uint64_t preferred = min * rng.between(1, 16);
      ops.push_back({trace::op_kind::range, next_id, min, preferred, 64});
      live.push_back(next_id++);
    } else {
      const std::size_t i = rng.below(static_cast<std::uint32_t>(live.size()));
      ops.push_back({trace::op_kind::free, live[i], 0, 0, 0});
      live[i] = live.back();
      live.pop_back();
    }
  }
  return ops;
}

}  // namespace vmh::workloads
