// The allocators the simulator replays, behind sim::allocator:
//  - vmh:      vmh::heap on a runtime layout, with a counting_mapper whose budget is the SRAM
//              budget minus the heap's metadata (charged, the default) or the whole budget
//              (uncharged); its own range front end; resize in place; `g` is heap::grow.
//  - the baselines (sim/baseline_allocators.hpp): sys_heap, sof_vmh, sof_today and sof_vpage
//    as models, and, when the third-party sources were given to the build, the real code they
//    model: zephyr_sys_heap, sof_vmh_real, sof_today_real, sof_vpage_real (sim/remote.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include <unordered_map>

#include <vmh/vmh.hpp>

#include "baselines/bit_runs.hpp"
#include "baselines/sof_vpage.hpp"
#include "sim/replay.hpp"

namespace vmh::sim {

/// The heap type the simulator and planner use: any layout up to 64 buckets, 2^20 blocks,
/// 2^20 pages (4 GiB of 4 KiB pages) and a packed region of 2^20 granules (16 MiB of 16 B
/// granules), configured at run time.
using sim_layout = runtime_layout<64, (1u << 20), (1u << 20), (1u << 20)>;
using sim_heap = heap<sim_layout, counting_mapper, external_range>;

/// Whether an allocator's out-of-buffer metadata is taken from its SRAM budget.
enum class metadata_charge : unsigned char { charged, uncharged };

/// Address space reserved for a heap's virtual range on the host (an anonymous mapping): the
/// host commits a page only when it is touched. Throws std::invalid_argument when it refuses.
class virtual_reservation {
 public:
  explicit virtual_reservation(std::size_t bytes, std::size_t align = 4096);
  std::byte* data() const { return mem_.get(); }
  std::size_t size() const { return bytes_; }

 private:
  struct deleter {
    std::size_t length = 0, skip = 0;  ///< of the whole mapping, and from its start to data()
    void operator()(std::byte* p) const;
  };
  std::size_t bytes_;
  std::unique_ptr<std::byte, deleter> mem_;
};

struct vmh_options {
  range_policy policy{};
  metadata_charge charge = metadata_charge::charged;
  bool record_live = false;  ///< keep every live block (offset and size) for pictures
  /// The backing heap's packed region: none (nullopt) or as given. Zero tuning: `auto_packed`
  /// of the budget, which is what the default options hold once the budget is known.
  std::optional<packed_region> packed = std::nullopt;
  bool packed_auto = true;  ///< ignore `packed` and use auto_packed(physical, page)
};

/// The packed region vmh gets with `opt` at a budget: auto_packed's, capped at what the
/// simulator's heap type holds, or the one `opt` names (none when it names none).
packed_region packed_for(const vmh_options& opt, std::size_t physical, std::size_t page);

/// vmh over a runtime layout: the one vmh adapter of the tools.
class vmh_allocator final : public allocator {
 public:
  /// An empty heap; configure() gives it a layout.
  vmh_allocator(std::size_t physical, std::size_t page, vmh_options opt = {});
  /// A heap on `layout`; valid() is false (error() says why) when the layout is unusable.
  vmh_allocator(std::span<const bucket> layout, std::size_t physical, std::size_t page, vmh_options opt = {});

  /// (Re)configures the empty heap with `layout`, reserving more address space if it needs it,
  /// and sets the page budget (charged or not). Returns the rule the layout breaks, if any.
  layout_error configure(std::span<const bucket> layout);
  bool valid() const { return error_ == layout_error::none; }
  layout_error error() const { return error_; }
  sim_heap& heap() { return *heap_; }
  const sim_heap& heap() const { return *heap_; }
  /// Bytes the heap's buffers may map: the budget, less the metadata when charged.
  std::size_t page_budget() const { return heap_->mapper().budget(); }
  std::size_t physical() const { return physical_; }
  /// Live blocks by pointer (record_live only).
  const std::unordered_map<void*, std::size_t>& live() const { return live_; }
  /// Offset of a pointer into the heap's virtual range.
  std::size_t offset_of(const void* p) const;

