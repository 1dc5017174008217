#include "sim/options.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <vmh/vmh.hpp>

namespace vmh::sim {

std::size_t parse_number(std::string_view text, const std::string& what) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) throw cli_error(what + ": empty value (give a decimal number, optional K, M or G suffix)");
  if (text.front() == '-') throw cli_error(what + ": " + quoted + " is negative");
  std::size_t scale = 1;
  switch (text.back()) {
    case 'K': case 'k': scale = std::size_t{1} << 10; break;
    case 'M': case 'm': scale = std::size_t{1} << 20; break;
    case 'G': case 'g': scale = std::size_t{1} << 30; break;
    default: break;
  }
  std::string_view digits = scale == 1 ? text : text.substr(0, text.size() - 1);
  if (digits.empty()) throw cli_error(what + ": " + quoted + " is not a number (decimal, optional K, M or G suffix)");
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  std::size_t v = 0;
  bool too_large = false;
  for (const char c : digits) {
    if (c < '0' || c > '9')
      throw cli_error(what + ": " + quoted + " is not a number (decimal, optional K, M or G suffix)");
    const auto d = static_cast<std::size_t>(c - '0');
    if (v > (max - d) / 10) too_large = true;  // keep scanning: "not a number" wins over "too large"
    v = too_large ? v : v * 10 + d;
  }
  if (too_large || v > max / scale) throw cli_error(what + ": " + quoted + " is too large (at most " + std::to_string(max) + ")");
  return v * scale;
}

std::vector<std::size_t> parse_list(std::string_view text, const std::string& what) {
  constexpr std::size_t max_values = 100000;
  std::vector<std::size_t> out;
  if (text.empty()) throw cli_error(what + ": empty list");
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t dash = item.find('-', 1);  // a leading '-' is a negative number, not a range
    if (dash == std::string_view::npos) {
      out.push_back(parse_number(item, what));
    } else {
      const std::size_t lo = parse_number(item.substr(0, dash), what), hi = parse_number(item.substr(dash + 1), what);
      if (hi < lo) throw cli_error(what + ": range '" + std::string(item) + "' runs backwards");
      if (hi - lo >= max_values - out.size()) throw cli_error(what + ": more than " + std::to_string(max_values) + " values");
      for (std::size_t v = lo;; ++v) {
        out.push_back(v);
        if (v == hi) break;
      }
    }
    if (out.size() > max_values) throw cli_error(what + ": more than " + std::to_string(max_values) + " values");
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return out;
}

std::vector<std::size_t> parse_seeds(std::string_view text, const std::string& what) {
  std::vector<std::size_t> seeds = parse_list(text, what);
  for (const std::size_t s : seeds)
    if (s == 0) throw cli_error(what + ": seeds start at 1 (give N, A-B or a list like 1,3,5)");
  return seeds;
}

std::size_t parse_page(std::string_view text, const std::string& what) {
  const std::size_t page = parse_number(text, what);
  if (page < 64 || page > (std::size_t{1} << 30) || (page & (page - 1)) != 0)
    throw cli_error(what + ": " + std::to_string(page) + " is not a power of two from 64 bytes to 1G");
  return page;
}

args::args(std::span<const std::string> argv, std::span<const option_spec> specs, std::string_view command) {
  const std::string where = std::string(command);
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string_view arg = argv[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--")
      throw cli_error(where + ": unexpected argument '" + std::string(arg) + "' (options are --name value)");
    const std::string key(arg.substr(2));
    const option_spec* spec = nullptr;
    for (const option_spec& s : specs)
      if (s.name == key) spec = &s;
    if (spec == nullptr) throw cli_error(where + ": unknown option --" + key + " (see vmh-sim " + where + " --help)");
    if (!spec->repeatable && has(key)) throw cli_error(where + ": option --" + key + " given twice");
    if (spec->flag) {
      values_.emplace(key, "");
      continue;
    }
    if (i + 1 >= argv.size()) throw cli_error(where + ": option --" + key + " needs a value");
    values_.emplace(key, argv[++i]);
  }
}

std::string args::text(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw cli_error("missing option --" + key);
  return it->second;
}

std::size_t args::number_in(const std::string& key, std::size_t fallback, std::size_t lo, std::size_t hi) const {
  const std::size_t v = number(key, fallback);
  if (v < lo || v > hi)
    throw cli_error("--" + key + ": " + std::to_string(v) + " is out of range (" + std::to_string(lo) + " to " +
                    std::to_string(hi) + ")");
  return v;
}

std::size_t args::page() const { return has("page") ? parse_page(text("page"), "--page") : default_page_size; }

std::vector<std::string> args::all(const std::string& key) const {
  std::vector<std::string> out;
  for (auto [it, end] = values_.equal_range(key); it != end; ++it) out.push_back(it->second);
  return out;
}

