// Tests of vmh-sim's layout planner (bench/sim/plan.hpp) and pictures (bench/sim/svg.hpp,
// bench/sim/pictures.hpp): evaluations that reuse one heap give the figures of a fresh replay,
// the planner never does worse than the auto layout on its own traces, and every SVG is
// well-formed XML.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "../../docs/plan-sof-448k.hpp"
#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/options.hpp"
#include "sim/pictures.hpp"
#include "sim/plan.hpp"
#include "sim/replay.hpp"
#include "sim/svg.hpp"
#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

namespace plan = vmh::sim::plan;
using vmh::bucket;
using vmh::trace::op;
using vmh::trace::op_kind;

namespace {

constexpr std::size_t KiB = 1024;

// ---------------------------------------------------------------------------------------------
// A small well-formedness checker: one root element, start and end tags balanced and matching,
// attributes `name="value"` or `name='value'` (no duplicates, no '<' in values), entities
// only &amp; &lt; &gt; &quot; &apos; or numeric, no raw '<' or '&' in text; an XML declaration
// and comments allowed. Returns an empty string when the document is well-formed.

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Checks the character data between `from` and `to` (text or an attribute value).
std::string check_chars(std::string_view s, bool in_attribute) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') return "raw '<'";
    if (s[i] != '&') continue;
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) return "unterminated entity";
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    const bool named = ent == "amp" || ent == "lt" || ent == "gt" || ent == "quot" || ent == "apos";
    bool numeric = ent.size() >= 2 && ent[0] == '#';
    for (std::size_t k = 1; numeric && k < ent.size(); ++k)
      numeric = (ent[k] >= '0' && ent[k] <= '9') || (k == 1 && ent[k] == 'x') ||
                (ent[1] == 'x' && ((ent[k] >= 'a' && ent[k] <= 'f') || (ent[k] >= 'A' && ent[k] <= 'F')));
    if (!named && !numeric) return "unknown entity '&" + std::string(ent) + ";'";
    i = semi;
  }
  (void)in_attribute;
  return {};
}

std::string xml_problem(std::string_view doc) {
  std::vector<std::string> open;
  std::size_t i = 0, roots = 0;
  if (doc.substr(0, 5) == "<?xml") {
    const std::size_t end = doc.find("?>");
    if (end == std::string_view::npos) return "unterminated XML declaration";
    i = end + 2;
  }
  while (i < doc.size()) {
    if (doc[i] != '<') {
      const std::size_t next = doc.find('<', i);
      const std::string_view text = doc.substr(i, next == std::string_view::npos ? doc.size() - i : next - i);
      if (open.empty()) {
        for (const char c : text)
          if (!space(c)) return "text outside the root element";
      } else if (std::string e = check_chars(text, false); !e.empty()) {
        return e + " in text";
      }
      i = next == std::string_view::npos ? doc.size() : next;
      continue;
    }
    if (doc.substr(i, 4) == "<!--") {
      const std::size_t end = doc.find("-->", i + 4);
      if (end == std::string_view::npos) return "unterminated comment";
      i = end + 3;
      continue;
    }
    if (doc.substr(i, 2) == "</") {
      std::size_t j = i + 2;
      while (j < doc.size() && name_char(doc[j])) ++j;
      const std::string name(doc.substr(i + 2, j - i - 2));
      while (j < doc.size() && space(doc[j])) ++j;
      if (j >= doc.size() || doc[j] != '>') return "bad end tag '" + name + "'";
      if (open.empty() || open.back() != name)
        return "end tag '" + name + "' does not match '" + (open.empty() ? std::string() : open.back()) + "'";
      open.pop_back();
      i = j + 1;
      continue;
    }
    // A start tag.
    std::size_t j = i + 1;
    if (j >= doc.size() || !name_start(doc[j])) return "bad tag name";
    while (j < doc.size() && name_char(doc[j])) ++j;
    const std::string name(doc.substr(i + 1, j - i - 1));
    std::vector<std::string> attributes;
    for (;;) {
      const std::size_t before = j;
      while (j < doc.size() && space(doc[j])) ++j;
      if (j >= doc.size()) return "unterminated tag '" + name + "'";
      if (doc[j] == '>' || doc.substr(j, 2) == "/>") break;
      if (j == before) return "no space before an attribute of '" + name + "'";
      if (!name_start(doc[j])) return "bad attribute name in '" + name + "'";
      const std::size_t a = j;
      while (j < doc.size() && name_char(doc[j])) ++j;
      const std::string attribute(doc.substr(a, j - a));
      for (const std::string& seen : attributes)
        if (seen == attribute) return "duplicate attribute '" + attribute + "'";
      attributes.push_back(attribute);
      while (j < doc.size() && space(doc[j])) ++j;
      if (j >= doc.size() || doc[j] != '=') return "attribute '" + attribute + "' without a value";
      ++j;
      while (j < doc.size() && space(doc[j])) ++j;
      if (j >= doc.size() || (doc[j] != '"' && doc[j] != '\'')) return "unquoted value of '" + attribute + "'";
      const char quote = doc[j];
      const std::size_t close = doc.find(quote, j + 1);
      if (close == std::string_view::npos) return "unterminated value of '" + attribute + "'";
      if (std::string e = check_chars(doc.substr(j + 1, close - j - 1), true); !e.empty())
        return e + " in attribute '" + attribute + "'";
      j = close + 1;
    }
    if (open.empty() && ++roots > 1) return "more than one root element";
    if (doc[j] == '/') {
      i = j + 2;
    } else {
      open.push_back(name);
      i = j + 1;
    }
  }
  if (!open.empty()) return "element '" + open.back() + "' not closed";
  if (roots == 0) return "no root element";
  return {};
}

