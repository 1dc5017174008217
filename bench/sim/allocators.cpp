#include "sim/allocators.hpp"

#include <algorithm>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>
#include <stdexcept>

#include "baselines/sof_heaps.hpp"
#include "sim/baseline_allocators.hpp"
#include "sim/layouts.hpp"
#include "sim/waste.hpp"
#include "sim/remote.hpp"

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

packed_region packed_for(const vmh_options& opt, std::size_t physical, std::size_t page) {
  if (!opt.packed_auto) return opt.packed.value_or(packed_region{});
  packed_region r = presets::auto_packed(physical, page);
  const std::size_t cap = sim_layout::packed_granule_capacity * r.granule / page * page;
  if (r.bytes > cap) r.bytes = cap;
  return r;
}

vmh_allocator::vmh_allocator(std::size_t physical, std::size_t page, vmh_options opt)
    : physical_(physical), page_(page), opt_(opt) {}

vmh_allocator::vmh_allocator(std::span<const bucket> layout, std::size_t physical, std::size_t page, vmh_options opt)
    : vmh_allocator(physical, page, opt) {
  configure(layout);
}

layout_error vmh_allocator::configure(std::span<const bucket> layout) {
  live_.clear();
  const packed_region packed = packed_for(opt_, physical_, page_);
  const layout_check c = check_layout(layout, page_, packed);
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
  error_ = heap_->configure(layout.data(), layout.size(), page_, min_align_of(layout, packed), false, packed);
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
  // A grow that cannot reach a step of granule above the allocation's size answers with its
  // usable size (whole granules or a whole block, which may be above `size`): no growth.
  if (g.status != status::ok || g.size <= size || g.size > preferred || g.size % granule != 0) return size;
  if (opt_.record_live) live_[ptr] = g.size;
  return g.size;
}

void vmh_allocator::deallocate(void* ptr) {
  heap_->deallocate(ptr);
  if (opt_.record_live) live_.erase(ptr);
}

