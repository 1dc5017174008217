// Real virtual memory on Linux: the mmap reservation, the mprotect/madvise page mapper, and a
// heap on top of them. Residency is measured with mincore on the pages in question, so every
// check is deterministic; use after free is shown by a child process that dies touching a freed
// block.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

#include <vmh/host/mmap.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "child_process.hpp"
#include "host_heaps.hpp"

namespace {

using namespace host_test;
using layout = small_layout;
using heap_type = small_heap;
constexpr std::size_t big_offset = 77824;  // the 64 KiB bucket

using mmap_heap = host_test::own_range_heap<heap_type>;

std::size_t resident(const void* p, std::size_t bytes) { return vmh::host::resident_bytes(p, bytes); }

void touch(void* p, std::size_t bytes) {
  auto* b = static_cast<volatile unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; i += 512) b[i] = 0xa5;
  b[bytes - 1] = 0xa5;
}

// Whether the byte at p can be read, without faulting: the kernel copies it into a pipe, or
// reports EFAULT.
bool readable(const void* p) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  const bool ok = ::write(fds[1], p, 1) == 1;
  ::close(fds[0]);
  ::close(fds[1]);
  return ok;
}

std::size_t statm_resident_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, rss = 0;
  f >> size >> rss;
  return rss * vmh::host::os_page_size();
}

}  // namespace

TEST_CASE("mmap_range reserves address space without memory or access", "[host][mmap]") {
  REQUIRE(vmh::host::os_page_size() == page);
  mmap_range r{10 * page + 1};
  REQUIRE(r);
  CHECK(r.error() == 0);
  CHECK(r.size() == 11 * page);  // whole pages
  CHECK(reinterpret_cast<std::uintptr_t>(r.base()) % page == 0);
  CHECK(resident(r.base(), r.size()) == 0);
  CHECK_FALSE(readable(r.base()));
  CHECK_FALSE(readable(r.base() + r.size() - 1));
  const external_range v = r.view();
  CHECK(v.base() == r.base());
  CHECK(v.size() == r.size());
}

TEST_CASE("resident_bytes counts touched pages only, and a range that wraps around is none", "[host][mmap][bad-input]") {
  mmap_range r{4 * page};
  REQUIRE(r);
  mmap_mapper m;
  REQUIRE(m.map(r.base(), 2 * page));
  touch(r.base(), page);
  CHECK(resident(r.base(), 4 * page) == page);
  CHECK(resident(r.base() + 1, 1) == page);  // widened to the page
  CHECK(resident(r.base(), 0) == 0);
  // Past the end of the address space (the end would wrap around below the start).
  CHECK(resident(r.base(), SIZE_MAX) == 0);
  CHECK(resident(r.base(), SIZE_MAX - reinterpret_cast<std::uintptr_t>(r.base()) - page + 2) == 0);
  CHECK(resident(reinterpret_cast<void*>(UINTPTR_MAX - 10), 100) == 0);
  m.unmap(r.base(), 2 * page);
}

TEST_CASE("mmap_range aligns beyond the system page", "[host][mmap]") {
  for (const std::size_t align : {std::size_t{16 * kib}, std::size_t{64 * kib}, std::size_t{2048 * kib}}) {
    CAPTURE(align);
    mmap_range r{3 * page, align};
    REQUIRE(r);
    CHECK(reinterpret_cast<std::uintptr_t>(r.base()) % align == 0);
    CHECK(r.size() == 3 * page);
  }
  mmap_range bad{page, 3 * page};  // not a power of two
  CHECK_FALSE(bad);
  CHECK(bad.error() == EINVAL);
}

