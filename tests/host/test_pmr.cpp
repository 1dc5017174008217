// The std::pmr::memory_resource adapter with standard containers, on a heap over real virtual
// memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory_resource>
#include <new>
#include <numeric>
#include <string>
#include <vector>

#include <vmh/host/mmap.hpp>
#include <vmh/host/pmr.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "host_heaps.hpp"
#include "support/heap_state.hpp"
#include "support/misuse_log.hpp"

namespace {

using namespace host_test;
using layout = container_layout;
using heap_type = container_heap;
using resource = vmh::host::memory_resource<heap_type>;

using mmap_heap = host_test::own_range_heap<heap_type>;


}  // namespace

TEST_CASE("pmr containers allocate from the heap and give everything back", "[host][pmr]") {
  mmap_heap f;
  heap_type& h = f.heap;
  resource res{h};
  CHECK(&res.heap() == &h);
  {
    std::pmr::vector<int> v{&res};
    for (int i = 0; i < 10000; ++i) v.push_back(i);
    CHECK(h.owns(v.data()));
    CHECK(std::accumulate(v.begin(), v.end(), 0LL) == 49995000LL);
    CHECK(h.stats().live_allocations == 1);  // growth freed each old buffer
    CHECK(h.validate());

    std::pmr::map<int, std::pmr::string> m{&res};
    for (int i = 0; i < 200; ++i) m.emplace(i, std::pmr::string(100, static_cast<char>('a' + i % 26)));
    CHECK(m.get_allocator().resource() == &res);
    CHECK(m.at(27).get_allocator().resource() == &res);  // uses-allocator construction reaches the strings
    for (const auto& [k, s] : m) {
      CHECK(h.owns(&k));
      CHECK(h.owns(s.data()));
    }
    CHECK(h.stats().live_allocations == 1 + 2 * 200);

    std::pmr::list<std::pmr::vector<double>> l{&res};
    for (int i = 0; i < 50; ++i) l.emplace_back(static_cast<std::size_t>(i + 1) * 10, 1.5);
    for (const auto& x : l) CHECK(h.owns(x.data()));
    CHECK(h.validate());
    CHECK(res.rejected_deallocations() == 0);
  }
  CHECK(empty(h));
}

TEST_CASE("pmr allocation failure throws std::bad_alloc and leaves the heap as it was", "[host][pmr]") {
  mmap_heap f{64 * kib};
  heap_type& h = f.heap;
  resource res{h};
  std::pmr::vector<std::byte> keep{100, std::byte{1}, &res};
  const vmh::heap_stats before = h.stats();

  SECTION("larger than the heap") {
    CHECK_THROWS_AS(res.allocate(4096 * kib), std::bad_alloc);
    try {
      static_cast<void>(res.allocate(4096 * kib));
      FAIL("no exception");
    } catch (const vmh::host::allocation_failure& e) {
      CHECK(e.reason() == status::invalid_size);
      CHECK(std::string{e.what()} == "invalid size");
    }
  }
  SECTION("larger than any block") {
    try {
      static_cast<void>(res.allocate(1024 * kib));
      FAIL("no exception");
    } catch (const std::bad_alloc& e) {
      const auto* failure = dynamic_cast<const vmh::host::allocation_failure*>(&e);
      REQUIRE(failure != nullptr);
      CHECK(failure->reason() == status::no_bucket);
    }
  }
  SECTION("beyond the physical budget") {
    try {
      static_cast<void>(res.allocate(128 * kib));
      FAIL("no exception");
    } catch (const vmh::host::allocation_failure& e) {
      CHECK(e.reason() == status::no_memory);
    }
    std::pmr::vector<std::byte> v{&res};
    CHECK_THROWS_AS(v.reserve(100 * kib), std::bad_alloc);
    CHECK(v.empty());
  }
  CHECK(h.stats().live_allocations == before.live_allocations);
  CHECK(h.stats().pages_mapped == before.pages_mapped);
  CHECK(h.validate());
}

