// Command-line plumbing of vmh-sim: options, files, layouts, policies and the JSON report.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/core.h>

#include <vmh/vmh.hpp>

#include "sim/replay.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// A user error: printed as one line, exit code 2.
struct cli_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The stress family's defaults: its sizes average well under 100 bytes, so a budget far below
/// SOF's 1 MiB is what makes the fill target bite.
inline constexpr std::size_t stress_default_physical = 64 * 1024;
inline constexpr std::size_t stress_default_max_size = 16 * 1024;

/// Parses a size with an optional K or M suffix, or throws naming `what`.
inline std::size_t parse_number(std::string_view text, const std::string& what) {
  bool ok = false;
  const std::size_t v = trace::parse_size(text, ok);
  if (!ok) throw cli_error(what + ": '" + std::string(text) + "' is not a number (decimal, optional K or M suffix)");
  return v;
}

/// `--key value` options.
class args {
 public:
  args(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
      const std::string_view key = argv[i];
      if (key.size() < 3 || key.substr(0, 2) != "--") throw cli_error("unexpected argument '" + std::string(key) + "'");
      if (i + 1 >= argc) throw cli_error("option " + std::string(key) + " needs a value");
      values_.emplace(std::string(key.substr(2)), argv[++i]);
    }
  }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string text(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw cli_error("missing option --" + key);
    return it->second;
  }
  std::string text(const std::string& key, const std::string& fallback) const { return has(key) ? text(key) : fallback; }
  std::size_t number(const std::string& key) const { return parse_number(text(key), "--" + key); }
  std::size_t number(const std::string& key, std::size_t fallback) const { return has(key) ? number(key) : fallback; }
  /// Every value given for a repeatable option, in command-line order.
  std::vector<std::string> all(const std::string& key) const {
    std::vector<std::string> out;
    for (auto [it, end] = values_.equal_range(key); it != end; ++it) out.push_back(it->second);
    return out;
  }

 private:
  std::multimap<std::string, std::string> values_;
};

/// A list of numbers: `1,3,5`, ranges `1-5` and both mixed (`1-3,7`), each with optional K/M suffixes.
inline std::vector<std::size_t> parse_list(std::string_view text, const std::string& what) {
  std::vector<std::size_t> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      out.push_back(parse_number(item, what));
      continue;
    }
    const std::size_t lo = parse_number(item.substr(0, dash), what), hi = parse_number(item.substr(dash + 1), what);
    if (hi < lo || hi - lo > 100000) throw cli_error(what + ": bad range '" + std::string(item) + "'");
    for (std::size_t v = lo; v <= hi; ++v) out.push_back(v);
  }
  if (out.empty()) throw cli_error(what + ": empty list");
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cli_error(path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw cli_error(path + ": cannot read");
  return std::move(s).str();
}

inline std::vector<trace::op> load_trace(const std::string& path) {
  auto parsed = trace::parse(read_file(path));
  if (auto* e = std::get_if<trace::parse_error>(&parsed))
    throw cli_error(path + ":" + std::to_string(e->line) + ": " + e->message);
  return std::get<std::vector<trace::op>>(std::move(parsed));
}

/// The layout file format: one bucket per line, `<block_size> <count>`, K/M suffixes, `#` comments.
inline std::vector<bucket> parse_layout(std::string_view text, const std::string& path) {
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
    out.push_back({parse_number(fields[0], where + ": block size"), parse_number(fields[1], where + ": count")});
  }
  if (out.empty()) throw cli_error(path + ": no buckets");
  return out;
}

/// `auto` (the library's zero-tuning layout for the budget), `sof` (SOF's production table) or a file.
inline std::vector<bucket> load_layout(const std::string& arg, std::size_t physical, std::size_t page) {
  if (arg == "auto") {
    std::vector<bucket> layout = auto_layout(physical, page);
    if (layout.empty()) throw cli_error("no auto layout for a budget of " + std::to_string(physical) + " bytes");
    return layout;
  }
  if (arg == "sof") {
    const auto& t = presets::sof_table;
    return {t.buckets, t.buckets + t.size()};
  }
  return parse_layout(read_file(arg), arg);
}

/// `default`, `greedy`, `share:N/D` (a fixed share) or `adaptive:N/D` (a share limited to the free fraction).
inline range_policy parse_policy(const std::string& text) {
  if (text == "default") return range_policy{};
  if (text == "greedy") return range_policy::greedy();
  const std::string usage = "--policy must be default, greedy, share:N/D or adaptive:N/D, not '" + text + "'";
  const std::size_t colon = text.find(':'), slash = text.find('/');
  if (colon == std::string::npos || slash == std::string::npos || slash < colon) throw cli_error(usage);
  const std::size_t num = parse_number(text.substr(colon + 1, slash - colon - 1), "--policy");
  const std::size_t den = parse_number(text.substr(slash + 1), "--policy");
  if (num == 0 || den == 0 || num > den) throw cli_error(usage);
  const auto n = static_cast<std::uint32_t>(num), d = static_cast<std::uint32_t>(den);
  const std::string kind = text.substr(0, colon);
  if (kind == "share") return range_policy::share(n, d);
  if (kind == "adaptive") return range_policy::adaptive_share(n, d);
  throw cli_error(usage);
}

/// JSON string escaping for file names.
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

/// One replay as one line of JSON with the keys of specs/workloads.md.
inline std::string to_json(const report& r, std::string_view allocator, std::string_view trace_name,
                           std::string_view layout, std::size_t physical, std::size_t page) {
  return fmt::format(
      "{{\"allocator\":{},\"trace\":{},\"layout\":{},\"physical_bytes\":{},\"page_size\":{},\"ops\":{},"
      "\"requests\":{},\"failed\":{},\"fixed_requests\":{},\"fixed_failed\":{},\"range_requests\":{},"
      "\"range_failed\":{},\"range_granted_bytes\":{},\"range_preferred_bytes\":{},\"resizes\":{},"
      "\"resizes_failed\":{},\"skipped\":{},\"peak_live_bytes\":{},\"peak_physical_bytes\":{},"
      "\"first_failure_op\":{},\"success_rate\":{:.4f},\"granted_ratio\":{:.4f},\"valid\":{}}}",
      json_string(allocator), json_string(trace_name), json_string(layout), physical, page, r.ops, r.requests, r.failed,
      r.fixed_requests, r.fixed_failed, r.range_requests, r.range_failed, r.range_granted_bytes,
      r.range_preferred_bytes, r.resizes, r.resizes_failed, r.skipped, r.peak_live_bytes, r.peak_physical_bytes,
      r.first_failure_op, r.success_rate(), r.granted_ratio(), r.valid_after);
}

}  // namespace vmh::sim