TEST_CASE("mmap_range moves ownership and unmaps in its destructor", "[host][mmap]") {
  unsigned char vec = 0;
  std::byte* base = nullptr;
  {
    mmap_range a{4 * page};
    base = a.base();
    REQUIRE(::mincore(base, page, &vec) == 0);  // a mapping
    mmap_range b{std::move(a)};
    CHECK_FALSE(a);
    CHECK(a.base() == nullptr);
    CHECK(a.size() == 0);
    CHECK(b.base() == base);
    mmap_range c;
    c = std::move(b);
    CHECK(c.base() == base);
    CHECK(c.size() == 4 * page);
  }
  errno = 0;
  CHECK(::mincore(base, page, &vec) == -1);  // no mapping any more
  CHECK(errno == ENOMEM);

  mmap_range d{page};
  std::byte* const d_base = d.base();
  d.reset();
  CHECK_FALSE(d);
  CHECK(::mincore(d_base, page, &vec) == -1);
}

TEST_CASE("a reservation that fails leaves an empty range and an unconfigured heap", "[host][mmap]") {
  errno = 12345;
  mmap_range huge{std::size_t{1} << 60};  // more than the address space
  CHECK(errno == 12345);                  // errno untouched
  CHECK_FALSE(huge);
  CHECK(huge.error() == ENOMEM);
  CHECK(huge.size() == 0);
  mmap_range zero{0};
  CHECK_FALSE(zero);

  heap_type h{huge.view(), mmap_mapper{}};
  CHECK(h.state() == vmh::layout_error::window_too_small);
  const vmh::grant g = h.try_allocate(64);
  CHECK(g.ptr == nullptr);
  CHECK(g.status == status::not_configured);
}

TEST_CASE("mmap_mapper commits, decommits and counts pages", "[host][mmap]") {
  mmap_range r{8 * page};
  REQUIRE(r);
  std::byte* const p = r.base();
  mmap_mapper m{5 * page};
  CHECK(m.page_size() == page);
  CHECK(m.budget() == 5 * page);
  CHECK(m.available() == 5 * page);

  REQUIRE(m.map(p + page, 3 * page));
  CHECK(m.mapped() == 3 * page);
  CHECK(m.available() == 2 * page);
  CHECK(resident(p, 8 * page) == 0);  // committed is not resident: nothing touched yet
  touch(p + page, 2 * page);
  CHECK(resident(p + page, 3 * page) == 2 * page);
  CHECK(static_cast<unsigned char>(p[page]) == 0xa5);
  // (Probing reads a page, which may map the shared zero page: residency is checked before.)
  CHECK(readable(p + page));
  CHECK(readable(p + 4 * page - 1));
  CHECK_FALSE(readable(p));  // the neighbours stay inaccessible
  CHECK_FALSE(readable(p + 4 * page));

  m.unmap(p + 2 * page, page);  // in pieces, as the heap may
  CHECK(m.mapped() == 2 * page);
  CHECK(resident(p + 2 * page, page) == 0);
  CHECK(resident(p + page, page) == page);
  CHECK_FALSE(readable(p + 2 * page));
  m.unmap(p + page, page);
  m.unmap(p + 3 * page, page);
  CHECK(m.mapped() == 0);
  CHECK(resident(p, 8 * page) == 0);
  CHECK_FALSE(readable(p + page));
  CHECK(m.peak() == 3 * page);
  CHECK(m.unmap_errors() == 0);

  // Mapped again, a page reads as zero: its old contents went back to the system.
  REQUIRE(m.map(p + page, page));
  CHECK(static_cast<unsigned char>(p[page]) == 0);
  m.unmap(p + page, page);
  CHECK(m.failures() == 0);
}

