// budget_mapper: a page budget fixed at compile time, so that it holds no state to initialise
// (a constinit heap over it is all zero: test_footprint.cpp).
#include <cstddef>
#include <cstring>

#include <vmh/vmh.hpp>

#include "catch.hpp"

namespace {

alignas(4096) std::byte window[4096];  // only its address is used

}  // namespace

TEST_CASE("budget_mapper refuses what its constant budget cannot hold, as counting_mapper does", "[policies]") {
  vmh::budget_mapper<8192> fixed;
  vmh::counting_mapper given{8192};
  CHECK(fixed.map(window, 4096));
  CHECK(given.map(window, 4096));
  CHECK_FALSE(fixed.map(window, 8192));
  CHECK_FALSE(given.map(window, 8192));
  CHECK(fixed.available() == given.available());
  CHECK(fixed.failures() == 1);
  fixed.fail_map_call(1);
  CHECK_FALSE(fixed.map(window, 4096));
  CHECK(fixed.map(window, 4096));
  CHECK(fixed.available() == 0);
  fixed.unmap(window, 8192);
  CHECK(fixed.mapped() == 0);
  CHECK(fixed.peak() == 8192);
}
