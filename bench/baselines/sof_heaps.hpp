// What SOF runs for audio buffers in 2026, as two baselines over two heaps that share the SRAM
// budget (docs/baselines.md states each choice and what is uncertain):
//
//  - sof_today_heaps (V0, SOF main, Sept 2026): Zephyr's sys_heap, cached, and SOF's VMH. Host
//    and DAI DMA buffers (range requests) go through SOF's range loop, each step trying the
//    system heap first and then the VMH for the same size; component buffers (fixed requests)
//    go to the VMH. The VMH's bookkeeping is taken from the system heap at init, as SOF's
//    rzalloc takes it.
//  - sof_vpage_heaps (V1, the stated direction): range requests, and fixed requests of a page
//    or more, take eagerly mapped page runs from the vpage allocator; smaller fixed requests go
//    to the system heap. The vpage bit array is taken from the system heap at init.
//
// Both: the system heap is cached on ACE, so every allocation on it is aligned to at least 64 B
// and its size rounded up to a multiple of 64 (SOF's heap_alloc_aligned); a resize is SOF's
// buffer_set_size, which allocates the new size on the block's own path first and then frees
// the old block (a failed grow keeps the old block; a failed shrink keeps it too, with the
// smaller size recorded); neither grows a block in place.
//
// The policies are written once over "heap handles", so that the same code drives the models
// (the handles below) and the real code (bench/real): only the heaps underneath differ.
//   System: aligned_alloc(align, bytes) -> void*, free(void*) -> bool, owns(const void*),
//           bytes() (its region), validate()
//   Vmh:    alloc(bytes) -> void*, free(void*) -> bool, owns, mapped_pages(),
//           peak_mapped_pages(), largest() (no larger request can succeed), validate()
//   Pages:  alloc(pages) -> void*, free(void*) -> bool, owns, mapped_pages(),
//           peak_mapped_pages(), pages(), validate()
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <unordered_map>
#include <utility>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "baselines/sof_vpage.hpp"
#include "baselines/sys_heap.hpp"

namespace vmh::baseline {

/// The cache line of the ACE DSPs: the cached system heap's alignment and size granule.
inline constexpr std::size_t sof_cache_line = 64;

/// SOF's split of the SRAM between its system heap and its virtual heap: 256 KiB : 1 MiB.
inline constexpr std::size_t sof_split_system = 256, sof_split_virtual = 1024;

/// How a budget of `physical` bytes is shared: the virtual side gets whole pages, as many as its
/// share (physical * 1024 / 1280, less `virtual_static` bytes of static bookkeeping) holds; the
/// system heap gets the rest, so no byte of the budget is left out.
struct sof_split {
  std::size_t system_bytes = 0, virtual_pages = 0;
};
constexpr sof_split split_budget(std::size_t physical, std::size_t page, std::size_t virtual_static = 0) {
  const std::size_t share = physical / (sof_split_system + sof_split_virtual) * sof_split_virtual +
                            physical % (sof_split_system + sof_split_virtual) * sof_split_virtual /
                                (sof_split_system + sof_split_virtual);
  const std::size_t pages = share > virtual_static ? (share - virtual_static) / page : 0;
  return {physical - virtual_static - pages * page, pages};
}

/// SOF's cached system-heap allocation: alignment at least a cache line, size rounded up to one.
template <class System>
void* cached_alloc(System& sys, std::size_t align, std::size_t bytes) {
  if (bytes == 0 || bytes > std::numeric_limits<std::size_t>::max() - (sof_cache_line - 1)) return nullptr;
  return sys.aligned_alloc(align > sof_cache_line ? align : sof_cache_line,
                           (bytes + sof_cache_line - 1) / sof_cache_line * sof_cache_line);
}

/// V0's paths (see the file comment): a DMA buffer's step tries the system heap, then the VMH;
/// a component buffer takes the VMH (which ignores the alignment, as SOF's does).
struct today_design {
  template <class System, class Vmh>
  static void* place(System& sys, Vmh& vmh, std::size_t, bool dma, std::size_t size, std::size_t align) {
    if (dma)
      if (void* p = cached_alloc(sys, align, size); p != nullptr) return p;
    return size > std::numeric_limits<std::uint32_t>::max() ? nullptr : vmh.alloc(size);
  }
  /// No larger request can succeed.
  template <class System, class Vmh>
  static std::size_t largest(const System& sys, const Vmh& vmh, std::size_t) {
    return sys.bytes() > vmh.largest() ? sys.bytes() : vmh.largest();
  }
};

/// V1's paths (see the file comment): page runs for ranges and for a page or more,
/// page-aligned (no larger alignment exists); the system heap below a page.
struct vpage_design {
  template <class System, class Pages>
  static void* place(System& sys, Pages& pages, std::size_t page, bool range, std::size_t size, std::size_t align) {
    if (!range && size < page) return cached_alloc(sys, align, size);
    if (size == 0 || align > page) return nullptr;
    const std::size_t n = size / page + (size % page != 0);
    return n > pages.pages() ? nullptr : pages.alloc(n);
  }
  template <class System, class Pages>
  static std::size_t largest(const System&, const Pages& pages, std::size_t page) {
    return pages.pages() * page;
  }
};

/// One of SOF's designs over a system heap and a virtual heap: the two heaps, the block records
/// buffer_set_size needs (which path a block came from and its alignment, what SOF keeps in its
/// buffer structure), the range loop and the resize.
template <class System, class Virtual, class Design>
class sof_heaps {
 public:
  /// Pages of `page` bytes; the virtual heap's handle is built from the system heap (where its
  /// bookkeeping goes) and `args`.
  template <class... VirtualArgs>
  sof_heaps(System&& sys, std::size_t page, VirtualArgs&&... args)
      : page_(page), sys_(std::move(sys)), virt_(sys_, std::forward<VirtualArgs>(args)...) {}

