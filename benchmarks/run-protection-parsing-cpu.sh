#!/usr/bin/env bash
# Does protection leak the protector? (issue 15, beyond RED-adv) On two CPU cores: one SEP source model per architecture
# (ResNet-18, VGG-11, ResNet-20 at width 16, SEP's recipe, a checkpoint per epoch) trained on 2,000 CIFAR-10 training
# images (200 per class); the same 500 test images protected by SEP (8/255, T iterations) from every architecture x K
# checkpoints; ConvNet-4 parsers trained on 400 of the images under every protector name the source architecture and K
# of the other 100, from the perturbation, from the protected image alone, and from a DnCNN's estimate of the
# perturbation (8 convolutions of 32 channels, 10 epochs: RED-adv's 17 x 64 x 20 is about eight times the cost). Writes
# benchmarks/results/protection-parsing-cpu.md (+ .json and the confusion charts). Resumable: run it again after a kill.
# Usage: benchmarks/run-protection-parsing-cpu.sh [WORK_DIR] [ITERATIONS] [SOURCE_EPOCHS] [CHECKPOINTS] [PARSER_BATCH] [PARSER_LR]
# Parser learning rate 0.01, not RED-adv's 0.1: on the protected images themselves (raw pixels, the perturbation a small part
# of them) lr 0.1 collapsed the parser to one answer for every image (exactly chance); at 0.01 it names the source
# architecture 84 % of the time (measured 2026-12-08; the perturbation parser is the same at either rate).
# Parser batch 64, not RED-adv's 512: these sets hold a few hundred to two thousand examples, where 512 is 1-4 steps an epoch
# (measured on the pruning records: FGSM 82.6 -> 89.4 %, per-budget parsers from chance to 74-88 %).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-benchmarks/work/protection-parsing-cpu}
iterations=${2:-30}
epochs=${3:-10}
checkpoints=${4:-1,3,5}
batch=${5:-64}
lr=${6:-0.01}
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
out=benchmarks/results/protection-parsing-cpu

. benchmarks/cifar-subset.sh
cifar_subset "$tarball" "$work/data" train:200 test:50

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > /dev/null
start=$(date +%s)
dotnet "$work/bin/Robustness.Cli.dll" forensics protection --data "$work/data/train" --images "$work/data/test" --out "$work/study" \
  --architectures resnet18,vgg11,resnet20 --checkpoints "$checkpoints" --epochs "$epochs" --width 16 --protect 500 \
  --iterations "$iterations" --eps 8/255 --parser-epochs 30 --parser-batch-size "$batch" --parser-lr "$lr" --denoiser-depth 8 --denoiser-width 32 --denoiser-epochs 10 | tee -a "$work/study.log"
end=$(date +%s)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
mkdir -p "$out"
cp "$work/study/confusion-perturbation.png" "$work/study/confusion-protected.png" "$work/study/confusion-denoised.png" "$out/"
cp "$work/study/protection.json" "$out.json"
{
  echo "# Does protection leak the protector? CIFAR-10, CPU"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Wall time of this invocation: $(( (end - start) / 60 )) min (sources and protected images already on disk are kept, so a resumed run shows only what it did)."
  echo
  tail -n +3 "$work/study/protection.md" | sed 's|(confusion-|(protection-parsing-cpu/confusion-|g'
  echo
  echo "Produced by: \`benchmarks/run-protection-parsing-cpu.sh $work $iterations $epochs $checkpoints $batch $lr\` (sources on the first 200 CIFAR-10 training images per class, the 500 protected images a seeded choice of the first 50 test images per class)."
} > "$out.md"
cat "$out.md"
