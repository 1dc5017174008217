// Real virtual memory on POSIX hosts (Linux first): a reserved address range and a page mapper
// that commits and decommits its pages through the operating system.
//
//   mmap_range   owns a reservation made with mmap(PROT_NONE): address space only, no memory.
//                Movable, not copyable; the destructor unmaps it. A failed reservation leaves
//                an empty range (base() == nullptr, size() == 0), which a heap reports as
//                `layout_error::window_too_small` (allocations fail with `not_configured`).
//   mmap_arena   an mmap_range of a size fixed at compile time that reserves when it is default
//                constructed, so a heap can hold it as its own `Window`.
//   mmap_mapper  a `vmh::page_mapper`: map = mprotect(PROT_READ | PROT_WRITE), all or nothing;
//                unmap = madvise(MADV_DONTNEED) then mprotect(PROT_NONE), so a freed page goes
//                back to the system and touching it faults. It keeps a byte budget and reports
//                `mapped()` and `available()`, so `heap::validate` checks it and
//                `allocate_range` sizes grants to the memory left.
//
// Typical use (the heap does not own the range; keep the range alive as long as the heap):
//
//     vmh::host::mmap_range range{layout::virtual_size};
//     vmh::heap<layout, vmh::host::mmap_mapper, vmh::external_range> heap{range.view(), vmh::host::mmap_mapper{}};
//
// Requirements: the heap's page size must be a multiple of the system page size
// (`os_page_size()`, 4096 on Linux x86-64). The mapper refuses any map request that is not made
// of whole system pages, so a wrong page size shows up as failed allocations (status::no_memory),
// never as a fault in a neighbour's page.
//
// A system call that fails is a failed allocation (map returns false, the heap reports
// status::no_memory), never a crash. The mapper keeps the caller's errno unchanged and records
// the errno of the last failing call (`last_error()`). Like the heap, the mapper is not
// thread-safe on its own: the heap's lock policy serialises its calls.
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "../window.hpp"
#include "../layout.hpp"
#include "../mapper.hpp"

namespace vmh::host {

/// The system's page size (sysconf(_SC_PAGESIZE)), read once.
inline std::size_t os_page_size() noexcept {
  static const std::size_t size = [] {
    const long s = ::sysconf(_SC_PAGESIZE);
    return s > 0 ? static_cast<std::size_t>(s) : std::size_t{4096};
  }();
  return size;
}

/// Bytes of physical memory of the machine (sysconf(_SC_PHYS_PAGES) pages), 0 if unknown.
inline std::size_t physical_memory() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  return pages > 0 ? static_cast<std::size_t>(pages) * os_page_size() : 0;
}

/// How many bytes of [addr, addr + bytes) are resident in physical memory, in whole system
/// pages (mincore). The range is widened to system page boundaries. Pages that are not part of
/// any mapping count as not resident. A range that would wrap around the end of the address
/// space is no range: 0.
inline std::size_t resident_bytes(const void* addr, std::size_t bytes) noexcept {
  const std::size_t page = os_page_size();
  if (bytes == 0 || bytes > UINTPTR_MAX - reinterpret_cast<std::uintptr_t>(addr) - (page - 1)) return 0;
  const auto start = reinterpret_cast<std::uintptr_t>(addr) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(addr) + bytes + page - 1) / page * page;
  constexpr std::size_t chunk = 256;  // pages per mincore call
  unsigned char vec[chunk];
  std::size_t resident = 0;
  for (std::uintptr_t p = start; p < end;) {
    const std::size_t n = (end - p) / page < chunk ? (end - p) / page : chunk;
    const int saved = errno;
    if (::mincore(reinterpret_cast<void*>(p), n * page, vec) == 0) {
      for (std::size_t i = 0; i < n; ++i) resident += (vec[i] & 1u) != 0 ? page : 0;
    } else if (n > 1) {
      // Part of the chunk is not mapped: look at its pages one by one.
      for (std::size_t i = 0; i < n; ++i)
        if (::mincore(reinterpret_cast<void*>(p + i * page), page, vec) == 0 && (vec[0] & 1u) != 0) resident += page;
    }
    errno = saved;
    p += n * page;
  }
  return resident;
}

/// An address range reserved with mmap(PROT_NONE): no page of it is readable, writable or
/// backed by memory until a mapper commits it. Owns the reservation.
class mmap_range {
 public:
  /// An empty range (no reservation).
  mmap_range() noexcept = default;

