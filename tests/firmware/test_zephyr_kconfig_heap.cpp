// The heap of CONFIG_VMH_HEAP (zephyr/src/heap.cpp) built on the host against the stand-ins of
// zephyr_standin/, three times (tests/firmware/CMakeLists.txt): over plain RAM, with CONFIG_MM_DRV,
// where its pages come from the recording stand-in of the sys_mm_drv driver within the physical
// budget, and with CONFIG_MM_DRV and CONFIG_VMH_HEAP_TRACE, where every C call goes through the
// trace recorder (the other tests then run through it too) and the trace it dumps replays in
// vmh-sim. The Zephyr build of the same file runs in the ztest suite on two boards
// (scripts/zephyr-check.sh); this one also reaches the CONFIG_MM_DRV branch, which no board
// there has.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <zephyr/drivers/mm/system_mm.h>

#include <vmh/zephyr/heap.h>

#include "catch.hpp"
#include "support/misuse_log.hpp"
#include "zephyr_standin.hpp"

#ifdef VMH_TRACE_REPLAY
#include "sim/allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/replay.hpp"
#include "sim/tool.hpp"
#include "sim/traces.hpp"
#endif

namespace {

vmh_bucket_stats largest() {
  vmh_bucket_stats b{};
  REQUIRE(vmh_heap_bucket_stats(vmh_heap_bucket_count() - 1, &b) == 1);
  return b;
}

// Takes every block of the largest bucket.
std::vector<void*> fill_largest() {
  std::vector<void*> held;
  const vmh_bucket_stats top = largest();
  while (void* p = vmh_heap_alloc(top.block_size)) held.push_back(p);
  return held;
}

void free_all(const std::vector<void*>& held) {
  for (void* p : held) CHECK(vmh_heap_free(p) == VMH_OK);
}

struct empty_after {
  ~empty_after() {
    vmh_stats s{};
    CHECK(vmh_heap_stats(&s) == 1);
    CHECK(s.live_allocations == 0);
    CHECK(vmh_heap_validate() == VMH_INVARIANT_OK);
  }
};

}  // namespace

TEST_CASE("kconfig heap: the C calls and their errors") {
  const empty_after check;
  const vmh_test::misuse_log misuse;  // the bad frees below are reported, not stopped
  const vmh_bucket_stats top = largest();
  char* a = static_cast<char*>(vmh_heap_alloc(100));
  REQUIRE(a != nullptr);
  std::memset(a, 0x5a, 100);
  CHECK(vmh_heap_owns(a) == 1);
  CHECK(vmh_heap_try_alloc(0, 0).status == VMH_INVALID_SIZE);
  CHECK(vmh_heap_try_alloc(16, 3).status == VMH_INVALID_ALIGNMENT);
  CHECK(vmh_heap_try_alloc(top.block_size + 1, 0).status == VMH_NO_BUCKET);
  vmh_grant g = vmh_heap_alloc_range(64, top.block_size, 0, 64);
  REQUIRE(g.status == VMH_OK);
  CHECK(vmh_heap_resize(g.ptr, 64) == VMH_OK);
  g = vmh_heap_grow(g.ptr, top.block_size, 0);
  CHECK(g.status == VMH_OK);
  CHECK(vmh_heap_free(a + 1) == VMH_INTERIOR_POINTER);
  CHECK(vmh_heap_free(a) == VMH_OK);
  CHECK(vmh_heap_free(a) == VMH_DOUBLE_FREE);
  CHECK(vmh_heap_free(g.ptr) == VMH_OK);
  CHECK(vmh_heap_metadata_bytes() > 0);
  CHECK(vmh_test::misuse_log::take() == 2);
}

