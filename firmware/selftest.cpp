// Freestanding self-test of vmh under QEMU with semihosting, on a Cortex-M4 (mps2-an386) and on
// an Xtensa lx106 core (the sim machine); the banner names the ISA the compiler built for: allocate,
// range, resize, free and validate on real target memory, with bytes written through every
// allocation and checked before it is freed; then the C API from C (selftest_c.c). Prints one
// line per failed check and a closing "N passed, N failed" line; exits through semihosting
// with 0 only when every check passed.
#include <cstddef>
#include <cstdint>

#include <vmh/vmh.hpp>

#include "selftest_layout.hpp"
#include "semihost.h"

extern "C" void fw_c_api_selftest(void);

namespace {

constexpr std::size_t page = selftest_layout::page_size;
constexpr std::size_t budget = 128 * 1024;  // physical pages behind the 252 KiB range

using test_heap = vmh::heap<selftest_layout, vmh::counting_mapper, vmh::external_range>;
using runtime_heap = vmh::heap<vmh::runtime_layout<8, 256, 64>, vmh::counting_mapper, vmh::external_range>;

alignas(4096) std::byte arena[selftest_layout::virtual_size];
alignas(4096) std::byte runtime_arena[64 * 1024];
test_heap heap{vmh::external_range{arena, sizeof arena}, vmh::counting_mapper{budget}};

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// The test hands the heaps bad pointers on purpose: it counts the misuse reports they make
// (the default handler would trap in a debug build).
std::size_t misuse_reports = 0;
void count_misuse(vmh::status, const void*) noexcept { ++misuse_reports; }

void fill(void* p, std::size_t n, std::uint8_t seed) {
  auto* b = static_cast<volatile std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
}
bool intact(const void* p, std::size_t n, std::uint8_t seed) {
  const auto* b = static_cast<const volatile std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<std::uint8_t>(seed + i * 7)) return false;
  return true;
}

bool valid(const test_heap& h) {
  const vmh::check c = h.validate();
  if (!c) {
    fw_print("validate: ");
    fw_print(vmh::to_string(c.broken));
    fw_print("\n");
  }
  return static_cast<bool>(c);
}

void test_allocate_free() {
  void* small = heap.allocate(48);
  void* mid = heap.allocate(700);
  void* big = heap.allocate(10000);
  FW_CHECK(small != nullptr && mid != nullptr && big != nullptr);
  FW_CHECK(addr(small) % 64 == 0 && addr(mid) % 64 == 0 && addr(big) % page == 0);
  FW_CHECK(heap.owns(small) && heap.owns(big) && !heap.owns(&heap));
  fill(small, 48, 1);
  fill(mid, 700, 2);
  fill(big, 10000, 3);
  FW_CHECK(intact(small, 48, 1) && intact(mid, 700, 2) && intact(big, 10000, 3));
  // 48 B and 700 B sit in pages of their own buckets; 10000 B maps 3 pages of a 16 KiB block.
  FW_CHECK(heap.stats().pages_mapped == 5);
  FW_CHECK(heap.mapper().mapped() == 5 * page);
  FW_CHECK(heap.usable_size(big) == 3 * page);
  FW_CHECK(valid(heap));

  void* aligned = heap.allocate(100, 4096);
  FW_CHECK(aligned != nullptr && addr(aligned) % 4096 == 0);
  FW_CHECK(heap.try_allocate(100, 3).status == vmh::status::invalid_alignment);
  FW_CHECK(heap.try_allocate(0).status == vmh::status::invalid_size);
  FW_CHECK(heap.try_allocate(100000).status == vmh::status::no_bucket);  // larger than any block

  const std::size_t reports = misuse_reports;
  FW_CHECK(heap.deallocate(static_cast<std::byte*>(mid) + 64) == vmh::status::interior_pointer);
  FW_CHECK(heap.deallocate(&heap) == vmh::status::foreign_pointer);
  FW_CHECK(heap.deallocate(small) == vmh::status::ok);
  FW_CHECK(heap.deallocate(small) == vmh::status::double_free);
  FW_CHECK(misuse_reports == reports + 3);  // each refused pointer reported once
  FW_CHECK(intact(mid, 700, 2) && intact(big, 10000, 3));
  FW_CHECK(heap.deallocate(mid) == vmh::status::ok);
  FW_CHECK(heap.deallocate(big) == vmh::status::ok);
  FW_CHECK(heap.deallocate(aligned) == vmh::status::ok);
  FW_CHECK(heap.mapper().mapped() == 0);
  FW_CHECK(valid(heap));
}

