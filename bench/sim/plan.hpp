// The layout planner: searches for the bucket layout that serves a set of traces best at an
// SRAM budget. The heap's metadata is charged to that budget (sim/allocators.hpp), so a layout
// with larger tables has fewer pages for its buffers.
//
// It plans for the heap that replays its layout: vmh with the options of the replay tool
// (vmh_options: the range policy, the charge and the packed region, by default auto_packed of
// the budget, as `replay` and `compare` have it). Every candidate is replayed with that packed
// region in front of its buckets, and its virtual size and metadata include the region's; so
// what a plan reports for its layout is what `replay --layout` gives with the same options.
//
// Score, compared in this order (see `better`):
//   1. requests satisfied, summed over the traces (objective::requests), or the bytes they asked
//      for (objective::bytes, the tool's default: a fixed request counts its size, a range request
//      its minimum), so that one large buffer weighs as much as the many small ones it displaces;
//   2. granted / preferred bytes of the satisfied range requests, in steps of 0.1%;
//   3. the least virtual address space.
//
// Evaluation replays every trace with the replay engine on one vmh_allocator that is
// reconfigured for each candidate (`heap::configure` clears only the metadata the previous
// layout used), so a candidate costs its replays and nothing else. After each trace the
// allocations still live are freed: the heap is empty again before the next trace and the next
// candidate. A candidate that has already failed more requests than the layout it is compared
// with cannot win, so its remaining requests are refused without touching the heap (`pruned`),
// which makes bad moves cheap.
//
// Search (`planner::run`):
//   - seeds: the auto layout, SOF's table, a grid of geometric layouts (ratio, over-commit,
//     count cap, smallest and largest block) and "demand" layouts (geometric sizes, counts from
//     the traces' peak number of live requests per size class);
//   - local search from the best few seeds: one random move at a time from the table of moves
//     (`moves` in plan.cpp, each with its weight), kept when the score improves; a start is
//     abandoned after `patience` moves without gain;
//   - headroom: the counts of the best layout are raised to its peak use plus a margin (25%),
//     kept if that loses no request and at most 1% of granted/preferred on the training traces.
//     Trimming counts to the exact peak of the training traces would fail on others.
// The best layout found is never worse than the auto layout (which is one of the seeds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim::plan {

/// Headroom may cost the planned layout this much granted/preferred on the training traces (0.1% steps).
inline constexpr std::size_t headroom_granted_slack = 10;
/// The smallest block alignment the planner uses (the auto layout's).
inline constexpr std::size_t plan_min_align = 16;

// ---------------------------------------------------------------------------------------------
// Block sizes (rounded by the library's rule: presets::block_granule and its roundings)

/// Makes a table usable: sizes rounded to their granule and ascending (equal sizes merged,
/// keeping the larger count), counts at least 1, and each bucket's count raised until the next
/// bucket starts aligned to its blocks. Returns false if the table is empty.
bool normalize(std::vector<bucket>& layout, std::size_t page, std::size_t min_align = plan_min_align);

/// The auto rule for a budget with another ratio, over-commit, count cap and smallest block: the
/// grid that the planner's seeds and the auto-rule study walk.
presets::geometric_params geometric_variant(std::size_t physical, std::size_t page, const std::size_t (&ratio)[2],
                                            const std::size_t (&overcommit)[2], std::size_t cap, std::size_t min_block);

// ---------------------------------------------------------------------------------------------
// Score

/// What the first criterion counts.
enum class objective : std::uint8_t { requests, bytes };

struct score {
  bool valid = false;   ///< the layout is usable and every trace was replayed to the end
  bool pruned = false;  ///< replay stopped early: more failures than the bound
  std::size_t requests = 0, satisfied = 0;
  std::size_t requested_bytes = 0, satisfied_bytes = 0;  ///< a: size, r: min
  std::size_t granted_bytes = 0, preferred_bytes = 0;    ///< over satisfied range requests
  std::size_t virtual_bytes = 0;
  std::size_t metadata_bytes = 0;  ///< the heap's, charged to the budget (not a criterion)

  std::size_t failed() const { return requests - satisfied; }
  std::size_t failed_bytes() const { return requested_bytes - satisfied_bytes; }
  /// What the first criterion counts as lost.
  std::size_t failed(objective o) const { return o == objective::bytes ? failed_bytes() : failed(); }
  double success() const { return requests == 0 ? 1.0 : double(satisfied) / double(requests); }
  double granted() const { return preferred_bytes == 0 ? 1.0 : double(granted_bytes) / double(preferred_bytes); }
  /// granted / preferred in steps of 0.1%: the second criterion.
  std::size_t granted_key() const;
  /// The third criterion: virtual bytes.
  std::size_t cost() const { return virtual_bytes; }
};

/// True when `a` is strictly better than `b`.
bool better(const score& a, const score& b, objective o = objective::requests);

/// A score and what the replays saw per bucket (for the search moves).
struct evaluation {
  score s;
  layout_error error = layout_error::none;
  bool valid_after = true;                 ///< heap::validate passed after each trace (when asked)
  std::vector<std::size_t> peak;           ///< per bucket: most blocks in use at once, over all traces
  std::vector<std::size_t> full_failures;  ///< per bucket: requests failed with it, their first fit, full
};

// ---------------------------------------------------------------------------------------------
// Evaluation

