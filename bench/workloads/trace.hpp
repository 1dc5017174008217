// Trace format v1 (docs/workloads.md, "The trace format"): one operation per line.
//
//   a <id> <size> [<align>]              allocate exactly size bytes
//   r <id> <min> <preferred> [<align>]   allocate between min and preferred bytes
//   e <id> <new_size>                    resize the live block in place
//   f <id>                               free
//   g <id> <preferred> [<granule>]       grow the live block in place toward preferred bytes,
//                                        as far as the allocator can, in steps of granule
//
// Fields are separated by spaces or tabs; '#' starts a comment that runs to
// the end of the line (whole-line or trailing); blank lines are ignored and a
// trailing '\r' is tolerated. Numbers (ids included) are decimal with an
// optional upper-case suffix K (x1024) or M (x1048576).
//
// The parser checks what a trace gets wrong on its own. Liveness is tracked in
// the trace's own sequence, as if every request succeeded: 'a'/'r' on an id
// live in that sense is an error, and so is 'e'/'f'/'g' of an id that is not
// (never introduced, or already freed). Whether a request actually succeeded,
// and so whether a later 'e'/'f'/'g' is skipped, is for the replayer to decide.
// A 'g' line's granule (when given) is at least 1 and at most its preferred.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vmh::trace {

enum class op_kind : std::uint8_t { allocate, range, resize, free, grow };

struct op {
  op_kind kind;
  std::uint64_t id;
  std::uint64_t size;       // a: size, r: min, e: new size, g: granule (0 = any size), f: 0
  std::uint64_t preferred;  // r and g, 0 otherwise
  std::uint64_t align;      // 0 = allocator default; a and r only
  friend bool operator==(const op&, const op&) = default;
};

struct parse_error {
  std::size_t line;  // 1-based
  std::string message;
};

namespace detail {

enum class number_status { ok, bad, overflow };

inline number_status parse_u64(std::string_view s, std::uint64_t& out) {
  std::uint64_t scale = 1;
  if (!s.empty() && (s.back() == 'K' || s.back() == 'M')) {
    scale = s.back() == 'K' ? (std::uint64_t{1} << 10) : (std::uint64_t{1} << 20);
    s.remove_suffix(1);
  }
  if (s.empty()) return number_status::bad;
  std::uint64_t v = 0;
  bool overflow = false;
  for (char c : s) {
    if (c < '0' || c > '9') return number_status::bad;
    const auto d = static_cast<std::uint64_t>(c - '0');
    // Keep scanning after an overflow so that "bad" wins over "overflow".
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    v = v * 10 + d;
  }
  if (overflow || v > UINT64_MAX / scale) return number_status::overflow;
  out = v * scale;
  return number_status::ok;
}

// The lives of a trace's ids, checked after the lines are read: each id is replaced by its rank
// among the trace's distinct ids (one sort), so that its state is an array entry. The work is
// O(n log n) for n operations whatever the ids are; a hash set's worst case (ids chosen to
// collide) would be quadratic.
struct broken_life {
  std::size_t op;  // index of the first operation whose id breaks its life, or ops.size()
  std::string message;
};

inline broken_life check_lives(const std::vector<op>& ops) {
  std::vector<std::uint64_t> ids(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) ids[i] = ops[i].id;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<bool> live(ids.size(), false);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const op& o = ops[i];
    const auto rank = static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), o.id) - ids.begin());
    if (o.kind == op_kind::allocate || o.kind == op_kind::range) {
      if (live[rank]) return {i, "id " + std::to_string(o.id) + " is already live"};
      live[rank] = true;
    } else {
      if (!live[rank]) return {i, "id " + std::to_string(o.id) + " is not live (never allocated, or already freed)"};
      if (o.kind == op_kind::free) live[rank] = false;
    }
  }
  return {ops.size(), {}};
}

