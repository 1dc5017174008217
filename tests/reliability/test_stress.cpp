// Concurrency stress: threads share one heap with the spin_lock policy and allocate, resize, grow
// and free, and hand half of their blocks to a shared queue from which any thread frees them (as
// SOF frees on one DSP core what another core allocated). Every block carries its owner's tag,
// which is checked before it is freed. Afterwards nothing may be lost: as many frees as
// allocations, an empty heap with no page mapped, and `validate()` passes (it is also called
// during the run). Run once with buckets only and once with a packed region before them.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

using vmh::status;

// Sub-page, page-straddling and multi-page blocks: 556 KiB of virtual space.
constexpr auto table = vmh::make_table({{64, 256}, {192, 128}, {1152, 32}, {6144, 16}, {16384, 8}, {65536, 4}});
using layout = vmh::fixed_layout<table>;
using heap_type = vmh::heap<layout, vmh::counting_mapper, vmh::external_range, vmh::spin_lock>;
constexpr std::size_t page = layout::page_size;
constexpr std::size_t budget = 96 * page;  // below the virtual size: no_memory happens too
// The same buckets after a packed region of 32 pages (16-byte granules, fixed requests up to 16 KiB).
using packed_layout = vmh::fixed_layout<vmh::with_packed(table, vmh::packed_region{32 * page, 16384, 16})>;
using packed_heap_type = vmh::heap<packed_layout, vmh::counting_mapper, vmh::external_range, vmh::spin_lock>;

constexpr unsigned thread_count = 4;
constexpr std::size_t operations_per_thread = 300000;  // heap calls per thread
constexpr std::size_t keep_at_most = 48;               // blocks a thread holds itself

struct block {
  std::byte* ptr = nullptr;
  std::size_t size = 0;
  std::byte tag{};
  unsigned owner = 0;
};

// The tag is written over the whole block when it is small, else over its first and last 64 bytes.
void stamp(const block& b, std::size_t from = 0) {
  if (b.size <= 256) {
    std::memset(b.ptr + from, static_cast<int>(b.tag), b.size - from);
    return;
  }
  const std::size_t head = from < 64 ? 64 - from : 0;
  if (head != 0) std::memset(b.ptr + from, static_cast<int>(b.tag), head);
  std::memset(b.ptr + b.size - 64, static_cast<int>(b.tag), 64);
}
bool stamped(const block& b) {
  auto same = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i)
      if (b.ptr[i] != b.tag) return false;
    return true;
  };
  return b.size <= 256 ? same(0, b.size) : same(0, 64) && same(b.size - 64, 64);
}

// Blocks handed from one thread to the others: a thread takes the oldest block another thread
// put (`take(b, id)`), or any block (`take(b)`, for the final drain).
class mailbox {
 public:
  void put(const block& b) {
    const std::lock_guard<std::mutex> g(m_);
    q_.push_back(b);
  }
  bool take(block& b, unsigned not_from = ~0u) {
    const std::lock_guard<std::mutex> g(m_);
    for (auto it = q_.begin(); it != q_.end(); ++it) {
      if (it->owner == not_from) continue;
      b = *it;
      q_.erase(it);
      return true;
    }
    return false;
  }

 private:
  std::mutex m_;
  std::deque<block> q_;
};

struct tally {
  std::size_t operations = 0, allocations = 0, frees = 0, cross_frees = 0, resizes = 0, grows = 0, packed = 0;
  std::size_t no_block = 0, no_memory = 0, ranges = 0, validations = 0;
  std::size_t bad_tags = 0, unexpected = 0, invalid = 0;
};

