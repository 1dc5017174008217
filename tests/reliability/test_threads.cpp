// Threads: a heap with the spin_lock policy shared by threads that free each other's blocks.
// Each block carries a pattern at both ends, checked before it is freed: a block handed out
// twice would be overwritten.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"

using vmh::counting_mapper;
using vmh::layout_error;
using vmh::status;
using vmh_test::pattern;

namespace {

// The first and last 16 bytes of an allocation, with the pattern of their positions.
void mark_ends(void* p, std::size_t n, std::uint64_t id) {
  auto* b = static_cast<std::byte*>(p);
  for (std::size_t i = 0; i < n && i < 16; ++i) b[i] = pattern(id, i);
  for (std::size_t i = n > 16 ? n - 16 : 0; i < n; ++i) b[i] = pattern(id, i);
}
bool ends_intact(const void* p, std::size_t n, std::uint64_t id) {
  const auto* b = static_cast<const std::byte*>(p);
  for (std::size_t i = 0; i < n && i < 16; ++i)
    if (b[i] != pattern(id, i)) return false;
  for (std::size_t i = n > 16 ? n - 16 : 0; i < n; ++i)
    if (b[i] != pattern(id, i)) return false;
  return true;
}

}  // namespace

TEST_CASE("spin_lock: threads allocate and free each other's blocks", "[reliability][threads]") {
  constexpr auto table = vmh::make_table({{64, 256}, {256, 128}, {1024, 64}, {4096, 32}, {16384, 8}});
  using layout = vmh::fixed_layout<table>;
  using heap_type = vmh::heap<layout, counting_mapper, vmh::static_arena<layout::virtual_size>, vmh::spin_lock>;
  auto h = std::make_unique<heap_type>();
  REQUIRE(h->state() == layout_error::none);

  struct item {
    void* p;
    std::size_t size;
    std::uint64_t id;
  };
  std::mutex queue_lock;
  std::deque<item> queue;
  std::atomic<std::size_t> bad_frees{0}, corrupt{0}, allocated{0}, failed{0};
  constexpr int threads = 4, iterations = 50000;

  auto worker = [&](int t) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 100);
    for (int i = 0; i < iterations; ++i) {
      const std::size_t size = 1 + rng() % (rng() % 8 == 0 ? 16384 : 1024);
      const std::uint64_t id = (static_cast<std::uint64_t>(t) << 32) | static_cast<std::uint64_t>(i);
      if (void* p = h->allocate(size)) {
        // Mark both ends: a block handed out twice would be overwritten.
        mark_ends(p, size, id);
        std::lock_guard<std::mutex> g(queue_lock);
        queue.push_back({p, size, id});
        allocated.fetch_add(1, std::memory_order_relaxed);
      } else {
        failed.fetch_add(1, std::memory_order_relaxed);
      }
      // Free the oldest entry, often someone else's: always once 128 are queued, else at random.
      const bool coin = rng() % 2 == 0;
      {
        item it{};
        {
          std::lock_guard<std::mutex> g(queue_lock);
          if (queue.empty() || (!coin && queue.size() < 128)) continue;
          it = queue.front();
          queue.pop_front();
        }
        if (!ends_intact(it.p, it.size, it.id)) corrupt.fetch_add(1, std::memory_order_relaxed);
        if (h->deallocate(it.p) != status::ok) bad_frees.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& th : pool) th.join();

  CHECK(bad_frees.load() == 0);
  CHECK(corrupt.load() == 0);
  CHECK(allocated.load() > static_cast<std::size_t>(threads * iterations / 2));
  CHECK(h->validate());
  CHECK(h->stats().live_allocations == queue.size());
  CHECK(h->stats().failed_no_block + h->stats().failed_no_memory == failed.load());
  for (const item& it : queue) CHECK(h->deallocate(it.p) == status::ok);
  const vmh::heap_stats s = h->stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.bytes_in_blocks == 0);
  CHECK(s.pages_mapped == 0);
  CHECK(h->mapper().mapped() == 0);
  CHECK(h->validate());
}