/// A trace prepared for repeated replays: which requests are still live at its end.
struct trace_case {
  std::string name;
  std::vector<trace::op> ops;
  std::vector<std::size_t> live_at_end;  ///< ordinals (0-based, among a and r) of requests never freed
  std::size_t requests = 0;
};
trace_case make_case(std::string name, std::vector<trace::op> ops);

class request_log;

/// Replays a fixed set of traces on candidate layouts, reusing one heap: vmh with `opt` (its
/// range policy, metadata charge and packed region).
class evaluator {
 public:
  evaluator(std::vector<trace_case> cases, std::size_t physical, std::size_t page, vmh_options opt = {});
  ~evaluator();
  evaluator(const evaluator&) = delete;
  evaluator& operator=(const evaluator&) = delete;

  /// Replays every trace on `layout`. Once more than `max_failed` requests (or requested bytes,
  /// with objective::bytes) have failed, the remaining requests are refused without touching
  /// the heap and the score is marked pruned. `validate` runs heap::validate after each trace
  /// (O(blocks + pages)).
  evaluation evaluate(std::span<const bucket> layout, std::size_t max_failed = SIZE_MAX, bool validate = false,
                      objective o = objective::requests);

  std::size_t evaluations() const { return evaluations_; }
  std::size_t pruned() const { return pruned_; }
  std::size_t requests() const { return requests_; }
  std::size_t physical() const { return physical_; }
  std::size_t page() const { return page_; }
  /// The packed region every candidate is replayed with (packed_for the options; bytes 0: none).
  packed_region packed() const { return packed_; }
  /// The auto layout of the heap it replays: with a packed region, or without one.
  std::vector<bucket> auto_layout() const;
  /// The layout's geometry in that heap: its virtual size includes the packed region.
  layout_check check(std::span<const bucket> layout) const { return check_layout(layout, page_, packed_); }
  const std::vector<trace_case>& cases() const { return cases_; }
  /// The heap (for tests: it must be empty between evaluations).
  const sim_heap* heap() const { return &vmh_.heap(); }

 private:
  std::vector<trace_case> cases_;
  std::size_t physical_, page_;
  packed_region packed_;
  std::size_t requests_ = 0, evaluations_ = 0, pruned_ = 0;
  vmh_allocator vmh_;
  std::unique_ptr<request_log> log_;
};

// ---------------------------------------------------------------------------------------------
// Search

struct options {
  std::size_t physical = 1u << 20;
  std::size_t page = default_page_size;
  std::size_t max_buckets = vmh::max_buckets;
  std::size_t max_virtual = max_virtual_size;
  std::size_t evaluations = 3000;  ///< layouts replayed, seeds included (the seeds are always replayed)
  std::size_t starts = 3;          ///< seeds the local search starts from
  std::size_t patience = 400;      ///< moves without gain before a start is abandoned
  unsigned headroom_pct = 25;      ///< final counts at least peak use + this percentage (rounded up)
  objective goal = objective::requests;
  std::uint64_t rng_seed = 1;
};

struct candidate {
  std::vector<bucket> layout;
  evaluation eval;
  std::string origin;
};

struct result {
  candidate best;
  candidate automatic;  ///< the auto layout and its score
  std::size_t evaluations = 0, pruned = 0, seeds = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? double(evaluations) / seconds : 0.0; }
};

/// Where the search stands, for a progress line.
struct progress {
  std::size_t evaluations = 0, budget = 0;  ///< layouts replayed so far, and allowed
  score best;                               ///< the best layout's score so far
  double seconds = 0;                       ///< since the search started
};
using progress_handler = std::function<void(const progress&)>;

/// splitmix64: small, fast and the same everywhere.
struct rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

/// What the traces ask for, independent of any layout.
struct demand {
  std::vector<std::size_t> sizes;  ///< ascending, distinct: fixed sizes, range min and preferred, resize sizes
  std::size_t largest = 0;         ///< the largest of them
};

class planner {
 public:
  planner(evaluator& ev, options opt);

  /// True when the layout respects the bucket and virtual limits and the heap accepts it.
  bool feasible(const std::vector<bucket>& l) const;
  /// Runs the search; `on_progress` (optional) is called now and then with where it stands.
  result run(const progress_handler& on_progress = {});
  /// One random move from `c` (the result is normalized, possibly infeasible).
  std::vector<bucket> mutate(const candidate& c);

 private:
  std::vector<candidate> seeds() const;
  void fit_bucket_limit(std::vector<bucket>& l) const;
  void fit_virtual_limit(std::vector<bucket>& l) const;
  candidate climb(candidate current, std::size_t e0, const std::function<void(const candidate&)>& seen);
  candidate kick(const candidate& from);

  evaluator& ev_;
  options opt_;
  demand demand_;
  rng rng_;
};

// ---------------------------------------------------------------------------------------------
// Output

/// One line describing a score.
std::string describe(const score& s);

/// The layout in the replay tool's format, with `#` comment lines first.
std::string layout_file(std::span<const bucket> layout, const std::vector<std::string>& comments);

/// The layout as a header for `vmh::fixed_layout`: comments, `#pragma once`, its `#include`, the
/// constexpr table and the layout type. With a packed region (bytes != 0) the table is
/// `vmh::with_packed(table, region)`; its min_align is the one the heap has (min_align_of).
std::string cxx_declaration(std::span<const bucket> layout, const std::string& name, std::size_t page,
                            const std::vector<std::string>& comments, packed_region packed = {});

}  // namespace vmh::sim::plan
