// The layout planner: searches for the bucket layout that serves a set of traces best at a
// physical budget.
//
// Score, compared in this order (see `better`):
//   1. requests satisfied, summed over the traces (objective::requests, the default), or the
//      bytes they asked for (objective::bytes: a fixed request counts its size, a range request
//      its minimum), so that one large buffer weighs as much as the many small ones it displaces;
//   2. granted / preferred bytes of the satisfied range requests, in steps of 0.1%;
//   3. the least cost: metadata bytes + virtual bytes / 64 (a byte of RAM for the heap's
//      tables weighs as much as 64 bytes of address space).
//
// Evaluation replays every trace with the replay engine (`sim::replay`) on one `sim_heap`
// that is reconfigured for each candidate (`heap::configure` clears only the metadata the
// previous layout used), so a candidate costs its replays and nothing else. After each trace
// the allocations still live are freed: the heap is empty again before the next trace and the
// next candidate. A candidate that has already failed more requests than the layout it is
// compared with cannot win, so its remaining requests are refused without touching the heap
// (`pruned`), which makes bad moves cheap.
//
// Search (`plan`):
//   - seeds: the auto layout, SOF's table, a grid of geometric layouts (ratio, over-commit,
//     count cap, smallest and largest block) and "demand" layouts (geometric sizes, counts from
//     the traces' peak number of live requests per size class);
//   - local search from the best few seeds: one random move at a time (change a count, trim
//     counts to the peak use seen in the last replay, grow a bucket that ran full, move a block
//     size, fit a block size to the largest request it serves, split, merge or drop buckets),
//     kept when the score improves; a start is abandoned after `patience` moves without gain;
//   - headroom: the counts of the best layout are raised to its peak use plus a margin (25%),
//     kept if that loses no request and at most 1% of granted/preferred on the training traces.
//     Trimming counts to the exact peak of the training traces would fail on others.
// The best layout found is never worse than the auto layout (which is one of the seeds).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <vmh/vmh.hpp>

#include "sim/replay.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim::plan {

/// A byte of metadata costs as much as this many bytes of virtual space.
inline constexpr std::size_t virtual_weight = 64;
/// Headroom may cost the planned layout this much granted/preferred on the training traces (0.1% steps).
inline constexpr std::size_t headroom_granted_slack = 10;
/// The smallest block alignment the planner uses (the auto layout's).
inline constexpr std::size_t plan_min_align = 16;
/// Cache line: block sizes from here to a page are multiples of it.
inline constexpr std::size_t cache_line = 64;

// ---------------------------------------------------------------------------------------------
// Layout facts

/// What a layout costs, derived exactly as the heap derives it.
struct layout_facts {
  layout_error error = layout_error::none;
  std::size_t buckets = 0, blocks = 0, pages = 0, words = 0;
  std::size_t virtual_bytes = 0;
  std::size_t metadata_bytes = 0;  ///< bitmap words + 4 B per block + 2 B per page + 12 B per bucket
  std::size_t min_align = 0;
};

inline layout_facts measure(std::span<const bucket> layout, std::size_t page) {
  layout_facts f;
  f.min_align = vmh_allocator::min_align_of(layout);
  const auto g = std::make_unique<layout_geometry<max_buckets>>(
      derive_geometry<max_buckets>(layout.data(), layout.size(), page, f.min_align));
  f.error = g->error;
  if (f.error != layout_error::none) return f;
  f.buckets = g->bucket_count;
  f.blocks = g->block_total;
  f.pages = g->page_total;
  f.words = g->word_total;
  f.virtual_bytes = g->virtual_size;
  f.metadata_bytes = f.words * 8 + f.blocks * 4 + f.pages * 2 + f.buckets * 12;
  return f;
}

/// The granule of a block size: min_align below a cache line, the line below a page, the page above.
constexpr std::size_t granule(std::size_t size, std::size_t page, std::size_t min_align = plan_min_align) {
  return size >= page ? page : size >= cache_line ? cache_line : min_align;
}
constexpr std::size_t round_up(std::size_t size, std::size_t page, std::size_t min_align = plan_min_align) {
  const std::size_t g = granule(size, page, min_align);
  return size == 0 ? min_align : (size + g - 1) / g * g;
}
constexpr std::size_t round_nearest(std::size_t size, std::size_t page, std::size_t min_align = plan_min_align) {
  const std::size_t g = granule(size, page, min_align);
  const std::size_t r = (size + g / 2) / g * g;
  return r < min_align ? min_align : r;
}

