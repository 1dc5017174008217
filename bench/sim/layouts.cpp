#include "sim/layouts.hpp"

#include <memory>

#include "sim/allocators.hpp"
#include "sim/options.hpp"

namespace vmh::sim {

std::vector<bucket> geometric_layout(const presets::geometric_params& p) {
  bucket buckets[max_buckets];
  const std::size_t n = presets::geometric_buckets(p, buckets, max_buckets);
  return {buckets, buckets + n};
}

std::vector<bucket> auto_layout(std::size_t physical, std::size_t page, bool packed) {
  return geometric_layout(presets::auto_params(physical, page, packed));
}

std::size_t min_align_of(std::span<const bucket> layout, packed_region packed) {
  return widest_min_align(layout.data(), layout.size(), packed);
}

layout_check check_layout(std::span<const bucket> layout, std::size_t page, packed_region packed) {
  const auto g = std::make_unique<layout_geometry<max_buckets>>(derive_geometry<max_buckets>(
      layout.data(), layout.size(), page, min_align_of(layout, packed), SIZE_MAX, SIZE_MAX, SIZE_MAX, false, 1, packed));
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

std::vector<bucket> parse_layout(std::string_view text, const std::string& path, std::vector<std::size_t>* lines) {
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
    if (lines != nullptr) lines->push_back(line_no);
  }
  if (out.empty()) throw cli_error(path + ": no buckets");
  return out;
}

layout_fault first_fault(std::span<const bucket> layout, std::size_t page) {
  auto refused = [page](std::span<const bucket> prefix) {  // as vmh_allocator::configure checks it
    sim_layout candidate;
    return candidate.assign(prefix.data(), prefix.size(), page, min_align_of(prefix));
  };
  if (const layout_error e = refused(layout); e == layout_error::none || layout.empty()) return {layout.size(), e};
  // The rules are about each bucket and those before it: the shortest refused prefix ends at the culprit.
  for (std::size_t n = 1;; ++n)
    if (const layout_error e = refused(layout.first(n)); e != layout_error::none) return {n - 1, e};
}

std::vector<bucket> require_auto_layout(std::size_t physical, std::size_t page, bool packed) {
  std::vector<bucket> layout = auto_layout(physical, page, packed);
  if (layout.empty())
    throw cli_error("no auto layout for a budget of " + std::to_string(physical) + " bytes with " + std::to_string(page) +
                    "-byte pages: its virtual range would pass the 4 GiB a layout may span (give --layout FILE)");
  return layout;
}

std::vector<bucket> load_layout(const std::string& arg, std::size_t physical, std::size_t page, bool packed) {
  if (arg == "auto") return require_auto_layout(physical, page, packed);
  std::vector<bucket> layout;
  std::vector<std::size_t> lines;
  if (arg == "sof") {
    const auto& t = presets::sof_table;
    layout.assign(t.buckets, t.buckets + t.size());
  } else {
    layout = parse_layout(read_file(arg), arg, &lines);
  }
  const layout_fault f = first_fault(layout, page);
  if (f.error == layout_error::none) return layout;
  if (f.bucket == layout.size()) throw cli_error("--layout " + arg + ": " + to_string(f.error));  // no bucket at all
  const bucket& b = layout[f.bucket];
  const std::string where = lines.empty() ? "--layout " + arg : arg + ":" + std::to_string(lines[f.bucket]);
  throw cli_error(where + ": bucket " + std::to_string(f.bucket) + " (" + std::to_string(b.block_size) + " " +
                  std::to_string(b.block_count) + "): " + to_string(f.error) + " (with " + std::to_string(page) +
                  "-byte pages)");
}

}  // namespace vmh::sim
