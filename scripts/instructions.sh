#!/usr/bin/env bash
# Counts instructions per step of every vmh-instr case under callgrind and prints a Markdown
# table: case, allocator, instructions per step with the case's own work subtracted, the case's
# own work, and the ratio to the sys_heap baseline's net count for the same case in this run:
# Zephyr's real heap (zephyr_sys_heap) when the build has it (VMH_ZEPHYR_BASE), else its model.
# The target is the build's host (x86-64 here): the compiler and flags head the table.
#
#   scripts/instructions.sh [--fidelity] [BUILD_DIR]   BUILD_DIR defaults to $VMH_BUILD_DIR, then ./build
#
# --fidelity   also checks each model row against the real code's row of the same case
#              (sys_heap with zephyr_sys_heap, sys_heap_stats with zephyr_sys_heap_stats, and
#              sof_vmh with SOF's real VMH, sof_vmh_real, when the build has it: VMH_SOF_BASE):
#              exit 1 when a model is more than 10% off; exit 2 when the build has no real heap.
#              The sof_vmh rows then run the bit-array rule of the built Zephyr tree.
#
# Environment: VMH_INSTR (path of vmh-instr, overrides BUILD_DIR), VMH_INSTR_STEPS (default
# 20000), VMH_INSTR_WARMUP (default 2000), VMH_INSTR_CASES (an extended regular expression; only
# the cases whose name matches run).
#
# What is counted: vmh-instr brackets its measured loop with callgrind client requests and runs
# under --instr-atstart=no --collect-atstart=no, so only the measured steps count: not the
# setup, the warm-up or the teardown. A step is one iteration of the case: an allocation and its
# free, a range request and its free, or a grow and a shrink. Every case also runs on the
# allocator "none" (no_allocator in bench/micro/cases.hpp: every request gets one static
# pointer), whose count is the case's own work (the loop, the pre-drawn sizes, the choice of the
# block to replace); the "net" column is an allocator's count minus that.
# Exit status: 0 on success, 2 if valgrind or vmh-instr is missing or vmh-instr was built without
# the client requests, 1 if a case fails.
set -euo pipefail

build=""
fidelity=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
    --fidelity) fidelity=1 ;;
    -*) echo "instructions.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    *)
      if [ -n "$build" ]; then echo "instructions.sh: one BUILD_DIR only, not also '$arg' (see --help)" >&2; exit 2; fi
      build=$arg ;;
  esac
done
build=${build:-${VMH_BUILD_DIR:-build}}
instr=${VMH_INSTR:-$build/bench/vmh-instr}
steps=${VMH_INSTR_STEPS:-20000}
warmup=${VMH_INSTR_WARMUP:-2000}
only=${VMH_INSTR_CASES:-.}

if ! command -v valgrind >/dev/null 2>&1; then
  echo "instructions.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 2
fi
if [ ! -x "$instr" ]; then
  echo "instructions.sh: $instr not found; build the vmh-instr target first or set VMH_INSTR" >&2
  exit 2
fi
if [ "$("$instr" --client-requests)" != yes ]; then
  echo "instructions.sh: $instr was built without valgrind/callgrind.h; install valgrind and rebuild" >&2
  exit 2
fi
case "$steps$warmup" in
  *[!0-9]*)
    echo "instructions.sh: VMH_INSTR_STEPS and VMH_INSTR_WARMUP must be whole numbers" >&2
    exit 2
    ;;
esac
if [ "$steps" -eq 0 ]; then
  echo "instructions.sh: VMH_INSTR_STEPS must be at least 1" >&2
  exit 2
fi
real=$("$instr" --real-heap)
if [ "$fidelity" -eq 1 ] && [ "$real" != yes ]; then
  echo "instructions.sh: --fidelity needs the real Zephyr heap: configure with -DVMH_ZEPHYR_BASE=... (scripts/third-party.sh)" >&2
  exit 2
