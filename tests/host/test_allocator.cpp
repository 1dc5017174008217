// The standard Allocator adapter with standard containers, on a heap over real virtual memory.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <vmh/host/allocator.hpp>
#include <vmh/host/mmap.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "child_process.hpp"
#include "host_heaps.hpp"
#include "support/misuse_log.hpp"

namespace {

using namespace host_test;
using layout = container_layout;
using heap_type = container_heap;
template <class T>
using alloc = vmh::host::allocator<T, heap_type>;

using mmap_heap = host_test::own_range_heap<heap_type>;


using traits = std::allocator_traits<alloc<int>>;
static_assert(std::is_same_v<traits::rebind_alloc<long>, alloc<long>>);
static_assert(traits::propagate_on_container_move_assignment::value);
static_assert(traits::propagate_on_container_swap::value);
static_assert(!traits::is_always_equal::value);

}  // namespace

TEST_CASE("allocator: vectors, node containers and strings live in the heap", "[host][allocator]") {
  mmap_heap f;
  heap_type& h = f.heap;
  {
    std::vector<int, alloc<int>> v{alloc<int>{h}};
    for (int i = 0; i < 5000; ++i) v.push_back(i * 3);
    CHECK(h.owns(v.data()));
    CHECK(v[4999] == 14997);
    CHECK(h.stats().live_allocations == 1);

    using pair_alloc = alloc<std::pair<const int, double>>;
    std::map<int, double, std::less<int>, pair_alloc> m{pair_alloc{h}};
    for (int i = 0; i < 300; ++i) m[i] = i * 0.5;
    for (const auto& kv : m) CHECK(h.owns(&kv));

    std::list<int, alloc<int>> l{alloc<int>{h}};
    for (int i = 0; i < 100; ++i) l.push_front(i);
    for (const int& x : l) CHECK(h.owns(&x));

    using string = std::basic_string<char, std::char_traits<char>, alloc<char>>;
    string s{"a string long enough to leave the small-string buffer", alloc<char>{h}};
    CHECK(h.owns(s.data()));

    std::unordered_map<int, int, std::hash<int>, std::equal_to<int>, alloc<std::pair<const int, int>>> u{
        16, std::hash<int>{}, std::equal_to<int>{}, alloc<std::pair<const int, int>>{h}};
    for (int i = 0; i < 500; ++i) u.emplace(i, -i);
    CHECK(u.at(123) == -123);

    std::deque<double, alloc<double>> d{alloc<double>{h}};
    for (int i = 0; i < 3000; ++i) d.push_back(i);
    CHECK(h.validate());
  }
  CHECK(empty(h));
}

TEST_CASE("allocator: equality follows the heap", "[host][allocator]") {
  mmap_heap f1, f2;
  const alloc<int> a{f1.heap}, b{f1.heap}, c{f2.heap};
  CHECK(a == b);
  CHECK(a != c);
  const alloc<double> rebound{a};
  CHECK(rebound == a);
  CHECK(a == rebound);
  CHECK(&rebound.heap() == &f1.heap);
  CHECK(rebound != c);

  // Memory from one allocator is freed through an equal one.
  alloc<int> a2{a};
  int* p = a2.allocate(10);
  alloc<int>{f1.heap}.deallocate(p, 10);
  CHECK(empty(f1.heap));
}

TEST_CASE("allocator: the allocator moves and swaps with its container", "[host][allocator]") {
  mmap_heap f1, f2;
  std::vector<int, alloc<int>> x{{1, 2, 3}, alloc<int>{f1.heap}};
  std::vector<int, alloc<int>> y{{4, 5}, alloc<int>{f2.heap}};
  const int* xd = x.data();
  y = std::move(x);  // propagates: y takes x's buffer and heap
  CHECK(y.data() == xd);
  CHECK(y.get_allocator() == alloc<int>{f1.heap});
  std::vector<int, alloc<int>> z{{7}, alloc<int>{f2.heap}};
  y.swap(z);
  CHECK(z.data() == xd);
  CHECK(f1.heap.owns(z.data()));
  CHECK(f2.heap.owns(y.data()));
  std::vector<int, alloc<int>> copy{z};
  CHECK(copy.get_allocator() == z.get_allocator());
  CHECK(f1.heap.owns(copy.data()));
}

