// vmh-real: the real Zephyr heap and SOF's real allocators, built as 32-bit code from their
// unmodified sources (bench/real/CMakeLists.txt), replayed for vmh-sim through the adapters the
// models use (sim/baseline_allocators.hpp) over real heap handles. One allocator per process:
// SOF's vpage keeps its state in a static, and the page table is the process's.
//
//   vmh-real zephyr_sys_heap|sof_vmh_real|sof_today_real|sof_vpage_real PHYSICAL PAGE CHARGED
//
// The requests and replies are those of sim/remote_protocol.hpp, on stdin and stdout.
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "baselines/sof_heaps.hpp"
#include "page_table.h"
#include "sim/baseline_allocators.hpp"
#include "sim/remote_protocol.hpp"
#include "zephyr_sys_heap.h"
#if VMH_REAL_HAVE_SOF
#include "sof_real.h"
#endif

// The heap build of the replay: runtime statistics on, as the models have them.
VMH_ZEPHYR_SYS_HEAP_DECLARE(vmh_zephyr_stats_);

namespace {

using namespace vmh;
namespace remote = vmh::sim::remote;

/// Zephyr's sys_heap over a page-aligned buffer of its own (the handle sys_heap_allocator and
/// the SOF designs take; baseline::model_system_heap is the model's).
class real_system_heap {
 public:
  explicit real_system_heap(std::size_t bytes) : bytes_(bytes) {
    // The real heap asserts on sizes it cannot take (asserts are off): only sizes the model
    // accepts are given to it, so both refuse the same budgets.
    if (!baseline::model_system_heap::fits(bytes)) return;
    mem_.reset(static_cast<std::byte*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096)));
    if (mem_) vmh_zephyr_stats_sys_heap_init(handle(), mem_.get(), bytes);
  }
  bool valid() const { return mem_ != nullptr; }
  void* alloc(std::size_t n) { return vmh_zephyr_stats_sys_heap_alloc(handle(), n); }
  void* aligned_alloc(std::size_t align, std::size_t n) { return vmh_zephyr_stats_sys_heap_aligned_alloc(handle(), align, n); }
  void* realloc(void* p, std::size_t n) { return vmh_zephyr_stats_sys_heap_aligned_realloc(handle(), p, 0, n); }
  bool free(void* p) {
    vmh_zephyr_stats_sys_heap_free(handle(), p);
    return true;
  }
  std::size_t in_place_limit(void* p) { return vmh_zephyr_stats_sys_heap_in_place_limit(handle(), p); }
  // Within the limit, realloc grows the block in place (its free right neighbour holds the rest).
  void grow_in_place(void* p, std::size_t n) { vmh_zephyr_stats_sys_heap_aligned_realloc(handle(), p, 0, n); }
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p), m = reinterpret_cast<std::uintptr_t>(mem_.get());
    return a >= m && a - m < bytes_;
  }
  std::size_t bytes() const { return bytes_; }
  bool validate() const { return vmh_zephyr_stats_sys_heap_validate(handle()); }

 private:
  sys_heap* handle() const { return reinterpret_cast<sys_heap*>(const_cast<unsigned char*>(handle_)); }
  struct free_memory {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::size_t bytes_;
  std::unique_ptr<std::byte, free_memory> mem_;
  alignas(8) unsigned char handle_[VMH_SYS_HEAP_HANDLE_BYTES] = {};
};

