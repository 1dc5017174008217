// vmh-instr: runs one case of cases.hpp for a fixed number of steps, so that callgrind can count
// the instructions of exactly those steps (scripts/instructions.sh runs them all).
//
//   vmh-instr --list                                   "<case> <allocator>", one per line
//   vmh-instr --client-requests                        "yes" when built with callgrind's client
//                                                      requests, else "no" (then nothing is counted)
//   vmh-instr --real-heap                              "yes" when Zephyr's real heap has rows
//                                                      (VMH_ZEPHYR_BASE), else "no"
//   vmh-instr <case> <allocator> [steps] [warm-up]     default 20000 steps after 2000 warm-up
//   vmh-instr --all [steps] [warm-up]                  every case in turn (a check that each runs
//                                                      and stays consistent; ctest runs it short)
//
// Only the measured steps are counted: the loop over them is bracketed by callgrind client
// requests (start instrumentation, toggle collection), so
//   valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no vmh-instr <case> <allocator>
// collects those steps and nothing else: not the setup, not the warm-up, not the teardown.
// Every case also runs on `no_allocator` (allocator "none"): its count is the case's own work,
// which the script subtracts. On success the driver prints one line:
//   <case> <allocator> steps=<n> fail=<share of measured steps> [<counter>=<value> ...]
// where the counters average over the warm-up and the measured steps together.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef VMH_HAVE_CALLGRIND
#define VMH_HAVE_CALLGRIND 0  // set by the build when valgrind/callgrind.h is found
#endif
#if VMH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#define VMH_COUNT_BEGIN()              \
  do {                                 \
    CALLGRIND_START_INSTRUMENTATION;   \
    CALLGRIND_TOGGLE_COLLECT;          \
  } while (0)
#define VMH_COUNT_END()               \
  do {                                \
    CALLGRIND_TOGGLE_COLLECT;         \
    CALLGRIND_STOP_INSTRUMENTATION;   \
  } while (0)
#else
#define VMH_COUNT_BEGIN() ((void)0)
#define VMH_COUNT_END() ((void)0)
#endif

#include "micro/cases.hpp"
#include "micro/real_heap.hpp"

