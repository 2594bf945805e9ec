#!/usr/bin/env bash
# Training throughput and memory: Robustness vs PyTorch on this machine. Installs Debian's PyTorch if missing.
# Usage: benchmarks/run-training-benchmark.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/pytorch-baseline.sh
dll=$bench_dll
dotnet "$dll" training "$@"
dotnet "$dll" memory
