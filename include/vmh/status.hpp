// Result codes of every vmh operation. Each has a stable meaning documented here and in the README.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <cstddef>
#include <cstdint>

namespace vmh {

/// What an operation did. `ok` is the only success; every other value leaves the heap unchanged
/// (apart from the failure counters of `no_block` and `no_memory`).
enum class status : std::uint8_t {
  ok = 0,
  invalid_size,       ///< size 0, larger than the heap's virtual range, min == 0, preferred < min, bad granule
  invalid_alignment,  ///< alignment not a power of two
  no_block,           ///< every bucket whose blocks (or runs) could hold it is full now: it may succeed later
  no_memory,          ///< a block was free but the page mapper could not map its pages
  foreign_pointer,    ///< the pointer is not inside this heap's blocks
  interior_pointer,   ///< the pointer is inside the heap but not at the start of a live allocation
  double_free,        ///< the pointer is a block start that is not allocated (freed already, or never allocated)
  exceeds_block,      ///< resize: the new size does not fit in the allocation's block(s)
  not_configured,     ///< the heap has no usable layout or window (see `layout_error`)
  no_bucket,          ///< no bucket could ever hold it: larger than `heap::max_size(align)`, or an alignment no bucket has
};

/// A short human-readable name of a status, for logs.
constexpr const char* to_string(status s) noexcept {
  switch (s) {
    case status::ok: return "ok";
    case status::invalid_size: return "invalid size";
    case status::invalid_alignment: return "invalid alignment";
    case status::no_block: return "no free block";
    case status::no_memory: return "no physical memory";
    case status::foreign_pointer: return "foreign pointer";
    case status::interior_pointer: return "interior pointer";
    case status::double_free: return "block not allocated (double free)";
    case status::exceeds_block: return "exceeds block";
    case status::not_configured: return "heap not configured";
    case status::no_bucket: return "no bucket holds that size and alignment";
  }
  return "unknown";
}

/// Whether `s` says the pointer a call was given is not a live allocation of the heap
/// (`foreign_pointer`, `interior_pointer`, `double_free`): a bug of the caller, which the heaps
/// also report to the misuse handler (misuse.hpp).
constexpr bool is_misused_pointer(status s) noexcept {
  return s == status::foreign_pointer || s == status::interior_pointer || s == status::double_free;
}

/// The result of an allocation: the pointer (null on failure), the bytes granted and why (`status`).
struct grant {
  /// the allocation, or null on failure
  void* ptr = nullptr;
  /// bytes the caller may use (for `allocate_range`, the grant), 0 on failure
  std::size_t size = 0;
  /// `status::ok`, or why nothing was allocated (the same name as C's `vmh_grant.status`)
  vmh::status status = vmh::status::ok;
  /// True when the allocation succeeded: a pointer and `ok`. A failed grant is false, whatever its pointer.
  constexpr explicit operator bool() const noexcept { return ptr != nullptr && status == vmh::status::ok; }
};

}  // namespace vmh
