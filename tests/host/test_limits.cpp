// The mmap reservation and mapper under the process's resource limits: RLIMIT_AS bounds the
// address space (so reservations fail), RLIMIT_DATA bounds private writable memory (so mprotect
// fails when the mapper commits pages). Every failure must be a clean status, and nothing may be
// lost: the heap validates, live blocks keep their contents, and once everything is freed as many
// allocations succeed as before. Each case runs in a child process, which sets its own limit.
#include <sys/resource.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <vmh/host/mmap.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "child_process.hpp"
#include "host_heaps.hpp"

namespace {

using namespace host_test;

constexpr std::size_t mib = 1024 * kib;

// 4 KiB x 64 at 0, 64 KiB x 64 at 256 KiB: 4.25 MiB of address space.
constexpr auto limit_table = vmh::make_table({{4096, 64}, {65536, 64}});
using limit_layout = vmh::fixed_layout<limit_table>;
using limit_heap = vmh::heap<limit_layout, mmap_mapper, external_range>;

// A field of /proc/self/status ("VmSize", "VmData") in bytes; 0 if it cannot be read.
std::size_t status_bytes(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::size_t kb = 0;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      std::sscanf(line + n + 1, "%zu", &kb);
      break;
    }
  std::fclose(f);
  return kb * 1024;
}

// Sets a resource limit (soft and hard) to `bytes`.
bool limit(int resource, std::size_t bytes) {
  const rlimit l{bytes, bytes};
  return ::setrlimit(resource, &l) == 0;
}

// The first expectation that failed in a child, as "line N: expression".
struct expectations {
  std::string first;
  void operator()(bool ok, const char* what, int line) {
    if (!ok && first.empty()) first = "line " + std::to_string(line) + ": " + what;
  }
};
#define EXPECT(e, ...) e((__VA_ARGS__), #__VA_ARGS__, __LINE__)

bool filled(const void* p, std::size_t n, unsigned char v) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != v) return false;
  return true;
}

}  // namespace

TEST_CASE("RLIMIT_AS: a reservation beyond the limit fails cleanly and the heap over it is unconfigured",
          "[host][mmap][limits]") {
  const child_end end = run_checks_in_child([] {
    expectations e;
    const std::size_t vm = status_bytes("VmSize");
    EXPECT(e, vm != 0);
    // Room for 16 MiB more address space: the small heap fits, 64 MiB does not.
    EXPECT(e, limit(RLIMIT_AS, vm + 16 * mib));
    if (!e.first.empty()) return e.first;

    errno = 777;
    mmap_range big{64 * mib};
    EXPECT(e, errno == 777);
    EXPECT(e, !big);
    EXPECT(e, big.error() == ENOMEM);
    EXPECT(e, big.size() == 0);
    constexpr auto big_table = vmh::make_table({{1 * mib, 64}});
    using big_layout = vmh::fixed_layout<big_table>;
    vmh::heap<big_layout, mmap_mapper, external_range> over_nothing{big.view(), mmap_mapper{}};
    EXPECT(e, over_nothing.state() == vmh::layout_error::window_too_small);
    EXPECT(e, over_nothing.try_allocate(64).status == status::not_configured);
    EXPECT(e, over_nothing.allocate_range(64, 4096).status == status::not_configured);
    int local = 0;
    EXPECT(e, over_nothing.deallocate(&local) == status::not_configured);
    EXPECT(e, over_nothing.deallocate(nullptr) == status::ok);
    EXPECT(e, over_nothing.validate().broken == vmh::invariant::not_configured);

    // A heap that owns its reservation (mmap_arena) fails the same way when constructed.
    {
      vmh::heap<big_layout, mmap_mapper, vmh::host::mmap_arena<big_layout::virtual_size>> owning{mmap_mapper{}};
      EXPECT(e, owning.state() == vmh::layout_error::window_too_small);
      EXPECT(e, owning.try_allocate(64).status == status::not_configured);
    }

    // Within the limit a heap works: the limit is on address space, and committing pages of a
    // reservation takes none.
    own_range_heap<limit_heap> f;
    limit_heap& h = f.heap;
    EXPECT(e, h.state() == vmh::layout_error::none);
    if (!e.first.empty()) return e.first;
    std::vector<void*> held;
    held.reserve(64);
    for (unsigned i = 0; i < 64; ++i) {
      void* p = h.allocate(64 * kib);
      EXPECT(e, p != nullptr);
      if (p == nullptr) break;
      std::memset(p, static_cast<int>(i + 1), 64 * kib);
      held.push_back(p);
    }
    EXPECT(e, h.try_allocate(64 * kib).status == status::no_block);  // the bucket is full, not the system
    for (std::size_t i = 0; i < held.size(); ++i) EXPECT(e, filled(held[i], 64 * kib, static_cast<unsigned char>(i + 1)));
    for (void* p : held) EXPECT(e, h.deallocate(p) == status::ok);
    EXPECT(e, empty(h));
    return e.first;
  });
  check_child_passed(end);
}

