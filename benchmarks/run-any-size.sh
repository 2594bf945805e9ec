#!/usr/bin/env bash
# Protection of photos of any size (issue 12, part 1): does a perturbation crafted at the photo's own resolution,
# through the source model's 32x32 view, survive a victim's own resize? CIFAR-10's first 200 training images of each
# class are upscaled to photos of random size and aspect (make-photo-folder.py: 8 "camera" sizes of MIN_MP to MAX_MP
# megapixels, sensor noise, JPEG 85-95); a source model is trained on them at 32x32 (every photo stretched); the photos are protected at
# their own size with random noise, SEP, and SEP with expectation over transforms (--eot); victims train on each
# folder after their own resize to 32x32 and to 48x48, and are tested on the first 100 CIFAR-10 test images of each
# class. Writes benchmarks/results/any-size-cpu.md (+ .json). Stages already on disk are kept (run again after a kill).
# The 32x32 victims also go through the stress test's trainer pipelines (evaluate-protection), written to
# benchmarks/results/stress-test-photos-cpu.md (the stress test on plain CIFAR-10 is run-stress-test.sh).
# Usage: benchmarks/run-any-size.sh [WORK_DIR] [ARCH] [SOURCE_EPOCHS] [VICTIM_EPOCHS] [MIN_MP] [MAX_MP] [PIPELINES]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/any-size}
arch=${2:-small-cnn}
epochs=${3:-30}
victim_epochs=${4:-10}
min_mp=${5:-0.01}
max_mp=${6:-0.06}
pipelines=${7:-none,jpeg75,crop-flip}
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/any-size-cpu
mkdir -p "$work"