  System& system() { return sys_; }
  Virtual& virtual_heap() { return virt_; }
  const System& system() const { return sys_; }
  const Virtual& virtual_heap() const { return virt_; }

  /// A fixed request, on the design's path for it.
  void* allocate(std::size_t size, std::size_t align) { return keep(place(false, size, align), false, align); }

  /// A range request (a DMA buffer): SOF's loop, each step on the design's path for ranges.
  range_grant allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
    range_grant g = sof_range_loop_bounded([this](std::size_t s, std::size_t a) { return place(true, s, a); }, min,
                                           preferred, align, Design::largest(sys_, virt_, page_));
    keep(g.ptr, true, align);
    return g;
  }

  bool free(void* p) {
    const auto it = blocks_.find(p);
    if (it == blocks_.end()) return false;
    blocks_.erase(it);
    return release(p);
  }

  /// buffer_set_size: the new size on the block's own path, then the old block freed. Returns
  /// the block now holding the data (the old one after a failed shrink), or null after a failed
  /// grow or for a size of 0, with the old block kept.
  void* resize(void* p, std::size_t old_size, std::size_t new_size) {
    const auto it = blocks_.find(p);
    if (it == blocks_.end() || new_size == 0) return nullptr;
    if (new_size == old_size) return p;
    const block b = it->second;
    void* fresh = place(b.range, new_size, b.align);
    if (fresh == nullptr) return new_size < old_size ? p : nullptr;
    blocks_.erase(it);
    release(p);
    blocks_.emplace(fresh, b);
    return fresh;
  }

  /// The system heap's whole region (SRAM it holds for its life) and the mapped pages.
  std::size_t committed_bytes() const { return sys_.bytes() + virt_.mapped_pages() * page_; }
  std::size_t peak_committed_bytes() const { return sys_.bytes() + virt_.peak_mapped_pages() * page_; }
  std::size_t page_size() const { return page_; }
  bool validate() const { return sys_.validate() && virt_.validate(); }