void test_spill_and_map_failure() {
  // The 64 KiB bucket has two blocks: a third 40 KiB request finds none.
  void* a = heap.allocate(40000);
  void* b = heap.allocate(40000);
  FW_CHECK(a != nullptr && b != nullptr);
  const vmh::grant c = heap.try_allocate(40000);
  FW_CHECK(c.status == vmh::status::no_block);
  // 64 B requests spill into the 256 B bucket when the 64 B bucket is full.
  void* smalls[65];
  for (auto& s : smalls) s = heap.allocate(64);
  FW_CHECK(smalls[63] != nullptr && smalls[64] != nullptr);
  FW_CHECK(heap.stats(0).in_use == 64 && heap.stats(1).in_use == 1);
  for (void* s : smalls) FW_CHECK(heap.deallocate(s) == vmh::status::ok);

  // A refused map leaves nothing behind.
  heap.mapper().fail_map_call(1);
  const std::size_t before = heap.mapper().mapped();
  const vmh::grant d = heap.try_allocate(9000);
  FW_CHECK(d.status == vmh::status::no_memory);
  FW_CHECK(heap.mapper().mapped() == before);
  FW_CHECK(heap.stats().failed_no_memory == 1);
  FW_CHECK(valid(heap));
  FW_CHECK(heap.deallocate(a) == vmh::status::ok);
  FW_CHECK(heap.deallocate(b) == vmh::status::ok);
  FW_CHECK(heap.mapper().mapped() == 0);
}

void test_range_and_resize() {
  // min 8 KiB, preferred 64 KiB in 8 KiB steps, with 128 KiB of pages free: the adaptive rule
  // grants at most two thirds of them.
  const vmh::grant g = heap.allocate_range(8192, 65536, 0, 8192);
  FW_CHECK(g.status == vmh::status::ok);
  FW_CHECK(g.size >= 8192 && g.size <= 65536 && g.size % 8192 == 0);
  FW_CHECK(g.size <= budget * 2 / 3);
  fill(g.ptr, g.size, 9);
  FW_CHECK(heap.mapper().mapped() == g.size);

  FW_CHECK(heap.resize(g.ptr, 65536) == vmh::status::ok);
  FW_CHECK(heap.mapper().mapped() == 65536);
  FW_CHECK(intact(g.ptr, g.size, 9));
  fill(g.ptr, 65536, 10);
  FW_CHECK(heap.resize(g.ptr, 65537) == vmh::status::exceeds_block);
  FW_CHECK(heap.resize(g.ptr, 5000) == vmh::status::ok);
  FW_CHECK(heap.mapper().mapped() == 2 * page);
  FW_CHECK(intact(g.ptr, 5000, 10));
  FW_CHECK(heap.stats().bytes_in_blocks == 65536);  // its whole 64 KiB block

  // With the budget nearly used up, a range grant shrinks to what is left.
  heap.mapper().set_budget(heap.mapper().mapped() + 3 * page);
  const vmh::grant r = heap.allocate_range(4096, 65536, 0, 4096);
  FW_CHECK(r.status == vmh::status::ok && r.size >= 4096 && r.size <= 3 * page);
  FW_CHECK(heap.allocate_range(0, 10).status == vmh::status::invalid_size);
  FW_CHECK(heap.deallocate(r.ptr) == vmh::status::ok);
  heap.mapper().set_budget(budget);
  FW_CHECK(heap.deallocate(g.ptr) == vmh::status::ok);
  FW_CHECK(heap.mapper().mapped() == 0);
  FW_CHECK(valid(heap));
}

/// Random allocations, frees and resizes, each allocation's bytes written and checked.
void test_churn() {
  struct live {
    void* ptr;
    std::size_t size;
    std::uint8_t seed;
  };
  live slots[48] = {};
  std::uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  unsigned ok = 1, allocations = 0;
  for (unsigned step = 0; step < 4000 && ok; ++step) {
    live& s = slots[next() % 48];
    if (s.ptr == nullptr) {
      const std::size_t sizes[] = {1, 40, 64, 200, 900, 3000, 5000, 12000, 30000, 60000};
      const std::size_t n = sizes[next() % 10] + next() % 16;
      const vmh::grant g = next() % 4 == 0 ? heap.allocate_range(n / 2 + 1, n) : heap.try_allocate(n);
      if (g) {
        s = {g.ptr, g.size, static_cast<std::uint8_t>(step)};
        fill(s.ptr, s.size, s.seed);
        ++allocations;
      }
    } else if (next() % 3 == 0) {
      const std::size_t n = 1 + next() % (2 * s.size);
      if (heap.resize(s.ptr, n) == vmh::status::ok) {
        ok &= intact(s.ptr, n < s.size ? n : s.size, s.seed);
        s.size = n;
        fill(s.ptr, s.size, s.seed);
      }
    } else {
      ok &= intact(s.ptr, s.size, s.seed);
      ok &= heap.deallocate(s.ptr) == vmh::status::ok;
      s.ptr = nullptr;
    }
    if (step % 64 == 0) ok &= valid(heap);
  }
  FW_CHECK(ok);
  FW_CHECK(allocations > 500);
  for (live& s : slots)
    if (s.ptr != nullptr) {
      FW_CHECK(intact(s.ptr, s.size, s.seed));
      FW_CHECK(heap.deallocate(s.ptr) == vmh::status::ok);
    }
  FW_CHECK(heap.stats().live_allocations == 0);
  FW_CHECK(heap.mapper().mapped() == 0);
  FW_CHECK(valid(heap));
}