// ---------------------------------------------------------------------------------------------

std::vector<plan::trace_case> sof_cases(std::initializer_list<std::uint64_t> seeds, std::size_t steps) {
  std::vector<plan::trace_case> cases;
  for (const std::uint64_t s : seeds)
    cases.push_back(plan::make_case("sof " + std::to_string(s), vmh::workloads::sof_family(s, steps)));
  return cases;
}

bool same_figures(const plan::score& a, const plan::score& b) {
  return a.valid == b.valid && a.requests == b.requests && a.satisfied == b.satisfied &&
         a.requested_bytes == b.requested_bytes && a.satisfied_bytes == b.satisfied_bytes &&
         a.granted_bytes == b.granted_bytes && a.preferred_bytes == b.preferred_bytes &&
         a.virtual_bytes == b.virtual_bytes && a.metadata_bytes == b.metadata_bytes;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the XML checker accepts well-formed documents and rejects broken ones") {
  CHECK(xml_problem("<a/>").empty());
  CHECK(xml_problem("<?xml version=\"1.0\"?>\n<svg x=\"1\" y='2'><g><text>a &amp; b &#60;</text></g><!-- c --></svg>\n").empty());
  CHECK_FALSE(xml_problem("").empty());
  CHECK_FALSE(xml_problem("<a><b></a></b>").empty());      // crossed
  CHECK_FALSE(xml_problem("<a><b></b>").empty());          // not closed
  CHECK_FALSE(xml_problem("<a x=1/>").empty());            // unquoted
  CHECK_FALSE(xml_problem("<a x=\"1/>").empty());          // unterminated value
  CHECK_FALSE(xml_problem("<a x=\"1\" x=\"2\"/>").empty());  // duplicate attribute
  CHECK_FALSE(xml_problem("<a x=\"1\"y=\"2\"/>").empty());   // no space between attributes
  CHECK_FALSE(xml_problem("<a>x < y</a>").empty());        // raw '<'
  CHECK_FALSE(xml_problem("<a>x & y</a>").empty());        // raw '&'
  CHECK_FALSE(xml_problem("<a t=\"&nbsp;\"/>").empty());   // unknown entity
  CHECK_FALSE(xml_problem("<a/><b/>").empty());            // two roots
  CHECK_FALSE(xml_problem("text<a/>").empty());            // text outside the root
}

