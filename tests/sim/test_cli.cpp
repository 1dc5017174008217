// Tests of vmh-sim's command line (bench/sim/commands.cpp, options.cpp) and of what it replays:
// every bad command line ends with one line on standard error and exit code 2 (never a
// signal), unknown options are named, sizes and seeds have one grammar, the metadata is charged
// to the budget, and SOF's range loop gives the plain loop's grants without its 2^64 steps.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "baselines/sys_heap.hpp"
#include "catch.hpp"
#include "host/child_process.hpp"
#include "sim/tool.hpp"
#include "sim/allocators.hpp"
#include "sim/commands.hpp"
#include "sim/layouts.hpp"
#include "sim/memory.hpp"
#include "sim/options.hpp"
#include "sim/remote.hpp"
#include "sim/replay.hpp"
#include "workloads/generators.hpp"
#include "workloads/range_churn.hpp"
#include "workloads/trace.hpp"

namespace {

constexpr std::size_t KiB = 1024;
using namespace vmh_sim_test;

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += " " + w;
  return s;
}

/// A bad command line: exit code 2 by exit (not a signal), one line on standard error that
/// starts with "vmh-sim: " and contains `says`, nothing on standard output.
void check_refused(const std::vector<std::string>& words, const std::string& says) {
  INFO("vmh-sim" << joined(words));
  const tool_end t = run_tool(words);
  REQUIRE_FALSE(t.end.signaled);
  CHECK(t.end.exit_code == 2);
  CAPTURE(t.err());
  CHECK(t.err().rfind("vmh-sim: ", 0) == 0);
  CHECK(t.err().find('\n') == t.err().size() - 1);  // exactly one line
  CHECK(t.err().find(says) != std::string::npos);
  CHECK(t.out.empty());
}

}  // namespace

TEST_CASE("the JSON checker accepts well-formed lines and rejects broken ones") {
  CHECK(json_lines("{}\n"));
  CHECK(json_lines("{\"a\":1,\"b\":[1,2.5,-3e4,\"x\\\"y\"],\"c\":{\"d\":null,\"e\":true}}\n{\"f\":false}\n"));
  CHECK_FALSE(json_lines("{\"a\":1}"));         // no newline
  CHECK_FALSE(json_lines("{\"a\":1,}\n"));      // trailing comma
  CHECK_FALSE(json_lines("{\"a\" 1}\n"));       // no colon
  CHECK_FALSE(json_lines("{\"a\":[1,2}\n"));    // unclosed array
  CHECK_FALSE(json_lines("{\"a\":1}}\n"));      // trailing text
  CHECK_FALSE(json_lines("| a | b |\n"));       // a table
  CHECK_FALSE(json_lines("{a:1}\n"));           // unquoted key
}