/// Address space no one else in this process gets: where a virtual window lies.
std::uintptr_t reserve_window(std::size_t bytes) {
  void* p = mmap(nullptr, bytes + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 0;
  return (reinterpret_cast<std::uintptr_t>(p) + 4095) / 4096 * 4096;
}

#if VMH_REAL_HAVE_SOF
/// While a heap handle is built, SOF's rzalloc takes its bookkeeping from `sys` (the cached
/// system heap, as in SOF) and counts the bytes asked; afterwards host memory again.
template <class System>
class bookkeeping_on {
 public:
  explicit bookkeeping_on(System& sys) {
    vmh_standin_set_system_heap({[](void* ctx, std::size_t n) {
                                   auto* self = static_cast<bookkeeping_on*>(ctx);
                                   self->bytes += n;
                                   return baseline::cached_alloc(*self->sys_, 0, n);
                                 },
                                 [](void* ctx, void* p) { static_cast<bookkeeping_on*>(ctx)->sys_->free(p); }, this});
    sys_ = &sys;
  }
  ~bookkeeping_on() { vmh_standin_set_system_heap({}); }
  bookkeeping_on(const bookkeeping_on&) = delete;
  bookkeeping_on& operator=(const bookkeeping_on&) = delete;
  std::size_t bytes = 0;

 private:
  System* sys_ = nullptr;
};

/// SOF's VMH (regions_mm.c) over the page table: the handle baseline::model_vmh is the model of.
class real_vmh {
 public:
  real_vmh(std::span<const baseline::sof_bundle> table, std::size_t page, std::size_t pages) : budget_(pages) {
    vmh_page_table_reset(pages);
    std::size_t cells[baseline::sof_vmh_model::max_bundles][2] = {};
    std::size_t region = 0, count = 0;
    for (const baseline::sof_bundle& b : table) {
      if (count == baseline::sof_vmh_model::max_bundles) return;
      cells[count][0] = b.block_size;
      cells[count++][1] = b.block_count;
      region += b.block_size * b.block_count;
      largest_ = std::max(largest_, b.block_size);
    }
    largest_ = std::min(largest_, pages * page);
    begin_ = reserve_window(region);
    end_ = begin_ + region;
    if (begin_ != 0) heap_ = vmh_real_vmh_create(cells, count, begin_, region);
  }
  template <class System>
  real_vmh(System& sys, std::span<const baseline::sof_bundle> table, std::size_t page, std::size_t pages, bool charge) {
    std::optional<bookkeeping_on<System>> on;
    if (charge) on.emplace(sys);
    *this = real_vmh(table, page, pages);
    metadata_ = on ? on->bytes : bookkeeping_bytes(table);
  }
  /// What the real heap's init takes for `table`: its structures' sizes on this target.
  static std::size_t bookkeeping_bytes(std::span<const baseline::sof_bundle> table) {
    std::size_t bytes = vmh_real_vmh_heap_bytes();
    for (const baseline::sof_bundle& b : table)
      bytes += vmh_real_mem_blocks_bytes() + 2 * (vmh_real_bit_array_bytes() + 4 * ((b.block_count + 31) / 32));
    return bytes;
  }

  bool valid() const { return heap_ != nullptr; }
  void* alloc(std::size_t n) {
    return heap_ == nullptr || n > std::numeric_limits<std::uint32_t>::max() ? nullptr : vmh_real_vmh_alloc(heap_, n);
  }
  bool free(void* p) { return heap_ != nullptr && vmh_real_vmh_free(heap_, p) == 0; }
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return a >= begin_ && a < end_;
  }
  std::size_t mapped_pages() const { return vmh_page_table_mapped(); }
  std::size_t peak_mapped_pages() const { return vmh_page_table_peak(); }
  std::size_t budget_pages() const { return budget_; }
  std::size_t largest() const { return largest_; }
  bool validate() const { return vmh_page_table_faults() == 0 && vmh_page_table_mapped() <= budget_; }
  std::size_t metadata_bytes() const { return metadata_; }
  std::uintptr_t begin() const { return begin_; }
  std::uintptr_t end() const { return end_; }

 private:
  struct vmh_heap* heap_ = nullptr;
  std::size_t budget_ = 0, largest_ = 0, metadata_ = 0;
  std::uintptr_t begin_ = 0, end_ = 0;
};

