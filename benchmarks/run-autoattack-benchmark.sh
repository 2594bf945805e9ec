#!/usr/bin/env bash
# Issue 18's AutoAttack comparison: the library's standard AutoAttack against torchattacks' (3.5.1) on the same PGD-AT
# weights and the same 1,000 CIFAR-10 test images, at 100 steps (Croce and Hein's AutoAttack) and at 10 (torchattacks'
# AutoAttack as it ships), time per 1,000 images and robust accuracy of both. Writes benchmarks/results/autoattack-cpu.{md,json}.
#
# torchattacks is not in Debian and is not vendored here: TORCHATTACKS_SRC is a checkout of its source, e.g.
#   git clone https://github.com/Harry24k/adversarial-attacks-pytorch && git -C adversarial-attacks-pytorch checkout v3.5.1
# (or `git archive v3.5.1` of a mirror). Its dependencies come from Debian: python3-torch, python3-numpy, python3-scipy.
#
# The model is the attack table's PGD-AT small-cnn w16 (results/attack-cifar10-cpu.md), trained here once with the
# command that table names, on the first 1,000 training images of each class (about half an hour on 2 cores).
# Where the library's kernel guard caps oneDNN (AVX-512 CPUs), torchattacks also runs under the same cap, to tell kernels
# from the rest. Usage: benchmarks/run-autoattack-benchmark.sh TORCHATTACKS_SRC [WORK_DIR] [STEPS=100,10] [NAME=autoattack-cpu]
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: benchmarks/run-autoattack-benchmark.sh TORCHATTACKS_SRC [WORK_DIR] [STEPS]}
work=${2:-benchmarks/work/autoattack}
steps=${3:-100,10}
name=${4:-autoattack-cpu}
[ -f "$src/torchattacks/__init__.py" ] || { echo "$src does not hold torchattacks/__init__.py (a checkout of torchattacks' source)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch, numpy, scipy' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy python3-scipy; }

. benchmarks/cifar-subset.sh
cifar_subset ../shared/datasets/cifar10/cifar10-jpeg.tar.gz "$work/data" train:1000 test:100

dotnet build -c Release src/Robustness.Cli -o "$work/cli" > /dev/null
if [ ! -f "$work/pgd-at.safetensors" ]; then
  dotnet "$work/cli/Robustness.Cli.dll" train --data "$work/data/train" --arch small-cnn --width 16 --epochs 10 --schedule sep \
    --augment crop-flip --normalization cifar10 --seed 0 --adversarial pgd --eps 8/255 --device cpu --out "$work/pgd-at.tmp.safetensors"
  mv "$work/pgd-at.tmp.safetensors" "$work/pgd-at.safetensors"
fi
dotnet build -c Release benchmarks/Robustness.Benchmarks > /dev/null
dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll autoattack --model "$work/pgd-at.safetensors" \
  --data "$work/data/test" --images 1000 --torchattacks "$src" --steps "$steps" --threads 2 --batch 250 --name "$name"
