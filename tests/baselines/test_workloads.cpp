// Tests of trace format v1 (bench/workloads/trace.hpp) and of the workload
// generators of families 1-3 and the grow-back family (bench/workloads/generators.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "support/colliding_ids.hpp"
#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

using vmh::trace::op;
using vmh::trace::op_kind;
using vmh::trace::parse_error;

namespace {

constexpr std::uint64_t KiB = 1024;

std::vector<op> parse_ok(const std::string& text) {
  auto r = vmh::trace::parse(text);
  if (const auto* e = std::get_if<parse_error>(&r)) {
    INFO("line " << e->line << ": " << e->message);
    REQUIRE(false);
  }
  return std::get<std::vector<op>>(r);
}

// Parsing must fail on `line` with a message containing `what`.
void expect_error(const std::string& text, std::size_t line, const std::string& what) {
  INFO("trace:\n" << text);
  auto r = vmh::trace::parse(text);
  const auto* e = std::get_if<parse_error>(&r);
  REQUIRE(e != nullptr);
  INFO("got line " << e->line << ": " << e->message);
  CHECK(e->line == line);
  CHECK(e->message.find(what) != std::string::npos);
}

}  // namespace

// ---------------------------------------------------------------------------
// Trace format

TEST_CASE("trace: format writes one canonical line per op", "[trace]") {
  CHECK(vmh::trace::format({op_kind::allocate, 1, 100, 0, 0}) == "a 1 100");
  CHECK(vmh::trace::format({op_kind::allocate, 1, 100, 0, 64}) == "a 1 100 64");
  CHECK(vmh::trace::format({op_kind::range, 2, 16384, 131072, 0}) == "r 2 16384 131072");
  CHECK(vmh::trace::format({op_kind::range, 2, 16384, 131072, 4096}) == "r 2 16384 131072 4096");
  CHECK(vmh::trace::format({op_kind::resize, 3, 200, 0, 0}) == "e 3 200");
  CHECK(vmh::trace::format({op_kind::free, 3, 0, 0, 0}) == "f 3");
  CHECK(vmh::trace::format({op_kind::grow, 4, 0, 8192, 0}) == "g 4 8192");
  CHECK(vmh::trace::format({op_kind::grow, 4, 1024, 8192, 0}) == "g 4 8192 1024");
}

TEST_CASE("trace: format and parse round trip", "[trace]") {
  const std::vector<op> ops = {
      {op_kind::allocate, 1, 100, 0, 0},
      {op_kind::allocate, 18446744073709551615ull, 1, 0, 1},
      {op_kind::range, 0, 16384, 131072, 0},
      {op_kind::range, 7, 5, 5, 64},
      {op_kind::resize, 1, 1, 0, 0},
      {op_kind::resize, 1, 18446744073709551615ull, 0, 0},
      {op_kind::allocate, 9, 18446744073709551615ull, 0, 9223372036854775808ull},
      {op_kind::free, 18446744073709551615ull, 0, 0, 0},
      {op_kind::free, 1, 0, 0, 0},
      {op_kind::free, 0, 0, 0, 0},
      {op_kind::allocate, 1, 3, 0, 0},  // ids may be reused after a free
      {op_kind::grow, 1, 0, 18446744073709551615ull, 0},
      {op_kind::grow, 1, 18446744073709551615ull, 18446744073709551615ull, 0},
      {op_kind::grow, 1, 1, 1, 0},
      {op_kind::free, 7, 0, 0, 0},
  };
  const std::string text = vmh::trace::to_text(ops);
  CHECK(parse_ok(text) == ops);
  for (const op& o : ops) {
    // Each line parses on its own when its id is introduced first.
    std::string single = vmh::trace::format(o);
    if (o.kind == op_kind::resize || o.kind == op_kind::free || o.kind == op_kind::grow)
      single = "a " + std::to_string(o.id) + " 1\n" + single;
    const auto back = parse_ok(single);
    CHECK(back.back() == o);
  }
}

