#!/usr/bin/env bash
# Installs the build dependencies of vmh from Debian 12 packages, only those missing.
#   scripts/deps.sh              host build: compilers, CMake, Catch2, fmt, Google Benchmark, valgrind
#   scripts/deps.sh --firmware   also the Cortex-M cross compiler and QEMU (firmware checks)
#   scripts/deps.sh --fuzz       also clang's sanitizer and libFuzzer runtimes and lcov
set -euo pipefail
packages=(cmake g++ make catch2 libfmt-dev libbenchmark-dev valgrind)
for extra in "$@"; do
  case "$extra" in
    --firmware) packages+=(gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib libnewlib-arm-none-eabi qemu-system-arm) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev lcov) ;;
    *) echo "deps.sh: unknown option $extra" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
