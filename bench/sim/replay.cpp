#include "sim/replay.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace vmh::sim {

report replay(const std::vector<trace::op>& ops, allocator& a, const event_handler& on_event) {
  struct block {
    void* ptr = nullptr;
    std::size_t size = 0;
  };
  report r;
  bool kept_contract = true;  // every grow returned a size its contract allows
  std::unordered_map<std::uint64_t, block> live;
  live.reserve(1024);
  std::size_t live_bytes = 0;
  // The successful range grants still live: their preferred size and the largest size each has
  // had, which counts (up to preferred) in grow.range_grown_bytes when it goes.
  struct depth {
    std::size_t preferred, largest;
  };
  std::unordered_map<std::uint64_t, depth> ranges;
  auto deepen = [&](std::uint64_t id, std::size_t size) {
    if (const auto it = ranges.find(id); it != ranges.end()) it->second.largest = std::max(it->second.largest, size);
  };
  auto close_range = [&](const depth& d) {
    r.grow.range_grown_bytes = saturating_add(r.grow.range_grown_bytes, std::min(d.largest, d.preferred));
  };
  auto note = [&](std::size_t i, const trace::op& o, bool ok, bool skipped, std::size_t granted, block kept = {},
                  block released = {}) {
    if (live_bytes > r.peak_live_bytes) r.peak_live_bytes = live_bytes;
    if (on_event)
      on_event(event{i, &o, ok, skipped, granted, a.committed_bytes(), kept.ptr, kept.size, released.ptr, released.size});
  };
  // A failed request leaves its id out of `live`: the trace's later e/f of it are skipped.
  auto fail_request = [&](std::size_t i) {
    ++r.failed;
    if (r.first_failure_op < 0) r.first_failure_op = static_cast<long long>(i);
  };

  // The live block of an `e` or `f`, or end() once it is counted as skipped (its request failed).
  auto live_block = [&](std::size_t i, const trace::op& o) {
    const auto it = live.find(o.id);
    if (it == live.end()) {
      ++r.skipped;
      note(i, o, o.kind == trace::op_kind::free, true, 0);
    }
    return it;
  };

  for (std::size_t i = 0; i < ops.size(); ++i) {
    const trace::op& o = ops[i];
    ++r.ops;
    switch (o.kind) {
      case trace::op_kind::allocate: {
        ++r.requests;
        ++r.fixed_requests;
        const outcome got = a.allocate(o.size, o.align);
        if (got.ptr == nullptr) {
          ++r.fixed_failed;
          fail_request(i);
          note(i, o, false, false, 0);
        } else {
          live[o.id] = {got.ptr, o.size};
          live_bytes += o.size;
          note(i, o, true, false, o.size, {got.ptr, o.size});
        }
        break;
      }
      case trace::op_kind::range: {
        ++r.requests;
        ++r.range_requests;
        const outcome got = a.allocate_range(o.size, o.preferred, o.align);
        if (got.ptr != nullptr) {  // kept even when out of range: the firmware would hold it
          live[o.id] = {got.ptr, got.size};
          live_bytes += got.size;
        }
        const bool ok = got.ptr != nullptr && got.size >= o.size && got.size <= o.preferred;
        if (ok) {
          r.range_granted_bytes = saturating_add(r.range_granted_bytes, got.size);
          r.range_preferred_bytes = saturating_add(r.range_preferred_bytes, o.preferred);
          ranges[o.id] = {static_cast<std::size_t>(o.preferred), got.size};
        } else {
          ++r.range_failed;
          fail_request(i);
        }
        note(i, o, ok, false, got.size, {got.ptr, got.ptr != nullptr ? got.size : 0});
        break;
      }
      case trace::op_kind::resize: {
        const auto it = live_block(i, o);
        if (it == live.end()) break;
        ++r.resizes;
        void* moved = a.resize(it->second.ptr, it->second.size, o.size);
        if (moved == nullptr) {
          ++r.resizes_failed;
          note(i, o, false, false, it->second.size);
        } else {
          const block old = it->second;
          live_bytes = live_bytes - old.size + o.size;
          it->second = {moved, o.size};
          deepen(o.id, o.size);
          note(i, o, true, false, o.size, it->second, old);
        }
        break;
      }
      case trace::op_kind::grow: {
        const auto it = live_block(i, o);
        if (it == live.end()) {
          ++r.grow.skipped;
          break;
        }
        grow_report& g = r.grow;
        ++g.requests;
        const block old = it->second;
        const std::size_t preferred = static_cast<std::size_t>(std::min<std::uint64_t>(o.preferred, SIZE_MAX));
        const std::size_t granule = o.size == 0 ? 1 : static_cast<std::size_t>(std::min<std::uint64_t>(o.size, SIZE_MAX));
        if (old.size >= preferred) {  // nothing to ask for: the allocator is not called
          note(i, o, true, false, old.size);
          break;
        }
        const std::size_t got = a.grow(old.ptr, old.size, preferred, granule);
        if (got < old.size || (got > old.size && (got > preferred || got % granule != 0))) kept_contract = false;
        const std::size_t now = std::max(got, old.size);
        ++g.asking;
        g.asked_bytes = saturating_add(g.asked_bytes, preferred - old.size);
        g.gained_bytes = saturating_add(g.gained_bytes, now - old.size);
        g.before_bytes = saturating_add(g.before_bytes, old.size);
        g.after_bytes = saturating_add(g.after_bytes, std::min(now, preferred));
        g.preferred_bytes = saturating_add(g.preferred_bytes, preferred);
        g.grown += now > old.size;
        g.reached += now >= preferred;
        if (now == old.size) {
          note(i, o, false, false, old.size);
        } else {
          live_bytes = live_bytes - old.size + now;
          it->second.size = now;
          deepen(o.id, now);
          note(i, o, now >= preferred, false, now, it->second, old);
        }
        break;
      }
      case trace::op_kind::free: {
        const auto it = live_block(i, o);
        if (it == live.end()) break;
        const block old = it->second;
        a.deallocate(old.ptr);
        live_bytes -= old.size;
        live.erase(it);
        if (const auto d = ranges.find(o.id); d != ranges.end()) {
          close_range(d->second);
          ranges.erase(d);
        }
        note(i, o, true, false, 0, {}, old);
        break;
      }
    }
  }
  for (const auto& [id, d] : ranges) close_range(d);
  r.peak_physical_bytes = a.peak_committed_bytes();
  r.metadata_bytes = a.metadata_bytes();
  r.metadata_charged = a.metadata_charged();
  r.valid_after = a.validate() && kept_contract;
  return r;
}

