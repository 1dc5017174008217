#!/usr/bin/env bash
# Prints, as Markdown, per target: the flash bytes of vmh's allocate, deallocate, allocate_range
# and resize with the heap declared as a firmware declares it (a constinit object, whose initial
# image in .data counts), the same for Zephyr's real heap compiled from its sources with the same
# flags (alloc, free, aligned_alloc, realloc; its default build, one-header-width builds and
# runtime statistics) when the build has its tree (VMH_ZEPHYR_BASE, scripts/third-party.sh), else
# for the sys_heap model with one line saying so; and the RAM metadata of vmh heaps.
#
#   scripts/code-size.sh [BUILD_DIR] [--detail]
#   scripts/code-size.sh --target xtensa-lx106 [--zephyr DIR] [BUILD_DIR] [--detail]
#
# Targets: Cortex-M4 (arm-none-eabi, preset cortex-m4; BUILD_DIR defaults to build-cortex-m4,
# configured with the preset if it is not yet, and again with $VMH_ZEPHYR_BASE when that is set). Each image is
# linked with --gc-sections from one operation's functions (or two, for "alloc + free"), so its
# bytes are that operation's whole call tree, inlined functions and libgcc routines included,
# shared code counted once; the bytes of an image without any heap are subtracted.
# --detail also lists each vmh image's functions (nm --size-sort -S).
# --target xtensa-lx106 reports the same vmh operations on Xtensa (preset xtensa-lx106,
# BUILD_DIR default build-xtensa-lx106) beside the real Zephyr heap (lib/heap/heap.c) compiled
# from its sources with the same flags. --zephyr DIR names the Zephyr tree (default: the
# VMH_ZEPHYR_BASE environment variable, else the Zephyr archive in VMH_THIRD_PARTY, default
# ../shared/third_party beside the repository, unpacked into a scratch folder and removed after).
# Exit status: 0 on success, 77 if the target's cross tools are missing, 1 on a build error,
# 2 on a bad argument.
set -euo pipefail
source "$(dirname "$0")/common.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
build=""
detail=0
target=cortex-m4
zephyr=${VMH_ZEPHYR_BASE:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --detail) detail=1 ;;
    -h|--help) vmh_usage; exit 0 ;;
    --target) [ $# -ge 2 ] || vmh_bad_usage "--target needs a value (cortex-m4 or xtensa-lx106)"; target=$2; shift ;;
    --target=*) target=${1#--target=} ;;
    --zephyr) [ $# -ge 2 ] || vmh_bad_usage "--zephyr needs a directory"; zephyr=$2; shift ;;
    --zephyr=*) zephyr=${1#--zephyr=} ;;
    -*) vmh_bad_usage "unknown option '$1'" ;;
    *) [ -z "$build" ] || vmh_bad_usage "one BUILD_DIR only, not also '$1'"; build=$1 ;;
  esac
  shift
done
case "$target" in
  cortex-m4) ;;
  xtensa-lx106)
    source "$root/scripts/code-size-xtensa.bash"
    xtensa_report
    exit 0 ;;
  *) vmh_bad_usage "unknown target '$target' (cortex-m4 or xtensa-lx106)" ;;
esac

# --- Reading images --------------------------------------------------------------------------
# The functions below read the images of one target: $tools (the binutils prefix) and $images
# (the folder of its size-*.elf) are set by the target's report function.

