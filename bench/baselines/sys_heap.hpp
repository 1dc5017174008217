// Behaviour-faithful model of Zephyr's sys_heap, the general heap SOF uses for
// audio buffers when its virtual-memory heap is off.
//
// "Faithful" means: for the same call sequence on the same buffer the model
// succeeds and fails on the same calls and returns the same offsets as the
// real heap. That only holds if the per-chunk metadata is real, so every chunk
// header, every free-list link and the chunk-0 metadata (end chunk id, bucket
// mask, optional statistics, bucket heads) live inside the caller's buffer with
// the real field order and widths. Nothing on the alloc/free paths allocates.
//
// It also costs what the real heap costs: the alloc and free paths do the real
// heap's work (bucket from a count of leading zeros, a bounded look at the
// request's bucket, split, neighbour merges) with every helper inlined, and the
// checks the real heap leaves to its asserts are folded into a few compares.
// scripts/instructions.sh shows the figure (rows sys_heap and sys_heap_stats).
//
// Where the real heap asserts (double free, foreign pointer, overwritten
// neighbour header), the model reports instead: free() returns false and the
// heap is left untouched.
//
// Metadata outside the buffer: none that the real heap keeps per block or per
// bucket; see external_metadata_bytes().
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

// The hot path's helpers are inlined when optimising for speed, as a compiler
// inlines the real heap's static helpers at -O2; at -Os they stay functions, so
// that a code-size build measures what the real heap's -Os build has.
#if defined(__OPTIMIZE_SIZE__)
#define VMH_SYS_HEAP_INLINE
#define VMH_SYS_HEAP_LIST_STATS
#else
#define VMH_SYS_HEAP_INLINE [[gnu::always_inline]]
#define VMH_SYS_HEAP_LIST_STATS [[gnu::noinline]]
#endif

namespace vmh::baseline {

/// Zephyr's CONFIG_SYS_HEAP_RUNTIME_STATS: `off` is Zephyr's default and what a
/// firmware build has; `on` adds three size_t statistics to chunk 0.
enum class heap_stats : bool { off, on };

/// Whether Zephyr's automatic choice gives a heap of `bytes` starting at address
/// `start` 4-byte chunk headers ("small"): only with 4-byte pointers, and only
/// when the heap has at most 0x7fff units once init has reserved its footer
/// (8 bytes when bytes / 8 exceeds 0x7fff, else 4) and aligned both ends to 8
/// bytes. So a page-aligned buffer is small below 262,152 bytes, 256 KiB
/// included. False when the buffer cannot hold a heap at all.
constexpr bool sys_heap_small_headers(std::size_t bytes, std::uintptr_t start = 0,
                                      std::size_t pointer_bytes = 4) noexcept {
  constexpr std::size_t unit = 8, small_max_units = 0x7fff;
  if (pointer_bytes > 4) return false;
  const std::size_t footer = bytes / unit > small_max_units ? 8 : 4;
  if (bytes <= footer || bytes - footer > std::numeric_limits<std::uintptr_t>::max() - start) return false;
  const std::uintptr_t first = (start + unit - 1) & ~std::uintptr_t{unit - 1};
  const std::uintptr_t stop = (start + (bytes - footer)) & ~std::uintptr_t{unit - 1};
  return stop > first && (stop - first) / unit <= small_max_units;
}

// Big = false: small heap (16-bit header fields, 4-byte header, at most 0x7fff
// units); Big = true: big heap (32-bit fields, 8-byte header). AllocLoops is
// the bound of the search inside the request's own bucket. StatBytes is the
// target's sizeof(size_t), which sizes the statistics in chunk 0 when Stats is
// on: a small heap implies a 32-bit target, a big heap is a 64-bit host by
// default (use 4 for a big heap on the DSP). Stats is CONFIG_SYS_HEAP_RUNTIME_STATS.
//
// The footer init reserves follows the real rule: a small heap reserves 8 bytes
// when bytes / 8 exceeds 0x7fff (the real heap picks the footer from the raw size,
// before it decides the header width) and 4 otherwise; a big heap always 8 (on a
// 32-bit target that is Zephyr's big-only configuration). sys_heap_small_headers()
// tells which of the two the real heap picks by itself.
template <bool Big, unsigned AllocLoops = 3, std::size_t StatBytes = (Big ? 8 : 4), heap_stats Stats = heap_stats::on>
class sys_heap_model {
  static_assert(AllocLoops >= 1, "the search must look at the bucket head at least once");
  static_assert(StatBytes == 4 || StatBytes == 8, "statistics are a target size_t");
  static_assert(Big || StatBytes == 4, "a small heap implies 32-bit pointers, so a 32-bit size_t");

