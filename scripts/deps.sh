#!/usr/bin/env bash
# Installs the build dependencies of vmh from Debian 12 packages, only those missing.
#
#   scripts/deps.sh [--firmware] [--xtensa] [--zephyr] [--fuzz] [--docs] [--real] [--verbose]
#
#   (no option)  host build: cmake, g++, make, Catch2, fmt, Google Benchmark, valgrind
#   --firmware   also the Cortex-M cross compiler, its C++ library and QEMU (firmware checks)
#   --xtensa     also the Xtensa lx106 cross compiler and QEMU's Xtensa machines (preset
#                xtensa-lx106; the host's libstdc++ headers it uses come with g++)
#   --zephyr     also what scripts/zephyr-check.sh needs to build Zephyr: ninja, dtc, Python's
#                yaml, elftools, pykwalify, jsonschema, packaging, and for qemu_cortex_m3 the
#                Cortex-M compiler with picolibc and QEMU
#   --fuzz       also clang, its sanitizer and libFuzzer runtimes, and lcov (coverage)
#   --docs       also Doxygen (the `docs` target: the API reference)
#   --real       also g++-multilib: the real Zephyr and SOF allocators replayed as the 32-bit code
#                the DSP runs (VMH_ZEPHYR_BASE, VMH_SOF_BASE; scripts/third-party.sh)
#   --verbose    show apt-get's output (by default it goes to a log, shown only on failure)
#   -h, --help   this text
#
# Runs apt-get directly as root and through sudo otherwise. Without root and without sudo it
# names the missing packages and the command to run as root instead.
# Exit status: 0 when everything asked for is installed, 2 on a bad option or when it cannot
# install (no root, no sudo), 1 when apt-get fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"

packages=(cmake g++ make catch2 libfmt-dev libbenchmark-dev valgrind)
verbose=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) vmh_usage; exit 0 ;;
    --firmware) packages+=(gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib libnewlib-arm-none-eabi qemu-system-arm) ;;
    --xtensa) packages+=(gcc-xtensa-lx106 binutils-xtensa-lx106 qemu-system-misc) ;;
    --zephyr) packages+=(ninja-build device-tree-compiler python3 python3-yaml python3-pyelftools python3-pykwalify
                         python3-ruamel.yaml python3-jsonschema python3-packaging python3-dateutil
                         gcc-arm-none-eabi picolibc-arm-none-eabi libstdc++-arm-none-eabi-picolibc qemu-system-arm) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev lcov) ;;
    --docs) packages+=(doxygen) ;;
    --real) packages+=(g++-multilib) ;;
    --verbose) verbose=1 ;;
    *) vmh_bad_usage "unknown option '$arg'" ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps.sh: not root and no sudo; as root run: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  sudo=(sudo)
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ "$verbose" -eq 1 ]; then
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "deps.sh: apt-get failed (last 20 lines above)" >&2
  exit 1
fi