TEST_CASE("trace: numbers with K and M suffixes", "[trace]") {
  const auto ops = parse_ok("a 1 16K\nr 2 1K 2M 4K\ne 1 3M\nf 1\nf 2\na 1K 1\n");
  REQUIRE(ops.size() == 6);
  CHECK(ops[0] == op{op_kind::allocate, 1, 16384, 0, 0});
  CHECK(ops[1] == op{op_kind::range, 2, 1024, 2097152, 4096});
  CHECK(ops[2] == op{op_kind::resize, 1, 3145728, 0, 0});
  CHECK(ops[5].id == 1024);
  CHECK(parse_ok("r 1 1K 2K\ng 1 64K 1K\n").back() == op{op_kind::grow, 1, 1024, 65536, 0});

  bool ok = false;
  CHECK(vmh::trace::parse_size("0", ok) == 0);
  CHECK(ok);
  CHECK(vmh::trace::parse_size("007", ok) == 7);
  CHECK(ok);
  CHECK(vmh::trace::parse_size("64K", ok) == 65536);
  CHECK(ok);
  CHECK(vmh::trace::parse_size("1M", ok) == 1048576);
  CHECK(ok);
  CHECK(vmh::trace::parse_size("18446744073709551615", ok) == 18446744073709551615ull);
  CHECK(ok);
  CHECK(vmh::trace::parse_size("18014398509481983K", ok) == 18014398509481983ull * 1024);
  CHECK(ok);
  const char* bad[] = {"",    "K",    "M",   "1k",  "1m",  "1G",  "1.5K", "-1",
                       "+1",  "1KK",  "K1",  "0x10", " 1", "1 ", "1e3",
                       "18446744073709551616",  // 2^64
                       "18014398509481984K",    // 2^54 KiB = 2^64
                       "17592186044416M",       // 2^44 MiB = 2^64
                       "99999999999999999999999"};
  for (const char* s : bad) {
    CAPTURE(s);
    ok = true;
    vmh::trace::parse_size(s, ok);
    CHECK_FALSE(ok);
  }
}

TEST_CASE("trace: comments, blank lines and line endings", "[trace]") {
  const std::string text =
      "# a trace\n"
      "\n"
      "   \t\n"
      "a 1 10   # trailing comment\n"
      "#\n"
      "\ta\t2\t20\t \n"
      "r 3 1K 4K#no space before the comment\n"
      "f 1\r\n"
      "f 2\r\n"
      "# the last line has no newline\n"
      "f 3";
  const auto ops = parse_ok(text);
  REQUIRE(ops.size() == 6);
  CHECK(ops[0] == op{op_kind::allocate, 1, 10, 0, 0});
  CHECK(ops[1] == op{op_kind::allocate, 2, 20, 0, 0});
  CHECK(ops[2] == op{op_kind::range, 3, 1024, 4096, 0});
  CHECK(ops[5] == op{op_kind::free, 3, 0, 0, 0});
  CHECK(parse_ok("").empty());
  CHECK(parse_ok("\n\n# only comments\n").empty());
}

