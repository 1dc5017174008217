// The rules a bucket table must follow, one row each: a table, its page size and min_align, and
// the layout_error it breaks. Every layer that takes a table (derive_geometry,
// runtime_layout::assign, heap::configure) is checked against these same rows.
#pragma once

#include <cstddef>

#include <vmh/vmh.hpp>

namespace vmh_test::rules {

using vmh::bucket;
using vmh::layout_error;

inline constexpr std::size_t page = 4096;

inline constexpr bucket ok_table[] = {{64, 64}, {4096, 2}};
inline constexpr bucket zero_size[] = {{64, 64}, {0, 2}};
inline constexpr bucket not_multiple[] = {{64, 64}, {100, 2}};
inline constexpr bucket zero_count[] = {{64, 0}};
inline constexpr bucket too_many_blocks[] = {{64, (std::size_t{1} << 24) + 1}};
inline constexpr bucket descending[] = {{128, 1}, {64, 1}};
inline constexpr bucket equal_sizes[] = {{64, 64}, {64, 64}};
inline constexpr bucket misaligned[] = {{64, 1}, {128, 1}};
inline constexpr bucket misaligned_page[] = {{64, 65}, {8192, 1}};  // 8 KiB blocks need a 4 KiB start
inline constexpr bucket too_large_one[] = {{std::size_t{1} << 20, 4096}};  // exactly 4 GiB
inline constexpr bucket too_large_sum[] = {{std::size_t{1} << 20, 4095}, {std::size_t{1} << 21, 1}};
#if SIZE_MAX > 0xffffffffu
inline constexpr bucket huge_block[] = {{std::size_t{1} << 32, 1}};  // a block beyond 4 GiB (64-bit only)
#endif

// 65 buckets of 4 KiB, 8 KiB, ... one block each: one more than a layout may have.
struct many_buckets {
  bucket b[65];
  constexpr many_buckets() : b{} {
    for (std::size_t i = 0; i < 65; ++i) b[i] = {4096 * (i + 1), 1};
  }
};
inline constexpr many_buckets many{};

struct row {
  const bucket* table;
  std::size_t count, page_size, min_align;
  layout_error expected;
};

// Every row breaks exactly the rule it names, whatever the capacity of the layout type.
inline constexpr row rows[] = {
    {ok_table, 0, page, 64, layout_error::no_buckets},
    {many.b, 65, page, 64, layout_error::too_many_buckets},
    {ok_table, 2, 3000, 64, layout_error::bad_page_size},
    {ok_table, 2, 0, 64, layout_error::bad_page_size},
    {ok_table, 2, page, 4, layout_error::bad_min_align},
    {ok_table, 2, page, 48, layout_error::bad_min_align},
    {ok_table, 2, page, 0, layout_error::bad_min_align},
    {ok_table, 2, page, 8192, layout_error::bad_min_align},
    // A page whose 16-bit reference count could wrap: more than 32768 min_align units per page.
    {ok_table, 2, std::size_t{1} << 19, 8, layout_error::bad_min_align},
    {zero_size, 2, page, 64, layout_error::zero_block_size},
    {not_multiple, 2, page, 64, layout_error::block_size_not_multiple_of_min_align},
    {zero_count, 1, page, 64, layout_error::zero_block_count},
    {too_many_blocks, 1, page, 64, layout_error::too_many_blocks_in_bucket},
    {descending, 2, page, 64, layout_error::not_ascending},
    {equal_sizes, 2, page, 64, layout_error::not_ascending},
    {misaligned, 2, page, 64, layout_error::misaligned_bucket_start},
    {misaligned_page, 2, page, 64, layout_error::misaligned_bucket_start},
    {too_large_one, 1, page, 64, layout_error::range_too_large},
    {too_large_sum, 2, page, 64, layout_error::range_too_large},
#if SIZE_MAX > 0xffffffffu
    {huge_block, 1, page, 64, layout_error::range_too_large},
#endif
};

}  // namespace vmh_test::rules
