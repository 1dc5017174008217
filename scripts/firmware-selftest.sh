#!/usr/bin/env bash
# Builds the freestanding self-test of firmware/ for a target and runs it under QEMU with
# semihosting; the test prints its checks and ends the emulation with its result.
#
#   scripts/firmware-selftest.sh [--target T] [--no-build] [BUILD_DIR]
#   scripts/firmware-selftest.sh --help            this text
#
#   --target cortex-m4      (default) preset cortex-m4, QEMU's mps2-an386 board (Cortex-M4)
#   --target xtensa-lx106   preset xtensa-lx106, QEMU's Xtensa sim machine with an lx106 core
#   --no-build              run the image BUILD_DIR already holds (the preset's own test step)
#   BUILD_DIR               defaults to build-<target>, configured with the target's preset
#                           if it is not yet
#
# Exit status: 0 when every check passed, 1 on a failed check, a crash, a build error or a
# time-out (60 s), 77 when the target's cross compiler or QEMU is missing
# (Debian: scripts/deps.sh --firmware or --xtensa), 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
build=""
target=cortex-m4
build_it=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) vmh_usage; exit 0 ;;
    --target)
      [ $# -ge 2 ] || vmh_bad_usage "--target needs a value (cortex-m4 or xtensa-lx106)"
      target=$2; shift ;;
    --target=*) target=${1#--target=} ;;
    --no-build) build_it=0 ;;
    -*) vmh_bad_usage "unknown option '$1'" ;;
    *) [ -z "$build" ] || vmh_bad_usage "one BUILD_DIR only, got '$build' and '$1'"; build=$1 ;;
  esac
  shift
done

case "$target" in
  cortex-m4)
    tools=(arm-none-eabi-g++ arm-none-eabi-size qemu-system-arm); deps="--firmware"
    qemu=(qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none
          -semihosting-config enable=on,target=native) ;;
  xtensa-lx106)
    tools=(xtensa-lx106-elf-g++ xtensa-lx106-elf-size qemu-system-xtensa); deps="--xtensa"
    # The sim machine starts at its system ROM (0x50000000), where the image's reset stub lies.
    qemu=(qemu-system-xtensa -M sim -cpu lx106 -nographic -monitor none -semihosting) ;;
  *) vmh_bad_usage "unknown target '$target' (cortex-m4 or xtensa-lx106)" ;;
esac
build=${build:-$root/build-$target}

for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "firmware-selftest.sh: $tool not found (Debian: scripts/deps.sh $deps)" >&2
    exit 77
  fi
done

if [ "$build_it" -eq 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" --preset "$target" -B "$build"
  fi
  cmake --build "$build" --target vmh-selftest -j 2
fi
image="$build/firmware/vmh-selftest.elf"
if [ ! -f "$image" ]; then
  echo "firmware-selftest.sh: no self-test image at $image (build it, or drop --no-build)" >&2
  exit 1
fi
"${tools[1]}" "$image"

status=0
timeout 60 "${qemu[@]}" -kernel "$image" || status=$?
if [ "$status" -eq 124 ]; then
  echo "firmware-selftest.sh: the self-test did not finish within 60 s" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "firmware-selftest.sh: the self-test failed (QEMU exit status $status)" >&2
  exit 1
fi
