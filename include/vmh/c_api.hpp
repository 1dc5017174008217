// C-callable functions for one configured heap, named by a prefix.
//
// One C++ file of the firmware defines the heap and instantiates the functions:
//
//     #include <vmh/c_api.hpp>
//
//     inline constexpr auto fw_table = vmh::make_table({{64, 64}, {1024, 32}, {16384, 8}});
//     using fw_heap_type = vmh::heap<vmh::fixed_layout<fw_table>, vmh::counting_mapper>;
//     VMH_C_API_DEFINE(fw, fw_heap_type);     // defines `constinit fw_heap_type fw_vmh_heap`
//
// or, for a heap object it defines itself (an external range, a mapper with arguments):
//
//     fw_heap_type my_heap{vmh::external_range{window, window_bytes}};
//     VMH_C_API(fw, my_heap);
//
// C code includes a header that says `VMH_C_DECLARE(fw);` (vmh/c/vmh.h) and calls fw_alloc,
// fw_free, fw_alloc_range, fw_resize, fw_stats, ... Each prefix is an independent heap; several
// can live in one program. The functions are thin: each forwards to one member of vmh::heap
// (which takes the heap's lock) and converts the result to the C types.
//
// Locking (what vmh/c/vmh.h promises): every function but prefix_status_name makes exactly one
// call of a locked member (allocate, try_allocate, allocate_range, resize, deallocate,
// usable_size, owns, stats(), stats(b), bucket_count, validate), so each C call is atomic with
// respect to every other C call and to the locked members called from C++. The members that do
// not take the lock (geometry, metadata_bytes, mapper, base) are not reachable from C; a C++
// caller must not run geometry or metadata_bytes concurrently with configure on the same heap.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "c/vmh.h"
#include "heap.hpp"
#include "status.hpp"

namespace vmh::c_api {

static_assert(VMH_OK == static_cast<int>(status::ok) && VMH_INVALID_SIZE == static_cast<int>(status::invalid_size) &&
                  VMH_INVALID_ALIGNMENT == static_cast<int>(status::invalid_alignment) &&
                  VMH_NO_BLOCK == static_cast<int>(status::no_block) &&
                  VMH_NO_MEMORY == static_cast<int>(status::no_memory) &&
                  VMH_FOREIGN_POINTER == static_cast<int>(status::foreign_pointer) &&
                  VMH_INTERIOR_POINTER == static_cast<int>(status::interior_pointer) &&
                  VMH_DOUBLE_FREE == static_cast<int>(status::double_free) &&
                  VMH_EXCEEDS_BLOCK == static_cast<int>(status::exceeds_block) &&
                  VMH_NOT_CONFIGURED == static_cast<int>(status::not_configured) &&
                  VMH_NO_BUCKET == static_cast<int>(status::no_bucket),
              "vmh/c/vmh.h: enum vmh_status must list vmh::status in order");

/// What the C functions need from a heap: the public interface of vmh::heap.
template <class H>
concept c_heap = requires(H& h, const H& ch, void* p, std::size_t n) {
  { h.allocate(n, n) } -> std::same_as<void*>;
  { h.try_allocate(n, n) } -> std::same_as<grant>;
  { h.allocate_range(n, n, n, n) } -> std::same_as<grant>;
  { h.resize(p, n) } -> std::same_as<status>;
  { h.deallocate(p) } -> std::same_as<status>;
  { ch.usable_size(p) } -> std::convertible_to<std::size_t>;
  { ch.owns(p) } -> std::same_as<bool>;
  { ch.stats() } -> std::same_as<heap_stats>;
  { ch.stats(n) } -> std::same_as<bucket_stats>;
  { ch.bucket_count() } -> std::convertible_to<std::size_t>;
  { ch.validate() } -> std::same_as<check>;
};

namespace detail {

inline vmh_status to_c(status s) noexcept { return static_cast<vmh_status>(s); }
inline vmh_grant to_c(const grant& g) noexcept { return {g.ptr, g.size, to_c(g.status)}; }

template <c_heap H>
void* alloc(H& h, std::size_t size) noexcept { return h.allocate(size); }
template <c_heap H>
void* aligned_alloc(H& h, std::size_t align, std::size_t size) noexcept {
  // align 0 would mean "the layout's minimum"; C's aligned_alloc has no such value, but
  // accepting it is harmless and matches the other functions.
  return h.allocate(size, align);
}
template <c_heap H>
vmh_grant try_alloc(H& h, std::size_t size, std::size_t align) noexcept { return to_c(h.try_allocate(size, align)); }
template <c_heap H>
vmh_grant alloc_range(H& h, std::size_t min, std::size_t preferred, std::size_t align, std::size_t granule) noexcept {
  return to_c(h.allocate_range(min, preferred, align, granule));
}
template <c_heap H>
vmh_status resize(H& h, void* ptr, std::size_t new_size) noexcept { return to_c(h.resize(ptr, new_size)); }
template <c_heap H>
vmh_status free(H& h, void* ptr) noexcept { return to_c(h.deallocate(ptr)); }
template <c_heap H>
std::size_t usable_size(const H& h, const void* ptr) noexcept { return h.usable_size(ptr); }
template <c_heap H>
int owns(const H& h, const void* ptr) noexcept { return h.owns(ptr) ? 1 : 0; }
template <c_heap H>
void stats(const H& h, vmh_stats* out) noexcept {
  if (out == nullptr) return;
  const heap_stats s = h.stats();
  *out = {s.live_allocations, s.bytes_in_blocks, s.peak_bytes_in_blocks, s.pages_mapped,
          s.peak_pages_mapped, s.failed_no_block, s.failed_no_memory};
}
template <c_heap H>
std::size_t bucket_count(const H& h) noexcept { return h.bucket_count(); }
template <c_heap H>
int bucket_stats(const H& h, std::size_t b, vmh_bucket_stats* out) noexcept {
  // One locked snapshot: every bucket of a layout has blocks, and stats(b) is all zeros past the
  // last bucket, so its block count says whether bucket b exists at the time of that snapshot.
  const vmh::bucket_stats s = h.stats(b);
  if (out != nullptr) *out = {s.block_size, s.block_count, s.in_use, s.peak_in_use, s.full_failures};
  return s.block_count != 0 ? 1 : 0;
}
template <c_heap H>
int validate(const H& h) noexcept { return static_cast<int>(h.validate().broken); }
inline const char* status_name(vmh_status s) noexcept { return to_string(static_cast<status>(s)); }

}  // namespace detail
}  // namespace vmh::c_api

