#!/usr/bin/env bash
# Line coverage of the core library (include/vmh/*.hpp and include/vmh/detail/*.hpp) by the
# test suite: builds and runs the `coverage` preset (gcc --coverage -O0), then reports with lcov.
#   scripts/coverage.sh          table per file and total; HTML in build-coverage/coverage-html
#   scripts/coverage.sh --help   this text
# Needs lcov: scripts/deps.sh --fuzz. Exit status: 0 on success, 1 on a failure, 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"
vmh_help_or_nothing "$@"
cd "$(dirname "$0")/.."
build=build-coverage
# Counters of an earlier run would add up with this one.
if [ -d "$build" ]; then find "$build" -name '*.gcda' -delete; fi
cmake --workflow --preset coverage

root="$(pwd)"
info="$build/coverage.info"
lcov --quiet --capture --directory "$build" --base-directory "$root" --output-file "$build/all.info" \
  --rc lcov_branch_coverage=0 --ignore-errors gcov,source
lcov --quiet --extract "$build/all.info" "$root/include/vmh/*.hpp" --output-file "$build/vmh.info"
# The extract pattern also matches the host/, zephyr/ and c/ subdirectories: keep only the core.
lcov --quiet --remove "$build/vmh.info" "$root/include/vmh/host/*" "$root/include/vmh/zephyr/*" \
  "$root/include/vmh/c/*" --output-file "$info"
lcov --list "$info"
lcov --summary "$info" 2>&1 | grep -E "lines|functions"
genhtml --quiet --output-directory "$build/coverage-html" "$info" >/dev/null
echo "HTML report: $build/coverage-html/index.html"
