// Trace recording: a heap wrapper that writes every call as a line of vmh-sim's trace format, so
// that what a firmware asked of its heap can be replayed on the host (`vmh-sim replay`,
// `compare --trace`, `plan`).
//
//     vmh::trace_ring<16384> ring;                          // or any trace_sink
//     vmh::recorder rec{fw_heap, ring};                     // call rec.allocate(...) instead of fw_heap's
//     ...
//     ring.dump(put_line, ctx);                             // later: the lines, oldest first
//
// Concept `trace_sink<S>`:   s.write(line, n)   given one whole line (ending in '\n') at a time.
//
// Lines (docs/workloads.md, "The trace format"):
//     a <id> <size> [<align>]             allocate / try_allocate
//     r <id> <min> <preferred> [<align>]  allocate_range
//     e <id> <new_size>                   resize
//     g <id> <preferred> [<granule>]      grow
//     f <id>                              deallocate
// The first line is a comment naming the format and the recorder. Ids:
//  - a request that succeeded has the allocation's address as its id (even: every allocation is
//    at least 2-byte aligned), unique among the live allocations, which is what the format asks;
//  - a request that failed has the odd id 2k + 1 for the k-th failure, never reused, so that a
//    replay counts it and skips nothing of another request.
// A call the format cannot express is not written and counts as `unrecorded`: a request of 0
// bytes, an alignment that is not a power of two, min == 0 or min > preferred, a resize to 0,
// a grow toward 0 or with a granule above preferred (it changes nothing), and any resize, grow or
// deallocate of a pointer that is not a live allocation (nothing happened) or of null. A range
// request with a granule other than 0 or its min is written (the `r` line has no granule: a
// replay uses min) and counted as `inexact`.
//
// The recorder must see every call on the heap from the time it is empty: an allocation made
// past it, or before it, gives `e`/`g`/`f` lines of an id the trace never started, which a
// replay refuses. It holds `Lock` across each heap call and its line, so that with a real lock
// the lines are in the order the heap ran the calls. Without a recorder nothing of this exists:
// the heap itself is unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

#include "c/trace.h"
#include "heap.hpp"
#include "lock.hpp"
#include "status.hpp"

namespace vmh {

/// What a recorder writes to: `s.write(line, n)` takes one whole line of trace, `n` bytes
/// ending in '\n' (at most `trace_line_max`).
template <class S>
concept trace_sink = requires(S& s, const char* line, std::size_t n) { s.write(line, n); };

/// The longest line a recorder writes, its newline included.
inline constexpr std::size_t trace_line_max = VMH_TRACE_LINE_MAX;

/// What a recorder has seen besides the lines it wrote.
struct recorder_stats {
  std::size_t lines = 0;       ///< lines handed to the sink, the first comment included
  std::size_t failed = 0;      ///< requests written with a failure's odd id
  std::size_t unrecorded = 0;  ///< calls the trace format cannot express (see recorder.hpp)
  std::size_t inexact = 0;     ///< range requests whose granule the `r` line cannot carry
};

namespace detail {

/// One trace line being built: a letter and up to four decimal numbers.
class trace_line {
 public:
  explicit constexpr trace_line(char kind) noexcept { text_[n_++] = kind; }
  /// Appends " <v>" in decimal.
  constexpr trace_line& operator<<(std::uint64_t v) noexcept {
    char digits[20];
    std::size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    text_[n_++] = ' ';
    while (k != 0) text_[n_++] = digits[--k];
    return *this;
  }
  /// Appends `words` as they are (as much as fits).
  constexpr trace_line& operator<<(const char* words) noexcept {
    while (*words != '\0' && n_ + 1 < trace_line_max) text_[n_++] = *words++;
    return *this;
  }
  /// The line with its newline.
  constexpr const char* finish(std::size_t& n) noexcept {
    text_[n_++] = '\n';
    n = n_;
    return text_;
  }

 private:
  char text_[trace_line_max] = {};  // a letter, four numbers of at most 1 + 20 characters, '\n': 86
  std::size_t n_ = 0;
};

}  // namespace detail

/// A heap that writes every call it forwards as a trace line to `Sink` (see the top of this
/// header). It offers the calls of vmh::heap, so it can stand where the heap stood, also behind
/// `VMH_C_API`. `Heap` is any type with vmh::heap's members; only its public interface is used.
template <class Heap, trace_sink Sink, lock_policy Lock = no_lock>
class recorder {
 public:
  /// Records the calls on `heap` to `sink`; both must outlive the recorder. Writes nothing yet.
  constexpr recorder(Heap& heap, Sink& sink) noexcept : heap_(heap), sink_(sink) {}
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;

