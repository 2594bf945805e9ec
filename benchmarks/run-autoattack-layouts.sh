#!/usr/bin/env bash
# The library's standard AutoAttack with its attacks channels-last (as they run under the kernel guard) and plain NCHW
# (ROBUSTNESS_CHANNELS_LAST=off), side by side on the same weights and images, each attack's own seconds: what the
# channels-last attacks change, attack by attack. Uses the model and images that run-autoattack-benchmark.sh prepared.
# Writes benchmarks/results/NAME.{json,md}.
# REPEATS runs of each layout, each a fresh process, the order rotating (channels-last first in odd repeats).
# Usage: benchmarks/run-autoattack-layouts.sh [WORK_DIR=benchmarks/work/autoattack] [IMAGES=250] [STEPS=100] [NAME=autoattack-layouts-cpu] [REPEATS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/autoattack}
images=${2:-250}
steps=${3:-100}
name=${4:-autoattack-layouts-cpu}
repeats=${5:-1}
[ -f "$work/pgd-at.safetensors" ] || { echo "$work/pgd-at.safetensors is missing: run benchmarks/run-autoattack-benchmark.sh first" >&2; exit 2; }
dotnet build -c Release benchmarks/Robustness.Benchmarks > /dev/null
bench=benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll
out=$(mktemp)
for repeat in $(seq 1 "$repeats"); do
  if [ $((repeat % 2)) = 1 ]; then order="channels-last nchw"; else order="nchw channels-last"; fi
  for layout in $order; do
    if [ "$layout" = nchw ]; then export ROBUSTNESS_CHANNELS_LAST=off; else unset ROBUSTNESS_CHANNELS_LAST; fi
    line=$(dotnet "$bench" autoattack-worker "$work/pgd-at.safetensors" "$work/data/test" "$images" "$steps" 2 250 8/255 | grep '^{' | tail -1)
    echo "{\"layout\": \"$layout\", \"repeat\": $repeat, \"result\": $line}" >> "$out"
  done
done
unset ROBUSTNESS_CHANNELS_LAST
/usr/bin/python3 - "$out" "benchmarks/results/$name" "$images" "$steps" "$work" "$repeats" <<'EOF'
import json, platform, statistics, subprocess, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
prefix, images, steps, work, repeats = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
flags = open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0].split()
ext = [f for f in flags if f in ("avx2", "fma") or f.startswith("avx512")]
model = next(l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
json.dump({"benchmark": prefix.split("/")[-1], "cpu": model, "cpu_extensions": ext, "date": date, "images": int(images), "steps": int(steps),
           "rows": rows}, open(prefix + ".json", "w"), indent=2)
attacks = ["apgd-ce", "apgd-t", "fab-t", "square"]
base = next(r for r in rows if r["layout"] == "nchw")["result"]
def median(layout, key):
    return statistics.median(r["result"]["seconds"] if key == "total" else r["result"]["attack_seconds"].get(key, 0) for r in rows if r["layout"] == layout)
md = [f"# AutoAttack attack by attack: channels-last against plain NCHW (CPU)", "",
      f"Machine: {model}, 2 threads; CPU extensions: {' '.join(ext)}; {date}; kernel guard {base['kernel_guard']}.",
      f"The library's standard AutoAttack ({steps} steps, Square 5,000 queries, l-inf 8/255, batches of 250) on the first {int(images) // 10} test images of each class "
      f"of `{work}/data/test` and the attack table's PGD-AT small-cnn w16 (`{work}/pgd-at.safetensors`), each run a fresh process, {repeats} run(s) per layout, the order rotating: "
      "channels-last is how the attacks run under the kernel guard (NHWC strides handed to the model), NCHW is `ROBUSTNESS_CHANNELS_LAST=off`.", "",
      "| layout | run | " + " | ".join(f"{a} s" for a in attacks) + " | total s | robust % | total / NCHW (same repeat) |", "|---|---|" + "---:|" * (len(attacks) + 3)]
for r in rows:
    res = r["result"]
    nchw = next(q for q in rows if q["layout"] == "nchw" and q.get("repeat", 1) == r.get("repeat", 1))["result"]
    md.append(f"| {r['layout']} | {r.get('repeat', 1)} | " + " | ".join(f"{res['attack_seconds'].get(a, 0):.1f}" for a in attacks)
              + f" | {res['seconds']:.1f} | {100 * res['robust_accuracy']:.1f} | {res['seconds'] / nchw['seconds']:.2f} |")
if repeats > 1:
    for layout in ("channels-last", "nchw"):
        md.append(f"| {layout} | median | " + " | ".join(f"{median(layout, a):.1f}" for a in attacks)
                  + f" | {median(layout, 'total'):.1f} | | {median(layout, 'total') / median('nchw', 'total'):.2f} |")
md += ["", f"Produced by: `benchmarks/run-autoattack-layouts.sh {work} {images} {steps} {prefix.split('/')[-1]} {repeats}`."]
open(prefix + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
EOF
rm -f "$out"
