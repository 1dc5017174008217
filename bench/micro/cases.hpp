// Microbenchmark cases shared by vmh-bench (Google Benchmark, time) and vmh-instr (a plain
// driver run under callgrind, instructions). Each case is a class template over an allocator
// adapter; its constructor prepares the heap (untimed), `step` does the work of one iteration
// and the destructor frees what is left, so every allocator does exactly the same calls with
// the same pre-generated random choices.
//
// Adapters give one interface to very different allocators:
//   void* allocate(size, align)            align 0: the allocator's own default (vmh: the
//                                          layout's min_align; sys_heap: 8; pmr and malloc: 16)
//   void  deallocate(ptr, size, align)     size and align as allocated (pmr needs them)
//   std::size_t physical_used()            optional: physical bytes in use (fill level)
//   range_result allocate_range(min, preferred, align)      optional
//   void* allocate_growable(now, later) / resize(ptr, old, new)   optional
//
// The physical budget is 1 MiB everywhere (SOF's buffer region). "Fill" is measured per
// allocator as what it really consumes: mapped bytes for vmh and the SOF VMH model, allocated
// bytes (headers included) for the sys_heap model, requested bytes for pmr and malloc, which
// have no budget of their own.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <memory_resource>
#include <type_traits>
#include <utility>
#include <vector>

#include <vmh/vmh.hpp>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "baselines/sys_heap.hpp"
#include "workloads/generators.hpp"

#ifndef VMH_HAVE_SOF_VMH
#define VMH_HAVE_SOF_VMH 0
#endif
#if VMH_HAVE_SOF_VMH
#include "real/sof_real.h"
#endif

namespace vmh::bench {

inline constexpr std::size_t physical_bytes = std::size_t{1} << 20;
inline constexpr std::size_t page_bytes = 4096;
inline constexpr presets::geometric_params vmh_params = presets::auto_params(physical_bytes);
using vmh_layout = fixed_layout<presets::geometric<vmh_params>()>;

// ---------------------------------------------------------------------------------------------
// Pre-generated random choices. One fixed seed; every allocator reads the same arrays.

inline constexpr std::uint64_t seed = 20240611;
inline constexpr std::size_t draw_count = std::size_t{1} << 16;  // a power of two: index & mask
inline constexpr std::size_t draw_mask = draw_count - 1;
inline constexpr std::uint32_t min_size = 16;
// Size laws: log-uniform from min_size to the largest size below a power of two, so that the
// power-of-two classes of the steady cases stay inside the law.
inline constexpr std::uint32_t wide_max = 65535;  ///< 16 B .. 64 KiB
inline constexpr std::uint32_t small_max = 4095;  ///< 16 B .. 4 KiB
/// 16 B .. 16 KiB: every request of this law goes to vmh's backing heap (the auto layout's packed
/// region takes fixed requests up to its limit, 16 KiB).
inline constexpr std::uint32_t packed_max = 16383;
static_assert(packed_max < vmh_layout::geometry.packed.limit, "vmh bench: the 16 B-16 KiB law is the backing heap's");

/// The random choices of one size law (log-uniform in [min_size, MaxSize]); the seed is the
/// same for every law, so a law's sequence does not depend on which other laws are in use.
template <std::uint32_t MaxSize>
struct draws {
  std::vector<std::uint32_t> sizes;  ///< random alloc/free
  std::vector<std::uint32_t> fill;   ///< the same law, another stream: sizes that pre-fill a heap
  std::vector<std::uint32_t> picks;  ///< uniform 32-bit draws: which live block a step replaces

