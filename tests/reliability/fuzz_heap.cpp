// Differential fuzzing of the heap: the input bytes choose a layout, the page budget, whether
// runs are on and whether map calls are refused now and then, then drive a sequence of
// allocate / allocate_range / resize / grow / deallocate calls, bad pointers and sizes, budget
// changes and refused reconfigurations. After every operation the heap must validate and agree
// with the shadow model (support/shadow.hpp) on the live allocations, their sizes and contents,
// the exact set of mapped pages and the statistics; at the end everything is freed and no page
// may stay mapped. A disagreement prints the operation and aborts.
//
// The first input byte: bit 7 runs, bits 0-3 the layout, bit 4 injected map refusals:
//   0-4    five small bucket layouts (4 KiB, 1 KiB and 256 B pages; sub-page, straddling and
//          multi-page blocks; buckets of a few blocks), no packed region
//   5-9    the same five after a packed region whose size, granule and limit the input chooses
//   10-13  a random runtime layout with a packed region (shadow.hpp's random_config), 14 without
//   15     a fixed preset: the auto layout for 64 KiB, or a table with 1 KiB pages (bit 5) and
//          always runs (bit 7 means nothing here: each preset is built once)
// The second byte chooses the budget.
//
// Built two ways from this file:
//  - vmh-fuzz (clang, -fsanitize=fuzzer,address,undefined; VMH_LIBFUZZER defined): libFuzzer's
//    driver calls LLVMFuzzerTestOneInput; the operation count is printed at exit.
//  - vmh-fuzz-replay (any compiler): `vmh-fuzz-replay [--random COUNT SEED] [--bytes N] PATH...`
//    runs every file (directories: every file in them) through the same function, then COUNT
//    generated inputs of 64 to N bytes (default 4160). It is a test of the default build, and
//    with a large COUNT the long differential run of `.ci/run`.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <vmh/vmh.hpp>

#include "support/shadow.hpp"

namespace {

// Choices taken from the input bytes: as many bytes as the range needs, zeros once exhausted.
struct byte_source {
  const std::uint8_t* data = nullptr;
  std::size_t left = 0;

  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    const unsigned bytes = n <= 0x100 ? 1 : n <= 0x10000 ? 2 : n <= 0x100000000ull ? 4 : 8;
    std::uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) {
      std::uint64_t b = 0;
      if (left != 0) {
        b = *data++;
        --left;
      }
      v = v << 8 | b;
    }
    return v % n;
  }
};

// Small layouts with sub-page blocks, blocks that straddle pages, multi-page blocks and buckets
// of a few blocks that fill up quickly; pages of 4 KiB, 1 KiB and 256 B.
const vmh_test::shadow_config& setup(std::size_t i) {
  static const vmh_test::shadow_config setups[] = {
      {{{64, 128}, {192, 64}, {1152, 16}, {6144, 9}, {16384, 4}, {40960, 2}, {65536, 2}}, 4096, 64},
      {{{16, 64}, {48, 32}, {80, 16}, {400, 16}, {1536, 8}, {3072, 2}}, 1024, 16},
      {{{8, 32}, {24, 16}, {40, 8}, {136, 8}, {264, 4}, {520, 4}, {1032, 3}}, 256, 8},
      {{{64, 4}, {4160, 3}, {12352, 2}}, 4096, 64},
      {{{128, 8}, {384, 8}, {2560, 8}, {8192, 2}}, 4096, 128},
  };
  return setups[i % (sizeof setups / sizeof setups[0])];
}

std::uint64_t operations = 0;
std::uint64_t inputs = 0;

// Aborts with the operation that disagreed and the input's number (the n-th of a run: rerunning
// the same command reproduces it).
void require(const std::string& problem) {
  if (problem.empty()) return;
  std::fprintf(stderr, "vmh-fuzz: input %llu: %s\n", static_cast<unsigned long long>(inputs), problem.c_str());
  std::fflush(stderr);
  std::abort();
}

// A budget of `choice` (0-255): unlimited for the lowest values, otherwise 1 to all pages + 2.
std::size_t budget_for(std::uint64_t choice, const vmh_test::shadow_config& c) {
  if (choice < 24) return SIZE_MAX;
  const std::size_t pages = vmh_test::ceil_div(vmh_test::model(c).virtual_size(), c.page);
  return (1 + choice % (pages + 2)) * c.page;
}

// A packed region before a setup's buckets: 1 to 8 pages, a granule of 8 to 64 B (at most a
// page), a limit from below a granule to the whole region.
vmh::packed_region region_for(byte_source& src, std::size_t page) {
  vmh::packed_region r;
  r.granule = std::min<std::size_t>(std::size_t{8} << src.below(4), page);
  r.bytes = (1 + src.below(8)) * page;
  const std::size_t limits[] = {r.granule, page / 2, page, 2 * page, 16384, 1 + src.below(r.bytes)};
  r.limit = limits[src.below(6)];
  return r;
}

