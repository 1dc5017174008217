#!/usr/bin/env bash
# Differential fuzzing of the heap with libFuzzer (clang, AddressSanitizer, UBSan).
#
#   scripts/fuzz.sh [SECONDS]    SECONDS: a whole number from 1, default 60
#   scripts/fuzz.sh --help       this text
#
# Builds vmh-fuzz in build-fuzz/, runs it for SECONDS on a copy of tests/reliability/corpus
# (new inputs stay in build-fuzz/corpus), prints the executions and the heap operations, and
# exits non-zero on any finding (the input is left in build-fuzz/artifacts/).
# Needs clang and libclang-rt-14-dev: scripts/deps.sh --fuzz.
# Exit status: 0 when the run found nothing, 1 on a finding or a build error, 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"
seconds=60
case $# in
  0) ;;
  1) case "$1" in
       -h|--help) vmh_usage; exit 0 ;;
       -*) vmh_bad_usage "unknown option '$1'" ;;
       ''|*[!0-9]*|0*) vmh_bad_usage "SECONDS must be a whole number from 1, not '$1'" ;;
       *) seconds=$1 ;;
     esac ;;
  *) vmh_bad_usage "at most one argument (SECONDS), got $#" ;;
esac
cd "$(dirname "$0")/.."
build=build-fuzz
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DVMH_BUILD_FUZZ=ON -DVMH_BUILD_BENCH=OFF -DVMH_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target vmh-fuzz -j "$(nproc)"

rm -rf "$build/corpus" "$build/artifacts"
mkdir -p "$build/corpus" "$build/artifacts"
cp tests/reliability/corpus/* "$build/corpus/"
log="$build/fuzz.log"
start=$(date +%s)
status=0
"$build/tests/reliability/vmh-fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" "$build/corpus" >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
operations=$(sed -n 's/^vmh-fuzz: \([0-9]*\) operations.*/\1/p' "$log" | tail -1)
findings=$(find "$build/artifacts" -type f | wc -l)
echo "fuzz: ${elapsed} s, ${executions:-?} executions, ${operations:-?} heap operations, corpus $(ls "$build/corpus" | wc -l) inputs"
if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz: FAILED (exit $status, $findings artifacts in $build/artifacts)" >&2
  exit 1
fi
