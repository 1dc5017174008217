#include "sim/pictures.hpp"

#include <stdexcept>

#include <fmt/core.h>

#include "sim/traces.hpp"

namespace vmh::sim {

std::size_t pick_operation(const std::vector<trace::op>& ops, const std::string& at, std::span<const bucket> layout,
                           std::size_t physical, std::size_t page, vmh_options opt) {
  if (ops.empty()) return 0;
  const std::size_t last = ops.size() - 1;
  if (at == "end") return last;
  if (at == "peak" || at == "fail") {
    vmh_allocator probe(layout, physical, page, opt);
    if (!probe.valid()) throw std::invalid_argument(std::string("unusable layout: ") + to_string(probe.error()));
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
  const std::string usage = "--at must be an operation number, end, peak or fail, not '" + at + "'";
  if (at.empty()) throw std::invalid_argument(usage);
  std::size_t i = 0;
  for (const char c : at) {
    if (c < '0' || c > '9') throw std::invalid_argument(usage);
    i = i * 10 + static_cast<std::size_t>(c - '0');  // no wrap: i <= last, a vector's size, before this step
    if (i > last)
      throw std::invalid_argument("--at " + at + ": the trace has " + std::to_string(ops.size()) + " operations (0 to " +
                                  std::to_string(last) + ")");
  }
  return i;
}

heap_snapshot snapshot_at(const std::vector<trace::op>& ops, std::size_t index, std::span<const bucket> layout,
                          std::size_t physical, std::size_t page, vmh_options opt) {
  opt.record_live = true;
  vmh_allocator v(layout, physical, page, opt);
  if (!v.valid()) throw std::invalid_argument(std::string("unusable layout: ") + to_string(v.error()));
  const std::vector<trace::op> prefix(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(ops.empty() ? 0 : index + 1));
  heap_snapshot s;
  s.figures = replay(prefix, v, [&](const event& e) {
    const bool request = e.op->kind == trace::op_kind::allocate || e.op->kind == trace::op_kind::range;
    if (e.index + 1 != prefix.size() || !request || e.ok) return;
    // The operation shown failed: name it and its size (a range by its minimum).
    s.picture.failed_size = static_cast<std::size_t>(e.op->size);
    s.picture.failed_request = fmt::format("operation {}, {}", e.index, request_text(*e.op));
  });
  const auto& g = v.heap().geometry();
  if (g.packed.bytes != 0) s.picture.buckets.push_back({g.page_size, g.packed.bytes / g.page_size, 0, true});
  for (std::size_t b = 0; b < g.bucket_count; ++b)
    s.picture.buckets.push_back({g.buckets[b].block_size, g.buckets[b].block_count, g.buckets[b].offset});
  std::vector<live_block> live;
  for (const auto& [ptr, size] : v.live()) {
    s.picture.live.push_back({v.offset_of(ptr), size});
    live.push_back({ptr, size});
  }
  sram_placement placed;
  if (v.place(live, placed)) {
    bool consistent = true;
    s.picture.segments = classify_pages(placed, consistent);
    s.picture.split = split_sram(placed, physical, v.committed_bytes());
    s.picture.split.op = static_cast<long long>(prefix.empty() ? 0 : prefix.size() - 1);
  }
  s.picture.page = g.page_size;
  s.picture.physical = v.page_budget();
  s.committed = v.committed_bytes();
  return s;
}

}  // namespace vmh::sim
