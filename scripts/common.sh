# Shared by the scripts in this directory (sourced, not run): the usage text and the one-line
# error for a bad command line, so that every script treats --help and unknown options alike.

# Prints the comment block at the top of the sourcing script (after the #! line), without "# ".
vmh_usage() {
  sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
}

# vmh_bad_usage MESSAGE: one line on stderr naming the script, exit status 2.
vmh_bad_usage() {
  echo "$(basename "$0"): $1 (see $(basename "$0") --help)" >&2
  exit 2
}

# vmh_help_or_nothing "$@": for a script that takes no argument but --help: prints the usage and
# exits 0 for --help (or -h), rejects anything else with vmh_bad_usage.
vmh_help_or_nothing() {
  for arg in "$@"; do
    case "$arg" in
      -h|--help) vmh_usage; exit 0 ;;
      *) vmh_bad_usage "unknown argument '$arg'" ;;
    esac
  done
}

# vmh_unpack_third_party NAME DEST [MEMBER...]: unpacks the archive NAME-*.tar.xz (zephyr, cmsis,
# sof) from the third-party folder (VMH_THIRD_PARTY, default ../shared/third_party beside the
# repository) into DEST, only the MEMBERs when given (e.g. zephyr/lib/heap). Prints the
# archive's path; returns 1, printing nothing, when there is no such archive.
vmh_unpack_third_party() {
  local name=$1 dest=$2 dir archive
  shift 2
  dir=${VMH_THIRD_PARTY:-$(cd "$(dirname "$0")/.." && pwd)/../shared/third_party}
  archive=$(ls "$dir/$name"-*.tar.xz 2>/dev/null | head -1)
  [ -n "$archive" ] || return 1
  mkdir -p "$dest"
  tar -xJf "$archive" -C "$dest" "$@"
  echo "$archive"
}