  draws() : sizes(draw_count), fill(draw_count), picks(draw_count) {
    workloads::lcg rng{seed};
    auto size = [&rng] {
      return static_cast<std::uint32_t>(std::min<std::uint64_t>(rng.log_uniform(min_size, MaxSize + 1), MaxSize));
    };
    for (std::uint32_t& s : sizes) s = size();
    for (std::uint32_t& s : fill) s = size();
    for (std::uint32_t& p : picks) p = rng.next();
  }
};

template <std::uint32_t MaxSize = wide_max>
const draws<MaxSize>& shared_draws() {
  static const draws<MaxSize> d;
  return d;
}

/// Uniform index in [0, n) from a 32-bit draw, without a division.
inline std::size_t scale(std::uint32_t draw, std::size_t n) {
  return static_cast<std::size_t>((static_cast<std::uint64_t>(draw) * n) >> 32);
}

// ---------------------------------------------------------------------------------------------
// Allocator adapters

struct range_result {
  void* ptr = nullptr;
  std::size_t size = 0;
  std::size_t attempts = 0;  ///< calls into the allocator (SOF's loop); 1 for a one-decision front end
};

/// vmh: a fixed geometric layout for 1 MiB (the auto layout) with a static arena (21 MiB of
/// virtual blocks). With `counting_mapper` (name "vmh") pages are mapped against a 1 MiB budget;
/// with `null_mapper` (name "vmh_null") the blocks are plain RAM and no page is tracked. The heap
/// object holds its arena, so it is created once per process on the free store; every case
/// leaves it empty.
template <class Mapper, bool Statistics = true>
class vmh_adapter_for {
 public:
  using heap_type = heap<vmh_layout, Mapper, typename heap<vmh_layout, Mapper>::window_type, no_lock,
                         heap_options{.statistics = Statistics}>;
  static constexpr bool maps_pages = std::is_same_v<Mapper, counting_mapper>;
  static_assert(Statistics || maps_pages, "without statistics only the mapper tells what is in use");
  static constexpr const char* name = !Statistics ? "vmh_nostats" : maps_pages ? "vmh" : "vmh_null";

  static heap_type& shared() {
    static const std::unique_ptr<heap_type> h = [] {
      if constexpr (maps_pages) return std::make_unique<heap_type>(counting_mapper{physical_bytes});
      else return std::make_unique<heap_type>();
    }();
    return *h;
  }

  vmh_adapter_for() : h_(shared()) {}
  bool empty() const {
    // Every allocation maps at least one page: with no statistics, no mapped page means no allocation.
    if constexpr (!Statistics) return physical_used() == 0;
    else return h_.stats().live_allocations == 0 && physical_used() == 0;
  }

  void* allocate(std::size_t n, std::size_t align) { return h_.allocate(n, align); }
  void deallocate(void* p, std::size_t, std::size_t) { h_.deallocate(p); }
  /// Mapped bytes; on plain RAM the bytes held by live allocations, in buckets' blocks and in
  /// the packed region alike (the statistics' `bytes_in_blocks`).
  std::size_t physical_used() const {
    if constexpr (maps_pages) return h_.mapper().mapped();
    else return h_.stats().bytes_in_blocks;
  }

  range_result allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    const grant g = h_.allocate_range(min, preferred, align);
    return {g.ptr, g.size, 1};
  }
  /// A block that can later grow to `later` bytes in place, holding `now` bytes.
  void* allocate_growable(std::size_t now, std::size_t later) {
    void* p = h_.allocate(later);
    if (p != nullptr && h_.resize(p, now) != status::ok) {
      h_.deallocate(p);
      return nullptr;
    }
    return p;
  }
  void* resize(void* p, std::size_t, std::size_t n) { return h_.resize(p, n) == status::ok ? p : nullptr; }
  bool validate() const { return static_cast<bool>(h_.validate()); }

 private:
  heap_type& h_;
};
using vmh_adapter = vmh_adapter_for<counting_mapper>;
using vmh_null_adapter = vmh_adapter_for<null_mapper>;
/// vmh with page mapping and no statistics (`heap_options::statistics` off), as sys_heap's default
/// configuration keeps none.
using vmh_nostats_adapter = vmh_adapter_for<counting_mapper, false>;

/// The sys_heap model over a 1 MiB buffer: more than 0x7fff units, so a big heap (64-bit host).
/// "sys_heap" has Zephyr's default configuration (no runtime statistics); "sys_heap_stats" has
/// CONFIG_SYS_HEAP_RUNTIME_STATS on.
template <class Model>
class sys_heap_adapter_for {
 public:
  using model = Model;
  static constexpr const char* name = model::has_stats ? "sys_heap_stats" : "sys_heap";

