// The wire format between vmh-sim's remote allocators (sim/remote.cpp) and vmh-real, the 32-bit
// program that runs the real Zephyr and SOF allocators (bench/real/server.cpp). Both ends are
// one machine's processes, so the structures go as they lie in memory; every field is a fixed
// 64-bit width, the same in a 32-bit and a 64-bit build.
//
//   vmh-real <allocator> <physical> <page> <charged: 0|1>
//
// On start vmh-real writes a hello; with ok = 0 it then writes message_bytes of text (why it
// refused) and exits. Then, for each request it reads, it writes one reply, until its input
// ends. A pointer is its address in vmh-real (0 for null); a size that does not fit vmh-real's
// size_t is taken as the largest it has, which every one of its allocators refuses the same way.
#pragma once

#include <cstdint>

namespace vmh::sim::remote {

enum class op : std::uint64_t {
  allocate,        // a = size, b = align                    -> a = pointer, b = size granted
  allocate_range,  // a = min, b = preferred, c = align      -> a = pointer, b = size granted
  resize,          // a = pointer, b = old size, c = new size -> a = pointer (or 0)
  grow,            // a = pointer, b = size, c = preferred, d = granule -> b = size afterwards
  deallocate,      // a = pointer
  peak,            //                                         -> a = peak committed bytes
  validate,        //                                         -> a = 1 when valid
  facts,           // what the real code is on this target   -> a, b, c, d (server.cpp, facts())
};

struct request {
  op kind;
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
};

/// Every reply also carries the committed bytes after the request (the replay reads them after
/// each operation).
struct reply {
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
  std::uint64_t committed = 0;
};

struct hello {
  std::uint64_t ok = 0;
  std::uint64_t metadata_bytes = 0, metadata_charged = 0;
  std::uint64_t page_size = 0, page_budget_bytes = 0, region_bytes = 0;
  std::uint64_t paged_begin = 0, paged_end = 0;  ///< addresses of the mapped pages' window
  std::uint64_t committed = 0;
  std::uint64_t message_bytes = 0;
};

}  // namespace vmh::sim::remote
