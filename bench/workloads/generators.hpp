// Workload generators for the families of docs/workloads.md.
//
// Every random choice comes from one 64-bit LCG seeded with the seed itself,
// and every draw is specified below, so anyone can regenerate a trace from its
// family, seed and parameters (in any language) without this code.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "trace.hpp"

namespace vmh::workloads {

// state = state * 6364136223846793005 + 1442695040888963407 (mod 2^64);
// output = the top 32 bits of the new state. Seeding sets state = seed.
struct lcg {
  std::uint64_t state;

  std::uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 32);
  }

  // Uniform in [0, n) for n >= 1 (bias below n / 2^32), from one draw r:
  // floor(r * n / 2^32). Multiplying keeps the high bits of r, which are the
  // good bits of an LCG.
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next()) * n) >> 32);
  }

  // Uniform in [lo, hi] (hi - lo + 1 < 2^32), one draw: lo + below(hi - lo + 1).
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    return lo + below(static_cast<std::uint32_t>(hi - lo + 1));
  }

  // True with probability num / den, one draw: below(den) < num.
  bool chance(std::uint32_t num, std::uint32_t den) { return below(den) < num; }

  // Index i with probability weights[i] / sum, one draw: u = below(sum), then
  // the first i whose running weight sum exceeds u.
  std::size_t weighted(std::span<const std::uint32_t> weights) {
    std::uint32_t total = 0;
    for (std::uint32_t w : weights) total += w;
    std::uint32_t u = below(total);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    return weights.size() - 1;  // unreachable with a non-zero total
  }

  // Log-uniform between two powers of two lo < hi (hi <= 2^31), two draws:
  // an octave e = log2(lo) + below(log2(hi) - log2(lo)), then uniform in
  // [2^e, 2^(e+1)] with between(). Each octave is equally likely, so the
  // density follows 1/x octave by octave, and only integer arithmetic is used
  // (a pow/exp formula could round differently between math libraries).
  // lo >= hi returns lo without drawing.
  std::uint64_t log_uniform(std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) return lo;
    const int a = std::countr_zero(lo);
    const int b = std::countr_zero(hi);
    const std::uint32_t e = static_cast<std::uint32_t>(a) + below(static_cast<std::uint32_t>(b - a));
    const std::uint64_t base = std::uint64_t{1} << e;
    return between(base, 2 * base);
  }
};

// ---------------------------------------------------------------------------
// Family 1: the seed scenario. Two range requests of min 16 KiB, preferred
// 128 KiB, against 96 KiB of physical memory.

inline constexpr std::size_t seed_physical_bytes = 96 * 1024;

inline std::vector<trace::op> seed_family() {
  return {
      {trace::op_kind::range, 1, 16 * 1024, 128 * 1024, 0},
      {trace::op_kind::range, 2, 16 * 1024, 128 * 1024, 0},
  };
}

// ---------------------------------------------------------------------------
// Family 2: SOF pipelines, replayed against 1 MiB with 4 KiB pages.
//
// Draws, in order, with rng = lcg{seed} and ids a counter from 1 (never reused):
//
// format():      rate = weighted({8000:1, 16000:2, 44100:2, 48000:6, 96000:2, 192000:1}),
//                channels = weighted({1:2, 2:6, 4:1, 8:1}),
//                container = below(2) == 0 ? 2 : 4 bytes;
//                bytes_per_ms = ceil(rate / 1000) * channels * container.
// open pipeline: f = format(); deep_ms = weighted({2:3, 10:2, 20:2, 50:2, 100:1});
//                r <id> min=2*bpm(f) preferred=deep_ms*bpm(f) rounded up to a multiple of min;
//                a <id> 2*bpm(f)                                   (DAI buffer)
//                n = between(1, 4); n times: a <id> 2*bpm(format()) (components)
//                if chance(1, 2): a <id> log_uniform(256, 16384)   (module state)
//                all with align 64 (the DSP cache line). Every deep_ms is even,
//                so the rounding of preferred never changes it here; it is kept
//                so that other deep_ms tables follow the spec.
// each step s:   1. wake-on-voice: if one is live and s is its free step, f it.
//                   Then, if none is live (also right after that free), draw
//                   chance(1, 50); on success a <id> 300K align 64, to be freed
//                   at step s + between(20, 200). No draw while one is live.
//                2. pipelines: none open -> open (no draw); 8 open -> close (no
//                   draw); otherwise chance(1, 2) ? open : close.
//                   close: i = below(open count) indexes the open pipelines in
//                   opening order; its buffers are freed in reverse allocation
//                   order and it is removed keeping the others' order.
// The trace ends after the last step; open pipelines and a wake-on-voice
// buffer not yet due stay live, as they would in a running system.

inline constexpr std::size_t sof_physical_bytes = 1024 * 1024;
inline constexpr std::size_t sof_page_bytes = 4096;
inline constexpr std::size_t sof_max_open_pipelines = 8;
inline constexpr std::uint64_t sof_alignment = 64;
inline constexpr std::uint64_t sof_wov_bytes = 300 * 1024;

