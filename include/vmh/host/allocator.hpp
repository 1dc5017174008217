// A standard Allocator over a vmh heap, for containers that take an allocator type:
//
//     using alloc = vmh::host::allocator<int, heap_type>;
//     std::vector<int, alloc> v{alloc{heap}};
//
// The allocator holds a pointer to the heap (it never owns it); two allocators are equal when
// they use the same heap, so memory allocated through one may be freed through the other. The
// allocator follows its container on copy, move and swap. Objects are aligned to alignof(T),
// passed to the heap; a failed allocation throws `vmh::host::allocation_failure` (a
// std::bad_alloc), and a count whose size overflows throws std::bad_array_new_length.
//
// Host only: it throws.
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

#include <cstddef>
#include <new>
#include <type_traits>

#include "pmr.hpp"

namespace vmh::host {

/// A standard Allocator of `T` over a vmh heap. It holds a pointer to `Heap` and never owns it;
/// allocators over the same heap are equal, and it follows its container on copy, move and swap.
/// Host only: it throws.
template <class T, class Heap>
class allocator {
 public:
  /// The element type.
  using value_type = T;
  /// Type of element counts.
  using size_type = std::size_t;
  /// Type of pointer differences.
  using difference_type = std::ptrdiff_t;
  /// The allocator follows its container on copy assignment.
  using propagate_on_container_copy_assignment = std::true_type;
  /// The allocator follows its container on move assignment.
  using propagate_on_container_move_assignment = std::true_type;
  /// The allocator follows its container on swap.
  using propagate_on_container_swap = std::true_type;
  /// Allocators over different heaps are not equal.
  using is_always_equal = std::false_type;

  /// The allocator of another element type over the same heap.
  template <class U>
  struct rebind {
    /// The rebound allocator type.
    using other = allocator<U, Heap>;
  };

  /// An allocator over `heap`, which must outlive it and every copy.
  explicit allocator(Heap& heap) noexcept : heap_(&heap) {}
  /// An allocator over the same heap as `other` (equal to it).
  template <class U>
  allocator(const allocator<U, Heap>& other) noexcept : heap_(&other.heap()) {}

  /// Allocates room for `n` objects aligned to alignof(T) (n == 0 takes one byte, a distinct
  /// pointer). Throws std::bad_array_new_length when n > max_size(), and `allocation_failure`
  /// with the heap's reason when the heap cannot satisfy the request.
  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > max_size()) throw std::bad_array_new_length();
    const std::size_t bytes = n == 0 ? 1 : n * sizeof(T);
    const auto g = heap_->try_allocate(bytes, alignof(T));
    if (g.ptr == nullptr) throw allocation_failure(g.status);
    return static_cast<T*>(g.ptr);
  }

  /// Frees `p` through the heap (the count is not needed). A pointer the heap rejects leaves it
  /// unchanged and goes to the misuse handler (vmh/misuse.hpp: by default an assert in debug builds).
  void deallocate(T* p, std::size_t) noexcept { heap_->deallocate(p); }

  /// The largest count whose size in bytes does not overflow.
  constexpr std::size_t max_size() const noexcept { return static_cast<std::size_t>(-1) / sizeof(T); }

  /// The heap this allocator uses.
  Heap& heap() const noexcept { return *heap_; }

  /// Equal when both use the same heap: memory from one may be freed through the other.
  template <class U>
  friend bool operator==(const allocator& a, const allocator<U, Heap>& b) noexcept {
    return &a.heap() == &b.heap();
  }

 private:
  Heap* heap_;
};

}  // namespace vmh::host