// The fixed presets: the zero-tuning layout for 64 KiB (a packed region of 16 pages) and a table
// with 1 KiB pages, 32-byte granules and fixed requests up to 3 KiB in the region.
using auto_layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(64 * 1024)>()>;
using small_packed_layout = vmh::fixed_layout<vmh::with_packed(
    vmh::make_table({{64, 32}, {448, 16}, {1536, 8}, {8192, 2}}, 1024, 64), vmh::packed_region{6 * 1024, 3072, 32})>;

template <vmh::heap_options Options, class Layout>
void drive(byte_source& src, const vmh_test::shadow_config& c) {
  vmh_test::differential<byte_source, Options, Layout> d(src, c);
  require(d.configure());
  while (src.left != 0) {
    const std::uint64_t k = src.below(64);
    if (k == 0) require(d.change_budget(budget_for(src.below(256), c)));
    else if (k == 1) require(d.reconfigure_refused());
    else require(d.step());
    ++operations;
  }
  require(d.drain());
}

template <class Layout>
void drive_either(bool runs, byte_source& src, const vmh_test::shadow_config& c) {
  if (runs) drive<vmh::heap_options{.runs = true}, Layout>(src, c);
  else drive<vmh::heap_options{.runs = false}, Layout>(src, c);
}

void report() {
  std::fprintf(stderr, "vmh-fuzz: %llu operations in %llu inputs\n", static_cast<unsigned long long>(operations),
               static_cast<unsigned long long>(inputs));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ++inputs;
  if (size < 2) return 0;
  const unsigned choice = data[0] & 0x0f;
  const bool runs = (data[0] & 0x80) != 0, inject = (data[0] & 0x10) != 0;
  byte_source src{data + 2, size - 2};
  vmh_test::shadow_config c;
  if (choice < 10) {
    c = setup(choice % 5);
    if (choice >= 5) c.packed = region_for(src, c.page);
  } else if (choice < 15) {
    c = vmh_test::random_config(src, choice < 14);
  } else if ((data[0] & 0x20) == 0) {
    c = vmh_test::config_of<auto_layout>();
  } else {
    c = vmh_test::config_of<small_packed_layout>();
  }
  c.budget = budget_for(data[1], c);
  c.inject = inject;
  if (choice < 5) drive_either<vmh_test::shadow_layout>(runs, src, c);
  else if (choice < 15) drive_either<vmh_test::shadow_packed_layout>(runs, src, c);
  else if ((data[0] & 0x20) == 0) drive<vmh::heap_options{.runs = false}, auto_layout>(src, c);
  else drive<vmh::heap_options{.runs = true}, small_packed_layout>(src, c);
  return 0;
}

#if defined(VMH_LIBFUZZER)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(report);
  return 0;
}

#else

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

namespace {

bool run_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0;
  std::vector<std::filesystem::path> paths;
  std::uint64_t random_count = 0, random_seed = 0, random_bytes = 4160;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--random" && i + 2 < argc) {
      random_count = std::strtoull(argv[i + 1], nullptr, 0);
      random_seed = std::strtoull(argv[i + 2], nullptr, 0);
      i += 2;
      continue;
    }
    if (arg == "--bytes" && i + 1 < argc) {
      random_bytes = std::strtoull(argv[i + 1], nullptr, 0);
      if (random_bytes < 64) {
        std::fprintf(stderr, "vmh-fuzz-replay: --bytes must be at least 64\n");
        return 2;
      }
      ++i;
      continue;
    }
    if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> inside;
      for (const auto& e : std::filesystem::directory_iterator(arg))
        if (e.is_regular_file()) inside.push_back(e.path());
      std::sort(inside.begin(), inside.end());
      paths.insert(paths.end(), inside.begin(), inside.end());
    } else {
      paths.emplace_back(arg);
    }
  }
  for (const auto& p : paths) {
    if (!run_file(p)) {
      std::fprintf(stderr, "vmh-fuzz-replay: cannot read %s\n", p.string().c_str());
      return 2;
    }
    ++files;
  }
  // Generated inputs: every layout choice, with and without runs and refusals, a random budget
  // and random bytes.
  std::mt19937_64 rng(random_seed);
  for (std::uint64_t n = 0; n < random_count; ++n) {
    std::vector<std::uint8_t> data(64 + rng() % (random_bytes - 63));
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  if (files == 0 && random_count == 0) {
    std::fprintf(stderr, "usage: vmh-fuzz-replay [--random COUNT SEED] [--bytes N] FILE_OR_DIR...\n");
    return 2;
  }
  std::fprintf(stderr, "vmh-fuzz-replay: %zu files, %llu generated inputs\n", files,
               static_cast<unsigned long long>(random_count));
  report();
  return 0;
}

#endif
