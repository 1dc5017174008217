// Two replays of one trace that must agree on every request: the same grants, failures, resizes,
// growth and peaks (a model against the real code it models, a recorded trace against the run it
// was recorded from). Checked field by field, so a failure names the field.
#pragma once

#include "catch.hpp"
#include "sim/replay.hpp"

namespace vmh_test {

inline void check_same_outcome(const vmh::sim::report& a, const vmh::sim::report& b) {
  CHECK(a.requests == b.requests);
  CHECK(a.failed == b.failed);
  CHECK(a.fixed_failed == b.fixed_failed);
  CHECK(a.range_failed == b.range_failed);
  CHECK(a.range_granted_bytes == b.range_granted_bytes);
  CHECK(a.range_preferred_bytes == b.range_preferred_bytes);
  CHECK(a.resizes == b.resizes);
  CHECK(a.resizes_failed == b.resizes_failed);
  CHECK(a.peak_live_bytes == b.peak_live_bytes);
  CHECK(a.peak_physical_bytes == b.peak_physical_bytes);
  CHECK(a.grow.requests == b.grow.requests);
  CHECK(a.grow.gained_bytes == b.grow.gained_bytes);
  CHECK(a.valid_after);
  CHECK(b.valid_after);
}

}  // namespace vmh_test
