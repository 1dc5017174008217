// The data behind vmh-sim's heap map: a vmh heap after one operation of a trace.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "sim/allocators.hpp"
#include "sim/replay.hpp"
#include "sim/svg.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// Which operation a map shows: a number (0-based index, below ops.size()), `end`, `peak` (the
/// first operation after which the most physical memory is mapped) or `fail` (the first failed
/// request; the end if none fails). Throws std::invalid_argument for anything else, an index
/// past the end included.
std::size_t pick_operation(const std::vector<trace::op>& ops, const std::string& at, std::span<const bucket> layout,
                           std::size_t physical, std::size_t page, vmh_options opt = {});

/// A heap after operations 0..index (inclusive).
struct heap_snapshot {
  svg::map_input picture;
  report figures;
  std::size_t committed = 0;
};
heap_snapshot snapshot_at(const std::vector<trace::op>& ops, std::size_t index, std::span<const bucket> layout,
                          std::size_t physical, std::size_t page, vmh_options opt = {});

}  // namespace vmh::sim
