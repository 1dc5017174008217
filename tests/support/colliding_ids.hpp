// A trace crafted against a multiplicative hash set with linear probing: every id shares one
// home slot of the hash by 0x9E3779B97F4A7C15 that the trace parser's id set used before it
// ranked ids (bench/workloads/trace.hpp, check_lives). id = j * inverse (mod 2^64), so
// id * 0x9E3779B97F4A7C15 = j, whose bits from 32 up are zero for every j < 2^32: all home slots
// are 0 whatever the table's size, and n insertions cost n^2 / 2 probes (8 s for 100k lines).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vmh_test {

/// `n` allocations `a <id> 1` whose ids all collide in that hash.
inline std::string colliding_ids_trace(std::size_t n) {
  constexpr std::uint64_t multiplier = 0x9E3779B97F4A7C15ull;
  std::uint64_t inverse = multiplier;  // correct to 3 bits (odd * odd = 1 mod 8); each step doubles them
  for (int k = 0; k < 5; ++k) inverse *= 2 - multiplier * inverse;
  std::string text;
  for (std::uint64_t j = 1; j <= n; ++j) text += "a " + std::to_string(j * inverse) + " 1\n";
  return text;
}

}  // namespace vmh_test
