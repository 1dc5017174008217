// Differential fuzzing of the heap: the input bytes choose a layout, the page budget and whether
// runs are on, then drive a sequence of allocate / allocate_range / resize / deallocate calls,
// bad pointers and sizes, budget changes and refused reconfigurations. After every operation the
// heap must validate and agree with the shadow model (support/shadow.hpp) on the live blocks,
// their sizes and contents, the mapped pages and the statistics; at the end everything is freed
// and no page may stay mapped. A disagreement prints the operation and aborts.
//
// Built two ways from this file:
//  - vmh-fuzz (clang, -fsanitize=fuzzer,address,undefined; VMH_LIBFUZZER defined): libFuzzer's
//    driver calls LLVMFuzzerTestOneInput; the operation count is printed at exit.
//  - vmh-fuzz-replay (any compiler): `vmh-fuzz-replay [--random COUNT SEED] PATH...` runs every
//    file (directories: every file in them) through the same function, then COUNT generated
//    inputs. It is a test of the default build.
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

void require(const std::string& problem) {
  if (problem.empty()) return;
  std::fprintf(stderr, "vmh-fuzz: %s\n", problem.c_str());
  std::fflush(stderr);
  std::abort();
}

// A budget of `choice` (0-255): unlimited for the lowest values, otherwise 1 to all pages + 2.
std::size_t budget_for(std::uint64_t choice, const vmh_test::shadow_config& c) {
  if (choice < 24) return SIZE_MAX;
  std::size_t bytes = 0;
  for (const vmh::bucket& b : c.table) bytes += b.block_size * b.block_count;
  const std::size_t pages = vmh_test::ceil_div(bytes, c.page);
  return (1 + choice % (pages + 2)) * c.page;
}

template <vmh::heap_options Options>
void drive(byte_source& src, const vmh_test::shadow_config& c) {
  vmh_test::differential<byte_source, Options> d(src, c);
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

void report() {
  std::fprintf(stderr, "vmh-fuzz: %llu operations in %llu inputs\n", static_cast<unsigned long long>(operations),
               static_cast<unsigned long long>(inputs));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ++inputs;
  if (size < 2) return 0;
  vmh_test::shadow_config c = setup(data[0] & 0x7f);
  c.budget = budget_for(data[1], c);
  byte_source src{data + 2, size - 2};
  if (data[0] & 0x80) drive<vmh::heap_options{.runs = true}>(src, c);
  else drive<vmh::heap_options{.runs = false}>(src, c);
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
  std::uint64_t random_count = 0, random_seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--random" && i + 2 < argc) {
      random_count = std::strtoull(argv[i + 1], nullptr, 0);
      random_seed = std::strtoull(argv[i + 2], nullptr, 0);
      i += 2;
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
  // Generated inputs: every layout, with and without runs, a random budget and random bytes.
  std::mt19937_64 rng(random_seed);
  for (std::uint64_t n = 0; n < random_count; ++n) {
    std::vector<std::uint8_t> data(64 + rng() % 4096);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  if (files == 0 && random_count == 0) {
    std::fprintf(stderr, "usage: vmh-fuzz-replay [--random COUNT SEED] FILE_OR_DIR...\n");
    return 2;
  }
  std::fprintf(stderr, "vmh-fuzz-replay: %zu files, %llu generated inputs\n", files,
               static_cast<unsigned long long>(random_count));
  report();
  return 0;
}

#endif
