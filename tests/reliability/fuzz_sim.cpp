// Fuzzing of vmh-sim's inputs: the trace parser, the layout-file parser and the whole command
// line. The first line of an input names the target:
//  - `trace`: the rest is a trace. A parsed trace must print and parse back to the same operations.
//  - `layout`: the rest is a layout file. A parsed layout must print and parse back to itself,
//    and a layout the heap accepts spans exactly the sum of its buckets.
//  - `cli`: the following lines are the words of a vmh-sim command line, up to a line `---`;
//    what follows is a file that the word `@` stands for (as a trace or layout file). The tool
//    must return 0, 1 or 2 and never stop by a signal; the replay also checks that a refusal
//    (2) prints exactly one line.
// Every input must finish quickly (well under a second): command lines that would replay for
// long by design (auto-study, many seeds or steps, budgets above 64 KiB, more planner layouts)
// are skipped or given small defaults; outputs go to /dev/null and paths are replaced by the
// input's own file, so the fuzzer reads and writes nothing else.
//
// Built two ways from this file:
//  - vmh-fuzz-sim (clang, -fsanitize=fuzzer,address,undefined; VMH_LIBFUZZER defined):
//    libFuzzer's driver calls LLVMFuzzerTestOneInput.
//  - vmh-fuzz-sim-replay (any compiler):
//    `vmh-fuzz-sim-replay [--random COUNT SEED] [--colliding-ids N] [--time-bound SECONDS] PATH...`
//    runs every file (directories: every file in them), then COUNT mutations of them.
//    --colliding-ids adds a trace of N allocations whose ids collide in a multiplicative hash
//    (tests/support/colliding_ids.hpp; the corpus's trace-colliding-ids is its first 150 lines,
//    all that fits libFuzzer's 4096-byte inputs); --time-bound makes an input of the trace or
//    layout target that runs longer than SECONDS a finding, as libFuzzer's -timeout does.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sim/commands.hpp"
#include "sim/layouts.hpp"
#include "sim/options.hpp"
#include "workloads/trace.hpp"

namespace {

/// Stops the fuzzer with a message: a broken property, not a crash of the code under test.
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "vmh-fuzz-sim: %s\n", what);
  std::abort();
}

void fuzz_trace(std::string_view text) {
  const auto parsed = vmh::trace::parse(text);
  const auto* ops = std::get_if<std::vector<vmh::trace::op>>(&parsed);
  if (ops == nullptr) {
    if (std::get<vmh::trace::parse_error>(parsed).line == 0) fail("a trace error without a line");
    return;
  }
  const auto again = vmh::trace::parse(vmh::trace::to_text(*ops));
  const auto* back = std::get_if<std::vector<vmh::trace::op>>(&again);
  if (back == nullptr || *back != *ops) fail("a printed trace does not parse back to itself");
}

void fuzz_layout(std::string_view text) {
  std::vector<vmh::bucket> layout;
  try {
    layout = vmh::sim::parse_layout(text, "input");
  } catch (const vmh::sim::cli_error&) {
    return;
  }
  std::string printed;
  for (const vmh::bucket& b : layout) printed += std::to_string(b.block_size) + " " + std::to_string(b.block_count) + "\n";
  const std::vector<vmh::bucket> back = vmh::sim::parse_layout(printed, "printed");
  if (back.size() != layout.size()) fail("a printed layout does not parse back to itself");
  for (std::size_t i = 0; i < back.size(); ++i)
    if (back[i].block_size != layout[i].block_size || back[i].block_count != layout[i].block_count)
      fail("a printed layout does not parse back to itself");
  for (const std::size_t page : {std::size_t{4096}, std::size_t{256}, std::size_t{65536}}) {
    const vmh::sim::layout_check c = vmh::sim::check_layout(layout, page);
    if (c.error != vmh::layout_error::none) continue;
    std::size_t bytes = 0;  // cannot wrap: an accepted layout spans at most 4 GiB
    for (const vmh::bucket& b : layout) bytes += b.block_size * b.block_count;
    // The window is whole pages: the sum of the buckets rounded up to a page.
    if (c.pages != (bytes + page - 1) / page || c.virtual_bytes != c.pages * page)
      fail("an accepted layout's virtual size is not the sum of its buckets in whole pages");
  }
}

// ---------------------------------------------------------------------------------------------
// Command lines

constexpr std::size_t largest_budget = 64 * 1024;  // keeps SOF's loop (budget / min steps) short
constexpr std::size_t most_steps = 2000, most_seeds = 2, most_evals = 30, most_budgets = 4;

bool is_option(const std::string& w, std::string_view name) { return w.size() == name.size() + 2 && w.substr(2) == name; }

/// The value after option `name`, or null.
const std::string* value_of(const std::vector<std::string>& words, std::string_view name) {
  for (std::size_t i = 2; i + 1 < words.size(); ++i)
    if (is_option(words[i], name)) return &words[i + 1];
  return nullptr;
}

