// A page mapper for tests that knows exactly which pages are mapped: a counting_mapper (budget,
// available, mapped bytes, call counts) plus one flag per page of a watched window. It records
// every map call of the current operation (where, how many bytes, refused or not, and whether
// the refusal was injected), and every misuse a heap could make of it: a range outside the
// window or not page aligned, a page mapped twice, a page unmapped that was not mapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <vmh/mapper.hpp>

namespace vmh_test {

class page_set_mapper {
 public:
  /// One map call: byte offset in the window, bytes, and how it ended.
  struct call {
    std::size_t offset = 0, bytes = 0;
    bool refused = false;
    bool injected = false;  ///< refused because `refuse_next` asked for it (else the budget)
  };

  page_set_mapper() = default;
  explicit page_set_mapper(std::size_t budget) : inner_(budget) {}

  /// The window whose pages are tracked: `bytes` from `base`, pages of `page` bytes.
  void watch(const std::byte* base, std::size_t bytes, std::size_t page) {
    base_ = reinterpret_cast<std::uintptr_t>(base);
    page_ = page;
    mapped_.assign(bytes / page + (bytes % page != 0), 0);
  }

  bool map(std::byte* p, std::size_t bytes) {
    const std::size_t off = offset_of(p);
    call c{off, bytes};
    bool clean = range_ok(off, bytes, "map");
    if (clean)
      for (std::size_t k = off / page_; k < (off + bytes) / page_; ++k)
        if (mapped_[k]) {
          note("page " + std::to_string(k) + " mapped twice");
          clean = false;
          break;
        }
    if (inject_) {
      inject_ = false;
      c.refused = c.injected = true;
      ++injected_;
    } else {
      c.refused = !inner_.map(p, bytes);
    }
    log_.push_back(c);
    if (!c.refused && clean)
      for (std::size_t k = off / page_; k < (off + bytes) / page_; ++k) mapped_[k] = 1;
    return !c.refused;
  }

  void unmap(std::byte* p, std::size_t bytes) {
    const std::size_t off = offset_of(p);
    ++unmaps_;
    if (!range_ok(off, bytes, "unmap")) return;
    for (std::size_t k = off / page_; k < (off + bytes) / page_; ++k) {
      if (!mapped_[k]) note("page " + std::to_string(k) + " unmapped but not mapped");
      mapped_[k] = 0;
    }
    inner_.unmap(p, bytes);
  }

  std::size_t available() const { return inner_.available(); }
  std::size_t mapped() const { return inner_.mapped(); }
  std::size_t budget() const { return inner_.budget(); }
  void set_budget(std::size_t bytes) { inner_.set_budget(bytes); }
  std::size_t map_calls() const { return inner_.map_calls() + injected_; }
  std::size_t unmap_calls() const { return unmaps_; }

  /// Whether page k of the window is mapped.
  bool is_mapped(std::size_t k) const { return mapped_[k] != 0; }
  /// Pages of the window.
  std::size_t pages() const { return mapped_.size(); }
  /// Refuse the next map call (whatever the budget says); `disarm` cancels it if none came.
  void refuse_next() { inject_ = true; }
  void disarm() { inject_ = false; }
  /// The map calls since the last `clear_log`.
  const std::vector<call>& log() const { return log_; }
  void clear_log() { log_.clear(); }
  /// The first misuse seen ("" if none).
  const std::string& misuse() const { return misuse_; }

 private:
  std::size_t offset_of(const std::byte* p) const { return reinterpret_cast<std::uintptr_t>(p) - base_; }
  bool range_ok(std::size_t off, std::size_t bytes, const char* what) {
    if (page_ == 0 || bytes == 0 || off % page_ != 0 || bytes % page_ != 0 || off / page_ > mapped_.size() ||
        bytes / page_ > mapped_.size() - off / page_) {
      note(std::string(what) + " of " + std::to_string(bytes) + " bytes at +" + std::to_string(off) +
           ": outside the window or not whole pages");
      return false;
    }
    return true;
  }
  void note(const std::string& what) {
    if (misuse_.empty()) misuse_ = what;
  }

  vmh::counting_mapper inner_{};
  std::uintptr_t base_ = 0;
  std::size_t page_ = 0;
  std::vector<std::uint8_t> mapped_;
  std::vector<call> log_;
  std::string misuse_;
  std::size_t injected_ = 0, unmaps_ = 0;
  bool inject_ = false;
};

}  // namespace vmh_test