void grow_report::add(const grow_report& o) {
  requests += o.requests;
  skipped += o.skipped;
  asking += o.asking;
  grown += o.grown;
  reached += o.reached;
  asked_bytes = saturating_add(asked_bytes, o.asked_bytes);
  gained_bytes = saturating_add(gained_bytes, o.gained_bytes);
  before_bytes = saturating_add(before_bytes, o.before_bytes);
  after_bytes = saturating_add(after_bytes, o.after_bytes);
  preferred_bytes = saturating_add(preferred_bytes, o.preferred_bytes);
  range_grown_bytes = saturating_add(range_grown_bytes, o.range_grown_bytes);
}

void totals::add(const report& r) {
  requests += r.requests;
  failed += r.failed;
  granted = saturating_add(granted, r.range_granted_bytes);
  preferred = saturating_add(preferred, r.range_preferred_bytes);
}

void replay_into(totals& t, const std::vector<trace::op>& ops, allocator& a) {
  t.add(replay(ops, a, [&t](const event& e) {
    if (e.op->kind != trace::op_kind::allocate && e.op->kind != trace::op_kind::range) return;
    t.requested_bytes = saturating_add(t.requested_bytes, e.op->size);
    if (e.ok) t.satisfied_bytes = saturating_add(t.satisfied_bytes, e.op->size);
  }));
}

}  // namespace vmh::sim