  using field_t = std::conditional_t<Big, std::uint32_t, std::uint16_t>;
  using stat_t = std::conditional_t<StatBytes == 8, std::uint64_t, std::uint32_t>;
  using id_t = std::uint32_t;  // chunk id (unit offset from the heap start); 0 = none

 public:
  static constexpr std::size_t unit = 8;
  static constexpr std::size_t header_bytes = 2 * sizeof(field_t);
  // Smallest chunk that can be listed: it must hold the header plus one byte,
  // which on a small heap leaves room for the links and on a big heap does so
  // only from 2 units on.
  static constexpr std::size_t min_chunk = (header_bytes + 1 + unit - 1) / unit;
  // The size field stores units << 1 with the used bit, so it bounds the heap.
  static constexpr std::size_t max_units = Big ? 0x7fffffffu : 0x7fffu;
  static constexpr std::size_t stat_bytes = StatBytes;
  static constexpr bool has_stats = Stats == heap_stats::on;
  static constexpr unsigned alloc_loops = AllocLoops;

  struct stats {
    std::size_t free_bytes = 0, allocated_bytes = 0, max_allocated_bytes = 0;
  };

  // Units for a request of n bytes; saturates instead of wrapping so that huge
  // requests fail the "units >= heap units" test.
  static constexpr std::size_t bytes_to_units(std::size_t n) noexcept {
    constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
    return n > max - header_bytes - (unit - 1) ? max : (n + header_bytes + unit - 1) / unit;
  }

  // Free-list bucket of a chunk of `units` (>= min_chunk): floor(log2(units - min_chunk + 1)).
  static constexpr unsigned bucket_of(std::size_t units) noexcept {
    return static_cast<unsigned>(std::bit_width(units - min_chunk + 1)) - 1u;
  }

  /// RAM the heap's bookkeeping takes outside `mem`: 0. Chunk headers, free-list
  /// links, the bucket heads and mask (and the statistics, when on) all live in
  /// the buffer, so the buffer's size is the whole budget. (The model's own
  /// members stand in for the real `struct sys_heap` handle, a pointer and the
  /// init arguments, which the caller owns like any heap handle.)
  static constexpr std::size_t external_metadata_bytes() noexcept { return 0; }

  sys_heap_model(void* mem, std::size_t bytes) noexcept { init(mem, bytes); }

  /// Whether a buffer of `bytes` at a page-aligned address can hold this heap (valid_heap()
  /// after construction), decided without a buffer.
  static constexpr bool fits(std::size_t bytes) noexcept { return geometry_for(4096, bytes).units != 0; }
  sys_heap_model(const sys_heap_model&) = delete;  // two models must never share one buffer
  sys_heap_model& operator=(const sys_heap_model&) = delete;

  bool valid_heap() const noexcept { return base_ != nullptr; }

  void* alloc(std::size_t bytes) noexcept {
    // One compare rejects 0 bytes (it wraps) and every request of >= end_ units
    // (max_request_ is 0 on an unusable heap).
    if (bytes - 1 >= max_request_) return nullptr;
    const auto need = static_cast<id_t>((bytes + header_bytes + unit - 1) / unit);
    const chunks h{base_};
    const id_t c = h.find_chunk(need);
    if (c == 0) return nullptr;
    const id_t sz = h.size(c);
    if (sz > need) {
      // The tail's right neighbour was the found chunk's right neighbour, which is
      // used (no two free chunks touch), so listing it needs no merge.
      h.split(c, sz, c + need, true);
      h.list_add(c + need, sz - need);
    } else {
      h.set_size_used(c, sz, true);
    }
    h.note_alloc(need);
    return base_ + std::size_t{c} * unit + header_bytes;
  }