// Character classes for the tokenizer, looked up rather than compared so that
// the per-byte loop has a single branch.
enum char_class : std::uint8_t { regular = 0, space = 1, newline = 2, comment = 3 };

struct char_table {
  std::uint8_t cls[256];
  constexpr char_table() : cls{} {
    cls[static_cast<unsigned char>(' ')] = space;
    cls[static_cast<unsigned char>('\t')] = space;
    cls[static_cast<unsigned char>('\r')] = space;
    cls[static_cast<unsigned char>('\v')] = space;
    cls[static_cast<unsigned char>('\f')] = space;
    cls[static_cast<unsigned char>('\n')] = newline;
    cls[static_cast<unsigned char>('#')] = comment;
  }
};

inline constexpr char_table char_classes{};

inline std::uint8_t classify(char c) { return char_classes.cls[static_cast<unsigned char>(c)]; }

}  // namespace detail

// Shared number parser (also for layout files): decimal with an optional K or
// M suffix. ok is false on anything else, or if the value does not fit.
inline std::size_t parse_size(std::string_view s, bool& ok) {
  std::uint64_t v = 0;
  ok = detail::parse_u64(s, v) == detail::number_status::ok && v <= SIZE_MAX;
  return ok ? static_cast<std::size_t>(v) : 0;
}

