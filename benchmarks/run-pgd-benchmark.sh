#!/usr/bin/env bash
# PGD-10 throughput and robust accuracy: Robustness.Attacks.Pgd vs PyTorch on the same weights and images, on this
# machine. Installs Debian's PyTorch if missing. Usage: benchmarks/run-pgd-benchmark.sh [--quick] [--repeats N]
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/pytorch-baseline.sh
dll=$bench_dll
dotnet "$dll" pgd "$@"
