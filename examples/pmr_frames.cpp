// Audio frames in std::pmr::vector on a vmh heap over real virtual memory (Linux).
//
// Three buffers of 48 kHz stereo frames, as an audio pipeline holds them: a 10 ms capture
// period, a 100 ms mixing window and a 1 s delay line. The heap reserves its whole range with
// mmap and commits pages only for the bytes the vectors use, within a 768 KiB physical budget.
#include <cmath>
#include <cstddef>
#include <memory_resource>
#include <new>
#include <vector>

#include <fmt/core.h>

#include <vmh/host/fmt.hpp>
#include <vmh/host/mmap.hpp>
#include <vmh/host/pmr.hpp>
#include <vmh/vmh.hpp>

namespace {

struct frame {
  float left = 0;
  float right = 0;
};

constexpr std::size_t rate = 48000;  // frames per second
constexpr std::size_t kib = 1024;

// 256 B x 64, 4 KiB x 32, 16 KiB x 16, 64 KiB x 8, 256 KiB x 4, 1 MiB x 2: 3.9 MiB of virtual space.
constexpr auto table = vmh::make_table({{256, 64}, {4096, 32}, {16384, 16}, {65536, 8}, {262144, 4}, {1048576, 2}});
using layout = vmh::fixed_layout<table>;
using heap_type = vmh::heap<layout, vmh::host::mmap_mapper, vmh::external_range>;

// A tone, appended one frame at a time as a capture callback would: the vector grows, and each
// buffer it outgrows goes back to the heap.
void capture(std::pmr::vector<frame>& out, std::size_t frames) {
  for (std::size_t i = 0; i < frames; ++i) {
    const float s = std::sin(2.0f * 3.14159265f * 440.0f * static_cast<float>(i) / static_cast<float>(rate));
    out.push_back({s, -s});
  }
}

}  // namespace

int main() {
  vmh::host::mmap_range range{layout::virtual_size};
  heap_type heap{range.view(), vmh::host::mmap_mapper{768 * kib}};
  if (heap.state() != vmh::layout_error::none) {
    fmt::print("no heap: {} (mmap: errno {})\n", heap.state(), range.error());
    return 1;
  }
  vmh::host::memory_resource resource{heap};

  {
    std::pmr::vector<frame> period{&resource};  // 10 ms
    std::pmr::vector<frame> window{&resource};  // 100 ms
    std::pmr::vector<frame> delay{&resource};   // 1 s
    capture(period, rate / 100);
    window.resize(rate / 10);
    delay.reserve(rate);
    delay.resize(rate);
    for (std::size_t i = 0; i < window.size(); ++i) window[i] = period[i % period.size()];

    fmt::print("10 ms period: {} frames, 100 ms window: {} frames, 1 s delay line: {} frames\n", period.size(),
               window.size(), delay.size());
    fmt::print("{}\n", vmh::host::heap_map(heap, range.base()));

    // A second delay line does not fit in what is left of the budget: std::bad_alloc.
    try {
      std::pmr::vector<frame> second{rate, &resource};
      fmt::print("a second delay line fitted\n");
    } catch (const std::bad_alloc& e) {
      fmt::print("a second 1 s delay line: std::bad_alloc ({})\n", e.what());
    }

    // Shrinking the delay line to 100 ms moves it to a smaller block; its pages go back.
    delay.resize(rate / 10);
    delay.shrink_to_fit();
    fmt::print("delay line shrunk to 100 ms: {}\n", heap.stats());
  }

  const vmh::check c = heap.validate();
  fmt::print("all buffers freed: {}; validate: {}\n", heap.stats(), c);
  return c && heap.stats().pages_mapped == 0 && heap.mapper().mapped() == 0 ? 0 : 1;
}
