// The replay engine: runs a trace (format v1) against one allocator and reports what the
// requests got. Shared by vmh-sim, the demo and the tests.
//
// Allocators are adapters behind one small interface, so that every allocator sees exactly the
// same operations at the same physical budget:
//  - vmh:      vmh::heap on a runtime layout, with a counting_mapper whose budget is the
//              physical memory; its own range front end; resize in place.
//  - sys_heap: the sys_heap model over a buffer of exactly the physical size (a small heap when
//              it has at most 0x7fff units, else a big heap, both as on the 32-bit DSP); SOF's range
//              loop; `e` is realloc (it may move the block).
//  - sof_vmh:  the SOF VMH model with a physical page budget; SOF's range loop; `e` is
//              allocate + free (SOF has no resize), which needs both blocks at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vmh/vmh.hpp>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "baselines/sys_heap.hpp"
#include "workloads/trace.hpp"

namespace vmh::sim {

/// The heap type the simulator and planner use: any layout up to 64 buckets, 2^20 blocks and
/// 2^20 pages (4 GiB of 4 KiB pages), configured at run time.
using sim_layout = runtime_layout<64, (1u << 20), (1u << 20)>;
using sim_heap = heap<sim_layout, counting_mapper, external_range>;

/// The buckets of a geometric layout (empty when the parameters are unusable).
inline std::vector<bucket> geometric_layout(const presets::geometric_params& p) {
  bucket buckets[max_buckets];
  const std::size_t n = presets::geometric_buckets(p, buckets, max_buckets);
  return {buckets, buckets + n};
}

/// The library's zero-tuning layout for a physical budget (presets::auto_params).
inline std::vector<bucket> auto_layout(std::size_t physical, std::size_t page) {
  return geometric_layout(presets::auto_params(physical, page));
}

/// What one allocation request got.
struct outcome {
  void* ptr = nullptr;
  std::size_t size = 0;  ///< bytes granted
};

/// The interface every replayed allocator implements.
class allocator {
 public:
  virtual ~allocator() = default;
  virtual outcome allocate(std::size_t size, std::size_t align) = 0;
  virtual outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) = 0;
  /// Resizes the block at `ptr` from `old_size` to `new_size`; returns the (possibly moved)
  /// pointer, or null on failure with the block unchanged.
  virtual void* resize(void* ptr, std::size_t old_size, std::size_t new_size) = 0;
  virtual void deallocate(void* ptr) = 0;
  virtual std::size_t committed_bytes() const = 0;       ///< physical bytes committed now
  virtual std::size_t peak_committed_bytes() const = 0;  ///< most physical bytes committed at once
  virtual bool validate() const = 0;
};

/// Pages reserved for a heap's virtual range on the host: allocated, never touched, so the
/// operating system commits none of it.
class virtual_reservation {
 public:
  explicit virtual_reservation(std::size_t bytes, std::size_t align = 4096)
      : bytes_((bytes + align - 1) / align * align),
        mem_(static_cast<std::byte*>(std::aligned_alloc(align, bytes_ == 0 ? align : bytes_))) {}
  std::byte* data() const { return mem_.get(); }
  std::size_t size() const { return bytes_; }

 private:
  struct deleter {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::size_t bytes_;
  std::unique_ptr<std::byte, deleter> mem_;
};

/// vmh over a runtime layout.
class vmh_allocator final : public allocator {
 public:
  /// Fails (valid() false, error() set) when the layout is unusable.
  vmh_allocator(std::span<const bucket> layout, std::size_t physical, std::size_t page_size,
                range_policy policy = range_policy{})
      : range_(virtual_bytes(layout), page_size),
        heap_(std::make_unique<sim_heap>(external_range{range_.data(), range_.size()}, counting_mapper{physical})) {
    error_ = heap_->configure(layout.data(), layout.size(), page_size, min_align_of(layout));
    heap_->set_range_policy(policy);
  }
  /// The layout's minimum alignment: the largest power of two dividing every block size, at
  /// most a cache line (64), at least 8.
  static std::size_t min_align_of(std::span<const bucket> layout) {
    std::size_t align = default_min_align;
    for (const bucket& b : layout)
      while (align > 8 && b.block_size % align != 0) align /= 2;
    return align;
  }
  static std::size_t virtual_bytes(std::span<const bucket> layout) {
    std::size_t bytes = 0;
    for (const bucket& b : layout) bytes += b.block_size * b.block_count;
    return bytes;
  }
  bool valid() const { return error_ == layout_error::none; }
  layout_error error() const { return error_; }
  sim_heap& heap() { return *heap_; }

