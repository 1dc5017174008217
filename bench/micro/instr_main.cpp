// vmh-instr: runs one case of cases.hpp for a fixed number of steps, so that callgrind can count
// the instructions of exactly those steps (scripts/instructions.sh runs them all).
//
//   vmh-instr --list                                   "<case> <allocator>", one per line
//   vmh-instr <case> <allocator> [steps] [warm-up]     default 20000 steps after 2000 warm-up
//
// The counted steps run inside `measure_steps<Case>` and nothing else does, so
//   valgrind --tool=callgrind --toggle-collect='*measure_steps*' vmh-instr <case> <allocator>
// collects those steps only: not the setup, not the warm-up, not the teardown. The warm-up
// runs the same code through `warm_up_steps`. On success the driver prints one line:
//   <case> <allocator> steps=<n> fail=<share of measured steps> [<counter>=<value> ...]
// where the counters average over the warm-up and the measured steps together.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "micro/cases.hpp"

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

template <class Case>
[[gnu::noinline]] std::size_t warm_up_steps(Case& c, std::size_t n) {
  return run_steps(c, n);
}

template <class Case>
[[gnu::noinline]] std::size_t measure_steps(Case& c, std::size_t n) {
  return run_steps(c, n);
}

template <class Case, auto... Args>
int run(const char* test, std::size_t steps, std::size_t warm) {
  Case c(Args...);
  if (!c.ready()) {
    std::fprintf(stderr, "vmh-instr: %s: %s\n", test, c.error());
    return 1;
  }
  warm_up_steps(c, warm);
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

/// The allocator's name comes from the case's adapter, so a row cannot be filed under another.
template <class Case, auto... Args>
constexpr entry make(const char* test) {
  return {test, Case::adapter::name, &run<Case, Args...>};
}

constexpr std::size_t bytes_64 = 64, bytes_4096 = 4096, default_align = 0;

const entry entries[] = {
    make<alloc_free_fixed<vmh_adapter>, bytes_64, default_align>("alloc_free/64"),
    make<alloc_free_fixed<sys_heap_adapter>, bytes_64, default_align>("alloc_free/64"),
    make<alloc_free_fixed<sof_vmh_adapter>, bytes_64, default_align>("alloc_free/64"),
    make<alloc_free_fixed<vmh_adapter>, bytes_4096, default_align>("alloc_free/4096"),
    make<alloc_free_fixed<sys_heap_adapter>, bytes_4096, default_align>("alloc_free/4096"),
    make<alloc_free_fixed<sof_vmh_adapter>, bytes_4096, default_align>("alloc_free/4096"),
    make<alloc_free_random<vmh_adapter>>("alloc_free_random"),
    make<alloc_free_random<sys_heap_adapter>>("alloc_free_random"),
    make<alloc_free_random<sof_vmh_adapter>>("alloc_free_random"),
    make<steady<vmh_adapter>, 10u>("steady/fill:10"),
    make<steady<sys_heap_adapter>, 10u>("steady/fill:10"),
    make<steady<vmh_adapter>, 95u>("steady/fill:95"),
    make<steady<sys_heap_adapter>, 95u>("steady/fill:95"),
    make<range_pressure<vmh_adapter>, 90u>("range/fill:90"),
    make<range_pressure<sys_heap_adapter>, 90u>("range/fill:90"),
    make<range_pressure<sof_vmh_adapter>, 90u>("range/fill:90"),
    make<resize_cycle<vmh_adapter>, 0u>("resize/empty"),
    make<resize_cycle<sys_heap_adapter>, 0u>("resize/empty"),
    make<resize_cycle<vmh_adapter>, 50u>("resize/fill:50"),
    make<resize_cycle<sys_heap_adapter>, 50u>("resize/fill:50"),
};

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
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const entry& e : entries) std::printf("%s %s\n", e.test, e.allocator);
    return 0;
  }
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: vmh-instr --list | vmh-instr <case> <allocator> [steps] [warm-up]\n");
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
