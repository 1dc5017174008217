// SVG pictures of vmh-sim: a heap map (each bucket a row of blocks, each block filled with the
// SRAM components its mapped bytes are, sim/waste.hpp) and budget curves (success rate and
// granted/preferred against the physical budget). Plain text output, no library: every
// attribute is quoted and every text escaped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/waste.hpp"

namespace vmh::sim::svg {

// ---------------------------------------------------------------------------------------------
// Heap map

struct map_bucket {
  std::size_t block_size = 0, block_count = 0, offset = 0;
  bool packed = false;  ///< the packed region, drawn as its pages (block_size: a page)
};
struct map_allocation {
  std::size_t offset = 0, size = 0;  ///< virtual offset and bytes (requested or granted)
};
struct map_input {
  std::string title, subtitle;
  std::vector<map_bucket> buckets;
  std::vector<map_allocation> live;
  /// Every mapped byte, classified (classify_pages), ascending: what each block is filled with.
  std::vector<sram_segment> segments;
  /// The SRAM split at the operation shown: the budget bar and the legend.
  sram_split split;
  std::size_t page = 4096, physical = 0;  ///< physical: the bytes of pages the heap may map
  std::size_t max_cells = 192;  ///< blocks per row drawn one by one; more are grouped
  /// The request that failed at the operation shown, in words (none when failed_size is 0): drawn
  /// as a note and an outline on the first bucket whose blocks could hold its size.
  std::string failed_request;
  std::size_t failed_size = 0;
};

/// Bytes as "512 B", "12 KiB", "1.5 MiB".
std::string bytes_text(std::size_t b);

/// What the map shows, computed from the classified segments and the live allocations: per
/// block its mapped bytes of each part and whether an allocation starts there.
struct map_model {
  std::vector<std::vector<std::array<std::size_t, sram_parts>>> parts;  ///< per bucket, per block: mapped bytes by sram_part
  std::vector<std::vector<std::size_t>> mapped;  ///< per bucket, per block: mapped bytes
  std::vector<std::vector<std::uint8_t>> used;   ///< per bucket, per block: an allocation starts here
  std::size_t mapped_pages = 0;                  ///< pages the segments cover

  explicit map_model(const map_input& in);
};

/// The heap map: one row of blocks per bucket, each filled from the bottom with its mapped bytes
/// of each part in its part's colour; the budget bar and a legend with the split.
std::string heap_map(const map_input& in);

// ---------------------------------------------------------------------------------------------
// Budget curves

struct series {
  std::string name;
  std::string color;
  std::vector<double> success;  ///< per budget, in [0, 1]
  std::vector<double> granted;  ///< per budget, in [0, 1]
};
struct curve_input {
  std::string title, subtitle;
  std::vector<std::size_t> budgets;  ///< ascending, bytes
  std::vector<series> lines;
};

/// The colour of series i.
const char* palette(std::size_t i);

/// Success and granted/preferred against the budget, one line per series.
std::string budget_curve(const curve_input& in);

}  // namespace vmh::sim::svg
