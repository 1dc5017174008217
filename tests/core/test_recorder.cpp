// vmh::recorder and its sinks (include/vmh/recorder.hpp): every call becomes the trace line the
// format gives it, with the ids a replay needs; what the format cannot express is counted, not
// written; the ring drains in order, stops whole at its first dropped line and is readable from
// C; the recorder stands where a heap stands, behind the C API too. (Replaying what it records:
// tests/sim/test_record.cpp.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <vmh/c/trace.h>
#include <vmh/c_api.hpp>
#include <vmh/recorder.hpp>
#include <vmh/vmh.hpp>

#include "catch.hpp"
#include "support/heap_fixture.hpp"
#include "support/misuse_log.hpp"

using namespace vmh_test;

namespace {

/// A sink that keeps every line, and counts the calls (one per line).
struct text_sink {
  std::string text;
  std::size_t calls = 0;
  void write(const char* line, std::size_t n) {
    text.append(line, n);
    ++calls;
  }
};

std::string id(const void* p) { return std::to_string(reinterpret_cast<std::uintptr_t>(p)); }

constexpr const char* head = "# vmh trace v1: recorded by vmh::recorder (odd ids: failed requests)\n";

using heap_type = ext_heap<basic_layout>;

}  // namespace

static_assert(vmh::trace_sink<text_sink> && vmh::trace_sink<vmh::trace_callback> && vmh::trace_sink<vmh::trace_ring<128>>);
// The recorder offers what the C API needs of a heap.
static_assert(vmh::c_api::c_heap<vmh::recorder<heap_type, text_sink>>);

TEST_CASE("the recorder writes each call as its trace line", "[recorder]") {
  fixture<heap_type, basic_size> f(vmh::counting_mapper{64 * kib});
  text_sink sink;
  vmh::recorder rec{*f.h, sink};
  CHECK(sink.text.empty());  // nothing before the first call

  void* a = rec.allocate(100);
  void* b = rec.allocate(64, 64);
  const vmh::grant r = rec.allocate_range(1000, 8000);
  REQUIRE((a && b && r));
  CHECK(rec.resize(a, 200) == vmh::status::ok);
  CHECK(rec.resize(a, 5000) == vmh::status::exceeds_block);  // a failed resize of a live block is recorded
  const vmh::grant g = rec.grow(r.ptr, 8000, 1000);
  CHECK(g.status == vmh::status::ok);
  CHECK(rec.deallocate(b) == vmh::status::ok);
  // Failed requests: odd ids, one per failure, never reused.
  CHECK(rec.allocate(1u << 20) == nullptr);                   // larger than every block
  CHECK(rec.try_allocate(128 * kib).status == vmh::status::no_bucket);
  CHECK_FALSE(rec.allocate_range(100 * kib, 200 * kib));

  std::string expected = head;
  expected += "a " + id(a) + " 100\n";
  expected += "a " + id(b) + " 64 64\n";
  expected += "r " + id(r.ptr) + " 1000 8000\n";
  expected += "e " + id(a) + " 200\n";
  expected += "e " + id(a) + " 5000\n";
  expected += "g " + id(r.ptr) + " 8000 1000\n";
  expected += "f " + id(b) + "\n";
  expected += "a 1 1048576\n";
  expected += "a 3 131072\n";
  expected += "r 5 102400 204800\n";
  CHECK(sink.text == expected);
  CHECK(sink.calls == 11);  // one call per line
  const vmh::recorder_stats s = rec.record_stats();
  CHECK(s.lines == 11);
  CHECK(s.failed == 3);
  CHECK(s.unrecorded == 0);
  CHECK(s.inexact == 0);
  // Every call reached the heap as it was made.
  CHECK(f.h->stats().live_allocations == 2);
  CHECK(f.h->usable_size(a) >= 200);
  CHECK(rec.usable_size(a) == f.h->usable_size(a));
  CHECK(rec.owns(a));
  CHECK(rec.bucket_count() == basic_table.size());
  CHECK(rec.stats().live_allocations == 2);
  CHECK(rec.stats(0).in_use == f.h->stats(0).in_use);
  CHECK(rec.validate());
  CHECK(&rec.heap() == f.h.get());
}

