// What a heap costs in RAM: its metadata is all zero when empty (so a constinit heap lands in
// .bss, not in a flash initialiser image), and metadata_bytes() accounts for every byte of it.
#include <cstddef>
#include <cstring>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

constexpr auto table = vmh::make_table({{64, 64}, {1024, 8}, {6144, 4}, {16384, 2}});
using layout = vmh::fixed_layout<table>;
using counting_heap = vmh::heap<layout, vmh::counting_mapper, vmh::static_arena<layout::virtual_size>>;
using ram_heap = vmh::heap<layout, vmh::null_mapper, vmh::static_arena<layout::virtual_size>>;
using lean_heap = vmh::heap<layout, vmh::counting_mapper, vmh::static_arena<layout::virtual_size>, vmh::no_lock,
                            vmh::heap_options{.statistics = false}>;

constinit counting_heap counting{};
constinit ram_heap ram{};
constinit lean_heap lean{};

// A heap over the policies with no state: budget_mapper and static_window.
using auto_layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(64 * 1024)>()>;
alignas(4096) std::byte window[auto_layout::virtual_size];
using zero_heap = vmh::heap<auto_layout, vmh::budget_mapper<64 * 1024>, vmh::static_window<window>>;
constinit zero_heap zero{};

template <class H>
bool all_zero(const H& h) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&h);
  for (std::size_t i = 0; i < sizeof h; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("an empty heap with a default mapper is all zero bytes (.bss)", "[heap][footprint]") {
  CHECK(all_zero(counting));
  CHECK(all_zero(ram));
  CHECK(all_zero(lean));
  // A default counting_mapper is unlimited, and still zero.
  CHECK(counting.mapper().budget() == SIZE_MAX);
  CHECK(counting.mapper().available() == SIZE_MAX);
}

TEST_CASE("metadata_bytes counts the heap object less its blocks", "[heap][footprint]") {
  // Over an external range the object holds the metadata, the mapper, the lock and the range's
  // two words; padding between members is the only thing metadata_bytes leaves out.
  using counting_ext = vmh::heap<layout, vmh::counting_mapper, vmh::external_range>;
  using ram_ext = vmh::heap<layout, vmh::null_mapper, vmh::external_range>;
  const std::size_t object = sizeof(counting_ext) - sizeof(vmh::external_range) - sizeof(vmh::counting_mapper);
  CHECK(counting.metadata_bytes() <= object);
  CHECK(object - counting.metadata_bytes() < 4 * sizeof(std::size_t));
  const std::size_t ram_object = sizeof(ram_ext) - sizeof(vmh::external_range);
  CHECK(ram.metadata_bytes() <= ram_object);
  CHECK(ram_object - ram.metadata_bytes() < 4 * sizeof(std::size_t));
  // Plain RAM keeps no page counts and no size records; no statistics keeps no peaks or totals.
  CHECK(ram.metadata_bytes() < counting.metadata_bytes());
  CHECK(lean.metadata_bytes() < counting.metadata_bytes());
}

TEST_CASE("size records exist only where an allocation's pages depend on its size", "[heap][footprint]") {
  constexpr auto& g = layout::geometry;
  STATIC_REQUIRE_FALSE(g.buckets[0].variable);  // 64 B blocks tile pages: one page each
  STATIC_REQUIRE_FALSE(g.buckets[1].variable);
  STATIC_REQUIRE(g.buckets[2].variable);        // 6 KiB blocks straddle pages
  STATIC_REQUIRE(g.buckets[3].variable);        // 16 KiB blocks: 1 to 4 pages
  STATIC_REQUIRE(g.record_total == 4 + 2);
  STATIC_REQUIRE(g.buckets[3].owned);           // whole pages, page-aligned: no page counts
  STATIC_REQUIRE_FALSE(g.buckets[2].owned);
  // Page counts cover the pages up to the end of the last bucket that is not owned.
  STATIC_REQUIRE(g.ref_pages == (64 * 64 + 1024 * 8 + 6144 * 4 + 4095) / 4096);
}

TEST_CASE("a constinit heap over budget_mapper and static_window is all zero until used", "[heap][footprint]") {
  STATIC_REQUIRE(sizeof(vmh::static_window<window>) == 1);  // an empty class
  STATIC_REQUIRE(sizeof(vmh::budget_mapper<4096>) == sizeof(vmh::counting_mapper) - sizeof(std::size_t));
  CHECK(all_zero(zero));
  CHECK(zero.base() == window);
  CHECK(zero.mapper().budget() == 64 * 1024);
  void* small = zero.allocate(100);
  REQUIRE(small != nullptr);
  CHECK(zero.owns(small));
  CHECK(zero.mapper().mapped() == 4096);
  CHECK_FALSE(all_zero(zero));
  CHECK(zero.deallocate(small) == vmh::status::ok);
  CHECK(zero.mapper().mapped() == 0);
  CHECK(zero.validate());
}
