// A trace recorded from a running heap (vmh::recorder, include/vmh/recorder.hpp) to a file
// (vmh::host::trace_file) replays on the host: it parses, a replay on the same heap gives the
// figures the heap gave while it was recorded, and `vmh-sim compare --trace` takes it. Recorded
// from several threads under a lock, the lines keep the heap's order.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <vmh/host/trace_file.hpp>
#include <vmh/recorder.hpp>

#include "catch.hpp"
#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/replay.hpp"
#include "sim/tool.hpp"
#include "sim/traces.hpp"
#include "support/same_outcome.hpp"
#include "workloads/generators.hpp"
#include "workloads/trace.hpp"

using namespace vmh_sim_test;

namespace {

constexpr std::size_t KiB = 1024;

/// A firmware's use of its heap: the operations of a trace, each call made through `rec` as the
/// firmware would make it (nothing is freed, resized or grown that it did not get).
template <class Recorder>
void run_as_firmware(const std::vector<vmh::trace::op>& ops, Recorder& rec) {
  std::unordered_map<std::uint64_t, void*> held;
  for (const vmh::trace::op& o : ops) {
    const auto it = held.find(o.id);
    switch (o.kind) {
      case vmh::trace::op_kind::allocate:
        if (void* p = rec.try_allocate(o.size, o.align).ptr) held[o.id] = p;
        break;
      case vmh::trace::op_kind::range:
        if (void* p = rec.allocate_range(o.size, o.preferred, o.align).ptr) held[o.id] = p;
        break;
      case vmh::trace::op_kind::resize:
        if (it != held.end()) (void)rec.resize(it->second, o.size);
        break;
      case vmh::trace::op_kind::grow:
        if (it != held.end()) (void)rec.grow(it->second, o.preferred, o.size);
        break;
      case vmh::trace::op_kind::free:
        if (it != held.end()) {
          (void)rec.deallocate(it->second);
          held.erase(it);
        }
        break;
    }
  }
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a trace recorded from a running heap replays to the figures the heap gave") {
  // The grow family: ranges, fixed requests, grow lines; at 256 KiB some requests fail.
  const std::vector<vmh::trace::op> original = vmh::workloads::grow_family(4, 1200);
  for (const std::size_t physical : {256 * KiB, 448 * KiB}) {
    INFO("physical " << physical);
    const std::vector<vmh::bucket> layout = vmh::sim::auto_layout(physical, 4096);
    const temp_file recorded("recorded-" + std::to_string(physical), "");
    vmh::sim::vmh_allocator device(layout, physical, 4096);  // the heap the firmware runs
    REQUIRE(device.valid());
    CHECK(device.heap().geometry().packed.bytes != 0);  // small requests go through the backing heap
    vmh::recorder_stats seen;
    {
      vmh::host::trace_file file(recorded.path.c_str());
      vmh::recorder rec{device.heap(), file};
      run_as_firmware(original, rec);
      seen = rec.record_stats();
      REQUIRE(file.close());
    }
    CHECK(seen.unrecorded == 0);
    CHECK(seen.inexact == 0);

    // It parses (ids consistent), and says where it comes from.
    const std::string text = file_text(recorded.path);
    CHECK(text.rfind("# vmh trace v1: recorded by vmh::recorder", 0) == 0);
    const std::vector<vmh::trace::op> ops = vmh::sim::load_trace(recorded.path);
    CHECK(ops.size() + 1 == seen.lines);

    // Replayed on the same heap it gives what the heap gave while the original ran on it.
    vmh::sim::vmh_allocator fresh(layout, physical, 4096), again(layout, physical, 4096);
    const vmh::sim::report direct = vmh::sim::replay(original, fresh);
    const vmh::sim::report replayed = vmh::sim::replay(ops, again);
    vmh_test::check_same_outcome(replayed, direct);
    CHECK(replayed.failed == seen.failed);
    CHECK(replayed.skipped == 0);  // the firmware never touched what it did not get
    if (physical == 256 * KiB) CHECK(direct.failed != 0);  // the failures are in the trace too

    // vmh-sim compare --trace takes it: vmh's row is the original's (the baselines' need not be:
    // the recorded trace is what the firmware did with what vmh gave it).
    const temp_file source("original-" + std::to_string(physical), vmh::trace::to_text(original));
    const std::string budget = std::to_string(physical);
    const tool_end from_recorded = run_tool({"compare", "--trace", recorded.path, "--physical", budget, "--json"});
    const tool_end from_original = run_tool({"compare", "--trace", source.path, "--physical", budget, "--json"});
    REQUIRE(from_recorded.end.exit_code == 0);
    REQUIRE(from_original.end.exit_code == 0);
    CHECK(json_lines(from_recorded.out));
    auto vmh_line = [](const std::string& out) { return out.substr(out.find("{\"allocator\":\"vmh\"")); };
    const std::string rec_line = vmh_line(from_recorded.out), orig_line = vmh_line(from_original.out);
    auto field = [](const std::string& line, const std::string& key) {
      const std::size_t at = line.find("\"" + key + "\":");
      return line.substr(at, line.find(',', at) - at);
    };
    for (const char* key : {"requests", "failed", "success_rate", "granted_ratio", "peak_physical_bytes"}) {
      INFO(key);
      CHECK(field(rec_line, key) == field(orig_line, key));
    }
    // Two recordings average like two seeds.
    const tool_end twice = run_tool({"compare", "--trace", recorded.path, "--trace", recorded.path, "--physical", budget});
    CHECK(twice.end.exit_code == 0);
  }
}

TEST_CASE("a recording from several threads under a lock keeps the heap's order") {
  // Four threads allocate and free through one recorder with a spin lock: a block freed on one
  // thread is taken again on another, so lines out of the heap's order would start a live id
  // twice, which the parser refuses.
  constexpr std::size_t physical = 256 * KiB;
  const std::vector<vmh::bucket> layout = vmh::sim::auto_layout(physical, 4096);
  vmh::sim::vmh_allocator device(layout, physical, 4096);
  REQUIRE(device.valid());
  const temp_file recorded("threads", "");
  vmh::host::trace_file file(recorded.path.c_str());
  vmh::recorder<vmh::sim::sim_heap, vmh::host::trace_file, vmh::spin_lock> rec{device.heap(), file};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t)
    threads.emplace_back([&rec, t] {
      std::uint64_t state = 0x9E3779B97F4A7C15ull * (t + 1);
      std::vector<void*> mine;
      for (int k = 0; k < 4000; ++k) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const std::size_t size = 16 + ((state >> 33) % 3000);
        if (mine.size() < 24 && ((state >> 20) & 1) != 0) {
          if (void* p = rec.allocate(size)) mine.push_back(p);
        } else if (!mine.empty()) {
          (void)rec.deallocate(mine.back());
          mine.pop_back();
        }
      }
      for (void* p : mine) (void)rec.deallocate(p);
    });
  for (std::thread& th : threads) th.join();
  REQUIRE(file.close());
  const std::vector<vmh::trace::op> ops = vmh::sim::load_trace(recorded.path);
  CHECK(ops.size() + 1 == rec.record_stats().lines);
  vmh::sim::vmh_allocator again(layout, physical, 4096);
  const vmh::sim::report r = vmh::sim::replay(ops, again);
  CHECK(r.failed == rec.record_stats().failed);
  CHECK(r.skipped == 0);
  CHECK(device.heap().stats().live_allocations == 0);
  CHECK(again.heap().stats().live_allocations == 0);
}

TEST_CASE("a trace file reports a failed write") {
  // /dev/full opens and refuses the bytes at the flush: close() says the trace is incomplete.
  vmh::host::trace_file full("/dev/full");
  full.write("a 2 64\n", 7);
  CHECK_FALSE(full.close());
  CHECK_FALSE(full.close());  // and keeps saying so
  vmh::host::trace_file missing("/nonexistent/dir/heap.trace");
  CHECK_FALSE(missing.ok());
  missing.write("a 2 64\n", 7);  // nothing happens
  CHECK_FALSE(missing.close());
}