TEST_CASE("kconfig heap: calloc zeroes and refuses an overflowing size") {
  const empty_after check;
  auto* dirty = static_cast<unsigned char*>(vmh_heap_alloc(256));
  REQUIRE(dirty != nullptr);
  std::memset(dirty, 0xff, 256);
  REQUIRE(vmh_heap_free(dirty) == VMH_OK);
  auto* p = static_cast<unsigned char*>(vmh_heap_calloc(16, 16));
  REQUIRE(p != nullptr);
  for (int i = 0; i < 256; ++i) CHECK(p[i] == 0);
  CHECK(vmh_heap_calloc(SIZE_MAX / 2, 4) == nullptr);
  CHECK(vmh_heap_calloc(0, 4) == nullptr);
  CHECK(vmh_heap_free(p) == VMH_OK);
}

TEST_CASE("kconfig heap: realloc resizes in place, moves with the bytes, or leaves the old one") {
  const empty_after check;
  const vmh_test::misuse_log misuse;
  int local = 0;
  auto* p = static_cast<char*>(vmh_heap_realloc(nullptr, 40));
  REQUIRE(p != nullptr);
  std::memcpy(p, "kconfig", 8);
  CHECK(vmh_heap_realloc(p, 48) == p);
  // A neighbour right after it, so that it cannot grow in place (the packed region places them
  // side by side); then half the largest block: a larger bucket, whose pages the budget has room for.
  void* neighbour = vmh_heap_alloc(16);
  REQUIRE(neighbour != nullptr);
  auto* q = static_cast<char*>(vmh_heap_realloc(p, largest().block_size / 2));
  REQUIRE(q != nullptr);
  CHECK(q != p);
  CHECK(std::strcmp(q, "kconfig") == 0);
  CHECK(vmh_heap_free(p) == VMH_DOUBLE_FREE);
  CHECK(vmh_heap_realloc(&local, 10) == nullptr);
  CHECK(vmh_heap_realloc(q, largest().block_size + 1) == nullptr);
  CHECK(std::strcmp(q, "kconfig") == 0);
  CHECK(vmh_heap_realloc(q, 0) == nullptr);
  CHECK(vmh_heap_free(q) == VMH_DOUBLE_FREE);
  CHECK(vmh_heap_free(neighbour) == VMH_OK);
  CHECK(vmh_test::misuse_log::take() == 3);  // two double frees and the foreign realloc
}

TEST_CASE("kconfig heap: a waiting allocation times out, and never waits for the impossible or in an ISR") {
  const empty_after check;
  const std::size_t size = largest().block_size;
  const std::vector<void*> held = fill_largest();
  REQUIRE(!held.empty());
  vmh_standin_kernel = {};
  CHECK(vmh_heap_alloc_wait(size, K_NO_WAIT) == nullptr);
  CHECK(vmh_standin_kernel.sem_takes == 0);
  CHECK(vmh_heap_alloc_wait(size, K_MSEC(30)) == nullptr);
  CHECK(vmh_standin_kernel.sem_takes >= 1);
  CHECK(vmh_standin_kernel.now_ms >= 30);
  vmh_standin_kernel = {};
  CHECK(vmh_heap_alloc_wait(size + 1, K_FOREVER) == nullptr);
  CHECK(vmh_heap_aligned_alloc_wait(3, 16, K_FOREVER) == nullptr);
  CHECK(vmh_heap_alloc_wait(0, K_FOREVER) == nullptr);
  vmh_standin_kernel.in_isr = true;
  CHECK(vmh_heap_alloc_wait(size, K_FOREVER) == nullptr);
  CHECK(vmh_standin_kernel.sem_takes == 0);
  vmh_standin_kernel = {};
  free_all(held);
  void* p = vmh_heap_alloc_wait(size, K_FOREVER);
  CHECK(p != nullptr);
  CHECK(vmh_standin_kernel.sem_takes == 0);
  CHECK(vmh_heap_free(p) == VMH_OK);
}

