// std::pmr::memory_resource over a vmh heap: standard containers allocate from the heap.
//
//     vmh::host::memory_resource res{heap};
//     std::pmr::vector<frame> frames{&res};
//
// The resource refers to the heap and does not own it: the heap must outlive the resource, and
// the resource every container using it. A request the heap cannot satisfy throws
// `vmh::host::allocation_failure`, a `std::bad_alloc` that also tells the heap's reason
// (`vmh::status`). Alignments are passed to the heap as they are: an alignment no bucket's blocks
// have (beyond the layout's alignments, or above the page size) is such a failure too.
// A zero-byte request takes the smallest block, so it returns a distinct pointer as
// `operator new` does.
//
// Host only: this header uses exceptions and RTTI, which firmware builds leave out.
#pragma once

#include "../detail/standard.hpp"  // first: the C++20 check

#include <atomic>
#include <cstddef>
#include <memory_resource>
#include <new>

#include "../status.hpp"

namespace vmh::host {

/// The exception of a failed allocation: a std::bad_alloc that carries the heap's reason.
class allocation_failure : public std::bad_alloc {
 public:
  /// A failure for the heap's `reason`.
  explicit allocation_failure(status reason) noexcept : reason_(reason) {}
  /// Why the heap refused the allocation.
  status reason() const noexcept { return reason_; }
  /// The reason's name (`vmh::to_string`).
  const char* what() const noexcept override { return to_string(reason_); }

 private:
  status reason_;
};

/// A polymorphic memory resource that allocates from `Heap` (any vmh::heap, or a type with the
/// same try_allocate / deallocate interface).
template <class Heap>
class memory_resource final : public std::pmr::memory_resource {
 public:
  /// A resource over `heap`, which must outlive it.
  explicit memory_resource(Heap& heap) noexcept : heap_(&heap) {}
  memory_resource(const memory_resource&) = delete;
  memory_resource& operator=(const memory_resource&) = delete;

  /// The heap this resource allocates from.
  Heap& heap() const noexcept { return *heap_; }

  /// Deallocations the heap rejected (a pointer it did not allocate, or a second free). The
  /// standard makes them undefined; the heap detects them, leaves itself unchanged and reports
  /// each to the misuse handler (vmh/misuse.hpp: by default an assert in debug builds).
  std::size_t rejected_deallocations() const noexcept { return rejected_.load(std::memory_order_relaxed); }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    const auto g = heap_->try_allocate(bytes == 0 ? 1 : bytes, alignment);
    if (g.ptr == nullptr) throw allocation_failure(g.status);
    return g.ptr;
  }

  void do_deallocate(void* p, std::size_t, std::size_t) override {
    if (heap_->deallocate(p) != status::ok) rejected_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Equal when both allocate from the same heap: memory from one may be freed through the other.
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    if (this == &other) return true;
    const auto* o = dynamic_cast<const memory_resource*>(&other);
    return o != nullptr && o->heap_ == heap_;
  }

  Heap* heap_;
  std::atomic<std::size_t> rejected_{0};
};

}  // namespace vmh::host
