#!/usr/bin/env bash
# Prints, as Markdown, the flash bytes of vmh's allocate, deallocate, allocate_range and resize
# on a Cortex-M4, the same for the sys_heap model's alloc, free, aligned_alloc and realloc, and
# the RAM metadata of vmh heaps per block and per page.
#
#   scripts/code-size.sh [BUILD_DIR] [--detail]
#   scripts/code-size.sh --target xtensa-lx106 [--zephyr DIR] [BUILD_DIR] [--detail]
#
# BUILD_DIR (default build-cortex-m4) is configured with the cortex-m4 preset if it is not yet,
# then the code-size images are built (firmware/CMakeLists.txt). Each image is linked with
# --gc-sections from one operation's wrapper (or two, for "alloc + free"), so its .text is that
# operation's whole call tree, inlined functions and libgcc routines included, shared code counted
# once. --detail also lists each vmh image's functions (nm --size-sort -S).
#
# --target xtensa-lx106 reports the same vmh operations on Xtensa (preset xtensa-lx106,
# BUILD_DIR default build-xtensa-lx106) beside the real Zephyr heap (lib/heap/heap.c) compiled
# from its sources with the same flags. --zephyr DIR names the Zephyr tree (default: the
# VMH_ZEPHYR_BASE environment variable, else the Zephyr archive in VMH_THIRD_PARTY, default
# ../shared/third_party beside the repository, unpacked into a scratch folder and removed after).
# Exit status: 0 on success, 77 if the target's cross tools are missing, 1 on a build error,
# 2 on a bad argument.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=""
detail=0
target=cortex-m4
zephyr=${VMH_ZEPHYR_BASE:-}
bad() { echo "code-size.sh: $1 (see --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --detail) detail=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
    --target) [ $# -ge 2 ] || bad "--target needs a value (cortex-m4 or xtensa-lx106)"; target=$2; shift ;;
    --target=*) target=${1#--target=} ;;
    --zephyr) [ $# -ge 2 ] || bad "--zephyr needs a directory"; zephyr=$2; shift ;;
    --zephyr=*) zephyr=${1#--zephyr=} ;;
    -*) bad "unknown option '$1'" ;;
    *)
      [ -z "$build" ] || bad "one BUILD_DIR only, not also '$1'"
      build=$1 ;;
  esac
  shift
done
case "$target" in
  cortex-m4) ;;
  xtensa-lx106)
    source "$root/scripts/code-size-xtensa.bash"
    xtensa_report
    exit 0 ;;
  *) bad "unknown target '$target' (cortex-m4 or xtensa-lx106)" ;;
esac
build=${build:-$root/build-cortex-m4}

for tool in arm-none-eabi-g++ arm-none-eabi-size arm-none-eabi-nm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "code-size.sh: $tool not found (Debian: scripts/deps-firmware.sh)" >&2
    exit 77
  fi
done

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" --preset cortex-m4 -B "$build" >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log" >&2
    exit 1
  }
  rm -f "$build.configure.log"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" --target code-size-images -j 2 >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi

fw="$build/firmware"
# section <image> <name>: bytes of one section (0 when absent)
section() {
  arm-none-eabi-size -A "$fw/size-$1.elf" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}
text() { section "$1" .text; }
# Flash of an image: code, constants and unwind index (what a linker puts in flash).
flash() {
  arm-none-eabi-size -A "$fw/size-$1.elf" |
    awk '$1 == ".text" || $1 == ".rodata" || $1 == ".data" || $1 == ".ARM.exidx" || $1 == ".ARM.extab" { n += $2 } END { print n + 0 }'
}

compiler=$(arm-none-eabi-g++ --version | head -1)
echo "### Code size on Cortex-M4"
echo
echo "\`$compiler\`, \`-std=c++20 -Os -mcpu=cortex-m4 -mthumb -ffreestanding -fno-exceptions -fno-rtti"
echo "-ffunction-sections -fdata-sections\`; each row is an image linked with \`--gc-sections\` from that"
echo "operation alone (its whole call tree, libgcc routines included; shared code counted once)."
echo
echo "vmh: SOF's production table as a constant layout (9 buckets, 1 MiB), \`counting_mapper\`,"
echo "\`external_range\`, \`no_lock\`; no C library linked. \`.rodata\` is the layout's derived"
echo "geometry (a constant table in flash)."
echo
echo "| vmh operation | .text | .rodata | .data | flash total |"
echo "| --- | ---: | ---: | ---: | ---: |"
for row in "allocate:allocate(size)" "deallocate:deallocate(ptr)" "allocate-range:allocate_range(min, preferred, align, granule)" \
           "resize:resize(ptr, size)" "allocate+deallocate:allocate + deallocate" "all:all four"; do
  img=vmh-${row%%:*}
  echo "| ${row#*:} | $(text "$img") | $(section "$img" .rodata) | $(section "$img" .data) | $(flash "$img") |"
done
for row in "ram-allocate:allocate, plain RAM (null_mapper)" "ram-deallocate:deallocate, plain RAM (null_mapper)" \
           "ram-allocate+deallocate:allocate + deallocate, plain RAM (null_mapper)" \
           "nostats-allocate+deallocate:allocate + deallocate, no statistics (as sys_heap's default)"; do
  img=vmh-${row%%:*}
  echo "| ${row#*:} | $(text "$img") | $(section "$img" .rodata) | $(section "$img" .data) | $(flash "$img") |"