TEST_CASE("allocator: failures throw std::bad_alloc", "[host][allocator]") {
  mmap_heap f{32 * kib};
  heap_type& h = f.heap;
  alloc<int> a{h};
  CHECK_THROWS_AS(a.allocate(a.max_size() + 1), std::bad_array_new_length);
  CHECK_THROWS_AS(a.allocate(a.max_size()), std::bad_alloc);
  CHECK_THROWS_AS(a.allocate(64 * kib / sizeof(int)), std::bad_alloc);  // beyond the 32 KiB budget
  try {
    static_cast<void>(a.allocate(64 * kib / sizeof(int)));
    FAIL("no exception");
  } catch (const vmh::host::allocation_failure& e) {
    CHECK(e.reason() == status::no_memory);
  }
  std::vector<int, alloc<int>> v{a};
  CHECK_THROWS_AS(v.resize(20000), std::bad_alloc);
  CHECK(v.empty());
  int* zero = a.allocate(0);
  CHECK(zero != nullptr);
  a.deallocate(zero, 0);
  CHECK(empty(h));
}

TEST_CASE("allocator: over-aligned types get their alignment", "[host][allocator]") {
  mmap_heap f;
  struct alignas(512) frame_block {
    float samples[32];
  };
  std::vector<frame_block, alloc<frame_block>> v{alloc<frame_block>{f.heap}};
  for (int i = 0; i < 20; ++i) {
    v.emplace_back();
    CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % 512 == 0);
  }
  struct alignas(8192) too_aligned {
    char c;
  };
  alloc<too_aligned> t{f.heap};
  CHECK_THROWS_AS(t.allocate(1), std::bad_alloc);  // no block is aligned beyond a page
}

TEST_CASE("allocator: a pointer the heap did not hand out is refused and reported, not dropped", "[host][allocator]") {
  mmap_heap f;
  alloc<int> a{f.heap};
  vmh_test::misuse_log misuse;
  int* p = a.allocate(4);
  a.deallocate(p, 4);
  CHECK(vmh_test::misuse_log::take() == 0);
  a.deallocate(p, 4);  // a second free
  CHECK(vmh_test::misuse_log::reported(vmh::status::double_free, p));
  int local = 0;
  a.deallocate(&local, 1);  // never the heap's
  CHECK(vmh_test::misuse_log::reported(vmh::status::foreign_pointer, &local));
  CHECK(f.heap.stats().live_allocations == 0);
  CHECK(f.heap.validate());
}

TEST_CASE("allocator: with the default misuse handler a bad free stops a debug build, and nothing else",
          "[host][allocator]") {
  // In a child process: the default handler asserts where NDEBUG is not defined.
  const child_end end = run_in_child([] {
    ::signal(SIGABRT, SIG_DFL);  // the test framework's handler would report the abort as its own
    mmap_heap f;
    alloc<int> a{f.heap};
    int* p = a.allocate(1);
    a.deallocate(p, 1);
    a.deallocate(p, 1);  // a double free, dropped by the Allocator interface
    ::_exit(f.heap.validate() && f.heap.stats().live_allocations == 0 ? 3 : 4);
  });
  INFO("signal " << end.signal << ", exit code " << end.exit_code);
#ifdef NDEBUG
  CHECK_FALSE(end.signaled);  // release: refused (the heap is unchanged) and nothing more
  CHECK(end.exit_code == 3);
#else
  CHECK(end.signaled);  // debug: the assert stops the program at the bad free
  CHECK(end.signal == SIGABRT);
#endif
}
