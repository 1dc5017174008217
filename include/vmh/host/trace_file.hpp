// A trace sink on the host: vmh::recorder's lines written to a file, ready for `vmh-sim replay
// --trace FILE` and `vmh-sim compare --trace FILE`.
//
//     vmh::host::trace_file file("heap.trace");
//     vmh::recorder rec{heap, file};
//     ...
//     if (!file.close()) { /* the trace is incomplete: a write failed */ }
#pragma once

#include <cstddef>
#include <cstdio>

namespace vmh::host {

/// A trace sink that writes each line to a file (a `vmh::trace_sink`). A failed open or write
/// is remembered, never thrown: `ok()` and `close()` report it.
class trace_file {
 public:
  /// Opens (creates or truncates) `path` for writing.
  explicit trace_file(const char* path) noexcept : file_(std::fopen(path, "wb")), failed_(file_ == nullptr) {}
  trace_file(const trace_file&) = delete;
  trace_file& operator=(const trace_file&) = delete;
  /// Closes the file (see `close`).
  ~trace_file() { close(); }

  /// Writes one line; a short write marks the file failed (later lines are still attempted).
  void write(const char* line, std::size_t n) noexcept {
    if (file_ != nullptr && std::fwrite(line, 1, n, file_) != n) failed_ = true;
  }
  /// True while the file opened and every write so far succeeded (buffered bytes are checked by `close`).
  bool ok() const noexcept { return !failed_; }
  /// Flushes and closes the file. Returns true when every line reached it. Later calls do nothing and return the same.
  bool close() noexcept {
    if (file_ != nullptr) {
      if (std::fflush(file_) != 0 || std::ferror(file_) != 0) failed_ = true;
      if (std::fclose(file_) != 0) failed_ = true;
      file_ = nullptr;
    }
    return !failed_;
  }

 private:
  std::FILE* file_;
  bool failed_;
};

}  // namespace vmh::host