done
echo
echo "sys_heap model (bench/baselines/sys_heap.hpp), calibrated to the real heap's cost, runtime"
echo "statistics off (Zephyr's default), same flags. Small heap: 16-bit chunk fields (heaps below"
echo "262152 bytes); big heap: 32-bit fields (larger heaps, e.g. a 1 MiB buffer region)."
echo
echo "| sys_heap operation | small | big |"
echo "| --- | ---: | ---: |"
for row in "alloc:alloc(bytes)" "free:free(ptr)" "aligned-alloc:aligned_alloc(align, bytes)" \
           "realloc:realloc(ptr, bytes)" "alloc+free:alloc + free" "all:all four"; do
  op=${row%%:*}
  echo "| ${row#*:} | $(flash "sys-heap-small-$op") | $(flash "sys-heap-big-$op") |"
done
echo
vmh_pair=$(flash vmh-allocate+deallocate)
vmh_pair_text=$(text vmh-allocate+deallocate)
ram_pair=$(flash vmh-ram-allocate+deallocate)
best=$(for m in sys-heap-small sys-heap-big sys-heap-builtin-small sys-heap-builtin-big; do flash "$m-alloc+free"; done | sort -n | head -1)
worst=$(for m in sys-heap-small sys-heap-big sys-heap-builtin-small sys-heap-builtin-big; do flash "$m-alloc+free"; done | sort -n | tail -1)
echo "Goal \"allocate + deallocate smaller in flash than the sys_heap model's alloc + free\": vmh"
echo "$vmh_pair bytes ($vmh_pair_text of code) against $best to $worst bytes for the model:" \
     "$(awk -v a="$vmh_pair" -v b="$best" 'BEGIN { printf "%.2f", a / b }')x the smallest model build —" \
     "$([ "$vmh_pair" -lt "$best" ] && echo "met." || echo "not met.")"
echo "Goal \"allocate + deallocate in at most 1500 bytes of flash (.text, .rodata and .data)\": vmh" \
     "$vmh_pair bytes — $([ "$vmh_pair" -le 1500 ] && echo "met." || echo "not met.")"
echo "Over plain RAM (no page mapping, as sys_heap): $ram_pair bytes," \
     "$(awk -v a="$ram_pair" -v b="$best" 'BEGIN { printf "%.2f", a / b }')x."

# --- RAM metadata -----------------------------------------------------------------------------
meta=$(find "$fw" \( -name metadata.cpp.o -o -name metadata.cpp.obj \) | head -1)
figure() {
  local hex
  hex=$(arm-none-eabi-nm -S "$meta" | awk -v s="$1" '$4 == s { print $2 }')
  echo $((16#${hex:-0}))
}
echo
echo "### RAM metadata (32-bit target)"
echo
echo "\`heap::metadata_bytes()\` of each layout on the 32-bit target, \`counting_mapper\` (page counts"
echo "kept) and statistics on (the defaults). Per block: the bitmap (machine words, one bit per block"
echo "plus the summary levels) and a 32-bit size record for each block of the buckets whose"
echo "allocations' pages depend on their size. Per page: a 16-bit count for each page that can be"
echo "shared (below the end of the last bucket whose blocks are not whole, page-aligned pages)."
echo "The rest is per bucket (in use, peak, failures: 12 B) and a fixed part."
echo
echo "| layout | blocks | bitmap | size records | bits per block | pages | counted pages | page counts | bits per page | metadata_bytes | plain RAM |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for l in sof:"SOF table, 1 MiB" auto64:"auto_params(64 KiB)" auto256:"auto_params(256 KiB)" auto:"auto_params(1 MiB)"; do
  p=vmh_figure_${l%%:*}
  blocks=$(figure ${p}_blocks); pages=$(figure ${p}_pages); words=$(figure ${p}_bitmap_words)
  records=$(figure ${p}_records); refs=$(figure ${p}_ref_pages)
  mbytes=$(figure ${p}_metadata_counting); ram=$(figure ${p}_metadata_null)
  bitmap=$((words * 4)); sizes=$((records * 4)); counts=$((refs * 2))
  per_block=$(awk -v w="$bitmap" -v s="$sizes" -v b="$blocks" 'BEGIN { printf "%.2f", (w + s) * 8 / b }')
  per_page=$(awk -v c="$counts" -v p="$pages" 'BEGIN { printf "%.2f", c * 8 / p }')
  echo "| ${l#*:} | $blocks | $bitmap B | $sizes B | $per_block | $pages | $refs | $counts B | $per_page | $mbytes B | $ram B |"
done
echo
echo "Before the lean core every block kept a 32-bit size and every page a 16-bit count: 33 to 37"
echo "bits per block and 16 per page (40 KiB for auto_params(1 MiB))."
echo

if [ "$detail" = 1 ]; then
  for img in vmh-allocate vmh-deallocate vmh-allocate-range vmh-resize sys-heap-builtin-big-alloc+free; do
    echo
    echo "#### size-$img.elf"
    echo
    echo '```'
    arm-none-eabi-nm --size-sort -S -C "$fw/size-$img.elf" |
      sed -E 's/vmh::heap<.*>::/heap::/; s/vmh::baseline::sys_heap_model<.*>::/sys_heap::/; s/vmh::fixed_layout<.*>::/fixed_layout::/'
    echo '```'
  done
fi
