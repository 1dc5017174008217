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

#include <cstddef>
#include <new>
#include <type_traits>

#include "pmr.hpp"

namespace vmh::host {

template <class T, class Heap>
class allocator {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  template <class U>
  struct rebind {
    using other = allocator<U, Heap>;
  };

  explicit allocator(Heap& heap) noexcept : heap_(&heap) {}
  template <class U>
  allocator(const allocator<U, Heap>& other) noexcept : heap_(&other.heap()) {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > max_size()) throw std::bad_array_new_length();
    const std::size_t bytes = n == 0 ? 1 : n * sizeof(T);
    const auto g = heap_->try_allocate(bytes, alignof(T));
    if (g.ptr == nullptr) throw allocation_failure(g.result);
    return static_cast<T*>(g.ptr);
  }

  void deallocate(T* p, std::size_t) noexcept { heap_->deallocate(p); }

  constexpr std::size_t max_size() const noexcept { return static_cast<std::size_t>(-1) / sizeof(T); }

  Heap& heap() const noexcept { return *heap_; }

  template <class U>
  friend bool operator==(const allocator& a, const allocator<U, Heap>& b) noexcept {
    return &a.heap() == &b.heap();
  }

 private:
  Heap* heap_;
};

}  // namespace vmh::host
