#!/usr/bin/env bash
# Builds vmh's Zephyr module against a real Zephyr tree and runs it: the ztest suite
# (zephyr/tests/heap) and the C and C++ samples (zephyr/samples) on native_sim/native/64 (the
# host's gcc) and on qemu_cortex_m3 (Debian's arm-none-eabi with picolibc, under QEMU), then
# builds three configurations that must fail with their messages (bad CONFIG_VMH_HEAP values).
# First it checks every sample.yaml and testcase.yaml against the tree's twister schema. The C
# sample records a trace of its heap (CONFIG_VMH_HEAP_TRACE) and prints it: on native_sim the
# lines are taken from its output and replayed with `vmh-sim compare --trace` (when vmh-sim is
# built), and the heap's shell command (`vmh trace`) is compiled with CONFIG_SHELL.
#
#   scripts/zephyr-check.sh [--zephyr DIR] [--modules DIR] [--work DIR] [--board B] [--vmh-sim PATH]
#
#   --zephyr DIR   a Zephyr tree (ZEPHYR_BASE), e.g. the zephyr folder of a west workspace.
#                  Default: the Zephyr archive of VMH_THIRD_PARTY (../shared/third_party beside
#                  the repository), unpacked into the work folder.
#   --modules DIR  the cmsis module's folder (Cortex-M builds need it). Default: DIR/../modules/
#                  hal/cmsis of a west workspace, else the cmsis archive of VMH_THIRD_PARTY.
#   --work DIR     where the trees are unpacked and the builds go (kept). Default: a scratch
#                  folder, removed at the end.
#   --board B      only this board (native_sim/native/64 or qemu_cortex_m3; repeatable).
#   --vmh-sim PATH the host tool that replays the C sample's trace. Default: build/bench/vmh-sim
#                  of the repository when it exists; without it that step is skipped (one line).
#
# Prints one line per build and run with its time; a failure also prints the end of its log.
# Exit status: 0 when every check passed, 1 when one failed, 2 on a bad argument or when there
# is no Zephyr tree (one line), 77 when a tool a board needs is missing (Debian: scripts/deps.sh
# --zephyr).
set -euo pipefail
source "$(dirname "$0")/common.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
zephyr=""
modules=""
work=""
boards=()
vmh_sim=""
need_value() { [ "$2" -ge 2 ] || vmh_bad_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) vmh_usage; exit 0 ;;
    --zephyr) need_value "$1" $#; zephyr=$2; shift ;;
    --modules) need_value "$1" $#; modules=$2; shift ;;
    --work) need_value "$1" $#; work=$2; shift ;;
    --board) need_value "$1" $#; boards+=("$2"); shift ;;
    --vmh-sim) need_value "$1" $#; vmh_sim=$2; shift ;;
    *) vmh_bad_usage "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$vmh_sim" ] || vmh_sim=$root/build/bench/vmh-sim
[ ${#boards[@]} -gt 0 ] || boards=(native_sim/native/64 qemu_cortex_m3)
for b in "${boards[@]}"; do
  case "$b" in
    native_sim/native/64|qemu_cortex_m3) ;;
    *) vmh_bad_usage "unknown board '$b' (native_sim/native/64 or qemu_cortex_m3)" ;;
  esac
done

