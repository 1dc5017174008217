#!/usr/bin/env bash
# Counts instructions per step of every vmh-instr case under callgrind and prints a Markdown
# table: case, allocator, instructions per step, and the ratio to the sys_heap model's count
# for the same case in this run.
#
#   scripts/instructions.sh [BUILD_DIR]        BUILD_DIR defaults to $VMH_BUILD_DIR, then ./build
#
# Environment: VMH_INSTR (path of vmh-instr, overrides BUILD_DIR), VMH_INSTR_STEPS (default
# 20000), VMH_INSTR_WARMUP (default 2000). Only the steps inside measure_steps<> are counted:
# the heap's setup, the warm-up and the teardown are not. A step is one iteration of the case:
# an allocation and its free, a range request and its free, or a grow and a shrink.
# Exit status: 0 on success, 2 if valgrind or vmh-instr is missing, 1 if a case fails.
set -euo pipefail

build=${1:-${VMH_BUILD_DIR:-build}}
instr=${VMH_INSTR:-$build/bench/vmh-instr}
steps=${VMH_INSTR_STEPS:-20000}
warmup=${VMH_INSTR_WARMUP:-2000}

if ! command -v valgrind >/dev/null 2>&1; then
  echo "instructions.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 2
fi
if [ ! -x "$instr" ]; then
  echo "instructions.sh: $instr not found; build the vmh-instr target first or set VMH_INSTR" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One line per case: test allocator instructions_per_step notes
: >"$work/results"
while read -r test alloc; do
  out="$work/callgrind.out"
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*measure_steps*' \
      "$instr" "$test" "$alloc" "$steps" "$warmup" >"$work/stdout" 2>"$work/stderr"; then
    echo "instructions.sh: $test $alloc failed:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  total=$(awk '/^(summary|totals):/ { print $2; exit }' "$out")
  if [ -z "$total" ] || [ "$total" -eq 0 ]; then
    echo "instructions.sh: $test $alloc: no instructions collected (measure_steps not found by callgrind)" >&2
    exit 1
  fi
  # The driver's line: "<test> <alloc> steps=N fail=F [k=v ...]"; keep everything after steps=.
  notes=$(awk '{ for (i = 4; i <= NF; ++i) printf "%s%s", $i, (i < NF ? " " : "") }' "$work/stdout")
  echo "$test $alloc $((total)) $notes" >>"$work/results"
done < <("$instr" --list)

awk -v steps="$steps" -v warmup="$warmup" '
  {
    test[NR] = $1; alloc[NR] = $2; ir[NR] = $3 / steps
    notes = ""; for (i = 4; i <= NF; ++i) notes = notes (i > 4 ? " " : "") $i
    note[NR] = notes
    if ($2 == "sys_heap") base[$1] = $3 / steps
  }
  END {
    printf "Instructions per step (callgrind Ir, %d steps after %d warm-up steps)\n\n", steps, warmup
    print "| case | allocator | instructions / step | ratio to sys_heap | notes |"
    print "|---|---|---:|---:|---|"
    for (r = 1; r <= NR; ++r) {
      ratio = (test[r] in base && base[test[r]] > 0) ? sprintf("%.2f", ir[r] / base[test[r]]) : "-"
      printf "| %s | %s | %.1f | %s | %s |\n", test[r], alloc[r], ir[r], ratio, note[r]
    }
  }' "$work/results"