/// Makes a table usable: sizes rounded to their granule and ascending (equal sizes merged,
/// keeping the larger count), counts at least 1, and each bucket's count raised until the next
/// bucket starts aligned to its blocks. Returns false if the table is empty.
inline bool normalize(std::vector<bucket>& layout, std::size_t page, std::size_t min_align = plan_min_align) {
  for (bucket& b : layout) {
    b.block_size = round_nearest(b.block_size, page, min_align);
    if (b.block_count == 0) b.block_count = 1;
    if (b.block_count > max_blocks_per_bucket) b.block_count = max_blocks_per_bucket;
  }
  std::sort(layout.begin(), layout.end(), [](const bucket& x, const bucket& y) { return x.block_size < y.block_size; });
  std::vector<bucket> merged;
  for (const bucket& b : layout) {
    if (!merged.empty() && merged.back().block_size == b.block_size)
      merged.back().block_count = std::max(merged.back().block_count, b.block_count);
    else
      merged.push_back(b);
  }
  auto natural = [page](std::size_t s) {
    const std::size_t low = s & (~s + 1);
    return low < page ? low : page;
  };
  std::size_t offset = 0;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (i + 1 < merged.size())
      while ((offset + merged[i].block_count * merged[i].block_size) % natural(merged[i + 1].block_size) != 0)
        ++merged[i].block_count;
    offset += merged[i].block_count * merged[i].block_size;
  }
  layout = std::move(merged);
  return !layout.empty();
}



/// The auto rule for a budget with another ratio, over-commit, count cap and smallest block: the
/// grid that the planner's seeds and the auto-rule study walk.
inline presets::geometric_params geometric_variant(std::size_t physical, std::size_t page, const std::size_t (&ratio)[2],
                                                  const std::size_t (&overcommit)[2], std::size_t cap,
                                                  std::size_t min_block) {
  presets::geometric_params p = presets::auto_params(physical, page);
  p.ratio_num = ratio[0];
  p.ratio_den = ratio[1];
  p.overcommit_num = overcommit[0];
  p.overcommit_den = overcommit[1];
  p.max_count = cap;
  p.min_block = min_block;
  return p;
}


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
  std::size_t virtual_bytes = 0, metadata_bytes = 0;

  std::size_t failed() const { return requests - satisfied; }
  std::size_t failed_bytes() const { return requested_bytes - satisfied_bytes; }
  /// What the first criterion counts as lost.
  std::size_t failed(objective o) const { return o == objective::bytes ? failed_bytes() : failed(); }
  double success() const { return requests == 0 ? 1.0 : double(satisfied) / double(requests); }
  double granted() const { return preferred_bytes == 0 ? 1.0 : double(granted_bytes) / double(preferred_bytes); }
  /// granted / preferred in steps of 0.1%: the second criterion.
  std::size_t granted_key() const {
    return preferred_bytes == 0 ? 1000 : static_cast<std::size_t>(granted_bytes * 1000 / preferred_bytes);
  }
  /// The third criterion: metadata bytes plus virtual bytes / virtual_weight.
  std::size_t cost() const { return metadata_bytes + virtual_bytes / virtual_weight; }
};

/// True when `a` is strictly better than `b`.
inline bool better(const score& a, const score& b, objective o = objective::requests) {
  if (a.valid != b.valid) return a.valid;
  if (!a.valid) return false;
  if (o == objective::bytes && a.satisfied_bytes != b.satisfied_bytes) return a.satisfied_bytes > b.satisfied_bytes;
  if (a.satisfied != b.satisfied) return a.satisfied > b.satisfied;
  if (a.granted_key() != b.granted_key()) return a.granted_key() > b.granted_key();
  return a.cost() < b.cost();
}

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

inline trace_case make_case(std::string name, std::vector<trace::op> ops) {
  trace_case c{std::move(name), std::move(ops), {}, 0};
  std::map<std::uint64_t, std::size_t> live;  // id -> request ordinal
  for (const trace::op& o : c.ops) {
    if (o.kind == trace::op_kind::allocate || o.kind == trace::op_kind::range) live[o.id] = c.requests++;
    else if (o.kind == trace::op_kind::free) live.erase(o.id);
  }
  for (const auto& [id, ordinal] : live) c.live_at_end.push_back(ordinal);
  return c;
}