  void* aligned_alloc(std::size_t align, std::size_t bytes) noexcept {
    // Every user pointer is already header_bytes-aligned.
    if (align <= header_bytes) return alloc(bytes);
    if (!valid_heap() || bytes == 0 || (align & (align - 1)) != 0) return nullptr;  // a power of two (no popcount call)
    if (bytes > std::numeric_limits<std::size_t>::max() - align) return nullptr;
    // Over-allocate so that an aligned pointer with `bytes` after it fits anywhere
    // in the chunk: ceil((bytes + align) / 8) units.
    const std::size_t padded = bytes_to_units(bytes + align - header_bytes);
    if (padded >= end_) return nullptr;
    const chunks h{base_};
    const id_t c0 = h.find_chunk(static_cast<id_t>(padded));
    if (c0 == 0) return nullptr;

    const std::uintptr_t b = addr(base_);
    const std::uintptr_t mem = b + std::size_t{c0} * unit + header_bytes;
    const std::uintptr_t p = (mem + align - 1) & ~std::uintptr_t{align - 1};
    // The owning chunk starts header_bytes below p, rounded down to a unit: on a
    // small heap p is 8-aligned, so it ends up 4 bytes into the chunk's first unit.
    const auto c = static_cast<id_t>((p - header_bytes - b) / unit);
    const auto c_end = static_cast<id_t>((p + bytes - b + unit - 1) / unit);
    const id_t end0 = c0 + h.size(c0);
    // Prefix and suffix border used chunks (c0 was free), so they are listed as is.
    if (c > c0) {
      h.split(c0, end0 - c0, c, false);
      h.list_add(c0, c - c0);
    }
    if (c_end < end0) {
      h.split(c, end0 - c, c_end, false);
      h.list_add(c_end, end0 - c_end);
    }
    h.set_size_used(c, h.size(c), true);
    h.note_alloc(h.size(c));
    return base_ + (p - b);
  }

  void* realloc(void* ptr, std::size_t bytes) noexcept {
    if (ptr == nullptr) return alloc(bytes);
    if (bytes == 0) {
      free(ptr);
      return nullptr;
    }
    id_t c = 0;
    if (!owner(ptr, c)) return nullptr;
    const chunks h{base_};
    const std::size_t gap = gap_of(ptr, c);
    if (bytes > std::numeric_limits<std::size_t>::max() - gap) return nullptr;
    const std::size_t need = bytes_to_units(bytes + gap);
    if (need >= end_) return nullptr;
    const id_t sz = h.size(c);
    if (need == sz) return ptr;
    if (need < sz) {
      // The tail's right neighbour may be free: release() merges with it.
      const auto tail = static_cast<id_t>(c + need);
      h.split(c, sz, tail, true);
      h.note_free(sz - need);
      h.release(tail, sz - static_cast<id_t>(need));
      return ptr;
    }
    if (const id_t rc = c + sz; !h.used(rc) && sz + std::size_t{h.size(rc)} >= need) {
      h.absorb_right(c, sz, static_cast<id_t>(need));
      return ptr;
    }
    void* fresh = alloc(bytes);
    if (fresh == nullptr) return nullptr;  // the old block is untouched
    const std::size_t old_usable = addr(base_) + std::size_t{c + sz} * unit - addr(ptr);
    std::memcpy(fresh, ptr, std::min(bytes, old_usable));
    free(ptr);
    return fresh;
  }

  /// Grows the block at `ptr` in place toward `bytes` (counted from ptr, as realloc counts
  /// them), never moving it: it takes units from its free right neighbour, as many as `bytes`
  /// needs, or all of them when that is not enough, and the rest of the neighbour stays free.
  /// This is realloc's in-place path without its fallback of moving the block and without its
  /// all-or-nothing test, what a firmware that cannot move a live buffer can get from this heap
  /// (docs/baselines.md). It never shrinks. Returns the block's usable bytes afterwards (as
  /// usable_size), 0 for a pointer the heap does not own.
  std::size_t grow_in_place(void* ptr, std::size_t bytes) noexcept {
    id_t c = 0;
    if (!owner(ptr, c)) return 0;
    const chunks h{base_};
    const id_t sz = h.size(c);
    if (const id_t rc = c + sz; !h.used(rc)) {
      const std::size_t gap = gap_of(ptr, c);
      const std::size_t need = bytes > std::numeric_limits<std::size_t>::max() - gap ? end_ : bytes_to_units(bytes + gap);
      const std::size_t reach = std::size_t{sz} + h.size(rc);
      if (need > sz) h.absorb_right(c, sz, static_cast<id_t>(need < reach ? need : reach));
    }
    return usable_size(ptr);
  }

