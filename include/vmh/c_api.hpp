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
// fw_free, fw_alloc_range, fw_resize, fw_grow, fw_stats, ... Each prefix is an independent heap;
// several can live in one program. The functions are thin: each forwards to one member of
// vmh::heap (which takes the heap's lock) and converts the result to the C types. Any heap type
// works, with or without statistics (`heap_options::statistics` off: `_stats` and
// `_bucket_stats` answer 0).
//
// Locking (what vmh/c/vmh.h promises): every function but prefix_metadata_bytes,
// prefix_status_name, prefix_invariant_name and prefix_set_misuse_handler makes exactly one call of a locked member
// (allocate, try_allocate, allocate_range, resize, grow, deallocate, usable_size, owns, stats(),
// stats(b), bucket_count, set_range_policy, get_range_policy, validate), so each C call is atomic
// with respect to every other C call and to the locked members called from C++.
// prefix_metadata_bytes reads the layout without the lock, as heap::metadata_bytes does: a C++
// caller must not run configure concurrently with it (or with geometry) on the same heap.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "c/vmh.h"
#include "heap.hpp"
#include "misuse.hpp"
#include "range_policy.hpp"
#include "status.hpp"
#include "validate.hpp"

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
static_assert(VMH_INVARIANT_OK == static_cast<int>(invariant::ok) &&
                  VMH_INVARIANT_NOT_CONFIGURED == static_cast<int>(invariant::not_configured) &&
                  VMH_INVARIANT_BITMAP_SUMMARY == static_cast<int>(invariant::bitmap_summary) &&
                  VMH_INVARIANT_BITMAP_PADDING == static_cast<int>(invariant::bitmap_padding) &&
                  VMH_INVARIANT_IN_USE_COUNT == static_cast<int>(invariant::in_use_count) &&
                  VMH_INVARIANT_PEAK_IN_USE == static_cast<int>(invariant::peak_in_use) &&
                  VMH_INVARIANT_FULL_MASK == static_cast<int>(invariant::full_mask) &&
                  VMH_INVARIANT_FREE_BLOCK_SIZE == static_cast<int>(invariant::free_block_size) &&
                  VMH_INVARIANT_ORPHAN_BLOCK == static_cast<int>(invariant::orphan_block) &&
                  VMH_INVARIANT_RUN_OVERFLOW == static_cast<int>(invariant::run_overflow) &&
                  VMH_INVARIANT_PAGE_REFS == static_cast<int>(invariant::page_refs) &&
                  VMH_INVARIANT_PAGES_MAPPED == static_cast<int>(invariant::pages_mapped) &&
                  VMH_INVARIANT_MAPPER_MAPPED == static_cast<int>(invariant::mapper_mapped) &&
                  VMH_INVARIANT_BLOCK_BYTES == static_cast<int>(invariant::block_bytes) &&
                  VMH_INVARIANT_LIVE_ALLOCATIONS == static_cast<int>(invariant::live_allocations) &&
                  VMH_INVARIANT_PACKED_REGION == static_cast<int>(invariant::packed_region),
              "vmh/c/vmh.h: enum vmh_invariant must list vmh::invariant in order");
static_assert(VMH_RANGE_RESERVE == static_cast<int>(range_policy::rule::reserve) &&
                  VMH_RANGE_ADAPTIVE == static_cast<int>(range_policy::rule::adaptive) &&
                  VMH_RANGE_FIXED == static_cast<int>(range_policy::rule::fixed),
              "vmh/c/vmh.h: enum vmh_range_rule must list vmh::range_policy::rule in order");