  sys_heap_adapter_for() : mem_(std::make_unique<block[]>(physical_bytes / sizeof(block))), h_(mem_.get(), physical_bytes) {}
  bool empty() const { return h_.valid_heap() && h_.allocated_bytes() == 0; }

  void* allocate(std::size_t n, std::size_t align) {
    return align > model::header_bytes ? h_.aligned_alloc(align, n) : h_.alloc(n);
  }
  void deallocate(void* p, std::size_t, std::size_t) { h_.free(p); }
  /// Bytes of the used chunks (without statistics a walk over the heap: setup only).
  std::size_t physical_used() const { return h_.allocated_bytes(); }

  range_result allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return allocate(s, a); }, min, preferred, align);
    return {g.ptr, g.size, g.attempts};
  }
  void* allocate_growable(std::size_t now, std::size_t) { return h_.alloc(now); }
  void* resize(void* p, std::size_t, std::size_t n) { return h_.realloc(p, n); }
  bool validate() const { return h_.validate(); }

 private:
  struct alignas(page_bytes) block {
    std::byte bytes[page_bytes];
  };
  std::unique_ptr<block[]> mem_;
  model h_;
};
using sys_heap_adapter = sys_heap_adapter_for<baseline::sys_heap_big_nostats>;
using sys_heap_stats_adapter = sys_heap_adapter_for<baseline::sys_heap_big>;

/// The bit array's rule of the sof_vmh rows: SOF's pin (baseline::sof_bit_array_fit); in a build
/// with SOF's real VMH (VMH_HAVE_SOF_VMH, micro/real_heap.hpp) the rule of the Zephyr tree that
/// is built from, so that the model does the work the real code of the row beside it does
/// (`scripts/instructions.sh --fidelity` compares the two). On an empty bundle the rules take
/// the same block.
inline baseline::bit_array_fit sof_vmh_rows_fit() {
#if VMH_HAVE_SOF_VMH
  static const baseline::bit_array_fit fit =
      vmh_real_bit_array_gap_rule() != 0 ? baseline::bit_array_fit::gap : baseline::bit_array_fit::lowest;
  return fit;
#else
  return baseline::sof_bit_array_fit;
#endif
}

/// The SOF VMH model with SOF's default table (1.25 MiB of virtual blocks) and 1 MiB of pages.
/// Like SOF it ignores the alignment argument: a block is aligned by its position.
class sof_vmh_adapter {
 public:
  static constexpr const char* name = "sof_vmh";

  sof_vmh_adapter()
      : h_(baseline::sof_default_table, page_bytes, physical_bytes / page_bytes, baseline::sof_vmh_model::default_base,
           sof_vmh_rows_fit()) {}
  bool empty() const { return h_.valid() && h_.mapped_pages() == 0; }

  void* allocate(std::size_t n, std::size_t align) { return h_.alloc(n, align); }
  void deallocate(void* p, std::size_t, std::size_t) { h_.free(p); }
  std::size_t physical_used() const { return h_.mapped_pages() * page_bytes; }

  range_result allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return h_.alloc(s, a); }, min, preferred, align);
    return {g.ptr, g.size, g.attempts};
  }
  bool validate() const { return h_.validate(); }

 private:
  baseline::sof_vmh_model h_;
};

/// std::pmr::unsynchronized_pool_resource with its default options over new/delete.
class pmr_pool_adapter {
 public:
  static constexpr const char* name = "pmr_pool";

  bool empty() const { return true; }
  void* allocate(std::size_t n, std::size_t align) { return pool_.allocate(n, effective(align)); }
  void deallocate(void* p, std::size_t n, std::size_t align) { pool_.deallocate(p, n, effective(align)); }

 private:
  static std::size_t effective(std::size_t align) { return align == 0 ? alignof(std::max_align_t) : align; }
  std::pmr::unsynchronized_pool_resource pool_;
};

/// The C library's malloc (glibc on the host).
class malloc_adapter {
 public:
  static constexpr const char* name = "malloc";

