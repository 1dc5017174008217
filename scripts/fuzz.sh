#!/usr/bin/env bash
# Fuzzing with libFuzzer (clang, AddressSanitizer, UBSan): the heap against its shadow model
# (vmh-fuzz, tests/reliability/fuzz_heap.cpp) and vmh-sim's trace and layout parsers and command
# line (vmh-fuzz-sim, tests/reliability/fuzz_sim.cpp).
#
#   scripts/fuzz.sh [--target heap|sim|all] [SECONDS]
#
#   SECONDS      run time of each target, a whole number from 1 (default 60)
#   --target     which fuzzer to run (default all: heap, then sim)
#   -h, --help   this text
#
# Builds the targets in build-fuzz/ (everything instrumented, so that the simulator's library
# gives coverage too), runs each on a copy of its seed corpus (new inputs stay in
# build-fuzz/corpus-TARGET; files an input makes the tool write go to build-fuzz/scratch-TARGET),
# prints the executions, and exits non-zero on any finding (the input is left in
# build-fuzz/artifacts-TARGET/). An input of the sim target that runs longer
# than a second is a finding; the heap target allows 10 s (its inputs run thousands of checked
# operations under ASan).
# Needs clang and libclang-rt-14-dev: scripts/deps.sh --fuzz.
# Exit status: 0 when the runs found nothing, 1 on a finding or a build error, 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"
seconds=60
targets=(heap sim)
seen_seconds=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) vmh_usage; exit 0 ;;
    --target)
      [ $# -ge 2 ] || vmh_bad_usage "--target needs heap, sim or all"
      case "$2" in
        heap|sim) targets=("$2") ;;
        all) targets=(heap sim) ;;
        *) vmh_bad_usage "--target must be heap, sim or all, not '$2'" ;;
      esac
      shift 2 ;;
    -*) vmh_bad_usage "unknown option '$1'" ;;
    *)
      [ "$seen_seconds" -eq 0 ] || vmh_bad_usage "one SECONDS only, got '$seconds' and '$1'"
      case "$1" in
        ''|*[!0-9]*|0*) vmh_bad_usage "SECONDS must be a whole number from 1, not '$1'" ;;
      esac
      seconds=$1
      seen_seconds=1
      shift ;;
  esac
done
cd "$(dirname "$0")/.."
root=$(pwd)

build=build-fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_C_FLAGS=$flags" \
  -DVMH_BUILD_FUZZ=ON -DVMH_BUILD_BENCH=ON -DVMH_BUILD_EXAMPLES=OFF -DVMH_INSTALL=OFF >/dev/null
exe_targets=()
for t in "${targets[@]}"; do
  case "$t" in
    heap) exe_targets+=(vmh-fuzz) ;;
    sim) exe_targets+=(vmh-fuzz-sim) ;;
  esac
done
cmake --build "$build" --target "${exe_targets[@]}" -j 2

failed=0
for t in "${targets[@]}"; do
  case "$t" in
    heap) exe=vmh-fuzz; seeds=tests/reliability/corpus; timeout=10 ;;
    sim) exe=vmh-fuzz-sim; seeds=tests/reliability/fuzz_sim_corpus; timeout=1 ;;
  esac
  corpus="$root/$build/corpus-$t"
  artifacts="$root/$build/artifacts-$t"
  scratch="$root/$build/scratch-$t"
  rm -rf "$corpus" "$artifacts" "$scratch"
  mkdir -p "$corpus" "$artifacts" "$scratch"
  cp "$seeds"/* "$corpus/"
  log="$root/$build/fuzz-$t.log"
  start=$(date +%s)
  status=0
  # Run from a scratch directory: a file an input makes the tool write lands there, not in the tree.
  (cd "$scratch" && exec "$root/$build/tests/reliability/$exe" -max_total_time="$seconds" -max_len=4096 \
    -timeout="$timeout" -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus") >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  operations=$(sed -n 's/^vmh-fuzz: \([0-9]*\) operations.*/\1/p' "$log" | tail -1)
  findings=$(find "$artifacts" -type f | wc -l)
  echo "fuzz $t: ${elapsed} s, ${executions:-?} executions${operations:+, $operations heap operations}, corpus $(ls "$corpus" | wc -l) inputs"
  if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz $t: FAILED (exit $status, $findings artifacts in $artifacts)" >&2
    failed=1
  fi
done
exit "$failed"
