// Window policy: the range of addresses the heap's virtual range lives in (a static arena, a
// linker-defined window, an mmap reservation). Not to be confused with the backing heap
// (packed_heap.hpp), which places small requests inside it.
//
// Concept `window_range<B>`:
//
//     std::byte* b.base()              // start of the range; not null, aligned to the layout's page size
//     const std::byte* b.base() const  // the same start, read-only
//     std::size_t b.size() const       // bytes; must be at least the layout's virtual size
//
// The heap checks all three when it is constructed or configured, and stays unconfigured if one
// fails: `layout_error::window_too_small`, `window_null`, `window_misaligned` (in that order).
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <concepts>
#include <cstddef>

namespace vmh {

/// What the heap needs of a window: `b.base()`, its start (not null, aligned to the
/// layout's page size), read-only on a const range, and `b.size()`, its bytes (at least the
/// layout's virtual size).
template <class B>
concept window_range = requires(B& b, const B& cb) {
  { b.base() } -> std::same_as<std::byte*>;
  { cb.base() } -> std::same_as<const std::byte*>;
  { cb.size() } -> std::convertible_to<std::size_t>;
};

/// Storage inside the heap object itself: `Bytes` bytes aligned to `Align` (a page). With a
/// fixed layout the heap can then be `constinit` and lives in .bss.
template <std::size_t Bytes, std::size_t Align = 4096>
struct static_arena {
  static_assert(Bytes > 0, "vmh static_arena: size must be non-zero");
  /// The range itself, zero-initialized.
  alignas(Align) std::byte storage[Bytes] = {};
  /// Start of the range.
  constexpr std::byte* base() noexcept { return storage; }
  /// Start of the range, read-only.
  constexpr const std::byte* base() const noexcept { return storage; }
  /// Bytes of the range: `Bytes`.
  constexpr std::size_t size() const noexcept { return Bytes; }
  /// True: the range is part of the object that holds it, not supplied from outside.
  static constexpr bool is_static = true;
};

/// A window named at compile time: `Window` is an array of static storage (a global, or a
/// linker-placed section), and `Bytes` its size (by default the array's). The type holds
/// nothing, so a `constinit` heap over it keeps no pointer in its object: with a mapper with no
/// state either (`budget_mapper`, `null_mapper`, the Zephyr mapper) the heap is all zero, in
/// `.bss`, with no initial image in flash.
template <auto& Window, std::size_t Bytes = sizeof(Window)>
  requires std::convertible_to<decltype(Window), std::byte*>  // an array of std::byte
struct static_window {
  /// Start of the window.
  constexpr std::byte* base() noexcept { return Window; }
  /// Start of the window, read-only.
  constexpr const std::byte* base() const noexcept { return Window; }
  /// Bytes of the window: `Bytes`.
  constexpr std::size_t size() const noexcept { return Bytes; }
};

/// A range supplied by the user: a linker-defined region, an mmap reservation, a DSP's virtual
/// window. The heap does not own it. A null base is refused (`layout_error::window_null`): the
/// block at offset 0 would be the null pointer, which callers read as a failure.
class external_range {
 public:
  constexpr external_range() noexcept = default;
  /// A byte range: usable in constant expressions, so a heap over it can be `constinit`.
  constexpr external_range(std::byte* base, std::size_t bytes) noexcept : base_(base), size_(bytes) {}
  /// A range from any pointer (e.g. what mmap returned); not usable in constant expressions.
  external_range(void* base, std::size_t bytes) noexcept : base_(static_cast<std::byte*>(base)), size_(bytes) {}
  /// Start of the range (null when default-constructed).
  constexpr std::byte* base() noexcept { return base_; }
  /// Start of the range (null when default-constructed), read-only.
  constexpr const std::byte* base() const noexcept { return base_; }
  /// Bytes of the range.
  constexpr std::size_t size() const noexcept { return size_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vmh
