#!/usr/bin/env bash
# Protection stress test on CIFAR-10 at CPU scale (issue 12, part 2): does each protection survive what a trainer does
# to the images? The first 200 training images of each class (2,000, 32x32, the SEP CPU table's training set) are
# protected at 8/255 by random noise, the final checkpoint, SEP, SEP-FA, SEP-FA-VR, error-minimising noise and SEP with
# the transforms inside the crafting loop (--eot: random resized crop + flip per step); then `evaluate-protection`
# trains one victim per trainer pipeline (JPEG 95/85/75, resize by 2 and back, random resized crop + flip, grayscale,
# blur 0.5, PGD-AT) and training set, the clean set under the same pipeline being the baseline, and tests each on the
# first 200 test images of each class. Writes benchmarks/results/stress-test-cpu.md (+ .json, accuracy.png).
# Every stage resumes (checkpoints, protected folders, victims.jsonl): run it again after a kill.
# Usage: benchmarks/run-stress-test.sh [WORK_DIR] [ARCH] [SOURCE_EPOCHS] [VICTIM_EPOCHS] [ITERATIONS] [PIPELINES] [VICTIM_WIDTH]
# (the source model has ARCH's standard width; the victims are ARCH at VICTIM_WIDTH, default 16, so that 50-odd victims
# fit in about an hour on 2 cores).
# METHODS (env) chooses the protected sets; REPORT_ONLY=1 writes the table from the victims measured so far.
# MERGE=benchmarks/results/stress-test-cpu.json (env) adds this run's columns to an earlier run's table: the earlier
# cells are kept for the sets this run does not measure, this run's clean victims (retrained, the same seed) are
# compared with the earlier ones and the largest difference is printed under the table, so that a new column is read
# against a baseline that is shown to be the same (or shown not to be).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/stress-test}
arch=${2:-small-cnn}
epochs=${3:-30}
victim_epochs=${4:-15}
iterations=${5:-30}
pipelines=${6:-none,jpeg95,jpeg85,jpeg75,resize2,crop-flip,grayscale,blur0.5,pgd-at}
victim_width=${7:-16}
methods=" ${METHODS:-random final-checkpoint sep sep-fa sep-eot error-minimizing sep-fa-vr} "
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/stress-test-cpu
mkdir -p "$work"

. benchmarks/cifar-subset.sh
cifar_subset "$tarball" "$work/data" train:200 test:200

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
tool="dotnet $work/bin/Robustness.Cli.dll"

# The source model: trained once, a checkpoint each epoch (train --checkpoints resumes after a kill).
if [ ! -f "$work/source/.complete" ]; then
  start=$(date +%s)
  $tool train --data "$work/data/train" --arch "$arch" --epochs "$epochs" --checkpoints "$work/source/checkpoints" \
    --out "$work/source/model.safetensors" --test "$work/data/test" --seed 0 --device cpu | tail -2 | tee "$work/source.log"
  echo $(( $(date +%s) - start )) > "$work/source.seconds"
  touch "$work/source/.complete"
fi

protect() { # name method [extra options]
  local name=$1 method=$2; shift 2
  if [ ! -f "$work/$name/.robustness/.complete" ]; then
    local start=$(date +%s)
    $tool protect --input "$work/data/train" --output "$work/$name" --method "$method" --eps 8/255 --seed 0 --device cpu "$@" | tail -1
    echo $(( $(date +%s) - start )) > "$work/$name.seconds"
    touch "$work/$name/.robustness/.complete"
  fi
}
ckpt=(--checkpoints "$work/source/checkpoints")
for m in $methods; do
  case $m in
    random) protect random random ;;
    final-checkpoint) protect final-checkpoint final-checkpoint "${ckpt[@]}" --iterations "$iterations" ;;
    sep) protect sep sep "${ckpt[@]}" --checkpoint-count 5 --iterations "$iterations" ;;
    sep-fa) protect sep-fa sep-fa "${ckpt[@]}" --checkpoint-count 5 --iterations "$iterations" ;;
    sep-fa-vr) protect sep-fa-vr sep-fa-vr "${ckpt[@]}" --checkpoint-count 5 --iterations "$iterations" ;;
    sep-eot) protect sep-eot sep "${ckpt[@]}" --checkpoint-count 5 --iterations "$iterations" --eot ;;
    error-minimizing) protect error-minimizing error-minimizing ;;
    *) echo "unknown method $m" >&2; exit 2 ;;
  esac
done

