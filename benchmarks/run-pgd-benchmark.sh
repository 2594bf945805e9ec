#!/usr/bin/env bash
# PGD-10 throughput and robust accuracy: Robustness.Attacks.Pgd vs PyTorch on the same weights and images, on this
# machine. Installs Debian's PyTorch if missing. Usage: benchmarks/run-pgd-benchmark.sh [--quick] [--repeats N]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "Installing Debian's python3-torch (the PyTorch baseline)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-numpy
fi
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
dll=$(ls benchmarks/Robustness.Benchmarks/bin/Release/net10.0/*/Robustness.Benchmarks.dll | head -1)
dotnet "$dll" pgd "$@"