  bool empty() const { return true; }
  void* allocate(std::size_t n, std::size_t align) {
    if (align <= alignof(std::max_align_t)) return std::malloc(n);
    return std::aligned_alloc(align, (n + align - 1) / align * align);
  }
  void deallocate(void* p, std::size_t, std::size_t) { std::free(p); }
};

/// No allocator: every request gets the same static pointer and nothing is kept. A case run on
/// it costs only the case's own work (the loop, the draws, the choice of a live block), which
/// vmh-instr subtracts from every allocator's count of the same case.
class no_allocator {
 public:
  static constexpr const char* name = "none";

  bool empty() const { return true; }
  void* allocate(std::size_t, std::size_t) { return slot_; }
  void deallocate(void*, std::size_t, std::size_t) {}
  range_result allocate_range(std::size_t min, std::size_t, std::size_t) { return {slot_, min, 1}; }
  void* allocate_growable(std::size_t, std::size_t) { return slot_; }
  void* resize(void* p, std::size_t, std::size_t) { return p; }

 private:
  alignas(64) static inline std::byte slot_[64];
};

template <class A>
concept reports_physical = requires(const A& a) { a.physical_used(); };
template <class A>
concept has_range = requires(A& a, std::size_t n) { a.allocate_range(n, n, n); };
template <class A>
concept has_resize = requires(A& a, void* p, std::size_t n) {
  a.allocate_growable(n, n);
  a.resize(p, n, n);
};

// ---------------------------------------------------------------------------------------------
// Cases. Common shape: `ready()` (false with `error()` when the setup failed), `step(keep)`
// (returns 1 when an operation the step needed failed), `ops_per_step`, `consistent()`
// (checked after the measured steps) and `counters(put, iterations)` for the figures beyond
// time. `keep(ptr)` stops the compiler from discarding a result: benchmark::DoNotOptimize in
// vmh-bench, an empty asm statement in vmh-instr.

/// State every case carries: the adapter and whether the setup worked.
template <class A>
class case_base {
 public:
  using adapter = A;
  bool ready() const { return error_ == nullptr; }
  const char* error() const { return error_; }
  /// The allocator's own consistency check, where it has one (not constant time: call it after
  /// the measured steps).
  bool consistent() const {
    if constexpr (requires { a_.validate(); }) return a_.validate();
    else return true;
  }

 protected:
  case_base() {
    if (!a_.empty()) error_ = "the allocator is not empty at the start of the case";
  }
  A a_;
  const char* error_ = nullptr;
};

/// Allocate and free one fixed size: one pair per step.
template <class A>
class alloc_free_fixed : public case_base<A> {
 public:
  static constexpr std::size_t ops_per_step = 2;
  alloc_free_fixed(std::size_t size, std::size_t align) : size_(size), align_(align) {
    void* p = this->a_.allocate(size_, align_);
    if (p == nullptr) this->error_ = "the size cannot be allocated on an empty heap";
    else this->a_.deallocate(p, size_, align_);
  }
  template <class Keep>
  unsigned step(Keep&& keep) {
    void* p = this->a_.allocate(size_, align_);
    keep(p);
    if (p == nullptr) return 1;
    this->a_.deallocate(p, size_, align_);
    return 0;
  }
  template <class Put>
  void counters(Put&&, std::size_t) const {}

 private:
  std::size_t size_, align_;
};

/// Allocate and free a random size (log-uniform 16 B .. MaxSize, pre-generated): one pair per step.
template <class A, std::uint32_t MaxSize = wide_max>
class alloc_free_random : public case_base<A> {
 public:
  static constexpr std::size_t ops_per_step = 2;
  alloc_free_random() : sizes_(shared_draws<MaxSize>().sizes.data()) {}
  template <class Keep>
  unsigned step(Keep&& keep) {
    const std::size_t n = sizes_[next_++ & draw_mask];
    void* p = this->a_.allocate(n, 0);
    keep(p);
    if (p == nullptr) return 1;
    this->a_.deallocate(p, n, 0);
    return 0;
  }
  template <class Put>
  void counters(Put&&, std::size_t) const {}

 private:
  const std::uint32_t* sizes_;
  std::size_t next_ = 0;
};