TEST_CASE("bad command lines give one line and exit code 2") {
  const temp_file trace("trace", "a 1 64\nr 2 1K 8K\nf 1\n");
  const temp_file layout("layout", "64 16\n4096 4\n");
  const temp_file bad_grow("bad-grow", "r 1 1K 8K\ng 1 8K 0\n");
  const std::string t = trace.path, l = layout.path;
  struct bad {
    std::vector<std::string> words;
    std::string says;
  };
  const std::vector<bad> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K", "--frobnicate", "1"}, "unknown option --frobnicate"},
      {{"gen", "--family", "sof", "--seed", "1", "--stpes", "10"}, "unknown option --stpes"},
      {{"replay", "--trace", t, "--trace", t, "--allocator", "vmh", "--physical", "1M"}, "--trace given twice"},
      {{"replay", "--trace"}, "--trace needs a value"},
      {{"replay", "--allocator", "vmh", "--physical", "1M"}, "missing option --trace"},
      {{"replay", "trace.txt"}, "unexpected argument 'trace.txt'"},
      {{"compare", "--family", "sof", "--physical", "448K", "--seeds", "0"}, "seeds start at 1"},
      {{"compare", "--family", "sof", "--physical", "448K", "--seeds", "3-2"}, "runs backwards"},
      {{"compare", "--family", "sof", "--physical", "448K", "--seeds", "1-200000"}, "more than 100000 values"},
      {{"compare", "--family", "sofa", "--physical", "448K"}, "--family must be"},
      {{"replay", "--trace", t, "--allocator", "sof_vmh", "--physical", "448K", "--page", "0"}, "--page: 0 is not a power of two"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--layout", l, "--physical", "448K", "--page", "0"}, "--page: 0"},
      {{"plan", "--family", "sof", "--physical", "448K", "--page", "0"}, "--page: 0"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K", "--page", "3000"}, "3000 is not a power of two"},
      {{"layout", "--physical", "99999999999999999999"}, "is too large"},
      {{"layout", "--physical", "-5"}, "is negative"},
      {{"layout", "--physical", "12Q"}, "is not a number"},
      {{"layout", "--physical", ""}, "empty value"},
      {{"layout", "--physical", "0"}, "out of range"},
      {{"layout", "--physical", "18446744073709551615"}, "no auto layout"},
      {{"gen", "--family", "stress", "--target", "150"}, "--target: 150 is out of range (1 to 100)"},
      {{"gen", "--family", "sof", "--steps", "0"}, "--steps must be at least 1"},
      {{"gen", "--family", "grow", "--grow", "101"}, "--grow: 101 is out of range (0 to 100)"},
      {{"compare", "--family", "grow", "--physical", "448K", "--grow", "half"}, "--grow"},
      {{"compare", "--family", "growth", "--physical", "448K"}, "--family must be one of seed|sof|grow|stress|churn"},
      {{"replay", "--trace", bad_grow.path, "--allocator", "sys_heap", "--physical", "64K"},
       bad_grow.path + ":2: granule must be at least 1"},
      {{"map", "--family", "sof", "--physical", "448K", "--at", "999999"}, "--at 999999: the trace has"},
      {{"map", "--family", "sof", "--physical", "448K", "--at", "soon"}, "--at must be"},
      {{"replay", "--trace", t, "--allocator", "sys_heap", "--physical", "16"}, "needs at least"},
      {{"replay", "--trace", t, "--allocator", "sys_heap", "--physical", "5G"}, "32-bit heap's limits"},
      {{"replay", "--trace", t, "--allocator", "bogus", "--physical", "1M"}, "--allocator must be"},
      {{"replay", "--trace", t + ".missing", "--allocator", "vmh", "--physical", "1M"}, "cannot open"},
      {{"replay", "--trace", l, "--allocator", "vmh", "--physical", "1M"}, ":1: unknown operation '64'"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--layout", t, "--physical", "1M"}, ":1: expected '<block_size> <count>'"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "1M", "--policy", "share:3/2"}, "--policy must be"},
      {{"plan", "--trace", t, "--physical", "448K", "--cxx"}, "--cxx needs a value"},
      {{"plan", "--trace", t, "--physical", "448K", "--cxx", "-"}, "both go to standard output"},
      {{"plan", "--trace", t, "--physical", "448K", "--compare", "=x"}, "expected NAME=FILE or FILE"},
      {{"plan", "--trace", t, "--physical", "448K", "--holdout-trace", t + ".missing"}, "cannot open"},
      {{"plan", "--trace", t, "--physical", "448K", "--cxx", "/nonexistent/planned.hpp"}, "cannot write"},
      {{"plan", "--trace", t, "--physical", "448K", "--compare", t}, "expected '<block_size> <count>'"},
      {{"plan", "--trace", t, "--physical", "448K", "--packed", "lots"}, "--packed: 'lots' is not a number"},
      {{"plan", "--trace", t, "--physical", "448K", "--packed", "64K:2K:3:4"}, "--packed must be auto, none or BYTES"},
      {{"plan", "--trace", t, "--physical", "448K", "--packed", "1000"}, "packed region's bytes must be a multiple of the page size"},
      {{"plan", "--trace", t, "--physical", "448K", "--virtual", "448K"}, "the packed region takes 458752 bytes of the virtual size"},
      {{"curve", "--trace", t, "--from", "1M", "--to", "64K"}, "at least one budget"},
      {{"auto-study", "--grid", "huge"}, "--grid must be small or full"},
      // reserve:K:N/D with K = 0: range_policy reads 0 as 4, so the tool refuses it (once read as 4).
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "1M", "--policy", "reserve:0:35/1000"},
       "K = 0 is refused"},
      {{"compare", "--family", "sof", "--physical", "448K", "--policy", "reserve:0:1/2"}, "K = 0 is refused"},
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "1M", "--policy", "reserve:1025:1/2"}, "1 <= K <= 1024"},
      // A budget without an auto layout is refused before any work, by every command alike (plan
      // once searched, printed its layout and only then exited 2).
      {{"plan", "--trace", t, "--physical", "1G", "--evals", "5"}, "no auto layout for a budget of 1073741824 bytes"},
      {{"plan", "--trace", t, "--physical", "2G", "--evals", "5", "--out", "-"}, "no auto layout"},
      {{"curve", "--trace", t, "--budgets", "64K,1G"}, "no auto layout for a budget of 1073741824 bytes"},
      {{"compare", "--trace", t, "--physical", "1G"}, "no auto layout"},
      {{"map", "--trace", t, "--physical", "1G"}, "no auto layout"},
      // --json keeps standard output for itself.
      {{"plan", "--trace", t, "--physical", "448K", "--json", "--out", "-"}, "give a file"},
      {{"map", "--trace", t, "--physical", "448K", "--json", "--out", "-"}, "give --out FILE"},
      {{"curve", "--trace", t, "--budgets", "64K", "--json", "--out", "-"}, "give --out FILE"},
      // compare takes trace files like the other commands.
      {{"compare", "--trace", t + ".missing", "--physical", "448K"}, "cannot open"},
      {{"compare", "--physical", "448K"}, "give --trace FILE (repeatable) or --family F --seeds LIST"},
      {{"compare", "--trace", bad_grow.path, "--physical", "448K"}, bad_grow.path + ":2: granule must be at least 1"},
  };
  for (const bad& b : cases) check_refused(b.words, b.says);
}