 private:
  struct block {
    bool range;
    std::size_t align;
  };
  void* place(bool range, std::size_t size, std::size_t align) {
    return Design::place(sys_, virt_, page_, range, size, align);
  }
  void* keep(void* p, bool range, std::size_t align) {
    if (p != nullptr) blocks_.emplace(p, block{range, align});
    return p;
  }
  bool release(void* p) { return virt_.owns(p) ? virt_.free(p) : sys_.free(p); }

  std::size_t page_;
  System sys_;
  Virtual virt_;
  std::unordered_map<void*, block> blocks_;
};

/// V0: the cached system heap and the VMH.
template <class System, class Vmh>
using sof_today_heaps = sof_heaps<System, Vmh, today_design>;
/// V1: the cached system heap and vpage's page runs.
template <class System, class Pages>
using sof_vpage_heaps = sof_heaps<System, Pages, vpage_design>;

// ---------------------------------------------------------------------------------------------
// The model handles

/// The sys_heap model over a buffer it owns (page-aligned, as on the DSP) of `bytes`: a small
/// heap when the 32-bit heap would be one (sys_heap_small_headers), else a big heap, both as on
/// the 32-bit DSP with runtime statistics on. valid() is false when the buffer cannot hold a
/// heap (fits() is false) or the host has no memory for it; then no other call may be made.
class model_system_heap {
  // Calls f on whichever of the two heap kinds this is.
  template <class F>
  auto on(F&& f) {
    return small_ ? f(*small_) : f(*big_);
  }

 public:
  explicit model_system_heap(std::size_t bytes)
      : bytes_(bytes), mem_(fits(bytes) ? new (std::nothrow) page[(bytes + sizeof(page) - 1) / sizeof(page)] : nullptr) {
    if (!mem_) return;
    if (sys_heap_small_headers(bytes)) small_ = std::make_unique<sys_heap_small>(mem_.get(), bytes);
    else big_ = std::make_unique<sys_heap_big32>(mem_.get(), bytes);
  }
  /// Whether a buffer of `bytes` can hold the heap.
  static constexpr bool fits(std::size_t bytes) {
    return sys_heap_small_headers(bytes) ? sys_heap_small::fits(bytes) : sys_heap_big32::fits(bytes);
  }

  bool valid() const { return small_ ? small_->valid_heap() : big_ && big_->valid_heap(); }
  void* alloc(std::size_t bytes) { return on([&](auto& h) { return h.alloc(bytes); }); }
  void* aligned_alloc(std::size_t align, std::size_t bytes) {
    return on([&](auto& h) { return h.aligned_alloc(align, bytes); });
  }
  void* realloc(void* p, std::size_t bytes) { return on([&](auto& h) { return h.realloc(p, bytes); }); }
  bool free(void* p) { return on([&](auto& h) { return h.free(p); }); }
  /// The usable bytes the block could reach in place (sys_heap_model::in_place_limit).
  std::size_t in_place_limit(void* p) { return on([&](auto& h) { return h.in_place_limit(p); }); }
  /// Grows the block in place to `bytes` (at most in_place_limit).
  void grow_in_place(void* p, std::size_t bytes) {
    on([&](auto& h) { return h.grow_in_place(p, bytes); });
  }
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p), m = reinterpret_cast<std::uintptr_t>(mem_.get());
    return a >= m && a - m < bytes_;
  }
  std::size_t bytes() const { return bytes_; }
  bool validate() const { return small_ ? small_->validate() : big_ && big_->validate(); }
  /// Calls f on the heap model, read-only (for the SRAM split).
  template <class F>
  auto visit(F&& f) const {
    return small_ ? f(static_cast<const sys_heap_small&>(*small_)) : f(static_cast<const sys_heap_big32&>(*big_));
  }

 private:
  struct alignas(4096) page {
    std::byte b[4096];
  };
  std::size_t bytes_;
  std::unique_ptr<page[]> mem_;
  std::unique_ptr<sys_heap_small> small_;
  std::unique_ptr<sys_heap_big32> big_;
};