/// What the C functions need from a heap: the public interface of vmh::heap. Statistics are
/// optional (`heap_options::statistics` off removes `stats`): see `keeps_stats`.
template <class H>
concept c_heap = requires(H& h, const H& ch, void* p, std::size_t n, range_policy rp) {
  { h.allocate(n, n) } -> std::same_as<void*>;
  { h.try_allocate(n, n) } -> std::same_as<grant>;
  { h.allocate_range(n, n, n, n) } -> std::same_as<grant>;
  { h.resize(p, n) } -> std::same_as<status>;
  { h.grow(p, n, n) } -> std::same_as<grant>;
  { h.deallocate(p) } -> std::same_as<status>;
  { ch.usable_size(p) } -> std::convertible_to<std::size_t>;
  { ch.owns(p) } -> std::same_as<bool>;
  { ch.bucket_count() } -> std::convertible_to<std::size_t>;
  { ch.metadata_bytes() } -> std::convertible_to<std::size_t>;
  h.set_range_policy(rp);
  { ch.get_range_policy() } -> std::same_as<range_policy>;
  { ch.validate() } -> std::same_as<check>;
};

/// True when heap type H keeps statistics (`stats()` and `stats(b)` exist).
template <class H>
concept keeps_stats = requires(const H& ch, std::size_t n) {
  { ch.stats() } -> std::same_as<heap_stats>;
  { ch.stats(n) } -> std::same_as<bucket_stats>;
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
vmh_grant grow(H& h, void* ptr, std::size_t preferred, std::size_t granule) noexcept {
  return to_c(h.grow(ptr, preferred, granule));
}
template <c_heap H>
int stats(const H& h, vmh_stats* out) noexcept {
  if constexpr (keeps_stats<H>) {
    const heap_stats s = h.stats();
    if (out != nullptr)
      *out = {s.live_allocations, s.bytes_in_blocks, s.peak_bytes_in_blocks, s.pages_mapped,
              s.peak_pages_mapped, s.failed_no_block, s.failed_no_memory};
    return 1;
  } else {
    if (out != nullptr) *out = {};
    return 0;
  }
}
template <c_heap H>
std::size_t bucket_count(const H& h) noexcept { return h.bucket_count(); }
template <c_heap H>
int bucket_stats(const H& h, std::size_t b, vmh_bucket_stats* out) noexcept {
  if constexpr (keeps_stats<H>) {
    // One locked snapshot: every bucket of a layout has blocks, and stats(b) is all zeros past
    // the last bucket, so its block count says whether bucket b exists at that snapshot.
    const vmh::bucket_stats s = h.stats(b);
    if (out != nullptr) *out = {s.block_size, s.block_count, s.in_use, s.peak_in_use, s.full_failures};
    return s.block_count != 0 ? 1 : 0;
  } else {
    if (out != nullptr) *out = {};
    return 0;
  }
}
template <c_heap H>
std::size_t metadata_bytes(const H& h) noexcept { return h.metadata_bytes(); }

// The value a C enum holds, read as its underlying integer: C code may pass any int, and reading
// an out-of-range value through the C++ enum type would be undefined behaviour.
template <class E>
constexpr std::underlying_type_t<E> raw(const E& e) noexcept {
  return std::bit_cast<std::underlying_type_t<E>>(e);
}
template <class E>
constexpr bool in_enum(const E& e, E first, E last) noexcept {
  return raw(e) >= raw(first) && raw(e) <= raw(last);
}

inline constexpr unsigned long u32_max = 0xffffffffUL;
template <c_heap H>
int set_range_policy(H& h, const vmh_range_policy& p) noexcept {
  // Only the rules vmh::range_policy knows, and numbers that fit its 32-bit fields, are accepted.
  if (!in_enum(p.kind, VMH_RANGE_RESERVE, VMH_RANGE_FIXED)) return 0;
  if (p.share_num > u32_max || p.share_den > u32_max || p.reserve_mins > u32_max) return 0;
  h.set_range_policy(range_policy{static_cast<range_policy::rule>(raw(p.kind)), static_cast<std::uint32_t>(p.share_num),
                                  static_cast<std::uint32_t>(p.share_den), static_cast<std::uint32_t>(p.reserve_mins)});
  return 1;
}
template <c_heap H>
vmh_range_policy range_policy_of(const H& h) noexcept {
  const range_policy p = h.get_range_policy();
  return {static_cast<vmh_range_rule>(p.kind), p.share_num, p.share_den, p.reserve_mins};
}
template <c_heap H>
vmh_invariant validate(const H& h) noexcept { return static_cast<vmh_invariant>(h.validate().broken); }
// The enums' values are checked before the conversion: an out-of-range int would wrap modulo
// 256 into the 8-bit C++ enums and name another value.
inline const char* status_name(const vmh_status& s) noexcept {
  return in_enum(s, VMH_OK, VMH_NO_BUCKET) ? to_string(static_cast<status>(raw(s))) : "unknown";
}
inline const char* invariant_name(const vmh_invariant& i) noexcept {
  return in_enum(i, VMH_INVARIANT_OK, VMH_INVARIANT_PACKED_REGION) ? to_string(static_cast<invariant>(raw(i)))
                                                                      : "unknown";
}

// The C handler behind vmh's misuse handler: C code's function takes enum vmh_status, so a
// C++ handler forwards to it.
inline std::atomic<vmh_misuse_handler> c_misuse_handler{nullptr};
inline void forward_misuse(status what, const void* ptr) noexcept {
  if (const vmh_misuse_handler h = c_misuse_handler.load(std::memory_order_relaxed)) h(to_c(what), ptr);
}
inline void set_misuse_handler(vmh_misuse_handler handler) noexcept {
  c_misuse_handler.store(handler, std::memory_order_relaxed);
  vmh::set_misuse_handler(handler != nullptr ? forward_misuse : nullptr);  // null: the default
}

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
  vmh_grant prefix##_grow(void* ptr, ::std::size_t preferred, ::std::size_t granule) {                    \
    return ::vmh::c_api::detail::grow(heap_object, ptr, preferred, granule);                              \
  }                                                                                                       \
  vmh_status prefix##_free(void* ptr) { return ::vmh::c_api::detail::free(heap_object, ptr); }            \
  ::std::size_t prefix##_usable_size(const void* ptr) {                                                   \
    return ::vmh::c_api::detail::usable_size(heap_object, ptr);                                           \
  }                                                                                                       \
  int prefix##_owns(const void* ptr) { return ::vmh::c_api::detail::owns(heap_object, ptr); }             \
  int prefix##_stats(vmh_stats* out) { return ::vmh::c_api::detail::stats(heap_object, out); }            \
  ::std::size_t prefix##_bucket_count(void) { return ::vmh::c_api::detail::bucket_count(heap_object); }   \
  int prefix##_bucket_stats(::std::size_t bucket, vmh_bucket_stats* out) {                                \
    return ::vmh::c_api::detail::bucket_stats(heap_object, bucket, out);                                  \
  }                                                                                                       \
  ::std::size_t prefix##_metadata_bytes(void) { return ::vmh::c_api::detail::metadata_bytes(heap_object); } \
  int prefix##_set_range_policy(vmh_range_policy policy) {                                                \
    return ::vmh::c_api::detail::set_range_policy(heap_object, policy);                                   \
  }                                                                                                       \
  vmh_range_policy prefix##_range_policy(void) { return ::vmh::c_api::detail::range_policy_of(heap_object); } \
  vmh_invariant prefix##_validate(void) { return ::vmh::c_api::detail::validate(heap_object); }           \
  const char* prefix##_status_name(vmh_status status) { return ::vmh::c_api::detail::status_name(status); } \
  const char* prefix##_invariant_name(vmh_invariant invariant) {                                          \
    return ::vmh::c_api::detail::invariant_name(invariant);                                               \
  }                                                                                                       \
  void prefix##_set_misuse_handler(vmh_misuse_handler handler) {                                         \
    ::vmh::c_api::detail::set_misuse_handler(handler);                                                    \
  }                                                                                                       \
  }                                                                                                       \
  static_assert(true, "")

/// Defines `constinit HeapType prefix_vmh_heap{}` and its C functions. The heap type must be
/// constant-initializable (a fixed layout over its static arena, as vmh::heap's defaults give).
/// The type is the variadic argument, so that template arguments may contain commas.
#define VMH_C_API_DEFINE(prefix, ...)        \
  constinit __VA_ARGS__ prefix##_vmh_heap{}; \
  VMH_C_API(prefix, prefix##_vmh_heap)
