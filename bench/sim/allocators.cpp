#include "sim/allocators.hpp"

#include <algorithm>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>
#include <stdexcept>

#include "baselines/range_loop.hpp"
#include "baselines/sof_vmh.hpp"
#include "baselines/sys_heap.hpp"
#include "sim/layouts.hpp"

namespace vmh::sim {

// ---------------------------------------------------------------------------------------------
// Address space

virtual_reservation::virtual_reservation(std::size_t bytes, std::size_t align) : bytes_(0), mem_(nullptr, deleter{}) {
  if (align == 0 || (align & (align - 1)) != 0) throw std::invalid_argument("reservation alignment is not a power of two");
  const std::size_t host_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t slack = align > host_page ? align - host_page : 0;  // mmap gives host pages; more only when asked
  if (bytes > SIZE_MAX - align - slack) throw std::invalid_argument("cannot reserve " + std::to_string(bytes) + " bytes");
  bytes_ = bytes == 0 ? align : (bytes + align - 1) / align * align;
  // Untouched pages of a private, unreserved mapping cost the host nothing.
  void* p = mmap(nullptr, bytes_ + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::invalid_argument("the host refused " + std::to_string(bytes_) + " bytes of address space");
  auto* start = static_cast<std::byte*>(p);
  const std::size_t skip = (align - reinterpret_cast<std::uintptr_t>(start) % align) % align;
  mem_ = std::unique_ptr<std::byte, deleter>(start + skip, deleter{bytes_ + slack, skip});
}

void virtual_reservation::deleter::operator()(std::byte* p) const { munmap(p - skip, length); }

// ---------------------------------------------------------------------------------------------
// vmh

namespace {
std::size_t range_align(std::size_t page) { return page > 4096 ? page : 4096; }
}  // namespace

vmh_allocator::vmh_allocator(std::size_t physical, std::size_t page, vmh_options opt)
    : physical_(physical), page_(page), opt_(opt) {}

vmh_allocator::vmh_allocator(std::span<const bucket> layout, std::size_t physical, std::size_t page, vmh_options opt)
    : vmh_allocator(physical, page, opt) {
  configure(layout);
}

layout_error vmh_allocator::configure(std::span<const bucket> layout) {
  live_.clear();
  const layout_check c = check_layout(layout, page_);
  error_ = c.error;
  if (error_ != layout_error::none) return error_;
  if (!heap_ || range_->size() < c.virtual_bytes) {
    // Grow by doubling so that a planner's many configurations reserve a few times only.
    const std::size_t want = range_ ? std::max(c.virtual_bytes, range_->size() <= SIZE_MAX / 2 ? 2 * range_->size() : c.virtual_bytes)
                                    : c.virtual_bytes;
    heap_.reset();
    range_.reset();
    range_ = std::make_unique<virtual_reservation>(want, range_align(page_));
    heap_ = std::make_unique<sim_heap>(external_range{range_->data(), range_->size()}, counting_mapper{physical_});
  }
  error_ = heap_->configure(layout.data(), layout.size(), page_, min_align_of(layout));
  if (error_ != layout_error::none) return error_;
  heap_->set_range_policy(opt_.policy);
  const std::size_t budget =
      opt_.charge == metadata_charge::charged ? charged_budget(physical_, heap_->metadata_bytes(), page_) : physical_;
  heap_->mapper() = counting_mapper{budget};  // the heap is empty: nothing is mapped
  return error_;
}

std::size_t vmh_allocator::offset_of(const void* p) const {
  return static_cast<std::size_t>(static_cast<const std::byte*>(p) - range_->data());
}

outcome vmh_allocator::keep(const grant& g) {
  if (opt_.record_live && g.ptr != nullptr) live_[g.ptr] = g.size;
  return {g.ptr, g.size};
}

outcome vmh_allocator::allocate(std::size_t size, std::size_t align) { return keep(heap_->try_allocate(size, align)); }

outcome vmh_allocator::allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
  return keep(heap_->allocate_range(min, preferred, align));
}

void* vmh_allocator::resize(void* ptr, std::size_t, std::size_t new_size) {
  if (heap_->resize(ptr, new_size) != status::ok) return nullptr;
  if (opt_.record_live) live_[ptr] = new_size;
  return ptr;
}

std::size_t vmh_allocator::grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) {
  const grant g = heap_->grow(ptr, preferred, granule);
  if (g.status != status::ok || g.size <= size) return size;
  if (opt_.record_live) live_[ptr] = g.size;
  return g.size;
}

void vmh_allocator::deallocate(void* ptr) {
  heap_->deallocate(ptr);
  if (opt_.record_live) live_.erase(ptr);
}

// ---------------------------------------------------------------------------------------------
// SOF's range loop, bounded by what the allocator can ever grant

