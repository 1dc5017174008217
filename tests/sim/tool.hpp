// Running vmh-sim in the tests: temporary files, the tool in a child process with its standard
// output and standard error captured, and a check of JSON lines.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "host/child_process.hpp"
#include "sim/commands.hpp"

namespace vmh_sim_test {

/// A file in the temporary directory, removed at the end of the test.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& name, const std::string& text)
      : path(std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/vmh-sim-test-" +
             std::to_string(::getpid()) + "-" + name) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
};

struct tool_end {
  host_test::child_end end;
  std::string out;  ///< standard output
  std::string err() const { return end.report; }
};

/// Runs vmh-sim with `words` in a child process: standard error comes back through the pipe,
/// standard output through a file (or goes to `stdout_path`, e.g. /dev/full).
inline tool_end run_tool(const std::vector<std::string>& words, const std::string& stdout_path = "") {
  const temp_file out("stdout", "");
  tool_end t;
  t.end = host_test::run_in_child_with_pipe([&](int fd) {
    ::dup2(fd, 2);
    const int o = ::open(stdout_path.empty() ? out.path.c_str() : stdout_path.c_str(), O_WRONLY | O_TRUNC);
    ::dup2(o, 1);
    std::vector<const char*> argv = {"vmh-sim"};
    for (const std::string& w : words) argv.push_back(w.c_str());
    const int code = vmh::sim::run(static_cast<int>(argv.size()), argv.data());
    std::fflush(nullptr);
    ::_exit(code);
  });
  std::ifstream in(out.path, std::ios::binary);
  t.out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return t;
}

/// A minimal JSON checker: whether `s` from `i` on is one well-formed value (RFC 8259 grammar,
/// no duplicate-key or number-range checks); moves `i` past it.
inline bool json_value(const std::string& s, std::size_t& i);
inline void json_space(const std::string& s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}
inline bool json_string_value(const std::string& s, std::size_t& i) {
  if (i >= s.size() || s[i] != '"') return false;
  for (++i; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return ++i, true;
    if (c < 0x20) return false;
    if (c == '\\' && ++i >= s.size()) return false;
  }
  return false;
}
inline bool json_value(const std::string& s, std::size_t& i) {
  json_space(s, i);
  if (i >= s.size()) return false;
  const char c = s[i];
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    json_space(s, ++i);
    if (i < s.size() && s[i] == close) return ++i, true;
    for (;;) {
      if (c == '{') {
        json_space(s, i);
        if (!json_string_value(s, i)) return false;
        json_space(s, i);
        if (i >= s.size() || s[i++] != ':') return false;
      }
      if (!json_value(s, i)) return false;
      json_space(s, i);
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      return i < s.size() && s[i++] == close;
    }
  }
  if (c == '"') return json_string_value(s, i);
  for (const char* word : {"true", "false", "null"})
    if (s.compare(i, std::strlen(word), word) == 0) return i += std::strlen(word), true;
  const std::size_t start = i;
  if (s[i] == '-') ++i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                          s[i] == '+' || s[i] == '-'))
    ++i;
  return i > start && std::isdigit(static_cast<unsigned char>(s[i - 1]));
}

/// Output that is one or more lines, each one JSON object.
inline bool json_lines(const std::string& out) {
  if (out.empty() || out.back() != '\n') return false;
  std::size_t begin = 0;
  while (begin < out.size()) {
    const std::size_t end = out.find('\n', begin);
    const std::string line = out.substr(begin, end - begin);
    std::size_t i = 0;
    if (line.empty() || line.front() != '{' || !json_value(line, i) || i != line.size()) return false;
    begin = end + 1;
  }
  return true;
}

}  // namespace vmh_sim_test