TEST_CASE("the arguments keep every value of a repeated option") {
  const std::vector<std::string> argv = {"--trace", "a.trace", "--physical", "448K", "--trace", "b.trace"};
  const vmh::sim::option_spec specs[] = {{"trace", false, true}, {"physical"}, {"layout", false, true}};
  const vmh::sim::args a(argv, specs, "test");
  const std::vector<std::string> traces = a.all("trace");
  REQUIRE(traces.size() == 2);
  CHECK(traces[0] == "a.trace");
  CHECK(traces[1] == "b.trace");
  CHECK(a.all("layout").empty());
  CHECK(vmh::sim::parse_list("1-3,7", "--seeds") == std::vector<std::size_t>{1, 2, 3, 7});
  CHECK(vmh::sim::parse_list("256K,1M", "--budgets") == std::vector<std::size_t>{256 * KiB, 1024 * KiB});
  CHECK_THROWS(vmh::sim::parse_list("5-1", "--seeds"));
}

TEST_CASE("a trace case knows which requests stay live at its end") {
  const std::vector<op> ops = {{op_kind::allocate, 1, 100, 0, 0}, {op_kind::range, 2, 64, 256, 0},
                               {op_kind::free, 1, 0, 0, 0},        {op_kind::allocate, 1, 50, 0, 0},
                               {op_kind::resize, 1, 70, 0, 0},     {op_kind::allocate, 3, 10, 0, 0},
                               {op_kind::free, 3, 0, 0, 0}};
  const plan::trace_case c = plan::make_case("t", ops);
  CHECK(c.requests == 4);
  CHECK(c.live_at_end == std::vector<std::size_t>{2, 1});  // id 1's second request, then id 2 (by id)
}

TEST_CASE("normalize makes any table a valid layout") {
  plan::rng r{7};
  for (int round = 0; round < 500; ++round) {
    std::vector<bucket> l;
    const std::size_t n = 1 + r.below(12);
    for (std::size_t i = 0; i < n; ++i) l.push_back({1 + r.below(200000), r.below(300)});
    REQUIRE(plan::normalize(l, 4096));
    const vmh::sim::layout_check f = vmh::sim::check_layout(l, 4096);
    INFO("round " << round);
    REQUIRE(f.error == vmh::layout_error::none);
    for (std::size_t i = 0; i < l.size(); ++i) {
      CHECK(l[i].block_size % vmh::presets::block_granule(l[i].block_size, 4096, plan::plan_min_align) == 0);
      if (i > 0) CHECK(l[i].block_size > l[i - 1].block_size);
    }
  }
}

TEST_CASE("evaluations on one reused heap give the figures of a fresh replay") {
  const std::size_t physical = 448 * KiB, page = 4096;
  std::vector<plan::trace_case> cases = sof_cases({1, 2}, 600);
  plan::evaluator ev(cases, physical, page);
  const std::vector<bucket> automatic = vmh::sim::auto_layout(physical, page);
  const std::vector<bucket> sof(vmh::presets::sof_table.buckets,
                                vmh::presets::sof_table.buckets + vmh::presets::sof_table.size());

  const plan::evaluation a1 = ev.evaluate(automatic, SIZE_MAX, true);
  REQUIRE(a1.s.valid);
  CHECK(a1.valid_after);
  REQUIRE(ev.heap()->stats().live_allocations == 0);
  REQUIRE(ev.heap()->stats().pages_mapped == 0);
  const plan::evaluation b = ev.evaluate(sof);
  REQUIRE(b.s.valid);
  REQUIRE(ev.heap()->stats().live_allocations == 0);
  const plan::evaluation a2 = ev.evaluate(automatic);
  CHECK(same_figures(a1.s, a2.s));
  CHECK(a1.peak == a2.peak);
  CHECK(a1.full_failures == a2.full_failures);

  // The same figures as the replay tool's own allocator, one fresh heap per trace.
  vmh::sim::totals fresh;
  for (const plan::trace_case& c : cases) {
    vmh::sim::vmh_allocator v(automatic, physical, page);
    REQUIRE(v.valid());
    vmh::sim::replay_into(fresh, c.ops, v);
  }
  CHECK(a1.s.requests == fresh.requests);
  CHECK(a1.s.failed() == fresh.failed);
  CHECK(a1.s.granted_bytes == fresh.granted);
  CHECK(a1.s.preferred_bytes == fresh.preferred);
  CHECK(a1.s.requested_bytes == fresh.requested_bytes);
  CHECK(a1.s.satisfied_bytes == fresh.satisfied_bytes);
  CHECK(a1.s.satisfied_bytes < a1.s.requested_bytes);

  // The cost figures are the heap's (its packed region included), and its metadata is charged
  // to the budget.
  vmh::sim::vmh_allocator v(automatic, physical, page);
  REQUIRE(v.heap().geometry().packed.bytes != 0);  // the default options: the auto packed region
  CHECK(a1.s.virtual_bytes == v.heap().geometry().virtual_size);
  CHECK(ev.packed() == vmh::sim::packed_for({}, physical, page));
  CHECK(a1.s.metadata_bytes == v.heap().metadata_bytes());
  CHECK(v.page_budget() == (physical - v.heap().metadata_bytes()) / page * page);
}