named_path parse_named_path(const std::string& arg, const std::string& prefix) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos) return {prefix + "(" + arg + ")", arg};
  if (eq == 0 || eq + 1 == arg.size()) throw cli_error("'" + arg + "': expected NAME=FILE or FILE");
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

std::string read_file(const std::string& path) {
  constexpr std::size_t limit = std::size_t{1} << 30;  // a device or a runaway file ends here, not in memory exhaustion
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cli_error(path + ": cannot open");
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) throw cli_error(path + ": larger than 1 GiB");
  }
  if (in.bad()) throw cli_error(path + ": cannot read");
  return text;
}

namespace {
/// The error of every output: "NAME: cannot write (REASON)".
[[noreturn]] void cannot_write(const std::string& name, int reason) {
  throw cli_error(name + ": cannot write" + (reason != 0 ? " (" + std::string(std::strerror(reason)) + ")" : std::string()));
}
}  // namespace

void check_written(std::FILE* stream, const std::string& name) {
  errno = 0;
  if (std::fflush(stream) == 0 && std::ferror(stream) == 0) return;
  const int reason = errno;
  std::clearerr(stream);
  cannot_write(name, reason);
}

namespace {
/// Writes `text` to an open stream and checks it; a short write names its own reason.
void write_checked(std::FILE* stream, std::string_view text, const std::string& name) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stream) != text.size()) {
    const int reason = errno;
    std::clearerr(stream);
    cannot_write(name, reason);
  }
  check_written(stream, name);
}
}  // namespace

void write_file(const std::string& path, std::string_view text) {
  if (path == "-") return write_checked(stdout, text, "standard output");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) cannot_write(path, errno);
  try {
    write_checked(f, text, path);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  if (std::fclose(f) != 0) cannot_write(path, errno);
}

void check_writable(const std::string& path) {
  if (path == "-") return;
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) cannot_write(path, errno);
  std::fclose(f);
}

range_policy parse_policy(const std::string& text) {
  if (text == "default") return range_policy{};
  if (text == "greedy") return range_policy::greedy();
  const std::string usage = "--policy must be default, greedy, share:N/D or adaptive:N/D (0 < N <= D), or reserve:K:N/D "
                            "(1 <= K <= 1024, 0 <= N <= D), not '" + text + "'";
  if (text.rfind("reserve:", 0) == 0) {  // reserve:K:N/D keeps max(K * min, N/D of the memory)
    const std::size_t second = text.find(':', 8), slash = text.find('/');
    if (second == std::string::npos || slash == std::string::npos || slash < second) throw cli_error(usage);
    const std::size_t k = parse_number(text.substr(8, second - 8), "--policy");
    const std::size_t num = parse_number(text.substr(second + 1, slash - second - 1), "--policy");
    const std::size_t den = parse_number(text.substr(slash + 1), "--policy");
    // range_policy reads K = 0 as its default (4): a K of 0 cannot be kept back, so it is refused.
    if (k == 0) throw cli_error("--policy " + text + ": K = 0 is refused (range_policy::reserve reads 0 as its default, 4)");
    if (k > 1024 || den == 0 || num > den || den > UINT32_MAX) throw cli_error(usage);
    return range_policy::reserve(static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(num), static_cast<std::uint32_t>(den));
  }
  const std::size_t colon = text.find(':'), slash = text.find('/');
  if (colon == std::string::npos || slash == std::string::npos || slash < colon) throw cli_error(usage);
  const std::size_t num = parse_number(text.substr(colon + 1, slash - colon - 1), "--policy");
  const std::size_t den = parse_number(text.substr(slash + 1), "--policy");
  if (num == 0 || den == 0 || num > den || den > UINT32_MAX) throw cli_error(usage);
  const auto n = static_cast<std::uint32_t>(num), d = static_cast<std::uint32_t>(den);
  const std::string kind = text.substr(0, colon);
  if (kind == "share") return range_policy::share(n, d);
  if (kind == "adaptive") return range_policy::adaptive_share(n, d);
  throw cli_error(usage);
}

packed_choice parse_packed(const std::string& text) {
  if (text == "auto") return {};
  if (text == "none") return {false, packed_region{}};
  const std::string usage = "--packed must be auto, none or BYTES[:LIMIT[:GRANULE]] (the region, the largest fixed request "
                            "placed there, the granule), not '" + text + "'";
  std::vector<std::string> parts;
  for (std::size_t from = 0;;) {
    const std::size_t colon = text.find(':', from);
    parts.push_back(text.substr(from, colon == std::string::npos ? std::string::npos : colon - from));
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  if (parts.size() > 3) throw cli_error(usage);
  packed_region r{};
  r.bytes = parse_number(parts[0], "--packed");
  if (parts.size() > 1) r.limit = parse_number(parts[1], "--packed");
  if (parts.size() > 2) r.granule = parse_number(parts[2], "--packed");
  if (r.bytes == 0 || r.limit == 0) throw cli_error(usage);
  return {false, r};
}

}  // namespace vmh::sim
