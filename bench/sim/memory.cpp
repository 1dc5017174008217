#include "sim/memory.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>

namespace vmh::sim {
namespace {

/// The physical pages behind a virtual-memory heap's mapped pages: a virtual page is mapped
/// while a live block touches it, and takes the lowest free physical page when it is. A heap
/// region the allocator holds for good sits below them, its `region` pages always in use.
class page_model {
 public:
  page_model(std::size_t page, std::size_t region, std::size_t pages, std::size_t per_bank)
      : page_(page), per_bank_(per_bank), bank_users_((region + pages + per_bank - 1) / per_bank, 0) {
    for (std::size_t p = 0; p < region; ++p)
      if (bank_users_[p / per_bank_]++ == 0) ++powered_;
    for (std::size_t p = region; p < region + pages; ++p) free_.push(p);
  }
  /// Adds (+1) or removes (-1) a user of every page [ptr, ptr + size) touches.
  void touch(const void* ptr, std::size_t size, int delta) {
    if (ptr == nullptr || size == 0) return;
    const auto start = reinterpret_cast<std::uintptr_t>(ptr);
    for (std::uintptr_t v = start / page_; v <= (start + size - 1) / page_; ++v) {
      if (delta > 0) {
        page_entry& e = pages_[v];
        if (e.users++ == 0) take(e);
      } else {
        auto it = pages_.find(v);
        if (it == pages_.end()) {
          broken_ = true;
          continue;
        }
        if (--it->second.users == 0) {
          give_back(it->second);
          pages_.erase(it);
        }
      }
    }
  }
  std::size_t mapped_pages() const { return pages_.size(); }
  std::size_t powered_banks() const { return powered_; }
  bool broken() const { return broken_; }

 private:
  struct page_entry {
    std::size_t users = 0, physical = 0;
  };
  void take(page_entry& e) {
    if (free_.empty()) {  // more pages than the budget: the model and the heap disagree
      broken_ = true;
      e.physical = SIZE_MAX;
      return;
    }
    e.physical = free_.top();
    free_.pop();
    if (bank_users_[e.physical / per_bank_]++ == 0) ++powered_;
  }
  void give_back(const page_entry& e) {
    if (e.physical == SIZE_MAX) return;
    free_.push(e.physical);
    if (--bank_users_[e.physical / per_bank_] == 0) --powered_;
  }
  std::size_t page_, per_bank_;
  std::unordered_map<std::uintptr_t, page_entry> pages_;
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> free_;  // lowest first
  std::vector<std::size_t> bank_users_;
  std::size_t powered_ = 0;
  bool broken_ = false;
};

std::size_t ceil_div(std::size_t a, std::size_t b) { return a / b + (a % b != 0); }

}  // namespace

memory_replay replay_memory(const std::vector<trace::op>& ops, allocator& a, std::size_t physical) {
  memory_replay out;
  memory_report& m = out.memory;
  m.banks = ceil_div(physical, bank_bytes);
  const std::size_t page = a.page_size();
  const std::size_t per_bank = page == 0 ? 0 : std::max<std::size_t>(1, bank_bytes / page);
  // A region is counted in whole pages from the bottom of SRAM (what its banks need).
  const std::size_t region = page == 0 ? 0 : ceil_div(a.region_bytes(), page);
  page_model pages(page == 0 ? 1 : page, region, page == 0 ? 0 : a.page_budget_bytes() / page,
                   per_bank == 0 ? 1 : per_bank);
  std::size_t live = 0, events = 0;
  double banks_sum = 0, floor_sum = 0;
  out.figures = replay(ops, a, [&](const event& e) {
    // A resize's new block before its old one goes: SOF's VMH needs both at once.
    if (e.block != nullptr) {
      if (page != 0 && a.paged(e.block)) pages.touch(e.block, e.block_size, +1);
      live += e.block_size;
    }
    if (e.released != nullptr) {
      if (page != 0 && a.paged(e.released)) pages.touch(e.released, e.released_size, -1);
      live -= e.released_size;
    }
    std::size_t powered = m.banks, floor = m.banks;  // a region powers every bank it covers
    if (page != 0) {
      if (pages.mapped_pages() * page + a.region_bytes() != e.committed) m.exact = false;
      powered = pages.powered_banks();
      floor = ceil_div(region + pages.mapped_pages(), per_bank);
    }
    ++events;
    banks_sum += double(powered);
    floor_sum += double(floor);
    m.banks_peak = std::max(m.banks_peak, powered);
    m.floor_peak = std::max(m.floor_peak, floor);
    const memory_moment now{static_cast<long long>(e.index), e.committed, live};
    const bool request = e.op->kind == trace::op_kind::allocate || e.op->kind == trace::op_kind::range;
    if (request && !e.ok && m.at_failure.op < 0) m.at_failure = now;
    if (m.at_peak.op < 0 || now.committed > m.at_peak.committed ||
        (now.committed == m.at_peak.committed && now.live > m.at_peak.live))
      m.at_peak = now;
  });
  if (pages.broken()) m.exact = false;
  m.metadata_bytes = out.figures.metadata_bytes;
  if (events != 0) {
    m.banks_mean = banks_sum / double(events);
    m.floor_mean = floor_sum / double(events);
  }
  return out;
}

void split_moments(const std::vector<trace::op>& ops, allocator& fresh, std::size_t physical, memory_report& m) {
  const long long last = std::max(m.at_failure.op, m.at_peak.op);
  if (last < 0) return;
  // Splitting at every new peak as it comes would cost O(live blocks) per operation of a
  // ramp-up; replaying the prefix again costs one replay.
  const std::vector<trace::op> prefix(ops.begin(), ops.begin() + last + 1);
  sram_tracker live;
  replay(prefix, fresh, [&](const event& e) {
    live.follow(e);
    const auto i = static_cast<long long>(e.index);
    if (i == m.at_failure.op) m.sram_at_failure = live.split(fresh, physical, i);
    if (i == m.at_peak.op) m.sram_at_peak = live.split(fresh, physical, i);
  });
  // A replay is deterministic: the second one passes through the same live bytes.
  for (auto [split, moment] : {std::pair{&m.sram_at_failure, &m.at_failure}, std::pair{&m.sram_at_peak, &m.at_peak}})
    if (split->model != sram_model::none && split->live != moment->live) split->exact = false;
}

}  // namespace vmh::sim