if [ ! -f "$work/data/.complete" ]; then
  rm -rf "$work/data" "$work/extract" && mkdir -p "$work/extract" "$work/data/test32"
  tar xzf "$tarball" -C "$work/extract"
  /usr/bin/python3 benchmarks/make-photo-folder.py "$work/extract/train" "$work/data/photos" --per-class 200 --min-mp "$min_mp" --max-mp "$max_mp" --cameras 8
  for class_dir in "$work/extract/test"/*/; do
    class=$(basename "$class_dir"); mkdir -p "$work/data/test32/$class"
    # awk, not head: head exits early, sort dies of SIGPIPE, and pipefail would end the script without a word.
    ls "$class_dir" | sort | awk 'NR <= 100' | while read -r f; do cp "$class_dir/$f" "$work/data/test32/$class/"; done
  done
  rm -rf "$work/extract" && touch "$work/data/.complete"
fi

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
tool="dotnet $work/bin/Robustness.Cli.dll"

if [ ! -f "$work/source/.complete" ]; then
  rm -rf "$work/source"
  $tool train --data "$work/data/photos" --image-size 32 --arch "$arch" --epochs "$epochs" --checkpoints "$work/source/checkpoints" \
    --out "$work/source/model.safetensors" --test "$work/data/test32" --seed 0 --device cpu | tail -3
  touch "$work/source/.complete"
fi

protect() { # name method [extra options]
  local name=$1 method=$2; shift 2
  if [ ! -f "$work/$name/.robustness/.complete" ]; then
    local start=$(date +%s)
    /usr/bin/time -f "%M" -o "$work/$name.rss" $tool protect --input "$work/data/photos" --output "$work/$name" --method "$method" \
      --eps 8/255 --seed 0 --device cpu "$@" | tail -3
    echo $(( $(date +%s) - start )) > "$work/$name.seconds"
    touch "$work/$name/.robustness/.complete"
  fi
}
# METHODS chooses the protected folders (default all three); a run with fewer leaves the other columns empty.
methods=" ${METHODS:-random sep sep-eot} "
[[ $methods == *" random "* ]] && protect random random
# T = 10 iterations (the paper's 30 would take an hour a method on 2 cores with this source model); batches of 256
# so that each of the 8 sizes gets a chunk of about 32 photos.
[[ $methods == *" sep "* ]] && protect sep sep --checkpoints "$work/source/checkpoints" --checkpoint-count 5 --iterations 10 --batch-size 256
[[ $methods == *" sep-eot "* ]] && protect sep-eot sep --checkpoints "$work/source/checkpoints" --checkpoint-count 5 --iterations 10 --batch-size 256 --eot

# The victims: evaluate-protection trains one per trainer pipeline and training set (resumable through victims.jsonl).
stress() { # size pipelines
  local sets=()
  for m in $methods; do sets+=(--protected "$m=$work/$m"); done
  $tool evaluate-protection --clean "$work/data/photos" "${sets[@]}" --test "$work/data/test32" --image-size "$1" --arch "$arch" \
    --epochs "$victim_epochs" --pipelines "$2" --seed 1 --device cpu --report "$work/stress-$1" | grep -v '^victim '
}
# REPORT_ONLY=1 writes the tables from the victims measured so far (cells not yet measured show as "-").
if [ -z "${REPORT_ONLY:-}" ]; then
  stress 32 none
  stress 48 none
  stress 32 "$pipelines"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
/usr/bin/python3 - "$work" "$out" "$cpu, $(nproc) cores; CPU flags: $flags" "$arch" "$epochs" "$victim_epochs" "$min_mp" "$max_mp" <<'PY'
import json, os, sys
work, out, machine, arch, epochs, victim_epochs, min_mp, max_mp = sys.argv[1:]
def report(size):
    # Every victim measured so far, from the resume file (a run stopped part way has no report.json for its last call).
    p = os.path.join(work, f"stress-{size}", "victims.jsonl")
    cells = [json.loads(l)["cell"] for l in open(p) if l.strip()] if os.path.exists(p) else []
    r = os.path.join(work, f"stress-{size}", "report.json")
    recipe = json.load(open(r))["recipe"] if os.path.exists(r) else ""
    return {"cells": cells, "recipe": recipe}
r32, r48 = report(32), report(48)
def acc(r, pipeline, s):
    return next((c["accuracy"] for c in r["cells"] if c["pipeline"] == pipeline and c["set"] == s), None)
def read(name, ext):
    p = os.path.join(work, f"{name}.{ext}")
    return open(p).read().strip() if os.path.exists(p) else ""
sizes = []
for root, _, files in os.walk(os.path.join(work, "data", "photos")):
    sizes += [os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".jpg")]
fmt = lambda a: f"{100 * a:.1f}" if a is not None else "-"
rows, data = [], {}
for folder, label in [("clean", "clean photos"), ("random", "random +-8/255 noise"), ("sep", "SEP, K = 5, T = 10"), ("sep-eot", "SEP + EOT (random resized crop + flip), K = 5, T = 10")]:
    a32, a48 = acc(r32, "none", folder), acc(r48, "none", folder)
    secs, rss = read(folder, "seconds"), read(folder, "rss")
    rows.append(f"| {label} | {fmt(a32)} | {fmt(a48)} | {secs + ' s' if secs else '-'} | {f'{int(rss) / 1024:.0f} MiB' if rss else '-'} |")
    data[folder] = {"victim32": a32, "victim48": a48, "protectSeconds": secs and int(secs), "peakRssKiB": rss and int(rss)}
setup = f"""Machine: {machine}. Produced by `benchmarks/run-any-size.sh` (raw numbers in the .json beside this file).

Data: the first 200 CIFAR-10 training images of each class (2,000), each upscaled (bicubic) to a photo of one of 8 "camera" sizes
of {min_mp}-{max_mp} MP (random aspect ratio 4:3, 3:2, 16:9 or 1:1, either orientation), Gaussian noise (sigma 2 levels) and JPEG quality 85-95
(`benchmarks/make-photo-folder.py`; {len(sizes)} files, {sum(sizes) / max(1, len(sizes)) / 1024:.0f} KiB on average). Test: the first 100 CIFAR-10 test images of each class (1,000), 32x32.
Source model: {arch}, {epochs} epochs on the photos stretched to 32x32 (`train --image-size 32`), a checkpoint each epoch.
Protection: `protect` at eps 8/255 writes every photo at its own size (PNG); SEP crafts through the source model's 32x32 view of
the whole photo, SEP + EOT through a random resized crop (50-100% of the area) and flip per step.
Victims (`evaluate-protection`): {r32.get("recipe", "")}; trained on each folder after their own resize of every photo
(`--image-size`: ImageSharp's bilinear, not the crafting's torch resize), tested on the clean test images at the same size.
"""
with open(out + ".md", "w") as f:
    f.write("# Protecting photos at their own size, CIFAR-10, CPU\n\n" + setup + """
The 48x48 victim trains at a size the source model never saw.

| protection | victim at 32x32: test acc (%) | victim at 48x48: test acc (%) | protect wall time | protect peak RSS |
|---|---:|---:|---:|---:|
""" + "\n".join(rows) + "\n\nA cell marked - was not measured (a run stopped early, or METHODS left the method out); rerun the command to fill it.\n")
json.dump(data, open(out + ".json", "w"), indent=2)
stress = os.path.join(os.path.dirname(out), "stress-test-photos-cpu")
names = {"none": "no change (the victim's own random crop and flip)", "jpeg95": "JPEG re-encoding at quality 95", "jpeg85": "JPEG re-encoding at quality 85",
         "jpeg75": "JPEG re-encoding at quality 75", "resize2": "resize down by 2 and back (bilinear)", "crop-flip": "random resized crop (8-100% of the area) + flip while training",
         "grayscale": "grayscale (BT.709 luma, training and test images)", "blur0.5": "Gaussian blur, sigma 0.5 px", "pgd-at": "PGD adversarial training, eps 8/255"}
sets = ["clean", "random", "sep", "sep-eot"]
measured = [p for p in names if any(c["pipeline"] == p for c in r32["cells"])]
lines = ["| trainer pipeline | " + " | ".join(sets) + " |", "|---|" + "---:|" * len(sets)]
for p in measured:
    base = acc(r32, p, "clean")
    row = []
    for s in sets:
        a = acc(r32, p, s)
        row.append("-" if a is None else f"{100 * a:.1f}" if s == "clean" or base is None else f"{100 * a:.1f} ({100 * (a - base):+.1f})")
    lines.append(f"| {names[p]} | " + " | ".join(row) + " |")
table = "\n".join(lines)
if len(measured) < 2:
    print("stress test: only the 'none' pipeline is measured so far; stress-test-photos-cpu.md is not written")
    sys.exit(0)
with open(stress + ".md", "w") as f:
    f.write("# Protection stress test, CIFAR-10 photos, CPU\n\n" + setup + """
Each cell: the victim's clean test accuracy (%) after the row's trainer pipeline, with the difference from the clean photos'
victim under the same pipeline in brackets (more negative = the protection held). Victims at 32x32.

""" + table + "\n")
json.dump(r32, open(stress + ".json", "w"), indent=2)
PY
cat "$out.md"
if [ -f "$(dirname "$out")/stress-test-photos-cpu.md" ]; then cat "$(dirname "$out")/stress-test-photos-cpu.md"; fi