sets=()
for m in $methods; do sets+=(--protected "$m=$work/$m"); done
# One call for all pipelines, so that report.md/html and accuracy.png hold them all; victims.jsonl keeps each finished
# victim, so a rerun after a kill trains only the missing ones.
if [ -z "${REPORT_ONLY:-}" ]; then
  $tool evaluate-protection --clean "$work/data/train" "${sets[@]}" --test "$work/data/test" --arch "$arch" \
    --width "$victim_width" --epochs "$victim_epochs" --pipelines "$pipelines" --seed 1 --device cpu --report "$work/stress" | grep -v '^victim ' || true
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
# What oneDNN ran on (the kernel guard's cap): the figures follow the kernels.
guard="oneDNN ISA: $($tool doctor --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["oneDnnIsa"] + " (kernel guard " + d["guard"]["state"] + ")")' || echo unknown)"
/usr/bin/python3 - "$work" "$out" "$cpu, $(nproc) cores; CPU flags: $flags" "$guard" "$arch" "$epochs" "$victim_epochs" "$iterations" "$methods" "$victim_width" "${MERGE:-}" "$(date -u +%Y-%m-%d)" <<'PY'
import json, os, sys
work, out, machine, guard, arch, epochs, victim_epochs, iterations, methods, victim_width, merge, merge_date = sys.argv[1:]
methods = methods.split()
p = os.path.join(work, "stress", "victims.jsonl")
cells = [json.loads(l)["cell"] for l in open(p) if l.strip()] if os.path.exists(p) else []
earlier = json.load(open(merge)) if merge else None
merge_note = ""
if earlier:
    # The earlier run's clean victims stay the table's baseline; this run's are only compared with them.
    rerun = {c["pipeline"]: c["accuracy"] for c in cells if c["set"] == "clean"}
    first = {c["pipeline"]: c["accuracy"] for c in earlier["cells"] if c["set"] == "clean"}
    diffs = [abs(rerun[k] - first[k]) for k in rerun if k in first]
    merge_note = (f"\nThe {', '.join(methods)} column(s) come from a second run of this script (MERGE={merge}, {merge_date}; the chart, stress-test-cpu.png, holds the first run's columns only); its clean victims, retrained with "
                  f"the same seed, differ from the first run's by at most {100 * max(diffs):.1f} points over {len(diffs)} pipelines"
                  + (", so the columns share one baseline.\n" if max(diffs) < 0.005 else "; the new column's brackets are against the first run's clean victims, so read them with that difference in mind.\n")
                  if diffs else "")
    old_methods = [m for m in earlier.get("methods", list(earlier["crafting_seconds"])) if m not in methods]
    old_seconds = {m: s for m, s in earlier.get("crafting_seconds", {}).items() if m not in methods}
    cells = [c for c in earlier["cells"] if c["set"] not in methods] + [c for c in cells if c["set"] in methods]
    order = ["random", "final-checkpoint", "sep", "sep-fa", "sep-fa-vr", "sep-eot", "error-minimizing"]
    methods = sorted(old_methods + methods, key=lambda m: order.index(m) if m in order else len(order))
r = os.path.join(work, "stress", "report.json")
recipe = json.load(open(r))["recipe"] if os.path.exists(r) else ""
def acc(pipeline, s):
    return next((c["accuracy"] for c in cells if c["pipeline"] == pipeline and c["set"] == s), None)
def read(name):
    f = os.path.join(work, f"{name}.seconds")
    return int(open(f).read()) if os.path.exists(f) else (old_seconds.get(name) if earlier else None)
source_log = open(os.path.join(work, "source.log")).read().strip() if os.path.exists(os.path.join(work, "source.log")) else ""
summary_line = source_log.splitlines()[-1] if source_log else ""
source_summary = summary_line[summary_line.index("train accuracy"):summary_line.index(";")] if "train accuracy" in summary_line and ";" in summary_line else "log missing"
names = {"none": "none (the victim's own random crop 32 pad 4 + flip)", "jpeg95": "JPEG re-encoding, quality 95", "jpeg85": "JPEG re-encoding, quality 85",
         "jpeg75": "JPEG re-encoding, quality 75", "resize2": "resize down by 2 and back (bilinear)", "crop-flip": "random resized crop (8-100% of the area) + flip",
         "grayscale": "grayscale (BT.709 luma, training and test images)", "blur0.5": "Gaussian blur, sigma 0.5 px", "pgd-at": "PGD adversarial training, eps 8/255"}
labels = {"clean": "clean", "random": "random", "final-checkpoint": "final ckpt", "sep": "SEP", "sep-fa": "SEP-FA", "sep-fa-vr": "SEP-FA-VR",
          "sep-eot": "SEP + EOT", "error-minimizing": "error-min."}