/// Replays a fixed set of traces on candidate layouts, reusing one heap.
class evaluator {
 public:
  evaluator(std::vector<trace_case> cases, std::size_t physical, std::size_t page, range_policy policy = range_policy{})
      : cases_(std::move(cases)), physical_(physical), page_(page), policy_(policy) {
    for (const trace_case& c : cases_) requests_ += c.requests;
  }

  /// Replays every trace on `layout`. Once more than `max_failed` requests (or requested bytes,
  /// with objective::bytes) have failed, the remaining requests are refused without touching
  /// the heap and the score is marked pruned. `validate` runs heap::validate after each trace
  /// (O(blocks + pages)).
  evaluation evaluate(std::span<const bucket> layout, std::size_t max_failed = SIZE_MAX, bool validate = false,
                      objective o = objective::requests) {
    evaluation e;
    const layout_facts f = measure(layout, page_);
    e.s.virtual_bytes = f.virtual_bytes;
    e.s.metadata_bytes = f.metadata_bytes;
    e.error = f.error;
    if (f.error != layout_error::none) return e;
    reserve(f.virtual_bytes);
    heap_->mapper() = counting_mapper{physical_};  // the heap is empty: nothing is mapped
    e.error = heap_->configure(layout.data(), layout.size(), page_, f.min_align);
    if (e.error != layout_error::none) return e;
    ++evaluations_;
    std::size_t failed = 0;
    e.s.valid = true;
    for (const trace_case& c : cases_) {
      adapter_.start(heap_.get(), max_failed == SIZE_MAX ? SIZE_MAX : max_failed - failed, validate,
                     o == objective::bytes);
      const report r = replay(c.ops, adapter_);
      failed += adapter_.lost();
      e.s.requested_bytes += adapter_.requested_bytes();
      e.s.satisfied_bytes += adapter_.requested_bytes() - adapter_.failed_bytes();
      e.s.requests += r.requests;
      e.s.satisfied += r.requests - r.failed;
      e.s.granted_bytes += r.range_granted_bytes;
      e.s.preferred_bytes += r.range_preferred_bytes;
      if (!r.valid_after) e.valid_after = false;
      if (&c == &cases_.back() && !adapter_.doomed()) {
        for (std::size_t b = 0; b < layout.size(); ++b) {
          const bucket_stats bs = heap_->stats(b);
          e.peak.push_back(bs.peak_in_use);
          e.full_failures.push_back(bs.full_failures);
        }
      }
      adapter_.release(c.live_at_end);
      if (heap_->stats().live_allocations != 0) throw std::logic_error("planner: allocations left after a replay");
      if (adapter_.doomed()) {
        e.s.pruned = true;
        e.s.valid = false;
        ++pruned_;
        break;
      }
    }
    return e;
  }

  std::size_t evaluations() const { return evaluations_; }
  std::size_t pruned() const { return pruned_; }
  std::size_t requests() const { return requests_; }
  std::size_t physical() const { return physical_; }
  std::size_t page() const { return page_; }
  range_policy policy() const { return policy_; }
  const std::vector<trace_case>& cases() const { return cases_; }
  /// The heap (for tests: it must be empty between evaluations).
  const sim_heap* heap() const { return heap_.get(); }

