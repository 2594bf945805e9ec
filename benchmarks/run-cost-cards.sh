#!/usr/bin/env bash
# The cost card of every model family the tool knows, at its standard size (issue 14): parameters, MACs of one
# image, forward latency at batch 1 and 64 (median and IQR over interleaved rounds, 2 threads). Writes
# benchmarks/results/cost-cards-cpu.{md,json}. Usage: benchmarks/run-cost-cards.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/cost-cards-cpu
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma)' | tr '\n' ' ' || true)
table=$(dotnet run -c Release --project src/Robustness.Cli -- card --zoo --batch-sizes 1,64 --threads 2 --json "$out.json" | grep -v '^  .*: done$' | grep -v '^Cards written')
{
  echo "# Cost cards of the model zoo, CPU"
  echo
  echo "Machine: $cpu, $(nproc) cores; CPU flags: $flags; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "$table"
  echo
  echo "Every family at its standard size (\`ModelFamily.StandardSpec\`), freshly initialised (seed 0). MACs: convolutions and linear"
  echo "layers counted over one forward (\`MacCounter\`), plus the ViT's attention products. Latency: \`LatencyHarness\`, 3 warm-up"
  echo "and 7 timed forwards per batch size and round, 3 rounds interleaved, the first left out; eval mode, no gradients."
  echo
  echo "Produced by: \`benchmarks/run-cost-cards.sh\`"
} > "$out.md"
cat "$out.md"