#ifdef CONFIG_MM_DRV
TEST_CASE("kconfig heap with CONFIG_MM_DRV: pages come from the driver, within the physical budget") {
  const empty_after check;
  standin::reset();
  // Large blocks until the budget refuses one: the driver then holds exactly the budget.
  std::vector<void*> held;
  vmh_grant g{};
  do {
    g = vmh_heap_try_alloc(16384, 0);
    if (g.ptr != nullptr) held.push_back(g.ptr);
  } while (g.ptr != nullptr);
  CHECK(g.status == VMH_NO_MEMORY);
  CHECK(held.size() * 16384 == CONFIG_VMH_HEAP_PHYSICAL_SIZE);
  CHECK(standin::state().pages.size() * standin::page == CONFIG_VMH_HEAP_PHYSICAL_SIZE);
  vmh_stats s{};
  CHECK(vmh_heap_stats(&s) == 1);
  CHECK(s.pages_mapped * CONFIG_VMH_HEAP_PAGE_SIZE == CONFIG_VMH_HEAP_PHYSICAL_SIZE);
  for (const standin::call& c : standin::state().of(standin::op::map)) {
    CHECK(c.flags == SYS_MM_MEM_PERM_RW);
    CHECK(c.lock_held);
  }
  free_all(held);
  CHECK(standin::state().pages.empty());
  CHECK(standin::state().errors.empty());
}
#else
TEST_CASE("kconfig heap over plain RAM: the layout fits the RAM it was given") {
  const empty_after check;
  std::size_t bytes = 0;
  for (std::size_t b = 0; b < vmh_heap_bucket_count(); ++b) {
    vmh_bucket_stats s{};
    REQUIRE(vmh_heap_bucket_stats(b, &s) == 1);
    bytes += s.block_size * s.block_count;
  }
  CHECK(bytes <= CONFIG_VMH_HEAP_PHYSICAL_SIZE);
  CHECK(bytes * 8 >= CONFIG_VMH_HEAP_PHYSICAL_SIZE * 7);  // and uses most of it
  CHECK(largest().block_size == CONFIG_VMH_HEAP_PHYSICAL_SIZE / 8);
  vmh_stats s{};
  void* p = vmh_heap_alloc(100);
  CHECK(vmh_heap_stats(&s) == 1);
  CHECK(s.pages_mapped == 0);
  CHECK(vmh_heap_free(p) == VMH_OK);
}
#endif

#ifdef CONFIG_VMH_HEAP_TRACE
namespace {

void append_line(void* ctx, const char* line, std::size_t n) {
  CHECK(n <= VMH_TRACE_LINE_MAX);
  CHECK(line[n - 1] == '\n');
  static_cast<std::string*>(ctx)->append(line, n);
}

// The lines of `text` that start with `kind` (a letter and a space).
std::vector<std::string> lines_of(const std::string& text, char kind) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    if (text[at] == kind && text[at + 1] == ' ') out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// The requests written with a failure's odd id.
std::size_t failed_requests(const std::string& text) {
  std::size_t n = 0;
  for (const char kind : {'a', 'r'})
    for (const std::string& line : lines_of(text, kind)) n += std::stoull(line.substr(2)) % 2;
  return n;
}

}  // namespace