TEST_CASE("calls the format cannot express are counted, never written", "[recorder]") {
  fixture<heap_type, basic_size> f(vmh::counting_mapper{64 * kib});
  const vmh_test::misuse_log misuse;  // the bad pointers below are reported, not stopped
  text_sink sink;
  vmh::recorder rec{*f.h, sink};
  void* a = rec.allocate(100);
  REQUIRE(a != nullptr);
  const std::string after_first = sink.text;
  int local = 0;
  CHECK(rec.allocate(0) == nullptr);                                    // size 0
  CHECK(rec.allocate(64, 48) == nullptr);                               // alignment not a power of two
  CHECK_FALSE(rec.allocate_range(0, 100));                              // min 0
  CHECK_FALSE(rec.allocate_range(200, 100));                            // min > preferred
  CHECK(rec.resize(a, 0) == vmh::status::invalid_size);                 // to 0 bytes
  CHECK(rec.resize(&local, 10) == vmh::status::foreign_pointer);        // not an allocation
  CHECK(rec.grow(a, 0).status == vmh::status::invalid_size);            // toward 0
  CHECK(rec.grow(a, 64, 128).status == vmh::status::ok);                // granule above preferred: nothing to do
  CHECK(rec.grow(static_cast<char*>(a) + 8, 128).status == vmh::status::interior_pointer);
  CHECK(rec.deallocate(&local) == vmh::status::foreign_pointer);
  CHECK(rec.deallocate(nullptr) == vmh::status::ok);                    // nothing freed
  CHECK(sink.text == after_first);
  CHECK(rec.record_stats().unrecorded == 11);
  CHECK(rec.deallocate(a) == vmh::status::ok);
  CHECK(rec.deallocate(a) == vmh::status::double_free);  // the second free is not written
  CHECK(sink.text == after_first + "f " + id(a) + "\n");
  CHECK(rec.record_stats().unrecorded == 12);
  CHECK(rec.record_stats().failed == 0);  // refused calls are not failed requests: no id was spent
  CHECK(vmh_test::misuse_log::take() == 4);  // two foreign pointers, an interior one, a double free

  // A range request with a granule of its own: written (the line has no granule), counted inexact.
  const vmh::grant r = rec.allocate_range(1000, 8000, 0, 512);
  REQUIRE(r);
  CHECK(rec.record_stats().inexact == 1);
  CHECK(sink.text.substr(sink.text.rfind('\n', sink.text.size() - 2) + 1) == "r " + id(r.ptr) + " 1000 8000\n");
  CHECK(rec.allocate_range(1000, 8000, 0, 1000));  // the granule the line stands for
  CHECK(rec.record_stats().inexact == 1);
}

TEST_CASE("the largest numbers fit a line", "[recorder]") {
  // Every field at its widest: 20 digits. The line is within trace_line_max.
  vmh::detail::trace_line line('r');
  line << UINT64_MAX << UINT64_MAX << UINT64_MAX << UINT64_MAX;
  std::size_t n = 0;
  const char* text = line.finish(n);
  const std::string max = std::to_string(UINT64_MAX);
  CHECK(std::string(text, n) == "r " + max + " " + max + " " + max + " " + max + "\n");
  CHECK(n <= vmh::trace_line_max);
  vmh::detail::trace_line zero('f');
  zero << std::uint64_t{0};
  const char* zero_text = zero.finish(n);
  CHECK(std::string(zero_text, n) == "f 0\n");
}

namespace {
struct collected {
  std::vector<std::string> lines;
};
extern "C" void collect(void* ctx, const char* line, std::size_t n) {
  static_cast<collected*>(ctx)->lines.emplace_back(line, n);
}
std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l;
  return s;
}

vmh::trace_ring<256> c_ring;
}  // namespace

VMH_C_TRACE_RING(test_ring, c_ring);

