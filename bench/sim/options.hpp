// Command-line vocabulary of vmh-sim: the user error, numbers and lists, `--key value` options
// checked against what a command accepts, files, and range policies. Knows nothing of replays.
#pragma once

#include <cstddef>
#include <cstdio>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <vmh/layout.hpp>
#include <vmh/range_policy.hpp>

namespace vmh::sim {

/// A user error: printed as one line on standard error, exit code 2.
struct cli_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses a byte count or number: decimal digits with an optional K, M or G suffix (powers of
/// 1024). Throws a cli_error naming `what` that says what is wrong (empty, negative, not a
/// number, too large for this machine's size_t).
std::size_t parse_number(std::string_view text, const std::string& what);

/// A list of numbers: `5` (that one), `1-5` (a range, both ends included), `1,3,5` and mixes
/// (`1-3,7`). At most 100000 values. Throws naming `what`.
std::vector<std::size_t> parse_list(std::string_view text, const std::string& what);

/// Seeds of a workload family: parse_list with every seed at least 1 (seed 0 is not a seed of
/// any family). `5` is seed 5 alone; `1-5` is seeds 1 to 5.
std::vector<std::size_t> parse_seeds(std::string_view text, const std::string& what);

/// A page size: a power of two from 64 bytes to 1 GiB.
std::size_t parse_page(std::string_view text, const std::string& what);

/// What one option of a command is.
struct option_spec {
  std::string_view name;   ///< without the leading `--`
  bool flag = false;       ///< takes no value
  bool repeatable = false; ///< may be given more than once
};

/// `--key value` and `--flag` options, checked against a command's specs: an unknown option, a
/// missing value or a repeated single option is a cli_error that names it.
class args {
 public:
  args() = default;
  args(std::span<const std::string> argv, std::span<const option_spec> specs, std::string_view command);

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string text(const std::string& key) const;
  std::string text(const std::string& key, const std::string& fallback) const { return has(key) ? text(key) : fallback; }
  std::size_t number(const std::string& key) const { return parse_number(text(key), "--" + key); }
  std::size_t number(const std::string& key, std::size_t fallback) const { return has(key) ? number(key) : fallback; }
  /// A number that must lie in [lo, hi].
  std::size_t number_in(const std::string& key, std::size_t fallback, std::size_t lo, std::size_t hi) const;
  /// `--page` (default_page_size when absent), checked by parse_page.
  std::size_t page() const;
  /// Every value given for a repeatable option, in command-line order.
  std::vector<std::string> all(const std::string& key) const;

 private:
  std::multimap<std::string, std::string> values_;
};

/// A `[NAME=]FILE` argument: the name defaults to `<prefix>(FILE)`.
struct named_path {
  std::string name, path;
};
named_path parse_named_path(const std::string& arg, const std::string& prefix);

/// The whole file, or a cli_error naming it.
std::string read_file(const std::string& path);

/// The one rule for every output of the tool: what was written to `stream` (named `name` in the
/// error) is flushed and checked, and a write that failed at any point (a full disk, a closed
/// pipe, /dev/full) is a cli_error "NAME: cannot write (REASON)". Buffered output fails only at
/// its flush, so no output is done before this has passed.
void check_written(std::FILE* stream, const std::string& name);

/// Writes `text` to `path` (`-` is standard output) and checks it (check_written); a file that
/// cannot be opened is a cli_error naming it. Every output of vmh-sim goes through here.
void write_file(const std::string& path, std::string_view text);

/// Refuses, before any work, an output path that cannot be written ("PATH: cannot write
/// (REASON)"): `-` passes; a file is opened for appending (created when missing, kept as it is).
void check_writable(const std::string& path);

/// `default`, `greedy`, `share:N/D` (a fixed share), `adaptive:N/D` (a share limited to the
/// free fraction), both with 0 < N <= D, or `reserve:K:N/D` (keep back max(K smallest grants,
/// N/D of the memory)) with 1 <= K <= 1024 and 0 <= N <= D: range_policy reads K = 0 as its
/// default, 4, so a K of 0 is refused rather than read as 4.
range_policy parse_policy(const std::string& text);

/// vmh's packed region as --packed gives it: `automatic` (auto_packed of the budget), or the
/// region itself (bytes 0: none).
struct packed_choice {
  bool automatic = true;
  packed_region region{};
};
/// --packed auto, none or BYTES[:LIMIT[:GRANULE]]; a cli_error for anything else. Whether the
/// region suits the page size is the layout's rule, checked when the heap is configured.
packed_choice parse_packed(const std::string& text);

}  // namespace vmh::sim