/// SOF's vpage (vpage.c) over the page table: the handle baseline::model_vpage is the model of.
/// Its window is the L2 vpage.c finds left: exactly `pages` pages, all of them physical.
class real_vpage {
 public:
  template <class System>
  real_vpage(System& sys, std::size_t pages, std::size_t page, bool charge) : page_(page) {
    vmh_page_table_reset(pages);
    const std::uintptr_t base = reserve_window(pages * page);
    if (base == 0) return;
    vmh_standin_l2 = {base, pages * page, base, 0, 0};
    std::optional<bookkeeping_on<System>> on;
    if (charge) on.emplace(sys);
    ok_ = vmh_real_vpage_init() == 0;
    metadata_ = vmh_real_vpage_context_bytes() + (on ? on->bytes : baseline::sof_vpage_model::bitmap_bytes(pages));
  }
  bool valid() const { return ok_; }
  void* alloc(std::size_t pages) {
    return ok_ && pages <= std::numeric_limits<unsigned int>::max() ? vmh_real_vpage_alloc(static_cast<unsigned int>(pages))
                                                                    : nullptr;
  }
  bool free(void* p) { return ok_ && vmh_real_vpage_free(p) == 0; }
  bool owns(const void* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p), w = vmh_real_vpage_window();
    return ok_ && a >= w && (a - w) / page_ < pages();
  }
  std::size_t mapped_pages() const { return vmh_page_table_mapped(); }
  std::size_t peak_mapped_pages() const { return vmh_page_table_peak(); }
  std::size_t pages() const { return ok_ ? vmh_real_vpage_total_pages() : 0; }
  bool validate() const { return vmh_page_table_faults() == 0; }
  std::size_t metadata_bytes() const { return metadata_; }

 private:
  std::size_t page_, metadata_ = 0;
  bool ok_ = false;
};
#endif

/// The allocator a name asks for, with its hello; null with the hello's message on a refusal.
struct hosted {
  std::unique_ptr<sim::allocator> alloc;
  remote::hello hello;
  std::string message;
};

hosted refuse(std::string why) { return {nullptr, {}, std::move(why)}; }

hosted host(const std::string& name, std::size_t physical, std::size_t page, bool charged) {
  hosted h;
  h.hello.page_size = 0;
  if (name == "zephyr_sys_heap") {
    real_system_heap heap(physical);
    if (!heap.valid()) return refuse("zephyr_sys_heap: " + std::to_string(physical) + " bytes cannot hold the heap");
    h.alloc = std::make_unique<sim::sys_heap_allocator<real_system_heap>>(std::move(heap));
#if VMH_REAL_HAVE_SOF
  } else if (name == "sof_vmh_real") {
    const auto table = std::span<const baseline::sof_bundle>(baseline::sof_production_table);
    const std::size_t meta = real_vmh::bookkeeping_bytes(table);
    const std::size_t budget = charged ? (physical > meta ? physical - meta : 0) : physical;
    real_vmh heap(table, page, budget / page);
    if (!heap.valid()) return refuse("sof_vmh_real: SOF's init refused the table");
    h.hello.paged_begin = heap.begin();
    h.hello.paged_end = heap.end();
    h.alloc = std::make_unique<sim::sof_vmh_allocator<real_vmh>>(std::move(heap), page, meta, charged);
  } else if (name == "sof_today_real") {
    const baseline::sof_split split = baseline::split_budget(physical, page);
    real_system_heap sys(split.system_bytes);
    if (!sys.valid()) return refuse("sof_today_real: the system heap's share cannot hold a heap");
    using heaps = baseline::sof_today_heaps<real_system_heap, real_vmh>;
    heaps two(std::move(sys), page, std::span<const baseline::sof_bundle>(baseline::sof_1mib_table), page,
              split.virtual_pages, charged);
    if (!two.virtual_heap().valid()) return refuse("sof_today_real: SOF's VMH init failed on the system heap's share");
    h.hello.paged_begin = two.virtual_heap().begin();
    h.hello.paged_end = two.virtual_heap().end();
    const std::size_t meta = two.virtual_heap().metadata_bytes();
    h.alloc = std::make_unique<sim::sof_design_allocator<heaps>>(std::move(two), meta, charged, split.virtual_pages);
  } else if (name == "sof_vpage_real") {
    // The context's size on this target decides the split, as the model's constant does there.
    const baseline::sof_split split = baseline::split_budget(physical, page, charged ? vmh_real_vpage_context_bytes() : 0);
    real_system_heap sys(split.system_bytes);
    if (!sys.valid() || split.virtual_pages == 0) return refuse("sof_vpage_real: the budget cannot hold both heaps");
    using heaps = baseline::sof_vpage_heaps<real_system_heap, real_vpage>;
    heaps two(std::move(sys), page, split.virtual_pages, page, charged);
    if (!two.virtual_heap().valid()) return refuse("sof_vpage_real: vpage's init failed");
    h.hello.paged_begin = vmh_real_vpage_window();
    h.hello.paged_end = h.hello.paged_begin + split.virtual_pages * page;
    const std::size_t meta = two.virtual_heap().metadata_bytes();
    h.alloc = std::make_unique<sim::sof_design_allocator<heaps>>(std::move(two), meta, charged, split.virtual_pages);
#endif
  } else {
    return refuse("vmh-real: no allocator '" + name + "' in this build");
  }
  const sim::allocator& a = *h.alloc;
  h.hello.ok = 1;
  h.hello.metadata_bytes = a.metadata_bytes();
  h.hello.metadata_charged = a.metadata_charged();
  h.hello.page_size = a.page_size();
  h.hello.page_budget_bytes = a.page_budget_bytes();
  h.hello.region_bytes = a.region_bytes();
  h.hello.committed = a.committed_bytes();
  return h;
}

