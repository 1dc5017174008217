// Page mapper policy: puts physical pages behind virtual pages, and takes them away.
//
// Concept `page_mapper<M>`:
//
//     bool m.map(std::byte* addr, std::size_t bytes)    // addr and bytes are multiples of the heap's page size
//     void m.unmap(std::byte* addr, std::size_t bytes)  // only ranges that map() accepted, possibly in pieces
//
// `map` is all or nothing: when it returns false, no page of the range may stay mapped. The heap
// calls `map` only for pages that no live allocation uses and `unmap` as soon as none does, in
// one run per call (at most one map call per allocation), and never maps a page twice.
//
// Optional capabilities (present or absent, never stubbed):
//  - `static constexpr bool tracks_pages = false;`  nothing is ever mapped or unmapped; the heap
//    then keeps no per-page reference counts at all (plain RAM).
//  - `std::size_t m.available() const`   bytes the mapper could still map; the range front end
//    uses it to size a grant to the physical memory actually left.
//  - `std::size_t m.mapped() const`      bytes currently mapped; `heap::validate` checks it.
#pragma once

#include "detail/standard.hpp"  // first: the C++20 check

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "detail/bits.hpp"

namespace vmh {

/// What the heap needs of a page mapper: `bool map(addr, bytes)`, all or nothing, and
/// `unmap(addr, bytes)` of ranges `map` accepted; both in multiples of the heap's page size.
/// Optional: `tracks_pages`, `available()` and `mapped()` (mapper.hpp's header comment).
template <class M>
concept page_mapper = requires(M& m, std::byte* p, std::size_t n) {
  { m.map(p, n) } -> std::same_as<bool>;
  m.unmap(p, n);
};

namespace detail {
template <class M>
constexpr bool tracks_pages() noexcept {
  if constexpr (requires { M::tracks_pages; }) return M::tracks_pages;
  else return true;
}
template <class M>
concept reports_available = requires(const M& m) { { m.available() } -> std::convertible_to<std::size_t>; };
template <class M>
concept reports_mapped = requires(const M& m) { { m.mapped() } -> std::convertible_to<std::size_t>; };
}  // namespace detail

/// Plain RAM: every page is always there. The heap keeps no page counts with this mapper.
struct null_mapper {
  /// Nothing is ever mapped or unmapped: the heap keeps no per-page counts.
  static constexpr bool tracks_pages = false;
  /// Always succeeds; does nothing.
  constexpr bool map(std::byte*, std::size_t) noexcept { return true; }
  /// Does nothing.
  constexpr void unmap(std::byte*, std::size_t) noexcept {}
};

/// A model of a physical page pool (a DSP's SRAM): maps up to its budget, counts what is mapped
/// and its peak, and can be told to refuse a chosen map call (fault injection). `Budget` 0: the
/// budget is given at run time (`counting_mapper`, the constructor; unlimited by default);
/// otherwise it is that many bytes, a constant (`budget_mapper<Bytes>`), and the mapper holds
/// nothing but its counters, all zero: a `constinit` heap over it (and over a window with no
/// state, `static_window`) is all zero, in `.bss`, with no initial image in flash.
template <std::size_t Budget = 0>
class basic_counting_mapper {
 public:
  constexpr basic_counting_mapper() noexcept = default;
  /// A pool of `budget_bytes` physical bytes (the default constructor's pool is unlimited: SIZE_MAX).
  constexpr explicit basic_counting_mapper(std::size_t budget_bytes) noexcept
    requires(Budget == 0)
      : spare_(SIZE_MAX - budget_bytes) {}

  /// Counts `bytes` as mapped. Returns false, mapping nothing, when they exceed `available()` or
  /// this is the call `fail_map_call` chose (either counts as a failure).
  VMH_HOT_SMALL constexpr bool map(std::byte*, std::size_t bytes) noexcept {
    ++map_calls_;
    if (map_calls_ == fail_call_ || bytes > budget() - mapped_) {
      ++failures_;
      return false;
    }
    mapped_ += bytes;
    if (mapped_ > peak_) peak_ = mapped_;
    return true;
  }
  /// Counts `bytes` as no longer mapped. Requires: they were mapped.
  VMH_HOT_SMALL constexpr void unmap(std::byte*, std::size_t bytes) noexcept {
    ++unmap_calls_;
    mapped_ -= bytes;
  }

  /// Bytes that can still be mapped: the budget less what is mapped.
  constexpr std::size_t available() const noexcept { return budget() - mapped_; }
  /// Bytes mapped now.
  constexpr std::size_t mapped() const noexcept { return mapped_; }
  /// Most bytes ever mapped at once.
  constexpr std::size_t peak() const noexcept { return peak_; }
  /// Bytes the pool holds (SIZE_MAX: unlimited).
  constexpr std::size_t budget() const noexcept {
    if constexpr (Budget == 0) return SIZE_MAX - spare_;
    else return Budget;
  }
  /// `map` calls so far, refused ones included.
  constexpr std::size_t map_calls() const noexcept { return map_calls_; }
  /// `unmap` calls so far.
  constexpr std::size_t unmap_calls() const noexcept { return unmap_calls_; }
  /// `map` calls refused so far (over budget or injected).
  constexpr std::size_t failures() const noexcept { return failures_; }

  /// Refuse the n-th map call from now (1 = the next one); 0 cancels.
  constexpr void fail_map_call(std::size_t n) noexcept { fail_call_ = n == 0 ? 0 : map_calls_ + n; }
  /// Change the budget; it may not go below what is mapped (a budget given at run time only).
  constexpr void set_budget(std::size_t bytes) noexcept
    requires(Budget == 0)
  {
    if constexpr (Budget == 0) spare_ = SIZE_MAX - (bytes < mapped_ ? mapped_ : bytes);
  }

 private:
  /// SIZE_MAX - budget: zero for "unlimited", so a default mapper is all zero (.bss); nothing
  /// with a constant budget
  [[no_unique_address]] std::conditional_t<Budget == 0, std::size_t, detail::empty> spare_{};
  std::size_t mapped_ = 0;
  std::size_t peak_ = 0;
  std::size_t map_calls_ = 0;
  std::size_t unmap_calls_ = 0;
  std::size_t failures_ = 0;
  std::size_t fail_call_ = 0;
};

/// The counting mapper with its budget given at run time: `counting_mapper{bytes}`.
using counting_mapper = basic_counting_mapper<>;
/// The counting mapper with a constant budget of `Bytes` (> 0): all zero when nothing is mapped.
template <std::size_t Bytes>
  requires(Bytes > 0)
using budget_mapper = basic_counting_mapper<Bytes>;

}  // namespace vmh