TEST_CASE("RLIMIT_DATA: commits beyond the limit are failed allocations, and nothing is lost", "[host][mmap][limits]") {
  const child_end end = run_checks_in_child([] {
    expectations e;
    own_range_heap<limit_heap> f;  // the budget is no limit: only the system refuses
    limit_heap& h = f.heap;
    EXPECT(e, h.state() == vmh::layout_error::none);
    if (!e.first.empty()) return e.first;
    std::vector<void*> held;
    held.reserve(64);
    std::string scratch;
    scratch.reserve(256);  // no allocation after the limit is set, apart from the report

    // A small allocation in a 64 KiB block, to grow later.
    auto* grow = static_cast<unsigned char*>(h.allocate(8 * kib));
    EXPECT(e, grow != nullptr);
    if (grow == nullptr) return e.first;
    std::memset(grow, 0x5a, 8 * kib);

    const std::size_t data = status_bytes("VmData");
    EXPECT(e, data != 0);
    // Room for 1 MiB more private writable memory: 16 of the 64 KiB blocks at most.
    EXPECT(e, limit(RLIMIT_DATA, data + 1 * mib));
    if (!e.first.empty()) return e.first;

    auto fill_up = [&] {
      std::size_t n = 0;
      for (; n < 63; ++n) {
        errno = 777;
        const vmh::grant g = h.try_allocate(64 * kib);
        EXPECT(e, errno == 777);
        if (!g) {
          EXPECT(e, g.status == status::no_memory);
          break;
        }
        std::memset(g.ptr, static_cast<int>(n + 1), 64 * kib);
        held.push_back(g.ptr);
      }
      return n;
    };
    const std::size_t first = fill_up();
    EXPECT(e, first > 0);
    EXPECT(e, first < 63);  // the limit was reached before the bucket ran out
    EXPECT(e, h.mapper().last_error() == ENOMEM);
    EXPECT(e, h.stats().failed_no_memory == 1);
    EXPECT(e, h.stats().live_allocations == first + 1);
    EXPECT(e, h.stats().pages_mapped * page == h.mapper().mapped());
    EXPECT(e, static_cast<bool>(h.validate()));

    // Growing in place and a range grant meet the same limit and change nothing.
    const std::size_t mapped = h.mapper().mapped();
    EXPECT(e, h.resize(grow, 64 * kib) == status::no_memory);
    EXPECT(e, h.usable_size(grow) == 8 * kib);
    EXPECT(e, filled(grow, 8 * kib, 0x5a));
    const vmh::grant range = h.allocate_range(16 * kib, 64 * kib);
    EXPECT(e, range.status == status::no_memory);
    EXPECT(e, h.mapper().mapped() == mapped);
    EXPECT(e, h.stats().failed_no_memory == 3);
    EXPECT(e, static_cast<bool>(h.validate()));
    for (std::size_t i = 0; i < held.size(); ++i) EXPECT(e, filled(held[i], 64 * kib, static_cast<unsigned char>(i + 1)));

    // Freed pages go back to the system: as many allocations succeed again.
    for (void* p : held) EXPECT(e, h.deallocate(p) == status::ok);
    held.clear();
    EXPECT(e, h.stats().live_allocations == 1);
    EXPECT(e, h.mapper().mapped() == 2 * page);
    const std::size_t second = fill_up();
    EXPECT(e, second == first);
    for (void* p : held) EXPECT(e, h.deallocate(p) == status::ok);
    held.clear();
    // And the small one can grow now.
    EXPECT(e, h.resize(grow, 64 * kib) == status::ok);
    EXPECT(e, filled(grow, 8 * kib, 0x5a));
    EXPECT(e, h.deallocate(grow) == status::ok);
    EXPECT(e, empty(h));
    return e.first;
  });
  check_child_passed(end);
}
