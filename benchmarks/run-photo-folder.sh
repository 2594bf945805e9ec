#!/usr/bin/env bash
# A user's photo folder protected and verified in one command (issue 12's "done when"): CIFAR-10 images upscaled to
# photos of 1-4 MP, each its own size and orientation, with sensor noise and JPEG 85-95 (make-photo-folder.py), plus
# the hostile inputs of a real folder (--bad: empty, truncated and text-as-JPEG files, a 100000x1 strip, grayscale,
# CMYK, links out of the folder and to themselves, a folder named like an image). One `protect --verify` trains the
# source model on the photos (stretched to 32x32), crafts SEP at every photo's own resolution through that view,
# writes the report and checks the whole folder. Writes benchmarks/results/photo-folder-cpu.md.
# Usage: benchmarks/run-photo-folder.sh [WORK_DIR] [PER_CLASS] [MIN_MP] [MAX_MP]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/photo-folder}
per_class=${2:-3}
min_mp=${3:-1}
max_mp=${4:-4}
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/photo-folder-cpu.md
mkdir -p "$work"
if [ ! -f "$work/data/.complete" ]; then
  rm -rf "$work/data" "$work/extract" && mkdir -p "$work/extract"
  tar xzf "$tarball" -C "$work/extract"
  /usr/bin/python3 benchmarks/make-photo-folder.py "$work/extract/train" "$work/data/photos" --per-class "$per_class" --min-mp "$min_mp" --max-mp "$max_mp" --bad
  rm -rf "$work/extract" && touch "$work/data/.complete"
fi
[ -n "${REPORT_ONLY:-}" ] || dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
command=(protect --input "$work/data/photos" --output "$work/protected" --method sep --train-epochs 5 --checkpoint-count 2 --iterations 10
  --seed 0 --device cpu --report "$work/report" --verify)
# REPORT_ONLY=1 writes the results file from the last run's log; NOTE="..." adds a sentence after the timings.
if [ -z "${REPORT_ONLY:-}" ]; then
  rm -rf "$work/protected" "$work/report"
  start=$(date +%s)
  status=0
  /usr/bin/time -f "%M" -o "$work/rss" dotnet "$work/bin/Robustness.Cli.dll" "${command[@]}" > "$work/protect.log" 2> "$work/protect.err" || status=$?
  echo "$status $(( $(date +%s) - start ))" > "$work/status"
fi
read -r status seconds < "$work/status"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
photos=$(find "$work/data/photos" -name '*.jpg' -type f -size +1k | wc -l)
# The photos' sizes (the bad inputs' small or odd images left out), written to a file: a here-document inside $( ) trips bash.
/usr/bin/python3 - "$work/data/photos" > "$work/sizes.txt" <<'PY'
import os, sys
from PIL import Image
sizes = []
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if f.endswith(".jpg") and not os.path.islink(p):
            try:
                with Image.open(p) as im:
                    im.load()  # a truncated file raises here
                    if im.mode == "RGB" and im.width * im.height >= 500_000: sizes.append(im.width * im.height / 1e6)
            except Exception:
                pass
print(f"{len(sizes)} photos of {min(sizes):.1f}-{max(sizes):.1f} MP ({sum(sizes):.0f} MP in all)")
PY
megapixels=$(cat "$work/sizes.txt")
{
  echo "# A photo folder protected and verified in one command (CPU)"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M') UTC. Produced by \`benchmarks/run-photo-folder.sh $work $per_class $min_mp $max_mp\`."
  echo
  echo "Folder: the first $per_class CIFAR-10 training images of each class upscaled to $megapixels, each its own size and"
  echo "orientation, sensor noise, JPEG 85-95 (\`make-photo-folder.py --bad\`), plus the hostile inputs in the first class folder."
  echo
  echo "Command (one): \`robustness ${command[*]}\`"
  echo
  echo "Exit code $status (1 = some inputs could not be protected, or verify failed); wall time $seconds s; peak RSS $(( $(tail -1 "$work/rss") / 1024 )) MiB.${NOTE:+ $NOTE}"
  echo
  echo '```'
  grep -v -E '^\s*(scan|train|protect|craft) .*ETA' "$work/protect.log" | sed "s#$(pwd)/##g; s#$work/##g"
  echo '```'
  echo
  echo "The report (\`$work/report/report.md\`, not kept in git) shows each example at its own resolution with a zoomed crop."
} > "$out"
cat "$out"