/// A number the tool would accept that is above `most` (an unparsable one is the tool's to refuse).
bool above(const std::string* text, std::size_t most) {
  if (text == nullptr) return false;
  try {
    return vmh::sim::parse_number(*text, "fuzz") > most;
  } catch (const vmh::sim::cli_error&) {
    return false;
  }
}

bool list_above(const std::string* text, std::size_t most_values, std::size_t largest) {
  if (text == nullptr) return false;
  try {
    const std::vector<std::size_t> v = vmh::sim::parse_list(*text, "fuzz");
    return v.size() > most_values || *std::max_element(v.begin(), v.end()) > largest;
  } catch (const vmh::sim::cli_error&) {
    return false;
  }
}

/// Makes a command line safe and short to run; false to skip it.
bool tame(std::vector<std::string>& words, const std::string& file) {
  if (words.size() < 2) return true;
  const std::string cmd = words[1];  // a copy: the inserts below move the words
  const bool help = std::find(words.begin(), words.end(), "--help") != words.end();
  if (help) return true;
  if (cmd == "auto-study") return false;  // minutes by design
  // Paths: inputs read the input's file, outputs go nowhere.
  for (std::size_t i = 2; i + 1 < words.size(); ++i) {
    std::string& v = words[i + 1];
    if (is_option(words[i], "out") || is_option(words[i], "cxx")) v = "/dev/null";
    const bool input = is_option(words[i], "trace") || is_option(words[i], "holdout-trace") ||
                       is_option(words[i], "layout") || is_option(words[i], "compare");
    if (input && v != "auto" && v != "sof") {
      const std::size_t eq = v.find('=');
      v = (eq == std::string::npos ? std::string() : v.substr(0, eq + 1)) + file;
    }
  }
  for (const char* budget : {"physical", "fill-budget", "from", "to", "step", "max-size"})
    if (above(value_of(words, budget), largest_budget)) return false;
  if (above(value_of(words, "steps"), most_steps) || above(value_of(words, "evals"), most_evals)) return false;
  if (list_above(value_of(words, "seeds"), most_seeds, 1000) || list_above(value_of(words, "holdout"), most_seeds, 1000) ||
      list_above(value_of(words, "budgets"), most_budgets, largest_budget))
    return false;
  const bool families = cmd == "gen" || cmd == "compare" || cmd == "map" || cmd == "plan" || cmd == "curve";
  if (families && value_of(words, "steps") == nullptr) words.insert(words.end(), {"--steps", "300"});
  if (cmd == "plan" && value_of(words, "evals") == nullptr) words.insert(words.end(), {"--evals", "10"});
  if (cmd == "curve" && value_of(words, "budgets") == nullptr) words.insert(words.end(), {"--budgets", "16K,48K"});
  if ((cmd == "gen" || cmd == "layout") && value_of(words, "physical") == nullptr)
    words.insert(words.end(), {"--physical", "64K"});
  return true;
}

/// The file `@` stands for (never destroyed: the exit handler that removes it runs last).
const std::string& input_file() {
  static const std::string* const path = [] {
    const char* dir = std::getenv("TMPDIR");
    return new std::string(std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/vmh-fuzz-sim-" +
                           std::to_string(getpid()));
  }();
  return *path;
}

void fuzz_cli(std::string_view text) {
  std::vector<std::string> words = {"vmh-sim"};
  std::string_view file_text;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line == "---") {
      file_text = text;
      break;
    }
    words.emplace_back(line.substr(0, line.find('\0')));  // as argv holds it: up to a NUL
  }
  const std::string file = input_file();
  for (std::string& w : words)
    if (w == "@") w = file;
  if (!tame(words, file)) return;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(file_text.data(), static_cast<std::streamsize>(file_text.size()));
  }
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
#if defined(VMH_LIBFUZZER)
  const int code = vmh::sim::run(static_cast<int>(argv.size()), argv.data());
#else
  // The replay also checks what a refusal prints: one line. Standard error goes to a file for
  // the call (a crash report lands there too: the input is still in the input file).
  const std::string err_path = file + ".stderr";
  std::fflush(stderr);
  const int saved = dup(2);
  std::FILE* err = std::fopen(err_path.c_str(), "w+");
  if (saved < 0 || err == nullptr) fail("cannot capture standard error");
  dup2(fileno(err), 2);
  const int code = vmh::sim::run(static_cast<int>(argv.size()), argv.data());
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string said;
  std::rewind(err);
  for (int c; (c = std::fgetc(err)) != EOF;) said += static_cast<char>(c);
  std::fclose(err);
  std::remove(err_path.c_str());
  if (code == 2 && (said.rfind("vmh-sim: ", 0) != 0 || said.find('\n') + 1 != said.size())) {
    std::fprintf(stderr, "vmh-fuzz-sim: printed %s", said.c_str());
    fail("a refused command line printed other than one line starting 'vmh-sim: '");
  }