TEST_CASE("the grow requests are reported apart from the main figures") {
  // The main table of the grow family and of the SOF family, the same pipelines, share their
  // header; only the grow family adds the grow-back table.
  const std::vector<std::string> grow = {"compare", "--family", "grow", "--physical", "448K", "--seeds", "1", "--steps", "300"};
  std::vector<std::string> sof = grow;
  sof[2] = "sof";
  const tool_end g = run_tool(grow), s = run_tool(sof);
  REQUIRE(g.end.exit_code == 0);
  REQUIRE(s.end.exit_code == 0);
  const std::string header = "| allocator | requests | failed | success | granted/preferred |";
  CHECK(g.out.rfind(header, 0) == 0);
  CHECK(s.out.rfind(header, 0) == 0);
  CHECK(g.out.find("| allocator | grow requests |") != std::string::npos);
  CHECK(s.out.find("grow requests") == std::string::npos);
  std::vector<std::string> json = grow;
  json.push_back("--json");
  const tool_end j = run_tool(json);
  CHECK(j.out.find("\"grow\":{\"requests\":") != std::string::npos);

  // gen writes the generator's trace for a seed, the same each time, with its g lines.
  const tool_end one = run_tool({"gen", "--family", "grow", "--seed", "2", "--steps", "200"});
  REQUIRE(one.end.exit_code == 0);
  CHECK(one.out == run_tool({"gen", "--family", "grow", "--seed", "2", "--steps", "200"}).out);
  CHECK(one.out != run_tool({"gen", "--family", "grow", "--seed", "3", "--steps", "200"}).out);
  CHECK(one.out.substr(one.out.find('\n') + 1) == vmh::trace::to_text(vmh::workloads::grow_family(2, 200)));
  CHECK(one.out.find("\ng ") != std::string::npos);

  const temp_file trace("grow-trace", "a 1 1000\na 2 2000\na 3 100\nf 2\ng 1 5000 1000\n");
  const tool_end r = run_tool({"replay", "--trace", trace.path, "--allocator", "sys_heap", "--physical", "16K"});
  REQUIRE(r.end.exit_code == 0);
  // 1000 bytes grow into the 2000 freed beside them, in steps of 1000 (tests/sim/test_grow.cpp).
  CHECK(r.out.find("\"grow\":{\"requests\":1,\"skipped\":0,\"asking\":1,\"grown\":1,\"reached\":0,"
                   "\"asked_bytes\":4000,\"gained_bytes\":2000,") != std::string::npos);
}

TEST_CASE("every command has a usage text") {
  const tool_end all = run_tool({"--help"});
  CHECK(all.end.exit_code == 0);
  for (const char* cmd : {"gen", "replay", "compare", "layout", "plan", "map", "curve", "auto-study"}) {
    INFO(cmd);
    CHECK(all.out.find(std::string("vmh-sim ") + cmd + " ") != std::string::npos);
    const tool_end one = run_tool({cmd, "--help"});
    CHECK(one.end.exit_code == 0);
    CHECK(one.out.rfind(std::string("vmh-sim ") + cmd + " ", 0) == 0);
    CHECK(one.err().empty());
  }
}

TEST_CASE("sizes take K, M and G; lists and seeds have one grammar") {
  using vmh::sim::parse_number;
  CHECK(parse_number("448K", "x") == 448 * KiB);
  CHECK(parse_number("1M", "x") == 1024 * KiB);
  CHECK(parse_number("1G", "x") == std::size_t{1} << 30);
  CHECK(parse_number("18446744073709551615", "x") == SIZE_MAX);
  CHECK_THROWS_AS(parse_number("18446744073709551616", "x"), vmh::sim::cli_error);
  CHECK_THROWS_AS(parse_number("17179869184G", "x"), vmh::sim::cli_error);
  CHECK_THROWS_AS(parse_number("K", "x"), vmh::sim::cli_error);
  CHECK(vmh::sim::parse_seeds("5", "--seeds") == std::vector<std::size_t>{5});  // seed 5 alone
  CHECK(vmh::sim::parse_seeds("1-3,7", "--seeds") == std::vector<std::size_t>{1, 2, 3, 7});
  CHECK(vmh::sim::parse_seeds("2-3", "--seeds") == std::vector<std::size_t>{2, 3});
  CHECK_THROWS_AS(vmh::sim::parse_seeds("0-2", "--seeds"), vmh::sim::cli_error);
  CHECK_THROWS_AS(vmh::sim::parse_list("1,,2", "--seeds"), vmh::sim::cli_error);
  CHECK(vmh::sim::parse_page("64K", "--page") == 64 * KiB);
  CHECK_THROWS_AS(vmh::sim::parse_page("32", "--page"), vmh::sim::cli_error);
}

