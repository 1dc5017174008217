// The replay engine: runs a trace (format v1) against one allocator and reports what the
// requests got. Every allocator is an adapter behind one small interface (sim/allocators.hpp),
// so that each sees exactly the same operations at the same SRAM budget.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "workloads/trace.hpp"

namespace vmh::sim {

/// What one allocation request got.
struct outcome {
  void* ptr = nullptr;
  std::size_t size = 0;  ///< bytes granted
};

struct sram_placement;  // sim/waste.hpp

/// A live block as a replay knows it: its pointer and the bytes the caller holds.
struct live_block {
  const void* ptr = nullptr;
  std::size_t size = 0;
};

/// The interface every replayed allocator implements.
class allocator {
 public:
  virtual ~allocator() = default;
  virtual outcome allocate(std::size_t size, std::size_t align) = 0;
  virtual outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) = 0;
  /// Resizes the block at `ptr` from `old_size` to `new_size`; returns the (possibly moved)
  /// pointer, or null on failure with the block unchanged.
  virtual void* resize(void* ptr, std::size_t old_size, std::size_t new_size) = 0;
  virtual void deallocate(void* ptr) = 0;
  /// Grows the block at `ptr`, now `size` bytes, in place toward `preferred` bytes, as far as
  /// the allocator can without moving it, to a multiple of `granule` (>= 1). Returns the
  /// block's size afterwards: `size` when it cannot grow (or `preferred <= size`), else a
  /// multiple of granule in (size, preferred].
  virtual std::size_t grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) = 0;
  virtual std::size_t committed_bytes() const = 0;       ///< physical bytes committed now
  virtual std::size_t peak_committed_bytes() const = 0;  ///< most physical bytes committed at once
  virtual bool validate() const = 0;
  /// SRAM the allocator's metadata takes outside its buffers (0 when it lives inside them).
  virtual std::size_t metadata_bytes() const { return 0; }
  /// Whether that metadata was taken from the budget the allocator's buffers get.
  virtual bool metadata_charged() const { return true; }
  /// The page a virtual-memory heap maps its blocks by (0: a heap over one region of SRAM), and
  /// the bytes of pages it may map.
  virtual std::size_t page_size() const { return 0; }
  virtual std::size_t page_budget_bytes() const { return 0; }
  /// Where the live blocks `live` (all of them) lie in the allocator's SRAM, and the pages it
  /// has mapped, for the split of its SRAM (sim/waste.hpp). False when the allocator does not
  /// report them, or a block is not one of its live allocations (`out` then means nothing).
  virtual bool place(std::span<const live_block> live, sram_placement& out) const {
    (void)live;
    (void)out;
    return false;
  }
  /// SRAM held for good as a heap region beside the pages (0: none); its banks are powered
  /// throughout. A heap over one region of SRAM (page_size() 0) powers every bank anyway.
  virtual std::size_t region_bytes() const { return 0; }
  /// Whether the block at `ptr` lies in mapped pages (else in the region).
  virtual bool paged(const void* ptr) const {
    (void)ptr;
    return page_size() != 0;
  }
};

/// What the `g` lines of a replay got, reported apart from the requests' figures. A grow request
/// "asks" when its block is below its preferred size; the byte sums are over those, each size
/// counted up to the preferred size.
struct grow_report {
  std::size_t requests = 0;  ///< `g` lines on live blocks
  std::size_t skipped = 0;   ///< `g` lines of failed requests (also counted in report::skipped)
  std::size_t asking = 0;    ///< requests whose block was below preferred
  std::size_t grown = 0;     ///< asking requests that gained bytes
  std::size_t reached = 0;   ///< asking requests that reached preferred
  std::size_t asked_bytes = 0, gained_bytes = 0;
  std::size_t before_bytes = 0, after_bytes = 0, preferred_bytes = 0;  ///< sizes before and after, and preferred
  /// Every successful range grant at the largest size it reached (by `g` or `e`), up to its
  /// preferred size: against report::range_preferred_bytes, the depth the grants ended with.
  std::size_t range_grown_bytes = 0;