/// Defines the C functions of VMH_C_DECLARE(prefix) over `heap_object`, an lvalue of a vmh::heap
/// type declared before this line. Use at namespace scope, once per prefix in the program.
#define VMH_C_API(prefix, heap_object)                                                                    \
  static_assert(::vmh::c_api::c_heap<::std::remove_cvref_t<decltype(heap_object)>>,                       \
                "VMH_C_API: the second argument must be a vmh::heap object");                             \
  extern "C" {                                                                                            \
  VMH_C_DECLARE(prefix);                                                                                  \
  void* prefix##_alloc(::std::size_t size) { return ::vmh::c_api::detail::alloc(heap_object, size); }     \
  void* prefix##_aligned_alloc(::std::size_t align, ::std::size_t size) {                                 \
    return ::vmh::c_api::detail::aligned_alloc(heap_object, align, size);                                 \
  }                                                                                                       \
  vmh_grant prefix##_try_alloc(::std::size_t size, ::std::size_t align) {                                 \
    return ::vmh::c_api::detail::try_alloc(heap_object, size, align);                                     \
  }                                                                                                       \
  vmh_grant prefix##_alloc_range(::std::size_t min, ::std::size_t preferred, ::std::size_t align,         \
                                 ::std::size_t granule) {                                                 \
    return ::vmh::c_api::detail::alloc_range(heap_object, min, preferred, align, granule);                \
  }                                                                                                       \
  vmh_status prefix##_resize(void* ptr, ::std::size_t new_size) {                                         \
    return ::vmh::c_api::detail::resize(heap_object, ptr, new_size);                                      \
  }                                                                                                       \
  vmh_status prefix##_free(void* ptr) { return ::vmh::c_api::detail::free(heap_object, ptr); }            \
  ::std::size_t prefix##_usable_size(const void* ptr) {                                                   \
    return ::vmh::c_api::detail::usable_size(heap_object, ptr);                                           \
  }                                                                                                       \
  int prefix##_owns(const void* ptr) { return ::vmh::c_api::detail::owns(heap_object, ptr); }             \
  void prefix##_stats(vmh_stats* out) { ::vmh::c_api::detail::stats(heap_object, out); }                  \
  ::std::size_t prefix##_bucket_count(void) { return ::vmh::c_api::detail::bucket_count(heap_object); }   \
  int prefix##_bucket_stats(::std::size_t bucket, vmh_bucket_stats* out) {                                \
    return ::vmh::c_api::detail::bucket_stats(heap_object, bucket, out);                                  \
  }                                                                                                       \
  int prefix##_validate(void) { return ::vmh::c_api::detail::validate(heap_object); }                     \
  const char* prefix##_status_name(vmh_status status) { return ::vmh::c_api::detail::status_name(status); } \
  }                                                                                                       \
  static_assert(true, "")

/// Defines `constinit HeapType prefix_vmh_heap{}` and its C functions. The heap type must be
/// constant-initializable (a fixed layout over its static arena, as vmh::heap's defaults give).
/// The type is the variadic argument, so that template arguments may contain commas.
#define VMH_C_API_DEFINE(prefix, ...)        \
  constinit __VA_ARGS__ prefix##_vmh_heap{}; \
  VMH_C_API(prefix, prefix##_vmh_heap)