# section IMAGE NAME: bytes of one section of size-IMAGE.elf (0 when absent)
section() {
  "${tools}size" -A "$images/size-$1.elf" | awk -v s="$2" '$1 == s { n += $2 } END { print n + 0 }'
}
# raw_flash IMAGE: what a linker puts in flash: code, constants, the initial image of .data and
# the unwind index.
raw_flash() {
  "${tools}size" -A "$images/size-$1.elf" |
    awk '$1 == ".text" || $1 == ".rodata" || $1 == ".data" || $1 == ".ARM.exidx" || $1 == ".ARM.extab" { n += $2 } END { print n + 0 }'
}
# net SECTION IMAGE / flash IMAGE: the same, less the image without any heap (size-stub.elf).
net() { echo $(( $(section "$2" "$1") - $(section stub "$1") )); }
flash() { echo $(( $(raw_flash "$1") - $(raw_flash stub) )); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# vmh_rows: the vmh table of the current target.
vmh_rows() {
  echo "| vmh operation | .text | .rodata | .data | flash total |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for row in "allocate:allocate(size)" "deallocate:deallocate(ptr)" "allocate-range:allocate_range(min, preferred, align, granule)" \
             "resize:resize(ptr, size)" "allocate+deallocate:allocate + deallocate" "all:all four" \
             "ram-allocate:allocate, plain RAM (null_mapper)" "ram-deallocate:deallocate, plain RAM (null_mapper)" \
             "ram-allocate+deallocate:allocate + deallocate, plain RAM (null_mapper)" \
             "nostats-allocate+deallocate:allocate + deallocate, no statistics (as sys_heap's default)" \
             "external-allocate+deallocate:allocate + deallocate, over external_range with a run-time counting_mapper budget" \
             "packed-allocate+deallocate:allocate + deallocate, the same table with a packed region of 1 MiB" \
             "auto-allocate+deallocate:allocate + deallocate, the zero-tuning layout for 1 MiB (auto_params)"; do
    img=vmh-${row%%:*}
    echo "| ${row#*:} | $(net .text "$img") | $(net .rodata "$img") | $(net .data "$img") | $(flash "$img") |"
  done
}

# sys_heap_rows PREFIX COLUMN...: the sys_heap table of the images PREFIX-COLUMN-OPERATION.
sys_heap_rows() {
  local prefix=$1 header="| sys_heap operation |" rule="| --- |" c
  shift
  for c in "$@"; do header+=" ${c#*:} |"; rule+=" ---: |"; done
  echo "$header"
  echo "$rule"
  for row in "alloc:alloc(bytes)" "free:free(ptr)" "aligned-alloc:aligned_alloc(align, bytes)" \
             "realloc:realloc(ptr, bytes)" "alloc+free:alloc + free" "all:all four"; do
    local line="| ${row#*:} |"
    for c in "$@"; do line+=" $(flash "$prefix-${c%%:*}-${row%%:*}") |"; done
    echo "$line"
  done
}

# goals BASELINE_NAME BASELINE_IMAGE...: vmh's flash goals against the given alloc + free images.
goals() {
  local name=$1 pair text ram best worst m
  shift
  pair=$(flash vmh-allocate+deallocate)
  text=$(net .text vmh-allocate+deallocate)
  ram=$(flash vmh-ram-allocate+deallocate)
  best=$(for m in "$@"; do flash "$m"; done | sort -n | head -1)
  worst=$(for m in "$@"; do flash "$m"; done | sort -n | tail -1)
  echo "Goal \"allocate + deallocate smaller in flash than $name's alloc + free\": vmh $pair bytes"
  echo "($text of code, $(net .rodata vmh-allocate+deallocate) of geometry, $(net .data vmh-allocate+deallocate) of initial image)" \
       "against $best to $worst bytes: $(ratio "$pair" "$best")x the smallest build —" \
       "$([ "$pair" -lt "$best" ] && echo "met." || echo "not met.")"
  echo "Goal \"allocate + deallocate in at most 1500 bytes of flash (.text, .rodata and .data)\": vmh" \
       "$pair bytes — $([ "$pair" -le 1500 ] && echo "met." || echo "not met.")"
  echo "Over plain RAM (no page mapping, as sys_heap): $ram bytes, $(ratio "$ram" "$best")x."
}

# --- Cortex-M4 -------------------------------------------------------------------------------

report_cortex_m4() {
  local dir=${1:-$root/build-cortex-m4} log compiler real
  local tool
  for tool in arm-none-eabi-g++ arm-none-eabi-size arm-none-eabi-nm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "code-size.sh: $tool not found (Debian: scripts/deps-firmware.sh)" >&2
      exit 77
    fi
  done
  local configure=(cmake -S "$root" --preset cortex-m4 -B "$dir")
  # A Zephyr tree given now reaches a build configured before without one.
  [ -z "${VMH_ZEPHYR_BASE:-}" ] || configure+=("-DVMH_ZEPHYR_BASE=$VMH_ZEPHYR_BASE")
  if [ ! -f "$dir/CMakeCache.txt" ] || [ -n "${VMH_ZEPHYR_BASE:-}" ]; then
    "${configure[@]}" >"$dir.configure.log" 2>&1 || {
      cat "$dir.configure.log" >&2
      exit 1
    }
    rm -f "$dir.configure.log"
  fi
  log=$(mktemp)
  if ! cmake --build "$dir" --target code-size-images -j 2 >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  tools=arm-none-eabi-
  images="$dir/firmware"
  compiler=$(arm-none-eabi-g++ --version | head -1)
  real=no
  [ -f "$images/size-zephyr-heap-default-alloc+free.elf" ] && real=yes

  echo "### Code size on Cortex-M4"
  echo
  echo "\`$compiler\`, \`-Os -mcpu=cortex-m4 -mthumb -ffreestanding -ffunction-sections -fdata-sections\`"
  echo "(C++: \`-std=c++20 -fno-exceptions -fno-rtti\`); each row is an image linked with \`--gc-sections\`"
  echo "from that operation alone (its whole call tree, libgcc routines included; shared code counted"
  echo "once), less the $(raw_flash stub) bytes of an image without any heap."
  echo
  echo "vmh: SOF's production table as a constant layout (9 buckets, 1 MiB), the counting mapper with"
  echo "a constant 1 MiB budget (\`budget_mapper\`), its window named at compile time (\`static_window\`),"
  echo "\`no_lock\`, declared \`constinit\` as a firmware declares it; no C library linked. \`.rodata\` is the"
  echo "layout's derived geometry (a constant table in flash); \`.data\` the heap object's initial image (in"
  echo "flash, copied to RAM at boot): none for such a heap, all of the object for one over"
  echo "\`external_range\` with a run-time \`counting_mapper\` budget (its row)."
  echo
  vmh_rows
  echo
  if [ "$real" = yes ]; then
    echo "Zephyr's \`sys_heap\`: the real \`lib/heap/heap.c\` of \`\$VMH_ZEPHYR_BASE\`, unmodified, same flags"
    echo "(C11), asserts off; its init not counted (nor vmh's). Default build: both chunk header widths,"
    echo "chosen per heap at run time; one width: \`CONFIG_SYS_HEAP_SMALL_ONLY\` (16-bit fields, heaps"
    echo "below 256 KiB) or \`CONFIG_SYS_HEAP_BIG_ONLY\`; statistics: \`CONFIG_SYS_HEAP_RUNTIME_STATS\`."
    echo
    sys_heap_rows zephyr-heap "default:default" "small-only:small only" "big-only:big only" "stats:runtime stats"
    echo
    goals "the real sys_heap" zephyr-heap-default-alloc+free zephyr-heap-small-only-alloc+free \
          zephyr-heap-big-only-alloc+free
  else
    echo "The real Zephyr heap is not built (configure with -DVMH_ZEPHYR_BASE=..., scripts/third-party.sh):"
    echo "these rows are its model (bench/baselines/sys_heap.hpp), runtime statistics off, same flags."
    echo
    sys_heap_rows sys-heap "small:small heap (model)" "big:big heap (model)"
    echo
    goals "the sys_heap model" sys-heap-small-alloc+free sys-heap-big-alloc+free sys-heap-builtin-small-alloc+free \
          sys-heap-builtin-big-alloc+free
  fi
  metadata_rows
  if [ "$detail" = 1 ]; then
    for img in vmh-allocate vmh-deallocate vmh-allocate-range vmh-resize; do
      echo
      echo "#### size-$img.elf"
      echo
      echo '```'
      arm-none-eabi-nm --size-sort -S -C "$images/size-$img.elf" |
        sed -E 's/vmh::heap<.*>::/heap::/; s/vmh::fixed_layout<.*>::/fixed_layout::/'
      echo '```'
    done
  fi
}

# metadata_rows: vmh's RAM metadata on the 32-bit target (symbol sizes of metadata.cpp's object).
metadata_rows() {
  local meta p l blocks pages words records refs mbytes ram bitmap sizes counts per_block per_page
  meta=$(find "$images" \( -name metadata.cpp.o -o -name metadata.cpp.obj \) | head -1)
  figure() {
    local hex
    hex=$("${tools}nm" -S "$meta" | awk -v s="$1" '$4 == s { print $2 }')
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
}

# A target is a function report_<name> taking the build folder; add one here to add a target.
targets=(report_cortex_m4)
for target in "${targets[@]}"; do
  "$target" "$build"
done
