// Records what the heaps report to the misuse handler (vmh::set_misuse_handler) while it lives,
// so that a test that hands a heap bad pointers on purpose checks each report instead of being
// stopped by the default handler (an assert in debug builds).
#pragma once

#include <cstddef>
#include <vector>

#include <vmh/vmh.hpp>

namespace vmh_test {

class misuse_log {
 public:
  struct report {
    vmh::status what;
    const void* ptr;
  };
  misuse_log() noexcept : previous_(vmh::set_misuse_handler(record)) { reports().clear(); }
  ~misuse_log() { vmh::set_misuse_handler(previous_); }
  misuse_log(const misuse_log&) = delete;
  misuse_log& operator=(const misuse_log&) = delete;

  // Reports since the log was made (or last checked).
  static const std::vector<report>& all() { return reports(); }
  // How many reports came since the last check; forgets them.
  static std::size_t take() {
    const std::size_t n = reports().size();
    reports().clear();
    return n;
  }
  // Whether the call that returned `s` for `ptr` was reported as it must be: once, with `s` and
  // `ptr`, when `s` is a misused pointer, and not at all otherwise. Forgets what it checked.
  static bool reported(vmh::status s, const void* ptr) {
    const bool misuse = vmh::is_misused_pointer(s);
    std::vector<report>& r = reports();
    const bool ok = misuse ? r.size() == 1 && r[0].what == s && r[0].ptr == ptr : r.empty();
    r.clear();
    return ok;
  }

 private:
  static std::vector<report>& reports() {
    static std::vector<report> r;
    return r;
  }
  static void record(vmh::status what, const void* ptr) noexcept { reports().push_back({what, ptr}); }
  vmh::misuse_handler previous_;
};

}  // namespace vmh_test
