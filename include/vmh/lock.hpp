// Lock policy: held across every public heap call.
//
// Concept `lock_policy<L>`:   l.lock();  l.unlock();   (default-constructible)
//
// SOF allocates a buffer on one DSP core and may free it on another, so a heap shared between
// cores needs a real lock around each call; a heap used from one context needs none.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <atomic>
#include <concepts>

namespace vmh {

/// What the heap needs of a lock: default construction, `lock()` and `unlock()`. The heap holds
/// it across every public call.
template <class L>
concept lock_policy = std::default_initializable<L> && requires(L& l) {
  l.lock();
  l.unlock();
};

/// No locking: one thread (or an outer lock) uses the heap.
struct no_lock {
  /// Does nothing.
  constexpr void lock() noexcept {}
  /// Does nothing.
  constexpr void unlock() noexcept {}
};

/// A test-and-test-and-set spinlock on std::atomic (lock-free on every target we build for), for
/// threads and cores. It does not mask interrupts: an interrupt handler that calls the heap while
/// the thread it interrupted holds the lock spins forever on that core (a deadlock). A heap that
/// interrupt handlers use needs a lock that masks interrupts while held: on Zephyr
/// `vmh::zephyr::spinlock` (k_spin_lock), elsewhere any lock policy that disables interrupts
/// around the section.
class spin_lock {
 public:
  constexpr spin_lock() noexcept = default;
  /// Spins until the lock is free, then takes it (acquire ordering). Not recursive.
  void lock() noexcept {
    for (;;) {
      if (!held_.exchange(true, std::memory_order_acquire)) return;
      while (held_.load(std::memory_order_relaxed)) {
      }
    }
  }
  /// Releases the lock (release ordering). Requires: the caller holds it.
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

namespace detail {
/// Holds a lock for one scope.
template <class L>
class lock_guard {
 public:
  explicit lock_guard(L& l) noexcept : lock_(l) { lock_.lock(); }
  ~lock_guard() { lock_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

 private:
  L& lock_;
};
}  // namespace detail

}  // namespace vmh