  /// Reserves `bytes` (rounded up to whole system pages) starting at a multiple of `align`
  /// (0: the system page size; otherwise a power of two, e.g. a heap page size above the
  /// system's). On failure the range is empty and `error()` holds the errno.
  explicit mmap_range(std::size_t bytes, std::size_t align = 0) noexcept { reserve(bytes, align); }

  /// Takes over `other`'s reservation; `other` is left empty.
  mmap_range(mmap_range&& other) noexcept : base_(other.base_), size_(other.size_), error_(other.error_) {
    other.base_ = nullptr;
    other.size_ = 0;
  }
  /// Releases this range's reservation, then takes over `other`'s; `other` is left empty.
  mmap_range& operator=(mmap_range&& other) noexcept {
    if (this != &other) {
      release();
      base_ = other.base_;
      size_ = other.size_;
      error_ = other.error_;
      other.base_ = nullptr;
      other.size_ = 0;
    }
    return *this;
  }
  mmap_range(const mmap_range&) = delete;
  mmap_range& operator=(const mmap_range&) = delete;
  ~mmap_range() { release(); }

  /// Start of the reservation (null when empty).
  std::byte* base() noexcept { return base_; }
  /// Start of the reservation (null when empty), read-only.
  const std::byte* base() const noexcept { return base_; }
  /// Bytes reserved: whole system pages (0 when empty).
  std::size_t size() const noexcept { return size_; }
  /// True when the range holds a reservation.
  explicit operator bool() const noexcept { return base_ != nullptr; }
  /// The errno of a failed reservation (0 after a successful one).
  int error() const noexcept { return error_; }

  /// A non-owning view for a heap whose `Window` is `vmh::external_range`.
  external_range view() noexcept { return external_range{base_, size_}; }

  /// Unmaps the reservation (pages committed in it go back to the system); the range is empty after.
  void reset() noexcept {
    release();
    base_ = nullptr;
    size_ = 0;
  }

 private:
  void reserve(std::size_t bytes, std::size_t align) noexcept {
    const std::size_t page = os_page_size();
    if (align < page) align = page;
    const int saved = errno;
    if (bytes == 0 || !::vmh::detail::is_pow2(align) || align > SIZE_MAX / 4 || bytes > SIZE_MAX / 4) {
      error_ = EINVAL;
      return;
    }
    const std::size_t size = ::vmh::detail::align_up(bytes, page);
    // Reserve enough to find an aligned start, then give the slack back.
    const std::size_t slack = align - page;
    void* p = ::mmap(nullptr, size + slack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      error_ = errno;
      errno = saved;
      return;
    }
    auto* raw = static_cast<std::byte*>(p);
    const auto addr = reinterpret_cast<std::uintptr_t>(raw);
    std::byte* start = raw + (::vmh::detail::align_up(addr, align) - addr);
    if (start != raw) ::munmap(raw, static_cast<std::size_t>(start - raw));
    if (std::byte* tail = start + size; tail != raw + size + slack)
      ::munmap(tail, static_cast<std::size_t>(raw + size + slack - tail));
    base_ = start;
    size_ = size;
    error_ = 0;
    errno = saved;
  }

  void release() noexcept {
    if (base_ != nullptr) {
      const int saved = errno;
      ::munmap(base_, size_);
      errno = saved;
    }
  }

  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  int error_ = 0;
};

/// A reservation of `Bytes` aligned to `Align`, made when default constructed: the `Window` of
/// a heap with a fixed layout, `vmh::heap<L, mmap_mapper, mmap_arena<L::virtual_size, L::page_size>>`.
template <std::size_t Bytes, std::size_t Align = default_page_size>
class mmap_arena : public mmap_range {
 public:
  static_assert(Bytes > 0, "vmh mmap_arena: size must be non-zero");
  static_assert(::vmh::detail::is_pow2(Align), "vmh mmap_arena: alignment must be a power of two");
  mmap_arena() noexcept : mmap_range(Bytes, Align) {}
};

/// Commits pages of an mmap_range (or any PROT_NONE private anonymous mapping) with mprotect and
/// gives them back with madvise(MADV_DONTNEED) + mprotect(PROT_NONE), within a byte budget.
class mmap_mapper {
 public:
  /// The largest budget: big enough to be no limit, small enough that the heap's page
  /// arithmetic on `available()` cannot overflow.
  static constexpr std::size_t max_budget = SIZE_MAX / 4;

