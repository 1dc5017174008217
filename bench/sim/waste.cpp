#include "sim/waste.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace vmh::sim {

std::vector<sram_segment> classify_pages(const sram_placement& p, bool& consistent) {
  std::vector<sram_segment> out;
  if (p.page == 0) return out;
  std::vector<placed_allocation> live = p.live;
  std::sort(live.begin(), live.end(), [](const placed_allocation& a, const placed_allocation& b) { return a.offset < b.offset; });
  std::size_t requested = 0;
  for (std::size_t i = 0; i < live.size(); ++i) {
    const placed_allocation& a = live[i];
    if (a.requested > a.reserved || a.reserved > SIZE_MAX - a.offset) consistent = false;
    if (i + 1 < live.size() && a.offset + a.reserved > live[i + 1].offset) consistent = false;
    requested += a.requested;
  }
  std::vector<std::size_t> pages = p.mapped_pages;
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());

  std::size_t cursor = 0;  // every byte below it is classified: runs never overlap
  // Classifies [begin, end) less what is classified already; returns the bytes it took.
  auto emit = [&](std::size_t begin, std::size_t end, sram_part part) -> std::size_t {
    begin = std::max(begin, cursor);
    if (end <= begin) return 0;
    if (!out.empty() && out.back().end == begin && out.back().part == part) out.back().end = end;
    else out.push_back({begin, end, part});
    cursor = end;
    return end - begin;
  };
  std::size_t first = 0;  // the first allocation that may reach the current page
  std::size_t live_mapped = 0;
  for (const std::size_t q : pages) {
    const std::size_t lo = q * p.page, hi = lo + p.page;
    while (first < live.size() && live[first].offset + live[first].reserved <= lo) ++first;
    for (std::size_t j = first; j < live.size() && live[j].offset < hi; ++j) {
      const placed_allocation& a = live[j];
      const std::size_t asked_end = a.offset + a.requested, kept_end = a.offset + a.reserved;
      emit(lo, std::max(lo, a.offset), sram_part::free_in_pages);
      live_mapped += emit(std::max(lo, a.offset), std::min(hi, asked_end), sram_part::live);
      // The tail of a block (or granule) below a page is rounding within the page; of a larger
      // one, rounding up to its last page.
      emit(std::max(lo, asked_end), std::min(hi, kept_end),
           a.reserved < p.page ? sram_part::sub_page_rounding : sram_part::last_page_rounding);
    }
    emit(lo, hi, sram_part::free_in_pages);
  }
  if (live_mapped != requested) consistent = false;  // requested bytes outside the mapped pages
  return out;
}