TEST_CASE("trace: malformed lines are rejected with their line number", "[trace]") {
  // Two good lines, a comment and a blank line come before the bad one, so a
  // wrong line count would show.
  const std::string head = "a 100 1\n# comment\n\nf 100\n";
  const std::size_t bad_line = 5;
  SECTION("unknown operation") {
    expect_error(head + "x 1 2\n", bad_line, "unknown operation 'x' (expected a, r, e, f or g)");
    expect_error(head + "grow 1 2\n", bad_line, "unknown operation 'grow'");
    expect_error(head + "alloc 1 2\n", bad_line, "unknown operation");
    expect_error(head + "A 1 2\n", bad_line, "unknown operation");
    expect_error(head + "1 2 3\n", bad_line, "unknown operation");
  }
  SECTION("missing fields") {
    expect_error(head + "a 1\n", bad_line, "missing field");
    expect_error(head + "a\n", bad_line, "missing field");
    expect_error(head + "r 1 2\n", bad_line, "missing field");
    expect_error(head + "e 100\n", bad_line, "missing field");
    expect_error(head + "f\n", bad_line, "missing field");
    expect_error(head + "f # the id is in the comment: 1\n", bad_line, "missing field");
    expect_error(head + "a 1 8\ng 1\n", bad_line + 1, "missing field, expected: g <id> <preferred> [<granule>]");
    expect_error(head + "g\n", bad_line, "missing field");
  }
  SECTION("extra fields") {
    expect_error(head + "a 1 2 4 5\n", bad_line, "extra field '5'");
    expect_error(head + "r 1 2 3 4 5\n", bad_line, "extra field '5'");
    expect_error(head + "a 1 8\ne 1 2 3\n", bad_line + 1, "extra field '3'");
    expect_error(head + "a 1 8\nf 1 2\n", bad_line + 1, "extra field '2'");
    expect_error(head + "a 1 2 4 5 6 7 8 9\n", bad_line, "extra field");
    expect_error(head + "a 1 8\ng 1 16 8 4\n", bad_line + 1, "extra field '4'");
  }
  SECTION("bad numbers and overflow") {
    expect_error(head + "a x 10\n", bad_line, "bad number 'x'");
    expect_error(head + "a 1 10Q\n", bad_line, "bad number '10Q'");
    expect_error(head + "a 1 -5\n", bad_line, "bad number");
    expect_error(head + "r 1 1.5K 2K\n", bad_line, "bad number");
    expect_error(head + "a 1 10 k\n", bad_line, "bad number");
    expect_error(head + "a 1 99999999999999999999\n", bad_line, "out of range");
    expect_error(head + "a 18446744073709551616 1\n", bad_line, "out of range");
    expect_error(head + "r 1 1 17592186044416M\n", bad_line, "out of range");
    expect_error(head + "a 1 8\ng 1 1x\n", bad_line + 1, "bad number '1x' for preferred");
    expect_error(head + "a 1 8\ng 1 16 -1\n", bad_line + 1, "bad number '-1' for granule");
    expect_error(head + "a 1 8\ng 1 99999999999999999999\n", bad_line + 1, "out of range");
  }
  SECTION("alignment must be a power of two") {
    expect_error(head + "a 1 10 48\n", bad_line, "not a power of two");
    expect_error(head + "a 1 10 0\n", bad_line, "not a power of two");
    expect_error(head + "r 1 10 20 3\n", bad_line, "not a power of two");
    CHECK(parse_ok("a 1 10 1\na 2 10 4K\nr 3 1 2 1M\n").size() == 3);
  }
  SECTION("zero sizes and inverted ranges") {
    expect_error(head + "a 1 0\n", bad_line, "size must be at least 1");
    expect_error(head + "r 1 0 10\n", bad_line, "min must be at least 1");
    expect_error(head + "r 1 0 0\n", bad_line, "min must be at least 1");
    expect_error(head + "a 1 8\ne 1 0\n", bad_line + 1, "new size must be at least 1");
    expect_error(head + "r 1 20 10\n", bad_line, "min 20 is greater than preferred 10");
    CHECK(parse_ok("r 1 20 20\n").size() == 1);
    expect_error(head + "a 1 8\ng 1 0\n", bad_line + 1, "preferred must be at least 1");
    expect_error(head + "a 1 8\ng 1 0 0\n", bad_line + 1, "preferred must be at least 1");
    expect_error(head + "a 1 8\ng 1 16 0\n", bad_line + 1, "granule must be at least 1");
    expect_error(head + "a 1 8\ng 1 16 32\n", bad_line + 1, "granule 32 is greater than preferred 16");
    CHECK(parse_ok("a 1 8\ng 1 16 16\ng 1 4\n").size() == 3);  // a preferred below the size is no error
  }
  SECTION("liveness in the trace's own sequence") {
    expect_error(head + "a 1 10\na 1 20\n", bad_line + 1, "id 1 is already live");
    expect_error(head + "a 1 10\nr 1 2 4\n", bad_line + 1, "id 1 is already live");
    expect_error(head + "f 9\n", bad_line, "id 9 is not live");
    expect_error(head + "e 9 10\n", bad_line, "id 9 is not live");
    expect_error(head + "f 100\n", bad_line, "id 100 is not live");  // double free
    expect_error(head + "e 100 8\n", bad_line, "id 100 is not live");  // resize after free
    expect_error(head + "g 9 10\n", bad_line, "id 9 is not live");
    expect_error(head + "g 100 10 1\n", bad_line, "id 100 is not live");  // grow after free
    // Reuse after a free is fine, and so is any number of resizes.
    CHECK(parse_ok("a 1 10\ne 1 20\ne 1 5\nf 1\nr 1 2 4\nf 1\n").size() == 6);
  }
  SECTION("the first error wins") {
    expect_error("a 1 1\nf 2\nx\n", 2, "id 2 is not live");
    expect_error("a 1 1\nx\nf 2\n", 2, "unknown operation 'x'");
    expect_error("a 1 1\na 1 1\na 2 0\n", 2, "id 1 is already live");
  }
}