TEST_CASE("a pruned evaluation stops early and leaves the heap empty") {
  const std::size_t physical = 128 * KiB, page = 4096;
  plan::evaluator ev(sof_cases({3}, 800), physical, page);
  const std::vector<bucket> automatic = vmh::sim::auto_layout(physical, page);
  const plan::evaluation full = ev.evaluate(automatic);
  REQUIRE(full.s.valid);
  REQUIRE(full.s.failed() > 2);
  const plan::evaluation cut = ev.evaluate(automatic, 1);
  CHECK(cut.s.pruned);
  CHECK_FALSE(cut.s.valid);
  CHECK_FALSE(plan::better(cut.s, full.s));
  CHECK(ev.heap()->stats().live_allocations == 0);
  CHECK(same_figures(ev.evaluate(automatic).s, full.s));
  // The bound in bytes.
  const plan::evaluation cut_bytes = ev.evaluate(automatic, full.s.failed_bytes() - 1, false, plan::objective::bytes);
  CHECK(cut_bytes.s.pruned);
  CHECK(ev.heap()->stats().live_allocations == 0);
  const plan::evaluation whole = ev.evaluate(automatic, full.s.failed_bytes(), false, plan::objective::bytes);
  CHECK_FALSE(whole.s.pruned);
  CHECK(same_figures(whole.s, full.s));
}

TEST_CASE("the score compares requests, then granted bytes, then cost") {
  plan::score a, b;
  a.valid = b.valid = true;
  a.requests = b.requests = 100;
  a.satisfied = 90;
  b.satisfied = 89;
  b.granted_bytes = b.preferred_bytes = 10;
  a.granted_bytes = 1;
  a.preferred_bytes = 10;
  a.virtual_bytes = 100 << 20;
  CHECK(plan::better(a, b));  // more requests satisfied wins whatever the rest
  b.satisfied = 90;
  CHECK(plan::better(b, a));  // then granted/preferred
  a.granted_bytes = 10;
  CHECK(plan::better(b, a));  // then the smaller cost
  b.virtual_bytes = 10 * a.virtual_bytes;  // ten times the virtual space for no gain is worse
  CHECK(plan::better(a, b));
  plan::score invalid;
  CHECK(plan::better(a, invalid));
  CHECK_FALSE(plan::better(invalid, a));

  // By bytes: one large request satisfied outweighs several small ones.
  plan::score big = a, small = a;
  big.satisfied = 80;
  big.satisfied_bytes = 300 * 1024;
  small.satisfied = 90;
  small.satisfied_bytes = 100 * 1024;
  CHECK(plan::better(small, big));
  CHECK(plan::better(big, small, plan::objective::bytes));
}

