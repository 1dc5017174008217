#include "sim/layouts.hpp"

#include <memory>

#include "sim/options.hpp"

namespace vmh::sim {

std::vector<bucket> geometric_layout(const presets::geometric_params& p) {
  bucket buckets[max_buckets];
  const std::size_t n = presets::geometric_buckets(p, buckets, max_buckets);
  return {buckets, buckets + n};
}

std::vector<bucket> auto_layout(std::size_t physical, std::size_t page) {
  return geometric_layout(presets::auto_params(physical, page));
}

std::size_t min_align_of(std::span<const bucket> layout) {
  std::size_t align = default_min_align;
  for (const bucket& b : layout)
    while (align > 8 && b.block_size % align != 0) align /= 2;
  return align;
}

layout_check check_layout(std::span<const bucket> layout, std::size_t page, packed_region packed) {
  const auto g = std::make_unique<layout_geometry<max_buckets>>(derive_geometry<max_buckets>(
      layout.data(), layout.size(), page, min_align_of(layout), SIZE_MAX, SIZE_MAX, SIZE_MAX, false, 1, packed));
  layout_check c;
  c.error = g->error;
  if (c.error != layout_error::none) return c;
  c.virtual_bytes = g->virtual_size;
  for (const bucket& b : layout) c.blocks += b.block_count;
  c.pages = c.virtual_bytes / page + (c.virtual_bytes % page != 0);
  return c;
}

std::size_t charged_budget(std::size_t physical, std::size_t metadata, std::size_t page) {
  if (metadata >= physical) return 0;
  return (physical - metadata) / page * page;
}

std::vector<bucket> parse_layout(std::string_view text, const std::string& path) {
  std::vector<bucket> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> fields;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
    if (fields.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    if (fields.size() != 2) throw cli_error(where + ": expected '<block_size> <count>'");
    if (out.size() == max_buckets) throw cli_error(where + ": more than " + std::to_string(max_buckets) + " buckets");
    out.push_back({parse_number(fields[0], where + ": block size"), parse_number(fields[1], where + ": count")});
  }
  if (out.empty()) throw cli_error(path + ": no buckets");
  return out;
}

std::vector<bucket> load_layout(const std::string& arg, std::size_t physical, std::size_t page) {
  if (arg == "auto") {
    std::vector<bucket> layout = auto_layout(physical, page);
    if (layout.empty())
      throw cli_error("no auto layout for a budget of " + std::to_string(physical) + " bytes with " + std::to_string(page) +
                      "-byte pages: its virtual range would pass the 4 GiB a layout may span (give --layout FILE)");
    return layout;
  }
  if (arg == "sof") {
    const auto& t = presets::sof_table;
    return {t.buckets, t.buckets + t.size()};
  }
  return parse_layout(read_file(arg), arg);
}

}  // namespace vmh::sim