inline constexpr std::uint32_t sof_rates[] = {8000, 16000, 44100, 48000, 96000, 192000};
inline constexpr std::uint32_t sof_rate_weights[] = {1, 2, 2, 6, 2, 1};
inline constexpr std::uint32_t sof_channels[] = {1, 2, 4, 8};
inline constexpr std::uint32_t sof_channel_weights[] = {2, 6, 1, 1};
inline constexpr std::uint32_t sof_containers[] = {2, 4};
inline constexpr std::uint32_t sof_deep_ms[] = {2, 10, 20, 50, 100};
inline constexpr std::uint32_t sof_deep_ms_weights[] = {3, 2, 2, 2, 1};

struct stream_format {
  std::uint32_t rate;
  std::uint32_t channels;
  std::uint32_t container;  // bytes per sample
  std::uint64_t bytes_per_ms() const {
    return static_cast<std::uint64_t>((rate + 999) / 1000) * channels * container;
  }
};

inline stream_format draw_format(lcg& rng) {
  stream_format f{};
  f.rate = sof_rates[rng.weighted(sof_rate_weights)];
  f.channels = sof_channels[rng.weighted(sof_channel_weights)];
  f.container = sof_containers[rng.below(2)];
  return f;
}

/// One open pipeline of the SOF family: its buffer ids in allocation order, the first being its
/// host buffer, and that buffer's range request.
struct sof_pipeline {
  std::vector<std::uint64_t> ids;
  std::uint64_t host_min, host_preferred;
};

/// The SOF family's steps, calling `after_close(open, ops)` right after each close has emitted
/// its frees, with the pipelines still open (in opening order) and the trace so far; a hook that
/// draws must use a generator of its own, so that the pipelines stay those of the seed.
template <class AfterClose>
std::vector<trace::op> sof_pipelines(std::uint64_t seed, std::size_t steps, AfterClose&& after_close) {
  using trace::op_kind;
  lcg rng{seed};
  std::vector<trace::op> ops;
  std::uint64_t next_id = 1;
  std::vector<sof_pipeline> open;
  bool wov_live = false;
  std::uint64_t wov_id = 0;
  std::size_t wov_free_step = 0;

  auto fixed = [&](std::uint64_t size) {
    const std::uint64_t id = next_id++;
    ops.push_back({op_kind::allocate, id, size, 0, sof_alignment});
    return id;
  };

  for (std::size_t step = 0; step < steps; ++step) {
    if (wov_live && step == wov_free_step) {
      ops.push_back({op_kind::free, wov_id, 0, 0, 0});
      wov_live = false;
    }
    if (!wov_live && rng.chance(1, 50)) {
      wov_id = fixed(sof_wov_bytes);
      wov_live = true;
      wov_free_step = step + static_cast<std::size_t>(rng.between(20, 200));
    }

    bool do_open = false;
    if (open.empty())
      do_open = true;
    else if (open.size() < sof_max_open_pipelines)
      do_open = rng.chance(1, 2);

    if (do_open) {
      sof_pipeline p{};
      const stream_format host = draw_format(rng);
      const std::uint64_t bpm = host.bytes_per_ms();
      p.host_min = 2 * bpm;
      const std::uint64_t deep = sof_deep_ms[rng.weighted(sof_deep_ms_weights)] * bpm;
      p.host_preferred = (deep + p.host_min - 1) / p.host_min * p.host_min;
      p.ids.push_back(next_id);
      ops.push_back({op_kind::range, next_id++, p.host_min, p.host_preferred, sof_alignment});
      p.ids.push_back(fixed(2 * bpm));
      const std::uint64_t components = rng.between(1, 4);
      for (std::uint64_t c = 0; c < components; ++c) p.ids.push_back(fixed(2 * draw_format(rng).bytes_per_ms()));
      if (rng.chance(1, 2)) p.ids.push_back(fixed(rng.log_uniform(256, 16 * 1024)));
      open.push_back(std::move(p));
    } else {
      const std::size_t i = rng.below(static_cast<std::uint32_t>(open.size()));
      for (auto it = open[i].ids.rbegin(); it != open[i].ids.rend(); ++it) ops.push_back({op_kind::free, *it, 0, 0, 0});
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
      after_close(std::as_const(open), ops);
    }
  }
  return ops;
}

inline std::vector<trace::op> sof_family(std::uint64_t seed, std::size_t steps = 2000) {
  return sof_pipelines(seed, steps, [](const std::vector<sof_pipeline>&, std::vector<trace::op>&) {});
}