 private:
  /// The replay interface over the shared heap. Remembers each request's pointer (vmh never
  /// moves a block, so a resize keeps it) to free what the trace leaves live.
  class adapter final : public allocator {
   public:
    void start(sim_heap* h, std::size_t limit, bool validate, bool by_bytes) {
      heap_ = h;
      limit_ = limit;
      failures_ = failed_bytes_ = requested_bytes_ = 0;
      validate_ = validate;
      by_bytes_ = by_bytes;
      by_request_.clear();
    }
    /// What failed so far, in the unit of the bound.
    std::size_t lost() const { return by_bytes_ ? failed_bytes_ : failures_; }
    bool doomed() const { return lost() > limit_; }
    std::size_t requested_bytes() const { return requested_bytes_; }
    std::size_t failed_bytes() const { return failed_bytes_; }
    void release(const std::vector<std::size_t>& ordinals) {
      for (const std::size_t k : ordinals)
        if (k < by_request_.size() && by_request_[k] != nullptr) heap_->deallocate(by_request_[k]);
    }
    outcome allocate(std::size_t size, std::size_t align) override {
      requested_bytes_ += size;
      if (doomed()) return refuse(size);
      return record(heap_->try_allocate(size, align), size);
    }
    outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
      requested_bytes_ += min;
      if (doomed()) return refuse(min);
      return record(heap_->allocate_range(min, preferred, align), min);
    }
    void* resize(void* ptr, std::size_t, std::size_t new_size) override {
      return heap_->resize(ptr, new_size) == status::ok ? ptr : nullptr;
    }
    void deallocate(void* ptr) override { heap_->deallocate(ptr); }
    std::size_t committed_bytes() const override { return heap_->mapper().mapped(); }
    std::size_t peak_committed_bytes() const override { return heap_->mapper().peak(); }
    bool validate() const override { return !validate_ || static_cast<bool>(heap_->validate()); }

   private:
    outcome refuse(std::size_t bytes) {
      ++failures_;
      failed_bytes_ += bytes;
      by_request_.push_back(nullptr);
      return {};
    }
    outcome record(const grant& g, std::size_t bytes) {
      if (g.ptr == nullptr) {
        ++failures_;
        failed_bytes_ += bytes;
      }
      by_request_.push_back(g.ptr);
      return {g.ptr, g.size};
    }
    sim_heap* heap_ = nullptr;
    std::size_t limit_ = SIZE_MAX, failures_ = 0, failed_bytes_ = 0, requested_bytes_ = 0;
    bool validate_ = false, by_bytes_ = false;
    std::vector<void*> by_request_;
  };

  /// Makes the heap's backing range at least `bytes` long (a new heap only when it grows).
  void reserve(std::size_t bytes) {
    if (heap_ && range_->size() >= bytes) return;
    std::size_t size = std::size_t{64} << 20;
    while (size < bytes) size *= 2;
    heap_.reset();
    range_ = std::make_unique<virtual_reservation>(size, page_ > 4096 ? page_ : 4096);
    heap_ = std::make_unique<sim_heap>(external_range{range_->data(), range_->size()}, counting_mapper{physical_});
    heap_->set_range_policy(policy_);
  }

  std::vector<trace_case> cases_;
  std::size_t physical_, page_;
  range_policy policy_;
  std::size_t requests_ = 0, evaluations_ = 0, pruned_ = 0;
  std::unique_ptr<virtual_reservation> range_;
  std::unique_ptr<sim_heap> heap_;
  adapter adapter_;
};

// ---------------------------------------------------------------------------------------------
// Demand: what the traces ask for, independent of any layout

struct demand {
  std::vector<std::size_t> sizes;  ///< ascending, distinct: fixed sizes, range min and preferred, resize sizes
  std::size_t largest = 0;         ///< the largest of them
};

inline demand analyse(const std::vector<trace_case>& cases) {
  demand d;
  for (const trace_case& c : cases)
    for (const trace::op& o : c.ops) {
      if (o.kind == trace::op_kind::free) continue;
      d.sizes.push_back(static_cast<std::size_t>(o.size));
      if (o.kind == trace::op_kind::range) d.sizes.push_back(static_cast<std::size_t>(o.preferred));
    }
  std::sort(d.sizes.begin(), d.sizes.end());
  d.sizes.erase(std::unique(d.sizes.begin(), d.sizes.end()), d.sizes.end());
  d.largest = d.sizes.empty() ? 0 : d.sizes.back();
  return d;
}