  /// `heap.allocate(size)`, recorded as `a`.
  void* allocate(std::size_t size) noexcept { return try_allocate(size, 0).ptr; }
  /// `heap.allocate(size, align)`, recorded as `a`.
  void* allocate(std::size_t size, std::size_t align) noexcept { return try_allocate(size, align).ptr; }
  /// `heap.try_allocate(size, align)`, recorded as `a`.
  grant try_allocate(std::size_t size, std::size_t align = 0) noexcept {
    detail::lock_guard guard(lock_);
    const grant g = heap_.try_allocate(size, align);
    if (size == 0 || !power_of_two_or_zero(align)) {
      ++stats_.unrecorded;
      return g;
    }
    detail::trace_line line('a');
    line << id_of(g.ptr) << size;
    if (align != 0) line << align;
    put(line);
    return g;
  }

  /// `heap.allocate_range(min, preferred, align, granule)`, recorded as `r`.
  grant allocate_range(std::size_t min, std::size_t preferred, std::size_t align = 0, std::size_t granule = 0) noexcept {
    detail::lock_guard guard(lock_);
    const grant g = heap_.allocate_range(min, preferred, align, granule);
    if (min == 0 || min > preferred || !power_of_two_or_zero(align)) {
      ++stats_.unrecorded;
      return g;
    }
    if (granule != 0 && granule != min) ++stats_.inexact;
    detail::trace_line line('r');
    line << id_of(g.ptr) << min << preferred;
    if (align != 0) line << align;
    put(line);
    return g;
  }

  /// `heap.deallocate(ptr)`, recorded as `f` when it freed an allocation.
  status deallocate(void* ptr) noexcept {
    detail::lock_guard guard(lock_);
    const status s = heap_.deallocate(ptr);
    if (ptr == nullptr || s != status::ok) {
      ++stats_.unrecorded;
      return s;
    }
    detail::trace_line line('f');
    line << address(ptr);
    put(line);
    return s;
  }

  /// `heap.resize(ptr, new_size)`, recorded as `e` when `ptr` is a live allocation, whether or
  /// not the resize succeeds (a replay counts the failures).
  status resize(void* ptr, std::size_t new_size) noexcept {
    detail::lock_guard guard(lock_);
    const status s = heap_.resize(ptr, new_size);
    if (new_size == 0 || !reached_allocation(ptr, s)) {
      ++stats_.unrecorded;
      return s;
    }
    detail::trace_line line('e');
    line << address(ptr) << new_size;
    put(line);
    return s;
  }

  /// `heap.grow(ptr, preferred, granule)`, recorded as `g` when `ptr` is a live allocation.
  grant grow(void* ptr, std::size_t preferred, std::size_t granule = 0) noexcept {
    detail::lock_guard guard(lock_);
    const grant g = heap_.grow(ptr, preferred, granule);
    if (preferred == 0 || granule > preferred || !reached_allocation(ptr, g.status)) {
      ++stats_.unrecorded;
      return g;
    }
    detail::trace_line line('g');
    line << address(ptr) << preferred;
    if (granule != 0) line << granule;
    put(line);
    return g;
  }

  /// `heap.usable_size(ptr)` (not recorded).
  std::size_t usable_size(const void* ptr) const noexcept { return heap_.usable_size(ptr); }
  /// `heap.owns(ptr)` (not recorded).
  bool owns(const void* ptr) const noexcept { return heap_.owns(ptr); }
  /// `heap.stats()` (not recorded).
  heap_stats stats() const noexcept
    requires requires(const Heap& h) { h.stats(); }
  {
    return heap_.stats();
  }
  /// `heap.stats(b)` (not recorded).
  bucket_stats stats(std::size_t b) const noexcept
    requires requires(const Heap& h) { h.stats(b); }
  {
    return heap_.stats(b);
  }
  /// `heap.bucket_count()` (not recorded).
  std::size_t bucket_count() const noexcept { return heap_.bucket_count(); }
  /// The heap's `metadata_bytes()` (writes no line).
  std::size_t metadata_bytes() const noexcept { return heap_.metadata_bytes(); }
  /// The heap's `set_range_policy` (writes no line: a trace has no such operation).
  void set_range_policy(range_policy p) noexcept { heap_.set_range_policy(p); }
  /// The heap's `get_range_policy()` (writes no line).
  range_policy get_range_policy() const noexcept { return heap_.get_range_policy(); }
  /// `heap.validate()` (not recorded).
  check validate() const noexcept { return heap_.validate(); }

  /// The heap recorded (calls made on it directly are not recorded: see the top of this header).
  constexpr Heap& heap() const noexcept { return heap_; }
  /// What the recorder has seen besides its lines (one snapshot, under the lock).
  recorder_stats record_stats() const noexcept {
    detail::lock_guard guard(lock_);
    return stats_;
  }

