#!/usr/bin/env bash
# CI check of the tool's HTML reports: writes every command's report on tiny synthetic data (train, attack, evaluate
# prune, protect, and the demo) and renders each report.html in Debian's headless Chromium (playwright-core drives
# it; no browser is downloaded). Installs chromium from Debian's packages when it is missing (root) and the npm
# package from the lock file. Usage: tests/html-reports/run.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-artifacts/html-reports}
rm -rf "$work" && mkdir -p "$work"

if ! command -v "${CHROMIUM:-chromium}" > /dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "html-reports: chromium is missing and this is not root: apt-get install chromium" >&2; exit 1; fi
  apt-get install -y -q chromium > "$work/apt.log" 2>&1 || { apt-get update -q > /dev/null && apt-get install -y -q chromium > "$work/apt.log" 2>&1; }
fi
(cd tests/html-reports && npm ci --no-audit --no-fund --silent)

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > "$work/build.log"
tool() { echo "robustness $*" >> "$work/runs.log"; dotnet "$work/bin/Robustness.Cli.dll" "$@" >> "$work/runs.log" 2>&1 || { cat "$work/runs.log"; exit 1; }; }
model="$work/model.safetensors"
# The demo writes the embedded synthetic set as class folders (data/train), its checkpoints and its own report; the
# other commands reuse them (the numbers do not matter here, the pages do).
data="$work/demo/data/train"
tool demo --out "$work/demo" --train-images 100 --test-images 50 --epochs 1 --width 4 --checkpoint-count 1 --iterations 2
# Two images per class for the attacks (AutoAttack's targeted attacks are slow even on a tiny model).
few="$work/few"
for class_dir in "$data"/*/; do
  mkdir -p "$few/$(basename "$class_dir")"
  find "$class_dir" -name '*.png' | sort | awk 'NR <= 2' | while read -r f; do cp "$f" "$few/$(basename "$class_dir")/"; done
done
tool train --data "$data" --test "$data" --width 4 --epochs 2 --out "$model" --report "$work/train"
tool attack --model "$model" --data "$few" --eps 8/255 --steps 3 --budgets 2/255,16/255 --report "$work/attack"
# Without --autoattack: its picture is checked by the tests; here it would cost minutes for nothing the page needs.
tool evaluate --model "$model" --data "$few" --report "$work/evaluate"
tool prune --model "$model" --data "$data" --sparsity 0.5 --profile fast \
  --admm-epochs 1 --retrain-epochs 1 --batch-size 32 --attack-images 10 --no-autoattack --out "$work/pruned.safetensors" --report "$work/prune"
tool protect --input "$data" --output "$work/protected" --train-epochs 1 --width 4 --iterations 2 --report "$work/protect"

# Pictures each page must show: train 2, attack 2, evaluate 1, prune 2, protect one per class (10), demo's 10 + its chart.
node tests/html-reports/render.mjs "$work/train/report.html:2" "$work/attack/report.html:2" "$work/evaluate/report.html:1" \
  "$work/prune/report.html:2" "$work/protect/report.html:10" "$work/demo/report/report.html:11"