TEST_CASE("trace: large traces parse quickly and exactly", "[trace]") {
  const auto ops = vmh::workloads::stress_family(5, 100000, 50);
  const std::string text = vmh::trace::to_text(ops);
  const auto t0 = std::chrono::steady_clock::now();
  const auto back = parse_ok(text);
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(back == ops);
  // A few milliseconds with optimisation; the bound only catches accidental
  // super-linear behaviour, also in sanitizer and debug builds.
  CHECK(std::chrono::duration<double>(t1 - t0).count() < 2.0);
}

TEST_CASE("trace: ids chosen to collide in a hash parse as fast as any others", "[trace]") {
  // Ids that all share one slot of the hash set the parser once used: quadratic there (8 s for
  // these 100k lines), O(n log n) with ranked ids (milliseconds). The bound, as above, only
  // catches super-linear behaviour.
  const std::string text = vmh_test::colliding_ids_trace(100000);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ops = parse_ok(text);
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(ops.size() == 100000);
  CHECK(std::chrono::duration<double>(t1 - t0).count() < 2.0);
  // Their lives are checked like any others': freed in reverse, then one freed twice.
  std::string frees = text;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) frees += "f " + std::to_string(it->id) + "\n";
  CHECK(parse_ok(frees).size() == 200000);
  expect_error(frees + "f " + std::to_string(ops.front().id) + "\n", 200001, "is not live");
}

// ---------------------------------------------------------------------------
// Random source

TEST_CASE("lcg: matches the formula", "[generators]") {
  // By hand: from state 0 the first state is the increment itself,
  // 1442695040888963407 = 0x14057B7E_F767814F, output 0x14057B7E = 335903614.
  // Next: 1442695040888963407 * 6364136223846793005 + 1442695040888963407
  // mod 2^64 = 0x1A08EE11_84BA6D32, output 436792849; then 2599843874.
  vmh::workloads::lcg g{0};
  CHECK(g.next() == 335903614u);
  CHECK(g.state == 1442695040888963407ull);
  CHECK(g.next() == 436792849u);
  CHECK(g.state == 0x1A08EE1184BA6D32ull);
  CHECK(g.next() == 2599843874u);
  // From state 1: 6364136223846793005 + 1442695040888963407 = 7806831264735756412,
  // top 32 bits 1817669548.
  vmh::workloads::lcg h{1};
  CHECK(h.next() == 1817669548u);
  CHECK(h.next() == 2187888307u);
  CHECK(h.next() == 2784682393u);
}

TEST_CASE("lcg: helpers stay in range and follow their distributions", "[generators]") {
  vmh::workloads::lcg g{42};
  SECTION("below and between") {
    // below(n) = floor(r * n / 2^32): check it against the next raw draw.
    vmh::workloads::lcg copy = g;
    const std::uint64_t r = copy.next();
    CHECK(g.below(10) == static_cast<std::uint32_t>(r * 10 >> 32));
    std::vector<int> hits(6, 0);
    for (int i = 0; i < 60000; ++i) {
      const std::uint64_t v = g.between(3, 8);
      REQUIRE(v >= 3);
      REQUIRE(v <= 8);
      ++hits[v - 3];
    }
    for (int h : hits) CHECK((h > 9000 && h < 11000));
    CHECK(g.below(1) == 0);
  }
  SECTION("weighted") {
    const std::uint32_t w[] = {1, 2, 2, 6, 2, 1};
    std::vector<int> hits(6, 0);
    for (int i = 0; i < 140000; ++i) ++hits[g.weighted(w)];
    for (std::size_t i = 0; i < 6; ++i) {
      CAPTURE(i);
      const double expected = 10000.0 * w[i];
      CHECK(std::abs(hits[i] - expected) < expected * 0.05);
    }
    const std::uint32_t zero_first[] = {0, 1};
    for (int i = 0; i < 100; ++i) CHECK(g.weighted(zero_first) == 1);
  }
  SECTION("log_uniform: every octave equally likely") {
    std::vector<int> octave(6, 0);
    for (int i = 0; i < 60000; ++i) {
      const std::uint64_t v = g.log_uniform(256, 16384);
      REQUIRE(v >= 256);
      REQUIRE(v <= 16384);
      int o = 0;
      while ((std::uint64_t{512} << o) <= v && o < 5) ++o;
      ++octave[static_cast<std::size_t>(o)];
    }
    for (int n : octave) CHECK((n > 9000 && n < 11000));
    CHECK(g.log_uniform(64, 64) == 64);
  }
  SECTION("chance") {
    int yes = 0;
    for (int i = 0; i < 50000; ++i) yes += g.chance(1, 50);
    CHECK((yes > 850 && yes < 1150));
  }
}

