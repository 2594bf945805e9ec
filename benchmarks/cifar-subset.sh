# Sourced by the benchmark scripts: the first N images of each class (by file name) of CIFAR-10's JPEG splits.
# cifar_subset TARBALL DATA_DIR SPLIT:COUNT... copies the first COUNT images of each class of SPLIT into DATA_DIR/SPLIT,
# once: DATA_DIR/.complete marks a finished copy, and an unfinished one is started again.
cifar_subset() {
  local tarball=$1 data=$2; shift 2
  [ -f "$data/.complete" ] && return 0
  local extract="$data.extract"
  rm -rf "$data" "$extract" && mkdir -p "$extract" "$data"
  tar xzf "$tarball" -C "$extract"
  local split_count split count class_dir class
  for split_count in "$@"; do
    split=${split_count%%:*}; count=${split_count##*:}
    for class_dir in "$extract/$split"/*/; do
      class=$(basename "$class_dir"); mkdir -p "$data/$split/$class"
      # awk, not head: head exits early, sort dies of SIGPIPE, and pipefail would end the script without a word.
      ls "$class_dir" | sort | awk -v n="$count" 'NR <= n' | while read -r f; do cp "$class_dir/$f" "$data/$split/$class/"; done
    done
  done
  rm -rf "$extract" && touch "$data/.complete"
}