  /// The usable bytes the block at `ptr` could reach by grow_in_place: its usable_size plus
  /// the bytes of its free right neighbour. 0 for a pointer the heap does not own.
  std::size_t in_place_limit(const void* ptr) const noexcept {
    id_t c = 0;
    if (!owner(ptr, c)) return 0;
    const id_t rc = c + size(c);
    return usable_size(ptr) + (used(rc) ? 0 : std::size_t{size(rc)} * unit);
  }

  bool free(void* ptr) noexcept {
    if (ptr == nullptr) return true;
    id_t c = 0;
    if (!owner(ptr, c)) return false;
    const chunks h{base_};
    const id_t sz = h.size(c);
    h.set_size_used(c, sz, false);  // stays in the header even when c merges into its left neighbour
    h.note_free(sz);
    h.release(c, sz);
    return true;
  }

  // Bytes from p to the end of its chunk: units*8 - header_bytes, less the
  // alignment gap of an aligned block. 0 for a pointer the heap does not own.
  std::size_t usable_size(const void* p) const noexcept {
    id_t c = 0;
    if (!owner(p, c)) return 0;
    return addr(base_) + std::size_t{c + size(c)} * unit - addr(p);
  }

  /// The statistics words of chunk 0 (only with heap_stats::on).
  stats runtime_stats() const noexcept
    requires(has_stats)
  {
    if (!valid_heap()) return {};
    const chunks h{base_};
    return {h.stat(st_free), h.stat(st_alloc), h.stat(st_max)};
  }

  /// Bytes of the used chunks, headers included, chunk 0 excluded: the statistics'
  /// allocated_bytes when they are on, else a walk over every chunk (O(chunks)).
  std::size_t allocated_bytes() const noexcept {
    if constexpr (has_stats) {
      return runtime_stats().allocated_bytes;
    } else {
      std::size_t units = 0;
      if (valid_heap())
        for (id_t c = chunk0_; c < end_ && size(c) != 0; c += size(c)) units += used(c) ? size(c) : 0;
      return units * unit;
    }
  }

  // Full consistency check; walks every chunk and every free list (test and
  // debugging aid, not constant time, and it allocates a scratch map).
  bool validate() const {
    if (!valid_heap()) return false;
    if (get<std::uint32_t>(meta_end) != end_) return false;
    if (fld(0, f_left) != 0 || size(0) != chunk0_ || !used(0)) return false;

    // 1 = free chunk that must be listed, 2 = such a chunk already seen on a list.
    std::vector<std::uint8_t> mark(end_, 0);
    std::size_t listed_units = 0, used_units = 0, listable = 0;
    id_t prev = 0;
    bool prev_free = false;
    id_t c = chunk0_;
    while (c < end_) {
      const id_t sz = size(c);
      if (sz == 0 || sz > end_ - c || fld(c, f_left) != c - prev) return false;
      const bool u = used(c);
      if (u) {
        used_units += sz;
      } else {
        if (prev_free) return false;  // a missed merge
        if (sz >= min_chunk) {
          mark[c] = 1;
          ++listable;
          listed_units += sz;
        }
      }
      prev_free = !u;
      prev = c;
      c += sz;
    }
    if (size(end_) != 0 || !used(end_) || fld(end_, f_left) != end_ - prev) return false;

    const std::uint32_t mask = get<std::uint32_t>(meta_mask);
    if (nbuckets_ < 32 && (mask >> nbuckets_) != 0) return false;
    std::size_t listed = 0;
    for (unsigned b = 0; b < nbuckets_; ++b) {
      const id_t h = head(b);
      if ((h != 0) != (((mask >> b) & 1u) != 0)) return false;
      if (h == 0) continue;
      id_t x = h;
      do {  // terminates: every step marks a new chunk or fails
        if (x >= end_ || mark[x] != 1 || bucket_of(size(x)) != b) return false;
        mark[x] = 2;
        ++listed;
        const id_t n = link(x, f_next);
        if (n >= end_ || link(n, f_prev) != x) return false;
        x = n;
      } while (x != h);
    }
    if (listed != listable) return false;

    if constexpr (has_stats) {
      const stats s = runtime_stats();
      return s.free_bytes == listed_units * unit && s.allocated_bytes == used_units * unit &&
             s.max_allocated_bytes >= s.allocated_bytes;
    } else {
      return true;
    }
  }