inline std::variant<std::vector<op>, parse_error> parse(std::string_view text) {
  std::vector<op> ops;
  std::vector<std::size_t> lines;  // of each op, for the errors of check_lives
  ops.reserve(text.size() / 8 + 1);  // a typical line is 8 or more bytes
  lines.reserve(ops.capacity());
  // The first error in the file wins: a line's own error, or an earlier line's broken life.
  auto first_error = [&](parse_error e) -> std::variant<std::vector<op>, parse_error> {
    const detail::broken_life b = detail::check_lives(ops);
    if (b.op < ops.size()) return parse_error{lines[b.op], b.message};
    return e;
  };

  // One pass over the bytes: per line, split into at most 6 fields (a sixth
  // only proves there are too many) and drop everything from '#' on.
  const char* p = text.data();
  const char* const end = p + text.size();
  std::size_t line_no = 0;
  while (p < end) {
    ++line_no;
    std::string_view f[6];
    std::size_t n = 0;
    while (p < end) {
      const std::uint8_t c = detail::classify(*p);
      if (c == detail::newline) break;
      if (c == detail::space) {
        ++p;
      } else if (c == detail::comment) {
        while (p < end && *p != '\n') ++p;
      } else {
        const char* start = p;
        while (p < end && detail::classify(*p) == detail::regular) ++p;
        if (n < 6) f[n++] = std::string_view(start, static_cast<std::size_t>(p - start));
      }
    }
    if (p < end) ++p;  // the newline
    if (n == 0) continue;

    auto fail = [&](std::string message) { return first_error(parse_error{line_no, std::move(message)}); };

    struct syntax {
      op_kind kind;
      std::size_t min_fields, max_fields;  // the letter included
      const char* usage;
    };
    static constexpr syntax syntaxes[] = {
        {op_kind::allocate, 3, 4, "a <id> <size> [<align>]"},
        {op_kind::range, 4, 5, "r <id> <min> <preferred> [<align>]"},
        {op_kind::resize, 3, 3, "e <id> <new_size>"},
        {op_kind::free, 2, 2, "f <id>"},
        {op_kind::grow, 3, 4, "g <id> <preferred> [<granule>]"},
    };
    const syntax* sx = nullptr;
    if (f[0].size() == 1) {
      switch (f[0][0]) {
        case 'a': sx = &syntaxes[0]; break;
        case 'r': sx = &syntaxes[1]; break;
        case 'e': sx = &syntaxes[2]; break;
        case 'f': sx = &syntaxes[3]; break;
        case 'g': sx = &syntaxes[4]; break;
        default: break;
      }
    }
    if (sx == nullptr) return fail("unknown operation '" + std::string(f[0]) + "' (expected a, r, e, f or g)");
    if (n < sx->min_fields) return fail(std::string("missing field, expected: ") + sx->usage);
    if (n > sx->max_fields)
      return fail("unexpected extra field '" + std::string(f[sx->max_fields]) + "', expected: " + sx->usage);
    op o{sx->kind, 0, 0, 0, 0};

    std::uint64_t v[4] = {0, 0, 0, 0};
    static constexpr const char* field_names[5][4] = {
        {"id", "size", "align", ""},
        {"id", "min", "preferred", "align"},
        {"id", "new size", "", ""},
        {"id", "", "", ""},
        {"id", "preferred", "granule", ""},
    };
    const auto kind_index = static_cast<std::size_t>(o.kind);
    for (std::size_t i = 1; i < n; ++i) {
      const auto st = detail::parse_u64(f[i], v[i - 1]);
      if (st != detail::number_status::ok)
        return fail(std::string(st == detail::number_status::bad ? "bad number '" : "number out of range '") +
                    std::string(f[i]) + "' for " + field_names[kind_index][i - 1]);
    }
    o.id = v[0];
    switch (o.kind) {
      case op_kind::allocate:
        o.size = v[1];
        o.align = v[2];
        if (o.size == 0) return fail("size must be at least 1");
        if (n == 4 && !std::has_single_bit(o.align))
          return fail("align " + std::to_string(o.align) + " is not a power of two");
        break;
      case op_kind::range:
        o.size = v[1];
        o.preferred = v[2];
        o.align = v[3];
        if (o.size == 0) return fail("min must be at least 1");
        if (o.size > o.preferred)
          return fail("min " + std::to_string(o.size) + " is greater than preferred " + std::to_string(o.preferred));
        if (n == 5 && !std::has_single_bit(o.align))
          return fail("align " + std::to_string(o.align) + " is not a power of two");
        break;
      case op_kind::resize:
        o.size = v[1];
        if (o.size == 0) return fail("new size must be at least 1 (use f to free)");
        break;
      case op_kind::free:
        break;
      case op_kind::grow:
        o.preferred = v[1];
        o.size = v[2];
        if (o.preferred == 0) return fail("preferred must be at least 1");
        if (n == 4 && o.size == 0) return fail("granule must be at least 1");
        if (o.size > o.preferred)
          return fail("granule " + std::to_string(o.size) + " is greater than preferred " + std::to_string(o.preferred));
        break;
    }
    ops.push_back(o);
    lines.push_back(line_no);
  }
  if (const detail::broken_life b = detail::check_lives(ops); b.op < ops.size()) return parse_error{lines[b.op], b.message};
  return ops;
}

// One line, no newline, plain decimal numbers; align is written only when set.
inline std::string format(const op& o) {
  std::string s;
  switch (o.kind) {
    case op_kind::allocate:
      s = "a " + std::to_string(o.id) + ' ' + std::to_string(o.size);
      break;
    case op_kind::range:
      s = "r " + std::to_string(o.id) + ' ' + std::to_string(o.size) + ' ' + std::to_string(o.preferred);
      break;
    case op_kind::resize:
      return "e " + std::to_string(o.id) + ' ' + std::to_string(o.size);
    case op_kind::free:
      return "f " + std::to_string(o.id);
    case op_kind::grow:
      s = "g " + std::to_string(o.id) + ' ' + std::to_string(o.preferred);
      return o.size != 0 ? s + ' ' + std::to_string(o.size) : s;
  }
  if (o.align != 0) s += ' ' + std::to_string(o.align);
  return s;
}

// A whole trace, one line per op, each ending in a newline.
inline std::string to_text(const std::vector<op>& ops) {
  std::string s;
  s.reserve(ops.size() * 16);
  for (const op& o : ops) {
    s += format(o);
    s += '\n';
  }
  return s;
}

}  // namespace vmh::trace
