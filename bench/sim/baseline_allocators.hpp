// The baselines behind sim::allocator, written over the heap handles of
// baselines/sof_heaps.hpp, so that a model (sim/allocators.cpp) and the real code it models
// (bench/real/server.cpp) are replayed by the same adapter: whatever differs between the two is
// the heap underneath.
//
//  - sys_heap_allocator: Zephyr's sys_heap over exactly the budget, SOF's range loop; `e` is
//    realloc (it may move); `g` grows into the free right neighbour only.
//  - sof_vmh_allocator:  SOF's VMH alone with the pages its budget leaves after its bookkeeping
//    (the whole budget when uncharged); SOF's range loop; `e` is allocate + free (SOF has no
//    resize), which needs both blocks; `g` never grows.
//  - sof_design_allocator: sof_today_heaps or sof_vpage_heaps (SOF's two heaps).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "baselines/range_loop.hpp"
#include "baselines/sof_heaps.hpp"
#include "baselines/sof_vmh.hpp"
#include "sim/replay.hpp"
#include "sim/waste.hpp"

namespace vmh::sim {

/// sys_heap over a handle with alloc, aligned_alloc, realloc, free, in_place_limit,
/// grow_in_place, bytes and validate (baseline::model_system_heap, or the real heap).
template <class Heap>
class sys_heap_allocator final : public allocator {
 public:
  explicit sys_heap_allocator(Heap&& heap) : heap_(std::move(heap)) {}

  outcome allocate(std::size_t size, std::size_t align) override {
    // The heap takes the plain path itself when align <= its header, as the real heap does.
    void* p = align != 0 ? heap_.aligned_alloc(align, size) : heap_.alloc(size);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    // No chunk is larger than the heap's buffer.
    const baseline::range_grant g = baseline::sof_range_loop_bounded(
        [this](std::size_t s, std::size_t a) { return allocate(s, a).ptr; }, min, preferred, align, heap_.bytes());
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override { return heap_.realloc(ptr, new_size); }
  std::size_t grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) override {
    const std::size_t reach = std::min(preferred, heap_.in_place_limit(ptr));
    const std::size_t want = reach / granule * granule;
    if (want <= size) return size;
    heap_.grow_in_place(ptr, want);  // reaches `want`: it is within the limit
    return want;
  }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  std::size_t committed_bytes() const override { return heap_.bytes(); }
  std::size_t peak_committed_bytes() const override { return heap_.bytes(); }
  bool validate() const override { return heap_.validate(); }
  /// Each block's chunk (header, unit rounding and alignment gap included); the chunks may span
  /// every unit after chunk 0: the rest of the budget (chunk 0, the end marker's footer) is
  /// metadata. Only a model can tell (the real heap over its pipe cannot).
  bool place(std::span<const live_block> live, sram_placement& out) const override {
    if constexpr (requires { heap_.visit([](const auto&) { return true; }); }) {
      return heap_.visit([&](const auto& m) {
        using model = std::remove_cvref_t<decltype(m)>;
        if (!m.valid_heap()) return false;
        out.model = sram_model::region;
        out.usable = (m.units() - m.chunk0_units()) * model::unit;
        for (const live_block& b : live) {
          const std::size_t chunk = m.chunk_units(b.ptr) * model::unit;
          if (chunk == 0) return false;  // not a live block of this heap
          out.live.push_back({m.offset_of(b.ptr) + m.usable_size(b.ptr) - chunk, b.size, chunk});
        }
        return true;
      });
    } else {
      (void)live, (void)out;
      return false;
    }
  }

 private:
  Heap heap_;
};

/// SOF's VMH alone over a handle with alloc, free, mapped_pages, peak_mapped_pages,
/// budget_pages, largest and validate (baseline::model_vmh built alone, or the real heap);
/// `metadata` is its bookkeeping, charged or not as the budget was.
template <class Vmh>
class sof_vmh_allocator final : public allocator {
 public:
  sof_vmh_allocator(Vmh&& heap, std::size_t page, std::size_t metadata, bool charged)
      : heap_(std::move(heap)), page_(page), metadata_(metadata), charged_(charged) {}