  // Byte offset of p from the 8-aligned heap start (chunk 0).
  std::size_t offset_of(const void* p) const noexcept { return addr(p) - addr(base_); }
  const std::byte* heap_start() const noexcept { return base_; }
  // Heap size in units, chunk 0 included; also the id of the end marker.
  std::size_t units() const noexcept { return end_; }
  std::size_t chunk0_units() const noexcept { return chunk0_; }
  unsigned bucket_count() const noexcept { return nbuckets_; }
  std::uint32_t bucket_mask() const noexcept { return valid_heap() ? get<std::uint32_t>(meta_mask) : 0; }
  // Chunk id at the head of bucket b's list, 0 when empty.
  std::size_t bucket_head(unsigned b) const noexcept { return b < nbuckets_ ? head(b) : 0; }
  // Size in units of the chunk that owns p, 0 if p is not a live block.
  std::size_t chunk_units(const void* p) const noexcept {
    id_t c = 0;
    return owner(p, c) ? size(c) : 0;
  }
  // Number of chunks, chunk 0 included, end marker excluded (O(chunks)).
  std::size_t chunk_count() const noexcept {
    if (!valid_heap()) return 0;
    std::size_t n = 0;
    for (id_t c = 0; c < end_ && size(c) != 0; c += size(c)) ++n;
    return n;
  }

 private:
  // Header field indices; field i sits at byte i * sizeof(field_t) of the chunk,
  // so a small heap keeps its links in bytes 4..7 and a big heap in its second unit.
  static constexpr unsigned f_left = 0, f_size = 1, f_prev = 2, f_next = 3;
  // Chunk 0: two 32-bit words standing in for its own header, the end chunk id,
  // the bucket mask, three statistics when they are on, then one 32-bit list head
  // per bucket.
  static constexpr std::size_t meta_end = 8, meta_mask = 12, meta_stats = 16;
  static constexpr std::size_t meta_heads = meta_stats + (has_stats ? 3 * StatBytes : 0);
  static constexpr unsigned st_free = 0, st_alloc = 1, st_max = 2;

  std::byte* base_ = nullptr;
  id_t end_ = 0;
  id_t chunk0_ = 0;
  unsigned nbuckets_ = 0;
  // The largest request that fits (its units < end_); 0 while the heap is unusable.
  std::size_t max_request_ = 0;
  // Chunk offsets (byte offset of a user pointer less header_bytes) a live block
  // can have: [first_chunk_bytes_, first_chunk_bytes_ + chunk_span_); both 0 while unusable.
  std::size_t first_chunk_bytes_ = 0, chunk_span_ = 0;