TEST_CASE("mmap_mapper refuses what it cannot map, leaving nothing accessible", "[host][mmap]") {
  mmap_range r{8 * page};
  REQUIRE(r);
  std::byte* const p = r.base();

  SECTION("over budget") {
    mmap_mapper m{2 * page};
    CHECK_FALSE(m.map(p, 3 * page));
    CHECK(m.failures() == 1);
    CHECK(m.mapped() == 0);
    CHECK_FALSE(readable(p));
    m.set_budget(3 * page);
    CHECK(m.map(p, 3 * page));
    m.set_budget(page);  // never below what is mapped
    CHECK(m.budget() == 3 * page);
    m.unmap(p, 3 * page);
  }
  SECTION("not whole system pages") {
    mmap_mapper m;
    CHECK(m.budget() == vmh::host::physical_memory());
    CHECK_FALSE(m.map(p + 1024, page));
    CHECK_FALSE(m.map(p, 1024));
    CHECK(m.failures() == 2);
    CHECK(m.last_error() == EINVAL);
    CHECK_FALSE(readable(p));
  }
  SECTION("the system call fails part way") {
    // The second half becomes a read-only shared mapping: mprotect makes the first half writable,
    // then fails with EACCES on the second. The mapper must take the first half back.
    const int fd = ::open("/dev/zero", O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::mmap(p + 4 * page, 4 * page, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0) == p + 4 * page);
    ::close(fd);
    mmap_mapper m;
    errno = 777;
    CHECK_FALSE(m.map(p, 8 * page));
    CHECK(errno == 777);
    CHECK(m.last_error() == EACCES);
    CHECK(m.failures() == 1);
    CHECK(m.mapped() == 0);
    for (std::size_t i = 0; i < 8; ++i) CHECK_FALSE(readable(p + i * page));
    CHECK(m.map(p, 4 * page));  // the anonymous half still works
    m.unmap(p, 4 * page);
  }
  SECTION("a hole in the range") {
    REQUIRE(::munmap(p + 4 * page, page) == 0);
    mmap_mapper m;
    CHECK_FALSE(m.map(p, 8 * page));
    CHECK(m.last_error() == ENOMEM);
    CHECK(m.mapped() == 0);
    for (std::size_t i = 0; i < 4; ++i) CHECK_FALSE(readable(p + i * page));
    // Unmapping a range that is no mapping any more is counted, not fatal.
    m.unmap(p + 4 * page, page);
    CHECK(m.unmap_errors() >= 1);
  }
}

TEST_CASE("a heap on mmap: pages become resident when used and return when freed", "[host][mmap][heap]") {
  mmap_heap f;
  heap_type& h = f.heap;
  REQUIRE(h.state() == vmh::layout_error::none);
  std::byte* const base = f.range.base();

  auto* a = static_cast<std::byte*>(h.allocate(40 * kib));  // a 64 KiB block: 10 pages mapped
  REQUIRE(a != nullptr);
  CHECK(a == base + big_offset);
  CHECK(h.stats().pages_mapped == 10);
  CHECK(h.mapper().mapped() == 10 * page);
  CHECK(resident(a, 64 * kib) == 0);  // mapped, not yet touched
  CHECK(readable(a + 40 * kib - 1));
  CHECK_FALSE(readable(a + 40 * kib));  // past the pages asked for
  touch(a, 40 * kib);
  CHECK(resident(a, 64 * kib) == 40 * kib);
  CHECK(h.validate());

  REQUIRE(h.deallocate(a) == status::ok);
  CHECK(resident(a, 64 * kib) == 0);
  CHECK_FALSE(readable(a));
  CHECK(h.stats().pages_mapped == 0);
  CHECK(h.mapper().mapped() == 0);
  CHECK(h.validate());
}