namespace {

using namespace vmh::bench;

/// Keeps a result alive without a library: the compiler must assume the pointer is used.
struct keep_pointer {
  void operator()(void* p) const { asm volatile("" : : "r"(p) : "memory"); }
};

template <class Case>
inline std::size_t run_steps(Case& c, std::size_t n) {
  std::size_t failed = 0;
  for (std::size_t i = 0; i < n; ++i) failed += c.step(keep_pointer{});
  return failed;
}

/// The counted steps: callgrind collects between the two client requests only.
template <class Case>
[[gnu::noinline]] std::size_t measure_steps(Case& c, std::size_t n) {
  VMH_COUNT_BEGIN();
  const std::size_t failed = run_steps(c, n);
  VMH_COUNT_END();
  return failed;
}

template <class Case, auto... Args>
int run(const char* test, std::size_t steps, std::size_t warm) {
  Case c(Args...);
  if (!c.ready()) {
    std::fprintf(stderr, "vmh-instr: %s: %s\n", test, c.error());
    return 1;
  }
  run_steps(c, warm);
  const std::size_t failed = measure_steps(c, steps);
  if (!c.consistent()) {
    std::fprintf(stderr, "vmh-instr: %s: the allocator's consistency check failed after the run\n", test);
    return 1;
  }
  std::string line = std::string(test) + " steps=" + std::to_string(steps);
  char buf[96];
  std::snprintf(buf, sizeof buf, " fail=%.4f", steps == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(steps));
  line += buf;
  c.counters(
      [&](const char* key, double v) {
        std::snprintf(buf, sizeof buf, " %s=%.4g", key, v);
        line += buf;
      },
      warm + steps);
  std::printf("%s\n", line.c_str());
  return 0;
}

struct entry {
  const char* test;
  const char* allocator;
  int (*run)(const char*, std::size_t, std::size_t);
};

/// The rows of one case: the case on each allocator `As`, then on no_allocator. The allocator's
/// name comes from the case's adapter, so a row cannot be filed under another.
template <class... As>
struct rows {
  template <template <class> class Case, auto... Args>
  static void add(std::vector<entry>& out, const char* test) {
    (out.push_back({test, As::name, &run<Case<As>, Args...>}), ...);
    out.push_back({test, no_allocator::name, &run<Case<no_allocator>, Args...>});
  }
};

// One template parameter each, as rows::add takes them (a template with a defaulted second
// parameter does not match a one-parameter template template parameter everywhere).
template <class A>
using random_small = alloc_free_random<A, small_max>;
template <class A>
using random_wide = alloc_free_random<A, wide_max>;
template <class A>
using steady_small = steady<A, small_max>;
template <class A>
using steady_wide = steady<A, wide_max>;
template <class A>
using random_packed = alloc_free_random<A, packed_max>;
template <class A>
using steady_packed = steady<A, packed_max>;

constexpr std::size_t bytes_64 = 64, bytes_4096 = 4096, default_align = 0;

// The real Zephyr heap's rows beside its model's, when the build has it (micro/real_heap.hpp).
#if VMH_HAVE_ZEPHYR_HEAP
#define VMH_REAL_HEAP_ROWS , zephyr_sys_heap_adapter, zephyr_sys_heap_stats_adapter
#define VMH_REAL_HEAP_ROW , zephyr_sys_heap_adapter
#else
#define VMH_REAL_HEAP_ROWS
#define VMH_REAL_HEAP_ROW
#endif
// And SOF's real VMH beside its model, when the build has it.
#if VMH_HAVE_SOF_VMH
#define VMH_REAL_VMH_ROW , sof_vmh_real_adapter
#else
#define VMH_REAL_VMH_ROW
#endif

std::vector<entry> all_entries() {
  using every = rows<vmh_adapter, vmh_nostats_adapter, vmh_null_adapter, sys_heap_adapter, sys_heap_stats_adapter,
                     sof_vmh_adapter VMH_REAL_HEAP_ROWS VMH_REAL_VMH_ROW>;
  using general = rows<vmh_adapter, vmh_nostats_adapter, vmh_null_adapter, sys_heap_adapter,
                       sys_heap_stats_adapter VMH_REAL_HEAP_ROWS>;
  std::vector<entry> e;
  every::add<alloc_free_fixed, bytes_64, default_align>(e, "alloc_free/64");
  every::add<alloc_free_fixed, bytes_4096, default_align>(e, "alloc_free/4096");
  every::add<random_small>(e, "alloc_free_random/16-4K");
  every::add<random_wide>(e, "alloc_free_random/16-64K");
  every::add<random_packed>(e, "alloc_free_random/16-16K");
  general::add<steady_small, 50u>(e, "steady/16-4K/fill:50");
  general::add<steady_small, 90u>(e, "steady/16-4K/fill:90");
  general::add<steady_packed, 50u>(e, "steady/16-16K/fill:50");
  general::add<steady_packed, 90u>(e, "steady/16-16K/fill:90");
  general::add<steady_wide, 10u>(e, "steady/16-64K/fill:10");
  general::add<steady_wide, 95u>(e, "steady/16-64K/fill:95");
  rows<vmh_adapter, sys_heap_adapter, sof_vmh_adapter VMH_REAL_HEAP_ROW VMH_REAL_VMH_ROW>::add<range_pressure, 90u>(
      e, "range/fill:90");
  rows<vmh_adapter, sys_heap_adapter VMH_REAL_HEAP_ROW>::add<resize_cycle, 0u>(e, "resize/empty");
  rows<vmh_adapter, sys_heap_adapter VMH_REAL_HEAP_ROW>::add<resize_cycle, 50u>(e, "resize/fill:50");
  return e;
}

std::size_t count_arg(const char* s, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "vmh-instr: %s must be a number, not '%s'\n", what, s);
    std::exit(2);
  }
  return static_cast<std::size_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<entry> entries = all_entries();
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const entry& e : entries) std::printf("%s %s\n", e.test, e.allocator);
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--real-heap") == 0) {
    std::printf("%s\n", VMH_HAVE_ZEPHYR_HEAP ? "yes" : "no");
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--client-requests") == 0) {
    std::printf("%s\n", VMH_HAVE_CALLGRIND ? "yes" : "no");
    return 0;
  }
  if (argc >= 2 && argc <= 4 && std::strcmp(argv[1], "--all") == 0) {
    const std::size_t steps = argc > 2 ? count_arg(argv[2], "steps") : 20000;
    const std::size_t warm = argc > 3 ? count_arg(argv[3], "warm-up") : 2000;
    int rc = 0;
    for (const entry& e : entries) {
      const std::string label = std::string(e.test) + " " + e.allocator;
      if (const int r = e.run(label.c_str(), steps, warm); r != 0 && rc == 0) rc = r;
    }
    return rc;
  }
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: vmh-instr --list | --client-requests | --all [steps] [warm-up] | <case> <allocator> [steps] [warm-up]\n");
    return 2;
  }
  const std::size_t steps = argc > 3 ? count_arg(argv[3], "steps") : 20000;
  const std::size_t warm = argc > 4 ? count_arg(argv[4], "warm-up") : 2000;
  for (const entry& e : entries) {
    if (std::strcmp(e.test, argv[1]) != 0 || std::strcmp(e.allocator, argv[2]) != 0) continue;
    const std::string label = std::string(e.test) + " " + e.allocator;
    return e.run(label.c_str(), steps, warm);
  }
  std::fprintf(stderr, "vmh-instr: no case '%s' for allocator '%s' (see --list)\n", argv[1], argv[2]);
  return 2;
}