/// A live block of a pre-filled heap.
struct live_block {
  void* ptr;
  std::uint32_t size;
};

/// A heap pre-filled to `percent` of the 1 MiB budget with blocks of mixed sizes (the fill draws
/// in order, the same for every allocator). A block that fails, or that would take the fill more
/// than 1% of the budget past the target, is given back and the next size tried. A fill the
/// allocator cannot reach is an error, unless the case accepts the highest fill it can reach
/// (`best_effort`): then `fill_pct` tells what it got. Sizes follow the law 16 B .. MaxSize.
template <class A, std::uint32_t MaxSize = wide_max>
class filled : public case_base<A> {
 public:
  double fill_percent() const { return 100.0 * static_cast<double>(used()) / static_cast<double>(physical_bytes); }
  std::size_t live_count() const { return live_.size(); }

  filled(const filled&) = delete;
  filled& operator=(const filled&) = delete;

 protected:
  enum class reach : bool { required, best_effort };

  explicit filled(unsigned percent, reach r = reach::required) : picks_(shared_draws<MaxSize>().picks.data()) {
    if (this->ready()) fill_to(percent, r);
  }
  ~filled() {
    for (const live_block& b : live_)
      if (b.ptr != nullptr) this->a_.deallocate(b.ptr, b.size, 0);
  }

  /// Adds blocks from the fill draws until the fill reaches `percent` of the budget.
  void fill_to(unsigned percent, reach r = reach::required) {
    const std::size_t target = physical_bytes / 100 * percent;
    const std::size_t slack = physical_bytes / 100;
    const std::vector<std::uint32_t>& fill = shared_draws<MaxSize>().fill;
    live_.reserve(1024);
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < fill.size() && used() < target && rejected < 1000; ++i) {
      const std::uint32_t size = fill[i];
      void* p = this->a_.allocate(size, 0);
      if (p == nullptr) {
        ++rejected;
        continue;
      }
      requested_ += size;
      if (used() > target + slack) {
        this->a_.deallocate(p, size, 0);
        requested_ -= size;
        ++rejected;
        continue;
      }
      live_.push_back({p, size});
      rejected = 0;
    }
    if (r == reach::required && used() + slack < target)
      this->error_ = "the allocator cannot reach this fill with these sizes";
  }

  /// Frees a random live block and allocates a block of the same power-of-two size class in
  /// its place: the class's spare size. The freed size becomes the new spare, so the bytes of
  /// the live blocks plus the spares never change, and the fill stays within one spare per class
  /// of its level instead of wandering. If the spare size fails, the freed size is allocated
  /// again (and 1 returned); if that fails too, the slot stays empty until it is picked again.
  template <class Keep>
  unsigned replace(Keep&& keep) {
    live_block& b = live_[scale(picks_[next_pick_++ & draw_mask], live_.size())];
    std::uint32_t& spare = spares_[std::bit_width(b.size)];
    if (b.ptr != nullptr) this->a_.deallocate(b.ptr, b.size, 0);
    void* p = this->a_.allocate(spare, 0);
    unsigned failed = 0;
    if (p != nullptr) {
      std::swap(b.size, spare);
    } else {
      failed = 1;
      p = this->a_.allocate(b.size, 0);
    }
    keep(p);
    b.ptr = p;
    return failed;
  }

  std::size_t used() const {
    if constexpr (reports_physical<A>) return this->a_.physical_used();
    else return requested_;
  }

  std::vector<live_block> live_;
  std::size_t requested_ = 0;  ///< bytes requested by the fill (pmr and malloc report no usage)

 private:
  /// spares_[w]: the spare size of class [2^(w-1), 2^w), starting at the middle of the class.
  static constexpr auto initial_spares() {
    std::array<std::uint32_t, 33> s{};
    for (std::size_t w = 2; w < s.size(); ++w) s[w] = std::uint32_t{3} << (w - 2);
    return s;
  }
  std::array<std::uint32_t, 33> spares_ = initial_spares();
  const std::uint32_t* picks_;
  std::size_t next_pick_ = 0;
};

