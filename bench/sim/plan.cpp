#include "sim/plan.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/core.h>

#include "sim/replay.hpp"

namespace vmh::sim::plan {

// ---------------------------------------------------------------------------------------------
// Block sizes

bool normalize(std::vector<bucket>& layout, std::size_t page, std::size_t min_align) {
  for (bucket& b : layout) {
    b.block_size = presets::round_block_nearest(b.block_size, page, min_align);
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
  std::size_t offset = 0;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (i + 1 < merged.size())
      while ((offset + merged[i].block_count * merged[i].block_size) % block_alignment(merged[i + 1].block_size, page) != 0)
        ++merged[i].block_count;
    offset += merged[i].block_count * merged[i].block_size;
  }
  layout = std::move(merged);
  return !layout.empty();
}

presets::geometric_params geometric_variant(std::size_t physical, std::size_t page, const std::size_t (&ratio)[2],
                                            const std::size_t (&overcommit)[2], std::size_t cap, std::size_t min_block) {
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

std::size_t score::granted_key() const {
  if (preferred_bytes == 0) return 1000;
  __extension__ using wide = unsigned __int128;  // granted * 1000 must not wrap
  return static_cast<std::size_t>(wide{granted_bytes} * 1000 / preferred_bytes);
}

bool better(const score& a, const score& b, objective o) {
  if (a.valid != b.valid) return a.valid;
  if (!a.valid) return false;
  if (o == objective::bytes && a.satisfied_bytes != b.satisfied_bytes) return a.satisfied_bytes > b.satisfied_bytes;
  if (a.satisfied != b.satisfied) return a.satisfied > b.satisfied;
  if (a.granted_key() != b.granted_key()) return a.granted_key() > b.granted_key();
  return a.cost() < b.cost();
}

// ---------------------------------------------------------------------------------------------
// Evaluation

trace_case make_case(std::string name, std::vector<trace::op> ops) {
  trace_case c{std::move(name), std::move(ops), {}, 0};
  std::map<std::uint64_t, std::size_t> live;  // id -> request ordinal
  for (const trace::op& o : c.ops) {
    if (o.kind == trace::op_kind::allocate || o.kind == trace::op_kind::range) live[o.id] = c.requests++;
    else if (o.kind == trace::op_kind::free) live.erase(o.id);
  }
  for (const auto& [id, ordinal] : live) c.live_at_end.push_back(ordinal);
  return c;
}

/// The evaluator's view of the heap during one trace: forwards to the vmh adapter, remembers
/// each request's pointer (vmh never moves a block, so a resize keeps it) to free what the trace
/// leaves live, and refuses every request once the failures pass the bound.
class request_log final : public allocator {
 public:
  explicit request_log(vmh_allocator& v) : vmh_(v) {}
  void start(std::size_t limit, bool validate, bool by_bytes) {
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
      if (k < by_request_.size() && by_request_[k] != nullptr) vmh_.deallocate(by_request_[k]);
  }

  outcome allocate(std::size_t size, std::size_t align) override {
    requested_bytes_ = saturating_add(requested_bytes_, size);
    if (doomed()) return refuse(size);
    return record(vmh_.allocate(size, align), size);
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    requested_bytes_ = saturating_add(requested_bytes_, min);
    if (doomed()) return refuse(min);
    return record(vmh_.allocate_range(min, preferred, align), min);
  }
  void* resize(void* ptr, std::size_t old_size, std::size_t new_size) override {
    return vmh_.resize(ptr, old_size, new_size);
  }
  std::size_t grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) override {
    return vmh_.grow(ptr, size, preferred, granule);
  }
  void deallocate(void* ptr) override { vmh_.deallocate(ptr); }
  std::size_t committed_bytes() const override { return vmh_.committed_bytes(); }
  std::size_t peak_committed_bytes() const override { return vmh_.peak_committed_bytes(); }
  bool validate() const override { return !validate_ || vmh_.validate(); }
  std::size_t metadata_bytes() const override { return vmh_.metadata_bytes(); }

 private:
  outcome refuse(std::size_t bytes) {
    ++failures_;
    failed_bytes_ = saturating_add(failed_bytes_, bytes);
    by_request_.push_back(nullptr);
    return {};
  }
  outcome record(const outcome& g, std::size_t bytes) {
    if (g.ptr == nullptr) {
      ++failures_;
      failed_bytes_ = saturating_add(failed_bytes_, bytes);
    }
    by_request_.push_back(g.ptr);
    return g;
  }
  vmh_allocator& vmh_;
  std::size_t limit_ = SIZE_MAX, failures_ = 0, failed_bytes_ = 0, requested_bytes_ = 0;
  bool validate_ = false, by_bytes_ = false;
  std::vector<void*> by_request_;
};

evaluator::evaluator(std::vector<trace_case> cases, std::size_t physical, std::size_t page, vmh_options opt)
    : cases_(std::move(cases)),
      physical_(physical),
      page_(page),
      packed_(packed_for(opt, physical, page)),
      vmh_(physical, page, opt),
      log_(std::make_unique<request_log>(vmh_)) {
  for (const trace_case& c : cases_) requests_ += c.requests;
}

std::vector<bucket> evaluator::auto_layout() const { return sim::auto_layout(physical_, page_, packed_.bytes != 0); }

evaluator::~evaluator() = default;

evaluation evaluator::evaluate(std::span<const bucket> layout, std::size_t max_failed, bool validate, objective o) {
  evaluation e;
  e.s.virtual_bytes = check(layout).virtual_bytes;
  e.error = vmh_.configure(layout);
  if (e.error != layout_error::none) return e;
  e.s.metadata_bytes = vmh_.metadata_bytes();
  ++evaluations_;
  std::size_t failed = 0;
  e.s.valid = true;
  for (const trace_case& c : cases_) {
    log_->start(max_failed == SIZE_MAX ? SIZE_MAX : max_failed - failed, validate, o == objective::bytes);
    const report r = replay(c.ops, *log_);
    failed += log_->lost();
    e.s.requested_bytes = saturating_add(e.s.requested_bytes, log_->requested_bytes());
    e.s.satisfied_bytes = saturating_add(e.s.satisfied_bytes, log_->requested_bytes() - log_->failed_bytes());
    e.s.requests += r.requests;
    e.s.satisfied += r.requests - r.failed;
    e.s.granted_bytes = saturating_add(e.s.granted_bytes, r.range_granted_bytes);
    e.s.preferred_bytes = saturating_add(e.s.preferred_bytes, r.range_preferred_bytes);
    if (!r.valid_after) e.valid_after = false;
    if (&c == &cases_.back() && !log_->doomed()) {
      for (std::size_t b = 0; b < layout.size(); ++b) {
        const bucket_stats bs = vmh_.heap().stats(b);
        e.peak.push_back(bs.peak_in_use);
        e.full_failures.push_back(bs.full_failures);
      }
    }
    log_->release(c.live_at_end);
    if (vmh_.heap().stats().live_allocations != 0) throw std::logic_error("planner: allocations left after a replay");
    if (log_->doomed()) {
      e.s.pruned = true;
      e.s.valid = false;
      ++pruned_;
      break;
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Demand

namespace {

demand analyse(const std::vector<trace_case>& cases) {
  demand d;
  for (const trace_case& c : cases)
    for (const trace::op& o : c.ops) {
      if (o.kind == trace::op_kind::free) continue;
      if (o.kind != trace::op_kind::grow) d.sizes.push_back(static_cast<std::size_t>(o.size));  // a grow's size is its granule
      if (o.kind == trace::op_kind::range || o.kind == trace::op_kind::grow) d.sizes.push_back(static_cast<std::size_t>(o.preferred));
    }
  std::sort(d.sizes.begin(), d.sizes.end());
  d.sizes.erase(std::unique(d.sizes.begin(), d.sizes.end()), d.sizes.end());
  d.largest = d.sizes.empty() ? 0 : d.sizes.back();
  return d;
}

/// A layout with the given block sizes whose counts are the traces' peak number of live
/// requests that first fit each size (as if every request succeeded; a range request by its
/// preferred size), plus a quarter; sizes no request fits first are dropped.
std::vector<bucket> demand_layout(const std::vector<trace_case>& cases, std::vector<std::size_t> sizes) {
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

bool same(const std::vector<bucket>& a, const std::vector<bucket>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const bucket& x, const bucket& y) {
           return x.block_size == y.block_size && x.block_count == y.block_count;
         });
}

// ---------------------------------------------------------------------------------------------
// Moves: each changes the layout `l` of a candidate; `i` is a random bucket of it.

struct move_context {
  std::vector<bucket>& l;
  const candidate& c;
  std::size_t n, i;
  bool stats;  ///< the candidate's per-bucket figures match its buckets
  rng& r;
  const demand& d;
  std::size_t page;
  /// Most blocks of bucket b in use at once in the last replay (its count when not known).
  std::size_t peak(std::size_t b) const { return stats ? c.eval.peak[b] : l[b].block_count; }
  void erase(std::size_t b) {
    if (l.size() > 1) l.erase(l.begin() + static_cast<std::ptrdiff_t>(b));
  }
};

struct move {
  unsigned weight;  ///< how often it is picked, against the sum of the weights
  void (*apply)(move_context&);
};

constexpr move moves[] = {
    {1, [](move_context& m) {  // trim every count to its peak use plus a margin
       const std::size_t margin[] = {0, 8, 4, 2};
       const std::size_t d = margin[m.r.below(4)];
       for (std::size_t b = 0; b < m.n; ++b) {
         const std::size_t p = m.peak(b);
         m.l[b].block_count = std::max<std::size_t>(1, p + (d == 0 ? 0 : (p + d - 1) / d));
       }
     }},
    {3, [](move_context& m) {  // trim one count to its peak use (drop the bucket if unused)
       if (m.stats && m.peak(m.i) == 0 && m.r.below(2) == 0) m.erase(m.i);
       else m.l[m.i].block_count = std::max<std::size_t>(1, m.peak(m.i) + m.r.below(2));
     }},
    {4, [](move_context& m) {  // scale one count
       const std::size_t f[][2] = {{1, 2}, {3, 4}, {5, 4}, {2, 1}};
       const auto& s = f[m.r.below(4)];
       std::size_t& k = m.l[m.i].block_count;
       const std::size_t scaled = k * s[0] / s[1];
       k = m.r.below(3) == 0 ? (m.r.below(2) == 0 ? k + 1 : k - (k > 1)) : (scaled == k ? k + (s[0] > s[1]) : scaled);
     }},
    {2, [](move_context& m) {  // grow a bucket that ran full
       std::vector<std::size_t> full;
       for (std::size_t b = 0; m.stats && b < m.n; ++b)
         if (m.c.eval.full_failures[b] != 0) full.push_back(b);
       const std::size_t b = full.empty() ? m.i : full[m.r.below(full.size())];
       m.l[b].block_count = m.l[b].block_count * 2 + 1;
     }},
    {4, [](move_context& m) {  // move a block size
       const std::size_t f[][2] = {{3, 4}, {7, 8}, {15, 16}, {17, 16}, {9, 8}, {5, 4}};
       const auto& s = f[m.r.below(6)];
       std::size_t size = m.l[m.i].block_size * s[0] / s[1];
       const std::size_t g = presets::block_granule(size, m.page, plan_min_align);
       size = s[0] > s[1] ? presets::round_block_up(size, m.page, plan_min_align) : std::max(plan_min_align, size / g * g);
       if (size == m.l[m.i].block_size) size = s[0] > s[1] ? size + g : (size > g ? size - g : size);
       m.l[m.i].block_size = size;
     }},
    {2, [](move_context& m) {  // fit a block size to the largest request size it serves
       const std::size_t lo = m.i == 0 ? 0 : m.l[m.i - 1].block_size;
       auto it = std::upper_bound(m.d.sizes.begin(), m.d.sizes.end(), m.l[m.i].block_size);
       if (it == m.d.sizes.begin() || *(it - 1) <= lo) {
         m.erase(m.i);
         return;
       }
       m.l[m.i].block_size = presets::round_block_up(*(it - 1), m.page, plan_min_align);
     }},
    {2, [](move_context& m) {  // split: a bucket between i and i + 1 (or below the first)
       std::size_t size = 0, count = 0;
       if (m.i + 1 < m.n) {
         size = (m.l[m.i].block_size + m.l[m.i + 1].block_size) / 2;
         count = (m.l[m.i].block_count + m.l[m.i + 1].block_count) / 2;
       } else {
         size = m.l[0].block_size / 2;
         count = m.l[0].block_count;
       }
       if (size >= plan_min_align) m.l.push_back({size, std::max<std::size_t>(1, count)});
     }},
    {2, [](move_context& m) { m.erase(m.i); }},  // drop a bucket
    {1, [](move_context& m) {  // merge a bucket into the next
       if (m.i + 1 < m.n) {
         m.l[m.i + 1].block_count += m.l[m.i].block_count;
         m.erase(m.i);
       }
     }},
    {1, [](move_context& m) {  // scale every count
       const std::size_t f[][2] = {{3, 4}, {7, 8}, {9, 8}, {5, 4}};
       const auto& s = f[m.r.below(4)];
       for (bucket& b : m.l) b.block_count = std::max<std::size_t>(1, b.block_count * s[0] / s[1]);
     }},
    {2, [](move_context& m) {  // a bucket sized for one request size, sharing the count of the bucket it first fit
       if (m.d.sizes.empty()) return;
       const std::size_t size = presets::round_block_up(m.d.sizes[m.r.below(m.d.sizes.size())], m.page, plan_min_align);
       std::size_t count = 1;
       for (const bucket& b : m.l)
         if (b.block_size >= size) {
           count = b.block_count;
           break;
         }
       m.l.push_back({size, count});
     }},
};

constexpr unsigned total_weight() {
  unsigned t = 0;
  for (const move& m : moves) t += m.weight;
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Search

planner::planner(evaluator& ev, options opt) : ev_(ev), opt_(opt), demand_(analyse(ev.cases())), rng_{opt.rng_seed} {}

bool planner::feasible(const std::vector<bucket>& l) const {
  if (l.empty() || l.size() > opt_.max_buckets) return false;
  const layout_check f = ev_.check(l);
  return f.error == layout_error::none && f.virtual_bytes <= opt_.max_virtual && f.blocks <= sim_layout::block_capacity &&
         f.pages <= sim_layout::page_capacity;
}

std::vector<candidate> planner::seeds() const {
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
  add(ev_.auto_layout(), "auto", false);
  if (opt_.page == presets::sof_table.page_size)
    add({presets::sof_table.buckets, presets::sof_table.buckets + presets::sof_table.size()}, "sof", false);
  const std::size_t top = presets::round_block_up(std::max<std::size_t>(demand_.largest, 64), opt_.page, plan_min_align);
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
    presets::geometric_params p = presets::auto_params(opt_.physical, opt_.page, ev_.packed().bytes != 0);
    p.ratio_num = r[0];
    p.ratio_den = r[1];
    p.max_block = top;
    std::vector<std::size_t> sizes;
    for (const bucket& b : geometric_layout(p)) sizes.push_back(b.block_size);
    add(demand_layout(ev_.cases(), sizes), fmt::format("demand {}/{}", r[0], r[1]), true);
  }
  return out;
}

result planner::run(const progress_handler& on_progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t e0 = ev_.evaluations(), p0 = ev_.pruned();
  result res;
  res.automatic.layout = ev_.auto_layout();
  res.automatic.origin = "auto";
  res.automatic.eval = ev_.evaluate(res.automatic.layout, SIZE_MAX, true);

  // Progress: at most every half second, with the best score so far.
  score best_so_far;
  auto last = t0;
  auto seen = [&](const candidate& c) {
    if (better(c.eval.s, best_so_far, opt_.goal)) best_so_far = c.eval.s;
    if (!on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(500)) return;
    last = now;
    on_progress({ev_.evaluations() - e0, opt_.evaluations, best_so_far,
                 std::chrono::duration<double>(now - t0).count()});
  };

  // Seeds, keeping the best `starts` (a seed that fails more than the worst kept is pruned).
  std::vector<candidate> ranked;
  std::vector<candidate> all = seeds();
  res.seeds = all.size();
  for (candidate& c : all) {
    const std::size_t bound = ranked.size() < opt_.starts ? SIZE_MAX : ranked.back().eval.s.failed(opt_.goal);
    c.eval = same(c.layout, res.automatic.layout) ? res.automatic.eval : ev_.evaluate(c.layout, bound, false, opt_.goal);
    seen(c);
    if (!c.eval.s.valid) continue;
    ranked.push_back(std::move(c));
    std::stable_sort(ranked.begin(), ranked.end(),
                     [this](const candidate& x, const candidate& y) { return better(x.eval.s, y.eval.s, opt_.goal); });
    if (ranked.size() > opt_.starts) ranked.pop_back();
  }
  if (ranked.empty())
    throw std::runtime_error(
        ev_.packed().bytes == 0
            ? std::string("no usable layout within the limits (--max-buckets, --virtual)")
            : fmt::format("no usable layout within the limits (--max-buckets, --virtual; the packed region takes {} bytes "
                          "of the virtual size, see --packed)",
                          ev_.packed().bytes));
  candidate best = ranked.front();

  // Local search from each start in turn, then from the best with a random kick.
  for (std::size_t round = 0; ev_.evaluations() - e0 < opt_.evaluations; ++round) {
    candidate start = round < ranked.size() ? ranked[round] : kick(best);
    if (!start.eval.s.valid) break;
    candidate found = climb(std::move(start), e0, seen);
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

std::vector<bucket> planner::mutate(const candidate& c) {
  std::vector<bucket> l = c.layout;
  const std::size_t n = l.size();
  const std::size_t i = rng_.below(n);
  move_context m{l, c, n, i, c.eval.peak.size() == n, rng_, demand_, opt_.page};
  unsigned pick = static_cast<unsigned>(rng_.below(total_weight()));
  std::size_t k = 0;
  while (pick >= moves[k].weight) pick -= moves[k++].weight;
  moves[k].apply(m);
  normalize(l, opt_.page);
  fit_bucket_limit(l);
  return l;
}

void planner::fit_bucket_limit(std::vector<bucket>& l) const {
  // Drops buckets (the smallest counts first, never the largest block) until at most max_buckets remain.
  while (l.size() > opt_.max_buckets && l.size() > 1) {
    std::size_t drop = 0;
    for (std::size_t b = 1; b + 1 < l.size(); ++b)
      if (l[b].block_count * l[b].block_size < l[drop].block_count * l[drop].block_size) drop = b;
    l.erase(l.begin() + static_cast<std::ptrdiff_t>(drop));
    normalize(l, opt_.page);
  }
}

void planner::fit_virtual_limit(std::vector<bucket>& l) const {
  // Scales the counts down (at least one block each) until the layout fits the virtual limit.
  for (int round = 0; round < 16; ++round) {
    const layout_check f = ev_.check(l);
    if (f.error != layout_error::none || f.virtual_bytes <= opt_.max_virtual) return;
    const double scale = double(opt_.max_virtual) / double(f.virtual_bytes) * 0.97;
    for (bucket& b : l) b.block_count = std::max<std::size_t>(1, static_cast<std::size_t>(double(b.block_count) * scale));
    normalize(l, opt_.page);
  }
}

candidate planner::climb(candidate current, std::size_t e0, const std::function<void(const candidate&)>& seen) {
  std::size_t stall = 0;
  while (stall < opt_.patience && ev_.evaluations() - e0 < opt_.evaluations) {
    std::vector<bucket> l = mutate(current);
    ++stall;
    if (same(l, current.layout) || !feasible(l)) continue;
    evaluation e = ev_.evaluate(l, current.eval.s.failed(opt_.goal), false, opt_.goal);
    if (!better(e.s, current.eval.s, opt_.goal)) continue;
    current.layout = std::move(l);
    current.eval = std::move(e);
    seen(current);
    stall = 0;
  }
  return current;
}

candidate planner::kick(const candidate& from) {
  // The best layout after a few random moves (a new start for the local search).
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

// ---------------------------------------------------------------------------------------------
// Output

namespace {
std::string kib(std::size_t bytes) {
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{:.1f} KiB", double(bytes) / 1024.0);
}
}  // namespace

std::string describe(const score& s) {
  return fmt::format(
      "{} of {} requests satisfied ({:.2f}%; {:.2f}% of the bytes), granted/preferred {:.1f}%, virtual {}, metadata {} B",
      s.satisfied, s.requests, 100.0 * s.success(),
      s.requested_bytes == 0 ? 100.0 : 100.0 * double(s.satisfied_bytes) / double(s.requested_bytes),
      100.0 * s.granted(), kib(s.virtual_bytes), s.metadata_bytes);
}

std::string layout_file(std::span<const bucket> layout, const std::vector<std::string>& comments) {
  std::string out;
  for (const std::string& c : comments) out += "# " + c + "\n";
  for (const bucket& b : layout) out += fmt::format("{} {}\n", b.block_size, b.block_count);
  return out;
}

std::string cxx_declaration(std::span<const bucket> layout, const std::string& name, std::size_t page,
                            const std::vector<std::string>& comments, packed_region packed) {
  std::string out;
  for (const std::string& c : comments) out += "// " + c + "\n";
  out += "#pragma once\n\n#include <vmh/vmh.hpp>\n\n";
  const bool with_packed = packed.bytes != 0;
  const std::string head =
      fmt::format("inline constexpr auto {} = {}vmh::make_table({{", name, with_packed ? "vmh::with_packed(" : "");
  const std::string indent(head.size(), ' ');
  for (std::size_t i = 0; i < layout.size(); ++i) {
    out += i == 0 ? head : indent;
    out += fmt::format("{{{}, {}}}", layout[i].block_size, layout[i].block_count);
    out += i + 1 < layout.size() ? ",\n" : "},\n";
  }
  out += fmt::format("{}{}, {})", std::string(head.size() - 1, ' '), page, min_align_of(layout, packed));
  if (with_packed) out += fmt::format(", vmh::packed_region{{{}, {}, {}}})", packed.bytes, packed.limit, packed.granule);
  out += ";\n";
  out += fmt::format("using {}_layout = vmh::fixed_layout<{}>;\n", name, name);
  return out;
}

}  // namespace vmh::sim::plan