TEST_CASE("the replay charges the metadata to the budget and reports it") {
  const temp_file trace("trace", vmh::trace::to_text(vmh::workloads::sof_family(1, 300)));
  const std::vector<std::string> base = {"replay", "--trace", trace.path, "--allocator", "vmh", "--physical", "448K"};
  const tool_end charged = run_tool(base);
  REQUIRE(charged.end.exit_code == 0);
  std::vector<std::string> words = base;
  words.push_back("--uncharged");
  const tool_end uncharged = run_tool(words);
  REQUIRE(uncharged.end.exit_code == 0);
  const std::vector<vmh::bucket> layout = vmh::sim::auto_layout(448 * KiB, 4096);
  vmh::sim::vmh_allocator v(layout, 448 * KiB, 4096);
  const std::size_t meta = v.heap().metadata_bytes();
  REQUIRE(meta != 0);
  CHECK(charged.out.find("\"metadata_bytes\":" + std::to_string(meta) + ",\"metadata_charged\":true") != std::string::npos);
  CHECK(uncharged.out.find("\"metadata_bytes\":" + std::to_string(meta) + ",\"metadata_charged\":false") != std::string::npos);
  CHECK(v.page_budget() == (448 * KiB - meta) / 4096 * 4096);
  vmh::sim::vmh_allocator whole(layout, 448 * KiB, 4096, {{}, vmh::sim::metadata_charge::uncharged, false});
  CHECK(whole.page_budget() == 448 * KiB);
  // A budget that the metadata alone fills leaves no page.
  CHECK(vmh::sim::charged_budget(4096, 4096, 4096) == 0);
  CHECK(vmh::sim::charged_budget(8192, 1, 4096) == 4096);
  // sys_heap keeps its headers inside its buffer: nothing outside.
  CHECK(vmh::sim::make_sys_heap(448 * KiB)->metadata_bytes() == 0);
  // SOF's VMH: its mem_blocks bookkeeping, charged unless asked not to.
  const std::size_t sof_meta = vmh::baseline::sof_vmh_model::metadata_bytes(vmh::baseline::sof_production_table);
  REQUIRE(sof_meta != 0);
  const auto sof = vmh::sim::make_sof_vmh(448 * KiB, 4096);
  CHECK(sof->metadata_bytes() == sof_meta);
  CHECK(sof->metadata_charged());
  CHECK_FALSE(vmh::sim::make_sof_vmh(448 * KiB, 4096, vmh::sim::metadata_charge::uncharged)->metadata_charged());
  // 448 KiB less its bookkeeping leaves 111 pages: a buffer of all 112 fits only uncharged.
  REQUIRE((448 * KiB - sof_meta) / 4096 == 111);
  const std::vector<vmh::trace::op> pages = {{vmh::trace::op_kind::allocate, 1, 448 * KiB, 0, 0}};
  CHECK(vmh::sim::replay(pages, *vmh::sim::make_sof_vmh(448 * KiB, 4096)).failed == 1);
  CHECK(vmh::sim::replay(pages, *vmh::sim::make_sof_vmh(448 * KiB, 4096, vmh::sim::metadata_charge::uncharged)).failed == 0);

  const tool_end table = run_tool({"compare", "--family", "sof", "--physical", "448K", "--seeds", "1", "--steps", "200"});
  REQUIRE(table.end.exit_code == 0);
  CHECK(table.out.find("| metadata |") != std::string::npos);
  const tool_end json = run_tool({"compare", "--family", "sof", "--physical", "448K", "--seeds", "1", "--steps", "200", "--json"});
  REQUIRE(json.end.exit_code == 0);
  std::size_t lines = 0;
  for (const char c : json.out) lines += c == '\n';
  // One line per allocator: the five models and vmh, and the real code this build has.
  CHECK(lines == 5 + vmh::sim::real_allocator_names().size());
  CHECK(json.out.find("{\"allocator\":\"vmh\",\"family\":\"sof\"") != std::string::npos);
  for (const char* baseline : {"sys_heap", "sof_vmh", "sof_today", "sof_vpage"})
    CHECK(json.out.find(std::string("{\"allocator\":\"") + baseline + "\",") != std::string::npos);
}

namespace {

/// The baselines with SOF's plain loop, as reference for the bounded one (judged by their
/// grants only: no committed memory).
class plain_loop : public vmh::sim::allocator {
 public:
  vmh::sim::outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) final {
    const auto g = vmh::baseline::sof_range_loop([this](std::size_t s, std::size_t a) { return allocate(s, a).ptr; }, min,
                                                 preferred, align);
    return {g.ptr, g.size};
  }
  std::size_t grow(void*, std::size_t size, std::size_t, std::size_t) final { return size; }
  std::size_t committed_bytes() const final { return 0; }
  std::size_t peak_committed_bytes() const final { return 0; }
};

template <class Model>
class plain_sys_heap final : public plain_loop {
 public:
  explicit plain_sys_heap(std::size_t physical) : mem_(physical, 4096), heap_(mem_.data(), physical) {}
  vmh::sim::outcome allocate(std::size_t size, std::size_t align) override {
    void* p = align != 0 ? heap_.aligned_alloc(align, size) : heap_.alloc(size);
    return {p, p ? size : 0};
  }
  void* resize(void* ptr, std::size_t, std::size_t n) override { return heap_.realloc(ptr, n); }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  bool validate() const override { return heap_.validate(); }

 private:
  vmh::sim::virtual_reservation mem_;
  Model heap_;
};

class plain_sof_vmh final : public plain_loop {
 public:
  plain_sof_vmh(std::size_t physical, std::size_t page)
      : heap_(vmh::baseline::sof_production_table, page, physical / page) {}
  vmh::sim::outcome allocate(std::size_t size, std::size_t align) override {
    void* p = heap_.alloc(size, align);
    return {p, p ? size : 0};
  }
  void* resize(void* ptr, std::size_t, std::size_t n) override {
    void* moved = heap_.alloc(n);
    if (moved != nullptr) heap_.free(ptr);
    return moved;
  }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  bool validate() const override { return heap_.validate(); }

 private:
  vmh::baseline::sof_vmh_model heap_;
};

bool same_report(const vmh::sim::report& a, const vmh::sim::report& b) {
  return a.requests == b.requests && a.failed == b.failed && a.range_failed == b.range_failed &&
         a.range_granted_bytes == b.range_granted_bytes && a.range_preferred_bytes == b.range_preferred_bytes &&
         a.first_failure_op == b.first_failure_op && a.peak_live_bytes == b.peak_live_bytes &&
         a.resizes_failed == b.resizes_failed && a.valid_after && b.valid_after;
}

}  // namespace