/// Steady state at a fill level: each step replaces one random live block (`filled::replace`);
/// a step counts as failed when the block had to fall back to its previous size.
template <class A, std::uint32_t MaxSize = wide_max>
class steady : public filled<A, MaxSize> {
 public:
  static constexpr std::size_t ops_per_step = 2;
  explicit steady(unsigned percent) : filled<A, MaxSize>(percent) {}

  template <class Keep>
  unsigned step(Keep&& keep) {
    return this->replace(keep);
  }
  template <class Put>
  void counters(Put&& put, std::size_t) const {
    put("fill_pct", this->fill_percent());
    put("live", static_cast<double>(this->live_count()));
  }
};

/// A range request under memory pressure: min 4 KiB, preferred 64 KiB, 64-aligned, on a heap
/// filled to `percent` and then aged by `churn_steps` replacements (a heap that only ever
/// allocated has all its free memory in one piece; a working one does not). The grant is freed
/// in the same step. An allocator that cannot reach the fill runs at the highest it reaches.
template <class A>
class range_pressure : public filled<A> {
 public:
  static constexpr std::size_t ops_per_step = 2;
  static constexpr std::size_t min = 4096, preferred = 65536, align = 64;
  static constexpr std::size_t churn_steps = 2000;
  explicit range_pressure(unsigned percent) : filled<A>(percent, filled<A>::reach::best_effort) {
    if (!this->ready()) return;
    for (std::size_t i = 0; i < churn_steps; ++i) this->replace([](void*) {});
  }

  template <class Keep>
  unsigned step(Keep&& keep) {
    const range_result r = this->a_.allocate_range(min, preferred, align);
    keep(r.ptr);
    attempts_ += r.attempts;
    if (r.ptr == nullptr) return 1;
    granted_ += r.size;
    this->a_.deallocate(r.ptr, r.size, align);
    return 0;
  }
  template <class Put>
  void counters(Put&& put, std::size_t iterations) const {
    const double n = iterations == 0 ? 1.0 : static_cast<double>(iterations);
    put("attempts", static_cast<double>(attempts_) / n);
    put("granted_KiB", static_cast<double>(granted_) / 1024.0 / n);
    put("fill_pct", this->fill_percent());
  }

 private:
  std::size_t attempts_ = 0, granted_ = 0;
};

/// Grow a 4 KiB block to 48 KiB and shrink it back: two resizes per step. The block is created
/// before the heap is filled to `percent`, so it has live neighbours when percent > 0. vmh
/// resizes in place (the block was chosen to hold 48 KiB); sys_heap reallocs, which moves the
/// block when its right neighbour cannot supply the growth (counted).
template <class A>
class resize_cycle : public filled<A> {
 public:
  static constexpr std::size_t ops_per_step = 2;
  static constexpr std::size_t small = 4096, large = 48 * 1024;
  explicit resize_cycle(unsigned percent) : filled<A>(0) {
    ptr_ = this->a_.allocate_growable(small, large);
    if (ptr_ == nullptr) {
      this->error_ = "cannot allocate the block to resize";
      return;
    }
    this->fill_to(percent);
  }
  ~resize_cycle() {
    if (ptr_ != nullptr) this->a_.deallocate(ptr_, size_, 0);
  }

  template <class Keep>
  unsigned step(Keep&& keep) {
    void* grown = this->a_.resize(ptr_, small, large);
    keep(grown);
    if (grown == nullptr) return 1;
    moves_ += grown != ptr_;
    size_ = large;
    void* shrunk = this->a_.resize(grown, large, small);
    keep(shrunk);
    if (shrunk == nullptr) {
      ptr_ = grown;
      return 1;
    }
    moves_ += shrunk != grown;
    ptr_ = shrunk;
    size_ = small;
    return 0;
  }
  template <class Put>
  void counters(Put&& put, std::size_t iterations) const {
    put("moves", static_cast<double>(moves_) / (iterations == 0 ? 1.0 : static_cast<double>(iterations)));
    put("fill_pct", this->fill_percent());
  }

 private:
  void* ptr_ = nullptr;
  std::size_t size_ = small;
  std::size_t moves_ = 0;
};

}  // namespace vmh::bench