sets = ["clean"] + methods
measured = [p for p in names if any(c["pipeline"] == p for c in cells)]
lines = ["| trainer pipeline | " + " | ".join(labels.get(s, s) for s in sets) + " |", "|---|" + "---:|" * len(sets)]
for p in measured:
    base = acc(p, "clean")
    row = []
    for s in sets:
        a = acc(p, s)
        row.append("-" if a is None else f"{100 * a:.1f}" if s == "clean" or base is None else f"{100 * a:.1f} ({100 * (a - base):+.1f})")
    lines.append(f"| {names[p]} | " + " | ".join(row) + " |")
times = ", ".join(f"{labels.get(m, m)} {read(m)} s" for m in methods if read(m) is not None)
described = {"random": "random +-eps noise", "final-checkpoint": f"final checkpoint (K = 1, T = {iterations})",
             "sep": f"SEP (K = 5 by SEP's selection rule, T = {iterations}, step 1/255)", "sep-fa": "SEP-FA (the same, feature alignment)",
             "sep-fa-vr": "SEP-FA-VR (the same, variance reduction with its default inner steps)",
             "sep-eot": "SEP + EOT, the crafting change of part 1 (each step's gradient through a random resized crop of 50-100% of the area and a flip)",
             "error-minimizing": "error-minimising noise (Huang et al. 2021, its own small-cnn surrogate, min-min to 99% accuracy)"}
protection = "; ".join(described.get(m, m) for m in methods)
# Reading: one victim seed, so the band that random noise moves a victim by (largest |random - clean| over the rows)
# is the noise floor; a drop beyond twice that band counts as held, one within the band as removed.
band = max((abs(acc(p, "random") - acc(p, "clean")) for p in measured if acc(p, "random") is not None and acc(p, "clean") is not None), default=None)
reading = []
if band is not None:
    band = max(band, 0.005)
    for s in methods:
        if s == "random": continue
        verdict = {"held": [], "weakened": [], "removed": []}
        for p in measured:
            a, b = acc(p, s), acc(p, "clean")
            if a is None or b is None: continue
            drop = b - a
            verdict["held" if drop > 2 * band else "removed" if drop <= band else "weakened"].append("no change" if p == "none" else p)
        reading.append(f"- {labels.get(s, s)}: held (drop > {200 * band:.1f} points) under " + (", ".join(verdict["held"]) or "-")
                       + "; weakened under " + (", ".join(verdict["weakened"]) or "-") + "; removed (drop <= "
                       + f"{100 * band:.1f}) under " + (", ".join(verdict["removed"]) or "-") + ".")
with open(out + ".md", "w") as f:
    f.write(f"""# Protection stress test, CIFAR-10, CPU

Machine: {machine}; {guard}. Produced by `benchmarks/run-stress-test.sh {work} {arch} {epochs} {victim_epochs} {iterations} <pipelines> {victim_width}`
(raw numbers in the .json beside this file; the bar chart is accuracy.png in the report folder, copied to stress-test-cpu.png).

Data: the first 200 CIFAR-10 training images of each class (2,000, the SEP CPU table's training set), 32x32; test: the first 200 test images of each class (2,000).
Source model: {arch} at its standard width, {epochs} epochs (SEP's recipe), a checkpoint each epoch ({source_summary}).
Protection at 8/255 (`protect`): {protection}.
Crafting wall time on these cores: {times}.
Victims (`evaluate-protection`): {recipe}; one seed. A victim trains on the set after the row's pipeline and is tested on the clean test images
(grayscale: the test images are grayscale too).

Each cell: the victim's clean test accuracy (%), with the difference from the clean set's victim under the same pipeline in brackets
(more negative = the protection held; around 0 = the pipeline removed it).

""" + "\n".join(lines) + "\n" + merge_note + ("""
Reading, computed from the table: with one victim seed, random noise moved the victim by up to {:.1f} points from the clean one
(largest |random - clean| over the rows), so that band is the noise floor.
""".format(100 * band) + "\n".join(reading) + "\n" if reading else ""))
json.dump({"cells": cells, "methods": methods, "recipe": recipe, "crafting_seconds": {m: read(m) for m in methods}}, open(out + ".json", "w"), indent=2)
PY
# A merged table keeps the earlier run's chart: this run's report draws only its own columns.
if [ -z "${MERGE:-}" ] && [ -f "$work/stress/accuracy.png" ]; then cp "$work/stress/accuracy.png" "$out.png"; fi
cat "$out.md"
