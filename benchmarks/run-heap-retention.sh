#!/usr/bin/env bash
# Heap retention (issue 18): the library with its glibc malloc thresholds (HeapRetention) and with
# ROBUSTNESS_HEAP_RETENTION=off, against the PyTorch twins of the same workloads with glibc's defaults and with the
# same thresholds; PGD-10, SEP crafting, Trainer steps. Writes benchmarks/results/heap-retention-cpu.{md,json}.
# With --huge-pages: what HugePages adds (ROBUSTNESS_HUGE_PAGES=off against the shipped library; PyTorch with the same
# thresholds with and without glibc.malloc.hugetlb=1), plus ResNet-18 w64 training; writes huge-pages-cpu.{md,json}.
# Installs Debian's PyTorch if missing. Usage: benchmarks/run-heap-retention.sh [--huge-pages] [--repeats N] [--threads N] [--name NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/pytorch-baseline.sh
dll=$bench_dll
dotnet "$dll" heap-retention "$@"
