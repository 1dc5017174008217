// Stand-in for Zephyr's <zephyr/ztest.h> in host builds of zephyr/tests: ZTEST_SUITE, ZTEST and
// the zassert_* calls the suites use (messages optional, as in Zephyr 3.3+). ZTEST registers
// its function; the main below runs every one, prints "PASS"/"FAIL" per test the way ztest
// does, and exits non-zero if any assertion failed.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace ztest_standin {
struct test {
  const char* name;
  void (*fn)();
  test* next;
};
inline test* first = nullptr;
inline test* last = nullptr;
inline bool current_failed = false;
struct registrar {
  explicit registrar(test* t) {
    (last != nullptr ? last->next : first) = t;
    last = t;
  }
};
inline void check(bool ok, const char* what, const char* file, int line) {
  if (ok) return;
  std::printf("%s:%d: assertion failed: %s\n", file, line, what);
  current_failed = true;
}
}  // namespace ztest_standin

#define ZTEST_SUITE(suite, ...) static_assert(true, #suite)
#define ZTEST(suite, name)                                                                 \
  static void suite##_##name();                                                            \
  static ztest_standin::test suite##_##name##_test{#name, suite##_##name, nullptr};        \
  static ztest_standin::registrar suite##_##name##_registrar{&suite##_##name##_test};      \
  static void suite##_##name()

#define zassert_true(cond, ...) ztest_standin::check((cond), #cond, __FILE__, __LINE__)
#define zassert_false(cond, ...) zassert_true(!(cond))
#define zassert_equal(a, b, ...) ztest_standin::check((a) == (b), #a " == " #b, __FILE__, __LINE__)
#define zassert_not_null(p, ...) ztest_standin::check((p) != nullptr, #p " != NULL", __FILE__, __LINE__)
#define zassert_is_null(p, ...) ztest_standin::check((p) == nullptr, #p " == NULL", __FILE__, __LINE__)

int main() {
  int failed = 0;
  for (ztest_standin::test* t = ztest_standin::first; t != nullptr; t = t->next) {
    ztest_standin::current_failed = false;
    t->fn();
    std::printf(" %s - %s\n", ztest_standin::current_failed ? "FAIL" : "PASS", t->name);
    failed += ztest_standin::current_failed ? 1 : 0;
  }
  return failed == 0 && ztest_standin::first != nullptr ? EXIT_SUCCESS : EXIT_FAILURE;
}
