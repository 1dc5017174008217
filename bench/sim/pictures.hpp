// The data behind vmh-sim's pictures: a snapshot of a vmh heap at one operation of a trace
// (`map`), and replays of traces at a range of physical budgets (`curve`).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <vmh/vmh.hpp>

#include "sim/replay.hpp"
#include "sim/svg.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// vmh on a runtime layout that also keeps the live allocations (offset and size), so that a
/// picture can show them.
class recording_vmh final : public allocator {
 public:
  recording_vmh(std::span<const bucket> layout, std::size_t physical, std::size_t page, range_policy policy = {})
      : range_(vmh_allocator::virtual_bytes(layout), page > 4096 ? page : 4096),
        heap_(std::make_unique<sim_heap>(external_range{range_.data(), range_.size()}, counting_mapper{physical})) {
    error_ = heap_->configure(layout.data(), layout.size(), page, vmh_allocator::min_align_of(layout));
    heap_->set_range_policy(policy);
  }
  bool valid() const { return error_ == layout_error::none; }
  layout_error error() const { return error_; }
  const sim_heap& heap() const { return *heap_; }

  outcome allocate(std::size_t size, std::size_t align) override { return keep(heap_->try_allocate(size, align)); }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    return keep(heap_->allocate_range(min, preferred, align));
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override {
    if (heap_->resize(ptr, new_size) != status::ok) return nullptr;
    live_[ptr] = new_size;
    return ptr;
  }
  void deallocate(void* ptr) override {
    heap_->deallocate(ptr);
    live_.erase(ptr);
  }
  std::size_t committed_bytes() const override { return heap_->mapper().mapped(); }
  std::size_t peak_committed_bytes() const override { return heap_->mapper().peak(); }
  bool validate() const override { return static_cast<bool>(heap_->validate()); }

  /// The heap as the map draws it.
  svg::map_input snapshot() const {
    svg::map_input in;
    const auto& g = heap_->geometry();
    for (std::size_t b = 0; b < g.bucket_count; ++b)
      in.buckets.push_back({g.buckets[b].block_size, g.buckets[b].block_count, g.buckets[b].offset});
    for (const auto& [ptr, size] : live_)
      in.live.push_back({static_cast<std::size_t>(static_cast<std::byte*>(ptr) - range_.data()), size});
    in.page = g.page_size;
    in.physical = heap_->mapper().budget();
    return in;
  }

 private:
  outcome keep(const grant& g) {
    if (g.ptr != nullptr) live_[g.ptr] = g.size;
    return {g.ptr, g.size};
  }
  virtual_reservation range_;
  std::unique_ptr<sim_heap> heap_;
  layout_error error_ = layout_error::none;
  std::unordered_map<void*, std::size_t> live_;
};

/// Which operation a map shows: a number (0-based index), `end`, `peak` (the first operation
/// after which the most physical memory is mapped) or `fail` (the first failed request; the end
/// if none fails). Returns the index, at most ops.size() - 1.
inline std::size_t pick_operation(const std::vector<trace::op>& ops, const std::string& at,
                                  std::span<const bucket> layout, std::size_t physical, std::size_t page,
                                  range_policy policy) {
  if (ops.empty()) return 0;
  const std::size_t last = ops.size() - 1;
  if (at == "end") return last;
  if (at == "peak" || at == "fail") {
    recording_vmh probe(layout, physical, page, policy);
    std::size_t best = 0, best_index = last;
    long long first_fail = -1;
    replay(ops, probe, [&](const event& e) {
      if (e.committed > best) {
        best = e.committed;
        best_index = e.index;
      }
      const bool request = e.op->kind == trace::op_kind::allocate || e.op->kind == trace::op_kind::range;
      if (request && !e.ok && first_fail < 0) first_fail = static_cast<long long>(e.index);
    });
    if (at == "peak") return best_index;
    return first_fail < 0 ? last : static_cast<std::size_t>(first_fail);
  }
  std::size_t i = 0;
  for (const char c : at) {
    if (c < '0' || c > '9') throw std::invalid_argument("--at must be a number, end, peak or fail, not '" + at + "'");
    i = i * 10 + static_cast<std::size_t>(c - '0');
  }
  return i < last ? i : last;
}

/// Replays operations 0..`index` (inclusive) and returns the heap at that point.
struct heap_snapshot {
  svg::map_input picture;
  report figures;
  std::size_t committed = 0;
};
inline heap_snapshot snapshot_at(const std::vector<trace::op>& ops, std::size_t index, std::span<const bucket> layout,
                                 std::size_t physical, std::size_t page, range_policy policy) {
  recording_vmh v(layout, physical, page, policy);
  if (!v.valid()) throw std::invalid_argument(std::string("unusable layout: ") + to_string(v.error()));
  const std::vector<trace::op> prefix(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(ops.empty() ? 0 : index + 1));
  heap_snapshot s;
  s.figures = replay(prefix, v);
  s.picture = v.snapshot();
  s.committed = v.committed_bytes();
  return s;
}

/// Sums of several replays: success = 1 - failed / requests, granted = granted / preferred bytes,
/// bytes = satisfied / requested bytes (a fixed request counts its size, a range request its minimum).
struct totals {
  std::size_t requests = 0, failed = 0, granted = 0, preferred = 0;
  std::size_t requested_bytes = 0, satisfied_bytes = 0;
  void add(const report& r) {
    requests += r.requests;
    failed += r.failed;
    granted += r.range_granted_bytes;
    preferred += r.range_preferred_bytes;
  }
  double success() const { return requests == 0 ? 1.0 : 1.0 - double(failed) / double(requests); }
  double granted_ratio() const { return preferred == 0 ? 1.0 : double(granted) / double(preferred); }
  double bytes_ratio() const { return requested_bytes == 0 ? 1.0 : double(satisfied_bytes) / double(requested_bytes); }
};

/// Replays `ops` on `a` and adds the figures, requested bytes included, to `t`.
inline void replay_into(totals& t, const std::vector<trace::op>& ops, allocator& a) {
  t.add(replay(ops, a, [&t](const event& e) {
    if (e.op->kind != trace::op_kind::allocate && e.op->kind != trace::op_kind::range) return;
    t.requested_bytes += e.op->size;
    if (e.ok) t.satisfied_bytes += e.op->size;
  }));
}

}  // namespace vmh::sim