  static std::uintptr_t addr(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

  // An aligned block may start past its chunk's user memory: the bytes from there to `ptr`,
  // which stay in the block when it is resized.
  std::size_t gap_of(const void* ptr, id_t c) const noexcept {
    return addr(ptr) - (addr(base_) + std::size_t{c} * unit + header_bytes);
  }

  // The buffer's structures, seen from the heap start `m`. Every operation makes
  // one on the stack, so the start stays in a register: a store into the buffer
  // cannot change a local the way it may (for the compiler) change a member.
  // memcpy keeps the accesses free of aliasing and alignment assumptions; it
  // compiles to plain loads and stores (the builtin, so that it does so in a
  // freestanding build too, where memcpy is otherwise a call).
  struct chunks {
    std::byte* m;

    template <class T>
    VMH_SYS_HEAP_INLINE T get(std::size_t off) const noexcept {
      T v;
      __builtin_memcpy(&v, m + off, sizeof v);
      return v;
    }
    template <class T>
    VMH_SYS_HEAP_INLINE void put(std::size_t off, T v) const noexcept {
      __builtin_memcpy(m + off, &v, sizeof v);
    }

    VMH_SYS_HEAP_INLINE id_t fld(id_t c, unsigned f) const noexcept {
      return get<field_t>(std::size_t{c} * unit + f * sizeof(field_t));
    }
    VMH_SYS_HEAP_INLINE void set_fld(id_t c, unsigned f, std::size_t v) const noexcept {
      put(std::size_t{c} * unit + f * sizeof(field_t), static_cast<field_t>(v));
    }
    VMH_SYS_HEAP_INLINE id_t size(id_t c) const noexcept { return fld(c, f_size) >> 1; }
    VMH_SYS_HEAP_INLINE bool used(id_t c) const noexcept { return (fld(c, f_size) & 1u) != 0; }
    VMH_SYS_HEAP_INLINE void set_size_used(id_t c, std::size_t sz, bool u) const noexcept {
      set_fld(c, f_size, (sz << 1) | (u ? 1u : 0u));
    }

    VMH_SYS_HEAP_INLINE id_t head(unsigned b) const noexcept {
      return get<std::uint32_t>(meta_heads + 4 * std::size_t{b});
    }
    VMH_SYS_HEAP_INLINE void set_head(unsigned b, id_t c) const noexcept {
      put<std::uint32_t>(meta_heads + 4 * std::size_t{b}, c);
    }
    VMH_SYS_HEAP_INLINE std::uint32_t mask() const noexcept { return get<std::uint32_t>(meta_mask); }
    VMH_SYS_HEAP_INLINE void set_mask(std::uint32_t v) const noexcept { put<std::uint32_t>(meta_mask, v); }

    std::size_t stat(unsigned i) const noexcept {
      return static_cast<std::size_t>(get<stat_t>(meta_stats + i * StatBytes));
    }
    void set_stat(unsigned i, std::size_t v) const noexcept { put(meta_stats + i * StatBytes, static_cast<stat_t>(v)); }
    // The statistics are kept where the real heap keeps them: the free bytes are the listed
    // chunks' (each list change moves them), the allocated bytes change with the used chunks.
    VMH_SYS_HEAP_INLINE void note_alloc(std::size_t u) const noexcept {
      if constexpr (has_stats) {
        const std::size_t a = stat(st_alloc) + u * unit;
        set_stat(st_alloc, a);
        if (a > stat(st_max)) set_stat(st_max, a);
      }
    }
    VMH_SYS_HEAP_INLINE void note_free(std::size_t u) const noexcept {
      if constexpr (has_stats) set_stat(st_alloc, stat(st_alloc) - u * unit);
    }
    // A call, not inlined: with statistics on, GCC keeps the real heap's free-list functions
    // out of line at -O2 (callgrind names them), and each list change pays for one.
    VMH_SYS_HEAP_LIST_STATS void note_listed(std::size_t sz, bool added) const noexcept {
      if constexpr (has_stats) set_stat(st_free, added ? stat(st_free) + sz * unit : stat(st_free) - sz * unit);
    }

    // Lists free chunk c of sz units. New chunks join at the tail, i.e. just before the head.
    VMH_SYS_HEAP_INLINE void list_add(id_t c, id_t sz) const noexcept {
      if constexpr (min_chunk > 1)
        if (sz < min_chunk) return;  // cannot hold its links: recovered only by a neighbour's merge
      const unsigned b = bucket_of(sz);
      const id_t h = head(b);
      if (h == 0) {
        set_mask(mask() | (std::uint32_t{1} << b));
        set_head(b, c);
        set_fld(c, f_prev, c);
        set_fld(c, f_next, c);
      } else {
        const id_t p = fld(h, f_prev);
        set_fld(c, f_prev, p);
        set_fld(c, f_next, h);
        set_fld(p, f_next, c);
        set_fld(h, f_prev, c);
      }
      note_listed(sz, true);
    }

    // Unlists chunk c from bucket b. The head moves to the removed chunk's
    // successor, wherever the chunk was in the list: that choice shapes later
    // searches, so it is part of the behaviour.
    VMH_SYS_HEAP_INLINE void list_remove_from(unsigned b, id_t c) const noexcept {
      const id_t n = fld(c, f_next);
      if (n == c) {
        set_head(b, 0);
        set_mask(mask() & ~(std::uint32_t{1} << b));
      } else {
        const id_t p = fld(c, f_prev);
        set_fld(p, f_next, n);
        set_fld(n, f_prev, p);
        set_head(b, n);
      }
      if constexpr (has_stats) note_listed(size(c), false);
    }
    // Unlists free chunk c of sz units (a chunk too small to be listed is not).
    VMH_SYS_HEAP_INLINE void list_remove(id_t c, id_t sz) const noexcept {
      if constexpr (min_chunk > 1)
        if (sz < min_chunk) return;
      list_remove_from(bucket_of(sz), c);
    }

    // Cuts chunk c of sz units at unit `at` (c < at < c + sz): c gets used bit `u`,
    // the new right part is marked free.
    VMH_SYS_HEAP_INLINE void split(id_t c, id_t sz, id_t at, bool u) const noexcept {
      const id_t r = c + sz;
      set_size_used(c, at - c, u);
      set_fld(at, f_left, at - c);
      set_size_used(at, r - at, false);
      set_fld(r, f_left, r - at);
    }

    // Chunk l becomes sz units long with used bit u, absorbing what follows it.
    VMH_SYS_HEAP_INLINE void merge(id_t l, id_t sz, bool u) const noexcept {
      set_size_used(l, sz, u);
      set_fld(l + sz, f_left, sz);
    }

    // Used chunk c of sz units grows to `need` units (sz < need <= sz + its right neighbour's
    // size) by taking the start of its free right neighbour; the rest of it is listed again.
    VMH_SYS_HEAP_INLINE void absorb_right(id_t c, id_t sz, id_t need) const noexcept {
      const id_t rc = c + sz;
      const id_t rs = size(rc);
      const auto total = static_cast<id_t>(sz + rs);
      list_remove(rc, rs);
      merge(c, total, true);
      if (total > need) {
        split(c, total, need + c, true);
        list_add(need + c, total - need);
      }
      note_alloc(need - sz);
    }

    // Chunk c of sz units has just become free: merge it with free neighbours,
    // then list the result.
    VMH_SYS_HEAP_INLINE void release(id_t c, id_t sz) const noexcept {
      const id_t r = c + sz;
      const id_t rh = fld(r, f_size);
      if ((rh & 1u) == 0) {
        list_remove(r, rh >> 1);
        sz += rh >> 1;
      }
      const id_t l = c - fld(c, f_left);
      const id_t lh = fld(l, f_size);
      if ((lh & 1u) == 0) {
        list_remove(l, lh >> 1);
        sz += lh >> 1;
        c = l;
      }
      merge(c, sz, false);
      list_add(c, sz);
    }

    // A free chunk of at least sz units, unlisted but not yet marked used; 0 if none.
    VMH_SYS_HEAP_INLINE id_t find_chunk(id_t sz) const noexcept {
      const unsigned bi = bucket_of(sz);
      if (id_t first = head(bi); first != 0) {
        // Bounded look at the request's own bucket; a too-small entry moves the
        // head past it, and that rotation stays even when the search fails.
        id_t c = first;
        for (unsigned i = 0;;) {
          if (size(c) >= sz) {
            list_remove_from(bi, c);
            return c;
          }
          c = fld(c, f_next);
          set_head(bi, c);
          if (++i == AllocLoops || c == first) break;
        }
      }
      // Any chunk in a higher bucket is large enough; take the lowest such bucket's head.
      const std::uint32_t above = mask() & ~((std::uint32_t{2} << bi) - 1u);
      if (above == 0) return 0;
      const auto b = static_cast<unsigned>(std::countr_zero(above));
      const id_t c = head(b);
      list_remove_from(b, c);
      return c;
    }
  };

  // Read-only access for the queries and validate().
  template <class T>
  T get(std::size_t off) const noexcept {
    return chunks{base_}.template get<T>(off);
  }
  id_t fld(id_t c, unsigned f) const noexcept { return chunks{base_}.fld(c, f); }
  id_t size(id_t c) const noexcept { return fld(c, f_size) >> 1; }
  bool used(id_t c) const noexcept { return (fld(c, f_size) & 1u) != 0; }
  id_t link(id_t c, unsigned f) const noexcept { return fld(c, f); }
  id_t head(unsigned b) const noexcept { return chunks{base_}.head(b); }

  // Where a heap over [mem, mem + bytes) at address `a` starts (offset from a), its units and
  // chunk 0's units and buckets; units 0 when the buffer cannot hold a heap.
  struct geometry {
    std::size_t offset = 0, units = 0, chunk0 = 0;
    unsigned buckets = 0;
  };
  static constexpr geometry geometry_for(std::uintptr_t a, std::size_t bytes) noexcept {
    // The end marker's header is a footer reserved past the last unit; its width
    // follows from the raw size (see the class comment).
    const std::size_t footer = Big || bytes / unit > 0x7fff ? 8 : 4;
    if (a == 0 || bytes <= footer) return {};
    if (bytes - footer > std::numeric_limits<std::uintptr_t>::max() - a) return {};
    const std::uintptr_t start = (a + unit - 1) & ~std::uintptr_t{unit - 1};
    const std::uintptr_t stop = (a + (bytes - footer)) & ~std::uintptr_t{unit - 1};
    if (stop <= start) return {};
    const std::size_t n = (stop - start) / unit;
    if (n > max_units || n < min_chunk) return {};
    if constexpr (has_stats)
      if (n > std::numeric_limits<stat_t>::max() / unit) return {};  // byte statistics must fit the target's size_t
    const unsigned nb = bucket_of(n) + 1;
    const std::size_t c0 = (meta_heads + 4 * std::size_t{nb} + unit - 1) / unit;
    if (n < c0 + min_chunk) return {};  // no room for one listable free chunk
    return {start - a, n, c0, nb};
  }

  void init(void* mem, std::size_t bytes) noexcept {
    const geometry g = geometry_for(addr(mem), bytes);
    if (g.units == 0) return;
    const std::size_t n = g.units, c0 = g.chunk0;
    const unsigned nb = g.buckets;
    base_ = static_cast<std::byte*>(mem) + g.offset;
    end_ = static_cast<id_t>(n);
    chunk0_ = static_cast<id_t>(c0);
    nbuckets_ = nb;
    max_request_ = (n - 1) * unit - header_bytes;
    first_chunk_bytes_ = c0 * unit;
    chunk_span_ = (n - c0) * unit - header_bytes;
    const chunks h{base_};
    std::memset(base_, 0, c0 * unit);  // empty buckets, zero mask and statistics
    h.set_fld(0, f_left, 0);
    h.set_size_used(0, c0, true);
    h.template put<std::uint32_t>(meta_end, end_);

    h.set_fld(chunk0_, f_left, c0);
    h.set_size_used(chunk0_, n - c0, false);
    h.set_fld(end_, f_left, n - c0);
    h.set_size_used(end_, 0, true);
    h.list_add(chunk0_, static_cast<id_t>(n - c0));
  }

  // Maps a user pointer to its chunk, with every check that is cheap: inside
  // the heap, a plausible user-pointer position, marked used, and both
  // neighbours agreeing on its size (an overrun into the right neighbour's
  // left-size word is what left(right(c)) == c catches).
  VMH_SYS_HEAP_INLINE bool owner(const void* p, id_t& out) const noexcept {
    // Byte offset of the chunk start; one unsigned compare bounds it (null and
    // foreign pointers wrap far outside), and the low bits must be those of a
    // plain block (header_bytes into a unit) or an aligned one (a unit boundary).
    const std::size_t off = addr(p) - addr(base_) - header_bytes;
    if (off - first_chunk_bytes_ >= chunk_span_) return false;
    if ((off & (header_bytes - 1)) != 0) return false;
    const chunks h{base_};
    const auto c = static_cast<id_t>(off / unit);
    const id_t sh = h.fld(c, f_size);
    if ((sh & 1u) == 0) return false;
    const id_t sz = sh >> 1;
    // 1 <= sz <= end_ - c, and 1 <= left <= c: each as one unsigned compare.
    if (sz - 1u >= end_ - c || h.fld(c + sz, f_left) != sz) return false;
    const id_t ls = h.fld(c, f_left);
    if (ls - 1u >= c || h.size(c - ls) != ls) return false;
    out = c;
    return true;
  }
};

using sys_heap_small = sys_heap_model<false>;
using sys_heap_big = sys_heap_model<true>;
// A big heap as built for a 32-bit target (a DSP heap above 256 KiB).
using sys_heap_big32 = sys_heap_model<true, 3, 4>;
// The same three with CONFIG_SYS_HEAP_RUNTIME_STATS off, Zephyr's default and
// what a firmware build has: chunk 0 is 3 size_t smaller, so every offset after it is too.
using sys_heap_small_nostats = sys_heap_model<false, 3, 4, heap_stats::off>;
using sys_heap_big_nostats = sys_heap_model<true, 3, 8, heap_stats::off>;
using sys_heap_big32_nostats = sys_heap_model<true, 3, 4, heap_stats::off>;

}  // namespace vmh::baseline
