// Traces for the tools: trace files and the workload families' generators, with the names they
// are reported under.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// The stress family's defaults: its sizes average well under 100 bytes, so a budget far below
/// SOF's 1 MiB is what makes the fill target bite.
inline constexpr std::size_t stress_default_physical = 64 * 1024;
inline constexpr std::size_t stress_default_max_size = 16 * 1024;

/// One trace and the name it is reported under.
struct named_trace {
  std::string name;
  std::vector<trace::op> ops;
};

/// The generator options of `vmh-sim gen` (0 = the family's default).
struct family_params {
  std::size_t steps = 0;       ///< sof 2000, stress and churn 20000
  unsigned target = 50;        ///< stress: fill target in percent (1 to 100)
  std::size_t physical = stress_default_physical;  ///< stress: the budget the target is relative to
  std::size_t max_size = stress_default_max_size;  ///< stress: largest request
  std::size_t max_live = 32;   ///< churn: most live blocks
  unsigned grow_pct = workloads::grow_default_pct;  ///< grow: chance in percent that an open pipeline asks to grow after a close (0 to 100)
};

/// The family names as the command lines spell them: "seed|sof|grow|stress|churn".
inline constexpr const char* family_names = "seed|sof|grow|stress|churn";

/// Whether `family` is one of family_names.
bool is_family(const std::string& family);

/// The message for a --family value that is not one of family_names.
std::string unknown_family(const std::string& family);

/// Seed `seed` of a family. Throws std::invalid_argument for an unknown family (naming the
/// known ones).
std::vector<trace::op> family_trace(const std::string& family, std::uint64_t seed, const family_params& p);

/// What `vmh-sim gen` writes as its first line (after `# `): the trace format's version, the
/// generator and every option that decides the trace, defaults included, so that the trace can
/// be made again: "vmh trace v1: vmh-sim gen --family sof --seed 1 --steps 2000".
std::string generator_comment(const std::string& family, std::uint64_t seed, const family_params& p);

/// A request (`a` or `r` line) in words, for a reader: "a fixed request of 20 KiB, aligned to
/// 64 B" or "a range request of 16 KiB to 128 KiB". Other operations are named by their kind.
std::string request_text(const trace::op& o);

/// A trace file, parsed; a std::invalid_argument naming the file and line on error.
std::vector<trace::op> load_trace(const std::string& path);

}  // namespace vmh::sim