TEST_CASE("the planner never does worse than the auto layout on its training traces") {
  struct setup {
    const char* name;
    std::vector<plan::trace_case> cases;
    std::size_t physical;
    std::size_t max_buckets;
  };
  std::vector<setup> setups;
  setups.push_back({"sof 448K", sof_cases({1, 2}, 800), 448 * KiB, 64});
  setups.push_back({"sof 256K", sof_cases({4}, 800), 256 * KiB, 64});
  std::vector<plan::trace_case> stress;
  stress.push_back(plan::make_case("stress", vmh::workloads::stress_family(5, 6000, 95, 64 * KiB, 16 * KiB)));
  setups.push_back({"stress 95% 64K", stress, 64 * KiB, 64});
  std::vector<plan::trace_case> seed;
  seed.push_back(plan::make_case("seed", vmh::workloads::seed_family()));
  setups.push_back({"seed 96K", seed, 96 * KiB, 64});
  setups.push_back({"sof 448K, 8 buckets", sof_cases({2}, 800), 448 * KiB, 8});

  for (setup& s : setups)
    for (const plan::objective goal : {plan::objective::requests, plan::objective::bytes}) {
      INFO(s.name << (goal == plan::objective::bytes ? ", by bytes" : ", by requests"));
      plan::evaluator ev(s.cases, s.physical, 4096);
      plan::options opt;
      opt.physical = s.physical;
      opt.max_buckets = s.max_buckets;
      opt.evaluations = 200;
      opt.patience = 80;
      opt.goal = goal;
      plan::planner p(ev, opt);
      const plan::result r = p.run();
      CAPTURE(plan::describe(r.best.eval.s), plan::describe(r.automatic.eval.s));
      REQUIRE(r.best.eval.s.valid);
      CHECK(r.best.eval.valid_after);
      CHECK(r.best.layout.size() <= s.max_buckets);
      CHECK(p.feasible(r.best.layout));
      if (s.max_buckets >= r.automatic.layout.size()) {
        CHECK_FALSE(plan::better(r.automatic.eval.s, r.best.eval.s, goal));
        if (goal == plan::objective::requests) CHECK(r.best.eval.s.satisfied >= r.automatic.eval.s.satisfied);
        else CHECK(r.best.eval.s.satisfied_bytes >= r.automatic.eval.s.satisfied_bytes);
      }
      // Its figures are those of a fresh evaluation.
      CHECK(same_figures(ev.evaluate(r.best.layout).s, r.best.eval.s));
      CHECK(ev.heap()->stats().live_allocations == 0);
      CHECK(r.evaluations <= std::max(opt.evaluations, r.seeds + 1) + 2);  // the seeds are always replayed
    }
}

TEST_CASE("the planner respects the virtual limit") {
  const std::size_t physical = 448 * KiB;
  plan::evaluator ev(sof_cases({1}, 600), physical, 4096);
  plan::options opt;
  opt.physical = physical;
  opt.max_virtual = 1024 * KiB;
  opt.evaluations = 150;
  opt.patience = 60;
  plan::planner p(ev, opt);
  const plan::result r = p.run();
  REQUIRE(r.best.eval.s.valid);
  CHECK(r.best.eval.s.virtual_bytes <= opt.max_virtual);
  // The limit is on the window the heap spans: its packed region and its buckets.
  const vmh::sim::vmh_allocator v(r.best.layout, physical, 4096);
  REQUIRE(v.valid());
  CHECK(v.heap().geometry().virtual_size == r.best.eval.s.virtual_bytes);
  CHECK(v.heap().geometry().virtual_size <= opt.max_virtual);
}

TEST_CASE("the planner plans for the packed region it is given") {
  const std::size_t physical = 256 * KiB, page = 4096;
  for (const bool packed : {true, false}) {
    INFO((packed ? "auto packed region" : "no packed region"));
    vmh::sim::vmh_options o;
    o.packed_auto = packed;
    plan::evaluator ev(sof_cases({1}, 400), physical, page, o);
    CHECK(ev.packed().bytes == (packed ? physical : 0));
    plan::options opt;
    opt.physical = physical;
    opt.evaluations = 60;
    opt.patience = 30;
    plan::planner p(ev, opt);
    const plan::result r = p.run();
    REQUIRE(r.best.eval.s.valid);
    // The auto layout it starts from is the one vmh has with that region (or without one).
    const std::vector<bucket> automatic = vmh::sim::auto_layout(physical, page, packed);
    REQUIRE(r.automatic.layout.size() == automatic.size());
    for (std::size_t i = 0; i < automatic.size(); ++i) {
      CHECK(r.automatic.layout[i].block_size == automatic[i].block_size);
      CHECK(r.automatic.layout[i].block_count == automatic[i].block_count);
    }
    // Its figures are those of vmh with the same options, one fresh heap per trace.
    vmh::sim::totals fresh;
    std::size_t metadata = 0, virt = 0;
    for (const plan::trace_case& c : ev.cases()) {
      vmh::sim::vmh_allocator v(r.best.layout, physical, page, o);
      REQUIRE(v.valid());
      metadata = v.metadata_bytes();
      virt = v.heap().geometry().virtual_size;
      vmh::sim::replay_into(fresh, c.ops, v);
    }
    CHECK(r.best.eval.s.failed() == fresh.failed);
    CHECK(r.best.eval.s.metadata_bytes == metadata);
    CHECK(r.best.eval.s.virtual_bytes == virt);
  }
}

