#!/usr/bin/env bash
# Installs what the firmware checks need: the same as scripts/deps.sh --firmware.
#
#   scripts/deps-firmware.sh [--verbose]
#
# Options are those of scripts/deps.sh (see scripts/deps.sh --help).
set -euo pipefail
source "$(dirname "$0")/common.sh"
for arg in "$@"; do
  case "$arg" in
    -h|--help) vmh_usage; exit 0 ;;
  esac
done
exec "$(dirname "$0")/deps.sh" --firmware "$@"