/// A layout with the given block sizes whose counts are the traces' peak number of live
/// requests that first fit each size (as if every request succeeded; a range request by its
/// preferred size), plus a quarter; sizes no request fits first are dropped.
inline std::vector<bucket> demand_layout(const std::vector<trace_case>& cases, std::vector<std::size_t> sizes) {
  if (sizes.empty()) return {};
  std::vector<std::size_t> peak(sizes.size(), 0);
  for (const trace_case& c : cases) {
    std::vector<std::size_t> live(sizes.size(), 0);
    std::map<std::uint64_t, std::size_t> where;
    for (const trace::op& o : c.ops) {
      if (o.kind == trace::op_kind::allocate || o.kind == trace::op_kind::range) {
        const std::size_t want = o.kind == trace::op_kind::range ? o.preferred : o.size;
        std::size_t b = static_cast<std::size_t>(std::lower_bound(sizes.begin(), sizes.end(), want) - sizes.begin());
        if (b == sizes.size()) {
          if (o.kind == trace::op_kind::allocate) continue;  // fits no block: it fails anyway
          b = sizes.size() - 1;
        }
        where[o.id] = b;
        peak[b] = std::max(peak[b], ++live[b]);
      } else if (o.kind == trace::op_kind::free) {
        if (auto it = where.find(o.id); it != where.end()) {
          --live[it->second];
          where.erase(it);
        }
      }
    }
  }
  std::vector<bucket> out;
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (peak[i] != 0) out.push_back({sizes[i], peak[i] + (peak[i] + 3) / 4});
  return out;
}

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

class planner {
 public:
  planner(evaluator& ev, options opt) : ev_(ev), opt_(opt), demand_(analyse(ev.cases())), rng_{opt.rng_seed} {}

  /// True when the layout respects the bucket and virtual limits and the heap accepts it.
  bool feasible(const std::vector<bucket>& l) const {
    if (l.empty() || l.size() > opt_.max_buckets) return false;
    const layout_facts f = measure(l, opt_.page);
    return f.error == layout_error::none && f.virtual_bytes <= opt_.max_virtual && f.blocks <= sim_layout::block_capacity &&
           f.pages <= sim_layout::page_capacity;
  }

  /// The seed layouts: auto, SOF's table, geometric grid, demand layouts (only feasible ones).
  std::vector<candidate> seeds() const {
    std::vector<candidate> out;
    auto add = [&](std::vector<bucket> l, std::string origin, bool fix) {
      if (fix && !normalize(l, opt_.page)) return;
      if (fix) {
        fit_bucket_limit(l);
        fit_virtual_limit(l);
      }
      if (!feasible(l)) return;
      for (const candidate& c : out)
        if (same(c.layout, l)) return;
      out.push_back({std::move(l), {}, std::move(origin)});
    };
    add(auto_layout(opt_.physical, opt_.page), "auto", false);
    if (opt_.page == presets::sof_table.page_size)
      add({presets::sof_table.buckets, presets::sof_table.buckets + presets::sof_table.size()}, "sof", false);
    const std::size_t top = round_up(std::max<std::size_t>(demand_.largest, 64), opt_.page);
    const std::size_t ratios[][2] = {{5, 4}, {4, 3}, {3, 2}, {2, 1}, {3, 1}};
    const std::size_t overcommits[][2] = {{1, 4}, {1, 2}, {1, 1}, {2, 1}};
    for (const auto& r : ratios)
      for (const auto& o : overcommits)
        for (const std::size_t cap : {64u, 256u, 1024u})
          for (const std::size_t min_block : {16u, 64u})
            for (const std::size_t max_block : {std::size_t{0}, top}) {
              presets::geometric_params p = geometric_variant(opt_.physical, opt_.page, r, o, cap, min_block);
              p.max_block = max_block;
              add(geometric_layout(p), fmt::format("geometric {}/{} x{}/{} cap {} from {} to {}", r[0], r[1], o[0], o[1],
                                                   cap, min_block, max_block == 0 ? opt_.physical : max_block),
                  true);
            }
    for (const auto& r : ratios) {
      presets::geometric_params p = presets::auto_params(opt_.physical, opt_.page);
      p.ratio_num = r[0];
      p.ratio_den = r[1];
      p.max_block = top;
      std::vector<std::size_t> sizes;
      for (const bucket& b : geometric_layout(p)) sizes.push_back(b.block_size);
      add(demand_layout(ev_.cases(), sizes), fmt::format("demand {}/{}", r[0], r[1]), true);
    }
    return out;
  }