void test_runtime_layout() {
  runtime_heap h{vmh::external_range{runtime_arena, sizeof runtime_arena}};
  FW_CHECK(h.state() == vmh::layout_error::no_buckets);
  const vmh::bucket table[] = {{128, 32}, {1024, 12}, {8192, 5}};
  FW_CHECK(h.configure(table, 3) == vmh::layout_error::none);
  void* p = h.allocate(5000);
  FW_CHECK(p != nullptr && h.mapper().mapped() == 2 * page);
  fill(p, 5000, 4);
  FW_CHECK(intact(p, 5000, 4));
  FW_CHECK(h.deallocate(p) == vmh::status::ok);
  FW_CHECK(static_cast<bool>(h.validate()));
}

// Guard pages on the target: blocks of a page or more sit a page apart and the page between is
// never mapped (on a DSP or an MPU-equipped core a stray write there faults).
void test_guard_pages() {
  runtime_heap h{vmh::external_range{runtime_arena, sizeof runtime_arena}};
  const vmh::bucket table[] = {{256, 16}, {8192, 3}};
  FW_CHECK(h.configure(table, 2, page, 64, true) == vmh::layout_error::none);
  FW_CHECK(h.geometry().guard_bytes == 3 * page);
  void* blocks[3];
  for (std::size_t i = 0; i < 3; ++i) {
    blocks[i] = h.allocate(8192);
    FW_CHECK(blocks[i] != nullptr);
    if (blocks[i] != nullptr) fill(blocks[i], 8192, static_cast<std::uint8_t>(20 + i));
  }
  FW_CHECK(addr(blocks[1]) - addr(blocks[0]) == 3 * page);
  FW_CHECK(h.mapper().mapped() == 3 * 2 * page);  // the blocks' pages, no guard page
  FW_CHECK(h.deallocate(static_cast<std::byte*>(blocks[0]) + 2 * page) == vmh::status::interior_pointer);
  for (std::size_t i = 0; i < 3; ++i) {
    FW_CHECK(intact(blocks[i], 8192, static_cast<std::uint8_t>(20 + i)));
    FW_CHECK(h.deallocate(blocks[i]) == vmh::status::ok);
  }
  FW_CHECK(h.mapper().mapped() == 0);
  FW_CHECK(static_cast<bool>(h.validate()));
}

// The instruction set this image was compiled for, from the compiler's own macros.
constexpr const char* isa =
#if defined(__XTENSA__) && defined(__XTENSA_CALL0_ABI__)
    "Xtensa, call0 ABI";
#elif defined(__XTENSA__)
    "Xtensa, windowed ABI";
#elif defined(__ARM_ARCH_7EM__)
    "ARMv7E-M (Cortex-M4)";
#elif defined(__ARM_ARCH)
    "ARM";
#else
    "an unnamed target";
#endif

}  // namespace

int main() {
  fw_print("vmh self-test on ");
  fw_print(isa);
#ifdef VMH_FW_CORE  // the core the toolchain targets, named by the build (-mcpu, the toolchain's configuration)
  fw_print(", core " VMH_FW_CORE);
#endif
  fw_print("\n");
  vmh::set_misuse_handler(count_misuse);
  test_allocate_free();
  test_spill_and_map_failure();
  test_range_and_resize();
  test_churn();
  test_runtime_layout();
  test_guard_pages();
  fw_c_api_selftest();
  fw_print("selftest: ");
  fw_print_uint(fw_passed());
  fw_print(" passed, ");
  fw_print_uint(fw_failed());
  fw_print(" failed\n");
  return fw_failed() == 0 ? 0 : 1;
}