  outcome allocate(std::size_t size, std::size_t align) override {
    const grant g = heap_->try_allocate(size, align);
    return {g.ptr, g.size};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    const grant g = heap_->allocate_range(min, preferred, align);
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override {
    return heap_->resize(ptr, new_size) == status::ok ? ptr : nullptr;
  }
  void deallocate(void* ptr) override { heap_->deallocate(ptr); }
  std::size_t committed_bytes() const override { return heap_->mapper().mapped(); }
  std::size_t peak_committed_bytes() const override { return heap_->mapper().peak(); }
  bool validate() const override { return static_cast<bool>(heap_->validate()); }

 private:
  virtual_reservation range_;
  std::unique_ptr<sim_heap> heap_;
  layout_error error_ = layout_error::none;
};

/// The sys_heap model over exactly `physical` bytes.
template <class Model>
class sys_heap_allocator final : public allocator {
 public:
  explicit sys_heap_allocator(std::size_t physical)
      : physical_(physical), mem_(physical, 4096), heap_(mem_.data(), physical) {}  // page-aligned, as on the DSP: aligned results depend on it
  outcome allocate(std::size_t size, std::size_t align) override {
    // The model itself takes the plain path when align <= its header, as the real heap does.
    void* p = align != 0 ? heap_.aligned_alloc(align, size) : heap_.alloc(size);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return allocate(s, a).ptr; }, min, preferred, align);
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override { return heap_.realloc(ptr, new_size); }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  std::size_t committed_bytes() const override { return physical_; }
  std::size_t peak_committed_bytes() const override { return physical_; }
  bool validate() const override { return heap_.validate(); }

 private:
  std::size_t physical_;
  virtual_reservation mem_;
  Model heap_;
};

/// The SOF VMH model with its table and a physical page budget.
class sof_vmh_allocator final : public allocator {
 public:
  sof_vmh_allocator(std::span<const baseline::sof_bundle> table, std::size_t physical, std::size_t page_size)
      : page_(page_size), heap_(table, page_size, physical / page_size) {}
  bool valid() const { return heap_.valid(); }
  outcome allocate(std::size_t size, std::size_t align) override {
    void* p = heap_.alloc(size, align);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    const baseline::range_grant g = baseline::sof_range_loop(
        [this](std::size_t s, std::size_t a) { return heap_.alloc(s, a); }, min, preferred, align);
    return {g.ptr, g.size};
  }
  void* resize(void* ptr, std::size_t, std::size_t new_size) override {
    void* moved = heap_.alloc(new_size);
    if (moved != nullptr) heap_.free(ptr);
    return moved;
  }
  void deallocate(void* ptr) override { heap_.free(ptr); }
  std::size_t committed_bytes() const override { return heap_.mapped_pages() * page_; }
  std::size_t peak_committed_bytes() const override { return heap_.peak_mapped_pages() * page_; }
  bool validate() const override { return heap_.validate(); }

 private:
  std::size_t page_;
  baseline::sof_vmh_model heap_;
};

/// Makes the sys_heap model for a physical size as the 32-bit DSP has it: a small heap when it
/// fits 16-bit fields, else a big heap with 32-bit statistics.
inline std::unique_ptr<allocator> make_sys_heap(std::size_t physical) {
  if (physical / 8 <= baseline::sys_heap_small::max_units)
    return std::make_unique<sys_heap_allocator<baseline::sys_heap_small>>(physical);
  return std::make_unique<sys_heap_allocator<baseline::sys_heap_big32>>(physical);
}

/// The figures of one replay (the keys of specs/workloads.md).
struct report {
  std::size_t ops = 0, requests = 0, failed = 0;
  std::size_t fixed_requests = 0, fixed_failed = 0;
  std::size_t range_requests = 0, range_failed = 0;
  std::size_t range_granted_bytes = 0, range_preferred_bytes = 0;
  std::size_t resizes = 0, resizes_failed = 0, skipped = 0;
  std::size_t peak_live_bytes = 0, peak_physical_bytes = 0;
  long long first_failure_op = -1;
  bool valid_after = true;  ///< the allocator's own validation passed at the end

