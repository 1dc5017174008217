// ztest suite: vmh's allocate / range / resize / free contract and bad input, on the target.
#include <zephyr/ztest.h>

#include <vmh/vmh.hpp>
#include <vmh/zephyr/spinlock.hpp>

namespace {
constexpr auto table = vmh::make_table({{64, 64}, {1024, 4}, {4096, 2}});
using layout = vmh::fixed_layout<table>;
using heap_type = vmh::heap<layout, vmh::null_mapper, vmh::static_arena<layout::virtual_size, layout::page_size>,
                            vmh::zephyr::spinlock>;
heap_type heap;

// What reached the misuse handler (the default one would stop a debug build at a bad free).
vmh::status last_misuse = vmh::status::ok;
void record_misuse(vmh::status what, const void*) noexcept { last_misuse = what; }
}  // namespace

ZTEST_SUITE(vmh, NULL, NULL, NULL, NULL, NULL);

ZTEST(vmh, test_allocate_takes_the_smallest_block_that_fits) {
  void* p = heap.allocate(100);
  zassert_not_null(p);
  zassert_equal(heap.usable_size(p), 1024u);
  zassert_equal(heap.deallocate(p), vmh::status::ok);
  zassert_true(static_cast<bool>(heap.validate()));
}

ZTEST(vmh, test_range_grant_lies_between_min_and_preferred) {
  const vmh::grant g = heap.allocate_range(512, 4096, 64);
  zassert_equal(g.status, vmh::status::ok);
  zassert_true(g.size >= 512 && g.size <= 4096);
  zassert_equal(reinterpret_cast<std::uintptr_t>(g.ptr) % 64, 0u);
  zassert_equal(heap.deallocate(g.ptr), vmh::status::ok);
}

ZTEST(vmh, test_bad_input_is_reported) {
  void* p = heap.allocate(64);
  zassert_not_null(p);
  zassert_equal(heap.deallocate(p), vmh::status::ok);
  const vmh::misuse_handler previous = vmh::set_misuse_handler(record_misuse);
  zassert_equal(heap.deallocate(p), vmh::status::double_free);
  zassert_equal(last_misuse, vmh::status::double_free);  // and reported to the misuse handler
  vmh::set_misuse_handler(previous);
  zassert_is_null(heap.allocate(0));
  zassert_equal(heap.stats().live_allocations, 0u);
  zassert_true(static_cast<bool>(heap.validate()));
}