TEST_CASE("a heap on mmap keeps a page while any allocation uses it", "[host][mmap][heap]") {
  mmap_heap f;
  heap_type& h = f.heap;
  void* x = h.allocate(64);
  void* y = h.allocate(64);  // the same page as x
  REQUIRE(x != nullptr);
  REQUIRE(y != nullptr);
  touch(x, 64);
  touch(y, 64);
  CHECK(resident(x, 1) == page);
  REQUIRE(h.deallocate(x) == status::ok);
  CHECK(resident(y, 1) == page);  // y still uses the page
  CHECK(readable(x));             // page granularity: a freed block on a live page stays readable
  CHECK(static_cast<unsigned char*>(y)[0] == 0xa5);
  REQUIRE(h.deallocate(y) == status::ok);
  CHECK(resident(y, 1) == 0);
  CHECK_FALSE(readable(y));

  // 6 KiB blocks straddle pages: block 0 covers pages 7-8 of the range, block 1 pages 8-9.
  auto* b0 = static_cast<std::byte*>(h.allocate(6 * kib));
  auto* b1 = static_cast<std::byte*>(h.allocate(6 * kib));
  REQUIRE(b0 != nullptr);
  REQUIRE(b1 != nullptr);
  touch(b0, 6 * kib);
  touch(b1, 6 * kib);
  CHECK(resident(b0, 12 * kib) == 3 * page);
  REQUIRE(h.deallocate(b0) == status::ok);
  CHECK(resident(b0, 12 * kib) == 2 * page);  // b0's first page goes, the shared one stays
  CHECK(b1[0] == std::byte{0xa5});
  REQUIRE(h.deallocate(b1) == status::ok);
  CHECK(resident(b0, 12 * kib) == 0);
  CHECK(h.validate());
}

TEST_CASE("a heap on mmap maps and unmaps pages on resize", "[host][mmap][heap]") {
  mmap_heap f;
  heap_type& h = f.heap;
  auto* a = static_cast<std::byte*>(h.allocate(8 * kib));
  REQUIRE(a != nullptr);
  touch(a, 8 * kib);
  REQUIRE(h.resize(a, 60 * kib) == status::ok);
  touch(a, 60 * kib);
  CHECK(resident(a, 64 * kib) == 60 * kib);
  CHECK(a[0] == std::byte{0xa5});  // contents kept: the pointer never moves
  REQUIRE(h.resize(a, 4 * kib) == status::ok);
  CHECK(resident(a, 64 * kib) == 4 * kib);
  CHECK_FALSE(readable(a + 4 * kib));
  CHECK(h.mapper().mapped() == page);
  CHECK(h.validate());
  h.deallocate(a);
}

TEST_CASE("a failed system call is a failed allocation", "[host][mmap][heap]") {
  mmap_heap f;
  heap_type& h = f.heap;
  std::byte* const third = f.range.base() + big_offset + 2 * 64 * kib;
  // The third 64 KiB block becomes a read-only shared mapping that mprotect cannot make writable.
  const int fd = ::open("/dev/zero", O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::mmap(third, 64 * kib, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0) == third);
  ::close(fd);

  void* a = h.allocate(64 * kib);
  void* b = h.allocate(64 * kib);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  const vmh::heap_stats before = h.stats();
  const vmh::grant g = h.try_allocate(64 * kib);
  CHECK(g.ptr == nullptr);
  CHECK(g.status == status::no_memory);
  CHECK(h.stats().failed_no_memory == 1);
  CHECK(h.stats().live_allocations == before.live_allocations);
  CHECK(h.stats().pages_mapped == before.pages_mapped);
  CHECK(h.mapper().last_error() == EACCES);
  CHECK_FALSE(readable(third));
  CHECK(h.validate());
  // A range request meets the same block and fails the same way.
  CHECK(h.allocate_range(32 * kib, 64 * kib).status == status::no_memory);
  // The rest of the heap is unaffected.
  void* small = h.allocate(100);
  CHECK(small != nullptr);
  h.deallocate(small);
  h.deallocate(a);
  h.deallocate(b);
  CHECK(h.validate());
  CHECK(h.mapper().mapped() == 0);
}

TEST_CASE("a heap page smaller than the system page fails allocations instead of faulting", "[host][mmap][heap]") {
  // 1 KiB heap pages on a 4 KiB system: each map request of a single 1 KiB page is refused.
  constexpr auto small_pages = vmh::make_table({{64, 64}, {1024, 8}}, 1024);
  using small_layout = vmh::fixed_layout<small_pages>;
  mmap_range r{small_layout::virtual_size};
  vmh::heap<small_layout, mmap_mapper, external_range> h{r.view(), mmap_mapper{}};
  REQUIRE(h.state() == vmh::layout_error::none);
  const vmh::grant g = h.try_allocate(64);
  CHECK(g.status == status::no_memory);
  CHECK(h.mapper().last_error() == EINVAL);
  CHECK(h.validate());
}