  result run() {
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t e0 = ev_.evaluations(), p0 = ev_.pruned();
    result res;
    res.automatic.layout = auto_layout(opt_.physical, opt_.page);
    res.automatic.origin = "auto";
    res.automatic.eval = ev_.evaluate(res.automatic.layout, SIZE_MAX, true);

    // Seeds, keeping the best `starts` (a seed that fails more than the worst kept is pruned).
    std::vector<candidate> ranked;
    std::vector<candidate> all = seeds();
    res.seeds = all.size();
    for (candidate& c : all) {
      const std::size_t bound = ranked.size() < opt_.starts ? SIZE_MAX : ranked.back().eval.s.failed(opt_.goal);
      c.eval = same(c.layout, res.automatic.layout) ? res.automatic.eval : ev_.evaluate(c.layout, bound, false, opt_.goal);
      if (!c.eval.s.valid) continue;
      ranked.push_back(std::move(c));
      std::stable_sort(ranked.begin(), ranked.end(),
                       [this](const candidate& x, const candidate& y) { return better(x.eval.s, y.eval.s, opt_.goal); });
      if (ranked.size() > opt_.starts) ranked.pop_back();
    }
    if (ranked.empty()) throw std::runtime_error("no usable layout within the limits (--max-buckets, --virtual)");
    candidate best = ranked.front();

    // Local search from each start in turn, then from the best with a random kick.
    for (std::size_t round = 0; ev_.evaluations() - e0 < opt_.evaluations; ++round) {
      candidate start = round < ranked.size() ? ranked[round] : kick(best);
      if (!start.eval.s.valid) break;
      candidate found = climb(std::move(start), e0);
      if (better(found.eval.s, best.eval.s, opt_.goal)) best = std::move(found);
      if (round > ranked.size() + 64) break;
    }

    // Headroom: raise counts above the peak use, if that keeps what the layout satisfies.
    if (opt_.headroom_pct != 0 && best.eval.peak.size() == best.layout.size()) {
      candidate roomy = best;
      for (std::size_t b = 0; b < roomy.layout.size(); ++b) {
        const std::size_t p = best.eval.peak[b];
        const std::size_t want = p + (p * opt_.headroom_pct + 99) / 100;
        roomy.layout[b].block_count = std::max(roomy.layout[b].block_count, want);
      }
      if (normalize(roomy.layout, opt_.page) && feasible(roomy.layout)) {
        roomy.eval = ev_.evaluate(roomy.layout);
        roomy.origin = best.origin + fmt::format(", headroom {}%", opt_.headroom_pct);
        const score &r = roomy.eval.s, &b = best.eval.s;
        if (r.valid && r.satisfied >= b.satisfied && r.satisfied_bytes >= b.satisfied_bytes &&
            r.granted_key() + headroom_granted_slack >= b.granted_key() && !better(res.automatic.eval.s, r, opt_.goal))
          best = std::move(roomy);
      }
    }
    // Never worse than auto (when auto is within the limits).
    if (feasible(res.automatic.layout) && better(res.automatic.eval.s, best.eval.s, opt_.goal)) best = res.automatic;
    best.eval = ev_.evaluate(best.layout, SIZE_MAX, true);  // full replay with validation
    res.best = std::move(best);
    res.evaluations = ev_.evaluations() - e0;
    res.pruned = ev_.pruned() - p0;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
  }

