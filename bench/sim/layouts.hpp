// Layouts for the tools: the geometric and auto layouts, the layout file format, and what a
// layout costs the SRAM budget it is measured against.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vmh/layout.hpp>
#include <vmh/presets.hpp>

namespace vmh::sim {

/// The buckets of a geometric layout (empty when the parameters are unusable).
std::vector<bucket> geometric_layout(const presets::geometric_params& p);

/// The library's zero-tuning layout for a physical budget (presets::auto_params).
std::vector<bucket> auto_layout(std::size_t physical, std::size_t page, bool packed = true);

/// The layout's minimum alignment: vmh::widest_min_align, the largest power of two dividing
/// every block size and, with a packed region, its granule; at most a cache line (64), at least
/// 8. (With the zero-tuning layout that is the preset's own 16.)
std::size_t min_align_of(std::span<const bucket> layout, packed_region packed = {});

/// The layout's geometry as the heap derives it (its virtual size, or the rule it breaks).
struct layout_check {
  layout_error error = layout_error::none;
  std::size_t virtual_bytes = 0, blocks = 0, pages = 0;
};
layout_check check_layout(std::span<const bucket> layout, std::size_t page, packed_region packed = {});

/// The page budget left for an allocator's buffers when its out-of-buffer metadata sits in the
/// same SRAM (as on the DSP): `physical - metadata`, rounded down to a page; 0 when the metadata
/// alone fills the budget.
std::size_t charged_budget(std::size_t physical, std::size_t metadata, std::size_t page);

/// The layout file format: one bucket per line, `<block_size> <count>`, K/M/G suffixes, `#`
/// comments. Throws a cli_error naming `path` and the line. `lines` (optional) receives each
/// bucket's line number.
std::vector<bucket> parse_layout(std::string_view text, const std::string& path, std::vector<std::size_t>* lines = nullptr);

/// Where a layout first breaks a rule of the tools' heap (the heap's layout rules for `page`,
/// and the simulator's capacity): the first bucket whose prefix of the layout is refused, and
/// the rule; `error` is `layout_error::none` when the layout is usable (and `bucket` its size).
struct layout_fault {
  std::size_t bucket = 0;
  layout_error error = layout_error::none;
};
layout_fault first_fault(std::span<const bucket> layout, std::size_t page);

/// The auto layout for a budget, or a cli_error when there is none (its virtual range would pass
/// the 4 GiB a layout may span). The one check every command makes of a budget before its work.
std::vector<bucket> require_auto_layout(std::size_t physical, std::size_t page, bool packed = true);

/// `auto` (the library's zero-tuning layout for the budget, require_auto_layout), `sof` (SOF's
/// table) or a layout file. A layout that breaks a rule for `page` is a cli_error naming the
/// bucket's file and line (`FILE:LINE: ...`), or `--layout sof` for SOF's table.
std::vector<bucket> load_layout(const std::string& arg, std::size_t physical, std::size_t page, bool packed = true);

}  // namespace vmh::sim