namespace {

/// SOF's loop (baseline::sof_range_loop) for an allocator that fails every size above `largest`
/// without any effect: starts where the plain loop would first try a size that could fit.
template <class TryAlloc>
outcome bounded_range_loop(TryAlloc&& try_alloc, std::size_t min, std::size_t preferred, std::size_t align,
                           std::size_t largest) {
  // The plain loop's first attempt (its rounding of `preferred`), or none when it refuses at once.
  static char probe_target;
  const baseline::range_grant first = baseline::sof_range_loop(
      [](std::size_t, std::size_t) -> void* { return &probe_target; }, min, preferred, align);
  if (first.attempts == 0) return {};
  // Every size it tries is a multiple of min: the largest one that could fit is here.
  const std::size_t top = std::min(first.size, largest / min * min);
  if (top < min) return {};
  const baseline::range_grant g = baseline::sof_range_loop(try_alloc, min, top, align);
  return {g.ptr, g.size};
}

/// The sys_heap model over exactly `physical` bytes.
template <class Model>
class sys_heap_allocator final : public allocator {
 public:
  explicit sys_heap_allocator(std::size_t physical)
      : physical_(physical), mem_(physical, 4096), heap_(mem_.data(), physical) {}  // page-aligned, as on the DSP: aligned results depend on it
  bool valid() const { return heap_.valid_heap(); }
  outcome allocate(std::size_t size, std::size_t align) override {
    // The model itself takes the plain path when align <= its header, as the real heap does.
    void* p = align != 0 ? heap_.aligned_alloc(align, size) : heap_.alloc(size);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    // No chunk is larger than the heap's buffer.
    return bounded_range_loop([this](std::size_t s, std::size_t a) { return allocate(s, a).ptr; }, min, preferred,
                              align, physical_);
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
  /// `physical` bytes of SRAM: the pages left after the model's bookkeeping (its mem_blocks
  /// structures and bit arrays) when charged, else physical / page.
  sof_vmh_allocator(std::span<const baseline::sof_bundle> table, std::size_t physical, std::size_t page_size,
                    metadata_charge charge)
      : page_(page_size),
        charged_(charge == metadata_charge::charged),
        heap_(table, page_size,
              (charged_ ? charged_budget(physical, baseline::sof_vmh_model::metadata_bytes(table), page_size) : physical) /
                  page_size) {
    for (const baseline::sof_bundle& b : table) largest_ = std::max(largest_, b.block_size);
    // A request needing more pages than the whole budget fails in any bundle (only the model's
    // failure counters, which no replay reports, see it).
    largest_ = std::min(largest_, heap_.physical_pages_budget() * page_size);
  }
  bool valid() const { return heap_.valid(); }
  outcome allocate(std::size_t size, std::size_t align) override {
    void* p = heap_.alloc(size, align);
    return {p, p ? size : 0};
  }
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override {
    // One block per request: nothing above the largest block, or the page budget, can be granted.
    return bounded_range_loop([this](std::size_t s, std::size_t a) { return heap_.alloc(s, a); }, min, preferred, align,
                              largest_);
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
  std::size_t metadata_bytes() const override { return heap_.metadata_bytes(); }
  bool metadata_charged() const override { return charged_; }
  std::size_t page_size() const override { return page_; }
  std::size_t page_budget_bytes() const override { return heap_.physical_pages_budget() * page_; }

 private:
  std::size_t page_;
  bool charged_;
  std::size_t largest_ = 0;
  baseline::sof_vmh_model heap_;
};

template <class Model>
std::unique_ptr<allocator> checked_sys_heap(std::size_t physical) {
  auto a = std::make_unique<sys_heap_allocator<Model>>(physical);
  if (a->valid()) return a;
  // The nearest budget the model accepts, for the message (a binary search over valid() between
  // a size known to work and this one).
  auto fits = [](std::size_t bytes) { return sys_heap_allocator<Model>(bytes).valid(); };
  constexpr std::size_t works = 4096;
  std::size_t good = works, bad = physical;
  while (good != bad + 1 && bad != good + 1) {
    const std::size_t mid = bad < good ? bad + (good - bad) / 2 : good + (bad - good) / 2;
    (fits(mid) ? good : bad) = mid;
  }
  if (physical < works)
    throw std::invalid_argument("sys_heap: " + std::to_string(physical) + " bytes cannot hold the heap's chunk 0 and one " +
                                "allocation (it needs at least " + std::to_string(good) + " bytes)");
  throw std::invalid_argument("sys_heap: " + std::to_string(physical) + " bytes pass the 32-bit heap's limits (at most " +
                              std::to_string(good) + " bytes)");
}

}  // namespace

std::unique_ptr<allocator> make_sys_heap(std::size_t physical) {
  if (physical / 8 <= baseline::sys_heap_small::max_units) return checked_sys_heap<baseline::sys_heap_small>(physical);
  return checked_sys_heap<baseline::sys_heap_big32>(physical);
}

std::unique_ptr<allocator> make_sof_vmh(std::size_t physical, std::size_t page, metadata_charge charge) {
  auto a = std::make_unique<sof_vmh_allocator>(baseline::sof_production_table, physical, page, charge);
  if (!a->valid()) throw std::invalid_argument("the SOF table does not fit a page size of " + std::to_string(page));
  return a;
}

std::unique_ptr<allocator> make_allocator(const std::string& name, std::span<const bucket> layout, std::size_t physical,
                                          std::size_t page, vmh_options opt) {
  if (name == "vmh") {
    auto v = std::make_unique<vmh_allocator>(layout, physical, page, opt);
    if (!v->valid()) throw std::invalid_argument(std::string("unusable layout: ") + to_string(v->error()));
    return v;
  }
  if (name == "sys_heap") return make_sys_heap(physical);
  if (name == "sof_vmh") return make_sof_vmh(physical, page, opt.charge);
  throw std::invalid_argument("--allocator must be vmh, sys_heap or sof_vmh, not '" + name + "'");
}

}  // namespace vmh::sim
