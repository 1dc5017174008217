// What a replay costs in SRAM beyond what the trace asked for: the waste (committed bytes minus
// live bytes) at the first failure and at the peak, and the powered SRAM banks. ACE powers a
// 128 KiB bank while any page in it is mapped: sys_heap powers every bank its region covers;
// the virtual-memory heaps (vmh, SOF's VMH) power those holding a mapped page, physical pages
// being taken first-free (the lowest free page) as the driver does. The floor is the fewest
// banks that could hold the mapped pages: ceil(mapped pages / pages per bank).
#pragma once

#include <cstddef>
#include <vector>

#include "sim/replay.hpp"
#include "sim/waste.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// An SRAM bank of the ACE DSPs.
inline constexpr std::size_t bank_bytes = 128 * 1024;

/// The memory at one operation.
struct memory_moment {
  long long op = -1;           ///< the operation (-1: there was none, e.g. no failure)
  std::size_t committed = 0;   ///< physical bytes committed after it
  std::size_t live = 0;        ///< live bytes (requested, or granted for ranges) after it
  std::size_t waste() const { return committed > live ? committed - live : 0; }
};

struct memory_report {
  memory_moment at_failure;  ///< after the first failed request
  memory_moment at_peak;     ///< after the first operation with the most committed (then live) bytes
  /// The SRAM budget split at those two moments (sim/waste.hpp), once split_moments has run;
  /// model none (and JSON null) before, or when the allocator does not report its placement.
  sram_split sram_at_failure, sram_at_peak;
  std::size_t metadata_bytes = 0;
  std::size_t banks = 0;            ///< banks the SRAM budget spans
  double banks_mean = 0, floor_mean = 0;  ///< powered banks and their floor, averaged over the operations
  std::size_t banks_peak = 0, floor_peak = 0;
  /// The pages the model maps matched the allocator's committed bytes after every operation
  /// (the bank figures are exact).
  bool exact = true;
};

/// Replays `ops` on `a`, whose SRAM budget is `physical` bytes, and reports the memory beside
/// the usual figures.
struct memory_replay {
  report figures;
  memory_report memory;
};
memory_replay replay_memory(const std::vector<trace::op>& ops, allocator& a, std::size_t physical);

/// Fills m.sram_at_failure and m.sram_at_peak for the replay of `ops` that gave `m`: replays
/// `ops` again, up to the later moment, on `fresh`, an allocator built as that replay's was and
/// not used yet. A split is not `exact` when the second replay's live bytes differ.
void split_moments(const std::vector<trace::op>& ops, allocator& fresh, std::size_t physical, memory_report& m);

}  // namespace vmh::sim
