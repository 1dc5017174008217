#include "sim/svg.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace vmh::sim::svg {
namespace {

/// Escapes the five XML special characters.
std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

/// A coordinate with at most two decimals and no trailing zeros.
std::string num(double v) {
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

/// An SVG document built element by element.
class document {
 public:
  document(double width, double height) {
    out_ = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
        num(width), num(height));
  }
  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra = {}) {
    out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}{}/>\n", num(x), num(y), num(w),
                        num(h), fill, extra.empty() ? "" : " ", extra);
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, std::string_view extra = {}) {
    out_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"{}{}/>\n", num(x1), num(y1), num(x2),
                        num(y2), stroke, extra.empty() ? "" : " ", extra);
  }
  void circle(double x, double y, double r, std::string_view fill) {
    out_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>\n", num(x), num(y), num(r), fill);
  }
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke, std::string_view extra = {}) {
    std::string pts;
    for (const auto& [x, y] : points) {
      if (!pts.empty()) pts += ' ';
      pts += num(x);
      pts += ',';
      pts += num(y);
    }
    out_ += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\"{}{}/>\n", pts, stroke,
                        extra.empty() ? "" : " ", extra);
  }
  /// Text; `attrs` are extra attributes written as given (quote their values).
  void text(double x, double y, std::string_view s, std::string_view attrs = {}) {
    out_ += fmt::format("<text x=\"{}\" y=\"{}\"{}{}>{}</text>\n", num(x), num(y), attrs.empty() ? "" : " ", attrs,
                        escape(s));
  }
  void title(std::string_view s) { out_ += "<title>" + escape(s) + "</title>\n"; }
  std::string finish() { return out_ + "</svg>\n"; }

 private:
  std::string out_;
};

}  // namespace