TEST_CASE("pmr allocation throws when every block of the size is taken", "[host][pmr]") {
  mmap_heap f;
  resource res{f.heap};
  std::vector<void*> held;
  for (int i = 0; i < 4; ++i) held.push_back(res.allocate(70 * kib));  // the four 256 KiB blocks
  try {
    static_cast<void>(res.allocate(70 * kib));
    FAIL("no exception");
  } catch (const vmh::host::allocation_failure& e) {
    CHECK(e.reason() == status::no_block);
  }
  CHECK(f.heap.stats(6).full_failures == 1);
  for (void* p : held) res.deallocate(p, 70 * kib);
  CHECK(empty(f.heap));
}

TEST_CASE("pmr alignment is passed to the heap", "[host][pmr]") {
  mmap_heap f;
  heap_type& h = f.heap;
  resource res{h};
  for (const std::size_t align : {std::size_t{1}, std::size_t{8}, std::size_t{64}, std::size_t{256}, std::size_t{1024},
                                  std::size_t{4096}}) {
    CAPTURE(align);
    void* p = res.allocate(40, align);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0);
    CHECK(h.usable_size(p) >= 40);
    res.deallocate(p, 40, align);
  }
  // No block is aligned beyond a page, and an alignment must be a power of two (the standard
  // makes any other undefined; the heap reports it).
  std::size_t not_pow2 = 48;
  CHECK_THROWS_AS(res.allocate(64, 8192), std::bad_alloc);
  CHECK_THROWS_AS(res.allocate(64, not_pow2), std::bad_alloc);
  try {
    static_cast<void>(res.allocate(64, not_pow2));
    FAIL("no exception");
  } catch (const vmh::host::allocation_failure& e) {
    CHECK(e.reason() == status::invalid_alignment);
  }

  struct alignas(256) lane {
    float samples[16];
  };
  std::pmr::vector<lane> lanes{&res};
  lanes.resize(7);
  CHECK(reinterpret_cast<std::uintptr_t>(lanes.data()) % 256 == 0);
  lanes.clear();
  lanes.shrink_to_fit();
  CHECK(empty(h));
}

TEST_CASE("pmr resources are equal when they share a heap", "[host][pmr]") {
  mmap_heap f1, f2;
  resource a{f1.heap}, b{f1.heap}, c{f2.heap};
  CHECK(a == a);
  CHECK(a.is_equal(b));
  CHECK(a == b);
  CHECK_FALSE(a == c);
  CHECK_FALSE(a == *std::pmr::new_delete_resource());
  CHECK_FALSE(*std::pmr::new_delete_resource() == a);

  // Equal resources: memory from one is freed through the other, and containers move buffers.
  void* p = a.allocate(100);
  b.deallocate(p, 100);
  std::pmr::vector<int> v1{{1, 2, 3}, &a};
  const int* data = v1.data();
  std::pmr::vector<int> v2{std::move(v1), &b};
  CHECK(v2.data() == data);
  std::pmr::vector<int> v3{std::move(v2), &c};  // another heap: copied
  CHECK(v3.data() != data);
  CHECK(f2.heap.owns(v3.data()));
}

TEST_CASE("pmr zero-byte requests and rejected deallocations", "[host][pmr]") {
  mmap_heap f;
  heap_type& h = f.heap;
  resource res{h};
  void* z1 = res.allocate(0);
  void* z2 = res.allocate(0);
  CHECK(z1 != nullptr);
  CHECK(z1 != z2);
  res.deallocate(z1, 0);
  res.deallocate(z2, 0);
  CHECK(res.rejected_deallocations() == 0);
  // Freeing twice is undefined for a memory_resource; the heap detects it, changes nothing and
  // reports it to the misuse handler (by default an assert in debug builds).
  vmh_test::misuse_log misuse;
  res.deallocate(z1, 0);
  CHECK(vmh_test::misuse_log::reported(status::double_free, z1));
  int local = 0;
  res.deallocate(&local, sizeof local);
  CHECK(vmh_test::misuse_log::reported(status::foreign_pointer, &local));
  CHECK(res.rejected_deallocations() == 2);
  CHECK(empty(h));
}

