#!/usr/bin/env bash
# Installs what the firmware checks need (see scripts/deps.sh).
exec "$(dirname "$0")/deps.sh" --firmware