TEST_CASE("kconfig heap with CONFIG_VMH_HEAP_TRACE: the C calls' trace, dumped, replays in vmh-sim") {
  const empty_after check;
  const vmh_test::misuse_log misuse;
  std::string earlier;
  (void)vmh_heap_trace_dump(append_line, &earlier);  // whatever ran before: the trace starts here
  CHECK(vmh_heap_trace_dump(nullptr, nullptr) == 0);

  // A firmware's calls: requests that fail (the budget, no bucket), ranges, resizes, grows, the
  // k_heap-like calls, and calls the format cannot express (not written).
  std::vector<void*> held;
  std::size_t failures = 0;
  for (vmh_grant g = vmh_heap_try_alloc(16384, 0);; g = vmh_heap_try_alloc(16384, 0)) {
    if (g.ptr == nullptr) {
      ++failures;
      break;
    }
    held.push_back(g.ptr);
  }
  CHECK(vmh_heap_alloc(largest().block_size + 1) == nullptr);
  ++failures;
  free_all(held);
  void* small = vmh_heap_aligned_alloc(64, 100);
  REQUIRE(small != nullptr);
  const vmh_grant range = vmh_heap_alloc_range(1024, 8192, 64, 1024);
  REQUIRE(range.status == VMH_OK);
  CHECK(vmh_heap_resize(range.ptr, 1024) == VMH_OK);
  CHECK(vmh_heap_grow(range.ptr, 4096, 1024).status == VMH_OK);
  void* zeroed = vmh_heap_calloc(8, 16);
  REQUIRE(zeroed != nullptr);
  void* waited = vmh_heap_alloc_wait(256, K_NO_WAIT);  // also a neighbour: the realloc moves
  REQUIRE(waited != nullptr);
  void* moved = vmh_heap_realloc(zeroed, largest().block_size / 2);
  REQUIRE(moved != nullptr);
  CHECK(moved != zeroed);
  CHECK(vmh_heap_try_alloc(0, 0).status == VMH_INVALID_SIZE);        // not written
  CHECK(vmh_heap_try_alloc(16, 3).status == VMH_INVALID_ALIGNMENT);  // not written
  for (void* p : {small, range.ptr, moved, waited}) CHECK(vmh_heap_free(p) == VMH_OK);
  CHECK(vmh_heap_free(small) == VMH_DOUBLE_FREE);  // not written: it changed nothing
  CHECK(vmh_test::misuse_log::take() == 1);

  std::string text;
  const std::size_t dumped = vmh_heap_trace_dump(append_line, &text);
  CHECK(vmh_heap_trace_dropped() == 0);
  CHECK(vmh_heap_trace_dump(append_line, &text) == 0);  // the ring is empty now
  // Each line is one call; the first of a run names the format (here, when nothing ran before).
  CHECK(dumped == static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
  if (earlier.empty()) CHECK(text.rfind("# vmh trace v1: recorded by vmh::recorder", 0) == 0);
  CHECK(failed_requests(text) == failures);
  CHECK(lines_of(text, 'r').size() == 1);
  CHECK(lines_of(text, 'g').size() == 1);
  CHECK(lines_of(text, 'e').size() == 2);  // the resize and the realloc's try in place
  CHECK(lines_of(text, 'f').size() == held.size() + 5);  // the realloc's free of the old block too
  CHECK(lines_of(text, 'a').size() == held.size() + failures + 4);

#ifdef VMH_TRACE_REPLAY
  // vmh-sim reads it, and a replay on the same heap (the auto layout of the physical memory, the
  // metadata not charged to the budget, as the driver's budget does not) fails where it failed.
  const vmh_sim_test::temp_file file("kconfig-heap-trace", text);
  const std::vector<vmh::trace::op> ops = vmh::sim::load_trace(file.path);
  CHECK(ops.size() == lines_of(text, 'a').size() + 1 + 1 + 2 + lines_of(text, 'f').size());
  vmh::sim::vmh_options opt;
  opt.charge = vmh::sim::metadata_charge::uncharged;
  vmh::sim::vmh_allocator again(vmh::sim::auto_layout(CONFIG_VMH_HEAP_PHYSICAL_SIZE, CONFIG_VMH_HEAP_PAGE_SIZE),
                                CONFIG_VMH_HEAP_PHYSICAL_SIZE, CONFIG_VMH_HEAP_PAGE_SIZE, opt);
  REQUIRE(again.valid());
  const vmh::sim::report r = vmh::sim::replay(ops, again);
  CHECK(r.failed == failures);
  CHECK(r.resizes_failed == 1);  // the realloc's try in place
  CHECK(r.skipped == 0);
  CHECK(r.valid_after);
  // And vmh-sim compare --trace takes it, as a trace saved from the device's console.
  const vmh_sim_test::tool_end compared = vmh_sim_test::run_tool(
      {"compare", "--trace", file.path, "--physical", std::to_string(CONFIG_VMH_HEAP_PHYSICAL_SIZE), "--json"});
  CHECK(compared.end.exit_code == 0);
  CHECK(compared.out.find("{\"allocator\":\"vmh\"") != std::string::npos);
#endif
}
#endif