// ---------------------------------------------------------------------------
// Family 1

TEST_CASE("seed family", "[generators]") {
  const auto ops = vmh::workloads::seed_family();
  REQUIRE(ops.size() == 2);
  CHECK(vmh::trace::format(ops[0]) == "r 1 16384 131072");
  CHECK(vmh::trace::format(ops[1]) == "r 2 16384 131072");
  CHECK(vmh::workloads::seed_physical_bytes == 96 * KiB);
}

// ---------------------------------------------------------------------------
// Family 2

namespace {

std::set<std::uint64_t> valid_bytes_per_ms() {
  std::set<std::uint64_t> s;
  for (std::uint32_t rate : vmh::workloads::sof_rates)
    for (std::uint32_t ch : vmh::workloads::sof_channels)
      for (std::uint32_t c : vmh::workloads::sof_containers) s.insert((rate + 999) / 1000 * ch * c);
  return s;
}

struct sof_summary {
  std::size_t steps = 0;
  std::size_t opens = 0;
  std::size_t closes = 0;
  std::size_t max_open = 0;
  std::size_t wov = 0;
  std::size_t wov_lifetime_sum = 0;
  std::size_t wov_frees = 0;
  std::size_t wov_wait_sum = 0;  // steps without one live before the next is drawn
  std::size_t module_states = 0;
  std::size_t choice_steps = 0;  // steps with 1..7 open, where open/close is a coin
  std::size_t choice_opens = 0;  // of those, the ones that opened
};

// Walks a family-2 trace and checks every structural rule; returns counts
// for distribution checks.
sof_summary check_sof_trace(const std::vector<op>& ops) {
  const auto bpm_set = valid_bytes_per_ms();
  const std::uint64_t deep_ms[] = {2, 10, 20, 50, 100};
  sof_summary sum;
  std::map<std::uint64_t, std::vector<std::uint64_t>> open;  // host id -> buffer ids
  std::set<std::uint64_t> allocated, freed;
  std::uint64_t last_id = 0;
  bool wov_live = false;
  std::uint64_t wov_id = 0;
  std::size_t wov_step = 0;
  std::size_t wov_idle_since = 0;

  for (std::size_t i = 0; i < ops.size();) {
    const op& o = ops[i];
    INFO("op " << i << ": " << vmh::trace::format(o));
    if (o.kind == op_kind::allocate && o.size == vmh::workloads::sof_wov_bytes) {
      // Wake-on-voice, at the start of a step (before its pipeline action).
      REQUIRE_FALSE(wov_live);
      CHECK(o.align == 64);
      REQUIRE(o.id == last_id + 1);
      last_id = o.id;
      allocated.insert(o.id);
      wov_live = true;
      wov_id = o.id;
      wov_step = sum.steps;
      sum.wov_wait_sum += sum.steps - wov_idle_since;
      ++sum.wov;
      ++i;
      continue;
    }
    if (o.kind == op_kind::free && wov_live && o.id == wov_id) {
      const std::size_t lifetime = sum.steps - wov_step;
      CHECK(lifetime >= 20);
      CHECK(lifetime <= 200);
      REQUIRE(freed.insert(o.id).second);
      wov_live = false;
      wov_idle_since = sum.steps;
      sum.wov_lifetime_sum += lifetime;
      ++sum.wov_frees;
      ++i;
      continue;
    }
    // Exactly one pipeline action per step.
    const std::size_t n_open = open.size();
    REQUIRE(n_open <= 8);
    if (n_open >= 1 && n_open <= 7) ++sum.choice_steps;
    ++sum.steps;
    if (o.kind == op_kind::range) {
      REQUIRE(n_open < 8);  // never opens at 8
      ++sum.opens;
      if (n_open >= 1) ++sum.choice_opens;
      CHECK(o.align == 64);
      REQUIRE(o.id == last_id + 1);
      last_id = o.id;
      allocated.insert(o.id);
      const std::uint64_t min = o.size;
      REQUIRE(min % 2 == 0);
      const std::uint64_t bpm = min / 2;
      CHECK(bpm_set.count(bpm) == 1);
      CHECK(o.preferred % min == 0);
      bool deep_ok = false;
      for (std::uint64_t d : deep_ms) deep_ok |= o.preferred == (d * bpm + min - 1) / min * min;
      CHECK(deep_ok);
      std::vector<std::uint64_t> ids{o.id};
      ++i;
      // DAI buffer: the host's format.
      REQUIRE(i < ops.size());
      REQUIRE(ops[i].kind == op_kind::allocate);
      CHECK(ops[i].size == min);
      ids.push_back(ops[i].id);
      ++i;
      // 1-4 components (2 x bytes_per_ms of some format), then maybe a
      // module state (256 B..16 KiB), up to the next step's first op.
      std::vector<std::uint64_t> rest;
      while (i < ops.size() && ops[i].kind == op_kind::allocate && ops[i].size != vmh::workloads::sof_wov_bytes) {
        const op& b = ops[i];
        INFO("buffer op " << i << ": " << vmh::trace::format(b));
        CHECK(b.align == 64);
        rest.push_back(b.size);
        ids.push_back(b.id);
        ++i;
      }
      REQUIRE(!rest.empty());
      REQUIRE(rest.size() <= 5);
      auto is_component = [&](std::uint64_t x) { return x % 2 == 0 && bpm_set.count(x / 2) == 1; };
      for (std::size_t k = 0; k + 1 < rest.size(); ++k) CHECK(is_component(rest[k]));
      // A state could in principle have a component's size; the 16 KiB range
      // makes that rare enough for the counts below.
      if (rest.size() == 5 || !is_component(rest.back())) {
        CHECK(rest.back() >= 256);
        CHECK(rest.back() <= 16384);
        ++sum.module_states;
      }
      for (std::size_t k = 1; k < ids.size(); ++k) REQUIRE(ids[k] == ++last_id);
      for (std::uint64_t id : ids) allocated.insert(id);
      open[o.id] = ids;
      sum.max_open = std::max(sum.max_open, open.size());
    } else {
      // A close: the pipeline's buffers freed in reverse order, host last.
      REQUIRE(o.kind == op_kind::free);
      REQUIRE(n_open > 0);  // never closes when none is open
      ++sum.closes;
      const auto it = std::find_if(open.begin(), open.end(), [&](const auto& p) { return p.second.back() == o.id; });
      REQUIRE(it != open.end());
      const auto& ids = it->second;
      for (std::size_t k = 0; k < ids.size(); ++k) {
        REQUIRE(i + k < ops.size());
        const op& f = ops[i + k];
        REQUIRE(f.kind == op_kind::free);
        REQUIRE(f.id == ids[ids.size() - 1 - k]);
        REQUIRE(freed.insert(f.id).second);  // freed at most once
      }
      i += ids.size();
      open.erase(it);
    }
  }
  // Everything freed had been allocated.
  for (std::uint64_t id : freed) CHECK(allocated.count(id) == 1);
  return sum;
}

}  // namespace