TEST_CASE("the trace ring drains whole lines in order and stops whole when full", "[recorder]") {
  vmh::trace_ring<256> ring;
  CHECK(ring.capacity() == 256);
  auto put = [&ring](const std::string& s) { ring.write(s.data(), s.size()); };
  collected out;

  SECTION("lines come out as they went in, across the ring's end, and are gone once dumped") {
    std::string all;
    for (int round = 0; round < 5; ++round) {  // 5 x 120 bytes through 256: wraps twice
      std::string in;
      for (int k = 0; k < 6; ++k) in += "a " + std::to_string(1000000000000LL * round + k) + " 64 64\n";
      REQUIRE(in.size() <= ring.capacity());
      put(in.substr(0, in.find('\n') + 1));
      for (std::size_t at = in.find('\n') + 1; at < in.size(); at = in.find('\n', at) + 1)
        put(in.substr(at, in.find('\n', at) + 1 - at));
      CHECK(ring.size() == in.size());
      out.lines.clear();
      CHECK(ring.dump(collect, &out) == 6);
      CHECK(joined(out.lines) == in);
      for (const std::string& l : out.lines) CHECK((l.back() == '\n' && l.find('\n') == l.size() - 1));
      CHECK(ring.size() == 0);
      all += in;
    }
    CHECK(ring.dropped() == 0);
    out.lines.clear();
    CHECK(ring.dump(collect, &out) == 0);
  }

  SECTION("a line that does not fit is dropped, and every line after it: the trace stays a prefix") {
    const std::string line = "# " + std::string(87, 'x') + "\n";  // 90 bytes
    put(line);
    put(line);
    put(line);  // 270 > 256: dropped
    CHECK(ring.dropped() == 1);
    CHECK(ring.dump(collect, &out) == 3);  // two lines and the note
    REQUIRE(out.lines.size() == 3);
    CHECK(out.lines[0] == line);
    CHECK(out.lines[1] == line);
    CHECK(out.lines.back() == "# 1 lines dropped: the ring was full; the trace ends above\n");
    put("f 1\n");  // there is room now, but the trace has a gap: still dropped
    CHECK(ring.dropped() == 2);
    out.lines.clear();
    CHECK(ring.dump(collect, &out) == 1);
    CHECK(out.lines == std::vector<std::string>{"# 2 lines dropped: the ring was full; the trace ends above\n"});
  }

  SECTION("a line longer than a recorder's comes out in pieces of at most trace_line_max") {
    const std::string line = std::string(199, 'x') + "\n";
    put(line);
    CHECK(ring.dump(collect, &out) == 3);
    CHECK(joined(out.lines) == line);
    for (const std::string& l : out.lines) CHECK(l.size() <= vmh::trace_line_max);
  }

  SECTION("C code drains a ring through the functions VMH_C_TRACE_RING defines") {
    const std::string a = "a 2 64\n", f = "f 2\n";
    c_ring.write(a.data(), a.size());
    c_ring.write(f.data(), f.size());
    CHECK(test_ring_trace_dump(nullptr, nullptr) == 0);  // no function: nothing happens
    CHECK(test_ring_trace_dump(collect, &out) == 2);
    CHECK(out.lines == std::vector<std::string>{a, f});
    CHECK(test_ring_trace_dropped() == 0);
  }
}

TEST_CASE("a recorder writes to a C callback and stands behind the C API", "[recorder]") {
  fixture<heap_type, basic_size> f(vmh::counting_mapper{64 * kib});
  collected out;
  vmh::trace_callback uart{collect, &out};
  vmh::recorder rec{*f.h, uart};
  void* p = vmh::c_api::detail::alloc(rec, 300);
  REQUIRE(p != nullptr);
  CHECK(vmh::c_api::detail::free(rec, p) == VMH_OK);
  CHECK(out.lines == std::vector<std::string>{head, "a " + id(p) + " 300\n", "f " + id(p) + "\n"});
  vmh::trace_callback none{};
  none.write("x\n", 2);  // no function: nothing happens
}