fi
cache="${build%/}/CMakeCache.txt"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One line per case: test allocator instructions notes
: >"$work/results"
while read -r test alloc; do
  out="$work/callgrind.out"
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" --instr-atstart=no --collect-atstart=no \
      "$instr" "$test" "$alloc" "$steps" "$warmup" >"$work/stdout" 2>"$work/stderr"; then
    echo "instructions.sh: $test $alloc failed:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  # totals: what was collected; summary stays 0 when instrumentation starts late.
  total=$(awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 } END { print (t != "" ? t : s) }' "$out")
  if [ -z "$total" ] || [ "$total" -eq 0 ]; then
    echo "instructions.sh: $test $alloc: no instructions collected (the client requests did not run)" >&2
    exit 1
  fi
  # The driver's line: "<test> <alloc> steps=N fail=F [k=v ...]"; keep everything after steps=.
  notes=$(awk '{ for (i = 4; i <= NF; ++i) printf "%s%s", $i, (i < NF ? " " : "") }' "$work/stdout")
  echo "$test $alloc $((total)) $notes" >>"$work/results"
done < <("$instr" --list | grep -E -- "^($only)[^ ]* " 2>/dev/null || true)

if [ ! -s "$work/results" ]; then
  echo "instructions.sh: no case matches VMH_INSTR_CASES='$only'" >&2
  exit 2
fi

[ "$real" = yes ] || echo "The real Zephyr heap is not built (configure with -DVMH_ZEPHYR_BASE=..., scripts/third-party.sh): ratios are to the sys_heap model."
awk -v steps="$steps" -v warmup="$warmup" -v real="$real" -v fidelity="$fidelity" -v target="$(uname -m)" \
    -v compiler="$($(awk -F= '/^CMAKE_CXX_COMPILER:/ { print $2 }' "$cache" 2>/dev/null || echo c++) --version 2>/dev/null | head -1)" \
    -v buildtype="$(awk -F= '/^CMAKE_BUILD_TYPE:/ { t = toupper($2) } { v[$1] = $2 } END { print v["CMAKE_CXX_FLAGS_" t ":STRING"] }' "$cache" 2>/dev/null)" '
  {
    test[NR] = $1; alloc[NR] = $2; ir[NR] = $3 / steps
    notes = ""; for (i = 4; i <= NF; ++i) notes = notes (i > 4 ? " " : "") $i
    note[NR] = notes
    if ($2 == "none") own[$1] = $3 / steps
  }
  END {
    ref = real == "yes" ? "zephyr_sys_heap" : "sys_heap"
    printf "Instructions per step on %s, %s `%s` (callgrind Ir of the %d measured steps\n", target, compiler, buildtype, steps
    printf "after %d warm-up steps; net = the allocator'"'"'s count minus the case'"'"'s own work, the same case run on no\n", warmup
    printf "allocator). zephyr_sys_heap rows are Zephyr'"'"'s heap.c built with the same flags, sof_vmh_real rows SOF'"'"'s\n"
    printf "regions_mm.c over a page-table stand-in (the TLB driver'"'"'s work left out); sys_heap and sof_vmh rows are models.\n\n"
    printf "| case | allocator | net instructions / step | case'"'"'s own work | net ratio to %s | notes |\n", ref
    print "|---|---|---:|---:|---:|---|"
    for (r = 1; r <= NR; ++r) net[r] = ir[r] - own[test[r]]
    for (r = 1; r <= NR; ++r) if (alloc[r] == ref) base[test[r]] = net[r]
    for (r = 1; r <= NR; ++r) net_of[test[r] " " alloc[r]] = net[r]
    for (r = 1; r <= NR; ++r) {
      if (alloc[r] == "none") continue
      ratio = (test[r] in base && base[test[r]] > 0) ? sprintf("%.2f", net[r] / base[test[r]]) : "-"
      printf "| %s | %s | %.1f | %.1f | %s | %s |\n", test[r], alloc[r], net[r], own[test[r]], ratio, note[r]
    }
    if (fidelity != 1) exit 0
    print "\nModel against real code, same case (within 10% required):\n"
    print "| case | model | model / real |"
    print "|---|---|---:|"
    bad = 0
    for (r = 1; r <= NR; ++r) {
      if (alloc[r] == "sys_heap" || alloc[r] == "sys_heap_stats") key = test[r] " zephyr_" alloc[r]
      else if (alloc[r] == "sof_vmh") key = test[r] " sof_vmh_real"
      else continue
      if (!(key in net_of) || net_of[key] <= 0) continue
      q = net[r] / net_of[key]
      off = q < 0.9 || q > 1.1
      bad += off
      printf "| %s | %s | %.3f%s |\n", test[r], alloc[r], q, off ? " (more than 10% off)" : ""
    }
    exit bad > 0 ? 1 : 0
  }' "$work/results"