// ---------------------------------------------------------------------------
// The grow-back family: SOF pipelines whose host buffers grow back. The SOF family of the same seed and
// steps (the same pipelines, the same lines), and after each close, when memory has just been
// freed, each pipeline still open asks, with probability grow_pct / 100, to deepen its host
// buffer: `g <host id> <preferred> <min>`, i.e. grow in place toward its preferred size in whole
// steps of its minimum (the period multiple SOF's range loop grants in).
//
// Draws: the pipelines as in the SOF family from lcg{seed}; the grow requests from a second
// generator grow_rng = lcg{seed ^ 0x9E3779B97F4A7C15}, one chance(grow_pct, 100) per open
// pipeline after each close, in opening order. A pipeline may ask after every close until it is
// closed itself; whether it still has anything to gain is for the replay to find out.

inline constexpr unsigned grow_default_pct = 50;
inline constexpr std::uint64_t grow_seed_mix = 0x9E3779B97F4A7C15ull;

inline std::vector<trace::op> grow_family(std::uint64_t seed, std::size_t steps = 2000,
                                          unsigned grow_pct = grow_default_pct) {
  lcg grow_rng{seed ^ grow_seed_mix};
  return sof_pipelines(seed, steps, [&](const std::vector<sof_pipeline>& open, std::vector<trace::op>& ops) {
    for (const sof_pipeline& p : open)
      if (grow_rng.chance(grow_pct, 100)) ops.push_back({trace::op_kind::grow, p.ids.front(), p.host_min, p.host_preferred, 0});
  });
}

// ---------------------------------------------------------------------------
// Family 3: random stress in the style of Zephyr's heap stress test.
//
// rng = lcg{seed}; ids a counter from 1. The live blocks sit in a slot table
// of capacity 1024 (an array; removal moves the last entry into the hole).
// Each step:
//   - nothing live: allocate (no draw); table full: free (no draw);
//   - otherwise fill = live / budget and T = target_pct / 100; fill >= T
//     (tested exactly as 100 * live >= target_pct * budget): free (no draw);
//     else draw r and allocate iff r / 2^32 >= fill / T (computed in double as
//     (100 * live) / (target_pct * budget), exact integer operands), i.e.
//     allocate with probability 1 - fill / T.
//   - allocate: r1 = next(), r2 = next(); size = max(1, r1 & ((1 << min(31, 4 +
//     clz32(r2))) - 1)) with clz32(0) = 32, then min(size, max_size); emit
//     a <id> <size> with the default alignment.
//   - free: i = below(live count) over the slot table; emit f <id>.
//
// Note on the resulting fill: an allocation adds, and a free of a uniformly
// chosen live block removes, one block of the same mean size, so the fill
// drifts to where allocating and freeing are equally likely, 1 - fill/T =
// fill/T, i.e. fill = T/2. Sizes average only about 60 bytes, so with the
// default 1 MiB budget the 1024-entry table is the binding limit long before
// that (about 60 KiB live); the fill target only governs small budgets.

inline constexpr std::size_t stress_slot_capacity = 1024;

inline std::vector<trace::op> stress_family(std::uint64_t seed, std::size_t steps, unsigned target_pct,
                                            std::size_t budget_bytes = 1024 * 1024,
                                            std::size_t max_size = 64 * 1024) {
  using trace::op_kind;
  struct slot {
    std::uint64_t id;
    std::uint64_t size;
  };
  lcg rng{seed};
  std::vector<trace::op> ops;
  ops.reserve(steps);
  std::vector<slot> live;
  live.reserve(stress_slot_capacity);
  std::uint64_t live_bytes = 0;
  std::uint64_t next_id = 1;
  const std::uint64_t cap = std::max<std::uint64_t>(1, max_size);
  const std::uint64_t target_bytes_x100 = static_cast<std::uint64_t>(target_pct) * budget_bytes;

  for (std::size_t step = 0; step < steps; ++step) {
    bool allocate = false;
    if (live.empty()) {
      allocate = true;
    } else if (live.size() < stress_slot_capacity && 100 * live_bytes < target_bytes_x100) {
      const double ratio = static_cast<double>(100 * live_bytes) / static_cast<double>(target_bytes_x100);
      allocate = static_cast<double>(rng.next()) / 4294967296.0 >= ratio;
    }

    if (allocate) {
      const std::uint32_t r1 = rng.next();
      const std::uint32_t r2 = rng.next();
      const int shift = std::min(31, 4 + std::countl_zero(r2));
      std::uint64_t size = r1 & ((std::uint32_t{1} << shift) - 1);
      size = std::min(std::max<std::uint64_t>(size, 1), cap);
      live.push_back({next_id, size});
      live_bytes += size;
      ops.push_back({op_kind::allocate, next_id++, size, 0, 0});
    } else {
      const std::size_t i = rng.below(static_cast<std::uint32_t>(live.size()));
      ops.push_back({op_kind::free, live[i].id, 0, 0, 0});
      live_bytes -= live[i].size;
      live[i] = live.back();
      live.pop_back();
    }
  }
  return ops;
}

}  // namespace vmh::workloads