TEST_CASE("the mapper's budget is the heap's physical memory", "[host][mmap][heap]") {
  mmap_heap f{16 * kib};
  heap_type& h = f.heap;
  CHECK(h.try_allocate(20 * kib).status == status::no_memory);
  h.set_range_policy(vmh::range_policy::greedy());
  // The range grant is limited to the four pages the budget allows.
  const vmh::grant g = h.allocate_range(4 * kib, 64 * kib);
  REQUIRE(g);
  CHECK(g.size == 16 * kib);
  CHECK(h.mapper().available() == 0);
  CHECK(h.try_allocate(64).status == status::no_memory);
  touch(g.ptr, g.size);
  CHECK(resident(g.ptr, 64 * kib) == 16 * kib);
  CHECK(h.validate());
  h.deallocate(g.ptr);
  CHECK(h.mapper().available() == 16 * kib);
}

TEST_CASE("a heap can own its reservation (mmap_arena)", "[host][mmap][heap]") {
  using owning_heap = vmh::heap<layout, mmap_mapper, vmh::host::mmap_arena<layout::virtual_size, layout::page_size>>;
  auto h = std::make_unique<owning_heap>(mmap_mapper{64 * kib});
  REQUIRE(h->state() == vmh::layout_error::none);
  auto* p = static_cast<std::byte*>(h->allocate(5000));
  REQUIRE(p != nullptr);
  touch(p, 5000);
  CHECK(resident(p, 5000) == 2 * page);
  CHECK(h->validate());
  h->deallocate(p);
  CHECK(resident(p, 5000) == 0);
}

TEST_CASE("resident memory of the process rises and falls with a large block", "[host][mmap][heap]") {
  // /proc/self/statm counts the whole process: a 32 MiB block dwarfs the noise.
  constexpr std::size_t mib = 1024 * kib;
  constexpr auto big_table = vmh::make_table({{32 * mib, 2}});
  using big_layout = vmh::fixed_layout<big_table>;
  mmap_range r{big_layout::virtual_size};
  vmh::heap<big_layout, mmap_mapper, external_range> h{r.view(), mmap_mapper{}};
  const std::size_t before = statm_resident_bytes();
  void* p = h.allocate(32 * mib);
  REQUIRE(p != nullptr);
  std::memset(p, 0x5a, 32 * mib);
  const std::size_t during = statm_resident_bytes();
  CHECK(during >= before + 24 * mib);
  h.deallocate(p);
  const std::size_t after = statm_resident_bytes();
  CHECK(after + 24 * mib <= during);
  INFO("resident: before " << before << ", during " << during << ", after " << after);
  CHECK(resident(p, 32 * mib) == 0);
}

TEST_CASE("touching a freed block faults", "[host][mmap][heap][death]") {
  mmap_heap f;
  heap_type& h = f.heap;
  auto* live = static_cast<volatile unsigned char*>(h.allocate(64 * kib));
  auto* freed = static_cast<volatile unsigned char*>(h.allocate(64 * kib));
  REQUIRE(live != nullptr);
  REQUIRE(freed != nullptr);
  freed[100] = 1;
  REQUIRE(h.deallocate(const_cast<unsigned char*>(freed)) == status::ok);

  // The harness itself: a child that touches a live block exits normally.
  const child_end control = run_in_child([&] { live[100] = 1; });
  CHECK_FALSE(control.signaled);
  CHECK(control.exit_code == 0);

  const child_end write = run_in_child([&] { freed[100] = 2; });
  INFO("signal " << write.signal << ", exit code " << write.exit_code);
  CHECK(write.faulted());
  const child_end read = run_in_child([&] {
    const unsigned char v = freed[0];
    ::_exit(v == 0 ? 3 : 4);  // not reached
  });
  CHECK(read.faulted());

  // The parent's heap is untouched by the children.
  CHECK(h.validate());
  h.deallocate(const_cast<unsigned char*>(live));
}