TEST_CASE("the planned layout is printed as a layout file and as C++") {
  const std::vector<bucket> l = {{64, 64}, {768, 16}, {4096, 6}, {303104, 2}};
  const std::string file = plan::layout_file(l, {"a comment", "another"});
  CHECK(file.rfind("# a comment\n# another\n", 0) == 0);
  const std::vector<bucket> back = vmh::sim::parse_layout(file, "planned");
  REQUIRE(back.size() == l.size());
  for (std::size_t i = 0; i < l.size(); ++i) {
    CHECK(back[i].block_size == l[i].block_size);
    CHECK(back[i].block_count == l[i].block_count);
  }
  const std::string code = plan::cxx_declaration(l, "my_table", 4096, {"planned"});
  CHECK(code.find("// planned\n#pragma once\n\n#include <vmh/vmh.hpp>\n") == 0);
  CHECK(code.find("inline constexpr auto my_table = vmh::make_table({{64, 64},") != std::string::npos);
  CHECK(code.find("{303104, 2}},") != std::string::npos);
  CHECK(code.find("4096, 64);") != std::string::npos);
  CHECK(code.find("using my_table_layout = vmh::fixed_layout<my_table>;") != std::string::npos);
  // Planned with a packed region, the table has it (and the min_align the heap had with it).
  const std::string with = plan::cxx_declaration(l, "my_table", 4096, {"planned"}, {458752, 16384, 16});
  CHECK(with.find("inline constexpr auto my_table = vmh::with_packed(vmh::make_table({{64, 64},") != std::string::npos);
  CHECK(with.find("4096, 16), vmh::packed_region{458752, 16384, 16});") != std::string::npos);
}

// The same, with its packed region: a valid fixed layout whose window starts with the region.
inline constexpr auto pasted_packed = vmh::with_packed(vmh::make_table({{64, 64},
                                                                        {768, 16},
                                                                        {4096, 6},
                                                                        {303104, 2}},
                                                                       4096, 16), vmh::packed_region{458752, 16384, 16});
using pasted_packed_layout = vmh::fixed_layout<pasted_packed>;
static_assert(pasted_packed_layout::virtual_size == 458752 + 64 * 64 + 768 * 16 + 4096 * 6 + 303104 * 2);

// The table of the C++ output, pasted: it must be a valid fixed layout.
inline constexpr auto pasted_table = vmh::make_table({{64, 64},
                                                      {768, 16},
                                                      {4096, 6},
                                                      {303104, 2}},
                                                     4096, 64);
using pasted_table_layout = vmh::fixed_layout<pasted_table>;
static_assert(pasted_table_layout::virtual_size == 64 * 64 + 768 * 16 + 4096 * 6 + 303104 * 2);