TEST_CASE("sof family: deterministic per seed", "[generators]") {
  const auto a = vmh::workloads::sof_family(1);
  const auto b = vmh::workloads::sof_family(1);
  const auto c = vmh::workloads::sof_family(2);
  CHECK(a == b);
  CHECK(a != c);
  // Fewer steps give a prefix of the same trace.
  const auto prefix = vmh::workloads::sof_family(1, 100);
  REQUIRE(prefix.size() < a.size());
  CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
  CHECK(vmh::workloads::sof_physical_bytes == 1024 * KiB);
}

TEST_CASE("sof family: structural rules", "[generators]") {
  sof_summary total;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const auto ops = vmh::workloads::sof_family(seed);
    // The trace is well formed on its own: ids live once, frees of live ids.
    const auto back = parse_ok(vmh::trace::to_text(ops));
    CHECK(back == ops);
    const auto s = check_sof_trace(ops);
    CHECK(s.steps == 2000);
    CHECK(s.opens + s.closes == 2000);
    total.max_open = std::max(total.max_open, s.max_open);
    total.wov += s.wov;
    total.wov_frees += s.wov_frees;
    total.wov_lifetime_sum += s.wov_lifetime_sum;
    total.wov_wait_sum += s.wov_wait_sum;
    total.opens += s.opens;
    total.module_states += s.module_states;
    total.choice_steps += s.choice_steps;
    total.choice_opens += s.choice_opens;
  }
  CHECK(total.max_open == 8);  // the limit is reached, never passed
  // Wake-on-voice: drawn with probability 1/50 per step while none is live
  // (mean wait 49 steps, the draw can succeed on the freeing step), kept
  // 20..200 steps (mean 110).
  REQUIRE(total.wov > 100);
  REQUIRE(total.wov_frees > 100);
  const double wait = static_cast<double>(total.wov_wait_sum) / static_cast<double>(total.wov);
  const double lifetime = static_cast<double>(total.wov_lifetime_sum) / static_cast<double>(total.wov_frees);
  CAPTURE(wait, lifetime);
  CHECK(wait > 38);
  CHECK(wait < 62);
  CHECK(lifetime > 98);
  CHECK(lifetime < 122);
  // With 1-7 open, opening and closing are equally likely.
  CHECK(total.choice_opens * 100 > total.choice_steps * 47);
  CHECK(total.choice_opens * 100 < total.choice_steps * 53);
  // Module state in about half of the pipelines.
  CHECK(total.module_states * 10 > total.opens * 4);
  CHECK(total.module_states * 10 < total.opens * 6);
}

