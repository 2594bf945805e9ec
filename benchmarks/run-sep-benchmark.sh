#!/usr/bin/env bash
# SEP crafting throughput (image x checkpoint x iteration per second) of Robustness.Protection.SelfEnsembleProtection vs
# a plain PyTorch SEP on the same checkpoints and images, on this machine, plus agreement of the protected bytes.
# Installs Debian's PyTorch if missing. Usage: benchmarks/run-sep-benchmark.sh [--quick] [--repeats N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "Installing Debian's python3-torch (the PyTorch baseline)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-numpy
fi
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
dll=$(ls benchmarks/Robustness.Benchmarks/bin/Release/net10.0/*/Robustness.Benchmarks.dll | head -1)
dotnet "$dll" sep-craft "$@"