# Tools: cmake, ninja, dtc and Python with Zephyr's packages; per board its compiler and QEMU.
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3 || true)
needed=(cmake ninja dtc)
for b in "${boards[@]}"; do
  case "$b" in
    native_sim/*) needed+=(gcc g++) ;;
    qemu_cortex_m3) needed+=(arm-none-eabi-gcc qemu-system-arm) ;;
  esac
done
for tool in "${needed[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "zephyr-check.sh: $tool not found (Debian: scripts/deps.sh --zephyr)" >&2
    exit 77
  fi
done
if [ -z "$python" ] || ! "$python" -c 'import yaml, elftools, pykwalify.core, jsonschema, packaging' 2>/dev/null; then
  echo "zephyr-check.sh: Python 3 with yaml, elftools, pykwalify, jsonschema and packaging not found (Debian: scripts/deps.sh --zephyr)" >&2
  exit 77
fi

# The work folder and the trees.
scratch=""
if [ -z "$work" ]; then
  scratch=$(mktemp -d)
  work=$scratch
  trap 'rm -rf "$scratch"' EXIT
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
if [ -n "$zephyr" ]; then
  if [ ! -f "$zephyr/VERSION" ] || [ ! -d "$zephyr/cmake" ]; then
    echo "zephyr-check.sh: --zephyr $zephyr is not a Zephyr tree (no VERSION or cmake/)" >&2
    exit 2
  fi
  zephyr=$(cd "$zephyr" && pwd)
  [ -n "$modules" ] || { [ -d "$zephyr/../modules/hal/cmsis" ] && modules=$(cd "$zephyr/../modules/hal/cmsis" && pwd); } || true
else
  if [ ! -f "$work/zephyr/VERSION" ] && ! vmh_unpack_third_party zephyr "$work" >/dev/null; then
    echo "zephyr-check.sh: no Zephyr tree: give --zephyr DIR (a west workspace's zephyr folder) or put zephyr-*.tar.xz in ${VMH_THIRD_PARTY:-../shared/third_party}" >&2
    exit 2
  fi
  zephyr=$work/zephyr
fi
if [ -z "$modules" ] && [[ " ${boards[*]} " == *" qemu_cortex_m3 "* ]]; then
  if [ -f "$work/cmsis/CMakeLists.txt" ] || vmh_unpack_third_party cmsis "$work" >/dev/null; then
    modules=$work/cmsis
  fi
fi

# The picolibc of Debian's arm-none-eabi (its newlib lacks the retargetable locking Zephyr needs).
printf 'CONFIG_PICOLIBC=y\nCONFIG_PICOLIBC_USE_TOOLCHAIN=y\n' >"$work/debian-picolibc.conf"

failures=0
# result NAME SECONDS STATUS LOG: one line; the end of the log on failure (a status that starts
# with "skipped" is none).
result() {
  printf '%-58s %5ss  %s\n' "$1" "$2" "$3"
  if [ "$3" != ok ] && [[ "$3" != skipped* ]]; then
    failures=$((failures + 1))
    [ -f "$4" ] && tail -n 25 "$4" | sed 's/^/    /'
  fi
}

# configure_args BOARD: the cmake arguments of a board.
configure_args() {
  local args=(-G Ninja -DBOARD="$1" -DPython3_EXECUTABLE="$python" -DUSER_CACHE_DIR="$work/cache")
  case "$1" in
    native_sim/*) args+=(-DZEPHYR_TOOLCHAIN_VARIANT=host -DZEPHYR_MODULES="$root") ;;
    qemu_cortex_m3)
      args+=(-DZEPHYR_TOOLCHAIN_VARIANT=cross-compile -DCROSS_COMPILE="$(dirname "$(command -v arm-none-eabi-gcc)")/arm-none-eabi-"
             -DSYSROOT_DIR=/usr/lib/arm-none-eabi -DTOOLCHAIN_HAS_PICOLIBC=ON -DEXTRA_CONF_FILE="$work/debian-picolibc.conf"
             -DZEPHYR_MODULES="$root;$modules") ;;
  esac
  printf '%s\n' "${args[@]}"
}

# build APP BOARD DIR [EXTRA CMAKE ARGS...]: configures and builds (only the target
# $build_target when it is set); returns the build's status.
build() {
  local app=$1 board=$2 dir=$3
  shift 3
  local args
  mapfile -t args < <(configure_args "$board")
  rm -rf "$dir"
  ZEPHYR_BASE=$zephyr cmake -S "$root/zephyr/$app" -B "$dir" "${args[@]}" "$@" >"$dir.log" 2>&1 &&
    ninja -C "$dir" ${build_target:-} >>"$dir.log" 2>&1
}
build_target=""

# run BOARD DIR PASS_PATTERN: runs the image until it prints PASS_PATTERN (0) or a failure line,
# ends, or 120 s pass (1). QEMU never ends by itself: it is stopped once the answer is printed.
run() {
  local board=$1 dir=$2 pass=$3 fail='PROJECT EXECUTION FAILED|FAILED|Assertion failed|FATAL ERROR'
  local log=$dir.run.log pid
  : >"$log"
  case "$board" in
    native_sim/*) "$dir/zephyr/zephyr.exe" --stop_at=60 >"$log" 2>&1 & ;;
    qemu_cortex_m3) qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic -monitor none -serial stdio \
                      -kernel "$dir/zephyr/zephyr.elf" </dev/null >"$log" 2>&1 & ;;
  esac
  pid=$!
  local status=1 tries
  for ((tries = 0; tries < 1200; tries++)); do
    if grep -qE "$pass" "$log"; then status=0; break; fi
    if grep -qE "$fail" "$log" || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  # A last look: the image may have printed its answer just before it ended.
  if [ "$status" -ne 0 ] && grep -qE "$pass" "$log" && ! grep -qE "$fail" "$log"; then status=0; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$status"
}

# replay_trace DIR: the trace the C sample printed in DIR's run log, between its marker lines,
# replayed by vmh-sim compare --trace with the sample's physical memory (its .config).
replay_trace() {
  local dir=$1 start=$SECONDS trace=$1.trace log=$1.compare.log physical
  if [ ! -x "$vmh_sim" ]; then
    result "$board: replay samples/heap's trace" 0 "skipped: no $vmh_sim (build it, or --vmh-sim PATH)" ""
    return
  fi
  tr -d '\r' <"$dir.run.log" | sed -n '/^--- vmh trace begin ---$/,/^--- vmh trace end ---$/p' | sed '1d;$d' >"$trace"
  physical=$(sed -n 's/^CONFIG_VMH_HEAP_PHYSICAL_SIZE=//p' "$dir/zephyr/.config")
  if [ -s "$trace" ] && [ -n "$physical" ] &&
    "$vmh_sim" compare --trace "$trace" --physical "$physical" >"$log" 2>&1; then
    result "$board: replay samples/heap's trace ($(grep -vc '^#' "$trace") lines)" $((SECONDS - start)) ok ""
  else
    { echo "trace ($trace):"; cat "$trace"; } >>"$log"
    result "$board: replay samples/heap's trace" $((SECONDS - start)) FAILED "$log"
  fi
}

# twister's own schema (scripts/schemas/twister) accepts every sample.yaml and testcase.yaml.
check_twister_yaml() {
  local f start=$SECONDS log=$work/build/twister-yaml.log
  for f in "$root"/zephyr/samples/*/sample.yaml "$root"/zephyr/tests/*/testcase.yaml; do
    if ! "$python" - "$f" "$zephyr" >>"$log" 2>&1 <<'PY'
import sys
sys.path.insert(0, sys.argv[2] + "/scripts/pylib/twister")
import scl
scl.yaml_load_verify(sys.argv[1], scl.yaml_load(sys.argv[2] + "/scripts/schemas/twister/testsuite-schema.yaml"))
PY
    then
      result "twister schema: ${f#"$root"/}" $((SECONDS - start)) FAILED "$log"
      return
    fi
  done
  result "twister schema: every sample.yaml and testcase.yaml" $((SECONDS - start)) ok ""
}

echo "zephyr-check.sh: Zephyr $(sed -n 's/^VERSION_MAJOR = //p; s/^VERSION_MINOR = //p; s/^PATCHLEVEL = //p' "$zephyr/VERSION" | paste -sd. -) at $zephyr"
mkdir -p "$work/build"
check_twister_yaml
for board in "${boards[@]}"; do
  tag=${board//\//_}
  if [ "$board" = qemu_cortex_m3 ] && [ ! -f "$modules/CMakeLists.txt" ]; then
    result "$board: the cmsis module" 0 "missing: give --modules DIR (the cmsis module's folder)" ""
    continue
  fi
  for app in tests/heap:'PROJECT EXECUTION SUCCESSFUL' samples/heap:'vmh sample: ok' samples/heap_cpp:'vmh sample: ok'; do
    name=${app%%:*}
    dir=$work/build/${name//\//_}-$tag
    start=$SECONDS
    if ! build "$name" "$board" "$dir"; then
      result "$board: build $name" $((SECONDS - start)) FAILED "$dir.log"
      continue
    fi
    result "$board: build $name" $((SECONDS - start)) ok ""
    start=$SECONDS
    if run "$board" "$dir" "${app#*:}"; then
      result "$board: run $name" $((SECONDS - start)) ok ""
      if [ "$name" = samples/heap ] && [[ "$board" == native_sim/* ]]; then replay_trace "$dir"; fi
    else
      result "$board: run $name" $((SECONDS - start)) FAILED "$dir.run.log"
    fi
  done
done

# The heap's shell command (zephyr/src/heap_shell.c, CONFIG_VMH_HEAP_TRACE with CONFIG_SHELL)
# compiles: the module's library of the C sample with the shell on. The Zephyr archive of
# VMH_THIRD_PARTY is a subset without the shell's sources: then the step says it is skipped.
board=${boards[0]}
dir=$work/build/shell-${board//\//_}
start=$SECONDS
if [ ! -f "$zephyr/subsys/shell/shell.c" ]; then
  result "$board: build the heap's shell command (vmh trace)" 0 "skipped: the Zephyr tree has no shell sources" ""
elif build_target=vmh_heap build samples/heap "$board" "$dir" -DCONFIG_SHELL=y; then
  result "$board: build the heap's shell command (vmh trace)" $((SECONDS - start)) ok ""
else
  result "$board: build the heap's shell command (vmh trace)" $((SECONDS - start)) FAILED "$dir.log"
fi

# Bad CONFIG_VMH_HEAP values stop the build with a message that names them (one board is enough:
# the checks are the module's, not the board's).
board=${boards[0]}
build_target=vmh_heap  # the module's library: where the checks are
expect_failure() {
  local key=$1 name=$2 pattern=$3 dir=$work/build/bad-$1 start=$SECONDS
  shift 3
  if build samples/heap "$board" "$dir" "$@"; then
    result "$board: rejects $name" $((SECONDS - start)) "FAILED (it built)" "$dir.log"
  elif grep -qE "$pattern" "$dir.log"; then
    result "$board: rejects $name" $((SECONDS - start)) ok ""
  else
    result "$board: rejects $name" $((SECONDS - start)) "FAILED (not the expected message: $pattern)" "$dir.log"
  fi
}
printf '64 64\n1M 1\n' >"$work/too-large.layout"
printf '64 16\n4K 1\n' >"$work/misaligned.layout"  # the 4 KiB block would start 1 KiB into a page
expect_failure page "a page size that is not a power of two" "CONFIG_VMH_HEAP_PAGE_SIZE=3000 is not a power of two" \
  -DCONFIG_VMH_HEAP_PAGE_SIZE=3000
# (a string option takes its quotes on the command line)
expect_failure layout "a layout file larger than the window" \
  "CONFIG_VMH_HEAP_LAYOUT_FILE: the layout's virtual range is larger than the window" \
  -DCONFIG_VMH_HEAP_LAYOUT_FILE=\"$work/too-large.layout\"
expect_failure rule "a layout file that breaks a layout rule" \
  "CONFIG_VMH_HEAP_LAYOUT_FILE breaks a layout rule" \
  -DCONFIG_VMH_HEAP_LAYOUT_FILE=\"$work/misaligned.layout\"

if [ "$failures" -ne 0 ]; then
  echo "zephyr-check.sh: $failures check(s) failed (logs in $work/build$([ -n "$scratch" ] && echo ', removed at exit; keep them with --work DIR'))" >&2
  exit 1
fi
echo "zephyr-check.sh: every check passed"
