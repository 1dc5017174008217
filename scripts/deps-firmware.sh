#!/usr/bin/env bash
# Installs what the firmware checks need, from Debian 12 packages, only those missing: the
# arm-none-eabi cross compiler with newlib's C++ headers (preset cortex-m4, scripts/code-size.sh)
# and QEMU for the Cortex-M4 self-test (scripts/firmware-selftest.sh).
set -euo pipefail
packages=(gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib libnewlib-arm-none-eabi qemu-system-arm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
