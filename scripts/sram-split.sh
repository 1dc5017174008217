#!/usr/bin/env bash
# Where the SRAM goes: vmh's and sys_heap's SRAM split on every public family and budget, as two
# Markdown tables with one row per workload and moment (the peak of mapped memory, and the first
# failed request). Each row is a row of `vmh-sim compare --memory` (means over the seeds; at the
# first failure over the seeds that failed), in KiB, and adds up to the budget.
#
#   scripts/sram-split.sh [BUILD_DIR]        BUILD_DIR defaults to $VMH_BUILD_DIR, then ./build
#
# Seeds as in the README: sof and stress 1-10, churn 1-5. vmh runs its defaults (auto layout,
# default range policy, metadata charged). Exit status: 0 on success, 2 for a bad argument or a
# missing vmh-sim, 1 if a replay fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/common.sh"

build=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) vmh_usage; exit 0 ;;
    -*) vmh_bad_usage "unknown option '$arg'" ;;
    *)
      if [ -n "$build" ]; then vmh_bad_usage "one BUILD_DIR only, not also '$arg'"; fi
      build=$arg ;;
  esac
done
build=${build:-${VMH_BUILD_DIR:-$root/build}}
sim=$build/bench/vmh-sim
[ -x "$sim" ] || vmh_bad_usage "$sim not found: build the vmh-sim target first"

# name | vmh-sim compare options
workloads=(
  "sof 448K|--family sof --physical 448K --seeds 1-10"
  "stress 95% 64K|--family stress --physical 64K --seeds 1-10 --target 95"
  "sof 320K|--family sof --physical 320K --seeds 1-10"
  "sof 640K|--family sof --physical 640K --seeds 1-10"
  "sof 1M|--family sof --physical 1M --seeds 1-10"
  "churn 128K|--family churn --physical 128K --seeds 1-5"
  "churn 256K|--family churn --physical 256K --seeds 1-5"
  "stress 50% 64K|--family stress --physical 64K --seeds 1-10 --target 50"
  "stress 50% 256K|--family stress --physical 256K --seeds 1-10 --target 50"
  "stress 95% 256K|--family stress --physical 256K --seeds 1-10 --target 95"
)

# rows ALLOCATOR WORKLOAD: the split rows of ALLOCATOR in the compare output on stdin (allocator |
# moment | components...), with the workload's name in place of the allocator's.
rows() {
  awk -F'|' -v OFS='|' -v who="$1" -v name="$2" '
    $2 == " " who " " && $3 ~ /^ (peak|first failure) / { $2 = " " name " "; print }'
}

vmh_rows="" sys_rows=""
for w in "${workloads[@]}"; do
  name=${w%%|*}
  read -r -a opts <<<"${w#*|}"
  out=$("$sim" compare "${opts[@]}" --memory --models) || exit 1
  for who in "vmh (auto layout)" "sys_heap + SOF loop (model)"; do
    got=$(rows "$who" "$name" <<<"$out")
    # A renamed row would leave its table silently empty: stop instead.
    [ -n "$got" ] || { echo "sram-split.sh: no '$who' rows in compare's output for $name" >&2; exit 1; }
    if [ "$who" = "vmh (auto layout)" ]; then vmh_rows+=$got$'\n'; else sys_rows+=$got$'\n'; fi
  done
done

echo "vmh (auto layout, default policy):"
echo
echo "| workload | moment (seeds) | live requested | sub-page block rounding | free in mapped pages | last-page rounding | metadata + page rounding | unmapped | budget |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$vmh_rows" | sed '/^$/d'
echo
echo "sys_heap + SOF's loop:"
echo
echo "| workload | moment (seeds) | live requested | per-allocation overhead (headers, units, alignment gaps) | free chunks | metadata (chunk 0, end marker) | budget |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s' "$sys_rows" | sed '/^$/d'
