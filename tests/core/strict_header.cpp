// Compiles the whole public API in a strict translation unit: -Wall -Wextra -Wpedantic -Werror
// -fno-exceptions -fno-rtti (see tests/CMakeLists.txt). Every heap configuration below is
// instantiated and every public member called, so that a warning anywhere in the headers fails
// the build. Nothing here runs.
#include <vmh/recorder.hpp>
#include <vmh/vmh.hpp>

#include <cstddef>
#include <cstdint>

namespace vmh_strict {

inline constexpr auto table = vmh::make_table({{64, 64}, {192, 16}, {1024, 9}, {6144, 6}, {16384, 4}});
using fixed = vmh::fixed_layout<table>;
using runtime = vmh::runtime_layout<16, 1024, 256>;
inline constexpr vmh::presets::geometric_params small_params{.physical_bytes = 64 * 1024, .max_count = 32};
using geometric = vmh::fixed_layout<vmh::presets::geometric<small_params>()>;
using sof = vmh::fixed_layout<vmh::presets::sof_table>;

// Every policy combination that matters.
using fixed_counting = vmh::heap<fixed, vmh::counting_mapper>;
using fixed_null_spin = vmh::heap<fixed, vmh::null_mapper, vmh::static_arena<fixed::virtual_size>, vmh::spin_lock>;
using fixed_external_runs =
    vmh::heap<fixed, vmh::counting_mapper, vmh::external_range, vmh::no_lock, vmh::heap_options{.runs = true}>;
using runtime_counting = vmh::heap<runtime, vmh::counting_mapper>;
using runtime_null_spin_runs =
    vmh::heap<runtime, vmh::null_mapper, vmh::external_range, vmh::spin_lock, vmh::heap_options{.runs = true}>;
using runtime_arena = vmh::heap<runtime, vmh::counting_mapper, vmh::static_arena<64 * 4096>>;
using geometric_heap = vmh::heap<geometric, vmh::counting_mapper, vmh::static_arena<geometric::virtual_size>, vmh::spin_lock>;
using sof_heap = vmh::heap<sof, vmh::null_mapper>;

}  // namespace vmh_strict

// Explicit instantiations compile every member, including ones no call below reaches. (Heaps with
// a fixed layout are not instantiated this way: `configure` is constrained to runtime layouts,
// and some compilers still instantiate constrained members in an explicit instantiation. The
// static_arena heaps neither: their by-value window constructor is not meant to be called.)
template class vmh::heap<vmh_strict::runtime, vmh::counting_mapper>;
template class vmh::heap<vmh_strict::runtime, vmh::null_mapper, vmh::external_range, vmh::spin_lock,
                         vmh::heap_options{.runs = true}>;
template class vmh::runtime_layout<16, 1024, 256>;
template struct vmh::static_arena<4096>;

