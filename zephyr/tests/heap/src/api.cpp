// Suite vmh_api: every public member of vmh::heap and each of its errors, on the target.
#include "heaps.hpp"

namespace vmh_test {

alignas(page) std::byte api_window[api_layout::virtual_size] __attribute__((section(".vmh_test_windows")));
alignas(page) std::byte runtime_window[runtime_window_size] __attribute__((section(".vmh_test_windows")));
api_heap_type api_heap{vmh::external_range{api_window, sizeof api_window}, vmh::counting_mapper{api_budget}};
runtime_heap_type runtime_heap{vmh::external_range{runtime_window, sizeof runtime_window}};

void after_each(void*) {
  expect_valid(api_heap, "api_heap");
  if (runtime_heap.state() == vmh::layout_error::none) expect_valid(runtime_heap, "runtime_heap");  // once configured
  zassert_equal(api_heap.stats().live_allocations, 0u, "api_heap: a test left allocations behind");
  zassert_equal(api_heap.mapper().mapped(), 0u, "api_heap: a test left pages mapped");
  zassert_equal(runtime_heap.mapper().mapped(), 0u, "runtime_heap: a test left pages mapped");
}

}  // namespace vmh_test

using namespace vmh_test;
using vmh::status;

namespace {
std::byte* at(void* p, std::size_t off) { return static_cast<std::byte*>(p) + off; }
std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Tests hand the heaps bad pointers on purpose (the Kconfig heap's too): what reaches the misuse
// handler is recorded instead of stopping the image (the default handler asserts where NDEBUG is
// not defined), and the bad-pointer tests check it.
vmh::status last_misuse = status::ok;
int misuse_reports = 0;
void record_misuse(status what, const void*) noexcept {
  last_misuse = what;
  ++misuse_reports;
}
void record_misuse_from_start(const ztest_unit_test*, void*) {
  vmh::set_misuse_handler(record_misuse);
  last_misuse = status::ok;
  misuse_reports = 0;
}
// Whether the calls since the last check made `n` reports, the last of them `what`.
bool reported(int n, status what) {
  const bool ok = misuse_reports == n && (n == 0 || last_misuse == what);
  misuse_reports = 0;
  return ok;
}

// Each test starts from the defaults: the reserve rule and the full page pool.
void before_each(void*) {
  api_heap.set_range_policy(vmh::range_policy{});
  api_heap.mapper().set_budget(api_budget);
}
}  // namespace

ZTEST_RULE(vmh_misuse_recorded, record_misuse_from_start, NULL);
ZTEST_SUITE(vmh_api, NULL, NULL, before_each, after_each, NULL);

ZTEST(vmh_api, test_allocate_takes_the_smallest_block_and_spills_upward) {
  void* small[33];
  for (void*& p : small) p = api_heap.allocate(48);
  for (void* p : small) zassert_not_null(p);
  zassert_equal(api_heap.usable_size(small[0]), 64u);
  zassert_equal(api_heap.stats(0).in_use, 32u, "the 64 B bucket is full");
  zassert_equal(api_heap.usable_size(small[32]), 512u, "the 33rd spilled into the 512 B bucket");
  zassert_equal(api_heap.stats(1).in_use, 1u);
  zassert_equal(api_heap.stats().pages_mapped, 1u, "both small buckets lie in the first page");
  zassert_equal(api_heap.mapper().mapped(), page);
  zassert_equal(api_heap.stats().bytes_in_blocks, 32 * 64u + 512u);
  for (void* p : small) zassert_equal(api_heap.deallocate(p), status::ok);
  zassert_true(api_heap.stats().peak_bytes_in_blocks >= 32 * 64u + 512u, "the peak stays");
}

ZTEST(vmh_api, test_allocate_honours_alignment) {
  void* a = api_heap.allocate(100, 512);
  zassert_not_null(a);
  zassert_equal(addr(a) % 512, 0u);
  void* b = api_heap.allocate(64, 4096);
  zassert_not_null(b);
  zassert_equal(addr(b) % 4096, 0u, "only the 8 KiB block is page-aligned");
  zassert_is_null(api_heap.allocate(10, 3));
  zassert_equal(api_heap.try_allocate(10, 3).status, status::invalid_alignment);
  zassert_equal(api_heap.try_allocate(10, 8192).status, status::no_bucket, "no block is aligned past a page, ever");
  zassert_equal(api_heap.max_alignment(), 4096u);
  zassert_equal(api_heap.deallocate(a), status::ok);
  zassert_equal(api_heap.deallocate(b), status::ok);
}

ZTEST(vmh_api, test_try_allocate_names_each_failure) {
  // The counters add up over the suite: compare against their values now.
  const vmh::heap_stats before = api_heap.stats();
  const std::size_t full_before = api_heap.stats(2).full_failures;
  zassert_equal(api_heap.try_allocate(0).status, status::invalid_size);
  zassert_equal(api_heap.try_allocate(1u << 20).status, status::invalid_size, "larger than the whole range");
  zassert_equal(api_heap.try_allocate(8193).status, status::no_bucket, "larger than the largest block, ever");
  zassert_equal(api_heap.max_size(), 8192u);
  const vmh::grant big = api_heap.try_allocate(8192);  // both pages of the pool
  zassert_true(static_cast<bool>(big));
  zassert_equal(big.size, 8192u);
  zassert_equal(api_heap.try_allocate(8192).status, status::no_block, "the only 8 KiB block is taken");
  zassert_equal(api_heap.stats(2).full_failures, full_before + 1);
  const vmh::grant none = api_heap.try_allocate(100);
  zassert_equal(none.status, status::no_memory, "a free block, but no page left to map");
  zassert_is_null(none.ptr);
  zassert_equal(none.size, 0u);
  const vmh::heap_stats s = api_heap.stats();
  zassert_equal(s.failed_no_block, before.failed_no_block + 1, "a request no bucket could ever hold is not a failure of the heap");
  zassert_equal(s.failed_no_memory, before.failed_no_memory + 1);
  zassert_equal(s.live_allocations, 1u, "failures change nothing but their counters");
  zassert_equal(api_heap.deallocate(big.ptr), status::ok);
}

ZTEST(vmh_api, test_deallocate_reports_bad_pointers) {
  int local = 0;
  void* p = api_heap.allocate(600);
  zassert_not_null(p);
  zassert_equal(api_heap.deallocate(nullptr), status::ok);
  zassert_equal(api_heap.deallocate(&local), status::foreign_pointer);
  zassert_equal(api_heap.deallocate(api_window + sizeof api_window), status::foreign_pointer, "one past the window");
  zassert_equal(api_heap.deallocate(at(p, 8)), status::interior_pointer);
  zassert_equal(api_heap.deallocate(api_window), status::double_free, "a block start never allocated");
  zassert_equal(api_heap.deallocate(p), status::ok);
  zassert_equal(api_heap.deallocate(p), status::double_free);
  zassert_true(reported(5, status::double_free), "each refused pointer reached the misuse handler");
  zassert_equal(api_heap.stats().live_allocations, 0u);
}

ZTEST(vmh_api, test_resize_in_place_and_its_errors) {
  void* p = api_heap.allocate(1000);  // the 8 KiB block, one page mapped
  zassert_not_null(p);
  zassert_equal(api_heap.mapper().mapped(), page);
  zassert_equal(api_heap.resize(p, 6000), status::ok);
  zassert_equal(api_heap.mapper().mapped(), 2 * page, "growing maps the new page");
  zassert_equal(api_heap.usable_size(p), 8192u);
  zassert_equal(api_heap.resize(p, 8193), status::exceeds_block);
  zassert_equal(api_heap.resize(p, 0), status::invalid_size);
  zassert_equal(api_heap.resize(p, 100), status::ok);
  zassert_equal(api_heap.mapper().mapped(), page, "shrinking unmaps the tail");
  void* q = api_heap.allocate(64);  // the second page of the pool
  zassert_not_null(q);
  zassert_equal(api_heap.resize(p, 5000), status::no_memory, "no page left for the growth");
  zassert_equal(api_heap.usable_size(p), page, "a failed resize leaves the allocation as it was");
  zassert_equal(api_heap.resize(at(p, 64), 10), status::interior_pointer);
  zassert_equal(api_heap.resize(api_window + sizeof api_window, 10), status::foreign_pointer);
  zassert_equal(api_heap.deallocate(q), status::ok);
  zassert_equal(api_heap.resize(q, 10), status::double_free);
  zassert_true(reported(3, status::double_free), "each refused pointer reached the misuse handler");
  zassert_equal(api_heap.deallocate(p), status::ok);
}

ZTEST(vmh_api, test_grow_in_place_never_shrinks) {
  api_heap.set_range_policy(vmh::range_policy::greedy());
  void* p = api_heap.allocate(1000);
  zassert_not_null(p);
  vmh::grant g = api_heap.grow(p, 6000, 1000);  // in steps of 1000 B, as far as 6000
  zassert_equal(g.status, status::ok);
  zassert_equal(g.ptr, p);
  zassert_equal(g.size, 6000u);
  zassert_equal(api_heap.mapper().mapped(), 2 * page);
  g = api_heap.grow(p, 100000);
  zassert_equal(g.size, 8192u, "at most its block");
  g = api_heap.grow(p, 10);
  zassert_equal(g.status, status::ok);
  zassert_equal(g.size, 8192u, "never shrinks");
  zassert_equal(api_heap.grow(p, 0).status, status::invalid_size);
  zassert_equal(api_heap.grow(at(p, 4), 10).status, status::interior_pointer);
  zassert_equal(api_heap.grow(api_window + sizeof api_window, 10).status, status::foreign_pointer);
  zassert_equal(api_heap.deallocate(p), status::ok);
  zassert_equal(api_heap.grow(p, 10).status, status::double_free);
  // With the pool nearly used up, growth stops at what is left.
  void* q = api_heap.allocate(64);
  p = api_heap.allocate(100);
  zassert_not_null(q);
  zassert_not_null(p);
  const vmh::grant left = api_heap.grow(p, 8192);
  zassert_equal(left.status, status::ok);
  zassert_equal(left.size, 512u, "the 512 B block's page is mapped already: growth within it is free");
  zassert_equal(api_heap.deallocate(p), status::ok);
  zassert_equal(api_heap.deallocate(q), status::ok);
}

ZTEST(vmh_api, test_allocate_range_grants_between_min_and_preferred) {
  const vmh::grant g = api_heap.allocate_range(512, 8192, 64, 512);
  zassert_equal(g.status, status::ok);
  zassert_true(g.size >= 512 && g.size <= 8192 && g.size % 512 == 0, "grant %u", static_cast<unsigned>(g.size));
  zassert_equal(addr(g.ptr) % 64, 0u);
  zassert_true(g.size < 8192, "the reserve rule keeps part of the pool back");
  zassert_equal(api_heap.allocate_range(0, 10).status, status::invalid_size);
  zassert_equal(api_heap.allocate_range(20, 10).status, status::invalid_size, "preferred below min");
  zassert_equal(api_heap.allocate_range(130, 150, 0, 128).status, status::invalid_size, "no multiple of 128 in range");
  zassert_equal(api_heap.allocate_range(10, 20, 3).status, status::invalid_alignment);
  zassert_equal(api_heap.allocate_range(4000, 8000).status, status::no_block, "the only large block is taken");
  zassert_equal(api_heap.deallocate(g.ptr), status::ok);
  // min 4 KiB: the reserve rule would keep 16 KiB back, more than the pool, so the grant is
  // the smallest one (never refused while its pages are free).
  const vmh::grant least = api_heap.allocate_range(4096, 8192, 0, 4096);
  zassert_equal(least.status, status::ok);
  zassert_equal(least.size, 4096u);
  api_heap.mapper().set_budget(api_heap.mapper().mapped());  // the pool is used up
  zassert_equal(api_heap.allocate_range(100, 200).status, status::no_memory, "the 512 B block's page cannot be mapped");
  zassert_equal(api_heap.deallocate(least.ptr), status::ok);
}

ZTEST(vmh_api, test_range_policy_caps_a_grant) {
  zassert_true(api_heap.get_range_policy().kind == vmh::range_policy::rule::reserve, "the default rule");
  api_heap.set_range_policy(vmh::range_policy::share(1, 2));
  zassert_true(api_heap.get_range_policy().kind == vmh::range_policy::rule::fixed);
  const vmh::grant half = api_heap.allocate_range(1024, 8192, 0, 1024);
  zassert_equal(half.size, 4096u, "half of the 8 KiB pool");
  zassert_equal(api_heap.deallocate(half.ptr), status::ok);
  api_heap.set_range_policy(vmh::range_policy::greedy());
  const vmh::grant all = api_heap.allocate_range(1024, 8192, 0, 1024);
  zassert_equal(all.size, 8192u);
  zassert_equal(api_heap.deallocate(all.ptr), status::ok);
}

ZTEST(vmh_api, test_queries) {
  void* p = api_heap.allocate(300);
  zassert_not_null(p);
  zassert_true(api_heap.owns(p));
  zassert_true(api_heap.owns(at(p, 1)), "owns: any byte of the blocks");
  zassert_false(api_heap.owns(api_window + sizeof api_window));
  zassert_false(api_heap.owns(&p));
  zassert_equal(api_heap.usable_size(p), 512u);
  zassert_equal(api_heap.usable_size(at(p, 1)), 0u);
  zassert_equal(api_heap.usable_size(api_window), 0u, "not a live allocation");
  zassert_equal(api_heap.bucket_count(), 3u);
  const vmh::bucket_stats b = api_heap.stats(1);
  zassert_equal(b.block_size, 512u);
  zassert_equal(b.block_count, 4u);
  zassert_equal(b.in_use, 1u);
  zassert_equal(api_heap.stats(3).block_count, 0u, "zeros past the last bucket");
  zassert_equal(api_heap.geometry().virtual_size, api_layout::virtual_size);
  zassert_equal(api_heap.base(), api_window);
  zassert_equal(api_heap.state(), vmh::layout_error::none);
  zassert_equal(api_heap.mapper().budget(), api_budget);
  const api_heap_type fresh{};
  zassert_equal(api_heap.metadata_bytes(), fresh.metadata_bytes(), "metadata is sized by the layout, not the state");
  zassert_true(api_heap.metadata_bytes() > 0);
  zassert_equal(api_heap.deallocate(p), status::ok);
}

ZTEST(vmh_api, test_configure_checks_each_rule) {
  zassert_equal(runtime_heap.state(), vmh::layout_error::no_buckets, "nothing until configured");
  zassert_equal(runtime_heap.try_allocate(64).status, status::not_configured);
  zassert_equal(runtime_heap.deallocate(runtime_window), status::not_configured);
  zassert_true(runtime_heap.validate().broken == vmh::invariant::not_configured);
  const vmh::bucket good[] = {{128, 16}, {1024, 2}, {4096, 1}};
  const vmh::bucket descending[] = {{1024, 2}, {128, 16}};
  const vmh::bucket zero_count[] = {{128, 0}};
  const vmh::bucket odd_size[] = {{100, 4}};
  const vmh::bucket too_many[] = {{64, 4}, {128, 4}, {256, 4}, {512, 4}, {1024, 1}};
  const vmh::bucket too_big[] = {{4096, 3}};
  const vmh::bucket misaligned[] = {{64, 3}, {4096, 1}};
  zassert_equal(runtime_heap.configure(good, 0), vmh::layout_error::no_buckets);
  zassert_equal(runtime_heap.configure(descending, 2), vmh::layout_error::not_ascending);
  zassert_equal(runtime_heap.configure(zero_count, 1), vmh::layout_error::zero_block_count);
  zassert_equal(runtime_heap.configure(odd_size, 1), vmh::layout_error::block_size_not_multiple_of_min_align);
  zassert_equal(runtime_heap.configure(too_many, 5), vmh::layout_error::exceeds_capacity,
                "more buckets than the runtime layout holds");
  zassert_equal(runtime_heap.configure(too_big, 1), vmh::layout_error::window_too_small, "12 KiB in an 8 KiB window");
  zassert_equal(runtime_heap.configure(misaligned, 2), vmh::layout_error::misaligned_bucket_start);
  zassert_equal(runtime_heap.configure(good, 3, 3000), vmh::layout_error::bad_page_size);
  zassert_equal(runtime_heap.bucket_count(), 0u, "a refused table changes nothing");

  zassert_equal(runtime_heap.configure(good, 3), vmh::layout_error::none);
  zassert_equal(runtime_heap.bucket_count(), 3u);
  void* p = runtime_heap.allocate(3000);
  zassert_not_null(p);
  zassert_equal(runtime_heap.configure(good, 3), vmh::layout_error::heap_not_empty);
  zassert_equal(runtime_heap.deallocate(p), status::ok);
  // Guard pages: the 4 KiB block is followed by an unmapped page (it needs 8 KiB of range now).
  const vmh::bucket guarded[] = {{4096, 1}};
  zassert_equal(runtime_heap.configure(guarded, 1, page, 64, true), vmh::layout_error::none);
  zassert_equal(runtime_heap.geometry().guard_bytes, page);
  p = runtime_heap.allocate(4096);
  zassert_not_null(p);
  zassert_equal(runtime_heap.mapper().mapped(), page, "the guard page is never mapped");
  zassert_equal(runtime_heap.deallocate(p), status::ok);
}

ZTEST(vmh_api, test_an_unusable_range_is_refused_not_used) {
  using small_heap = vmh::heap<api_layout, vmh::counting_mapper, vmh::external_range>;
  small_heap null_range{vmh::external_range{static_cast<std::byte*>(nullptr), sizeof api_window}};
  // Its size is right, its start is not: refused before any byte of it is touched.
  small_heap misaligned{vmh::external_range{api_window + 64, sizeof api_window}};
  small_heap too_small{vmh::external_range{api_window, sizeof api_window - page}};
  zassert_equal(null_range.state(), vmh::layout_error::window_null);
  zassert_equal(misaligned.state(), vmh::layout_error::window_misaligned);
  zassert_equal(too_small.state(), vmh::layout_error::window_too_small);
  for (small_heap* h : {&null_range, &misaligned, &too_small}) {
    zassert_equal(h->try_allocate(64).status, status::not_configured);
    zassert_equal(h->allocate_range(64, 128).status, status::not_configured);
    zassert_equal(h->deallocate(api_window), status::not_configured);
    zassert_false(h->owns(api_window));
    zassert_true(h->validate().broken == vmh::invariant::not_configured);
    zassert_equal(h->mapper().mapped(), 0u, "nothing was ever mapped");
  }
}
