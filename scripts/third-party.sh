#!/usr/bin/env bash
# Unpacks the third-party archives (Zephyr and SOF subsets, cmsis) into a scratch folder outside
# the repository and prints, as shell assignments, where the trees are:
#
#   eval "$(scripts/third-party.sh)"      then cmake picks VMH_ZEPHYR_BASE and VMH_SOF_BASE up
#
#   scripts/third-party.sh [--from DIR] [--to DIR]
#
#   --from DIR   where the *.tar.xz archives are (default: $VMH_THIRD_PARTY_ARCHIVES, else the
#                first of ../shared/third_party and ../../shared/third_party next to the
#                repository that exists)
#   --to DIR     the scratch folder (default: $VMH_THIRD_PARTY_DIR, else
#                ${TMPDIR:-/tmp}/vmh-third-party); a folder unpacked from the same archives
#                before is used as it is
#   -h, --help   this text
#
# Output (stdout): `export VMH_ZEPHYR_BASE=...` and `export VMH_SOF_BASE=...`, quoted for the
# shell. The sources are only read from there: the project never copies them into the
# repository. Exit status: 0 on success, 2 on a bad option or when the archives or the trees in
# them are missing, 1 when tar fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
from=${VMH_THIRD_PARTY_ARCHIVES:-}
to=${VMH_THIRD_PARTY_DIR:-${TMPDIR:-/tmp}/vmh-third-party}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) vmh_usage; exit 0 ;;
    --from|--to)
      [ $# -ge 2 ] && [ -n "$2" ] || vmh_bad_usage "$1 needs a folder"
      if [ "$1" = --from ]; then from=$2; else to=$2; fi
      shift 2 ;;
    *) vmh_bad_usage "unknown argument '$1'" ;;
  esac
done

if [ -z "$from" ]; then
  for candidate in "$root/../shared/third_party" "$root/../../shared/third_party"; do
    if [ -d "$candidate" ]; then from=$candidate; break; fi
  done
fi
if [ -z "$from" ] || ! compgen -G "$from/*.tar.xz" >/dev/null; then
  echo "third-party.sh: no *.tar.xz archives in '${from:-../shared/third_party}' (give --from DIR)" >&2
  exit 2
fi
from=$(cd "$from" && pwd)
case "$to" in /*) ;; *) to=$PWD/$to ;; esac
case "$to/" in
  "$root"/*) echo "third-party.sh: --to '$to' is inside the repository; the sources stay outside it" >&2; exit 2 ;;
esac

# The archives' names and sizes identify an unpacked folder: unpack again only when they change.
stamp=$(cd "$from" && ls -l -- *.tar.xz | awk '{ print $5, $NF }')
if [ ! -f "$to/.unpacked" ] || [ "$(cat "$to/.unpacked")" != "$stamp" ]; then
  rm -rf "$to"
  mkdir -p "$to"
  for archive in "$from"/*.tar.xz; do
    if ! tar -xJf "$archive" -C "$to"; then
      echo "third-party.sh: tar failed on $archive" >&2
      exit 1
    fi
  done
  printf '%s\n' "$stamp" >"$to/.unpacked"
fi

for tree in "zephyr/lib/heap/heap.c" "sof/zephyr/lib/regions_mm.c"; do
  if [ ! -f "$to/$tree" ]; then
    echo "third-party.sh: $to/$tree is missing (the archives in $from hold no such tree)" >&2
    exit 2
  fi
done
printf 'export VMH_ZEPHYR_BASE=%q\n' "$to/zephyr"
printf 'export VMH_SOF_BASE=%q\n' "$to/sof"