// ---------------------------------------------------------------------------
// The grow-back family

namespace {

std::vector<op> without_grows(const std::vector<op>& ops) {
  std::vector<op> out;
  for (const op& o : ops)
    if (o.kind != op_kind::grow) out.push_back(o);
  return out;
}

struct grow_summary {
  std::size_t closes_leaving_open = 0;  // closes after which some pipeline is still open
  std::size_t offered = 0;              // open host buffers after those closes
  std::size_t grows = 0;
};

// Checks where a grow-back trace puts its g lines: only right after a close (the free of a host
// buffer, which a close frees last), each for a host buffer still live, in opening (id) order,
// asking for that buffer's preferred size in steps of its min.
grow_summary check_grow_trace(const std::vector<op>& ops) {
  grow_summary s;
  std::map<std::uint64_t, op> hosts;  // live range requests by id
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const op& o = ops[i];
    INFO("op " << i << ": " << vmh::trace::format(o));
    REQUIRE(o.kind != op_kind::grow);  // every run of g lines is consumed below
    if (o.kind == op_kind::range) hosts.emplace(o.id, o);
    if (o.kind != op_kind::free || hosts.erase(o.id) == 0) continue;
    if (!hosts.empty()) {
      ++s.closes_leaving_open;
      s.offered += hosts.size();
    }
    std::uint64_t last = 0;
    for (; i + 1 < ops.size() && ops[i + 1].kind == op_kind::grow; ++i, ++s.grows) {
      const op& g = ops[i + 1];
      INFO("grow " << vmh::trace::format(g));
      const auto it = hosts.find(g.id);
      REQUIRE(it != hosts.end());
      REQUIRE(g.id > last);
      last = g.id;
      CHECK(g.preferred == it->second.preferred);
      CHECK(g.size == it->second.size);
      CHECK(g.align == 0);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("grow family: the SOF pipelines of the seed with grow requests after closes", "[generators]") {
  using vmh::workloads::grow_family;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    const auto ops = grow_family(seed);
    CHECK(ops == grow_family(seed));
    CHECK(parse_ok(vmh::trace::to_text(ops)) == ops);
    CHECK(without_grows(ops) == vmh::workloads::sof_family(seed));
    CHECK(grow_family(seed, 2000, 0) == vmh::workloads::sof_family(seed));
    const grow_summary half = check_grow_trace(ops);
    REQUIRE(half.offered > 1000);
    // Each open host buffer asks with probability 1/2.
    CHECK(half.grows * 100 > half.offered * 44);
    CHECK(half.grows * 100 < half.offered * 56);
    // At 100% every host buffer still open asks after every close.
    const grow_summary all = check_grow_trace(grow_family(seed, 2000, 100));
    CHECK(all.grows == all.offered);
    CHECK(all.closes_leaving_open == half.closes_leaving_open);
  }
  CHECK(grow_family(1) != grow_family(2));
  const auto prefix = grow_family(1, 100);
  const auto whole = grow_family(1);
  REQUIRE(prefix.size() < whole.size());
  CHECK(std::equal(prefix.begin(), prefix.end(), whole.begin()));
}

// ---------------------------------------------------------------------------
// Family 3

namespace {

struct stress_summary {
  std::size_t max_live = 0;
  double mean_fill_second_half = 0;
  std::size_t small = 0;  // sizes < 16
  std::size_t at_cap = 0;
  std::size_t allocs = 0;
};

stress_summary check_stress(const std::vector<op>& ops, unsigned pct, std::uint64_t budget, std::uint64_t max_size) {
  stress_summary s;
  std::map<std::uint64_t, std::uint64_t> live;
  std::uint64_t live_bytes = 0;
  double fill_sum = 0;
  std::size_t fill_n = 0;
  std::uint64_t last_id = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const op& o = ops[i];
    INFO("op " << i << ": " << vmh::trace::format(o));
    // Forced choices.
    if (live.empty()) REQUIRE(o.kind == op_kind::allocate);
    if (live.size() == vmh::workloads::stress_slot_capacity) REQUIRE(o.kind == op_kind::free);
    if (!live.empty() && 100 * live_bytes >= std::uint64_t{pct} * budget) REQUIRE(o.kind == op_kind::free);
    REQUIRE(o.align == 0);
    if (o.kind == op_kind::allocate) {
      REQUIRE(o.id == last_id + 1);
      last_id = o.id;
      REQUIRE(o.size >= 1);
      REQUIRE(o.size <= max_size);
      live[o.id] = o.size;
      live_bytes += o.size;
      ++s.allocs;
      s.small += o.size < 16;
      s.at_cap += o.size == max_size;
    } else {
      REQUIRE(o.kind == op_kind::free);
      const auto it = live.find(o.id);
      REQUIRE(it != live.end());
      live_bytes -= it->second;
      live.erase(it);
    }
    s.max_live = std::max(s.max_live, live.size());
    if (i >= ops.size() / 2) {
      fill_sum += static_cast<double>(live_bytes) / static_cast<double>(budget);
      ++fill_n;
    }
  }
  s.mean_fill_second_half = fill_sum / static_cast<double>(fill_n);
  return s;
}

}  // namespace

TEST_CASE("stress family: deterministic per seed", "[generators]") {
  const auto a = vmh::workloads::stress_family(1, 5000, 50);
  CHECK(a.size() == 5000);
  CHECK(a == vmh::workloads::stress_family(1, 5000, 50));
  CHECK(a != vmh::workloads::stress_family(2, 5000, 50));
  CHECK(a != vmh::workloads::stress_family(1, 5000, 95, 64 * KiB));
}

TEST_CASE("stress family: fill behaviour", "[generators]") {
  SECTION("the fill settles at half the target, with a budget the slot table does not limit") {
    // Allocating with probability 1 - fill/T and otherwise freeing a random
    // live block balances where both are equally likely: fill = T / 2.
    const std::uint64_t budget = 32 * KiB, max_size = 4 * KiB;
    const auto ops50 = vmh::workloads::stress_family(11, 200000, 50, budget, max_size);
    const auto s50 = check_stress(ops50, 50, budget, max_size);
    CAPTURE(s50.mean_fill_second_half);
    CHECK(s50.mean_fill_second_half > 0.21);
    CHECK(s50.mean_fill_second_half < 0.29);
    CHECK(s50.max_live < 1024);
    const auto ops95 = vmh::workloads::stress_family(11, 200000, 95, budget, max_size);
    const auto s95 = check_stress(ops95, 95, budget, max_size);
    CAPTURE(s95.mean_fill_second_half);
    CHECK(s95.mean_fill_second_half > 0.42);
    CHECK(s95.mean_fill_second_half < 0.53);
  }
  SECTION("with the default budget the 1024-slot table is the limit") {
    const auto ops = vmh::workloads::stress_family(3, 100000, 50);
    const auto s = check_stress(ops, 50, 1024 * KiB, 64 * KiB);
    CHECK(s.max_live == 1024);
    CHECK(s.mean_fill_second_half < 0.25);
  }
  SECTION("power-law sizes, capped") {
    const auto ops = vmh::workloads::stress_family(4, 100000, 95, 64 * KiB, 64);
    const auto s = check_stress(ops, 95, 64 * KiB, 64);
    // P(clz32(r2) = k) = 2^-(k+1) and then size < 16 with probability
    // 2^-k, so P(size < 16) = sum 2^-(2k+1) = 2/3.
    CHECK(s.small * 100 > s.allocs * 62);
    CHECK(s.small * 100 < s.allocs * 71);
    CHECK(s.at_cap > 0);
  }
}