std::string bytes_text(std::size_t b) {
  if (b >= (std::size_t{1} << 20) && b % (std::size_t{1} << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= (std::size_t{1} << 20)) return fmt::format("{:.1f} MiB", double(b) / 1048576.0);
  if (b >= 1024 && b % 1024 == 0) return fmt::format("{} KiB", b / 1024);
  if (b >= 1024) return fmt::format("{:.1f} KiB", double(b) / 1024.0);
  return fmt::format("{} B", b);
}

map_model::map_model(const map_input& in) {
  std::size_t mapped_bytes = 0;
  for (const sram_segment& g : in.segments) mapped_bytes += g.end - g.begin;
  mapped_pages = in.page == 0 ? 0 : mapped_bytes / in.page;
  for (const map_bucket& b : in.buckets) {
    std::vector<std::array<std::size_t, sram_parts>> bytes(b.block_count, std::array<std::size_t, sram_parts>{});
    std::vector<std::size_t> total(b.block_count, 0);
    // The first segment that ends past the bucket's start, then a walk with the blocks.
    auto seg = std::partition_point(in.segments.begin(), in.segments.end(),
                                    [&](const sram_segment& g) { return g.end <= b.offset; });
    for (std::size_t i = 0; i < b.block_count; ++i) {
      const std::size_t lo = b.offset + i * b.block_size, hi = lo + b.block_size;
      while (seg != in.segments.end() && seg->end <= lo) ++seg;
      for (auto g = seg; g != in.segments.end() && g->begin < hi; ++g) {
        const std::size_t n = std::min(hi, g->end) - std::max(lo, g->begin);
        bytes[i][static_cast<std::size_t>(g->part)] += n;
        total[i] += n;
      }
    }
    parts.push_back(std::move(bytes));
    mapped.push_back(std::move(total));
    used.emplace_back(b.block_count, 0);
  }
  for (const map_allocation& a : in.live)
    for (std::size_t k = 0; k < in.buckets.size(); ++k) {
      const map_bucket& b = in.buckets[k];
      if (a.offset >= b.offset && a.offset < b.offset + b.block_size * b.block_count) {
        used[k][(a.offset - b.offset) / b.block_size] = 1;
        break;
      }
    }
}

namespace {

/// The colours of the map: the parts of mapped bytes (by sram_part), then the metadata and the
/// unmapped budget.
constexpr const char* part_colour[sram_parts] = {"#1d4f91", "#74a9cf", "#8e63b5", "#f2a541"};
constexpr const char* metadata_colour = "#7f7f7f";
constexpr const char* unmapped_colour = "#e9edf3";
constexpr const char* start_colour = "#333333";

/// A legend entry per component of the split, in the budget bar's order.
struct legend_entry {
  const char* colour;
  std::string name;
  std::size_t bytes;
};
std::vector<legend_entry> legend_of(const sram_split& s) {
  return {{part_colour[0], "live requested", s.live},
          {part_colour[1], "sub-page block rounding", s.sub_page_rounding},
          {part_colour[3], "free in mapped pages", s.free_in_pages},
          {part_colour[2], "last-page rounding", s.last_page_rounding},
          {metadata_colour, "metadata + page rounding", s.metadata},
          {unmapped_colour, "unmapped", s.unmapped}};
}

}  // namespace

std::string heap_map(const map_input& in) {
  const map_model m(in);
  constexpr double label_w = 150, area_x = 160, area_w = 600, right_x = 772, width = 980;
  constexpr double row_h = 18, cell_h = 11, strip_h = 3, top = 104;
  constexpr int steps = 22;  // a part's height in a cell, in steps of cell_h / steps
  const bool failed = in.failed_size != 0;
  const double height = top + row_h * double(in.buckets.size()) + 88 + (failed ? 20 : 0);
  document d(width, height);
  d.title(in.title);
  d.text(10, 22, in.title, "font-size=\"15\" font-weight=\"bold\"");
  d.text(10, 40, in.subtitle, "fill=\"#444444\"");

  // The SRAM budget as a bar of the split's components.
  const std::vector<legend_entry> legend = legend_of(in.split);
  const std::size_t mapped_bytes = m.mapped_pages * in.page;
  d.text(10, 66, "SRAM budget");
  d.rect(area_x, 55, area_w, 14, unmapped_colour, "stroke=\"#9aa5b4\" stroke-width=\"0.5\"");
  double x = area_x;
  for (std::size_t i = 0; i + 1 < legend.size(); ++i) {  // the unmapped rest is the bar's background
    const double w = in.split.budget == 0 ? 0.0 : area_w * double(legend[i].bytes) / double(in.split.budget);
    if (w > 0) d.rect(x, 55, w, 14, legend[i].colour);
    x += w;
  }
  d.text(right_x, 66, fmt::format("{} mapped of {} ({:.0f}%)", bytes_text(mapped_bytes), bytes_text(in.physical),
                                  in.physical == 0 ? 0.0 : 100.0 * double(mapped_bytes) / double(in.physical)));
  d.text(10, 94, "bucket (block x count)", "fill=\"#444444\"");
  d.text(area_x, 94, "blocks, filled bottom-up by what their mapped bytes are; dark mark: an allocation starts",
         "fill=\"#444444\"");
  d.text(right_x, 94, "in use, mapped", "fill=\"#444444\"");

  for (std::size_t k = 0; k < in.buckets.size(); ++k) {
    const map_bucket& b = in.buckets[k];
    const double y = top + row_h * double(k);
    const std::size_t per_cell = (b.block_count + in.max_cells - 1) / in.max_cells;
    const std::size_t cells = (b.block_count + per_cell - 1) / per_cell;
    const double cw = area_w / double(cells);
    const bool gaps = per_cell == 1 && cw >= 4;
    std::size_t in_use = 0, bytes = 0;
    for (std::size_t i = 0; i < b.block_count; ++i) {
      in_use += m.used[k][i];
      bytes += m.mapped[k][i];
    }
    d.text(label_w, y + cell_h,
           b.packed ? fmt::format("packed, {} pages", b.block_count) : fmt::format("{} x {}", bytes_text(b.block_size), b.block_count),
           "text-anchor=\"end\"");
    if (!gaps) d.rect(area_x, y, area_w, cell_h, unmapped_colour);
    // A cell's fill: the height of each part, bottom up, in steps; and its share of starts.
    using fill = std::array<int, sram_parts + 1>;
    auto draw = [&](double cx, double w, const fill& f) {
      double bottom = y + cell_h;
      for (std::size_t p = 0; p < sram_parts; ++p) {
        const double h = cell_h * double(f[p]) / steps;
        if (h > 0) d.rect(cx, bottom - h, w, h, part_colour[p]);
        bottom -= h;
      }
      if (f[sram_parts] > 0)
        d.rect(cx, y + cell_h + 1, w, strip_h, start_colour, fmt::format("fill-opacity=\"{}\"", num(double(f[sram_parts]) / 4.0)));
    };
    // Cells, merged into runs of one fill when they are drawn without gaps.
    std::size_t run_start = 0;
    fill run{};
    run.fill(-1);
    for (std::size_t c = 0; c < cells; ++c) {
      const std::size_t first = c * per_cell, last = std::min(b.block_count, first + per_cell);
      std::array<std::size_t, sram_parts> cell{};
      std::size_t cell_used = 0;
      for (std::size_t i = first; i < last; ++i) {
        for (std::size_t p = 0; p < sram_parts; ++p) cell[p] += m.parts[k][i][p];
        cell_used += m.used[k][i];
      }
      // Heights from cumulative sums, so that the parts of a full block fill it exactly.
      const double cell_bytes = double((last - first) * b.block_size);
      fill f{};
      std::size_t below = 0;
      int below_steps = 0;
      for (std::size_t p = 0; p < sram_parts; ++p) {
        below += cell[p];
        const int to = static_cast<int>(std::lround(steps * double(below) / cell_bytes));
        f[p] = to - below_steps;
        below_steps = to;
      }
      f[sram_parts] = cell_used == 0 ? 0 : std::max(1, static_cast<int>(std::lround(4.0 * double(cell_used) / double(last - first))));
      if (gaps) {
        d.rect(area_x + cw * double(c), y, cw - 1, cell_h, unmapped_colour);
        draw(area_x + cw * double(c), cw - 1, f);
        continue;
      }
      if (f != run) {
        if (run[0] >= 0) draw(area_x + cw * double(run_start), cw * double(c - run_start), run);
        run_start = c;
        run = f;
      }
    }
    if (!gaps && run[0] >= 0) draw(area_x + cw * double(run_start), cw * double(cells - run_start), run);
    d.text(right_x, y + cell_h, fmt::format("{} / {}, {}", in_use, b.block_count, bytes_text(bytes)));
  }

  // The failed request: an outline on the first bucket that could hold it, and a note.
  std::size_t fit = in.buckets.size();
  for (std::size_t k = 0; failed && k < in.buckets.size() && fit == in.buckets.size(); ++k)
    if (!in.buckets[k].packed && in.buckets[k].block_size >= in.failed_size) fit = k;
  if (failed && fit < in.buckets.size())
    d.rect(area_x - 2, top + row_h * double(fit) - 2, area_w + 4, cell_h + strip_h + 5, "none",
           "stroke=\"#d62728\" stroke-width=\"1.5\"");

  // Legend: the components of the split, with their bytes, in two lines of three.
  const double ly = top + row_h * double(in.buckets.size()) + 16;
  for (std::size_t i = 0; i < legend.size(); ++i) {
    const double lx = 10 + 250.0 * double(i % 3), line_y = ly + 18.0 * double(i / 3);
    d.rect(lx, line_y, 18, cell_h, legend[i].colour, "stroke=\"#9aa5b4\" stroke-width=\"0.5\"");
    d.text(lx + 24, line_y + 10, fmt::format("{}: {}", legend[i].name, bytes_text(legend[i].bytes)));
  }
  d.rect(10, ly + 40, 18, strip_h, start_colour);
  d.text(34, ly + 46,
         fmt::format("an allocation starts at the block (grouped rows: share of blocks); budget {} = the six above{}",
                     bytes_text(in.split.budget), in.split.exact ? "" : " (not exact: the heap's report disagrees)"));
  d.text(10, ly + 64,
         fmt::format("rows with more than {} blocks group them; each page is mapped while a live allocation touches it",
                     in.max_cells),
         "fill=\"#666666\" font-size=\"11\"");
  if (failed)
    d.text(10, ly + 84,
           fmt::format("failed: {}; {}", in.failed_request,
                       fit < in.buckets.size()
                           ? fmt::format("outlined: the first bucket whose blocks hold it ({})", bytes_text(in.buckets[fit].block_size))
                           : std::string("larger than every block")),
           "fill=\"#d62728\"");
  return d.finish();
}

const char* palette(std::size_t i) {
  static const char* colors[] = {"#7f7f7f", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"};
  return colors[i % 8];
}

std::string budget_curve(const curve_input& in) {
  constexpr double width = 960, left = 70, plot_w = 620, plot_h = 230, top = 70, gap = 70;
  const double height = top + 2 * plot_h + gap + 60;
  document d(width, height);
  d.title(in.title);
  d.text(10, 22, in.title, "font-size=\"15\" font-weight=\"bold\"");
  d.text(10, 40, in.subtitle, "fill=\"#444444\"");
  if (in.budgets.empty()) return d.finish();
  const double x_lo = double(in.budgets.front()), x_hi = double(in.budgets.back());
  auto xpos = [&](std::size_t b) {
    return x_hi == x_lo ? left + plot_w / 2 : left + plot_w * (double(b) - x_lo) / (x_hi - x_lo);
  };

  auto panel = [&](double y0, const char* label, bool granted) {
    double lo = 1.0;
    for (const series& s : in.lines)
      for (const double v : granted ? s.granted : s.success) lo = std::min(lo, v);
    // The y range: from a round number below the lowest value to 100%.
    const double span = std::max(0.05, 1.0 - lo);
    const double step = span <= 0.05 ? 0.01 : span <= 0.1 ? 0.02 : span <= 0.25 ? 0.05 : span <= 0.5 ? 0.1 : 0.2;
    const double y_lo = std::max(0.0, std::floor((lo - step * 0.25) / step) * step);
    auto ypos = [&](double v) { return y0 + plot_h - plot_h * (v - y_lo) / (1.0 - y_lo); };
    d.rect(left, y0, plot_w, plot_h, "#fbfcfe", "stroke=\"#9aa5b4\" stroke-width=\"0.8\"");
    for (double v = y_lo; v <= 1.0 + 1e-9; v += step) {
      d.line(left, ypos(v), left + plot_w, ypos(v), "#dde3ea", "stroke-width=\"0.6\"");
      d.text(left - 6, ypos(v) + 4, fmt::format("{:.0f}%", 100.0 * v), "text-anchor=\"end\"");
    }
    const std::size_t every = in.budgets.size() <= 12 ? 1 : (in.budgets.size() + 11) / 12;
    for (std::size_t i = 0; i < in.budgets.size(); ++i) {
      const double x = xpos(in.budgets[i]);
      d.line(x, y0 + plot_h, x, y0 + plot_h + 4, "#9aa5b4");
      if (i % every == 0 || i + 1 == in.budgets.size())
        d.text(x, y0 + plot_h + 16, bytes_text(in.budgets[i]), "text-anchor=\"middle\" font-size=\"10\"");
    }
    d.text(left, y0 - 8, label, "font-weight=\"bold\"");
    for (std::size_t k = 0; k < in.lines.size(); ++k) {
      const series& s = in.lines[k];
      const std::vector<double>& v = granted ? s.granted : s.success;
      std::vector<std::pair<double, double>> pts;
      for (std::size_t i = 0; i < v.size() && i < in.budgets.size(); ++i) pts.emplace_back(xpos(in.budgets[i]), ypos(v[i]));
      d.polyline(pts, s.color, "stroke-width=\"2\" stroke-linejoin=\"round\"");
      for (const auto& [x, y] : pts) d.circle(x, y, 2.5, s.color);
    }
  };
  panel(top, "requests satisfied", false);
  panel(top + plot_h + gap, "granted / preferred bytes of satisfied range requests", true);
  d.text(left + plot_w / 2, top + 2 * plot_h + gap + 36, "physical budget", "text-anchor=\"middle\"");

  // Legend, right of the plots.
  for (std::size_t k = 0; k < in.lines.size(); ++k) {
    const double y = top + 10 + 20.0 * double(k);
    d.line(left + plot_w + 16, y, left + plot_w + 40, y, in.lines[k].color, "stroke-width=\"3\"");
    d.text(left + plot_w + 46, y + 4, in.lines[k].name);
  }
  return d.finish();
}

}  // namespace vmh::sim::svg