  double before_ratio() const { return preferred_bytes == 0 ? 1.0 : double(before_bytes) / double(preferred_bytes); }
  double after_ratio() const { return preferred_bytes == 0 ? 1.0 : double(after_bytes) / double(preferred_bytes); }
  double gained_ratio() const { return asked_bytes == 0 ? 1.0 : double(gained_bytes) / double(asked_bytes); }
  void add(const grow_report& o);
};

/// The figures of one replay (the keys of the replay's JSON line). Byte sums saturate at
/// SIZE_MAX instead of wrapping (a trace may ask for ranges near 2^64).
struct report {
  std::size_t ops = 0, requests = 0, failed = 0;
  std::size_t fixed_requests = 0, fixed_failed = 0;
  std::size_t range_requests = 0, range_failed = 0;
  std::size_t range_granted_bytes = 0, range_preferred_bytes = 0;
  std::size_t resizes = 0, resizes_failed = 0, skipped = 0;
  std::size_t peak_live_bytes = 0, peak_physical_bytes = 0;
  std::size_t metadata_bytes = 0;
  bool metadata_charged = true;
  long long first_failure_op = -1;
  bool valid_after = true;  ///< the allocator's own validation passed at the end, and every grow kept its contract
  grow_report grow;

  double success_rate() const { return requests == 0 ? 1.0 : 1.0 - double(failed) / double(requests); }
  double granted_ratio() const {
    return range_preferred_bytes == 0 ? 1.0 : double(range_granted_bytes) / double(range_preferred_bytes);
  }
  /// granted_ratio with each grant at the largest size it reached (grow.range_grown_bytes).
  double grown_ratio() const {
    return range_preferred_bytes == 0 ? 1.0 : double(grow.range_grown_bytes) / double(range_preferred_bytes);
  }
};

/// What happened to one operation, for callers that print a request-by-request account.
struct event {
  std::size_t index;
  const trace::op* op;
  bool ok;               ///< request or resize succeeded; `g`: the block is at its preferred size; `f`: true
  bool skipped;          ///< `e`/`f` of a failed request
  std::size_t granted;   ///< bytes granted (a, r, e; g: the size after)
  std::size_t committed; ///< physical bytes committed after the operation
  void* block = nullptr;       ///< the live block the operation left (a, r, e, g that grew), null if none
  std::size_t block_size = 0;  ///< its live bytes (requested, or granted for a range)
  void* released = nullptr;    ///< the block it gave up (f, and e's and a grown g's old block), null if none
  std::size_t released_size = 0;
};
using event_handler = std::function<void(const event&)>;

/// Replays `ops` on `a`. `on_event` (optional) sees every operation after it ran.
report replay(const std::vector<trace::op>& ops, allocator& a, const event_handler& on_event = {});

/// Sums of several replays: success = 1 - failed / requests, granted = granted / preferred bytes,
/// bytes = satisfied / requested bytes (a fixed request counts its size, a range request its minimum).
struct totals {
  std::size_t requests = 0, failed = 0, granted = 0, preferred = 0;
  std::size_t requested_bytes = 0, satisfied_bytes = 0;
  void add(const report& r);
  double success() const { return requests == 0 ? 1.0 : 1.0 - double(failed) / double(requests); }
  double granted_ratio() const { return preferred == 0 ? 1.0 : double(granted) / double(preferred); }
  double bytes_ratio() const { return requested_bytes == 0 ? 1.0 : double(satisfied_bytes) / double(requested_bytes); }
};

/// Replays `ops` on `a` and adds the figures, requested bytes included, to `t`.
void replay_into(totals& t, const std::vector<trace::op>& ops, allocator& a);

/// a + b, or SIZE_MAX when the sum does not fit.
constexpr std::size_t saturating_add(std::size_t a, std::size_t b) { return b > SIZE_MAX - a ? SIZE_MAX : a + b; }

}  // namespace vmh::sim
