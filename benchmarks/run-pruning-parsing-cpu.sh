#!/usr/bin/env bash
# Can model parsing tell a PwoA-pruned victim from a dense one? (issue 15, beyond RED-adv) On two CPU cores: the PGD-AT
# small-cnn teacher of the CPU attack and PwoA tables (trained here if not given), pruned by PwoA (fast profile, no
# adversarial examples) to 2x, 4x and 16x; the four models registered as a victim zoo (forensics import: conv sparsity
# measured); FGSM and PGD at 4/8/12/16 /255 on 1,000 CIFAR-10 test images each (forensics attacks); ConvNet-4 parsers on
# the perturbations name the sparsity (0, 50, 75 or 93.75%) of images they never saw (forensics evaluate). One teacher, so
# this is RED-adv's in-distribution question (the same victims, other images), not generalisation to unseen teachers.
# Writes benchmarks/results/pruning-parsing-cpu.md (+ .json). Resumable: every model and record is kept.
# Usage: benchmarks/run-pruning-parsing-cpu.sh [WORK_DIR] [TEACHER] [PARSER_EPOCHS] [PARSER_BATCH]
# Parser batch 64, not RED-adv's 512: these sets hold a few hundred to two thousand examples, where 512 is 1-4 steps an epoch
# (measured on the pruning records: FGSM 82.6 -> 89.4 %, per-budget parsers from chance to 74-88 %).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/pruning-parsing-cpu}
teacher=${2:-$work/pgd-at.safetensors}
epochs=${3:-30}
batch=${4:-64}
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/pruning-parsing-cpu

. benchmarks/cifar-subset.sh
cifar_subset "$tarball" "$work/data" train:1000 test:100
dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
tool="dotnet $work/bin/Robustness.Cli.dll"
start=$(date +%s)
if [ ! -f "$teacher" ]; then # the recipe of run-autoattack-benchmark.sh and the PwoA table's teacher
  $tool train --data "$work/data/train" --arch small-cnn --width 16 --epochs 10 --schedule sep --augment crop-flip \
    --normalization cifar10 --seed 0 --adversarial pgd --eps 8/255 --device cpu --out "$teacher.tmp.safetensors"
  mv "$teacher.tmp.safetensors" "$teacher"
fi
mkdir -p "$work/models"
cp "$teacher" "$work/models/dense.safetensors"
for ratio in 2x 4x 16x; do
  if [ ! -f "$work/models/pwoa-$ratio.safetensors" ]; then
    $tool prune --model "$teacher" --data "$work/data/train" --out "$work/pwoa-$ratio.tmp.safetensors" --sparsity "$ratio" \
      --method pwoa --profile fast --no-autoattack --seed 0 | tail -n 3
    mv "$work/pwoa-$ratio.tmp.safetensors" "$work/models/pwoa-$ratio.safetensors"
  fi
done
pruned=$(date +%s)
$tool forensics import --models "$work/models" --out "$work/zoo" --test "$work/data/test" | tee "$work/import.log"
$tool forensics attacks --zoo "$work/zoo" --data "$work/data/test" --out "$work/records" --attacks cpu --only fgsm,pgd --images 1000 | tail -n 2
attacked=$(date +%s)
$tool forensics evaluate --records "$work/records" --out "$work/report" --input perturbation --backbone convnet4 --epochs "$epochs" --batch-size "$batch" | tee "$work/evaluate.log"
end=$(date +%s)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
mkdir -p "$out"
cp "$work/report/cross-attack.png" "$work/report/cross-budget.png" "$out/"
cp "$work/report/parsing.json" "$out.json"
{
  echo "# Can model parsing tell a PwoA-pruned victim from a dense one? CIFAR-10, CPU"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Wall time of this invocation: teacher and pruning $(( (pruned - start) / 60 )) min, attack records $(( (attacked - pruned) / 60 )) min, parsers $(( (end - attacked) / 60 )) min (what was on disk is kept)."
  echo
  echo "Victims: the PGD-AT small-cnn teacher (width 16; \`$(basename "$teacher")\`, sha256 $(sha256sum "$teacher" | cut -c1-12)) and its PwoA-pruned copies at 2x, 4x"
  echo "and 16x (fast profile: 6 ADMM + 6 retraining epochs on the 10,000 clean training images), as \`forensics import\` registered them:"
  echo
  echo '```'
  grep -v ' victims in ' "$work/import.log"
  echo '```'
  echo
  echo "Attacks: FGSM and PGD-10 at 4/8/12/16 /255 on 1,000 test images per victim. One teacher: this is RED-adv's in-distribution"
  echo "question (the same four victims, images the parser never saw), not whether the signature carries to other teachers."
  echo
  tail -n +3 "$work/report/parsing.md" | sed 's|(cross-attack.png)|(pruning-parsing-cpu/cross-attack.png)|'
  echo
  echo "Produced by: \`benchmarks/run-pruning-parsing-cpu.sh $work $teacher $epochs $batch\`."
} > "$out.md"
cat "$out.md"