template <class Heap>
void worker(Heap& h, mailbox& shared, const std::atomic<bool>& go, unsigned id, tally& t) {
  while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
  std::mt19937_64 rng(0x57e55 + id);
  std::vector<block> own;
  std::uint8_t next_tag = 1;
  auto release = [&](const block& b) {
    if (!stamped(b)) ++t.bad_tags;
    ++t.operations;
    if (h.deallocate(b.ptr) != status::ok) ++t.unexpected;
    ++t.frees;
    if (b.owner != id) ++t.cross_frees;
  };
  while (t.operations < operations_per_thread) {
    const std::uint64_t r = rng() % 100;
    if (r < 45 && own.size() < keep_at_most) {
      vmh::grant g;
      const std::uint64_t k = rng() % 100;
      ++t.operations;
      if (k < 10) {
        ++t.ranges;
        const std::size_t min = 1 + rng() % 8192;
        g = h.allocate_range(min, min + rng() % (4 * min));
      } else {
        const std::size_t size = k < 60 ? 1 + rng() % 192 : k < 85 ? 129 + rng() % 6016 : 4096 + rng() % 61440;
        g = h.try_allocate(size);
      }
      if (g.status == status::no_block) ++t.no_block;
      else if (g.status == status::no_memory) ++t.no_memory;
      else if (g.status != status::ok) ++t.unexpected;
      if (!g) continue;
      ++t.allocations;
      if (static_cast<std::size_t>(static_cast<std::byte*>(g.ptr) - h.base()) < h.geometry().packed.bytes) ++t.packed;
      next_tag = static_cast<std::uint8_t>(next_tag == 255 ? 1 : next_tag + 1);
      const block b{static_cast<std::byte*>(g.ptr), g.size, static_cast<std::byte>(next_tag), id};
      stamp(b);
      if (rng() % 2 == 0) shared.put(b);
      else own.push_back(b);
    } else if (r < 75) {
      block b;
      if (shared.take(b, id)) release(b);
    } else if (r < 88 && !own.empty()) {
      const std::size_t i = rng() % own.size();
      release(own[i]);
      own[i] = own.back();
      own.pop_back();
    } else if (r >= 96 && !own.empty()) {
      block& b = own[rng() % own.size()];
      ++t.operations;
      ++t.grows;
      const vmh::grant g = h.grow(b.ptr, b.size + 1 + rng() % (2 * b.size));
      if (g.status != status::ok) ++t.unexpected;
      else if (g.size > b.size) {
        const std::size_t before = b.size;
        b.size = g.size;
        stamp(b, before);
      }
    } else if (!own.empty()) {
      block& b = own[rng() % own.size()];
      const std::size_t n = 1 + rng() % (2 * b.size);
      ++t.operations;
      ++t.resizes;
      const status s = h.resize(b.ptr, n);
      if (s == status::ok) {
        const block before = b;
        b.size = n;
        if (n > before.size) stamp(b, before.size);
        else stamp(b);
      } else if (s == status::no_memory) {
        ++t.no_memory;
      } else if (s != status::exceeds_block) {
        ++t.unexpected;
      }
    }
    if (rng() % 20000 == 0) {
      ++t.validations;
      if (!h.validate()) ++t.invalid;
    }
  }
  for (const block& b : own) release(b);
}

struct deleter {
  void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{page}); }
};

// Runs the workers on a heap of type Heap and checks that nothing was lost.
template <class Heap>
void share_one_heap(const char* name) {
  using layout_type = typename Heap::layout_type;
  std::unique_ptr<std::byte, deleter> mem(static_cast<std::byte*>(::operator new(layout_type::virtual_size, std::align_val_t{page})));
  auto h = std::make_unique<Heap>(vmh::external_range{mem.get(), layout_type::virtual_size}, vmh::counting_mapper{budget});
  mailbox shared;
  std::vector<tally> tallies(thread_count);
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (unsigned i = 0; i < thread_count; ++i)
      threads.emplace_back(worker<Heap>, std::ref(*h), std::ref(shared), std::cref(go), i, std::ref(tallies[i]));
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
  }
  // What is still in the queue is freed here.
  tally rest;
  for (block b; shared.take(b);) {
    if (!stamped(b)) ++rest.bad_tags;
    ++rest.operations;
    if (h->deallocate(b.ptr) != status::ok) ++rest.unexpected;
    ++rest.frees;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  tally all = rest;
  for (const tally& t : tallies) {
    all.operations += t.operations;
    all.allocations += t.allocations;
    all.frees += t.frees;
    all.cross_frees += t.cross_frees;
    all.resizes += t.resizes;
    all.grows += t.grows;
    all.packed += t.packed;
    all.ranges += t.ranges;
    all.no_block += t.no_block;
    all.no_memory += t.no_memory;
    all.validations += t.validations;
    all.bad_tags += t.bad_tags;
    all.unexpected += t.unexpected;
    all.invalid += t.invalid;
  }
  INFO(all.operations << " heap operations in " << seconds << " s: " << all.allocations << " allocations, "
                      << all.frees << " frees (" << all.cross_frees << " by another thread), " << all.resizes
                      << " resizes, " << all.grows << " grows, " << all.no_block << " no_block, " << all.no_memory
                      << " no_memory");
  CHECK(all.operations >= 1000000);
  CHECK(all.bad_tags == 0);
  CHECK(all.unexpected == 0);
  CHECK(all.invalid == 0);
  // Nothing lost: every allocation was freed exactly once, and the heap is empty again.
  CHECK(all.allocations == all.frees);
  CHECK(all.cross_frees > all.frees / 5);
  CHECK(all.no_memory > 0);
  CHECK(all.ranges > 0);
  CHECK(all.grows > 0);
  const vmh::heap_stats s = h->stats();
  CHECK(s.live_allocations == 0);
  CHECK(s.bytes_in_blocks == 0);
  CHECK(s.pages_mapped == 0);
  CHECK(h->mapper().mapped() == 0);
  CHECK(s.failed_no_memory == all.no_memory);
  CHECK(s.failed_no_block == all.no_block);
  for (std::size_t b = 0; b < h->bucket_count(); ++b) CHECK(h->stats(b).in_use == 0);
  const vmh::check c = h->validate();
  INFO(vmh::to_string(c.broken) << " bucket " << c.bucket << " index " << c.index);
  CHECK(static_cast<bool>(c));
  if constexpr (layout_type::geometry.packed.bytes != 0) CHECK(all.packed > all.allocations / 4);  // the region's share
  // Printed so that the figures of a run are on record.
  std::printf("stress (%s): %zu heap operations on %u threads in %.2f s (%zu allocations, %zu in the packed region, "
              "%zu cross-thread frees)\n",
              name, all.operations, thread_count, seconds, all.allocations, all.packed, all.cross_frees);
}

}  // namespace