bool vmh_allocator::place(std::span<const live_block> live, sram_placement& out) const {
  if (!valid()) return false;
  const auto& g = heap_->geometry();
  out.model = sram_model::pages;
  out.page = page_;
  out.usable = page_budget();
  for (const live_block& b : live) {
    const std::size_t offset = offset_of(b.ptr);
    // usable_size ends at the allocation's last mapped page or its last block, whichever comes
    // first: so its pages are those up to there, and it spans ceil(usable / block size) blocks.
    const std::size_t usable = heap_->usable_size(b.ptr);
    if (usable == 0 || offset >= g.virtual_size) return false;  // not a live allocation of this heap
    if (offset < g.packed.bytes) {  // the backing heap's: it reserves whole granules, no more
      out.live.push_back({offset, b.size, usable});
      for (std::size_t q = offset / page_; q < (offset + usable + page_ - 1) / page_; ++q) out.mapped_pages.push_back(q);
      continue;
    }
    const auto& bg = g.buckets[g.bucket_at(offset)];
    const std::size_t start = g.block_offset(bg, g.block_index(bg, offset - bg.offset));
    const std::size_t blocks = (offset - start + usable + bg.block_size - 1) / bg.block_size;
    out.live.push_back({offset, b.size, start + (blocks - 1) * bg.stride + bg.block_size - offset});
    for (std::size_t q = offset / page_; q < (offset + usable + page_ - 1) / page_; ++q) out.mapped_pages.push_back(q);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The baselines: models here, the real code through vmh-real (sim/remote.hpp)

namespace {

using baseline::model_system_heap;
using baseline::model_vmh;
using baseline::model_vpage;

/// The message for a system heap of `bytes` that the 32-bit heap cannot take: the nearest size
/// it takes (a binary search over model_system_heap::fits between a size known to work and this).
std::string system_heap_refusal(const std::string& who, std::size_t bytes) {
  constexpr std::size_t works = 4096;
  std::size_t good = works, bad = bytes;
  while (good != bad + 1 && bad != good + 1) {
    const std::size_t mid = bad < good ? bad + (good - bad) / 2 : good + (bad - good) / 2;
    (model_system_heap::fits(mid) ? good : bad) = mid;
  }
  if (bytes < works)
    return who + ": " + std::to_string(bytes) + " bytes cannot hold the heap's chunk 0 and one allocation (it needs at least " +
           std::to_string(good) + " bytes)";
  return who + ": " + std::to_string(bytes) + " bytes pass the 32-bit heap's limits (at most " + std::to_string(good) +
         " bytes)";
}

/// A model system heap of `bytes`, or invalid_argument naming `who`.
model_system_heap system_heap(const std::string& who, std::size_t bytes) {
  if (!model_system_heap::fits(bytes)) throw std::invalid_argument(system_heap_refusal(who, bytes));
  model_system_heap h(bytes);
  if (!h.valid()) throw std::invalid_argument(who + ": the host refused " + std::to_string(bytes) + " bytes");
  return h;
}

bool is_real(const std::string& name) {
  const std::vector<std::string> real = real_allocator_names();
  return std::find(real.begin(), real.end(), name) != real.end();
}

}  // namespace

std::unique_ptr<allocator> make_sys_heap(std::size_t physical) {
  return std::make_unique<sys_heap_allocator<model_system_heap>>(system_heap("sys_heap", physical));
}

std::unique_ptr<allocator> make_sof_vmh(std::size_t physical, std::size_t page, metadata_charge charge,
                                        sof_model_options o) {
  const std::span<const baseline::sof_bundle> table = baseline::sof_production_table;
  const bool charged = charge == metadata_charge::charged;
  const std::size_t meta = model_vmh::bookkeeping_bytes(table);
  model_vmh heap(table, page, (charged ? charged_budget(physical, meta, page) : physical) / page, o.fit);
  if (!heap.valid()) throw std::invalid_argument("the SOF table does not fit a page size of " + std::to_string(page));
  return std::make_unique<sof_vmh_allocator<model_vmh>>(std::move(heap), page, meta, charged);
}

std::unique_ptr<allocator> make_sof_today(std::size_t physical, std::size_t page, metadata_charge charge,
                                          sof_model_options o) {
  using heaps = baseline::sof_today_heaps<model_system_heap, model_vmh>;
  const bool charged = charge == metadata_charge::charged;
  const baseline::sof_split split = baseline::split_budget(physical, page);
  heaps two(system_heap("sof_today: the system heap's share", split.system_bytes), page,
            std::span<const baseline::sof_bundle>(baseline::sof_1mib_table), page, split.virtual_pages, charged, o.fit);
  if (!two.virtual_heap().valid()) throw std::invalid_argument("the SOF table does not fit a page size of " + std::to_string(page));
  if (two.virtual_heap().bookkeeping_failed())
    throw std::invalid_argument("sof_today: " + std::to_string(physical) + " bytes leave the system heap too small for the VMH's bookkeeping");
  const std::size_t meta = two.virtual_heap().metadata_bytes();
  return std::make_unique<sof_design_allocator<heaps>>(std::move(two), meta, charged, split.virtual_pages);
}

std::unique_ptr<allocator> make_sof_vpage(std::size_t physical, std::size_t page, metadata_charge charge,
                                          sof_model_options o) {
  using heaps = baseline::sof_vpage_heaps<model_system_heap, model_vpage>;
  const bool charged = charge == metadata_charge::charged;
  const baseline::sof_split split =
      baseline::split_budget(physical, page, charged ? baseline::sof_vpage_model::context_bytes : 0);
  if (split.virtual_pages == 0)
    throw std::invalid_argument("sof_vpage: " + std::to_string(physical) + " bytes leave no page for the page runs");
  heaps two(system_heap("sof_vpage: the system heap's share", split.system_bytes), page, split.virtual_pages, page, charged,
            o.fit, o.records);
  if (two.virtual_heap().bookkeeping_failed())
    throw std::invalid_argument("sof_vpage: " + std::to_string(physical) + " bytes leave the system heap too small for vpage's bit array");
  const std::size_t meta = two.virtual_heap().metadata_bytes();
  return std::make_unique<sof_design_allocator<heaps>>(std::move(two), meta, charged, split.virtual_pages);
}

std::vector<std::string> allocator_names() {
  std::vector<std::string> names = {"vmh", "sys_heap", "sof_vmh", "sof_today", "sof_vpage"};
  for (std::string& n : real_allocator_names()) names.push_back(std::move(n));
  return names;
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
  if (name == "sof_today") return make_sof_today(physical, page, opt.charge);
  if (name == "sof_vpage") return make_sof_vpage(physical, page, opt.charge);
  if (is_real(name)) {
    // The real heaps refuse what their models refuse, with the models' messages.
    if (name == "zephyr_sys_heap") system_heap("zephyr_sys_heap", physical);
    return std::make_unique<remote_allocator>(name, physical, page, opt.charge == metadata_charge::charged);
  }
  std::string all;
  for (const std::string& n : allocator_names()) all += (all.empty() ? "" : ", ") + n;
  throw std::invalid_argument("--allocator must be one of " + all + ", not '" + name + "'" +
                              (real_allocator_names().empty() ? " (" + real_allocators_note() + ")" : ""));
}

}  // namespace vmh::sim
