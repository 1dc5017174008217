// The real Zephyr and SOF allocators in vmh-sim: each is a vmh-real process (bench/real), built
// as 32-bit code when the project is configured with VMH_ZEPHYR_BASE (and VMH_SOF_BASE), that
// replays the requests it is sent (sim/remote_protocol.hpp). remote_allocator is its end in
// vmh-sim: a sim::allocator like the others.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/remote_protocol.hpp"
#include "sim/replay.hpp"

namespace vmh::sim {

/// The real allocators this build offers (empty without the third-party sources).
std::vector<std::string> real_allocator_names();

/// The one line the tools print when the real allocators are not built, naming what to set.
std::string real_allocators_note();

class remote_allocator final : public allocator {
 public:
  /// Starts vmh-real for `name`. Throws std::invalid_argument with vmh-real's reason when it
  /// refuses (a budget the allocator cannot take), std::runtime_error when it cannot start.
  remote_allocator(const std::string& name, std::size_t physical, std::size_t page, bool charged);
  ~remote_allocator() override;
  remote_allocator(const remote_allocator&) = delete;
  remote_allocator& operator=(const remote_allocator&) = delete;

  outcome allocate(std::size_t size, std::size_t align) override;
  outcome allocate_range(std::size_t min, std::size_t preferred, std::size_t align) override;
  void* resize(void* ptr, std::size_t old_size, std::size_t new_size) override;
  std::size_t grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) override;
  void deallocate(void* ptr) override;
  std::size_t committed_bytes() const override { return committed_; }
  std::size_t peak_committed_bytes() const override;
  bool validate() const override;
  std::size_t metadata_bytes() const override { return hello_.metadata_bytes; }
  bool metadata_charged() const override { return hello_.metadata_charged != 0; }
  std::size_t page_size() const override { return hello_.page_size; }
  std::size_t page_budget_bytes() const override { return hello_.page_budget_bytes; }
  std::size_t region_bytes() const override { return hello_.region_bytes; }
  bool paged(const void* ptr) const override;

  /// What the real code is on its target (remote::op::facts; bench/real/server.cpp).
  std::array<std::uint64_t, 4> facts(std::uint64_t which) const;

 private:
  remote::reply call(const remote::request& q) const;
  void stop();  ///< closes the pipes and waits for vmh-real
  std::string name_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  remote::hello hello_;
  mutable std::size_t committed_ = 0;
};

}  // namespace vmh::sim
