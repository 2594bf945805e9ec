#!/usr/bin/env bash
# Peak memory of protect on large photos (issue 12, part 1): 8 photos of 4000x3000 (12 MP, one camera's size, so a
# batch could hold them all), protected with SEP (K = 2, T = 10) through a 32x32 source model once per memory budget,
# and 4 photos of 1-24 MP of mixed sizes at the default budget. The checkpoints come from `robustness train` on a few CIFAR-10 images
# (their accuracy does not matter here, only the memory and time). Writes benchmarks/results/large-images-cpu.md.
# Usage: benchmarks/run-large-images.sh [WORK_DIR] [BUDGETS_MIB...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/large-images}
shift || true
budgets=${*:-2048 4096 8192}
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/large-images-cpu.md
mkdir -p "$work"
if [ ! -f "$work/data/.complete" ]; then
  rm -rf "$work/data" "$work/extract" && mkdir -p "$work/extract"
  tar xzf "$tarball" -C "$work/extract"
  /usr/bin/python3 benchmarks/make-photo-folder.py "$work/extract/train" "$work/data/same" --classes 2 --per-class 4 --size 4000x3000
  /usr/bin/python3 benchmarks/make-photo-folder.py "$work/extract/train" "$work/data/mixed" --classes 2 --per-class 2 --min-mp 1 --max-mp 24 --seed 3
  mkdir -p "$work/data/small"
  for c in airplane automobile; do mkdir -p "$work/data/small/$c"; ls "$work/extract/train/$c" | sort | awk 'NR <= 100' | while read -r f; do cp "$work/extract/train/$c/$f" "$work/data/small/$c/"; done; done
  rm -rf "$work/extract" && touch "$work/data/.complete"
fi
dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
tool="dotnet $work/bin/Robustness.Cli.dll"
[ -f "$work/ckpt/.complete" ] || { rm -rf "$work/ckpt"; $tool train --data "$work/data/small" --epochs 2 --width 8 --checkpoints "$work/ckpt" --out "$work/source.safetensors" > /dev/null; touch "$work/ckpt/.complete"; }

rows=""
for folder in same mixed; do
  # Photos of mixed sizes are crafted one at a time whatever the budget: one run at the default is enough.
  runs=$budgets; [ "$folder" = mixed ] && runs=4096
  for budget in $runs; do
    rm -rf "$work/out-$folder-$budget"
    start=$(date +%s)
    /usr/bin/time -f "%M" -o "$work/rss" $tool protect --input "$work/data/$folder" --output "$work/out-$folder-$budget" --method sep \
      --checkpoints "$work/ckpt" --checkpoint-count 2 --iterations 10 --batch-size 8 --memory-budget "$budget" --device cpu > "$work/log-$folder-$budget" 2>&1
    seconds=$(( $(date +%s) - start ))
    $tool verify --input "$work/data/$folder" --output "$work/out-$folder-$budget" > "$work/verify-$folder-$budget" 2>&1 || { echo "verify failed"; cat "$work/verify-$folder-$budget"; exit 1; }
    megapixels=$(/usr/bin/python3 -c "
import os,sys
from PIL import Image
px=[Image.open(os.path.join(r,f)).size for r,_,fs in os.walk(sys.argv[1]) for f in fs if f.endswith('.jpg')]
print(f'{len(px)} photos, {min(w*h for w,h in px)/1e6:.1f}-{max(w*h for w,h in px)/1e6:.1f} MP')" "$work/data/$folder")
    # Photos per chunk as the job computes it: the budget over the crafting bytes of the first photo's size.
    per_chunk=$(/usr/bin/python3 -c "
import os,sys,re
from PIL import Image
bpp=int(re.search(r'CraftingBytesPerPixel = (\d+)', open('src/Robustness/Protection/Batch/FolderProtectionJob.cs').read()).group(1))
w,h=Image.open(sorted(os.path.join(r,f) for r,_,fs in os.walk(sys.argv[1]) for f in fs if f.endswith('.jpg'))[0]).size
print(max(1, min(8, int(sys.argv[2]) * 2**20 // (w * h * bpp))))" "$work/data/$folder" "$budget")
    [ "$folder" = mixed ] && per_chunk=1 # every photo its own size: one per chunk
    rows+="| $folder: $megapixels | $budget MiB | $per_chunk | $(( $(cat "$work/rss") / 1024 )) MiB | $seconds s | $(grep -o 'OK: [0-9]* output(s)' "$work/verify-$folder-$budget") |"$'\n'
  done
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
{
  echo "# Peak memory of protect on large photos (CPU)"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M UTC'). Produced by \`benchmarks/run-large-images.sh\`."
  echo
  echo "SEP (K = 2, T = 10, batch size 8) through a 32x32 small-cnn source model; every photo protected at its own size and"
  echo "then checked by \`verify\`. \"same\": one camera's size, so a batch could hold all of them and only the memory budget"
  echo "splits it; \"mixed\": every photo its own size, so each is crafted alone. Peak RSS from \`/usr/bin/time -f %M\`"
  echo "(the whole process: the .NET runtime, libtorch and its thread pools included)."
  echo
  echo "| photos | --memory-budget | photos per chunk | peak RSS | wall time | verify |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '%s' "$rows"
} > "$out"
cat "$out"