  /// One random move from `c` (the result is normalized, possibly infeasible).
  std::vector<bucket> mutate(const candidate& c) {
    std::vector<bucket> l = c.layout;
    const std::size_t n = l.size();
    const std::size_t i = rng_.below(n);
    const bool stats = c.eval.peak.size() == n;
    auto peak = [&](std::size_t b) { return stats ? c.eval.peak[b] : l[b].block_count; };
    auto erase = [&](std::size_t b) {
      if (l.size() > 1) l.erase(l.begin() + static_cast<std::ptrdiff_t>(b));
    };
    static constexpr unsigned weights[] = {1, 3, 4, 2, 4, 2, 2, 2, 1, 1, 2};
    unsigned total = 0;
    for (const unsigned w : weights) total += w;
    unsigned pick = static_cast<unsigned>(rng_.below(total)), move = 0;
    while (pick >= weights[move]) pick -= weights[move++];
    switch (move) {
      case 0: {  // trim every count to its peak use plus a margin
        const std::size_t margin[] = {0, 8, 4, 2};
        const std::size_t d = margin[rng_.below(4)];
        for (std::size_t b = 0; b < n; ++b) {
          const std::size_t p = peak(b);
          l[b].block_count = std::max<std::size_t>(1, p + (d == 0 ? 0 : (p + d - 1) / d));
        }
        break;
      }
      case 1: {  // trim one count to its peak use (drop the bucket if unused)
        if (stats && peak(i) == 0 && rng_.below(2) == 0) erase(i);
        else l[i].block_count = std::max<std::size_t>(1, peak(i) + rng_.below(2));
        break;
      }
      case 2: {  // scale one count
        const std::size_t f[][2] = {{1, 2}, {3, 4}, {5, 4}, {2, 1}};
        const auto& s = f[rng_.below(4)];
        std::size_t& k = l[i].block_count;
        const std::size_t scaled = k * s[0] / s[1];
        k = rng_.below(3) == 0 ? (rng_.below(2) == 0 ? k + 1 : k - (k > 1)) : (scaled == k ? k + (s[0] > s[1]) : scaled);
        break;
      }
      case 3: {  // grow a bucket that ran full
        std::vector<std::size_t> full;
        for (std::size_t b = 0; stats && b < n; ++b)
          if (c.eval.full_failures[b] != 0) full.push_back(b);
        const std::size_t b = full.empty() ? i : full[rng_.below(full.size())];
        l[b].block_count = l[b].block_count * 2 + 1;
        break;
      }
      case 4: {  // move a block size
        const std::size_t f[][2] = {{3, 4}, {7, 8}, {15, 16}, {17, 16}, {9, 8}, {5, 4}};
        const auto& s = f[rng_.below(6)];
        std::size_t size = l[i].block_size * s[0] / s[1];
        const std::size_t g = granule(size, opt_.page);
        size = s[0] > s[1] ? round_up(size, opt_.page) : std::max(plan_min_align, size / g * g);
        if (size == l[i].block_size) size = s[0] > s[1] ? size + g : (size > g ? size - g : size);
        l[i].block_size = size;
        break;
      }
      case 5: {  // fit a block size to the largest request size it serves
        const std::size_t lo = i == 0 ? 0 : l[i - 1].block_size;
        auto it = std::upper_bound(demand_.sizes.begin(), demand_.sizes.end(), l[i].block_size);
        if (it == demand_.sizes.begin() || *(it - 1) <= lo) {
          erase(i);
          break;
        }
        l[i].block_size = round_up(*(it - 1), opt_.page);
        break;
      }
      case 6: {  // split: a bucket between i and i + 1 (or below the first)
        std::size_t size = 0, count = 0;
        if (i + 1 < n) {
          size = (l[i].block_size + l[i + 1].block_size) / 2;
          count = (l[i].block_count + l[i + 1].block_count) / 2;
        } else {
          size = l[0].block_size / 2;
          count = l[0].block_count;
        }
        if (size >= plan_min_align) l.push_back({size, std::max<std::size_t>(1, count)});
        break;
      }
      case 7:  // drop a bucket
        erase(i);
        break;
      case 8:  // merge a bucket into the next
        if (i + 1 < n) {
          l[i + 1].block_count += l[i].block_count;
          erase(i);
        }
        break;
      case 9: {  // scale every count
        const std::size_t f[][2] = {{3, 4}, {7, 8}, {9, 8}, {5, 4}};
        const auto& s = f[rng_.below(4)];
        for (bucket& b : l) b.block_count = std::max<std::size_t>(1, b.block_count * s[0] / s[1]);
        break;
      }
      default: {  // a bucket sized for one request size, sharing the count of the bucket it first fit
        if (demand_.sizes.empty()) break;
        const std::size_t size = round_up(demand_.sizes[rng_.below(demand_.sizes.size())], opt_.page);
        std::size_t count = 1;
        for (const bucket& b : l)
          if (b.block_size >= size) {
            count = b.block_count;
            break;
          }
        l.push_back({size, count});
        break;
      }
    }
    normalize(l, opt_.page);
    fit_bucket_limit(l);
    return l;
  }