 private:
  static constexpr bool power_of_two_or_zero(std::size_t a) noexcept { return (a & (a - 1)) == 0; }
  static std::uint64_t address(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

  /// A request's id: its allocation's address, or the next odd id of a failure.
  std::uint64_t id_of(const void* ptr) noexcept {
    if (ptr != nullptr) return address(ptr);
    return 2 * std::uint64_t{stats_.failed++} + 1;
  }
  /// Whether a call on `ptr` that returned `s` found a live allocation there.
  static bool reached_allocation(const void* ptr, status s) noexcept {
    return ptr != nullptr && s != status::foreign_pointer && s != status::interior_pointer && s != status::double_free &&
           s != status::not_configured;
  }

  void put(detail::trace_line& line) noexcept {
    if (stats_.lines == 0) {  // the first line names the format and where the trace comes from
      static constexpr char head[] = "# vmh trace v1: recorded by vmh::recorder (odd ids: failed requests)\n";
      sink_.write(head, sizeof head - 1);
      ++stats_.lines;
    }
    std::size_t n = 0;
    const char* text = line.finish(n);
    sink_.write(text, n);
    ++stats_.lines;
  }

  Heap& heap_;
  Sink& sink_;
  recorder_stats stats_{};
  [[no_unique_address]] mutable Lock lock_{};
};

/// A trace sink that hands each line to a C function (a UART, a log): `fn(ctx, line, n)`.
struct trace_callback {
  vmh_trace_line_fn fn = nullptr;  ///< called once per line; nothing happens while it is null
  void* ctx = nullptr;             ///< passed to `fn` unchanged
  /// Hands the line to `fn`.
  void write(const char* line, std::size_t n) const noexcept {
    if (fn != nullptr) fn(ctx, line, n);
  }
};

/// A trace sink in RAM: a ring of `Bytes` bytes that `dump` drains, oldest line first, so that a
/// long trace fits when it is dumped often enough. When a line does not fit, it and every later
/// line are dropped (counted): the trace stops there, and what was dumped stays a valid trace.
/// `Lock` guards the ring against a dump from another thread or core; `dump` calls its function
/// without it.
template <std::size_t Bytes, lock_policy Lock = no_lock>
class trace_ring {
  static_assert(Bytes >= trace_line_max, "vmh::trace_ring: room for at least one line");

 public:
  constexpr trace_ring() noexcept = default;
  trace_ring(const trace_ring&) = delete;
  trace_ring& operator=(const trace_ring&) = delete;

  /// Stores one whole line, or drops it (and every later one) when it does not fit.
  void write(const char* line, std::size_t n) noexcept {
    detail::lock_guard guard(lock_);
    if (dropped_ != 0 || n > Bytes - used_) {
      ++dropped_;
      return;
    }
    for (std::size_t i = 0; i < n; ++i) buffer_[(head_ + i) % Bytes] = line[i];
    head_ = (head_ + n) % Bytes;
    used_ += n;
  }

  /// Hands every whole line now in the ring to `fn(ctx, line, n)`, oldest first, and removes it;
  /// then, if lines were dropped, a comment line saying how many. A line longer than
  /// `trace_line_max` (never one of a recorder's) is handed out in pieces. Returns the calls made.
  std::size_t dump(vmh_trace_line_fn fn, void* ctx) noexcept {
    std::size_t calls = 0;
    for (char piece[trace_line_max];;) {
      std::size_t n = 0;
      {
        detail::lock_guard guard(lock_);
        while (n < used_ && n < trace_line_max && (n == 0 || piece[n - 1] != '\n')) {
          piece[n] = buffer_[(tail_ + n) % Bytes];
          ++n;
        }
        tail_ = (tail_ + n) % Bytes;
        used_ -= n;
      }
      if (n == 0) break;
      fn(ctx, piece, n);
      ++calls;
    }
    if (const std::size_t lost = dropped(); lost != 0) {
      detail::trace_line note('#');
      note << lost << " lines dropped: the ring was full; the trace ends above";
      std::size_t n = 0;
      const char* text = note.finish(n);
      fn(ctx, text, n);
      ++calls;
    }
    return calls;
  }

  /// Lines dropped because the ring was full.
  std::size_t dropped() const noexcept {
    detail::lock_guard guard(lock_);
    return dropped_;
  }
  /// Bytes stored and not yet dumped.
  std::size_t size() const noexcept {
    detail::lock_guard guard(lock_);
    return used_;
  }
  /// The ring's capacity in bytes.
  static constexpr std::size_t capacity() noexcept { return Bytes; }

 private:
  char buffer_[Bytes] = {};
  std::size_t head_ = 0, tail_ = 0, used_ = 0, dropped_ = 0;
  [[no_unique_address]] mutable Lock lock_{};
};

}  // namespace vmh

/// Defines the C functions of VMH_C_DECLARE_TRACE(prefix) (vmh/c/trace.h) over `ring_object`, a
/// vmh::trace_ring declared before this line. Use at namespace scope, once per prefix.
#define VMH_C_TRACE_RING(prefix, ring_object)                                                                  \
  extern "C" {                                                                                                 \
  VMH_C_DECLARE_TRACE(prefix);                                                                                 \
  ::std::size_t prefix##_trace_dump(vmh_trace_line_fn fn, void* ctx) {                                         \
    return fn == nullptr ? 0 : (ring_object).dump(fn, ctx);                                                    \
  }                                                                                                            \
  ::std::size_t prefix##_trace_dropped(void) { return (ring_object).dropped(); }                               \
  }                                                                                                            \
  static_assert(true, "")