TEST_CASE("stress: threads allocate and free each other's blocks through a shared queue", "[reliability][stress]") {
  share_one_heap<heap_type>("buckets");
}

TEST_CASE("stress: threads share a heap with a packed region", "[reliability][stress][packed]") {
  share_one_heap<packed_heap_type>("packed region");
}

TEST_CASE("stress: queries from other threads while one thread reconfigures the heap", "[reliability][stress]") {
  // Every query takes the lock: under ThreadSanitizer an unlocked one is a reported race with
  // configure and set_range_policy. Without it, each query still sees one layout or the other.
  using runtime_heap = vmh::heap<vmh::runtime_layout<8, 256, 64>, vmh::counting_mapper, vmh::external_range,
                                 vmh::spin_lock>;
  constexpr std::size_t bytes = 64 * page;
  std::unique_ptr<std::byte, void (*)(std::byte*)> mem(
      static_cast<std::byte*>(::operator new(bytes, std::align_val_t{page})),
      [](std::byte* p) { ::operator delete(p, std::align_val_t{page}); });
  auto h = std::make_unique<runtime_heap>(vmh::external_range{mem.get(), bytes});
  const vmh::bucket three[] = {{64, 64}, {1024, 8}, {16384, 2}};
  const vmh::bucket four[] = {{128, 32}, {1024, 8}, {8192, 4}, {65536, 2}};
  REQUIRE(h->configure(three, 3) == vmh::layout_error::none);
  h->set_range_policy(vmh::range_policy::greedy());  // the readers may start before the configurer

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reconfigured{0}, refused{0}, queries{0}, rounds{0};
  std::atomic<std::size_t> odd[8] = {};  // per kind of surprise, to name it
  std::thread configurer([&] {
    // At least 4000 rounds, and on until the readers have queried 4000 times (bounded).
    for (std::size_t i = 0; i < 4000 || (queries.load(std::memory_order_relaxed) < 4000 && i < 50000000); ++i) {
      const vmh::layout_error e = i % 2 == 0 ? h->configure(four, 4) : h->configure(three, 3);
      if (e == vmh::layout_error::none) reconfigured.fetch_add(1, std::memory_order_relaxed);
      else if (e == vmh::layout_error::heap_not_empty) refused.fetch_add(1, std::memory_order_relaxed);
      else odd[0].fetch_add(1, std::memory_order_relaxed);
      h->set_range_policy(i % 3 == 0 ? vmh::range_policy::greedy() : vmh::range_policy::share(1, 2));
      rounds.fetch_add(1, std::memory_order_relaxed);
    }
    stop.store(true, std::memory_order_release);
  });
  auto reader = [&](unsigned id) {
    std::mt19937_64 rng(id);
    while (!stop.load(std::memory_order_acquire)) {
      const std::size_t n = h->bucket_count();
      if (n != 3 && n != 4) odd[1].fetch_add(1, std::memory_order_relaxed);
      if (h->state() != vmh::layout_error::none) odd[2].fetch_add(1, std::memory_order_relaxed);
      if (!h->owns(mem.get())) odd[3].fetch_add(1, std::memory_order_relaxed);
      const vmh::range_policy p = h->get_range_policy();
      if (p.kind != vmh::range_policy::rule::fixed) odd[4].fetch_add(1, std::memory_order_relaxed);
      const vmh::bucket_stats b = h->stats(1);
      if (b.block_size != 1024 && b.block_size != 0) odd[5].fetch_add(1, std::memory_order_relaxed);
      static_cast<void>(h->stats());
      // A live allocation now and then makes configure refuse.
      if (rng() % 4 == 0) {
        void* q = h->allocate(1 + rng() % 2000);
        if (q != nullptr && h->usable_size(q) == 0) odd[6].fetch_add(1, std::memory_order_relaxed);
        if (q != nullptr && h->deallocate(q) != vmh::status::ok) odd[7].fetch_add(1, std::memory_order_relaxed);
      }
      queries.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  configurer.join();
  r1.join();
  r2.join();
  INFO(reconfigured.load() << " reconfigurations, " << refused.load() << " refused, " << queries.load() << " query rounds");
  for (std::size_t k = 0; k < 8; ++k) {
    CAPTURE(k);
    CHECK(odd[k].load() == 0);
  }
  CHECK(reconfigured.load() > 0);
  CHECK(reconfigured.load() + refused.load() == rounds.load());
  CHECK(queries.load() >= 4000);
  CHECK(h->stats().live_allocations == 0);
  CHECK(h->mapper().mapped() == 0);
  CHECK(h->validate());
}
