#!/usr/bin/env bash
# Heap retention (issue 18): the library with its glibc malloc thresholds (HeapRetention) and with
# ROBUSTNESS_HEAP_RETENTION=off, against the PyTorch twins of the same workloads with glibc's defaults and with the
# same thresholds; PGD-10, SEP crafting, Trainer steps. Writes benchmarks/results/heap-retention-cpu.{md,json}.
# Installs Debian's PyTorch if missing. Usage: benchmarks/run-heap-retention.sh [--repeats N] [--threads N] [--name NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/pytorch-baseline.sh
dll=$bench_dll
dotnet "$dll" heap-retention "$@"
