#!/usr/bin/env bash
# The reduced-scale CIFAR-10 SEP table (victim accuracy after protection), resumable by stage: run it again with the
# same options after a kill and it continues. Builds the benchmarks, copies the build to a private folder (so later
# rebuilds of the worktree never touch the running program), then runs `Robustness.Benchmarks sep-table` with the given
# options (see benchmarks/README.md). Low priority by default (nice 19), so it yields to builds and tests.
# Usage: benchmarks/run-sep-table.sh [--per-class 200] [--test 10000] [--epochs 30] [--k 5] [--iterations 30]
#          [--eps 8/255,2/255] [--methods clean,sep,random,final-checkpoint,sep-fa] [--device cpu|cuda] [--name NAME] ...
# Environment: NICE (default 19), RUN_DIR (default /tmp/robustness-sep-table-bin).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
src=$(dirname "$(ls benchmarks/Robustness.Benchmarks/bin/Release/net10.0/*/Robustness.Benchmarks.dll | head -1)")
run_dir=${RUN_DIR:-/tmp/robustness-sep-table-bin}
mkdir -p "$run_dir"
cp -ru "$src"/. "$run_dir"/
exec nice -n "${NICE:-19}" dotnet "$run_dir/Robustness.Benchmarks.dll" sep-table --results "$PWD/benchmarks/results" "$@"