  /// A budget of the machine's physical memory.
  mmap_mapper() noexcept : mmap_mapper(physical_memory() != 0 ? physical_memory() : max_budget) {}
  /// At most `budget_bytes` mapped at once (clamped to max_budget).
  explicit mmap_mapper(std::size_t budget_bytes) noexcept
      : budget_(budget_bytes < max_budget ? budget_bytes : max_budget), page_(os_page_size()) {}

  /// Makes [addr, addr + bytes) readable and writable. All or nothing: on failure (budget,
  /// misaligned request or a failed system call) no page of the range is left accessible.
  bool map(std::byte* addr, std::size_t bytes) noexcept {
    if (bytes == 0) return true;
    if (reinterpret_cast<std::uintptr_t>(addr) % page_ != 0 || bytes % page_ != 0) return refuse(EINVAL);
    if (bytes > budget_ - mapped_) return refuse(0);
    const int saved = errno;
    if (::mprotect(addr, bytes, PROT_READ | PROT_WRITE) != 0) {
      last_error_ = errno;
      // mprotect may have changed part of the range before failing: take it all back.
      ::mprotect(addr, bytes, PROT_NONE);
      errno = saved;
      ++failures_;
      return false;
    }
    mapped_ += bytes;
    if (mapped_ > peak_) peak_ = mapped_;
    return true;
  }

  /// Gives the pages of [addr, addr + bytes) back to the system and makes them inaccessible.
  /// Only whole system pages inside the range are touched, never a neighbour's.
  void unmap(std::byte* addr, std::size_t bytes) noexcept {
    mapped_ -= bytes < mapped_ ? bytes : mapped_;
    const auto first = ::vmh::detail::align_up(reinterpret_cast<std::uintptr_t>(addr), page_);
    const auto last = (reinterpret_cast<std::uintptr_t>(addr) + bytes) / page_ * page_;
    if (last <= first) return;
    void* p = reinterpret_cast<void*>(first);
    const std::size_t n = last - first;
    const int saved = errno;
    if (::madvise(p, n, MADV_DONTNEED) != 0) unmap_failed(errno);
    if (::mprotect(p, n, PROT_NONE) != 0) unmap_failed(errno);
    errno = saved;
  }

  /// Bytes that may still be mapped within the budget.
  std::size_t available() const noexcept { return budget_ - mapped_; }
  /// Bytes mapped now.
  std::size_t mapped() const noexcept { return mapped_; }
  /// The most bytes mapped at once.
  std::size_t peak() const noexcept { return peak_; }
  /// The most bytes that may be mapped at once.
  std::size_t budget() const noexcept { return budget_; }
  /// Changes the budget (clamped to [mapped(), max_budget]).
  void set_budget(std::size_t bytes) noexcept {
    if (bytes > max_budget) bytes = max_budget;
    budget_ = bytes < mapped_ ? mapped_ : bytes;
  }
  /// Map calls refused: over budget, not whole system pages, or the system call failed.
  std::size_t failures() const noexcept { return failures_; }
  /// System calls of `unmap` that failed (the range was not a mapping any more, for instance).
  std::size_t unmap_errors() const noexcept { return unmap_errors_; }
  /// The errno of the last failed system call (EINVAL for a misaligned request), 0 if none.
  int last_error() const noexcept { return last_error_; }
  /// The system page size the mapper works with.
  std::size_t page_size() const noexcept { return page_; }

 private:
  bool refuse(int error) noexcept {
    if (error != 0) last_error_ = error;
    ++failures_;
    return false;
  }
  void unmap_failed(int error) noexcept {
    last_error_ = error;
    ++unmap_errors_;
  }

  std::size_t budget_ = max_budget;
  std::size_t mapped_ = 0;
  std::size_t peak_ = 0;
  std::size_t failures_ = 0;
  std::size_t unmap_errors_ = 0;
  std::size_t page_ = 4096;
  int last_error_ = 0;
};

static_assert(page_mapper<mmap_mapper>);
static_assert(window_range<mmap_range>);
static_assert(::vmh::detail::reports_available<mmap_mapper> && ::vmh::detail::reports_mapped<mmap_mapper>);

}  // namespace vmh::host