namespace vmh_strict {

// A constinit heap at namespace scope.
constinit fixed_counting global_heap{};

// Calls every public member of a heap; returns a value that depends on all of them so that
// nothing is discarded.
template <class Heap>
std::size_t exercise(Heap& h) {
  std::size_t acc = 0;
  acc += static_cast<std::size_t>(h.state());
  acc += h.geometry().bucket_count;
  acc += h.bucket_count();
  void* p = h.allocate(100);
  void* q = h.allocate(100, 256);
  const vmh::grant g = h.try_allocate(5000, 0);
  const vmh::grant r = h.allocate_range(1024, 8192, 0, 512);
  const vmh::grant r2 = h.allocate_range(1024, 8192);
  acc += g ? g.size : 0;
  acc += r ? r.size : static_cast<std::size_t>(r.status);
  acc += r2.size;
  acc += h.owns(p) ? 1u : 0u;
  acc += h.usable_size(p);
  acc += static_cast<std::size_t>(h.resize(p, 50));
  const vmh::heap_stats s = h.stats();
  acc += s.live_allocations + s.bytes_in_blocks + s.peak_bytes_in_blocks + s.pages_mapped + s.peak_pages_mapped +
         s.failed_no_block + s.failed_no_memory;
  const vmh::bucket_stats b = h.stats(0);
  acc += b.block_size + b.block_count + b.in_use + b.peak_in_use + b.full_failures;
  h.set_range_policy(vmh::range_policy::share(1, 4));
  h.set_range_policy(vmh::range_policy::greedy());
  h.set_range_policy(vmh::range_policy::adaptive_share(1, 2));
  acc += h.get_range_policy().share_den;
  const vmh::check c = h.validate();
  acc += c ? 0u : static_cast<std::size_t>(c.broken) + c.bucket + c.index;
  acc += static_cast<std::size_t>(h.deallocate(p));
  acc += static_cast<std::size_t>(h.deallocate(q));
  acc += static_cast<std::size_t>(h.deallocate(g.ptr));
  acc += static_cast<std::size_t>(h.deallocate(r.ptr));
  acc += static_cast<std::size_t>(h.deallocate(r2.ptr));
  auto& m = h.mapper();
  const auto& cm = static_cast<const Heap&>(h).mapper();
  acc += sizeof(m) + sizeof(cm);
  return acc;
}

std::size_t exercise_counting_mapper(vmh::counting_mapper& m) {
  m.fail_map_call(2);
  m.fail_map_call(0);
  m.set_budget(1u << 20);
  return m.available() + m.mapped() + m.peak() + m.budget() + m.map_calls() + m.unmap_calls() + m.failures();
}

std::size_t exercise_names() {
  std::size_t n = 0;
  for (int i = 0; i <= static_cast<int>(vmh::status::not_configured); ++i)
    n += vmh::to_string(static_cast<vmh::status>(i))[0] != '\0';
  for (int i = 0; i <= static_cast<int>(vmh::layout_error::heap_not_empty); ++i)
    n += vmh::to_string(static_cast<vmh::layout_error>(i))[0] != '\0';
  for (int i = 0; i <= static_cast<int>(vmh::invariant::live_allocations); ++i)
    n += vmh::to_string(static_cast<vmh::invariant>(i))[0] != '\0';
  return n;
}

std::size_t exercise_layouts() {
  constexpr auto g = vmh::derive_geometry<8>(table.buckets, table.size(), table.page_size, table.min_align);
  static_assert(g.error == vmh::layout_error::none);
  static_assert(g.first_fit(100) == 1);
  static_assert(g.bucket_at(0) == 0);
  static_assert(g.all_buckets() == 0x1f);
  static_assert(fixed::geo().virtual_size == fixed::virtual_size);
  static_assert(vmh::presets::geometric_bucket_count(small_params) == geometric::bucket_capacity);
  static_assert(sof::virtual_size == 1024 * 1024);
  static_assert(vmh::presets::auto_params(1 << 20).physical_bytes == 1 << 20);
  static_assert(vmh::range_policy{}.cap(1000, 2000, 10) >= 10);
  static_assert(vmh::bucket_layout<fixed> && vmh::bucket_layout<runtime>);
  static_assert(vmh::reconfigurable_layout<runtime> && !vmh::reconfigurable_layout<fixed>);
  static_assert(vmh::page_mapper<vmh::counting_mapper> && vmh::page_mapper<vmh::null_mapper>);
  static_assert(vmh::window_range<vmh::external_range> && vmh::window_range<vmh::static_arena<4096>>);
  static_assert(vmh::lock_policy<vmh::no_lock> && vmh::lock_policy<vmh::spin_lock>);
  vmh::bucket out[vmh::max_buckets]{};
  std::size_t n = vmh::presets::geometric_buckets(vmh::presets::geometric_params{}, out, vmh::max_buckets);
  runtime rl;
  n += static_cast<std::size_t>(rl.assign(out, n, vmh::default_page_size, vmh::default_min_align));
  return n + rl.geo().block_total;
}

// The recorder over a heap, to a ring and to a C callback, with and without a lock: every member.
vmh::trace_ring<4096, vmh::spin_lock> ring;
void swallow(void*, const char*, std::size_t) {}

template <class Heap, class Sink, class Lock>
std::size_t exercise_recorder(Heap& h, Sink& sink) {
  vmh::recorder<Heap, Sink, Lock> rec{h, sink};
  void* p = rec.allocate(100);
  void* q = rec.allocate(100, 64);
  const vmh::grant g = rec.try_allocate(64);
  const vmh::grant r = rec.allocate_range(64, 4096, 0, 64);
  std::size_t n = rec.usable_size(p) + (rec.owns(q) ? 1u : 0u) + rec.bucket_count() + g.size + r.size;
  n += rec.resize(p, 200) == vmh::status::ok ? 1u : 0u;
  n += rec.grow(r.ptr, 8192, 64).size;
  n += rec.stats().live_allocations + rec.stats(0).in_use;
  n += rec.validate() ? 1u : 0u;
  n += rec.deallocate(p) == vmh::status::ok ? 1u : 0u;
  const vmh::recorder_stats s = rec.record_stats();
  return n + s.lines + s.failed + s.unrecorded + s.inexact + (&rec.heap() == &h ? 1u : 0u);
}

// Entry points with external linkage, so that every instantiation above is kept.
std::size_t strict_header_check(void* region, std::size_t bytes) {
  static fixed_counting a;
  static fixed_null_spin b;
  static fixed_external_runs c{vmh::external_range{region, bytes}, vmh::counting_mapper{1u << 20}};
  static runtime_counting d{vmh::external_range{region, bytes}};
  static runtime_null_spin_runs e{vmh::external_range{region, bytes}};
  static runtime_arena f;
  static geometric_heap g;
  static sof_heap h;
  static vmh::heap<fixed, vmh::counting_mapper> with_mapper{vmh::counting_mapper{8192}};

  std::size_t acc = 0;
  acc += static_cast<std::size_t>(d.configure(table.buckets, table.size()));
  acc += static_cast<std::size_t>(e.configure(table.buckets, table.size(), 4096, 64));
  acc += static_cast<std::size_t>(f.configure(table.buckets, table.size()));
  acc += exercise(a) + exercise(b) + exercise(c) + exercise(d) + exercise(e) + exercise(f) + exercise(g) +
         exercise(h) + exercise(with_mapper) + exercise(global_heap);
  acc += exercise_counting_mapper(a.mapper());
  acc += exercise_names();
  acc += exercise_layouts();
  vmh::null_mapper nm;
  acc += nm.map(nullptr, 0) ? 1u : 0u;
  nm.unmap(nullptr, 0);
  vmh::no_lock nl;
  nl.lock();
  nl.unlock();
  vmh::spin_lock sl;
  sl.lock();
  sl.unlock();
  vmh::external_range er{region, bytes};
  acc += er.size() + (er.base() != nullptr ? 1u : 0u);
  acc += exercise_recorder<decltype(a), decltype(ring), vmh::spin_lock>(a, ring);
  vmh::trace_callback uart{swallow, nullptr};
  acc += exercise_recorder<decltype(global_heap), vmh::trace_callback, vmh::no_lock>(global_heap, uart);
  acc += ring.dump(swallow, nullptr) + ring.dropped() + ring.size() + ring.capacity();
  return acc;
}

}  // namespace vmh_strict
