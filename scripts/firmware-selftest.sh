#!/usr/bin/env bash
# Builds the freestanding Cortex-M4 self-test (preset cortex-m4, firmware/) and runs it under
# QEMU's mps2-an386 board with semihosting; the test prints its checks and ends the emulation
# with its result.
#
#   scripts/firmware-selftest.sh [BUILD_DIR]       BUILD_DIR defaults to build-cortex-m4
#   scripts/firmware-selftest.sh --help            this text
#
# Exit status: 0 when every check passed, 1 on a failed check, a crash, a build error or a
# time-out (60 s), 77 when arm-none-eabi-g++ or qemu-system-arm is missing
# (Debian: scripts/deps-firmware.sh), 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
build=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) vmh_usage; exit 0 ;;
    -*) vmh_bad_usage "unknown option '$arg'" ;;
    *) [ -z "$build" ] || vmh_bad_usage "one BUILD_DIR only, got '$build' and '$arg'"; build=$arg ;;
  esac
done
build=${build:-$root/build-cortex-m4}

for tool in arm-none-eabi-g++ qemu-system-arm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "firmware-selftest.sh: $tool not found (Debian: scripts/deps-firmware.sh)" >&2
    exit 77
  fi
done

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" --preset cortex-m4 -B "$build"
fi
cmake --build "$build" -j 2
image="$build/firmware/vmh-selftest.elf"
arm-none-eabi-size "$image"

status=0
timeout 60 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$image" || status=$?
if [ "$status" -eq 124 ]; then
  echo "firmware-selftest.sh: the self-test did not finish within 60 s" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "firmware-selftest.sh: the self-test failed (QEMU exit status $status)" >&2
  exit 1
fi