TEST_CASE("SOF's loop starts at the largest size that could fit and grants what the plain loop grants") {
  // Range requests whose preferred size lies far above the heap: the plain loop still finishes.
  std::vector<vmh::trace::op> ops = vmh::workloads::range_churn_family(3, 3000);
  std::uint64_t id = 1u << 30;
  for (std::size_t k = 0; k < 40; ++k) {
    ops.push_back({vmh::trace::op_kind::range, id + k, 1000 + 37 * k, 3 * 1024 * KiB + 1000 * k, k % 3 == 0 ? 64u : 0u});
  }
  for (const std::size_t physical : {64 * KiB, 128 * KiB}) {
    INFO(physical);
    plain_sys_heap<vmh::baseline::sys_heap_small> plain(physical);
    const auto bounded = vmh::sim::make_sys_heap(physical);
    CHECK(same_report(vmh::sim::replay(ops, plain), vmh::sim::replay(ops, *bounded)));
  }
  for (const std::size_t physical : {64 * KiB, 448 * KiB}) {
    INFO("sof_vmh " << physical);
    plain_sof_vmh plain(physical, 4096);
    const auto bounded = vmh::sim::make_sof_vmh(physical, 4096, vmh::sim::metadata_charge::uncharged);
    CHECK(same_report(vmh::sim::replay(ops, plain), vmh::sim::replay(ops, *bounded)));
  }
  // And one that the plain loop would walk for 2^64 steps: granted at once.
  const std::vector<vmh::trace::op> huge = {{vmh::trace::op_kind::range, 1, 1, UINT64_MAX, 0},
                                            {vmh::trace::op_kind::range, 2, 1, UINT64_MAX, 0}};
  for (const char* which : {"sys_heap", "sof_vmh"}) {
    INFO(which);
    const vmh::sim::report r = vmh::sim::replay(huge, *vmh::sim::make_allocator(which, {}, 64 * KiB, 4096));
    CHECK(r.range_requests == 2);
    CHECK(r.range_failed == 1);  // the first takes the largest piece; the second finds no byte left
    CHECK(r.range_preferred_bytes == UINT64_MAX);  // saturated, not wrapped
  }
}

TEST_CASE("the memory report: waste at the first failure and at the peak, powered banks") {
  using vmh::trace::op;
  using vmh::trace::op_kind;
  // 33 pages taken first-free fill bank 0 and start bank 1; freeing the first 32 leaves only
  // bank 1 powered (the floor is one bank throughout that); the next page takes page 0 again.
  const std::vector<vmh::bucket> layout = {{4096, 64}};
  std::vector<op> ops;
  for (std::uint64_t k = 1; k <= 33; ++k) ops.push_back({op_kind::allocate, k, 4096, 0, 0});
  for (std::uint64_t k = 1; k <= 32; ++k) ops.push_back({op_kind::free, k, 0, 0, 0});
  ops.push_back({op_kind::allocate, 100, 4096, 0, 0});
  vmh::sim::vmh_allocator v(layout, 256 * KiB, 4096);
  REQUIRE(v.valid());
  const vmh::sim::memory_replay m = vmh::sim::replay_memory(ops, v, 256 * KiB);
  CHECK(m.figures.failed == 0);
  CHECK(m.memory.exact);
  CHECK(m.memory.banks == 2);
  CHECK(m.memory.banks_peak == 2);
  CHECK(m.memory.floor_peak == 2);
  CHECK(m.memory.banks_mean == Approx(99.0 / 66.0));
  CHECK(m.memory.floor_mean == Approx(67.0 / 66.0));
  CHECK(m.memory.at_failure.op == -1);
  CHECK(m.memory.at_peak.op == 32);
  CHECK(m.memory.at_peak.committed == 33 * 4096);
  CHECK(m.memory.at_peak.waste() == 0);
  CHECK(m.memory.metadata_bytes == v.heap().metadata_bytes());

  // sys_heap powers every bank its region spans; a request larger than the heap fails at once.
  const std::vector<op> big = {{op_kind::allocate, 1, 100, 0, 0}, {op_kind::allocate, 2, 300 * KiB, 0, 0}};
  const vmh::sim::memory_replay s = vmh::sim::replay_memory(big, *vmh::sim::make_sys_heap(256 * KiB), 256 * KiB);
  CHECK(s.memory.banks_mean == 2.0);
  CHECK(s.memory.at_failure.op == 1);
  CHECK(s.memory.at_failure.waste() == 256 * KiB - 100);

  // On a family trace every virtual-memory heap's pages are modelled exactly.
  const std::vector<op> sof = vmh::workloads::sof_family(2, 500);
  for (const char* which : {"vmh", "sof_vmh"}) {
    INFO(which);
    const auto a = vmh::sim::make_allocator(which, vmh::sim::auto_layout(448 * KiB, 4096), 448 * KiB, 4096);
    const vmh::sim::memory_replay r = vmh::sim::replay_memory(sof, *a, 448 * KiB);
    CHECK(r.memory.exact);
    CHECK(r.memory.at_peak.committed == r.figures.peak_physical_bytes);
    CHECK(r.memory.floor_mean <= r.memory.banks_mean);
    CHECK(r.memory.banks_peak <= r.memory.banks);
  }
}