TEST_CASE("a write one byte past a guarded block faults at once", "[host][mmap][heap][death][guard]") {
  // Two adjacent 16 KiB blocks and two 6 KiB blocks, with and without guard pages.
  constexpr auto plain_table = vmh::make_table({{6144, 2}, {16384, 2}});
  using plain_layout = vmh::fixed_layout<plain_table>;
  using guarded_layout = vmh::fixed_layout<vmh::with_guard_pages(plain_table)>;
  STATIC_REQUIRE(guarded_layout::geometry.guard_bytes == 2 * (page + 2048) + 2 * page);  // slack and guards
  own_range_heap<vmh::heap<plain_layout, mmap_mapper, external_range>> plain;
  own_range_heap<vmh::heap<guarded_layout, mmap_mapper, external_range>> guarded;
  REQUIRE(plain.heap.state() == vmh::layout_error::none);
  REQUIRE(guarded.heap.state() == vmh::layout_error::none);

  // Both large blocks in use, each filled to its last byte.
  auto fill_both = [](auto& h, std::size_t size) {
    auto* a = static_cast<volatile unsigned char*>(h.allocate(size));
    auto* b = static_cast<volatile unsigned char*>(h.allocate(size));
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    for (std::size_t i = 0; i < size; ++i) {
      a[i] = 1;
      b[i] = 1;
    }
    return std::pair{a, b};
  };
  // (Plain variables: clang 14 cannot capture structured bindings.)
  const auto plain_blocks = fill_both(plain.heap, 16384);
  const auto guarded_blocks = fill_both(guarded.heap, 16384);
  volatile unsigned char* const plain_a = plain_blocks.first;
  volatile unsigned char* const plain_b = plain_blocks.second;
  volatile unsigned char* const big_a = guarded_blocks.first;
  volatile unsigned char* const big_b = guarded_blocks.second;
  CHECK(reinterpret_cast<std::uintptr_t>(big_b) - reinterpret_cast<std::uintptr_t>(big_a) == 16384 + page);

  // Without guards the byte past the first block is the next block's first: the write lands.
  CHECK(reinterpret_cast<std::uintptr_t>(plain_b) - reinterpret_cast<std::uintptr_t>(plain_a) == 16384);
  const child_end unguarded = run_in_child([&] {
    plain_a[16384] = 2;
    ::_exit(plain_b[0] == 2 ? 0 : 5);  // a neighbour's data, silently overwritten
  });
  CHECK_FALSE(unguarded.signaled);
  CHECK(unguarded.exit_code == 0);

  // With guards the last byte is writable and the next one faults, for both blocks.
  const child_end last = run_in_child([&] { big_a[16383] = 2; big_b[16383] = 2; });
  CHECK_FALSE(last.signaled);
  CHECK(last.exit_code == 0);
  for (volatile unsigned char* p : {big_a, big_b}) {
    const child_end past = run_in_child([&] {
      p[16384] = 2;
      ::_exit(6);  // not reached
    });
    INFO("signal " << past.signal << ", exit code " << past.exit_code);
    CHECK(past.faulted());
  }
  CHECK(big_b[0] == 1);  // the parent's blocks are untouched

  // A block that ends inside a page: the rest of that page is the block's own slack, and the
  // first byte after it is the guard.
  auto* odd = static_cast<volatile unsigned char*>(guarded.heap.allocate(6144));
  REQUIRE(odd != nullptr);
  const child_end slack = run_in_child([&] { odd[6144] = 2; odd[2 * page - 1] = 2; });
  CHECK_FALSE(slack.signaled);
  const child_end past_pages = run_in_child([&] {
    odd[2 * page] = 2;
    ::_exit(6);
  });
  CHECK(past_pages.faulted());
  CHECK(guarded.heap.validate());
  CHECK(guarded.heap.mapper().mapped() == 2 * 4 * page + 2 * page);
}