TEST_CASE("pmr bad input: impossible sizes and alignments throw with the heap's reason and change nothing",
          "[host][pmr][bad-input]") {
  mmap_heap f;
  heap_type& h = f.heap;
  resource res{h};
  std::pmr::vector<int> keep{{1, 2, 3}, &res};
  const vmh_test::heap_state<heap_type> before(h, f.range.base());
  auto reason = [&](std::size_t bytes, std::size_t align) {
    try {
      static_cast<void>(res.allocate(bytes, align));
    } catch (const vmh::host::allocation_failure& e) {
      return e.reason();
    }
    return status::ok;
  };
  CHECK(reason(SIZE_MAX, alignof(std::max_align_t)) == status::invalid_size);
  CHECK(reason(SIZE_MAX / 2 + 1, 8) == status::invalid_size);
  CHECK(reason(SIZE_MAX - page + 1, 8) == status::invalid_size);
  CHECK(reason(64, SIZE_MAX) == status::invalid_alignment);
  CHECK(reason(64, 3) == status::invalid_alignment);
  CHECK(reason(64, std::size_t{1} << 63) == status::no_bucket);
  CHECK(reason(1024 * kib, 8) == status::no_bucket);  // larger than any block
  // None of them is a failure of a working heap: nothing is counted.
  const std::string changed = vmh_test::changes(before, vmh_test::heap_state<heap_type>(h, f.range.base()));
  INFO("changed: " << changed);
  CHECK(changed.empty());
  CHECK(h.validate());
  CHECK(keep[2] == 3);
}

TEST_CASE("pmr bad input: deallocations the heap rejects are counted and change nothing", "[host][pmr][bad-input]") {
  mmap_heap f;
  heap_type& h = f.heap;
  resource res{h};
  auto* p = static_cast<std::byte*>(res.allocate(100));
  auto* q = static_cast<std::byte*>(res.allocate(5000));
  const vmh_test::heap_state<heap_type> before(h, f.range.base());
  vmh_test::misuse_log misuse;
  int local = 0;
  res.deallocate(p + 8, 92);                    // an interior pointer
  res.deallocate(q + 4096, 904);                // inside the mapped pages of a live block
  res.deallocate(&local, sizeof local);         // not the heap's
  res.deallocate(f.range.base() + 64 * 63, 64);  // a block start never allocated
  CHECK(res.rejected_deallocations() == 4);
  CHECK(vmh_test::misuse_log::take() == 4);  // and each went to the misuse handler
  const std::string changed = vmh_test::changes(before, vmh_test::heap_state<heap_type>(h, f.range.base()));
  INFO("changed: " << changed);
  CHECK(changed.empty());
  CHECK(h.validate());
  // The size and alignment given back are not the heap's business: the block is freed whole.
  res.deallocate(p, 4096, 4096);
  res.deallocate(q, 1, 1);
  CHECK(res.rejected_deallocations() == 4);
  CHECK(empty(h));
}

TEST_CASE("pmr bad input: a resource over an unconfigured heap throws and rejects", "[host][pmr][bad-input]") {
  mmap_range nothing{};  // an empty reservation: the heap over it is not configured
  heap_type h{nothing.view(), mmap_mapper{}};
  REQUIRE(h.state() != vmh::layout_error::none);
  resource res{h};
  try {
    static_cast<void>(res.allocate(64));
    FAIL("no exception");
  } catch (const vmh::host::allocation_failure& e) {
    CHECK(e.reason() == status::not_configured);
  }
  std::pmr::vector<int> v{&res};
  CHECK_THROWS_AS(v.push_back(1), std::bad_alloc);
  CHECK(v.empty());
  int local = 0;
  res.deallocate(&local, sizeof local);  // refused as not_configured: no misused pointer to report
  CHECK(res.rejected_deallocations() == 1);
  CHECK(h.stats().live_allocations == 0);
}