  outcome allocate(std::size_t size, std::size_t align) override;
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override;
  void* resize(void* ptr, std::size_t old_size, std::size_t new_size) override;
  std::size_t grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) override;
  void deallocate(void* ptr) override;
  std::size_t committed_bytes() const override { return heap_->mapper().mapped(); }
  std::size_t peak_committed_bytes() const override { return heap_->mapper().peak(); }
  bool validate() const override { return static_cast<bool>(heap_->validate()); }
  std::size_t metadata_bytes() const override { return valid() ? heap_->metadata_bytes() : 0; }
  bool metadata_charged() const override { return opt_.charge == metadata_charge::charged; }
  std::size_t page_size() const override { return page_; }
  std::size_t page_budget_bytes() const override { return page_budget(); }
  /// Each block's bytes (a run's: its blocks') from the pointer on, and the pages the heap says
  /// each allocation maps (those up to the end of usable_size).
  bool place(std::span<const live_block> live, sram_placement& out) const override;

 private:
  outcome keep(const grant& g);
  std::size_t physical_, page_;
  vmh_options opt_;
  std::unique_ptr<virtual_reservation> range_;
  std::unique_ptr<sim_heap> heap_;
  layout_error error_ = layout_error::no_buckets;
  std::unordered_map<void*, std::size_t> live_;
};

/// The sys_heap model for `physical` bytes as the 32-bit DSP has it: a small heap when the
/// 32-bit heap would be one, else a big heap, both with 32-bit statistics. Throws
/// std::invalid_argument when the budget cannot hold a heap.
std::unique_ptr<allocator> make_sys_heap(std::size_t physical);

/// How the models of SOF's allocators are built: the rule of Zephyr's bit array under them and
/// vpage's records. The defaults are what SOF's firmware builds with and what vpage means to do;
/// the fidelity tests set them to what the real code in hand does.
struct sof_model_options {
  baseline::bit_array_fit fit = baseline::sof_bit_array_fit;
  baseline::vpage_records records = baseline::vpage_records::mended;
};

/// The SOF VMH model with SOF's production table and the pages `physical` leaves. Throws
/// std::invalid_argument when the table does not fit the page size.
std::unique_ptr<allocator> make_sof_vmh(std::size_t physical, std::size_t page,
                                        metadata_charge charge = metadata_charge::charged, sof_model_options o = {});

/// What SOF runs in 2026 (baseline::sof_today_heaps): the cached system heap and the VMH with
/// the 1 MiB table sharing `physical` 256 : 1024. Throws std::invalid_argument when the budget
/// cannot hold both.
std::unique_ptr<allocator> make_sof_today(std::size_t physical, std::size_t page,
                                          metadata_charge charge = metadata_charge::charged, sof_model_options o = {});

/// SOF's stated direction (baseline::sof_vpage_heaps): the cached system heap and vpage's page
/// runs sharing `physical` 256 : 1024. Throws std::invalid_argument when the budget cannot hold
/// both.
std::unique_ptr<allocator> make_sof_vpage(std::size_t physical, std::size_t page,
                                          metadata_charge charge = metadata_charge::charged, sof_model_options o = {});

/// Every name make_allocator takes: the models, then the real allocators this build has.
std::vector<std::string> allocator_names();

/// One of allocator_names(); `layout` is vmh's. The real allocators (zephyr_sys_heap,
/// sof_vmh_real, sof_today_real, sof_vpage_real) run in vmh-real (sim/remote.hpp). Throws
/// std::invalid_argument for an unknown name or a budget or layout the allocator cannot take.
std::unique_ptr<allocator> make_allocator(const std::string& name, std::span<const bucket> layout, std::size_t physical,
                                          std::size_t page, vmh_options opt = {});

}  // namespace vmh::sim