  outcome allocate(std::size_t size, std::size_t align) override {
    (void)align;  // SOF's VMH ignores it: a block is aligned by its position
    void* p = heap_.alloc(size);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    // One block per request: nothing above the largest block, or the page budget, is granted.
    const baseline::range_grant g = baseline::sof_range_loop_bounded(
        [this](std::size_t s, std::size_t) { return heap_.alloc(s); }, min, preferred, align, heap_.largest());
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override {
    void* moved = heap_.alloc(new_size);
    if (moved != nullptr) heap_.free(ptr);
    return moved;
  }
  // SOF's VMH allocates and frees whole blocks and has no call that grows one (nor one that
  // tells a block's size), so a firmware cannot deepen a buffer it does not move.
  std::size_t grow(void*, std::size_t size, std::size_t, std::size_t) override { return size; }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  std::size_t committed_bytes() const override { return heap_.mapped_pages() * page_; }
  std::size_t peak_committed_bytes() const override { return heap_.peak_mapped_pages() * page_; }
  bool validate() const override { return heap_.validate(); }
  std::size_t metadata_bytes() const override { return metadata_; }
  bool metadata_charged() const override { return charged_; }
  std::size_t page_size() const override { return page_; }
  std::size_t page_budget_bytes() const override { return heap_.budget_pages() * page_; }
  /// Each block's (or run's) bytes, and the pages the model has mapped (a model only).
  bool place(std::span<const live_block> live, sram_placement& out) const override {
    if constexpr (requires { heap_.model().page_mapped(0); }) {
      const auto& m = heap_.model();
      if (!m.valid()) return false;
      out.model = sram_model::pages;
      out.page = page_;
      out.usable = page_budget_bytes();
      for (const live_block& b : live) {
        void* p = const_cast<void*>(b.ptr);  // the model's queries take a plain pointer and never write through it
        const std::size_t reserved = m.usable_size(p);
        if (reserved == 0) return false;  // not a live block of this heap
        out.live.push_back({reinterpret_cast<std::uintptr_t>(p) - m.base(), b.size, reserved});
      }
      for (std::size_t q = 0; q < m.virtual_bytes() / page_; ++q)
        if (m.page_mapped(q)) out.mapped_pages.push_back(q);
      return true;
    } else {
      (void)live, (void)out;
      return false;
    }
  }

 private:
  Vmh heap_;
  std::size_t page_, metadata_;
  bool charged_;
};

/// One of SOF's two-heap designs (baseline::sof_today_heaps, baseline::sof_vpage_heaps): the
/// system heap's region is SRAM held for good, the virtual side's pages are mapped on demand.
template <class Heaps>
class sof_design_allocator final : public allocator {
 public:
  /// `metadata`: the virtual side's bookkeeping (in the system heap, or static); `pages`: the
  /// pages the virtual side may map.
  sof_design_allocator(Heaps&& heaps, std::size_t metadata, bool charged, std::size_t pages)
      : heaps_(std::move(heaps)), metadata_(metadata), charged_(charged), pages_(pages) {}

  outcome allocate(std::size_t size, std::size_t align) override {
    void* p = heaps_.allocate(size, align);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    const baseline::range_grant g = heaps_.allocate_range(min, preferred, align);
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t old_size, std::size_t new_size) override {
    return heaps_.resize(ptr, old_size, new_size);
  }
  // Neither design grows a block in place: SOF resizes by allocating anew.
  std::size_t grow(void*, std::size_t size, std::size_t, std::size_t) override { return size; }
  void deallocate(void* ptr) override { heaps_.free(ptr); }
  std::size_t committed_bytes() const override { return heaps_.committed_bytes(); }
  std::size_t peak_committed_bytes() const override { return heaps_.peak_committed_bytes(); }
  bool validate() const override { return heaps_.validate(); }
  std::size_t metadata_bytes() const override { return metadata_; }
  bool metadata_charged() const override { return charged_; }
  std::size_t page_size() const override { return heaps_.page_size(); }
  std::size_t page_budget_bytes() const override { return pages_ * heaps_.page_size(); }
  std::size_t region_bytes() const override { return heaps_.system().bytes(); }
  bool paged(const void* p) const override { return heaps_.virtual_heap().owns(p); }

 private:
  Heaps heaps_;
  std::size_t metadata_;
  bool charged_;
  std::size_t pages_;
};

}  // namespace vmh::sim