 private:
  static bool same(const std::vector<bucket>& a, const std::vector<bucket>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const bucket& x, const bucket& y) {
             return x.block_size == y.block_size && x.block_count == y.block_count;
           });
  }

  /// Drops buckets (the smallest counts first, never the largest block) until at most max_buckets remain.
  void fit_bucket_limit(std::vector<bucket>& l) const {
    while (l.size() > opt_.max_buckets && l.size() > 1) {
      std::size_t drop = 0;
      for (std::size_t b = 1; b + 1 < l.size(); ++b)
        if (l[b].block_count * l[b].block_size < l[drop].block_count * l[drop].block_size) drop = b;
      l.erase(l.begin() + static_cast<std::ptrdiff_t>(drop));
      normalize(l, opt_.page);
    }
  }

  /// Scales the counts down (at least one block each) until the layout fits the virtual limit.
  void fit_virtual_limit(std::vector<bucket>& l) const {
    for (int round = 0; round < 16; ++round) {
      const layout_facts f = measure(l, opt_.page);
      if (f.error != layout_error::none || f.virtual_bytes <= opt_.max_virtual) return;
      const double scale = double(opt_.max_virtual) / double(f.virtual_bytes) * 0.97;
      for (bucket& b : l) b.block_count = std::max<std::size_t>(1, static_cast<std::size_t>(double(b.block_count) * scale));
      normalize(l, opt_.page);
    }
  }

  candidate climb(candidate current, std::size_t e0) {
    std::size_t stall = 0;
    while (stall < opt_.patience && ev_.evaluations() - e0 < opt_.evaluations) {
      std::vector<bucket> l = mutate(current);
      ++stall;
      if (same(l, current.layout) || !feasible(l)) continue;
      evaluation e = ev_.evaluate(l, current.eval.s.failed(opt_.goal), false, opt_.goal);
      if (!better(e.s, current.eval.s, opt_.goal)) continue;
      current.layout = std::move(l);
      current.eval = std::move(e);
      stall = 0;
    }
    return current;
  }

  /// The best layout after a few random moves (a new start for the local search).
  candidate kick(const candidate& from) {
    candidate c = from;
    for (int k = 0; k < 3; ++k) {
      c.layout = mutate(c);
      c.eval = evaluation{};  // the per-bucket figures no longer match the buckets
    }
    if (!feasible(c.layout)) return from;
    c.eval = ev_.evaluate(c.layout);
    c.origin = from.origin;
    return c;
  }

  evaluator& ev_;
  options opt_;
  demand demand_;
  rng rng_;
};

// ---------------------------------------------------------------------------------------------
// Output

inline std::string kib(std::size_t bytes) {
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{:.1f} KiB", double(bytes) / 1024.0);
}

/// One line describing a score.
inline std::string describe(const score& s) {
  return fmt::format(
      "{} of {} requests satisfied ({:.2f}%; {:.2f}% of the bytes), granted/preferred {:.1f}%, virtual {}, metadata {} B",
      s.satisfied, s.requests, 100.0 * s.success(),
      s.requested_bytes == 0 ? 100.0 : 100.0 * double(s.satisfied_bytes) / double(s.requested_bytes),
      100.0 * s.granted(), kib(s.virtual_bytes), s.metadata_bytes);
}

/// The layout in the replay tool's format, with `#` comment lines first.
inline std::string layout_file(std::span<const bucket> layout, const std::vector<std::string>& comments) {
  std::string out;
  for (const std::string& c : comments) out += "# " + c + "\n";
  for (const bucket& b : layout) out += fmt::format("{} {}\n", b.block_size, b.block_count);
  return out;
}

/// The layout as a constexpr table for `vmh::fixed_layout`, ready to paste.
inline std::string cxx_declaration(std::span<const bucket> layout, const std::string& name, std::size_t page,
                                   const std::vector<std::string>& comments) {
  std::string out;
  for (const std::string& c : comments) out += "// " + c + "\n";
  const std::string head = fmt::format("inline constexpr auto {} = vmh::make_table({{", name);
  const std::string indent(head.size(), ' ');
  for (std::size_t i = 0; i < layout.size(); ++i) {
    out += i == 0 ? head : indent;
    out += fmt::format("{{{}, {}}}", layout[i].block_size, layout[i].block_count);
    out += i + 1 < layout.size() ? ",\n" : "},\n";
  }
  out += fmt::format("{}{}, {});\n", std::string(head.size() - 1, ' '), page, vmh_allocator::min_align_of(layout));
  out += fmt::format("using {}_layout = vmh::fixed_layout<{}>;\n", name, name);
  return out;
}

}  // namespace vmh::sim::plan
