#!/usr/bin/env bash
# Model parsing on two CPU cores (issue 15): the cpu victim grid's Latin fraction (45 of RED-adv's 135 victims:
# ResNet-9/20/18, VGG-11/13 at width 16 x kernel 3/5/7 x ReLU/tanh/ELU x conv sparsity 0/37.5/62.5%, one sparsity per
# architecture, kernel and activation, every pair of attribute values present), trained on 2,000 CIFAR-10 training
# images (200 per class); FGSM and PGD at 4/8/12/16, CW-l2, Square, ZO-signSGD and NES (25 steps of 0.8/255) at 8/255 on 50 test images per
# victim; then model parsing networks on the perturbations, evaluated in distribution, across attack types and
# budgets, on held-out victims, and on transfer attacks (each victim's PGD-8 test examples sent to every other victim). Writes benchmarks/results/forensics-cifar10-cpu.md (+ .json and the heat maps).
# Every stage resumes: run it again after a kill. Usage: benchmarks/run-forensics-cpu.sh [WORK_DIR] [PARSER_EPOCHS] [all|evaluate] [PARSER_BATCH]
# ("evaluate" skips training and attacking and evaluates whatever the record folder holds, e.g. after a stop part way).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/forensics-cpu}
epochs=${2:-30}
stages=${3:-all}
batch=${4:-64}
# Parser batch 64, not RED-adv's 512: these sets hold a few hundred to two thousand examples, where 512 is 1-4 steps an epoch
# (measured on the pruning records: FGSM 82.6 -> 89.4 %, per-budget parsers from chance to 74-88 %).
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/forensics-cifar10-cpu

# The data: the first 1,000 training and 200 test images of each class by file name (the zoo uses the first 200).
. benchmarks/cifar-subset.sh
cifar_subset "$tarball" "$work/data" train:1000 test:200

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
tool="dotnet $work/bin/Robustness.Cli.dll"
start=$(date +%s)
if [ "$stages" = all ]; then
  $tool forensics zoo --data "$work/data/train" --test "$work/data/test" --per-class 200 --grid cpu --design latin --out "$work/zoo" | tee -a "$work/zoo.log"
fi
zoo_done=$(date +%s)
if [ "$stages" = all ]; then
  $tool forensics attacks --zoo "$work/zoo" --data "$work/data/test" --out "$work/records" --attacks cpu \
    --only fgsm,pgd,cw-l2,square,zo-signsgd,nes --images 50 --design latin | tee -a "$work/attacks.log"
fi
attacks_done=$(date +%s)
$tool forensics evaluate --records "$work/records" --out "$work/report" --input perturbation --backbone convnet4 --epochs "$epochs" --batch-size "$batch" \
  --zoo "$work/zoo" --transfer-setting pgd-eps8 | tee "$work/evaluate.log"
end=$(date +%s)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
mkdir -p "$out"
cp "$work/report/cross-attack.png" "$out/cross-attack.png"
[ -f "$work/report/cross-budget.png" ] && cp "$work/report/cross-budget.png" "$out/cross-budget.png"
cp "$work/report/transfer.png" "$out/transfer.png"
cp "$work/report/parsing.json" "$out.json"
# What the records hold (a stop part way leaves fewer victims than the fraction's 45).
read -r victims architectures <<< "$(python3 - "$work/records/index.jsonl" <<'PY'
import json, sys
shards = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
victims = {s["Victim"]: s["Attributes"]["Architecture"] for s in shards}
order = ["resnet9", "resnet20", "resnet18", "vgg11", "vgg13"]
counts = {a: sum(1 for v in victims.values() if v == a) for a in order}
print(len(victims), ", ".join(f"{a} ({counts[a]})" for a in order if counts[a]))
PY
)"
zoo_victims=$(python3 -c "import json; print(len(json.load(open('$work/zoo/zoo.json'))['Victims']))")
{
  echo "# Model parsing of adversarial attacks, CIFAR-10, CPU"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Wall time of this invocation: zoo $(( (zoo_done - start) / 60 )) min, attack records $(( (attacks_done - zoo_done) / 60 )) min, parsers $(( (end - attacks_done) / 60 )) min (stages already done on disk are kept, so a resumed run shows only what it did)."
  echo
  echo "Victims: the cpu grid's Latin fraction (\`--design latin\`: one conv sparsity per architecture x kernel x activation,"
  echo "so every kernel, activation and sparsity value occurs equally often and every pair of their values occurs), of which the"
  echo "records hold $victims networks of the architectures $architectures (the whole fraction is 45, 9 per architecture; the zoo"
  echo "folder holds $zoo_victims trained victims); width 16, 6 dense epochs, global L1 pruning of the convolutions, rewinding to"
  echo "epoch 1, 6 masked epochs, on 2,000 CIFAR-10 training images. Attacks: FGSM and PGD at"
  echo "4/8/12/16 (PGD steps 0.5/1/2/2 /255, 10 steps), CW-l2 (c = 1), Square (1,000 queries), ZO-signSGD and NES (25 steps of 0.8/255:"
  echo "RED-adv's 0.0005 would cross at most 3.2/255 in 25 steps) at 8/255, on the same 50 test images per victim. Left out of this run for time: AutoAttack (measured over 3"
  echo "minutes per victim on 100 images, most of it in FAB-T and Square on the few points APGD leaves) and the grid's other 90 victims."
  echo
  tail -n +3 "$work/report/parsing.md" | sed 's|(cross-attack.png)|(forensics-cifar10-cpu/cross-attack.png)|; s|(transfer.png)|(forensics-cifar10-cpu/transfer.png)|'
  echo
  echo "Produced by: \`benchmarks/run-forensics-cpu.sh $work $epochs $stages $batch\` (parsers: ConvNet-4 on the perturbation x' - x, $epochs epochs, batch $batch)."
} > "$out.md"
cat "$out.md"
