// Lock policy over Zephyr's k_spinlock: a heap shared between the DSP cores (SOF allocates a
// buffer on one core and may free it on another) holds it across every call.
//
//     using heap = vmh::heap<layout, vmh::zephyr::mm_mapper<>, vmh::external_range, vmh::zephyr::spinlock>;
//
// k_spin_lock also masks interrupts on the calling core for as long as it is held. A heap call
// holds it for O(bitmap levels) work plus its map or unmap calls, which on a large block are one
// driver call over many pages; firmware that cannot afford that latency in interrupt-locked
// context should wrap a mutex instead (any type with lock()/unlock() is a lock policy).
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

#include <zephyr/spinlock.h>

namespace vmh::zephyr {

/// A lock policy over a Zephyr `k_spinlock`, for a heap shared between DSP cores. While held it
/// also masks interrupts on the calling core: a heap call's bitmap work plus its map or unmap
/// calls. Not copyable.
class spinlock {
 public:
  constexpr spinlock() noexcept = default;
  spinlock(const spinlock&) = delete;
  spinlock& operator=(const spinlock&) = delete;

  /// Takes the spinlock (k_spin_lock) and keeps its key for `unlock`.
  void lock() noexcept { key_ = k_spin_lock(&lock_); }
  // The key is written by the holder only, after it acquired the lock, and read back before it
  // releases it: one key slot per lock is enough.
  /// Releases the spinlock with the key `lock` kept. Requires: the caller holds it.
  void unlock() noexcept { k_spin_unlock(&lock_, key_); }

 private:
  struct k_spinlock lock_ {};
  k_spinlock_key_t key_{};
};

}  // namespace vmh::zephyr
