#!/usr/bin/env bash
# SEP crafting throughput (image x checkpoint x iteration per second) of Robustness.Protection.SelfEnsembleProtection vs
# a plain PyTorch SEP on the same checkpoints and images, on this machine, plus agreement of the protected bytes.
# Installs Debian's PyTorch if missing. Usage: benchmarks/run-sep-benchmark.sh [--quick] [--repeats N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/pytorch-baseline.sh
dll=$bench_dll
dotnet "$dll" sep-craft "$@"
