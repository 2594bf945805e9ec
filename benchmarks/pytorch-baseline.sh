# Sourced by the benchmark scripts that compare against PyTorch: installs Debian's PyTorch if missing (the baseline),
# builds the benchmark program and sets bench_dll to it. Run from the repository root.
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "Installing Debian's python3-torch (the PyTorch baseline)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-numpy
fi
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
bench_dll=$(ls benchmarks/Robustness.Benchmarks/bin/Release/net10.0/*/Robustness.Benchmarks.dll | head -1)