/// What the two virtual-heap handles below share: a model, and the bookkeeping its real init
/// takes from the system heap. When the system heap could not hold it (`bookkeeping_failed()`),
/// SOF's init would fail and no such heap would exist, so the handle refuses every request.
template <class Model>
class charged_model {
 public:
  bool bookkeeping_failed() const { return failed_; }
  void* alloc(std::size_t n) { return failed_ ? nullptr : model_.alloc(n); }
  bool free(void* p) { return model_.free(p); }
  bool owns(const void* p) const { return model_.owns(p); }
  std::size_t mapped_pages() const { return model_.mapped_pages(); }
  std::size_t peak_mapped_pages() const { return model_.peak_mapped_pages(); }
  bool validate() const { return model_.validate(); }
  /// The bookkeeping the real allocator keeps (see each handle), charged or not.
  std::size_t metadata_bytes() const { return metadata_; }
  const Model& model() const { return model_; }

 protected:
  explicit charged_model(Model&& m) : model_(std::move(m)) {}
  /// Takes `bytes` of bookkeeping from `sys` as one allocation.
  template <class System>
  void take(System& sys, std::size_t bytes) {
    if (failed_ || bytes == 0) return;
    failed_ = cached_alloc(sys, 0, bytes) == nullptr;
  }
  Model model_;
  std::size_t metadata_ = 0;
  bool failed_ = false;
};

/// The VMH model with a table and a page budget. Built with a system heap (sof_today), its
/// bookkeeping counts as metadata and, with `charge`, is allocated from that heap first, one
/// allocation per structure as SOF's init makes them (they stay for the heap's life). Built
/// alone (sof_vmh), the caller charges bookkeeping_bytes() to the budget.
class model_vmh : public charged_model<sof_vmh_model> {
 public:
  model_vmh(std::span<const sof_bundle> table, std::size_t page, std::size_t pages,
            bit_array_fit fit = sof_bit_array_fit)
      : charged_model(sof_vmh_model(table, page, pages, sof_vmh_model::default_base, fit)) {
    for (const sof_bundle& b : table) largest_ = largest_ > b.block_size ? largest_ : b.block_size;
    largest_ = largest_ < pages * page ? largest_ : pages * page;
  }
  template <class System>
  model_vmh(System& sys, std::span<const sof_bundle> table, std::size_t page, std::size_t pages, bool charge,
            bit_array_fit fit = sof_bit_array_fit)
      : model_vmh(table, page, pages, fit) {
    sof_vmh_model::for_each_bookkeeping_allocation(table, [&](std::size_t n) {
      if (charge) take(sys, n);
      metadata_ += n;
    });
  }
  /// The bookkeeping the real heap keeps for `table` (sof_vmh_model::metadata_bytes).
  static std::size_t bookkeeping_bytes(std::span<const sof_bundle> table) { return sof_vmh_model::metadata_bytes(table); }

  bool valid() const { return model_.valid(); }
  std::size_t budget_pages() const { return model_.physical_pages_budget(); }
  std::size_t largest() const { return largest_; }

 private:
  std::size_t largest_ = 0;
};

/// The vpage model over a window; its bit array's words and its static context count as
/// metadata, and with `charge` the words are allocated from the system heap first (as vpage's
/// init takes them).
class model_vpage : public charged_model<sof_vpage_model> {
 public:
  template <class System>
  model_vpage(System& sys, std::size_t pages, std::size_t page, bool charge, bit_array_fit fit = sof_bit_array_fit,
              vpage_records records = vpage_records::mended)
      : charged_model(sof_vpage_model(pages, page, sof_vpage_model::default_base, fit, records)) {
    if (charge) take(sys, sof_vpage_model::bitmap_bytes(pages));
    metadata_ = sof_vpage_model::context_bytes + sof_vpage_model::bitmap_bytes(pages);
  }
  std::size_t pages() const { return model_.valid() ? model_.pages() : 0; }
};

}  // namespace vmh::baseline