  double success_rate() const { return requests == 0 ? 1.0 : 1.0 - double(failed) / double(requests); }
  double granted_ratio() const {
    return range_preferred_bytes == 0 ? 1.0 : double(range_granted_bytes) / double(range_preferred_bytes);
  }
};

/// What happened to one operation, for callers that print a request-by-request account.
struct event {
  std::size_t index;
  const trace::op* op;
  bool ok;               ///< request or resize succeeded; for `f`, always true
  bool skipped;          ///< `e`/`f` of a failed request
  std::size_t granted;   ///< bytes granted (a, r, e)
  std::size_t committed; ///< physical bytes committed after the operation
};

/// Replays `ops` on `a`. `on_event` (optional) sees every operation after it ran.
template <class OnEvent = std::nullptr_t>
report replay(const std::vector<trace::op>& ops, allocator& a, OnEvent&& on_event = nullptr) {
  struct block {
    void* ptr;
    std::size_t size;
  };
  report r;
  std::unordered_map<std::uint64_t, block> live;
  live.reserve(1024);
  std::size_t live_bytes = 0;
  auto note = [&](std::size_t i, const trace::op& o, bool ok, bool skipped, std::size_t granted) {
    if (live_bytes > r.peak_live_bytes) r.peak_live_bytes = live_bytes;
    if constexpr (!std::is_same_v<std::decay_t<OnEvent>, std::nullptr_t>)
      on_event(event{i, &o, ok, skipped, granted, a.committed_bytes()});
  };
  // A failed request leaves its id out of `live`: the trace's later e/f of it are skipped.
  auto fail_request = [&](std::size_t i) {
    ++r.failed;
    if (r.first_failure_op < 0) r.first_failure_op = static_cast<long long>(i);
  };

  for (std::size_t i = 0; i < ops.size(); ++i) {
    const trace::op& o = ops[i];
    ++r.ops;
    switch (o.kind) {
      case trace::op_kind::allocate: {
        ++r.requests;
        ++r.fixed_requests;
        const outcome got = a.allocate(o.size, o.align);
        if (got.ptr == nullptr) {
          ++r.fixed_failed;
          fail_request(i);
          note(i, o, false, false, 0);
        } else {
          live[o.id] = {got.ptr, o.size};
          live_bytes += o.size;
          note(i, o, true, false, o.size);
        }
        break;
      }
      case trace::op_kind::range: {
        ++r.requests;
        ++r.range_requests;
        const outcome got = a.allocate_range(o.size, o.preferred, o.align);
        if (got.ptr != nullptr) {  // kept even when out of range: the firmware would hold it
          live[o.id] = {got.ptr, got.size};
          live_bytes += got.size;
        }
        const bool ok = got.ptr != nullptr && got.size >= o.size && got.size <= o.preferred;
        if (ok) {
          r.range_granted_bytes += got.size;
          r.range_preferred_bytes += o.preferred;
        } else {
          ++r.range_failed;
          fail_request(i);
        }
        note(i, o, ok, false, got.size);
        break;
      }
      case trace::op_kind::resize: {
        auto it = live.find(o.id);
        if (it == live.end()) {
          ++r.skipped;
          note(i, o, false, true, 0);
          break;
        }
        ++r.resizes;
        void* moved = a.resize(it->second.ptr, it->second.size, o.size);
        if (moved == nullptr) {
          ++r.resizes_failed;
          note(i, o, false, false, it->second.size);
        } else {
          live_bytes = live_bytes - it->second.size + o.size;
          it->second = {moved, o.size};
          note(i, o, true, false, o.size);
        }
        break;
      }
      case trace::op_kind::free: {
        auto it = live.find(o.id);
        if (it == live.end()) {
          ++r.skipped;
          note(i, o, true, true, 0);
          break;
        }
        a.deallocate(it->second.ptr);
        live_bytes -= it->second.size;
        live.erase(it);
        note(i, o, true, false, 0);
        break;
      }
    }
  }
  r.peak_physical_bytes = a.peak_committed_bytes();
  r.valid_after = a.validate();
  return r;
}

}  // namespace vmh::sim