#endif
  std::fflush(stdout);
  if (code < 0 || code > 2) fail("vmh-sim returned an exit code other than 0, 1 or 2");
}

std::size_t inputs = 0;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ++inputs;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = all.find('\n');
  const std::string_view target = all.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? std::string_view{} : all.substr(nl + 1);
  if (target == "trace") fuzz_trace(rest);
  else if (target == "layout") fuzz_layout(rest);
  else if (target == "cli") fuzz_cli(rest);
  return 0;
}

namespace {
void silence_stdout() {
  if (std::freopen("/dev/null", "w", stdout) == nullptr) fail("cannot send standard output to /dev/null");
}
void remove_input_file() { std::remove(input_file().c_str()); }
}  // namespace

#if defined(VMH_LIBFUZZER)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  silence_stdout();
  std::atexit(remove_input_file);
  return 0;
}

#else

#include <chrono>
#include <filesystem>
#include <iterator>
#include <random>

#include "support/colliding_ids.hpp"

namespace {

bool read(const std::filesystem::path& file, std::vector<std::uint8_t>& data) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

/// A mutation of an input: a few bytes replaced, inserted or removed, or a line duplicated,
/// keeping the first line (the target) most of the time.
std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> d, std::mt19937_64& rng) {
  static constexpr char alphabet[] = "0123456789KMG -\n#=,@ar ef--help--physical--page--seeds--steps";
  const std::size_t first = static_cast<std::size_t>(std::find(d.begin(), d.end(), '\n') - d.begin()) + 1;
  for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
    const std::size_t from = first < d.size() && rng() % 8 != 0 ? first : 0;
    const std::size_t at = from + (d.size() > from ? rng() % (d.size() - from) : 0);
    const char c = alphabet[rng() % (sizeof alphabet - 1)];
    switch (rng() % 4) {
      case 0: if (at < d.size()) d[at] = static_cast<std::uint8_t>(c); break;
      case 1: d.insert(d.begin() + static_cast<std::ptrdiff_t>(std::min(at, d.size())), static_cast<std::uint8_t>(c)); break;
      case 2: if (at < d.size()) d.erase(d.begin() + static_cast<std::ptrdiff_t>(at)); break;
      default: if (at < d.size()) d[at] = static_cast<std::uint8_t>(rng()); break;
    }
  }
  return d;
}

/// The files of a path: the path itself, or every regular file in a directory, by name.
std::vector<std::filesystem::path> files_of(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return {path};
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> words(argv + 1, argv + argc);
  std::uint64_t random_count = 0, random_seed = 0;
  double time_bound = 0;  // seconds; 0: none
  std::vector<std::vector<std::uint8_t>> seeds;
  for (auto w = words.begin(); w != words.end(); ++w) {
    if (*w == "--random" && words.end() - w > 2) {
      random_count = std::strtoull((++w)->c_str(), nullptr, 0);
      random_seed = std::strtoull((++w)->c_str(), nullptr, 0);
      continue;
    }
    if (*w == "--colliding-ids" && words.end() - w > 1) {
      const std::string text = "trace\n" + vmh_test::colliding_ids_trace(std::strtoull((++w)->c_str(), nullptr, 0));
      seeds.emplace_back(text.begin(), text.end());
      continue;
    }
    if (*w == "--time-bound" && words.end() - w > 1) {
      time_bound = std::strtod((++w)->c_str(), nullptr);
      continue;
    }
    for (const std::filesystem::path& file : files_of(*w)) {
      if (!read(file, seeds.emplace_back())) {
        std::fprintf(stderr, "vmh-fuzz-sim-replay: cannot read %s\n", file.string().c_str());
        return 2;
      }
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "usage: vmh-fuzz-sim-replay [--random COUNT SEED] FILE_OR_DIR...\n");
    return 2;
  }
  silence_stdout();
  std::atexit(remove_input_file);
  // A parser input (trace or layout) that runs longer than the bound is a finding.
  auto run_one = [time_bound](const std::vector<std::uint8_t>& d) {
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(d.data(), d.size());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string_view head(reinterpret_cast<const char*>(d.data()), std::min<std::size_t>(d.size(), 7));
    const bool parser = head.rfind("trace\n", 0) == 0 || head.rfind("layout\n", 0) == 0;
    if (parser && time_bound > 0 && seconds > time_bound) {
      std::fprintf(stderr, "vmh-fuzz-sim-replay: an input of %zu bytes took %.2f s (bound %.2f s)\n", d.size(), seconds,
                   time_bound);
      fail("a parser input ran longer than the time bound");
    }
  };
  for (const auto& s : seeds) run_one(s);
  std::mt19937_64 rng(random_seed);
  for (std::uint64_t n = 0; n < random_count; ++n) run_one(mutate(seeds[rng() % seeds.size()], rng));
  std::fprintf(stderr, "vmh-fuzz-sim-replay: %zu files, %llu mutations, %zu inputs\n", seeds.size(),
               static_cast<unsigned long long>(random_count), inputs);
  return 0;
}

#endif