/// What the real code is on this target, for the fidelity tests: facts 0 are the VMH's (bit
/// array rule: 1 = gap; its structures' sizes), facts 1 vpage's (its context's size, records in
/// use) and the page table's faults.
remote::reply facts(std::uint64_t which) {
  remote::reply r;
#if VMH_REAL_HAVE_SOF
  if (which == 0) r = {static_cast<std::uint64_t>(vmh_real_bit_array_gap_rule()), vmh_real_vmh_heap_bytes(),
                       vmh_real_mem_blocks_bytes(), vmh_real_bit_array_bytes()};
  if (which == 1) r = {vmh_real_vpage_context_bytes(), vmh_real_vpage_records_in_use(), vmh_page_table_faults(), 0};
#else
  (void)which;
#endif
  return r;
}

std::size_t narrow(std::uint64_t v) {
  return v > std::numeric_limits<std::size_t>::max() ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(v);
}
void* pointer(std::uint64_t v) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v)); }
std::uint64_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

bool write_all(const void* data, std::size_t n) { return std::fwrite(data, 1, n, stdout) == n && std::fflush(stdout) == 0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: vmh-real ALLOCATOR PHYSICAL PAGE CHARGED (run by vmh-sim)\n");
    return 2;
  }
  const std::size_t physical = narrow(std::strtoull(argv[2], nullptr, 10));
  const std::size_t page = narrow(std::strtoull(argv[3], nullptr, 10));
  hosted h = page == 0 ? refuse("vmh-real: a page of 0 bytes") : host(argv[1], physical, page, argv[4][0] == '1');
  if (!h.alloc) {
    h.hello.message_bytes = h.message.size();
    write_all(&h.hello, sizeof h.hello);
    write_all(h.message.data(), h.message.size());
    return 1;
  }
  if (!write_all(&h.hello, sizeof h.hello)) return 1;
  sim::allocator& a = *h.alloc;
  remote::request q;
  while (std::fread(&q, sizeof q, 1, stdin) == 1) {
    remote::reply r;
    switch (q.kind) {
      case remote::op::allocate: {
        const sim::outcome o = a.allocate(narrow(q.a), narrow(q.b));
        r.a = address(o.ptr), r.b = o.size;
        break;
      }
      case remote::op::allocate_range: {
        // A preferred size above this process's size_t: the loop would start at the largest
        // multiple of min that fits, as the 64-bit loop does for every budget this runs.
        const std::size_t min = narrow(q.a);
        const std::size_t preferred = q.b > std::numeric_limits<std::size_t>::max() && min != 0
                                          ? std::numeric_limits<std::size_t>::max() / min * min
                                          : narrow(q.b);
        const sim::outcome o = q.a > std::numeric_limits<std::size_t>::max() ? sim::outcome{}
                                                                             : a.allocate_range(min, preferred, narrow(q.c));
        r.a = address(o.ptr), r.b = o.size;
        break;
      }
      case remote::op::resize:
        r.a = address(a.resize(pointer(q.a), narrow(q.b), narrow(q.c)));
        break;
      case remote::op::grow:
        r.b = a.grow(pointer(q.a), narrow(q.b), narrow(q.c), narrow(q.d));
        break;
      case remote::op::deallocate:
        a.deallocate(pointer(q.a));
        break;
      case remote::op::peak:
        r.a = a.peak_committed_bytes();
        break;
      case remote::op::validate:
        r.a = a.validate();
        break;
      case remote::op::facts:
        r = facts(q.a);
        break;
    }
    r.committed = a.committed_bytes();
    if (!write_all(&r, sizeof r)) return 1;
  }
  return 0;
}
