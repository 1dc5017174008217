# The Xtensa part of scripts/code-size.sh (sourced by it for --target xtensa-lx106; uses its
# variables root, build, detail and zephyr): vmh's operations on an lx106 core beside the real
# Zephyr heap compiled from its sources with the same flags.
source "$root/scripts/common.sh"
xt_scratch=""

xtensa_report() {
  local tool
  for tool in xtensa-lx106-elf-g++ xtensa-lx106-elf-size xtensa-lx106-elf-nm xtensa-lx106-elf-objdump; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "code-size.sh: $tool not found (Debian: scripts/deps.sh --xtensa)" >&2
      exit 77
    fi
  done
  build=${build:-$root/build-xtensa-lx106}

  # The Zephyr tree: --zephyr, VMH_ZEPHYR_BASE, or the archive's heap and headers in a scratch folder.
  local source_note
  if [ -n "$zephyr" ]; then
    if [ ! -f "$zephyr/lib/heap/heap.c" ]; then
      echo "code-size.sh: --zephyr $zephyr is not a Zephyr tree (no lib/heap/heap.c)" >&2
      exit 2
    fi
    zephyr=$(cd "$zephyr" && pwd)
    source_note="the tree at $zephyr"
  else
    xt_scratch=$(mktemp -d)
    trap 'rm -rf "$xt_scratch"' EXIT
    local archive
    # The files cmake/third_party.cmake checks a Zephyr tree for, not only the heap's.
    if archive=$(vmh_unpack_third_party zephyr "$xt_scratch" zephyr/VERSION zephyr/lib/heap zephyr/lib/mem_blocks \
                   zephyr/lib/utils zephyr/include); then
      zephyr=$xt_scratch/zephyr
      source_note="$(basename "$archive")"
    else
      zephyr=""
      source_note=""
    fi
  fi

  local log
  log=$(mktemp)
  # VMH_ZEPHYR_BASE is given on every run: a scratch folder of an earlier run is gone.
  if ! { if [ -f "$build/CMakeCache.txt" ]; then cmake "$build" -DVMH_ZEPHYR_BASE="$zephyr"
         else cmake -S "$root" --preset xtensa-lx106 -B "$build" -DVMH_ZEPHYR_BASE="$zephyr"; fi
         cmake --build "$build" --target code-size-images -j 2; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"

  local fw="$build/firmware"
  xt_section() {
    xtensa-lx106-elf-size -A "$fw/size-$1.elf" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
  }
  xt_flash() {
    xtensa-lx106-elf-size -A "$fw/size-$1.elf" | awk '$1 == ".text" || $1 == ".rodata" || $1 == ".data" { n += $2 } END { print n + 0 }'
  }
  # The routines outside the image (size.ld's ROM addresses) that the image calls.
  xt_rom() {
    local names
    names=$(xtensa-lx106-elf-objdump -d "$fw/size-$1.elf" |
      grep -oE '<(__udivsi3|__umodsi3|__divsi3|__udivdi3|__umoddi3|__muldi3|__umulsidi3|memcpy|memset)>' |
      tr -d '<>' | sort -u | paste -sd ' ' -)
    if [ -z "$names" ]; then echo none; else echo "$names" | sed -E 's/([^ ]+)/`\1`/g; s/` `/`, `/g'; fi
  }

  local compiler flags
  compiler=$(xtensa-lx106-elf-g++ --version | head -1)
  flags=$(grep -E '^VMH_XTENSA_CPU_FLAGS:' "$build/CMakeCache.txt" | cut -d= -f2-)
  echo "### Code size on Xtensa (lx106)"
  echo
  echo "\`$compiler\`, \`-std=c++20 -Os $flags -ffreestanding -fno-exceptions -fno-rtti"
  echo "-ffunction-sections -fdata-sections\` (\`-mlongcalls\` as Zephyr builds every Xtensa file); each row"
  echo "is an image linked with \`--gc-sections\` from that operation alone. The routines this core's"
  echo "libgcc lacks (division, 64-bit products; an ESP8266 has them in its boot ROM) and the C"
  echo "library's \`memcpy\` lie outside the image at fixed addresses: they are listed, not counted."
  echo "lx106 is not an ACE core: Intel's ACE DSPs are LX7 cores with windowed calls, hardware"
  echo "divide and atomics, so these figures show the trend on Xtensa, not ACE's exact bytes."
  echo
  echo "vmh: the Cortex-M4 table's configuration (SOF's production table as a constant layout, 9 buckets,"
  echo "1 MiB, a \`constinit\` heap over a \`static_window\` with a \`budget_mapper\`, \`no_lock\`)."
  echo
  echo "| vmh operation | .text | .rodata | .data | flash total | routines outside the image |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
  local row img
  for row in "allocate:allocate(size)" "deallocate:deallocate(ptr)" "allocate-range:allocate_range(min, preferred, align, granule)" \
             "resize:resize(ptr, size)" "allocate+deallocate:allocate + deallocate" "all:all four" \
             "ram-allocate+deallocate:allocate + deallocate, plain RAM (null_mapper)" \
             "nostats-allocate+deallocate:allocate + deallocate, no statistics"; do
    img=vmh-${row%%:*}
    echo "| ${row#*:} | $(xt_section "$img" .text) | $(xt_section "$img" .rodata) | $(xt_section "$img" .data) | $(xt_flash "$img") | $(xt_rom "$img") |"
  done
  echo
  if [ -z "$zephyr" ]; then
    echo "The real Zephyr heap is not measured: no Zephyr tree (give --zephyr DIR, set VMH_ZEPHYR_BASE,"
    echo "or put the Zephyr archive in VMH_THIRD_PARTY)."
    return 0
  fi
  local version
  version=$(awk -F' = ' '/^VERSION_MAJOR/ {a=$2} /^VERSION_MINOR/ {b=$2} /^PATCHLEVEL/ {c=$2} END { if (a != "") print a "." b "." c }' \
    "$zephyr/VERSION" 2>/dev/null || true)
  echo "The real Zephyr heap${version:+ $version} (\`lib/heap/heap.c\` from $source_note, unmodified), its Kconfig"
  echo "defaults (runtime statistics off, small and big heaps both supported), same flags."
  echo
  echo "| Zephyr heap operation | .text | .rodata | .data | flash total | routines outside the image |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
  for row in "alloc:sys_heap_alloc" "free:sys_heap_free" "aligned-alloc:sys_heap_aligned_alloc" \
             "aligned-realloc:sys_heap_aligned_realloc (realloc)" "alloc+free:alloc + free" "all:all four"; do
    img=zephyr-heap-${row%%:*}
    echo "| ${row#*:} | $(xt_section "$img" .text) | $(xt_section "$img" .rodata) | $(xt_section "$img" .data) | $(xt_flash "$img") | $(xt_rom "$img") |"
  done
  echo
  local vmh_code vmh_geo zephyr_pair
  vmh_code=$(xt_section vmh-allocate+deallocate .text)
  vmh_geo=$(xt_section vmh-allocate+deallocate .rodata)
  zephyr_pair=$(xt_flash zephyr-heap-alloc+free)
  echo "allocate + deallocate on lx106: vmh $vmh_code B of code + $vmh_geo B of geometry ($((vmh_code + vmh_geo)) B of"
  echo "flash) against the real Zephyr heap's alloc + free, $zephyr_pair B:" \
       "$(awk -v a="$((vmh_code + vmh_geo))" -v b="$zephyr_pair" 'BEGIN { printf "%.2f", a / b }')x."

  if [ "$detail" = 1 ]; then
    for img in vmh-allocate vmh-deallocate vmh-allocate-range vmh-resize zephyr-heap-alloc+free; do
      echo
      echo "#### size-$img.elf"
      echo
      echo '```'
      xtensa-lx106-elf-nm --size-sort -S -C "$fw/size-$img.elf" | grep -v ' [aA] ' |
        sed -E 's/vmh::heap<.*>::/heap::/; s/vmh::fixed_layout<.*>::/fixed_layout::/'
      echo '```'
    done
  fi
}