sram_split split_sram(const sram_placement& p, std::size_t budget, std::size_t committed) {
  sram_split s;
  s.model = p.model;
  s.budget = budget;
  if (p.model == sram_model::none) return s;
  s.exact = p.usable <= budget;
  s.metadata = budget - std::min(budget, p.usable);
  if (p.model == sram_model::region) {
    std::size_t reserved = 0;
    for (const placed_allocation& a : p.live) {
      s.live += a.requested;
      s.sub_page_rounding += a.reserved - std::min(a.reserved, a.requested);
      reserved += std::max(a.reserved, a.requested);
    }
    s.exact = s.exact && reserved <= p.usable;
    s.free_in_pages = p.usable - std::min(p.usable, reserved);
  } else {
    std::size_t mapped = 0;
    for (const sram_segment& g : classify_pages(p, s.exact)) {
      const std::size_t n = g.end - g.begin;
      mapped += n;
      switch (g.part) {
        case sram_part::live: s.live += n; break;
        case sram_part::sub_page_rounding: s.sub_page_rounding += n; break;
        case sram_part::last_page_rounding: s.last_page_rounding += n; break;
        case sram_part::free_in_pages: s.free_in_pages += n; break;
      }
    }
    s.exact = s.exact && mapped == committed && mapped <= p.usable;
    s.unmapped = p.usable - std::min(p.usable, mapped);
  }
  s.exact = s.exact && s.sum() == budget;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Following a replay

void sram_tracker::follow(const event& e) {
  // The old block first: a block resized in place keeps its pointer.
  if (e.released != nullptr) live_.erase(e.released);
  if (e.block != nullptr) live_[e.block] = e.block_size;
}

std::vector<live_block> sram_tracker::live() const {
  std::vector<live_block> out;
  out.reserve(live_.size());
  for (const auto& [ptr, size] : live_) out.push_back({ptr, size});
  return out;
}

sram_split sram_tracker::split(const allocator& a, std::size_t budget, long long op) const {
  sram_placement p;
  sram_split s;
  s.budget = budget;
  if (a.place(live(), p)) s = split_sram(p, budget, a.committed_bytes());
  s.op = op;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Means, JSON and tables

void sram_mean::add(const sram_split& s) {
  if (s.model == sram_model::none) return;
  model = s.model;
  ++samples;
  budget += double(s.budget);
  live += double(s.live);
  sub_page_rounding += double(s.sub_page_rounding);
  free_in_pages += double(s.free_in_pages);
  last_page_rounding += double(s.last_page_rounding);
  metadata += double(s.metadata);
  unmapped += double(s.unmapped);
  exact = exact && s.exact;
}

sram_mean sram_mean::mean() const {
  sram_mean m = *this;
  if (samples == 0) return m;
  const double n = double(samples);
  for (double* v : {&m.budget, &m.live, &m.sub_page_rounding, &m.free_in_pages, &m.last_page_rounding, &m.metadata,
                    &m.unmapped})
    *v /= n;
  return m;
}

namespace {

/// The members of a split or a mean split after `"model":...`, named by the model's components.
template <class T>
std::string sram_members(sram_model model, const T& v, std::string_view number) {
  const std::string f = fmt::format("{{{}}}", number);
  auto member = [&](std::string_view key, auto value) { return fmt::format(fmt::runtime(",\"{}\":" + f), key, value); };
  std::string out = member("budget_bytes", v.budget) + member("live_requested_bytes", v.live);
  if (model == sram_model::pages)
    return out + member("sub_page_rounding_bytes", v.sub_page_rounding) +
           member("free_in_mapped_pages_bytes", v.free_in_pages) +
           member("last_page_rounding_bytes", v.last_page_rounding) +
           member("metadata_and_page_rounding_bytes", v.metadata) + member("unmapped_bytes", v.unmapped);
  return out + member("chunk_overhead_bytes", v.sub_page_rounding) + member("free_chunk_bytes", v.free_in_pages) +
         member("metadata_bytes", v.metadata);
}

const char* model_name(sram_model m) { return m == sram_model::pages ? "pages" : "region"; }

}  // namespace

std::string sram_json(const sram_split& s) {
  if (s.op < 0 || s.model == sram_model::none) return "null";
  return fmt::format("{{\"model\":\"{}\",\"op\":{}{},\"exact\":{}}}", model_name(s.model), s.op,
                     sram_members(s.model, s, ""), s.exact);
}

std::string sram_json(const sram_mean& m) {
  if (m.samples == 0 || m.model == sram_model::none) return "null";
  return fmt::format("{{\"model\":\"{}\",\"samples\":{}{},\"exact\":{}}}", model_name(m.model), m.samples,
                     sram_members(m.model, m, ":.1f"), m.exact);
}

std::string sram_tables(std::span<const sram_row> rows) {
  auto kib = [](double bytes) { return fmt::format("{:.1f}", bytes / 1024.0); };
  std::string pages, region;
  for (const sram_row& r : rows) {
    const sram_mean& m = r.mean;
    if (m.samples == 0) continue;
    const std::string head = fmt::format("| {} | {}{} | {} |", r.allocator, r.moment, m.exact ? "" : " (not exact)", kib(m.live));
    if (m.model == sram_model::pages)
      pages += fmt::format("{} {} | {} | {} | {} | {} | {} |\n", head, kib(m.sub_page_rounding), kib(m.free_in_pages),
                           kib(m.last_page_rounding), kib(m.metadata), kib(m.unmapped), kib(m.budget));
    else if (m.model == sram_model::region)
      region += fmt::format("{} {} | {} | {} | {} |\n", head, kib(m.sub_page_rounding), kib(m.free_in_pages),
                            kib(m.metadata), kib(m.budget));
  }
  std::string out;
  if (!pages.empty())
    out += "| allocator | moment | live requested | sub-page block rounding | free in mapped pages | last-page rounding "
           "| metadata + page rounding | unmapped | budget |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n" +
           pages;
  if (!region.empty())
    out += std::string(out.empty() ? "" : "\n") +
           "| allocator | moment | live requested | per-allocation overhead (headers, units, alignment gaps) "
           "| free chunks | metadata (chunk 0, end marker) | budget |\n|---|---|---:|---:|---:|---:|---:|\n" +
           region;
  return out;
}

}  // namespace vmh::sim
