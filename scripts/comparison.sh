#!/usr/bin/env bash
# Prints the README's comparison as a Markdown table: on every public workload family and
# budget, the requests that failed and the range grants' bytes over their preferred bytes, for
# the models of Zephyr's sys_heap with SOF's range loop, what SOF runs today (its system heap
# with the VMH behind it) and SOF's planned page runs, and for vmh (auto layout, default policy);
# every allocator's metadata charged against the same SRAM. Means over the seeds; the figures
# come from `vmh-sim compare --json` (docs/vmh-sim.md).
#
#   scripts/comparison.sh [BUILD_DIR]        BUILD_DIR defaults to $VMH_BUILD_DIR, then ./build
#
# The rows and seeds are those of docs/measurements.md: SOF pipelines at 320 KiB to 1 MiB (seeds
# 1-10), the range churn at 128 and 256 KiB (seeds 1-5), the random stress at 64 and 256 KiB with
# 50% and 95% fill targets (seeds 1-10). Exit status: 0 on success, 2 on a bad argument or a
# missing vmh-sim, 1 if a replay fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"

build=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) vmh_usage; exit 0 ;;
    -*) vmh_bad_usage "unknown option '$arg'" ;;
    *) [ -z "$build" ] || vmh_bad_usage "one BUILD_DIR only, not also '$arg'"; build=$arg ;;
  esac
done
build=${build:-${VMH_BUILD_DIR:-build}}
sim=$build/bench/vmh-sim
[ -x "$sim" ] || vmh_bad_usage "no vmh-sim in $build (build the default preset first)"

echo "| workload | sys_heap + SOF's loop | SOF today | SOF page runs | **vmh** |"
echo "|---|---:|---:|---:|---:|"
row() {  # LABEL, then compare's arguments
  local label=$1; shift
  "$sim" compare "$@" --models --json 2>/dev/null | python3 -c '
import json, sys
rows = {r["allocator"]: r for r in map(json.loads, sys.stdin)}
cells = []
for name in ("sys_heap", "sof_today", "sof_vpage", "vmh"):
    r = rows.get(name)
    cell = "-" if r is None else "%d / %.1f%%" % (r["failed"], 100 * r["granted_ratio"])
    cells.append("**%s**" % cell if name == "vmh" else cell)
print("| %s | %s |" % (sys.argv[1], " | ".join(cells)))
' "$label"
}
for b in 320K 448K 640K 1M; do row "SOF pipelines, $b" --family sof --physical "$b" --seeds 1-10; done
for b in 128K 256K; do row "range churn, $b" --family churn --physical "$b" --seeds 1-5; done
for t in 50 95; do
  for b in 64K 256K; do row "stress $t% fill, $b" --family stress --physical "$b" --seeds 1-10 --target "$t"; done
done