TEST_CASE("the planned layout in docs/ is one heap: its header and its file give the same buckets and region") {
  // docs/planner.md regenerates both with one plan command; the pictures replay the file.
  const std::vector<vmh::bucket> file = vmh::sim::load_layout(VMH_DOCS_DIR "/plan-sof-448k.layout", 448 * 1024, 4096);
  REQUIRE(file.size() == sof_448k.size());
  for (std::size_t i = 0; i < file.size(); ++i) {
    CAPTURE(i);
    CHECK(file[i].block_size == sof_448k.buckets[i].block_size);
    CHECK(file[i].block_count == sof_448k.buckets[i].block_count);
  }
  // The header's region is the one a replay at 448 KiB adds (--packed auto), and the heap it
  // declares is the one replayed.
  vmh::sim::vmh_allocator replayed(file, 448 * 1024, 4096);
  REQUIRE(replayed.valid());
  CHECK(sof_448k.packed == vmh::sim::packed_for(vmh::sim::vmh_options{}, 448 * 1024, 4096));
  CHECK(sof_448k_layout::virtual_size == replayed.heap().geometry().virtual_size);
  CHECK(sof_448k_layout::geometry.min_align == replayed.heap().geometry().min_align);
}

TEST_CASE("the heap map is well-formed and shows what the heap maps") {
  const std::size_t physical = 448 * KiB, page = 4096;
  const std::vector<op> ops = vmh::workloads::sof_family(1, 400);
  const std::vector<bucket> layout = vmh::sim::auto_layout(physical, page);
  for (const char* at : {"peak", "fail", "end", "0", "123"}) {
    INFO(at);
    const std::size_t index = vmh::sim::pick_operation(ops, at, layout, physical, page);
    REQUIRE(index < ops.size());
    vmh::sim::heap_snapshot snap = vmh::sim::snapshot_at(ops, index, layout, physical, page);
    snap.picture.title = "map <of> \"sof\" & 'seed' 1";
    snap.picture.subtitle = "auto";
    const vmh::sim::svg::map_model model(snap.picture);
    CHECK(model.mapped_pages * page == snap.committed);
    const std::string svg = vmh::sim::svg::heap_map(snap.picture);
    CAPTURE(xml_problem(svg));
    CHECK(xml_problem(svg).empty());
    CHECK(svg.find("map &lt;of&gt; &quot;sof&quot; &amp; &apos;seed&apos; 1") != std::string::npos);
    for (const bucket& b : layout) CHECK(svg.find(vmh::sim::svg::bytes_text(b.block_size) + " x " + std::to_string(b.block_count)) != std::string::npos);
  }
  CHECK_THROWS(vmh::sim::pick_operation(ops, "soon", layout, physical, page));
}

TEST_CASE("the peak operation is the one after which the most memory is mapped") {
  const std::size_t physical = 256 * KiB, page = 4096;
  const std::vector<op> ops = vmh::workloads::sof_family(2, 300);
  const std::vector<bucket> layout = vmh::sim::auto_layout(physical, page);
  const std::size_t peak = vmh::sim::pick_operation(ops, "peak", layout, physical, page);
  const vmh::sim::heap_snapshot at_peak = vmh::sim::snapshot_at(ops, peak, layout, physical, page);
  const vmh::sim::heap_snapshot at_end = vmh::sim::snapshot_at(ops, ops.size() - 1, layout, physical, page);
  CHECK(at_peak.committed == at_end.figures.peak_physical_bytes);
}

TEST_CASE("the budget curve is well-formed") {
  vmh::sim::svg::curve_input in;
  in.title = "curve";
  in.subtitle = "a < b & c";
  in.budgets = {128 * KiB, 192 * KiB, 256 * KiB};
  in.lines = {{"sys_heap <model>", vmh::sim::svg::palette(0), {0.9, 0.95, 1.0}, {0.8, 0.85, 0.9}},
              {"vmh", vmh::sim::svg::palette(2), {0.99, 1.0, 1.0}, {0.7, 0.75, 0.99}}};
  const std::string svg = vmh::sim::svg::budget_curve(in);
  CAPTURE(xml_problem(svg));
  CHECK(xml_problem(svg).empty());
  CHECK(count(svg, "<polyline") == 4);  // two series, two panels
  CHECK(svg.find("sys_heap &lt;model&gt;") != std::string::npos);
  CHECK(svg.find("128 KiB") != std::string::npos);

  in.budgets = {512 * KiB};  // one budget: no division by zero
  for (auto& l : in.lines) {
    l.success.resize(1);
    l.granted.resize(1);
  }
  CHECK(xml_problem(vmh::sim::svg::budget_curve(in)).empty());
}