TEST_CASE("the heap map marks the failed request and its size") {
  const temp_file trace("trace", "a 1 20K\na 2 20K\n");
  const temp_file svg("svg", "");
  const tool_end t = run_tool({"map", "--trace", trace.path, "--physical", "32K", "--at", "fail", "--out", svg.path});
  REQUIRE(t.end.exit_code == 0);
  std::ifstream in(svg.path, std::ios::binary);
  const std::string picture{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // The request in words, not as a trace line.
  CHECK(picture.find("failed: operation 1, a fixed request of 20 KiB;") != std::string::npos);
  CHECK(picture.find("a 2 20480") == std::string::npos);
  CHECK(picture.find("stroke=\"#d62728\"") != std::string::npos);
}

TEST_CASE("a failed write is an error of every output: one line, exit code 2") {
  // /dev/full takes the open and refuses every byte at the flush: buffered output that nobody
  // checked once made plan --out, plan --cxx, layout, replay, compare and curve exit 0.
  const temp_file trace("trace", "a 1 64\nr 2 1K 8K\nf 1\n");
  const temp_file kept("kept", "");
  const std::string t = trace.path, full = "/dev/full";
  struct output {
    std::vector<std::string> words;
    std::string stdout_path;  ///< standard output: a file (empty: the test's own) or /dev/full
    std::string names;        ///< the output the error names
  };
  const std::vector<output> cases = {
      {{"--help"}, full, "standard output"},
      {{"layout", "--help"}, full, "standard output"},
      {{"gen", "--family", "seed"}, full, "standard output"},
      {{"gen", "--family", "sof", "--steps", "3000"}, full, "standard output"},  // larger than the buffer
      {{"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K"}, full, "standard output"},
      {{"compare", "--trace", t, "--physical", "448K"}, full, "standard output"},
      {{"compare", "--trace", t, "--physical", "448K", "--json", "--memory"}, full, "standard output"},
      {{"layout", "--physical", "448K"}, full, "standard output"},
      {{"layout", "--physical", "448K", "--json"}, full, "standard output"},
      {{"plan", "--trace", t, "--physical", "448K", "--evals", "5"}, full, "standard output"},
      {{"plan", "--trace", t, "--physical", "448K", "--evals", "5", "--out", full}, "", full},
      {{"plan", "--trace", t, "--physical", "448K", "--evals", "5", "--out", kept.path, "--cxx", full}, "", full},
      {{"plan", "--trace", t, "--physical", "448K", "--evals", "5", "--out", kept.path, "--cxx", "-"}, full, "standard output"},
      {{"plan", "--trace", t, "--physical", "448K", "--evals", "5", "--json"}, full, "standard output"},
      {{"map", "--trace", t, "--physical", "448K"}, full, "standard output"},
      {{"map", "--trace", t, "--physical", "448K", "--out", full}, "", full},
      {{"map", "--trace", t, "--physical", "448K", "--json"}, full, "standard output"},
      {{"curve", "--trace", t, "--budgets", "64K"}, full, "standard output"},
      {{"curve", "--trace", t, "--budgets", "64K", "--out", full}, "", full},
      {{"curve", "--trace", t, "--budgets", "64K", "--out", kept.path}, full, "standard output"},  // the table
      {{"curve", "--trace", t, "--budgets", "64K", "--json"}, full, "standard output"},
  };
  for (const output& c : cases) {
    INFO("vmh-sim" << joined(c.words) << " > " << (c.stdout_path.empty() ? "file" : c.stdout_path));
    const tool_end e = run_tool(c.words, c.stdout_path);
    REQUIRE_FALSE(e.end.signaled);
    CHECK(e.end.exit_code == 2);
    CAPTURE(e.err());
    CHECK(e.err().rfind("vmh-sim: " + c.names + ": cannot write", 0) == 0);
    CHECK(e.err().find('\n') == e.err().size() - 1);
  }
}

TEST_CASE("a layout file's broken rule is named by its file, line and bucket") {
  const temp_file trace("trace", "a 1 64\n");
  const temp_file descending("descending", "64 16\n# a comment\n\n48 4   # smaller than the bucket before\n");
  const temp_file zero("zero", "64 0\n");
  const temp_file huge("huge", "64 4\n128 2000000\n");  // more blocks than the simulator's heap holds
  const temp_file odd("odd", "64 4\n100 4\n");           // 100 is no multiple of 8, the least alignment
  const std::string t = trace.path;
  check_refused({"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K", "--layout", descending.path},
                descending.path + ":4: bucket 1 (48 4): block sizes must be strictly ascending");
  check_refused({"map", "--trace", t, "--physical", "448K", "--layout", zero.path},
                zero.path + ":1: bucket 0 (64 0): a block count is zero");
  check_refused({"compare", "--trace", t, "--physical", "448K", "--layout", huge.path},
                huge.path + ":2: bucket 1 (128 2000000): the layout exceeds the capacity");
  check_refused({"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K", "--layout", odd.path},
                odd.path + ":2: bucket 1 (100 4): a block size is not a multiple of min_align");
  // Before the search, not after it; and for curve's layouts too.
  check_refused({"plan", "--trace", t, "--physical", "448K", "--compare", "mine=" + descending.path},
                descending.path + ":4: bucket 1");
  check_refused({"curve", "--trace", t, "--budgets", "64K", "--layout", zero.path}, zero.path + ":1: bucket 0");
  // SOF's table is checked for the page size as well.
  check_refused({"replay", "--trace", t, "--allocator", "vmh", "--physical", "448K", "--layout", "sof", "--page", "1G"},
                "--layout sof: bucket");
}

namespace {

/// The number after `"key":` in `json`, searched from `from` on (SIZE_MAX when absent).
std::size_t json_number(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return SIZE_MAX;
  return std::strtoull(json.c_str() + at + key.size() + 3, nullptr, 10);
}

}  // namespace

// The planner plans for the heap that replays its layout: with the same options, what `plan`
// reports for its layout (failures, metadata, virtual size) is what `compare` and `map` give
// for the layout file it wrote; by default all of them run vmh with its packed region (auto).
TEST_CASE("a plan's figures are those of a replay of its layout with the same options") {
  const temp_file a("plan-a", vmh::trace::to_text(vmh::workloads::sof_family(1, 400)));
  const temp_file b("plan-b", vmh::trace::to_text(vmh::workloads::sof_family(2, 400)));
  const temp_file planned("planned.layout", "");
  const temp_file picture("planned.svg", "");
  for (const std::vector<std::string>& packed :
       {std::vector<std::string>{}, {"--packed", "auto"}, {"--packed", "none"}, {"--packed", "64K:2K:32"}}) {
    INFO("options:" << joined(packed));
    auto with = [&](std::vector<std::string> words) {
      words.insert(words.end(), packed.begin(), packed.end());
      return words;
    };
    const tool_end plan = run_tool(with({"plan", "--trace", a.path, "--trace", b.path, "--physical", "256K", "--evals",
                                         "20", "--json", "--out", planned.path}));
    CAPTURE(plan.err());
    REQUIRE(plan.end.exit_code == 0);
    const std::size_t score = plan.out.find("\"score\":", plan.out.find("\"planned\":"));
    REQUIRE(score != std::string::npos);
    const std::size_t requests = json_number(plan.out, "requests", score), satisfied = json_number(plan.out, "satisfied", score);
    const std::size_t metadata = json_number(plan.out, "metadata_bytes", score), virt = json_number(plan.out, "virtual_bytes", score);
    REQUIRE(satisfied <= requests);

    const tool_end replayed = run_tool(with({"compare", "--trace", a.path, "--trace", b.path, "--physical", "256K",
                                             "--layout", planned.path, "--json"}));
    REQUIRE(replayed.end.exit_code == 0);
    const std::size_t vmh_row = replayed.out.find("{\"allocator\":\"vmh\",");
    REQUIRE(vmh_row != std::string::npos);
    CHECK(json_number(replayed.out, "requests", vmh_row) == requests);
    CHECK(json_number(replayed.out, "failed", vmh_row) == requests - satisfied);
    CHECK(json_number(replayed.out, "metadata_bytes", vmh_row) == metadata);  // the same for every trace: the mean is it

    const tool_end map = run_tool(with({"map", "--trace", a.path, "--physical", "256K", "--layout", planned.path,
                                        "--json", "--out", picture.path}));
    REQUIRE(map.end.exit_code == 0);
    CHECK(json_number(map.out, "metadata_bytes") == metadata);
    CHECK(json_number(map.out, "virtual_bytes") == virt);
  }
}

TEST_CASE("compare --models gives the models' lines alone, the same as without it") {
  const std::vector<std::string> words = {"compare", "--family", "sof", "--seeds", "1", "--steps", "300", "--physical", "256K", "--json"};
  std::vector<std::string> models = words;
  models.push_back("--models");
  const tool_end all = run_tool(words), only = run_tool(models);
  REQUIRE(all.end.exit_code == 0);
  REQUIRE(only.end.exit_code == 0);
  std::vector<std::string> lines;
  for (std::size_t at = 0, end; (end = only.out.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = only.out.substr(at, end - at);
    const std::size_t from = line.find("\"allocator\":\"") + 13;
    lines.push_back(line.substr(from, line.find('"', from) - from));
    CHECK(all.out.find(line) != std::string::npos);  // the same figures as among all the rows
  }
  CHECK(lines == std::vector<std::string>{"sys_heap", "sof_vmh", "sof_today", "sof_vpage", "vmh"});
  CHECK(only.err().find("real") == std::string::npos);  // no note about the real code
}

TEST_CASE("compare takes trace files: the means over them are those over the same traces as seeds") {
  const temp_file one("one", vmh::trace::to_text(vmh::workloads::sof_family(1, 300)));
  const temp_file two("two", vmh::trace::to_text(vmh::workloads::sof_family(2, 300)));
  const tool_end files = run_tool({"compare", "--trace", one.path, "--trace", two.path, "--physical", "256K", "--json"});
  const tool_end seeds = run_tool({"compare", "--family", "sof", "--seeds", "1-2", "--steps", "300", "--physical", "256K", "--json"});
  REQUIRE(files.end.exit_code == 0);
  REQUIRE(seeds.end.exit_code == 0);
  CHECK(json_lines(files.out));
  // The same figures, line by line, but for how the traces were named.
  // Every allocator's line: the models', and the real code's when the build has it.
  std::string expected = seeds.out;
  const std::string from = "\",\"family\":\"sof\",\"seeds\":2,", to = "\",\"family\":null,\"seeds\":null,";
  std::size_t lines = 0;
  for (std::size_t at = expected.find(from); at != std::string::npos; at = expected.find(from, at + to.size()), ++lines)
    expected.replace(at, from.size(), to);
  for (const char* allocator : {"sys_heap", "sof_vmh", "sof_today", "sof_vpage", "vmh"})
    CHECK(expected.find(std::string("{\"allocator\":\"") + allocator + to) != std::string::npos);
  CHECK(lines >= 5);
  CHECK(files.out == expected);
  const tool_end table = run_tool({"compare", "--trace", one.path, "--physical", "256K", "--memory"});
  REQUIRE(table.end.exit_code == 0);
  CHECK(table.out.find("| banks powered (mean) | banks powered (peak) | bank floor (mean) | bank floor (peak) |") !=
        std::string::npos);
}

TEST_CASE("every report offers --json: one JSON object per line") {
  const temp_file trace("trace", vmh::trace::to_text(vmh::workloads::sof_family(1, 200)));
  const temp_file svg("svg", "");
  const std::string t = trace.path;
  const std::vector<std::vector<std::string>> reports = {
      {"replay", "--trace", t, "--allocator", "sof_vmh", "--physical", "256K", "--json"},
      {"compare", "--trace", t, "--physical", "256K", "--memory", "--json"},
      {"layout", "--physical", "448K", "--json"},
      {"plan", "--trace", t, "--physical", "256K", "--evals", "5", "--json"},
      {"map", "--trace", t, "--physical", "256K", "--at", "peak", "--json"},
      {"map", "--trace", t, "--physical", "64K", "--at", "fail", "--json", "--out", svg.path},
      {"curve", "--trace", t, "--budgets", "128K,256K", "--json"},
  };
  for (const auto& words : reports) {
    INFO("vmh-sim" << joined(words));
    const tool_end r = run_tool(words);
    CHECK(r.end.exit_code == 0);
    CHECK(json_lines(r.out));
  }
  {
    // auto-study runs longer than a child may under the sanitizers: here, standard output to a file.
    const temp_file study("study", "");
    std::fflush(stdout);
    const int saved = ::dup(1), to = ::open(study.path.c_str(), O_WRONLY | O_TRUNC);
    REQUIRE((saved >= 0 && to >= 0));
    ::dup2(to, 1);
    const char* argv[] = {"vmh-sim", "auto-study", "--seeds", "1", "--plan-evals", "0", "--top", "2", "--json"};
    const int code = vmh::sim::run(static_cast<int>(std::size(argv)), argv);
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    ::close(to);
    CHECK(code == 0);
    std::ifstream in(study.path);
    const std::string out{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(json_lines(out));
    CHECK(out.find("\"rank\":1,") != std::string::npos);
  }
  // The layout as JSON is the layout file's buckets, with what they cost.
  const tool_end layout = run_tool({"layout", "--physical", "448K", "--json"});
  const std::vector<vmh::bucket> automatic = vmh::sim::auto_layout(448 * KiB, 4096);
  std::string buckets;
  for (const vmh::bucket& b : automatic)
    buckets += (buckets.empty() ? "" : ",") + std::string("{\"block_size\":") + std::to_string(b.block_size) +
               ",\"count\":" + std::to_string(b.block_count) + "}";
  CHECK(layout.out.find("\"buckets\":[" + buckets + "]") != std::string::npos);
  const vmh::sim::vmh_allocator v(automatic, 448 * KiB, 4096);
  CHECK(layout.out.find("\"metadata_bytes\":" + std::to_string(v.heap().metadata_bytes())) != std::string::npos);
  // plan --json writes no layout file to standard output, and one to --out FILE.
  const temp_file out("planned", "");
  const tool_end plan = run_tool({"plan", "--trace", t, "--physical", "256K", "--evals", "5", "--json", "--out", out.path});
  REQUIRE(plan.end.exit_code == 0);
  CHECK(plan.out.rfind("{\"physical_bytes\":262144,", 0) == 0);
  std::ifstream in(out.path);
  const std::string file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  CHECK(file.rfind("# vmh-sim plan:", 0) == 0);
  // map names its failed request by its fields.
  const tool_end fail = run_tool({"map", "--trace", t, "--physical", "64K", "--at", "fail", "--json"});
  CHECK(fail.out.find("\"failed_request\":{\"kind\":") != std::string::npos);
}

TEST_CASE("gen starts with a comment naming the format version, the generator and its options") {
  const tool_end g = run_tool({"gen", "--family", "grow", "--seed", "2", "--steps", "200"});
  REQUIRE(g.end.exit_code == 0);
  const std::string first = g.out.substr(0, g.out.find('\n') + 1);
  CHECK(first == "# vmh trace v1: vmh-sim gen --family grow --seed 2 --steps 200 --grow 50\n");
  CHECK(g.out.substr(first.size()) == vmh::trace::to_text(vmh::workloads::grow_family(2, 200)));
  const tool_end s = run_tool({"gen", "--family", "stress", "--steps", "10", "--target", "95"});
  CHECK(s.out.rfind("# vmh trace v1: vmh-sim gen --family stress --seed 1 --steps 10 --target 95 --physical 65536 "
                    "--max-size 16384\n", 0) == 0);
  // The comment says how to make the trace again: its words give the same trace.
  const tool_end again = run_tool({"gen", "--family", "stress", "--seed", "1", "--steps", "10", "--target", "95",
                                   "--physical", "65536", "--max-size", "16384"});
  CHECK(again.out == s.out);
}
