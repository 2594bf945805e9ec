#!/usr/bin/env bash
# Heap retention (issue 18): the library with its glibc malloc thresholds (HeapRetention) and with
# ROBUSTNESS_HEAP_RETENTION=off, against the PyTorch twins of the same workloads with glibc's defaults and with the
# same thresholds; PGD-10, SEP crafting, Trainer steps. Writes benchmarks/results/heap-retention-cpu.{md,json}.
# Installs Debian's PyTorch if missing. Usage: benchmarks/run-heap-retention.sh [--repeats N] [--threads N] [--name NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "Installing Debian's python3-torch (the PyTorch baseline)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-numpy
fi
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
dll=$(ls benchmarks/Robustness.Benchmarks/bin/Release/net10.0/*/Robustness.Benchmarks.dll | head -1)
dotnet "$dll" heap-retention "$@"
