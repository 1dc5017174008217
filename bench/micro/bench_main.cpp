// vmh-bench: time per operation of vmh (page-mapping and plain-RAM) against the sys_heap model
// (Zephyr's default configuration), the SOF VMH model,
// std::pmr::unsynchronized_pool_resource and malloc, on the cases of cases.hpp.
//
// Names pair up across allocators: BM_<case>/<allocator>[/<variant>]. Items processed count
// allocator operations (an allocation, a free, a range request, a resize), so items/s compare
// across allocators of one case. Counters: `fail` (share of steps in which an operation failed)
// and the case's own (fill reached, range attempts and grant, resize moves).
//
// With the console output (the default) a Markdown table of CPU time per step follows the run:
// each case's allocators side by side and the ratio vmh / sys_heap from this same run.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "micro/cases.hpp"
#include "micro/real_heap.hpp"

namespace {

using namespace vmh::bench;

constexpr const char* allocator_order[] = {"vmh", "vmh_null", "sys_heap", "zephyr_sys_heap", "sof_vmh", "pmr_pool",
                                           "malloc"};

/// Registers one benchmark running `Case` built from `args`.
template <class Case, class... Args>
void add(const std::string& name, Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    std::size_t failed = 0, iterations = 0;
    {
      Case c(args...);
      if (!c.ready()) {
        state.SkipWithError(c.error());
        return;
      }
      for (auto _ : state) failed += c.step([](void* p) { benchmark::DoNotOptimize(p); });
      iterations = static_cast<std::size_t>(state.iterations());
      if (!c.consistent()) {
        state.SkipWithError("the allocator's consistency check failed after the run");
        return;
      }
      c.counters([&state](const char* key, double v) { state.counters[key] = v; }, iterations);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(Case::ops_per_step));
    state.counters["fail"] = iterations == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(iterations);
  });
}

/// Registers every case for the allocators `As`, interleaved (each case's allocators run one
/// after the other, so a pair is measured close in time).
template <class... As>
void add_all() {
  auto name = [](const char* test, const char* alloc, const std::string& variant) {
    return std::string("BM_") + test + "/" + alloc + (variant.empty() ? "" : "/" + variant);
  };
  for (std::size_t size : {64, 256, 4096, 48 * 1024})
    (add<alloc_free_fixed<As>>(name("AllocFree", As::name, std::to_string(size)), size, std::size_t{0}), ...);
  for (std::size_t size : {64, 4096})
    (add<alloc_free_fixed<As>>(name("AllocFreeAlign64", As::name, std::to_string(size)), size, std::size_t{64}), ...);
  (add<alloc_free_random<As>>(name("AllocFreeRandom", As::name, "16-64K")), ...);
  (add<alloc_free_random<As, small_max>>(name("AllocFreeRandom", As::name, "16-4K")), ...);
  (add<alloc_free_random<As, packed_max>>(name("AllocFreeRandom", As::name, "16-16K")), ...);
  for (unsigned fill : {10u, 50u, 95u})
    (add<steady<As>>(name("Steady", As::name, "16-64K/fill:" + std::to_string(fill)), fill), ...);
  for (unsigned fill : {50u, 90u})
    (add<steady<As, small_max>>(name("Steady", As::name, "16-4K/fill:" + std::to_string(fill)), fill), ...);
  for (unsigned fill : {50u, 90u})
    (add<steady<As, packed_max>>(name("Steady", As::name, "16-16K/fill:" + std::to_string(fill)), fill), ...);
  auto range = [&]<class A>() {
    if constexpr (has_range<A>) add<range_pressure<A>>(name("RangePressure", A::name, "fill:90"), 90u);
  };
  (range.template operator()<As>(), ...);
  for (unsigned fill : {0u, 50u}) {
    auto resize = [&]<class A>() {
      if constexpr (has_resize<A>)
        add<resize_cycle<A>>(name("Resize", A::name, fill == 0 ? "empty" : "fill:" + std::to_string(fill)), fill);
    };
    (resize.template operator()<As>(), ...);
  }
}

/// This host and its compiler, which the figures are for.
std::string target() {
#if defined(__x86_64__)
  const char* arch = "x86-64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "this host";
#endif
#if defined(__clang__)
  return std::string(arch) + ", clang " + __clang_version__;
#elif defined(__GNUC__)
  return std::string(arch) + ", g++ " + __VERSION__;
#else
  return arch;
#endif
}

/// Console output plus, at the end, the per-case table of allocators side by side.
class paired_reporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      const std::string name = r.benchmark_name();
      // BM_<case>/<allocator>[/<variant>] -> case key "BM_<case>[/<variant>]"
      const std::size_t a = name.find('/');
      if (a == std::string::npos) continue;
      const std::size_t b = name.find('/', a + 1);
      const std::string alloc = name.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
      const std::string key = name.substr(0, a) + (b == std::string::npos ? "" : name.substr(b));
      if (!cases_.count(key)) order_.push_back(key);
      cell& c = cases_[key][alloc];
      c.sum += r.GetAdjustedCPUTime();
      ++c.n;
      unit_ = benchmark::GetTimeUnitString(r.time_unit);
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    if (order_.empty()) return;
    // The target the figures are for: this host, its compiler (zephyr_sys_heap is Zephyr's heap.c
    // built with the same compiler and flags; sys_heap is its model).
    std::string out = "\nCPU time per step (" + unit_ + ") on " + target() + ", one run; ratio = vmh / sys_heap (the model)\n\n| case |";
    for (const char* a : allocator_order) out += std::string(" ") + a + " |";
    out += " vmh / sys_heap |\n|---|";
    for (std::size_t i = 0; i < std::size(allocator_order); ++i) out += "---:|";
    out += "---:|\n";
    char buf[64];
    for (const std::string& key : order_) {
      const auto& row = cases_[key];
      out += "| " + key + " |";
      for (const char* a : allocator_order) {
        const auto it = row.find(a);
        if (it == row.end()) {
          out += " - |";
        } else {
          std::snprintf(buf, sizeof buf, " %.1f |", it->second.mean());
          out += buf;
        }
      }
      const auto v = row.find("vmh"), s = row.find("sys_heap");
      if (v != row.end() && s != row.end() && s->second.mean() > 0) {
        std::snprintf(buf, sizeof buf, " %.2f |\n", v->second.mean() / s->second.mean());
        out += buf;
      } else {
        out += " - |\n";
      }
    }
    GetOutputStream() << out << std::flush;
  }

 private:
  struct cell {
    double sum = 0;
    int n = 0;
    double mean() const { return n == 0 ? 0.0 : sum / n; }
  };
  std::map<std::string, std::map<std::string, cell>> cases_;
  std::vector<std::string> order_;
  std::string unit_ = "ns";
};

bool console_format(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--benchmark_format=") && arg != "--benchmark_format=console") return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
#if VMH_HAVE_ZEPHYR_HEAP
  add_all<vmh_adapter, vmh_null_adapter, sys_heap_adapter, zephyr_sys_heap_adapter, sof_vmh_adapter, pmr_pool_adapter,
          malloc_adapter>();
#else
  std::fprintf(stderr, "vmh-bench: the real Zephyr heap is not built (configure with -DVMH_ZEPHYR_BASE=..., "
                       "scripts/third-party.sh): the sys_heap model only\n");
  add_all<vmh_adapter, vmh_null_adapter, sys_heap_adapter, sof_vmh_adapter, pmr_pool_adapter, malloc_adapter>();
#endif

  const bool console = console_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (console) {
    paired_reporter reporter(isatty(fileno(stdout)) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                    : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
